"""Levenberg-Marquardt with box bounds for small nonlinear least-squares problems.

:func:`box_lm` minimizes ``0.5 * sum(fun(x)**2)`` subject to ``lb <= x <= ub`` for problems of a
few parameters and a few hundred residuals, the size of a transfer-curve fit. It is an active-set
Levenberg-Marquardt method:

- each iteration solves the damped normal equations ``(J_F^T J_F + mu D_F^2) s_F = -g_F`` for the
  free parameters ``F``, with Marquardt's scaling ``D`` (the largest column norms of ``J`` seen so
  far, as MINPACK uses) and Nielsen's update of the damping ``mu`` (H. B. Nielsen, "Damping
  parameter in Marquardt's method", IMM-REP-1999-05, DTU);
- a parameter at a bound whose gradient points out of the box is held there (it is *active*);
- a step that would carry a free parameter across its bound moves it exactly onto that bound and
  solves again for the others, with the moved ones fixed (so that a parameter running along a
  valley into its bound does not drag the others off the valley floor, as a clipped or shortened
  step would); the parameter is freed again as soon as the gradient points back into the box.

Termination follows MINPACK's tests: ``ftol`` on the actual and the predicted relative reduction
of the cost, ``xtol`` on the scaled step, ``gtol`` on the cosine between the residual and the
Jacobian's free columns. On the bounded optima of the LIF forms it needs fewer evaluations than
SciPy's trust-region-reflective method, whose per-iteration overhead (an SVD, Coleman-Li scaling,
step selection in Python) costs more than evaluating a 50-point curve; see ``benchmarks/fit.py``.

The result is a :class:`scipy.optimize.OptimizeResult` with the fields of
:func:`scipy.optimize.least_squares`' result that :func:`biorate.fitting.fit_form` reads: ``x``,
``fun``, ``jac``, ``cost``, ``status``
(1 gtol, 2 ftol, 3 xtol, 0 evaluation budget spent, -1 non-finite residuals at the start, -2 a
non-finite Jacobian),
``message``, ``nfev``, ``njev`` and ``active_mask`` (-1 at the lower bound, 1 at the upper, else 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

_MESSAGES = {
    -2: "the Jacobian is not finite (or J^T J overflows): no step can be computed",
    -1: "the residuals are not finite at the starting point",
    0: "the maximum number of function evaluations is exceeded",
    1: "gtol: the gradient is orthogonal to the residuals (projected on the free parameters)",
    2: "ftol: the actual and predicted relative reductions of the cost are below ftol",
    3: "xtol: the scaled step is below xtol relative to the parameters",
}


def box_lm(fun: Callable[[np.ndarray], np.ndarray], jac: Callable[[np.ndarray], np.ndarray],
           x0: np.ndarray, lb: np.ndarray, ub: np.ndarray, *, max_nfev: int = 1000,
           ftol: float = 1e-12, xtol: float = 1e-12, gtol: float = 1e-12):  # fmt: skip
    """Minimize ``0.5 * ||fun(x)||^2`` with ``lb <= x <= ub`` (``x0`` is moved into the box first).

    ``fun(x)`` returns the residual vector (m,) and ``jac(x)`` its Jacobian (m, k). A trial point
    where ``fun`` is not finite counts as a failed step. See the module docstring for the method
    and the result."""
    from scipy.linalg.lapack import dposv
    from scipy.optimize import OptimizeResult

    lb, ub = np.atleast_1d(np.asarray(lb, dtype=float)), np.atleast_1d(np.asarray(ub, dtype=float))
    x = np.atleast_1d(np.asarray(x0, dtype=float))
    if lb.shape != ub.shape or lb.shape != x.shape or np.isnan(lb).any() or np.isnan(ub).any():
        raise ValueError("box_lm: x0, lb and ub must have equal shapes and the bounds no NaN")
    if np.any(lb > ub):
        raise ValueError("box_lm: the bounds must have lb <= ub")
    x = np.minimum(np.maximum(x, lb), ub)
    k = x.size
    r = np.asarray(fun(x), dtype=float)
    nfev, njev = 1, 0
    cost = 0.5 * float(r @ r)
    J = np.zeros((r.size, k))
    status = -1
    if math.isfinite(cost):
        J = np.asarray(jac(x), dtype=float)
        njev = 1
        status = 0
    d = np.sqrt(np.einsum("ij,ij->j", J, J))
    d[d == 0] = 1.0
    mu, nu = 1e-3, 2.0
    while status == 0 and nfev < max_nfev:
        g = J.T @ r
        A = J.T @ J
        if not (np.isfinite(A).all() and np.isfinite(g).all() and np.isfinite(d).all()):
            status = -2
            break
        at_lb, at_ub = x <= lb, x >= ub
        free = None  # all free
        if at_lb.any() or at_ub.any():
            free = ~((at_lb & (g > 0)) | (at_ub & (g < 0)))
            if not free.any():  # held at a corner of the box
                status = 1
                break
        rnorm = math.sqrt(2.0 * cost)
        # gtol: the cosine between the residuals and each free column of J
        cosine = np.abs(g) / np.sqrt(np.maximum(A.diagonal(), 1e-300))
        if rnorm == 0.0 or (cosine.max() if free is None else cosine[free].max()) <= gtol * rnorm:
            status = 1
            break
        dx = d * x
        xnorm = math.sqrt(float(dx @ dx))
        d2 = d * d
        while nfev < max_nfev:  # damp until a step lowers the cost
            step = _step(A, g, mu * d2, x, lb, ub, free, dposv)
            if step is None:
                mu, nu = mu * nu, nu * 2.0
                if not mu < 1e300:  # no damping gives a finite step
                    status = -2
                    break
                continue
            s, trial, onto_bound = step
            ds = d * s
            # a short step that puts a parameter onto its bound is taken, not read as convergence
            if not onto_bound and math.sqrt(float(ds @ ds)) <= xtol * (xtol + xnorm):
                status = 3
                break
            predicted = -float(g @ s + 0.5 * (s @ A @ s))
            r_new = np.asarray(fun(trial), dtype=float)
            nfev += 1
            cost_new = 0.5 * float(r_new @ r_new)
            actual = cost - cost_new if math.isfinite(cost_new) else -math.inf
            if predicted > 0.0 and actual > 0.0:
                rho = actual / predicted
                small = actual <= ftol * cost and predicted <= ftol * cost
                x, r, cost = trial, r_new, cost_new
                J = np.asarray(jac(x), dtype=float)
                njev += 1
                d = np.maximum(d, np.sqrt(np.einsum("ij,ij->j", J, J)))
                mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                if small:
                    status = 2
                break
            mu, nu = mu * nu, nu * 2.0
    active = np.where(x <= lb, -1, np.where(x >= ub, 1, 0))
    return OptimizeResult(x=x, fun=r, jac=J, cost=cost, status=status, message=_MESSAGES[status],
                          success=status > 0, nfev=nfev, njev=njev, active_mask=active)  # fmt: skip


def _step(A, g, damping, x, lb, ub, free, dposv):
    """The damped Gauss-Newton step for the free parameters (``free`` None: all of them), solved
    by Cholesky (LAPACK's dposv): ``(step, trial point, whether a parameter was put onto a
    bound)``. A parameter the step would carry across a bound is put exactly on that bound and the
    others are solved for again with it fixed (at most k rounds), so the trial point is always in
    the box. None if the damped system is not numerically positive definite or the step is not
    finite."""
    M = A + np.diag(damping)
    fr = np.ones(x.size, dtype=bool) if free is None else free.copy()
    y = x.copy()
    onto_bound = False
    for _ in range(x.size):
        if fr.all():
            _, s_free, info = dposv(M, -g)
        else:
            idx, fixed = np.flatnonzero(fr), np.flatnonzero(~fr)
            rhs = -(g[idx] + A[idx[:, None], fixed] @ (y - x)[fixed])
            _, s_free, info = dposv(M[idx[:, None], idx], rhs)
        if info != 0:
            return None
        y[fr] = x[fr] + s_free
        low, high = fr & (y < lb), fr & (y > ub)
        if not (low.any() or high.any()):
            break
        onto_bound = True
        y = np.minimum(np.maximum(y, lb), ub)
        fr &= ~(low | high)  # onto the bound it would cross, and held there
        if not fr.any():
            break
    if not np.isfinite(y).all():
        return None
    return y - x, y, onto_bound
