"""Curve forms: closed forms, x-derivatives and parameter Jacobians against finite differences,
stability, and starting guesses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biorate.errors import FitError
from biorate.forms import FORMS, get_form

# parameters in normalized units (x, y of order one): each form's parameters from a few numbers
unit = st.floats(0.2, 3.0)
shift = st.floats(-1.0, 1.0)


def params_for(name: str, a: float, b: float, c: float, d: float) -> dict[str, float]:
    if name in ("sigmoid", "tanh", "erf"):
        return {"x_half": d, "width": a * 0.3, "r_max": b * 10, "r0": c}
    if name == "hill":
        return {"x_half": a, "n": b * 2, "r_max": c * 10, "r0": d}
    if name == "softplus":
        return {"x_th": d, "width": a * 0.3, "gain": b * 10, "r0": c}
    return {"x_th": d, "gain": b * 10, "r0": c}


def test_closed_forms():
    x = np.linspace(-2, 3, 41)
    u = (x - 0.5) / 0.4
    p = {"x_half": 0.5, "width": 0.4, "r_max": 7.0, "r0": 1.0}
    np.testing.assert_allclose(FORMS["sigmoid"].value(x, p), 1 + 7 / (1 + np.exp(-u)), rtol=1e-14)
    np.testing.assert_allclose(FORMS["tanh"].value(x, p), 1 + 3.5 * (1 + np.tanh(u)), rtol=1e-13)
    from scipy.special import erf

    np.testing.assert_allclose(FORMS["erf"].value(x, p), 1 + 3.5 * (1 + erf(u)), rtol=1e-13)
    ph = {"x_half": 0.5, "n": 2.5, "r_max": 7.0, "r0": 1.0}
    xp = np.clip(x, 0, None)
    np.testing.assert_allclose(FORMS["hill"].value(x, ph),
                               1 + 7 * xp**2.5 / (xp**2.5 + 0.5**2.5), rtol=1e-13)  # fmt: skip
    ps = {"x_th": 0.5, "width": 0.4, "gain": 3.0, "r0": 1.0}
    np.testing.assert_allclose(FORMS["softplus"].value(x, ps),
                               1 + 3 * 0.4 * np.log1p(np.exp(u)), rtol=1e-13)  # fmt: skip
    pt = {"x_th": 0.5, "gain": 3.0, "r0": 1.0}
    np.testing.assert_allclose(FORMS["threshold_linear"].value(x, pt),
                               1 + 3 * np.maximum(x - 0.5, 0), rtol=1e-14)  # fmt: skip


def test_tanh_is_sigmoid_with_twice_the_width():
    x = np.linspace(-3, 3, 61)
    p = {"x_half": 0.2, "width": 0.5, "r_max": 4.0, "r0": -1.0}
    np.testing.assert_allclose(FORMS["tanh"].value(x, {**p, "width": 1.0}),
                               FORMS["sigmoid"].value(x, p), rtol=1e-13)  # fmt: skip


@pytest.mark.parametrize("name", list(FORMS))
@settings(max_examples=40, deadline=None)
@given(a=unit, b=unit, c=unit, d=shift, x=st.floats(-3.0, 3.0))
def test_x_derivative_matches_finite_differences(name, a, b, c, d, x):
    form = FORMS[name]
    p = params_for(name, a, b, c, d)
    h = 1e-6
    if name == "threshold_linear" and abs(x - p["x_th"]) < 2 * h:
        return  # the kink
    if name == "hill" and abs(x) < 1e-3:
        return  # the end of hill's domain, where x^(n-1) is too curved for finite differences
    xs = np.array([x - h, x, x + h])
    f = form.value(xs, p)
    fd = (f[2] - f[0]) / (2 * h)
    assert form.derivative(xs[1:2], p)[0] == pytest.approx(fd, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", list(FORMS))
@settings(max_examples=30, deadline=None)
@given(a=unit, b=unit, c=unit, d=shift)
def test_parameter_jacobian_matches_finite_differences(name, a, b, c, d):
    form = FORMS[name]
    p = params_for(name, a, b, c, d)
    x = np.linspace(-2.9, 3.1, 23)
    if "x_th" in p:  # keep the threshold-linear kink away from the sample points
        x = x[np.abs(x - p["x_th"]) > 1e-3]
    jac = form.jac(x, *(p[k] for k in form.params))
    assert jac.shape == (x.size, form.k)
    for i, k in enumerate(form.params):
        h = 1e-6 * max(abs(p[k]), 1.0)
        up, down = dict(p), dict(p)
        up[k] += h
        down[k] -= h
        fd = (form.value(x, up) - form.value(x, down)) / (2 * h)
        np.testing.assert_allclose(jac[:, i], fd, rtol=1e-5, atol=1e-6, err_msg=f"{name}: d/d{k}")


@pytest.mark.parametrize("name", list(FORMS))
def test_excess_has_no_cancellation(name):
    """f - r0 is computed directly: far below threshold it is tiny and positive, not 0 or noise."""
    p = params_for(name, 1.0, 1.0, 1.0, 0.0)
    p["r0"] = 1e6
    x = np.array([-1.0, 0.5, 2.0])
    form = FORMS[name]
    np.testing.assert_allclose(form.excess(x, p), form.value(x, {**p, "r0": 0.0}), rtol=1e-14)


@pytest.mark.parametrize("name", list(FORMS))
def test_stable_for_huge_inputs(name):
    form = FORMS[name]
    p = params_for(name, 1.0, 1.0, 1.0, 0.0)
    x = np.array([-1e300, -1e6, -1.0, 0.0, 1.0, 1e6, 1e300 if form.saturating else 1e200])
    with np.errstate(all="raise"):
        f, d = form.value(x, p), form.derivative(x, p)
        jac = form.jac(x[1:-1], *(p[k] for k in form.params))
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(d)) and np.all(np.isfinite(jac))


@pytest.mark.parametrize("name", list(FORMS))
def test_guess_starts_near_the_truth(name):
    """On a noise-free curve the guess is within a factor of 3 (positions within the x range) and a
    fit from it recovers the parameters."""
    from biorate.curve import TransferCurve
    from biorate.fitting import fit

    x = np.linspace(0.0, 2.0, 41)
    p = {"sigmoid": {"x_half": 1.0, "width": 0.15, "r_max": 50.0, "r0": 2.0},
         "tanh": {"x_half": 1.0, "width": 0.3, "r_max": 50.0, "r0": 2.0},
         "erf": {"x_half": 1.0, "width": 0.2, "r_max": 50.0, "r0": 2.0},
         "hill": {"x_half": 0.8, "n": 3.0, "r_max": 50.0, "r0": 2.0},
         "softplus": {"x_th": 0.7, "width": 0.05, "gain": 40.0, "r0": 2.0},
         "threshold_linear": {"x_th": 0.7, "gain": 40.0, "r0": 2.0}}[name]  # fmt: skip
    form = get_form(name)
    y = form.value(x, p)
    g = form.guess(x, y)
    for k, v in p.items():
        if k in ("x_half", "x_th", "r0"):
            assert abs(g[k] - v) < 0.3 * np.ptp(y if k == "r0" else x), k
        else:
            assert v / 3 < g[k] < 3 * v, (k, g[k], v)
    result = fit(TransferCurve("fi", x, y, "A", "Hz"), name)
    for k, v in p.items():
        assert result.params[k] == pytest.approx(v, rel=1e-5, abs=1e-7), k


def test_unknown_form():
    with pytest.raises(FitError, match="unknown form 'wiggle'; known forms: sigmoid"):
        get_form("wiggle")
