"""Campaign 20's findings (issue 18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import biorate as br
from biorate.errors import ProtocolError, UnitError, UnknownParameterError

ROOT = Path(__file__).resolve().parents[1]


def test_a_shared_variable_does_not_break_the_end_state_check(tmp_path):
    """A1 (a regression of the end-state check): a declared `(shared)` variable is one value
    for every neuron, and indexing it per neuron raised IndexError after every run."""
    from biorate.models import Model

    lif = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = lif.replace('name = "lif"', 'name = "shared"').replace('theory = "lif"\n', "")
    text = text.replace("R_m*I)/tau_m", "R_m*(I + I0))/tau_m").replace(
        "I : amp\n", "I : amp\nI0 : amp (shared)\n"
    )
    (tmp_path / "shared.toml").write_text(text)
    curve = br.measure_fi(Model.from_toml(tmp_path / "shared.toml"), "0nA:0.5nA:3",
                          duration="50 ms", trials=2, target="numpy", progress=False)  # fmt: skip
    assert curve.y[0] == 0 and curve.y[-1] > 0


def test_relaxation_problem_reads_a_partial_state_over_the_initial_one():
    """D2, A2: an unknown name in state= was ignored (a typo gave "no problem"), a partial
    state read the others as 0 instead of their initial values, and where= was unchecked."""
    cond = br.load_model("cond_lif")
    with pytest.raises(UnknownParameterError, match="state has no variable 'g_E'"):
        cond.relaxation_problem(1e-4, state={"g_E": 5e-6})
    assert "0.0399 ms" in cond.relaxation_problem(1e-4, state={"g_e": 5e-6})  # C_m/(g_L + g_e)
    with pytest.raises(ProtocolError, match="where must be a string"):
        cond.relaxation_problem(1e-4, state={"g_e": 5e-6}, where=np.array([1, 2]))


def test_times_dates_and_numpy_bools_are_not_quantities():
    """D3: lif_rate took np.timedelta64 and datetime64 as SI numbers (453.9 Hz), and
    format_quantity(np.bool_(True), TIME) gave '1000 ms' where True was refused."""
    for mu in (np.timedelta64(1, "s"), np.array(["2020-01-01"], dtype="datetime64[D]")):
        with pytest.raises(ProtocolError, match="mu must be a number"):
            br.theory.lif_rate(mu, 0.002, 0.02, -0.05, -0.06, 0.002)
    with pytest.raises(UnitError):
        br.units.format_quantity(np.bool_(True), br.units.TIME)


def test_a_measured_curve_search_checks_its_bounds_together(tmp_path):
    """F2: campaign 19's fix (bounds checked jointly at the corners) missed the measured
    curve's per-end dt check, which rebuilt the model with one parameter changed."""
    from biorate.search import load_search_spec

    (tmp_path / "s.toml").write_text(
        'schema = 1\nname = "s"\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n'
        'population = 2\nsample = 1\n[objective]\nkind = "accuracy"\ndataset = "xor"\n'
        'hidden = [4]\nepochs = 1\nseeds = 1\n[neuron]\nmodel = "lif"\ncurve = "measured"\n'
        'current = "0nA:4nA:11"\nform = "soft_lif"\n[neuron.bounds]\n'
        'V_th = ["-65 mV", "-62 mV"]\nV_reset = ["-75 mV", "-70 mV"]\n'
    )
    assert load_search_spec(tmp_path / "s.toml").space.bounds[1] == ("V_reset", -0.075, -0.07)
