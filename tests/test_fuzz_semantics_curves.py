"""Issue 18, the meaning of curve and activation files: values that parse but mean nothing (a unit
biorate does not know, a firing rate in amperes, a negative rate, junk model parameters, an
activation that is constant, a step or 1e92 large) are refused, naming the field, by the file
loaders and by the constructors (one path: the same message), and by the CLI with exit code 2, one
line on stderr, the existing output untouched and no work started. Every shipped file still loads,
and what a fit makes passes (hypothesis: no false refusals)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biorate import TransferCurve
from biorate.activation import (
    BUILTINS,
    Activation,
    UnknownActivationError,
    get_activation,
    list_activations,
    shipped_activations_dir,
)
from biorate.errors import CurveFileError
from biorate.forms import FORMS

SENTINEL = b"existing output: must survive a failed command\n"
PROPS = settings(derandomize=True, deadline=None, max_examples=150,
                 suppress_health_check=[HealthCheck.too_slow])  # fmt: skip

X = np.linspace(0.0, 5e-10, 12)
P_SIG = {"x_half": 2.2e-10, "width": 3e-11, "r_max": 137.0, "r0": 2.0}


def _curve() -> dict:
    y = FORMS["sigmoid"].value(X, P_SIG)
    c = TransferCurve("fi", X, y, "A", "Hz", y_sem=np.full(X.size, 1.0),
                      model={"name": "lif", "params": {"tau_m": "20 ms"}})  # fmt: skip
    return json.loads(json.dumps(c.to_dict()))


def _sigmoid_activation() -> dict:
    x_offset, x_scale, y_scale = FORMS["sigmoid"].canonical(P_SIG, X)
    a = Activation("sigmoid", P_SIG, x_scale=x_scale, x_offset=x_offset, y_scale=y_scale,
                   x_unit="A", y_unit="Hz", source={"measure": "fi", "model": {"name": "lif"}})  # fmt: skip
    return json.loads(json.dumps(a.to_dict()))


CURVE = _curve()
N = len(CURVE["x"])
SIG = _sigmoid_activation()
LIF = json.loads((shipped_activations_dir() / "lif.json").read_text())
LEAKY = Activation.builtin("leaky_relu", alpha=0.1).to_dict()


def _kwargs(d: dict) -> dict:
    """A curve dict as TransferCurve's keyword arguments (series as (values, unit))."""
    kw = {k: v for k, v in d.items() if k not in ("kind", "schema")}
    kw["series"] = {
        k: (s.get("values"), s.get("unit", "1")) for k, s in (d.get("series") or {}).items()
    }
    return kw


# (change to the valid curve, the field named, what the message says)
CURVE_CASES = [
    ({"x_unit": "parsec"}, "field 'x_unit'", "unknown unit 'parsec'"),
    ({"y_unit": "A"}, "field 'y_unit'", "'A' is a unit of current; the y of a 'fi' curve is a firing rate"),
    ({"x_unit": "mV"}, "field 'x_unit'", "unit of voltage; the x of a 'fi' curve is an injected current"),
    ({"measure": "banana"}, "field 'measure'", "'banana' is not one of fi, release, release_probability"),
    ({"y": [-v for v in CURVE["y"]]}, "field 'y'", "a firing rate must be >= 0"),
    ({"y": [0.0] * (N - 1) + [-50.0]}, "field 'y'", f"entry {N - 1}: -50 Hz: a firing rate must be >= 0"),
    ({"measure": "release", "x_unit": "Hz", "y_unit": "1/s", "x": [-1.0] + CURVE["x"][1:]},
     "field 'x'", "entry 0: -1 Hz: a presynaptic rate must be >= 0"),
    ({"measure": "release_probability", "x_unit": "M", "y_unit": "1", "y_sem": None,
      "y": [0.5] * (N - 1) + [3.0]}, "field 'y'", "a release probability must be >= 0 and <= 1"),
    ({"measure": "release_probability", "x_unit": "M", "y_unit": "Hz"}, "field 'y_unit'",
     "the y of a 'release_probability' curve is a release probability"),
    ({"y_sem": [-1.0] * N}, "field 'y_sem'", "entry 0: -1 is negative: a standard error"),
    ({"cv": [-0.5] * N}, "field 'cv'", "a coefficient of variation cannot be negative"),
    ({"y_sem": [1e300] * N}, "field 'y_sem'",
     "entry 0: 1e+300 Hz is more than 1e+06 times the curve's scale"),
    ({"model": "lif"}, "field 'model'", "expected a table, found a string"),
    ({"model": {"name": "lif", "params": {"tau_m": "banana"}}}, "model: params",
     "parameter tau_m: cannot parse quantity 'banana'"),
    ({"model": {"name": "lif", "params": {"tau_m": "-5 ms"}}}, "model: params",
     "tau_m = -5 ms: a time constant must be > 0"),
    ({"model": {"name": "lif", "params": {"tau_m": [1, 2]}}}, "model: params",
     "expected a string with a unit or a number, found a list"),
    ({"model": {"name": "lif", "params": {"R_m": "1e400 ohm"}}}, "model: params", "R_m"),
    ({"model": {"name": "lif", "params": {"x y": "5 ms"}}}, "model: params", "is not a valid name"),
    ({"model": {"name": "li\u202ef"}}, "model: field 'name'", "is not a printable name"),
    ({"series": {"e": {"values": [1.0] * N, "unit": "parsec"}}}, "series: e: field 'unit'",
     "unknown unit 'parsec'"),
]  # fmt: skip
CURVE_IDS = [f"{'+'.join(c)}" for c, _, _ in CURVE_CASES]


def _refused_file(path, data, load, field, says):
    """Write ``data`` to ``path``; ``load`` must refuse it in one line naming the file and
    ``field`` and saying ``says``. Returns ``(path, message)``."""
    path.write_text(json.dumps(data))
    with pytest.raises(CurveFileError) as from_file:
        load(path)
    msg = str(from_file.value)
    assert msg.startswith(f"{path}: {field}") and says in msg and "\n" not in msg, msg
    return path, msg


@pytest.mark.parametrize("change, field, says", CURVE_CASES, ids=CURVE_IDS)
def test_curve_file_and_constructor_refuse_alike(tmp_path, change, field, says):
    d = {**CURVE, **change}
    path, msg = _refused_file(tmp_path / "c.json", d, TransferCurve.load, field, says)
    with pytest.raises(CurveFileError) as from_code:  # one path: the same words
        TransferCurve(**_kwargs(d))
    assert str(from_code.value) == msg.replace(str(path), "transfer curve")


@pytest.mark.parametrize("change, field, says", CURVE_CASES[:8] + CURVE_CASES[13:15],
                         ids=CURVE_IDS[:8] + CURVE_IDS[13:15])  # fmt: skip
def test_fit_refuses_a_meaningless_curve_before_fitting(cli, tmp_path, monkeypatch, change, field,
                                                        says):  # fmt: skip
    import biorate.fitting

    def reached(*args, **kwargs):
        raise AssertionError("the fit started before the bad curve was refused")

    monkeypatch.setattr(biorate.fitting, "fit", reached)
    path, out = tmp_path / "bad.json", tmp_path / "out.json"
    path.write_text(json.dumps({**CURVE, **change}))
    out.write_bytes(SENTINEL)
    code, _, err = cli("fit", path, "-o", out, "--quiet")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"biorate: error: {path}: {field}") and says in err, err
    assert out.read_bytes() == SENTINEL


def test_fit_refuses_a_name_that_is_no_printable_line_before_fitting(cli, tmp_path, monkeypatch):
    import biorate.fitting

    monkeypatch.setattr(biorate.fitting, "fit", lambda *a, **k: 1 / 0)
    path, out = tmp_path / "c.json", tmp_path / "out.json"
    path.write_text(json.dumps(CURVE))
    out.write_bytes(SENTINEL)
    code, _, err = cli("fit", path, "-o", out, "--name", "two\nlines")
    assert code == 2 and err == ("biorate: error: --name 'two\\nlines' is not a printable name "
                                 "of at most 200 characters\n"), err  # fmt: skip
    assert out.read_bytes() == SENTINEL


# (base activation, change, the field named, what the message says)
ACT_CASES = [
    (SIG, {"params": {**P_SIG, "r_max": 0.0}}, "field 'params'", "r_max = 0 makes the activation constant"),
    (SIG, {"y_scale": 1e-90}, "field 'y_scale'", "1e-90 Hz makes g(z) reach 1.37e+92"),
    (SIG, {"y_scale": 1e90}, "field 'y_scale'", "the activation is constant"),
    (SIG, {"x_scale": 1e-6}, "field 'x_scale'", "times the x range over which the curve rises (3e-11 A, a fit's x_scale): g(z) is a step"),
    (SIG, {"x_scale": 1e-20}, "field 'x_scale'", "where the curve is flat"),
    (LIF, {"x_offset": 1e99}, "field 'x_offset'", "1e+99 A is beyond +-1 A"),
    (LIF, {"x_offset": 1e-3}, "field 'x_offset'", "put z in [-10, 10] at x in [0.001, 0.001] A, where the curve is flat"),
    (LIF, {"x_unit": "parsec"}, "field 'x_unit'", "unknown unit 'parsec'"),
    (LIF, {"y_unit": "A"}, "field 'y_unit'", "the y of a 'fi' curve is a firing rate"),
    (LIF, {"param_units": {**LIF["param_units"], "x_th": "V"}}, "param_units: field 'x_th'",
     "'V' does not match the parameter's unit 'A'"),
    (LIF, {"param_units": {**LIF["param_units"], "tau": "ms"}}, "param_units: field 'tau'", "'ms' does not match"),
    (LIF, {"param_units": {**LIF["param_units"], "c": "parsec"}}, "param_units: field 'c'", "unknown unit"),
    (LIF, {"param_units": {"x_th": "A"}}, "field 'param_units'", "the parameters are x_th, c, tau, t_ref, r0"),
    (LIF, {"params": {k: v for k, v in LIF["params"].items() if k != "r0"}}, "field 'params'",
     "missing parameter(s) r0: a fitted lif takes x_th, c, tau, t_ref, r0"),
    (SIG, {"params": {k: v for k, v in P_SIG.items() if k != "r0"}}, "field 'params'",
     "missing parameter(s) r0: a fitted sigmoid takes x_half, width, r_max, r0; the built-in sigmoid takes none"),
    (SIG, {"params": {**P_SIG, "zz": 1.0}}, "field 'params'", "unknown parameter(s) zz"),
    (LEAKY, {"params": {"alpha": 5.0}}, "params: field 'alpha'", "5 is out of range: must be <= 1"),
    (LEAKY, {"params": {"beta": 5.0}}, "field 'params'", "unknown parameter(s) beta; the built-in leaky_relu takes alpha"),
    (LIF, {"source": {**LIF["source"], "measure": "banana"}}, "source: field 'measure'", "is not one of"),
    (LIF, {"source": {**LIF["source"], "model": {"name": "lif", "params": {"tau_m": "banana"}}}},
     "source: model: params", "cannot parse quantity 'banana'"),
    (LIF, {"source": {**LIF["source"], "protocol": {"dt_s": -1}}}, "source: protocol: field 'dt_s'", "out of range"),
    (LIF, {"fit": {**LIF["fit"], "z_range": [0, 1e300]}}, "fit: field 'z_range'", "must lie within"),
    (LIF, {"x_scale": "1"}, "field 'x_scale'", "expected a finite number, found '1'"),
]  # fmt: skip
ACT_IDS = [f"{b['name']}:{'+'.join(c)}" for b, c, _, _ in ACT_CASES]
ATTRS = (
    "form",
    "params",
    "x_scale",
    "x_offset",
    "y_scale",
    "x_unit",
    "y_unit",
    "fit",
    "source",
    "name",
)


@pytest.mark.parametrize("base, change, field, says", ACT_CASES, ids=ACT_IDS)
def test_activation_file_and_constructor_refuse_alike(tmp_path, base, change, field, says):
    d = {**base, **change}
    path, msg = _refused_file(tmp_path / "a.json", d, Activation.load, field, says)
    if "param_units" not in change:  # a derived field, in files only
        with pytest.raises(CurveFileError) as from_code:
            Activation(**{k: d[k] for k in ATTRS if k in d})
        assert str(from_code.value) == msg.replace(str(path), "activation")


@pytest.mark.parametrize("base, change, field, says", ACT_CASES[:8] + ACT_CASES[12:13],
                         ids=ACT_IDS[:8] + ACT_IDS[12:13])  # fmt: skip
def test_train_refuses_a_meaningless_activation_before_training(cli, tmp_path, monkeypatch, base,
                                                                change, field, says):  # fmt: skip
    from biorate.network import RateNetwork

    def reached(*args, **kwargs):
        raise AssertionError("training started before the bad activation was refused")

    monkeypatch.setattr(RateNetwork, "fit", reached)
    path, out = tmp_path / "bad.json", tmp_path / "out.npz"
    path.write_text(json.dumps({**base, **change}))
    out.write_bytes(SENTINEL)
    code, _, err = cli("train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--quiet",
                       "--activation", path, "-o", out)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{path}: {field}" in err and says in err, err
    assert out.read_bytes() == SENTINEL


# --- constructors: the same checks as the files, the module's own error -----------------------


def _tc(**kw):
    base = dict(measure="fi", x=X, y=FORMS["sigmoid"].value(X, P_SIG), x_unit="A", y_unit="Hz")
    return TransferCurve(**{**base, **kw})


@pytest.mark.parametrize(
    "make, says",
    [(lambda: _tc(x_unit="parsec"), "transfer curve: field 'x_unit': unknown unit 'parsec'"),
     (lambda: _tc(y=[True] * X.size), "field 'y': entry 0: expected a finite number or null, found true/false"),
     (lambda: _tc(model="lif"), "transfer curve: field 'model': expected a table, found a string"),
     (lambda: _tc(y=np.full(X.size, np.inf)), "field 'y': entry 0: expected a finite number or null, found inf"),
     (lambda: _tc(x=X + 0j), "field 'x': entry 0: expected a finite number, found a complex"),
     (lambda: _tc(protocol=[1]), "field 'protocol': expected a table, found a list"),
     (lambda: _tc(series={"e": 5}), "field 'series': e: expected (values, unit), found a number"),
     (lambda: _tc(measure=None), "transfer curve: field 'measure' is missing"),
     (lambda: Activation("leaky_relu", x_scale="1"), "activation: field 'x_scale': expected a finite number, found '1'"),
     (lambda: Activation("leaky_relu", params={"alpha": "0.1"}), "params: field 'alpha': expected a finite number"),
     (lambda: Activation("relu", y_scale=np.array([2.0])), "field 'y_scale': expected a finite number, found an array"),
     (lambda: Activation("relu", x_unit=5), "field 'x_unit': expected a string, found a number"),
     (lambda: Activation("relu", fit=[1]), "field 'fit': expected a table, found a list"),
     (lambda: Activation(5), "activation: field 'form': expected a string, found a number"),
     (lambda: Activation("sigmoid", dict(P_SIG, r_max=0.0)), "activation: field 'params': r_max = 0")],
)  # fmt: skip
def test_constructors_validate_as_the_files_do(make, says):
    with pytest.raises(CurveFileError) as exc:
        make()
    assert says in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


def test_unknown_form_is_its_own_error():
    with pytest.raises(UnknownActivationError, match="unknown activation form 'wiggle'"):
        Activation("wiggle")


# --- valid input keeps loading ------------------------------------------------------------------


def test_every_shipped_and_builtin_activation_loads_and_round_trips():
    names = list_activations()
    assert {"lif", "lif_noise", "ca_release", "tm_release", *BUILTINS} <= set(names)
    for name in names:
        act = get_activation(name)
        assert Activation.from_dict(json.loads(json.dumps(act.to_dict()))) == act


def test_theory_curves_of_every_measure_load(tmp_path):
    from biorate import theory

    curves = [theory.fi("lif", current="0nA:0.5nA:11"), theory.fi("lif", rate="0Hz:2000Hz:5",
              drive="poisson", sigma="2 mV"), theory.release("tm_release", rate="1Hz:50Hz:5"),
              TransferCurve("release_probability", [0.0, 1e-3, 2e-3], [0.0, 0.4, 1.0], "M", "1")]  # fmt: skip
    for i, c in enumerate(curves):
        path = c.save(tmp_path / f"c{i}.json")
        back = TransferCurve.load(path)
        np.testing.assert_array_equal(back.y, c.y)
        assert back.to_dict() == json.loads(path.read_text())


def test_repeated_levels_are_measurements_of_their_own():
    """x may repeat a level (two runs pooled): each entry is one point of the fit, so a curve given
    twice over fits to the same parameters as the curve once."""
    from biorate.fitting import fit

    rng = np.random.default_rng(3)
    y = FORMS["sigmoid"].value(X, P_SIG) + rng.normal(0, 1.0, X.size)
    once = TransferCurve("fi", X, np.abs(y), "A", "Hz", y_sem=np.full(X.size, 1.0))
    twice = TransferCurve("fi", np.r_[X, X], np.abs(np.r_[y, y]), "A", "Hz",
                          y_sem=np.full(2 * X.size, 1.0))  # fmt: skip
    a, b = fit(once, "sigmoid"), fit(twice, "sigmoid")
    for k in P_SIG:
        assert b.params[k] == pytest.approx(
            a.params[k], rel=1e-5, abs=1e-9 * abs(a.params[k]) + 1e-20
        )


# --- properties ---------------------------------------------------------------------------------

BASE = {
    "sigmoid": P_SIG, "tanh": P_SIG, "erf": P_SIG,
    "hill": {"x_half": 2e-10, "n": 3.0, "r_max": 80.0, "r0": 1.5},
    "softplus": {"x_th": 1.5e-10, "width": 1e-11, "gain": 4e11, "r0": 0.5},
    "threshold_linear": {"x_th": 1.5e-10, "gain": 4e11, "r0": 0.0},
    "lif": {"x_th": 2e-10, "c": 1e-10, "tau": 0.02, "t_ref": 0.002, "r0": 0.0},
    "soft_lif": {"x_th": 1.7e-10, "c": 1e-10, "tau": 0.02, "t_ref": 0.002, "gamma": 5e-12, "r0": -0.5},
}  # fmt: skip


@PROPS
@given(form=st.sampled_from(sorted(BASE)), factors=st.lists(st.floats(0.1, 10.0), min_size=6,
       max_size=6), r0=st.floats(-5.0, 50.0))  # fmt: skip
def test_a_fits_own_scaling_is_never_refused(form, factors, r0):
    """Any parameters in a fit's range, seen through the form's canonical scaling (what
    Fit.activation writes), make a valid activation."""
    p = {
        k: (v * f if k != "r0" else r0)
        for (k, v), f in zip(BASE[form].items(), factors, strict=False)
    }
    if form == "hill":
        p["n"] = min(p["n"], 50.0)  # the fit's bound
    x_offset, x_scale, y_scale = FORMS[form].canonical(p, X)
    act = Activation(form, p, x_scale=x_scale, x_offset=x_offset, y_scale=y_scale, x_unit="A",
                     y_unit="Hz")  # fmt: skip
    z = np.linspace(-10, 10, 21)
    assert np.all(np.isfinite(act(z))) and np.ptp(act(z)) > 1e-6


@PROPS
@given(y=st.lists(st.floats(0.0, 500.0), min_size=3, max_size=30), sem=st.floats(0.0, 5.0),
       i=st.integers(0, 29), below=st.floats(1.001, 100.0))  # fmt: skip
def test_rates_within_noise_of_zero_load_and_beyond_are_refused(y, sem, i, below):
    """Every non-negative rate curve loads; moving one rate below 0 by more than the noise allows
    (5 y_sem or 5 % of the range) is refused, naming that entry."""
    x = np.arange(len(y), dtype=float) * 1e-11
    TransferCurve("fi", x, y, "A", "Hz", y_sem=np.full(len(y), sem))
    i %= len(y)
    bad = np.array(y, dtype=float)
    top = np.delete(bad, i).max()  # the range then runs from the moved value to the top
    bad[i] = -below * max(5 * sem, 0.05 / 0.95 * top) - 1e-3
    with pytest.raises(
        CurveFileError, match=f"field 'y': entry {i}: .* a firing rate must be >= 0"
    ):
        TransferCurve("fi", x, bad, "A", "Hz", y_sem=np.full(len(y), sem))
