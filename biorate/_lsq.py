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

The result is a :class:`scipy.optimize.OptimizeResult` with the fields :func:`fitting.fit_form`
reads from :func:`scipy.optimize.least_squares`: ``x``, ``fun``, ``jac``, ``cost``, ``status``
(1 gtol, 2 ftol, 3 xtol, 0 evaluation budget spent, -1 non-finite residuals at the start),
``message``, ``nfev``, ``njev`` and ``active_mask`` (-1 at the lower bound, 1 at the upper, else 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

_MESSAGES = {
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
    from scipy.optimize import OptimizeResult

    lb, ub = np.asarray(lb, dtype=float), np.asarray(ub, dtype=float)
    if lb.shape != ub.shape or np.any(lb > ub):
        raise ValueError("box_lm: the bounds must have equal shapes and lb <= ub")
    x = np.clip(np.asarray(x0, dtype=float), lb, ub)
    k = x.size
    r = np.asarray(fun(x), dtype=float)
    nfev, njev = 1, 0
    cost = 0.5 * float(r @ r)
    J = np.zeros((r.size, k))
    status = -1
    if np.isfinite(cost):
        J = np.asarray(jac(x), dtype=float)
        njev = 1
        status = 0
    d = np.sqrt(np.einsum("ij,ij->j", J, J))
    d = np.where(d > 0, d, 1.0)
    mu, nu = 1e-3, 2.0
    every = np.ones(k, dtype=bool)
    while status == 0 and nfev < max_nfev:
        g = J.T @ r
        A = J.T @ J
        at_lb, at_ub = x <= lb, x >= ub
        free = ~((at_lb & (g > 0)) | (at_ub & (g < 0))) if (at_lb | at_ub).any() else every
        norms = np.sqrt(A.diagonal())
        rnorm = math.sqrt(2.0 * cost)
        if rnorm == 0.0 or not free.any():
            status = 1
            break
        cosine = np.abs(g[free]) / (rnorm * np.where(norms[free] > 0, norms[free], 1.0))
        if cosine.max() <= gtol:
            status = 1
            break
        xnorm = math.sqrt(float(np.dot(d * x, d * x)))
        while nfev < max_nfev:  # damp until a step lowers the cost
            s = _step(A, g, mu * d * d, x, lb, ub, free)
            if s is None:
                mu, nu = mu * nu, nu * 2.0
                continue
            trial = np.minimum(np.maximum(x + s, lb), ub)
            s = trial - x
            ds = d * s
            if math.sqrt(float(np.dot(ds, ds))) <= xtol * (xtol + xnorm):
                status = 3
                break
            predicted = -float(g @ s + 0.5 * s @ A @ s)
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


def _step(A, g, damping, x, lb, ub, free):
    """The damped Gauss-Newton step for the free parameters; a parameter it would carry across a
    bound is put on that bound and the others are solved for again (at most k rounds). None if
    the damped system is singular (non-finite entries)."""
    s = np.zeros_like(x)
    fr = free.copy()
    for _ in range(x.size):
        fixed = ~fr
        if fixed.any():
            M = A[np.ix_(fr, fr)] + np.diag(damping[fr])
            rhs = -(g[fr] + A[np.ix_(fr, fixed)] @ s[fixed])
        else:
            M, rhs = A + np.diag(damping), -g
        try:
            s[fr] = np.linalg.solve(M, rhs)
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(s).all():
            return None
        y = x + s
        low, high = fr & (y < lb), fr & (y > ub)
        if not (low.any() or high.any()):
            break
        s[low] = (lb - x)[low]
        s[high] = (ub - x)[high]
        fr &= ~(low | high)
        if not fr.any():
            break
    return s
