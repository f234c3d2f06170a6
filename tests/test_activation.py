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


@pytest.mark.parametrize("act", ALL, ids=IDS)
def test_physical_round_trip(act):
    """y = r0 + y_scale * g((x - x_offset)/x_scale) is the fitted curve itself."""
    x = act.to_x(np.linspace(-3, 3, 13))
    y = act.to_rate(act(act.to_z(x)))
    np.testing.assert_allclose(act.physical(x), y, rtol=1e-12, atol=1e-12 * abs(act.y_scale))
    if act.is_fitted:
        np.testing.assert_allclose(y, FORMS[act.form].value(x, act.params), rtol=1e-12,
                                   atol=1e-9)  # fmt: skip


@pytest.mark.parametrize("act", ALL, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(z=st.floats(-30, 30))
def test_derivative_matches_finite_differences(act, z):
    h = 1e-5
    if act.form in ("relu", "leaky_relu", "threshold_linear") and abs(z) < 2 * h:
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
    assert np.all(d >= 0)  # every shipped activation is non-decreasing
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
        ({"params": {"x_half": 1.0}}, "unexpected parameter"),
        ({"params": {**good["params"], "width": -1.0}}, "width must be positive"),
        ({"x_scale": 0}, "x_scale must be non-zero"),
        ({"y_scale": "big"}, "y_scale must be a number"),
        ({"x_offset": None}, "x_offset must be a number"),
    ]:
        p.write_text(json.dumps({**good, **change}))
        with pytest.raises(CurveFileError, match=msg):
            Activation.load(p)
    p.write_text(json.dumps({**good, "params": {**good["params"], "r0": "NaN"}}))
    with pytest.raises(CurveFileError, match="finite"):
        Activation.load(p)
