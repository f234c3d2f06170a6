"""Activation: values against closed forms, derivatives against finite differences, stability at
|z| = 1e6, JSON round trips and bad input."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biorate.activation import BUILTINS, Activation, UnknownActivationError, get_activation
from biorate.errors import CurveFileError, FitError
from biorate.forms import FORMS

# a fitted curve of each form, with parameters of an f-I curve in SI (A, Hz)
FITTED_PARAMS = {
    "sigmoid": {"x_half": 2e-10, "width": 3e-11, "r_max": 80.0, "r0": 1.5},
    "tanh": {"x_half": 2e-10, "width": 6e-11, "r_max": 80.0, "r0": 1.5},
    "erf": {"x_half": 2e-10, "width": 4e-11, "r_max": 80.0, "r0": 1.5},
    "hill": {"x_half": 2e-10, "n": 3.0, "r_max": 80.0, "r0": 1.5},
    "softplus": {"x_th": 1.5e-10, "width": 1e-11, "gain": 4e11, "r0": 0.5},
    "threshold_linear": {"x_th": 1.5e-10, "gain": 4e11, "r0": 0.0},
}
X_DATA = np.linspace(0, 5e-10, 51)


def fitted(form: str) -> Activation:
    p = FITTED_PARAMS[form]
    x_offset, x_scale, y_scale = FORMS[form].canonical(p, X_DATA)
    return Activation(form, p, x_scale=x_scale, x_offset=x_offset, y_scale=y_scale,
                      x_unit="A", y_unit="Hz", name=f"{form}_fitted")  # fmt: skip


ALL = [get_activation(n) for n in BUILTINS] + [Activation.builtin("leaky_relu", alpha=0.2)]
ALL += [fitted(f) for f in FITTED_PARAMS]
IDS = [f"{a.name}{'*' if a.is_fitted else ''}{a.params.get('alpha', '')}" for a in ALL]


def test_builtin_values_match_closed_forms():
    z = np.linspace(-8, 8, 33)
    np.testing.assert_allclose(get_activation("sigmoid")(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(get_activation("tanh")(z), np.tanh(z), rtol=1e-14)
    np.testing.assert_array_equal(get_activation("relu")(z), np.maximum(z, 0))
    np.testing.assert_allclose(get_activation("leaky_relu")(z), np.where(z > 0, z, 0.01 * z))
    np.testing.assert_allclose(get_activation("softplus")(z), np.log1p(np.exp(z)), rtol=1e-14)


def test_canonical_fits_are_the_unit_shapes():
    """A fitted sigmoid is seen by the network as exactly the logistic, and so on."""
    z = np.linspace(-6, 6, 25)
    np.testing.assert_allclose(fitted("sigmoid")(z), 1 / (1 + np.exp(-z)), rtol=1e-12)
    # (the reference 1 + tanh(z) cancels for z << 0; biorate computes logistic(2z) instead)
    np.testing.assert_allclose(fitted("tanh")(z), 0.5 * (1 + np.tanh(z)), rtol=1e-9)
    np.testing.assert_allclose(fitted("softplus")(z), np.log1p(np.exp(z)), rtol=1e-12)
    np.testing.assert_allclose(fitted("threshold_linear")(z), np.maximum(z, 0), atol=1e-12)
    zz = np.linspace(0.1, 4, 20)  # hill: z = x / x_half
    np.testing.assert_allclose(fitted("hill")(zz), zz**3 / (1 + zz**3), rtol=1e-12)
    from scipy.special import erfc

    np.testing.assert_allclose(fitted("erf")(z), 0.5 * erfc(-z), rtol=1e-12)


# Hand-computed points of each fitted curve of FITTED_PARAMS (x in A, y in Hz), from the equations
# in biorate.forms' docstring, not from its code: the step forms pass r0 + r_max/2 = 41.5 Hz at
# x_half and r0 + 3/4 r_max = 61.5 Hz where the unit shape is 3/4 (logistic(ln 3), tanh(atanh 1/2),
# erf(erfinv 1/2), z^3/(1 + z^3) at z = 3^(1/3)); softplus is r0 + gain*width*ln(1 + e^z) with
# gain*width = 4 Hz: 0.5 + 4 ln 2 at x_th (z = 0) and 0.5 + 4 at z = ln(e - 1).
LN3 = float(np.log(3.0))
HAND_POINTS = {
    "sigmoid": [(2e-10, 41.5), (2e-10 + 3e-11 * LN3, 61.5), (2e-10 - 3e-11 * LN3, 21.5)],
    "tanh": [(2e-10, 41.5), (2e-10 + 6e-11 * float(np.arctanh(0.5)), 61.5)],
    "erf": [(2e-10, 41.5), (2e-10 + 4e-11 * 0.4769362762044699, 61.5)],  # erfinv(1/2)
    "hill": [(0.0, 1.5), (2e-10, 41.5), (2e-10 * 3 ** (1 / 3), 61.5)],
    "softplus": [
        (1.5e-10, 0.5 + 4 * float(np.log(2.0))),
        (1.5e-10 + 1e-11 * float(np.log(np.e - 1)), 4.5),
    ],  # ln(1 + e - 1) = 1
    "threshold_linear": [(1e-10, 0.0), (1.5e-10, 0.0), (2.5e-10, 40.0)],  # 4e11 Hz/A * 0.1 nA
}


@pytest.mark.parametrize("form", list(FITTED_PARAMS))
def test_physical_values_by_hand_and_through_json(form):
    """y = r0 + y_scale * g((x - x_offset)/x_scale) and physical(x) give the hand-computed rates,
    also for the activation written to JSON and read back."""
    x, y = (np.array(v) for v in zip(*HAND_POINTS[form], strict=True))
    act = fitted(form)
    back = Activation.from_dict(json.loads(json.dumps(act.to_dict())))
    for a in (act, back):
        np.testing.assert_allclose(a.physical(x), y, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.to_rate(a(a.to_z(x))), y, rtol=1e-12, atol=1e-9)


def test_builtin_physical_values_by_hand():
    """A built-in with scales: y = y_scale * g((x - x_offset)/x_scale), values by hand."""
    sig = Activation("sigmoid", x_scale=2.0, x_offset=1.0, y_scale=3.0)
    np.testing.assert_allclose(sig.physical([1.0, 1.0 + 2 * LN3, 1.0 - 2 * LN3]), [1.5, 2.25, 0.75],
                               rtol=1e-14)  # fmt: skip
    relu = Activation("relu", x_scale=2.0, x_offset=1.0, y_scale=3.0)
    np.testing.assert_allclose(relu.physical([-3.0, 1.0, 5.0]), [0.0, 0.0, 6.0], rtol=1e-14)
    leaky = Activation.builtin("leaky_relu", alpha=0.2)
    np.testing.assert_allclose(leaky.physical([-5.0, 0.0, 2.0]), [-1.0, 0.0, 2.0], rtol=1e-14)
    np.testing.assert_allclose(get_activation("tanh").physical([np.arctanh(0.5)]), [0.5])


@pytest.mark.parametrize("act", ALL, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(z=st.floats(-30, 30))
def test_derivative_matches_finite_differences(act, z):
    h = 1e-5
    if act.form in ("relu", "leaky_relu", "prelu", "threshold_linear") and abs(z) < 2 * h:
        return  # the kink: no derivative
    if act.form == "hill" and abs(z) < 2 * h:  # hill's z = 0 is x = 0, the end of its domain
        return
    fd = (act(np.array([z + h])) - act(np.array([z - h]))) / (2 * h)
    np.testing.assert_allclose(act.derivative(np.array([z])), fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("act", ALL, ids=IDS)
def test_stable_at_huge_inputs(act):
    z = np.array([-1e6, -1e3, -750.0, -1.0, 0.0, 1.0, 750.0, 1e3, 1e6])
    with np.errstate(all="raise"):
        g, d = act(z), act.derivative(z)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(d))
    lo, hi = act.bounds
    assert np.all(g >= lo) and np.all(g <= hi)
    if act.form not in ("gelu", "swish", "swish_learned"):  # they dip below 0 before they rise
        assert np.all(d >= 0)  # every other shipped activation is non-decreasing
    if np.isfinite(hi):  # saturating: the ends sit at the bounds
        assert g[0] == pytest.approx(lo, abs=1e-12) and g[-1] == pytest.approx(hi, rel=1e-12)
        assert d[0] < 1e-200 and d[-1] < 1e-12


def test_shapes_are_preserved():
    z = np.zeros((3, 4, 5))
    for act in ALL:
        assert act(z).shape == z.shape and act.derivative(z).shape == z.shape


def test_bounds():
    assert get_activation("sigmoid").bounds == (0.0, 1.0)
    assert get_activation("tanh").bounds == (-1.0, 1.0)
    assert get_activation("relu").bounds == (0.0, np.inf)
    assert fitted("sigmoid").bounds == (0.0, 1.0)
    assert fitted("softplus").bounds == (0.0, np.inf)


@pytest.mark.parametrize("act", ALL, ids=IDS)
def test_save_load_exact(act, tmp_path):
    a = dataclasses.replace(act, fit={"r2": 0.987654321, "aic": -12.3456789012345},
                            source={"model": {"name": "lif"}})  # fmt: skip
    path = a.save(tmp_path / "act.json")
    b = Activation.load(path)
    assert b == a
    z = np.linspace(-5, 5, 11)
    np.testing.assert_array_equal(b(z), a(z))
    assert get_activation(str(path)) == a
    data = json.loads(path.read_text())
    assert data["kind"] == "activation" and data["schema"] == 1
    for key in ("form", "params", "x_unit", "y_unit", "x_scale", "x_offset", "y_scale", "fit",
                "source"):  # fmt: skip
        assert key in data


def test_get_activation_shipped_and_unknown():
    with pytest.raises(UnknownActivationError, match="unknown activation 'no_such'"):
        get_activation("no_such")
    with pytest.raises(FitError):  # the subclass is also a FitError
        get_activation("no_such")
    with pytest.raises(UnknownActivationError, match="does not exist"):
        get_activation("missing/act.json")
    a = get_activation("sigmoid")
    assert get_activation(a) is a


def test_bad_files(tmp_path):
    p = tmp_path / "a.json"
    p.write_text("{not json")
    with pytest.raises(CurveFileError, match="not valid JSON"):
        Activation.load(p)
    p.write_text(json.dumps({"kind": "transfer_curve", "schema": 1}))
    with pytest.raises(CurveFileError, match="expected kind 'activation'"):
        Activation.load(p)
    good = fitted("sigmoid").to_dict()
    for change, msg in [
        ({"schema": 99}, "schema 99"),
        ({"form": "wiggle"}, "unknown activation form 'wiggle'"),
        (
            {"params": {"x_half": 1.0}},
            "field 'params': missing parameter\\(s\\) width, r_max, r0: a fitted sigmoid takes",
        ),
        ({"params": {**good["params"], "width": -1.0}}, "width must be positive"),
        ({"x_scale": 0}, "field 'x_scale': 0 must be positive"),
        ({"y_scale": "big"}, "field 'y_scale': expected a finite number, found 'big'"),
        ({"x_offset": None}, "field 'x_offset': expected a finite number, found null"),
    ]:
        p.write_text(json.dumps({**good, **change}))
        with pytest.raises(CurveFileError, match=msg):
            Activation.load(p)
    p.write_text(json.dumps({**good, "params": {**good["params"], "r0": "NaN"}}))
    with pytest.raises(CurveFileError, match="finite"):
        Activation.load(p)


def test_elu_gelu_swish_against_their_definitions():
    """ELU (Clevert et al. 2016), GELU (Hendrycks & Gimpel 2016, the tanh form: within 5e-4 of
    z * Phi(z) with the exact erf) and swish (Ramachandran et al. 2017: z * sigmoid(beta z));
    their minima are the lower bounds the diagnostics use (to 1e-5)."""
    import math

    z = np.linspace(-6, 6, 1201)
    elu = Activation.builtin("elu", alpha=0.5)
    np.testing.assert_allclose(elu(np.array([-1.0, 0.0, 2.0])), [0.5 * (math.exp(-1) - 1), 0, 2])
    assert elu.bounds[0] == -0.5
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in z])
    gelu = get_activation("gelu")
    assert np.max(np.abs(gelu(z) - exact)) < 5e-4
    swish = Activation.builtin("swish", beta=2.0)
    np.testing.assert_allclose(swish(z), z / (1 + np.exp(-2 * z)), rtol=1e-13, atol=1e-300)
    for act in (gelu, swish, get_activation("swish")):
        fine = np.linspace(-3, 0, 300_001)
        assert act.bounds[0] <= act(fine).min() < act.bounds[0] + 1e-5
    with pytest.raises(CurveFileError, match="field 'alpha': -1 is out of range"):
        Activation.builtin("elu", alpha=-1.0)
