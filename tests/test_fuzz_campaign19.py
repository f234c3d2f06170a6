"""Campaign 19's findings (issue 18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import biorate as br
from biorate.errors import DataError, ProtocolError, UnitError, UnknownParameterError

ROOT = Path(__file__).resolve().parents[1]
OSC = """schema = 1
name = "osc"
kind = "neuron"
description = "an adapting LIF whose adaptation current rings against v"
reference = "campaign 19"
[parameters]
tau_m = "20 ms"
tau_w = "100 ms"
E_L = "-70 mV"
V_th = "-50 mV"
V_reset = "-60 mV"
t_ref = "2 ms"
R_m = "100 Mohm"
a = "1 nS"
[neuron]
threshold = "v > V_th"
reset = "v = V_reset"
refractory = "t_ref"
equations = '''
dv/dt = (E_L - v + R_m*(I - w))/tau_m : volt (unless refractory)
dw/dt = (a*(v - E_L) - w)/tau_w : amp
I : amp
'''
initial = { v = "E_L" }
[drive]
current = "I"
"""


def test_coupled_equations_are_held_to_their_fastest_mode(tmp_path):
    """D1: each variable's own rate was read (v 50/s, w 10/s), not the coupling: at a = 10 mS
    the Jacobian [[-1/tau_m, -R_m/tau_m], [a/tau_w, -1/tau_w]] has eigenvalues -30 +- 22,000i
    per second, and Euler at 0.1 ms ran at 490 Hz (220 Hz at dt 1 us), exit 0. Each mode now
    needs dt below 1/|lambda| (here 1/22,361 s = 0.0447 ms)."""
    from biorate.models import Model

    (tmp_path / "osc.toml").write_text(OSC)
    m = Model.from_toml(tmp_path / "osc.toml")
    m.check_dt(1e-4)  # a = 1 nS: |lambda| = sqrt(1e-9*1e8/(0.02*0.1)) ~ 224/s
    lam = np.linalg.eigvals([[-1 / 0.02, -1e8 / 0.02], [10e-3 / 0.1, -1 / 0.1]])
    with pytest.raises(ProtocolError, match=rf"time constant of v .* {1e3 / abs(lam[0]):.3g} ms"):
        m.with_params(a="10 mS").check_dt(1e-4)
    m.with_params(a="10 mS").check_dt(1e-5)


def test_a_run_whose_drive_outruns_its_step_is_refused():
    """D2: the check saw the initial state at no drive; the shipped cond_lif under 1000 Hz of
    Poisson input per synapse gathers ~5.5 uS (C_m/g ~ 36 us, below dt = 0.1 ms) and fired
    500 Hz at every rate from 500 Hz (10-25 Hz at dt 5 us), exit 0. The state each level
    reached is checked after the run; 0-100 Hz (the README's range) passes."""
    with pytest.raises(ProtocolError, match=r"state the run reached at 1000 Hz .* 0\.03\d+ ms"):
        br.measure_fi("cond_lif", drive="poisson", rate="0Hz:1000Hz:5", duration="200 ms",
                      trials=1, target="numpy", progress=False)  # fmt: skip
    curve = br.measure_fi("cond_lif", drive="poisson", rate="0Hz:100Hz:3", duration="100 ms",
                          trials=1, target="numpy", progress=False)  # fmt: skip
    assert np.all(np.isfinite(curve.y))


def test_relaxation_problem_takes_known_names_and_finite_values():
    """D4: params that were partial, NaN, negative or misspelled gave None ("no problem")."""
    lif = br.load_model("lif")
    with pytest.raises(UnknownParameterError, match="no parameter 'tau_mm'"):
        lif.relaxation_problem(1e-4, {"tau_mm": 1e-5})
    with pytest.raises(ProtocolError, match="finite numbers"):
        lif.relaxation_problem(1e-4, {"tau_m": float("nan")})
    assert "0.01 ms" in lif.relaxation_problem(1e-4, {"tau_m": 1e-5})  # the rest: lif's own
    assert lif.relaxation_problem(1e-4, {"tau_m": 0.02}) is None
    with pytest.raises(ProtocolError, match="positive number of seconds"):
        lif.relaxation_problem(10**400)


@pytest.mark.parametrize(
    "mu", [True, "0.01", np.array(["0.01"]), 10**400], ids=["bool", "str", "str-array", "huge-int"]
)
def test_the_theory_formulas_take_numbers_only(mu):
    """D5, A1: True and numeric strings were taken as quantities; 10**400 overflowed."""
    for rate in (br.theory.lif_rate, br.theory.siegert_rate):
        with pytest.raises(ProtocolError, match="mu must be a number"):
            rate(mu, 0.002, 0.02, -0.05, -0.06, 0.002)
    got = br.theory.lif_rate(np.array([0.01], dtype=object), 0.002, 0.02, -0.05, -0.06, 0.002)
    assert got[0] == pytest.approx(
        float(br.theory.lif_rate(0.01, 0.002, 0.02, -0.05, -0.06, 0.002))
    )
    with pytest.raises(ProtocolError, match="dt must be a finite number"):
        br.theory.lif_rate(0.01, 0.002, 0.02, -0.05, -0.06, 0.002, dt=10**400)


@pytest.mark.parametrize("call", [
    lambda u: u.format_quantity(10**400, u.TIME), lambda u: u.format_quantity("x", u.TIME),
    lambda u: u.format_quantity(1.0, "x"), lambda u: u.format_quantity(1.0, (1, 2)),
    lambda u: u.si_unit("x"), lambda u: u.dim_name(None), lambda u: u.format_quantity(True, u.TIME),
])  # fmt: skip
def test_the_unit_helpers_refuse_odd_arguments(call):
    """A2: format_quantity, si_unit and dim_name raised TypeError/ValueError/OverflowError."""
    from biorate import units

    with pytest.raises(UnitError):
        call(units)
    assert units.format_quantity(np.float64(0.02), units.TIME) == "20 ms"


def _neuron_search(tmp_path, current, bounds):
    from biorate.search import load_search_spec

    (tmp_path / "s.toml").write_text(
        'schema = 1\nname = "s"\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n'
        'population = 2\nsample = 1\n[objective]\nkind = "accuracy"\ndataset = "xor"\n'
        'hidden = [4]\nepochs = 1\nseeds = 1\n[neuron]\nmodel = "lif"\n'
        f'current = "{current}"\nform = "soft_lif"\n[neuron.bounds]\n{bounds}\n'
    )
    return load_search_spec(tmp_path / "s.toml")


def test_a_neuron_search_checks_its_levels_and_its_bounds_together(tmp_path):
    """B1: levels out of order (4nA:0nA:11) ran every candidate, then failed; F1: bounds were
    checked against the model's default of another searched parameter (V_th in [-65, -62] mV
    with V_reset in [-75, -70] mV refused against V_reset = -60 mV); a box none of whose
    corners is a valid model is refused."""
    from biorate.sweep.values import SpecError

    box = 'V_th = ["-65 mV", "-62 mV"]\nV_reset = ["-75 mV", "-70 mV"]'
    with pytest.raises(SpecError, match="current levels must increase"):
        _neuron_search(tmp_path, "4nA:0nA:11", 'tau_m = ["5 ms", "50 ms"]')
    spec = _neuron_search(tmp_path, "0nA:4nA:11", box)
    assert spec.space.bounds == (("V_th", -0.065, -0.062), ("V_reset", -0.075, -0.07))
    with pytest.raises(SpecError, match="at every corner of the bounds the model is not valid"):
        _neuron_search(tmp_path, "0nA:4nA:11", 'V_th = ["-65 mV", "-62 mV"]\n'
                                              'V_reset = ["-60 mV", "-55 mV"]')  # fmt: skip


def test_deploys_standard_times_are_whole_steps_of_the_given_dt():
    """F2: `deploy --duration 60ms --dt 0.3ms` was refused over 50 ms, a standard time the
    command adds below --duration, which is not a whole number of 0.3 ms steps."""
    from biorate.cli.deploy import durations_up_to

    assert durations_up_to(0.06, 3e-4) == [0.06]
    assert durations_up_to(0.5, 2.5e-4) == [0.05, 0.1, 0.2, 0.5]
    assert durations_up_to(0.3) == [0.05, 0.1, 0.2, 0.3]


def test_messages_of_campaign_19(cli, tmp_path):
    """E2: 'is' read "Brian2 rejected it: 'Is'"; E3: `--dataset csv:` was read as the folder
    '.'."""
    from biorate.spiking.brian import _first_line

    assert "the operator is is not supported" in _first_line(KeyError("Is"))
    assert "the operator := is not supported" in _first_line(KeyError("NamedExpr"))
    for spec in ("csv:", "npz:", "idx:"):
        with pytest.raises(DataError, match=f"names no file: give {spec}PATH"):
            br.load_dataset(spec)
        code, _, err = cli("train", "--dataset", spec, "-o", tmp_path / "n.npz")
        assert code == 2 and "names no file" in err


def test_campaign_19_rerun_leftovers():
    """D4: C_m = -1 pF in relaxation_problem's params gave no problem; A1: check_fit with an
    integer beyond a float raised OverflowError; D3: a string constant (int('1')) left the
    rate unchecked."""
    from biorate.models.stability import relaxation_rates
    from biorate.network import RateNetwork

    with pytest.raises(ProtocolError, match="a capacitance must be > 0"):
        br.load_model("cond_lif").relaxation_problem(1e-4, {"C_m": -1e-12})
    with pytest.raises(DataError, match="X must be a numeric array"):
        RateNetwork([2, 3, 2], seed=0).check_fit(np.array([[10**400, 1]], dtype=object), [0])
    rates = relaxation_rates("dv/dt = -v/tau*int('1') : 1", {"tau": 0.02}, {})
    assert rates["v"] == pytest.approx(50.0, rel=1e-6)


def test_a_gsl_model_on_the_numpy_target_is_one_line(tmp_path, cli):
    """E1: Brian2's "GSL is still considered experimental" warning preceded the one-line error
    (GSL needs a compiled target)."""
    lif = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = lif.replace('name = "lif"', 'name = "gsl"').replace('theory = "lif"\n', "")
    text = text.replace('initial = { v = "E_L" }', 'initial = { v = "E_L" }\nmethod = "gsl_rk2"')
    text = text.replace(" + sigma*sqrt(2/tau_m)*xi", "")  # (GSL takes no noise)
    (tmp_path / "gsl.toml").write_text(text)
    code, _, err = cli("simulate", "fi", "--model", tmp_path / "gsl.toml", "--current",
                       "0nA:0.5nA:3", "--duration", "20ms", "--trials", "1", "--target", "numpy",
                       "-o", tmp_path / "g.json", "--quiet")  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "GSL integration has not been" in err, err
