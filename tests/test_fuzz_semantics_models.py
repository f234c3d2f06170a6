"""Issue 18, semantics of models and protocols: input that parses but means nothing (a parameter
Brian2 ignores, a reset above the threshold, a theory declared on another model, a time step the
model cannot live with, levels given twice, an option that does nothing, a run of hours) is refused
by the foundations (biorate.models, biorate.spiking.protocol) with a specific error naming what is
wrong, before any work: one line and exit code 2 from the CLI, files already written untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import biorate as br
from biorate.errors import BiorateWarning, ModelError, ProtocolError
from biorate.models import Model, Param, load_model, shipped_models_dir
from biorate.models.checks import THEORIES
from biorate.models.names import BRIAN_CONSTANTS, BRIAN_FUNCTIONS
from biorate.spiking.protocol import SIM_SPEED, check_size, estimate_seconds
from biorate.units import DIMENSIONLESS, TIME, VOLTAGE

LIF = (shipped_models_dir() / "neurons" / "lif.toml").read_text()
SENTINEL = b"existing output: must survive a refused command\n"
FI = ["--current", "0nA:0.5nA:3"]


def _lif_file(tmp_path, old, new, name="lif.toml"):  # a model file is named as its model
    assert old in LIF, old
    path = tmp_path / name
    path.write_text(LIF.replace(old, new, 1))
    return path


def _with_param(name, param):
    lif = load_model("lif")
    return Model(lif.name, lif.kind, lif.description, lif.reference, {**lif.params, name: param},
                 lif.spec, lif.theory)  # fmt: skip


@pytest.fixture
def refused(cli, tmp_path):
    """``refused(*args) -> message``: the command exits 2 with one ``biorate: error:`` line, no
    traceback, and leaves the output file (``-o``, filled beforehand) byte-identical."""

    def run(*args):
        out = tmp_path / "out.json"
        out.write_bytes(SENTINEL)
        code, stdout, err = cli(*args, "-o", out)
        assert code == 2, (args, stdout, err)
        assert err.count("\n") == 1 and err.startswith("biorate: error: "), err
        assert "Traceback" not in err and out.read_bytes() == SENTINEL
        return err

    return run


# --- 1. parameter names that Brian2 would resolve to something else -------------------------------
RESERVED = ["t", "dt", "t_in_timesteps", "xi", "xi_1", "i", "N", "lastspike", "not_refractory",
            "refractory", "refractory_until", "lambda", "True", "and", "exp", "int", "rand",
            "timestep", "pi", "e", "inf", "biorate_rate", "x_pre", "w_post"]  # fmt: skip


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_parameter_names_are_refused_naming_the_parameter(tmp_path, name):
    path = _lif_file(tmp_path, 'J = "0.1 mV"', f'J = "0.1 mV"\n{name} = "5 ms"')
    with pytest.raises(ModelError, match=rf"parameter '{name}' is .*; rename the parameter"):
        load_model(path)
    with pytest.raises(ModelError, match=rf"parameter '{name}'"):
        _with_param(name, Param(5e-3, TIME, "ms"))


@pytest.mark.parametrize("name", ["v", "I", "sigma"])
def test_a_parameter_named_like_an_equation_variable_is_refused(tmp_path, name):
    path = _lif_file(tmp_path, 'J = "0.1 mV"', f'J = "0.1 mV"\n{name} = "5 mV"')
    with pytest.raises(ModelError, match=rf"parameter '{name}' is a variable of the model's "
                                         "equations, which Brian2 would use instead"):  # fmt: skip
        load_model(path)


def test_the_reserved_lists_cover_brian2s():
    """The foundations cannot import Brian2: their lists must hold every name Brian2 reserves."""
    from brian2.core.functions import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS
    from brian2.equations.equations import check_identifier_reserved

    from biorate.models.names import _reserved

    assert set(DEFAULT_FUNCTIONS) <= BRIAN_FUNCTIONS
    assert {c for c in DEFAULT_CONSTANTS if c.isidentifier()} <= BRIAN_CONSTANTS
    for name in ("t", "dt", "t_in_timesteps", "xi", "xi_2", "i", "N"):
        with pytest.raises(SyntaxError):
            check_identifier_reserved(name)
        assert _reserved(name)


def test_a_parameter_named_like_a_brian2_unit_is_refused_before_building():
    """Refused when the model is made (theory and simulate alike), not by the Brian2 layer."""
    with pytest.raises(ModelError, match="parameter 'mV' is the name of a Brian2 unit"):
        _with_param("mV", Param(1.0, DIMENSIONLESS, ""))


NAMES = st.one_of(st.sampled_from(RESERVED + ["v", "I", "sigma", "J2", "tau_x", "g"]),
                  st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True))  # fmt: skip


@settings(derandomize=True, deadline=None, max_examples=150,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(name=NAMES)
def test_any_extra_parameter_name_loads_only_when_brian2_would_use_it(name):
    from biorate.models.names import _reserved

    lif = load_model("lif")
    try:
        _with_param(name, Param(1.0, DIMENSIONLESS, ""))
    except ModelError as exc:
        assert f"parameter '{name}'" in str(exc) or name in lif.params
    else:
        assert _reserved(name) is None and name not in {"v", "I", "sigma"}


# --- 2. values and relations that parse but mean nothing ----------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "match"),
    [('refractory = "t_ref"', 'refractory = "-t_ref"',
      r"field 'refractory': '-t_ref' is neither the name of a time parameter"),
     ('refractory = "t_ref"', 'refractory = "2*t_ref"', "field 'refractory': '2\\*t_ref' is neither"),
     ('refractory = "t_ref"', 'refractory = "V_th"', "field 'refractory': 'V_th' is neither"),
     ('refractory = "t_ref"', 'refractory = "-2 ms"', "a refractory period must lie between 0"),
     ('V_reset = "-60 mV"', 'V_reset = "-40 mV"',
      r"parameter V_reset = -40 mV must lie below V_th = -50 mV"),
     ('V_reset = "-60 mV"', 'V_reset = "-50 mV"', "must lie below V_th"),
     ('tau_m = "20 ms"', 'tau_m = "1e-300 ms"', "parameter tau_m = .*: a time constant must be at least 1 us"),
     ('tau_m = "20 ms"', 'tau_m = "1e300 s"', "parameter tau_m = .*: a model's time must be at most 1e6 s"),
     ('t_ref = "2 ms"', 't_ref = "1e7 s"', "parameter t_ref = .*: a model's time must be at most"),
     ('weight = "J*int(not_refractory)"',
      'weight = "J*int(not_refractory)"\n[[drive.poisson]]\nname = "exc"\ntarget = "v"\nweight = "J"',
      r"poisson\[1\]: field 'name': 'exc' names poisson\[0\] too"),
     ('equations = """\ndv/dt = (E_L - v + R_m*I)', 'equations = """\ndv/dt = (E_L - v + 2*R_m*I)',
      "theory 'lif' does not describe this model: its \\[neuron\\] equations must have exactly"),
     ('threshold = "v > V_th"', 'threshold = "v > V_th + 1*mV"',
      "theory 'lif' does not describe this model: it needs \\[neuron\\] threshold = 'v > V_th'"),
     ('theory = "lif"', 'theory = "tm_release"', "theory 'tm_release' does not describe this model: it is for synapse models"),
     ('theory = "lif"', 'theory = "siegert"', "theory 'siegert' is not one of lif, tm_release")],
)  # fmt: skip
def test_model_file_semantics_are_refused(tmp_path, old, new, match):
    with pytest.raises(ModelError, match=match):
        load_model(_lif_file(tmp_path, old, new))


def test_theory_is_refused_on_models_it_does_not_describe(tmp_path):
    adaptive = (shipped_models_dir() / "neurons" / "adaptive_lif.toml").read_text()
    path = tmp_path / "adaptive_lif.toml"
    path.write_text(adaptive.replace('kind = "neuron"', 'kind = "neuron"\ntheory = "lif"'))
    with pytest.raises(ModelError, match="theory 'lif' does not describe this model"):
        load_model(path)
    lif = LIF.replace('R_m = "100 Mohm"', 'R_x = "100 Mohm"').replace("R_m*I", "R_x*I")
    path = tmp_path / "lif.toml"
    path.write_text(lif)
    with pytest.raises(ModelError, match=r"it needs parameter R_m \(resistance\)"):
        load_model(path)
    # spaces and comments do not matter: the same model
    path.write_text(LIF.replace('threshold = "v > V_th"', 'threshold = "v>V_th  "'))
    assert load_model(path).theory == "lif"
    assert set(THEORIES) == {"lif", "tm_release"} and load_model("tm_release").theory


def test_one_rule_for_the_reset_in_the_api_simulate_and_theory(refused):
    lif = load_model("lif")
    with pytest.raises(ModelError, match="V_reset = -40 mV must lie below V_th = -50 mV"):
        lif.with_params(V_reset="-40 mV")
    with pytest.raises(ModelError, match="V_reset = -60 mV must lie below V_th = -65 mV"):
        lif.with_params(V_th="-65 mV")
    a = refused("simulate", "fi", *FI, "--set", "V_reset=-40mV")
    b = refused("theory", "fi", *FI, "--set", "V_reset=-40mV")
    assert a == b and "V_reset = -40 mV must lie below V_th" in a


@pytest.mark.parametrize(
    ("change", "dt", "match"),
    [({"tau_m": "0.05 ms"}, "0.1 ms", "shorter than the time constant tau_m = 0.05 ms"),
     ({"t_ref": "0.05 ms"}, "0.1 ms", "shorter than the refractory period t_ref = 0.05 ms"),
     ({}, "2 ms", "shorter than the refractory period t_ref = 2 ms")],
)  # fmt: skip
def test_dt_against_the_models_times_in_simulate_and_theory(change, dt, match):
    model = load_model("lif").with_params(**change)
    with pytest.raises(ProtocolError, match=match):
        br.measure_fi(model, current="0nA:0.5nA:3", dt=dt, target="numpy", progress=False)
    with pytest.raises(ProtocolError, match=match):
        br.theory.fi(model, current="0nA:0.5nA:3", dt=dt)


def test_no_refractory_period_is_allowed_at_any_dt():
    """t_ref = 0 is no refractory period (the README's comparison with theory at dt = 0.5 ms uses
    it): the rule dt < t_ref is for a period Brian2 could lose, and there is none to lose."""
    model = load_model("lif").with_params(t_ref="0 ms")
    model.check_dt(0.5e-3)
    curve = br.measure_fi(model, current="0nA:0.5nA:2", dt="0.5 ms", duration="20 ms",
                          transient="0 ms", trials=1, target="numpy", progress=False, seed=1)  # fmt: skip
    assert curve.protocol["refractory_steps"] == 0


def test_release_checks_dt_against_the_synapse_time_constants():
    with pytest.raises(ProtocolError, match="time constant tau_clear = 1.2 ms"):
        br.measure_release("ca_release", rate="1Hz:20Hz:3", dt="2 ms", target="numpy",
                           progress=False)  # fmt: skip


# --- 3. options that would be ignored or repeated ---------------------------------------------
def test_bias_with_current_drive_is_refused(refused):
    for command in ("simulate", "theory"):
        err = refused(command, "fi", *FI, "--bias", "0.1nA")
        assert "--bias goes with --drive poisson" in err
    with pytest.raises(
        ProtocolError, match="bias is the constant current added to drive='poisson'"
    ):
        br.measure_fi("lif", current="0nA:0.5nA:3", bias="0.1 nA", progress=False)


def test_theory_api_refuses_bias_with_current_drive_as_simulation_does():
    """One rule (models.fi_drive) for measure_fi and theory.fi: the API used to drop the bias."""
    for call in (br.measure_fi, br.theory.fi):
        with pytest.raises(ProtocolError, match="shift the current levels instead"):
            call("lif", current="0nA:0.5nA:3", bias="0.1 nA")


@pytest.mark.parametrize(
    ("levels", "match"),
    [(["0nA", "0.1nA", "0.1nA", "0.3nA"], "protocol.current repeats the level 0.1 nA"),
     (["0.3nA", "0.1nA"], "protocol.current levels must increase")],
)  # fmt: skip
def test_sweep_levels_follow_the_simulations_rule(levels, match):
    """A sweep spec is refused when loaded, not when its points run (measure_fi refuses them)."""
    from biorate.sweep.spec import load_spec

    spec = {"schema": 1, "name": "t", "measure": "fi", "model": {"name": "lif"},
            "grid": {"tau_m": ["10 ms", "20 ms"]},
            "protocol": {"current": levels, "target": "numpy", "seed": 1},
            "fit": {"forms": ["sigmoid"]}}  # fmt: skip
    with pytest.raises(ProtocolError, match=match):
        load_spec(spec)


@pytest.mark.parametrize(
    ("levels", "match"),
    [("0.1nA,0.1nA,0.3nA", "current repeats the level 0.1 nA"),
     ("0.1nA,0.3nA,0.1nA", "current repeats the level 0.1 nA"),
     ("0.5nA:0nA:3", "current levels must increase, but 0.25 nA follows 0.5 nA")],
)  # fmt: skip
def test_repeated_or_decreasing_levels_are_refused(refused, levels, match):
    for command in ("simulate", "theory"):
        assert match in refused(command, "fi", "--current", levels)
    with pytest.raises(ProtocolError, match=match):
        br.measure_fi("lif", current=levels, progress=False)


def test_repeated_rates_are_refused_for_release(refused):
    for command in ("simulate", "theory"):
        assert "rate repeats the level 5 Hz" in refused(command, "release", "--rate", "5Hz,5Hz")


def test_a_single_level_says_what_it_gives(cli, tmp_path):
    code, out, err = cli("theory", "fi", "--current", "0.3nA", "-o", tmp_path / "t.json")
    assert code == 0 and out.startswith("wrote")
    assert err == ("biorate: warning: current has a single level (0.3 nA): the curve is one "
                   "point, too few to fit an activation\n")  # fmt: skip
    code, out, err = cli("simulate", "fi", "--current", "0.3nA", "--duration", "20ms",
                         "--transient", "0ms", "--trials", "1", "--target", "numpy", "--quiet",
                         "-o", tmp_path / "s.json")  # fmt: skip
    assert code == 0 and err.count("\n") == 1 and "single level" in err


def test_a_refused_single_level_prints_the_error_only(refused):
    err = refused("simulate", "fi", "--drive", "poisson", "--rate=-1Hz")
    assert "rate must not be negative" in err


def test_model_folders_must_be_folders(refused, cli, tmp_path, monkeypatch):
    lif_file = shipped_models_dir() / "neurons" / "lif.toml"
    assert "is a file" in refused("--models", lif_file, "theory", "fi", *FI)
    assert "does not exist" in refused("--models", tmp_path / "nope", "simulate", "fi", *FI)
    code, _, err = cli("--models", tmp_path / "nope", "models")
    assert code == 2 and err.count("\n") == 1 and "models folder" in err
    monkeypatch.setenv("BIORATE_MODELS", "junk-folder")
    assert "BIORATE_MODELS junk-folder does not exist" in refused("theory", "fi", *FI)
    with pytest.raises(ModelError, match="BIORATE_MODELS junk-folder does not exist"):
        load_model("lif")
    monkeypatch.setenv("BIORATE_MODELS", f"{tmp_path}{os.pathsep}")  # an empty entry is fine
    assert load_model("lif").name == "lif"


# --- 4. work that fits the step limit but would run for hours -----------------------------------
@pytest.mark.parametrize(
    "args", [["--dt=1e-9s", "--duration", "2s", "--transient", "0s", "--trials", "1"],
             ["--dt=1e-9s", "--duration", "20s", "--transient", "0s", "--trials", "1"],
             ["--transient=1e6s"]],
)  # fmt: skip
def test_hours_of_simulation_are_refused_up_front(refused, args):
    t0 = time.perf_counter()
    err = refused("simulate", "fi", *FI, *args, "--quiet")
    assert time.perf_counter() - t0 < 5
    assert "is estimated at" in err and "BIORATE_MAX_SIM_SECONDS" in err


def test_the_time_limit_can_be_raised_and_normal_runs_stay_far_below(monkeypatch):
    with pytest.raises(ProtocolError, match=r"estimated at 1\.2e\+04 s \(3\.34 h\) .*numpy"):
        check_size(3, 1, "x", steps=4e8, target="numpy")
    monkeypatch.setenv("BIORATE_MAX_SIM_SECONDS", "2e4")
    check_size(3, 1, "x", steps=4e8, target="numpy")
    monkeypatch.setenv("BIORATE_MAX_SIM_SECONDS", "soon")
    with pytest.raises(ProtocolError, match="BIORATE_MAX_SIM_SECONDS must be a positive number"):
        check_size(3, 1, "x", steps=10, target="numpy")
    monkeypatch.delenv("BIORATE_MAX_SIM_SECONDS")
    # the pipeline's largest curves (161 levels x 10 trials x 2.2 s; 20 rates x 20 trials x 22 s)
    assert estimate_seconds(1610, 22000, "numpy") < 5
    assert estimate_seconds(400, 220000, "numpy") < 10
    assert set(SIM_SPEED) == {"numpy", "cython"}


# --- 5. output paths a terminal cannot encode ----------------------------------------------------
def test_wrote_line_survives_an_ascii_stdout(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "MPLBACKEND": "Agg"}
    code = "import sys; from biorate.cli import main; sys.exit(main())"
    run = subprocess.run([sys.executable, "-c", code, "theory", "fi", *FI, "-o", "é.json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == "wrote \\xe9.json\n" and (tmp_path / "é.json").is_file()


def test_shipped_models_still_load_and_keep_their_theory():
    for path in sorted(shipped_models_dir().glob("*/*.toml")):
        model = load_model(path)
        assert model.params and model.name == path.stem
    assert load_model("lif").theory == "lif" and load_model("cond_lif").theory is None
    with pytest.warns(BiorateWarning, match="single level"):
        curve = br.measure_fi("cond_lif", rate="10 Hz", drive="poisson", duration="20 ms",
                              transient="0 ms", trials=1, target="numpy", progress=False, seed=1)  # fmt: skip
    assert curve.y.shape == (1,)
    assert VOLTAGE  # (the dims the theory table names are biorate's own)
