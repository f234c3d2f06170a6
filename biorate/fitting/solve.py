"""Solving one form's least-squares problem in normalized units: Levenberg-Marquardt (MINPACK
through SciPy, or :func:`~biorate.fitting.lsq.box_lm` with bounds), the starts, and the walk of a
cusped threshold across the data points.

Everything a form needs is read from its :class:`~biorate.forms.form.SolverHints`
(``form.solver``): which parameters are solved for as logarithms, which bounds stand for limits,
the extra starts, and whether its threshold is a kink (its threshold starts always tried) or a
cusp (walked). SciPy is imported when a fit runs, not with this module, so that reading
:data:`~biorate.fitting.CRITERIA` (the CLI's parser does) does not load it.
"""

from __future__ import annotations

import numpy as np

from ..forms import Form
from . import lsq

__all__ = ["search"]

_TOL = 1e-12
_LM_NFEV = 40
# MINPACK's info code -> least_squares' status (1 gtol, 2 ftol, 3 xtol, 4 both, 0 budget spent)
_FROM_MINPACK = {1: 2, 2: 3, 3: 4, 4: 1, 5: 0}


def search(form: Form, xn: np.ndarray, yn: np.ndarray, sn: np.ndarray, start: np.ndarray,
           lb: np.ndarray, ub: np.ndarray, *, fixed: bool = False):  # fmt: skip
    """The best of :func:`_solve` from ``start`` and, unless ``fixed`` (a given start: only that
    one), the form's extra starts while a fit looks stuck, then walked across the cusps of a
    cusped threshold. None if every start gave non-finite residuals."""
    margin = 1e-6 * (ub - lb)
    best = None
    tried: list[np.ndarray] = []
    for s0 in _starts(form, start, float(np.ptp(xn))):
        s0 = np.clip(s0, lb + margin, ub - margin)
        if any(np.array_equal(s0, t) for t in tried):  # a perturbation clipped onto another start
            continue
        tried.append(s0)
        res = _solve(form, xn, yn, sn, s0, lb, ub)
        agrees = (best is not None and res.status > 0 and best.status > 0
                  and abs(res.cost - best.cost) <= 1e-9 * max(1.0, best.cost))  # fmt: skip
        if _better(res, best):
            best = res
        if len(tried) == 1:
            first_best = best
        # further starts only when this one looks stuck: not converged, at a bound, or leaving
        # more than 10 % of the variance (saves two thirds of the time on well-behaved curves);
        # and no more once two starts have converged to the same optimum (one at a bound, say)
        if fixed:
            break
        if form.solver.kink and len(tried) < 3:
            # the neighbouring thresholds are tried however good the first fit looks (a kinked
            # cost can hold a good-looking fit in a poor basin): the one below, and the one above
            # (threshold_linear) only if the one below found no better basin
            if len(tried) == 1 or best is first_best:
                continue
            break
        if agrees or (best is not None and _looks_good(best, yn, sn, form)):
            break
    if form.solver.cusp and not fixed and best is not None:
        best = _walk_threshold(form, xn, yn, sn, best, lb, ub)
    return best


def _solve(form, xn, yn, sn, p0, lb, ub):
    """Minimize the weighted residuals in normalized units; returns an OptimizeResult with ``x``,
    ``jac``, ``cost``, ``status`` and ``active_mask`` in those units.

    MINPACK's Levenberg-Marquardt (SciPy's ``leastsq``, unbounded) runs first:
    where its optimum lies inside the bounds it is also the bounded optimum. Only when it leaves
    the bounds (a width turning negative, a parameter running away), fails or has not converged
    within a few dozen evaluations per parameter is the fit redone with bounds by
    :func:`biorate.fitting.lsq.box_lm` (Levenberg-Marquardt with an active set), which forms with
    a parameter in their ``solver.limit_params`` use from the start. Parameters in their
    ``solver.log_params`` are solved for as logarithms (the same optimum, reached faster).
    """
    from scipy.optimize import OptimizeResult, leastsq  # imported when a fit runs: see above

    hints = form.solver
    logs = np.array([p in hints.log_params for p in form.params])
    log_idx = np.flatnonzero(logs)
    sn_col = sn[:, None]

    def to_p(q):
        p = np.array(q, dtype=float)
        p[log_idx] = np.exp(p[log_idx])
        return p

    def resid(q):
        return (form.f(xn, *to_p(q)) - yn) / sn

    def jac_p(p):
        return form.jac(xn, *p) / sn_col

    def jac(q):
        p = to_p(q)
        J = jac_p(p)
        J[:, log_idx] *= p[log_idx]  # d/dlog(p) = p d/dp
        return J

    def to_q(p):
        return np.where(logs, np.log(np.where(logs, p, 1.0)), p)

    q0, qlb, qub = to_q(p0), to_q(lb), to_q(ub)
    tol = {"ftol": _TOL, "xtol": _TOL, "gtol": _TOL}
    k = len(p0)
    inside = False
    with np.errstate(all="ignore"):
        if not hints.limit_params and np.isfinite(resid(q0)).all():
            # MINPACK's lmder through the legacy interface: the same routine and settings as
            # least_squares(method="lm", x_scale="jac") (factor 100, scaling from the Jacobian's
            # column norms), the same iterates, without the per-evaluation bookkeeping
            q, _, info, message, ier = leastsq(resid, q0, Dfun=jac, full_output=True,
                                               maxfev=_LM_NFEV * k, factor=100.0, **tol)  # fmt: skip
            fun = info["fvec"]
            status = _FROM_MINPACK.get(ier, -1)
            res = OptimizeResult(x=q, fun=fun, cost=0.5 * float(fun @ fun), status=status,
                                 message=message, nfev=info["nfev"], success=status > 0)  # fmt: skip
            inside = (status > 0 and np.all(np.isfinite(fun))
                      and np.all(q > qlb) and np.all(q < qub))  # fmt: skip
        if inside:
            res.active_mask = np.zeros(k, dtype=int)
        elif form.fj is None:
            res = lsq.box_lm(resid, jac, q0, qlb, qub, max_nfev=200 * k, **tol)
        else:  # box_lm wants the Jacobian at each point whose residuals it accepted: both at once
            last: dict = {}

            def resid_fj(q):
                p = to_p(q)
                f, J = form.fj(xn, *p)
                last.update(q=q, p=p, J=J)
                return (f - yn) / sn

            def jac_fj(q):
                if last.get("q") is not q:
                    return jac(q)
                J, p = last["J"] / sn_col, last["p"]
                J[:, log_idx] *= p[log_idx]
                return J

            res = lsq.box_lm(resid_fj, jac_fj, q0, qlb, qub, max_nfev=200 * k, **tol)
        res.x = to_p(res.x)
        res.jac = jac_p(res.x)  # the covariance is taken in the parameters themselves
    return res


def _starts(form: Form, p0: np.ndarray, x_range: float) -> list[np.ndarray]:
    """The guess plus the form's extra starts (``form.solver.starts``), for forms whose guess can
    sit in a poor basin."""
    return [p0] + [s.apply(p0, form.params.index(s.param), x_range) for s in form.solver.starts]


def _walk_threshold(form, xn, yn, sn, best, lb, ub):
    """Walk a fit across the cusps of its cost at the data points: refit with x_th held inside the
    next interval between data points below, and on while that lowers the cost; if the first step
    down does not, the same upwards. Each refit is smooth (the set of points above threshold is
    fixed inside an interval). On 54 noisy Siegert curves (tau_m 12-28 ms, sigma 1.5-3.5 mV) the
    fit then reaches the best optimum that 41 starts spread over the thresholds find in 53, where
    the starts alone reached it in 37 (Δχ² up to 43)."""
    i = form.params.index(form.solver.threshold)
    xu = np.unique(xn)
    # the interval m is (xu[m], xu[m + 1]); the walk starts from the one holding the threshold
    # (m = -1: below every point; a threshold on a point counts as in the interval it leaves) and
    # then counts intervals itself, since a refit may leave x_th exactly on an interval's end
    x_th = best.x[i]
    for direction in (-1, 1):
        m = int(np.searchsorted(xu, x_th, side="right" if direction < 0 else "left")) - 1
        moved = False
        while True:
            m += direction
            if m < 0 or m + 1 >= xu.size:
                break
            blb, bub = lb.copy(), ub.copy()
            blb[i], bub[i] = max(lb[i], xu[m]), min(ub[i], xu[m + 1])
            s0 = best.x.copy()
            s0[i] = 0.5 * (blb[i] + bub[i])
            res = _solve(form, xn, yn, sn, s0, blb, bub)
            if not (_better(res, best) and res.cost < best.cost * (1 - 1e-9)):
                break
            res.active_mask[i] = 0  # the interval's ends are kinks of the cost, not bounds
            best, moved = res, True
        if moved:
            break
    return best


def _better(res, best) -> bool:
    """Whether ``res`` replaces ``best``: finite and lower in cost, and converged unless ``best``
    is not either (an unconverged start that ran out of evaluations lower in a valley does not
    replace a converged fit)."""
    if not np.all(np.isfinite(res.fun)):
        return False
    if best is None:
        return True
    return res.cost < best.cost - 1e-12 and (res.status > 0 or best.status <= 0)


def _looks_good(res, yn: np.ndarray, sn: np.ndarray, form: Form) -> bool:
    """Converged, off the bounds, and leaving less than 10 % of the variance unexplained. A
    parameter resting on a lower bound in ``form.solver.reachable_lower`` counts as off the bounds:
    soft_lif's gamma, whose bound stands for the hard threshold (the lif form), a limit soft_lif
    reaches smoothly, not for a start gone astray. (The lower bound of c, the perfect-integrator
    limit, is not in it: there soft_lif's start further up the c valley can find a better optimum;
    lif's other starts and walk run whatever this says.)"""
    limits = np.array([p in form.solver.reachable_lower for p in form.params])
    stuck = (res.active_mask != 0) & ~(limits & (res.active_mask == -1))
    if res.status <= 0 or np.any(stuck):
        return False
    rss = float(np.sum((res.fun * sn) ** 2))
    return rss < 0.1 * float(np.sum((yn - yn.mean()) ** 2))
