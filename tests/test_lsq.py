"""biorate.fitting.lsq.box_lm: bounded Levenberg-Marquardt against known optima, SciPy and the KKT
conditions."""

import numpy as np
import pytest
from scipy.optimize import least_squares, lsq_linear

from biorate.fitting.lsq import box_lm


def _rosenbrock(x):
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def _rosenbrock_jac(x):
    return np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])


def _kkt(res, lb, ub, tol=1e-6):
    """Free parameters have zero gradient; one held at a bound has a gradient pointing out."""
    g = res.jac.T @ res.fun
    scale = np.linalg.norm(res.jac, axis=0) * max(np.linalg.norm(res.fun), 1.0)
    free = res.active_mask == 0
    assert np.all(np.abs(g[free]) <= tol * scale[free])
    assert np.all(g[res.active_mask == -1] >= -tol * scale[res.active_mask == -1])
    assert np.all(g[res.active_mask == 1] <= tol * scale[res.active_mask == 1])
    assert np.all(res.x[res.active_mask == -1] == lb[res.active_mask == -1])
    assert np.all(res.x[res.active_mask == 1] == ub[res.active_mask == 1])


def test_rosenbrock_unbounded_reaches_the_minimum():
    res = box_lm(_rosenbrock, _rosenbrock_jac, [-1.2, 1.0], [-np.inf] * 2, [np.inf] * 2)
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-10)
    assert res.cost < 1e-20


def test_rosenbrock_with_an_upper_bound_stops_on_it():
    # x1 <= 0.5: the minimum is on the bound, where x2 = x1^2 zeroes the first residual
    lb, ub = np.array([-2.0, -2.0]), np.array([0.5, 2.0])
    res = box_lm(_rosenbrock, _rosenbrock_jac, [-1.2, 1.0], lb, ub)
    assert res.success
    np.testing.assert_allclose(res.x, [0.5, 0.25], atol=1e-10)
    assert res.cost == pytest.approx(0.5 * 0.25, rel=1e-12)
    assert list(res.active_mask) == [1, 0]
    _kkt(res, lb, ub)


@pytest.mark.parametrize("seed", range(5))
def test_bounded_linear_least_squares_equals_bvls(seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(30, 4))
    b = A @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(0.0, 0.3, 30)
    lb, ub = np.array([-0.5, -1.0, -1.0, 0.0]), np.array([0.8, 1.0, 1.0, 2.0])
    exact = lsq_linear(A, b, bounds=(lb, ub), method="bvls", tol=1e-14)
    res = box_lm(lambda x: A @ x - b, lambda x: A, np.zeros(4), lb, ub)
    assert res.success
    np.testing.assert_allclose(res.x, exact.x, atol=1e-9)
    assert res.cost == pytest.approx(exact.cost, rel=1e-12)
    assert np.any(res.active_mask != 0)  # the bounds bite
    _kkt(res, lb, ub)


def test_nonlinear_fit_with_a_binding_bound_matches_scipy_trf():
    # y = a exp(-b t) + c with c held above its true value: a bounded optimum SciPy also finds
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 5.0, 40)
    y = 2.0 * np.exp(-1.3 * t) + 0.1 + rng.normal(0.0, 0.01, t.size)

    def fun(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.column_stack([e, -p[0] * t * e, np.ones_like(t)])

    lb, ub = np.array([0.0, 0.0, 0.3]), np.array([10.0, 10.0, 1.0])
    ref = least_squares(fun, [1.0, 1.0, 0.5], jac=jac, bounds=(lb, ub), method="trf",
                        ftol=1e-15, xtol=1e-15, gtol=1e-15)  # fmt: skip
    res = box_lm(fun, jac, [1.0, 1.0, 0.5], lb, ub)
    assert res.success
    assert res.cost == pytest.approx(ref.cost, rel=1e-10)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6)
    assert list(res.active_mask) == [0, 0, -1]
    _kkt(res, lb, ub)


def test_interior_optimum_equals_minpack():
    t = np.linspace(0.0, 4.0, 25)
    y = 3.0 / (1.0 + np.exp(-(t - 2.0) / 0.4))

    def fun(p):
        return p[2] / (1.0 + np.exp(-(t - p[0]) / p[1])) - y + 0.01 * np.sin(7 * t)

    def jac(p):
        e = np.exp(-(t - p[0]) / p[1])
        s = 1.0 / (1.0 + e)
        ds = s * s * e
        return np.column_stack([-p[2] * ds / p[1], -p[2] * ds * (t - p[0]) / p[1] ** 2, s])

    ref = least_squares(fun, [1.5, 0.8, 2.0], jac=jac, method="lm", ftol=1e-15, xtol=1e-15)
    res = box_lm(fun, jac, [1.5, 0.8, 2.0], [-10.0, 1e-3, 0.0], [10.0, 10.0, 10.0])
    assert res.success and not np.any(res.active_mask)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9)


def test_start_outside_the_box_is_moved_in_and_budget_is_honoured():
    lb, ub = np.array([-2.0, -2.0]), np.array([0.5, 2.0])
    res = box_lm(_rosenbrock, _rosenbrock_jac, [5.0, -9.0], lb, ub)
    np.testing.assert_allclose(res.x, [0.5, 0.25], atol=1e-10)
    short = box_lm(_rosenbrock, _rosenbrock_jac, [-1.2, 1.0], lb, ub, max_nfev=3)
    assert short.status == 0 and not short.success and short.nfev <= 3


def test_non_finite_start_and_bad_bounds():
    res = box_lm(lambda x: np.array([np.nan, 1.0]), _rosenbrock_jac, [0.0, 0.0], [-1, -1], [1, 1])
    assert res.status == -1 and not res.success and res.nfev == 1
    with pytest.raises(ValueError, match="lb <= ub"):
        box_lm(_rosenbrock, _rosenbrock_jac, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0])


def test_a_step_into_nan_is_rejected_not_taken():
    # the residual is NaN for x < 0.2 (outside its domain) but the box allows it: the solver must
    # shrink its steps rather than accept a NaN point
    def fun(x):
        with np.errstate(invalid="ignore"):
            return np.array([np.sqrt(x[0] - 0.2) - 0.1, x[1] - 1.0])

    def jac(x):
        return np.array([[0.5 / np.sqrt(max(x[0] - 0.2, 1e-300)), 0.0], [0.0, 1.0]])

    res = box_lm(fun, jac, [3.0, 0.0], [0.0, -5.0], [5.0, 5.0])
    assert res.success
    np.testing.assert_allclose(res.x, [0.21, 1.0], atol=1e-9)


def test_a_non_finite_jacobian_stops_within_the_budget():
    res = box_lm(lambda x: x - 1.0, lambda x: np.full((1, 1), np.nan), [0.0], [-5.0], [5.0],
                 max_nfev=50)  # fmt: skip
    assert res.status == -2 and not res.success and res.nfev <= 50


def test_a_short_step_onto_a_bound_is_taken_not_read_as_convergence():
    # x0 sits 1e-13 above its lower bound with the gradient pointing out of the box: the step onto
    # the bound is shorter than xtol but must be taken, so that the result satisfies KKT
    lb, ub = np.array([0.0, -10.0]), np.array([10.0, 10.0])
    res = box_lm(lambda x: np.array([x[0] + 5.0, x[1] - 3.0]), lambda x: np.eye(2), [1e-13, 3.0],
                 lb, ub)  # fmt: skip
    assert res.success and list(res.active_mask) == [-1, 0]
    np.testing.assert_array_equal(res.x, [0.0, 3.0])
    _kkt(res, lb, ub)


def test_scalar_start_and_nan_bounds():
    res = box_lm(lambda x: x - 1.0, lambda x: np.ones((1, 1)), 0.0, -5.0, 5.0)
    assert res.success and res.x.shape == (1,) and res.x[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no NaN"):
        box_lm(lambda x: x, lambda x: np.ones((1, 1)), [0.0], [np.nan], [1.0])
