"""The statistics of a fit: weights (the SEM floor), goodness (chi2, R², RMSE, AIC, BIC), the
covariance and standard errors, and the flags that keep a poor fit from passing silently.

The formulas are given in :mod:`biorate.fitting`'s docstring. NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from ..curve import MEASURES, TransferCurve
from ..forms import Form
from ..units import FREQUENCY, parse_unit

__all__ = ["sem_floor", "goodness", "covariance", "flag", "negative_rate", "R2_MIN", "REDCHI_MAX",
           "NEGATIVE_SEMS", "NEGATIVE_RANGE"]  # fmt: skip

R2_MIN = 0.95  # below this R² a fit is flagged ``low_r2``
REDCHI_MAX = 3.0  # above this reduced chi-square a weighted fit gets the ``high_redchi`` warning
# A fitted rate curve may dip below 0 over the data's x range by noise alone: by NEGATIVE_SEMS
# times the median SEM, or NEGATIVE_RANGE of the curve's y range (a curve without SEMs); further
# down it is flagged ``negative_rate`` (a sigmoid fit of a Siegert curve gave f(0) = -12 Hz)
NEGATIVE_SEMS, NEGATIVE_RANGE = 5.0, 0.01
_NEGATIVE_PROBES = 1001
# a total sum of squares below this is recomputed on y scaled to O(1) (squares near float's 1e-308
# lose digits, and underflow to 0 for y near 1e-160)
_TSS_NORMAL = 1e-200


def sem_floor(curve: TransferCurve) -> float | None:
    """The SEM floor (y unit) described in :mod:`biorate.fitting`'s docstring, or None if the curve
    has no positive SEM (then it is fitted unweighted)."""
    if curve.y_sem is None or not np.any(curve.y_sem > 0):
        return None
    s = curve.y_sem
    floor = max(0.1 * float(np.median(s[s > 0])), 1e-3 * float(np.ptp(curve.y)))
    p = curve.protocol or {}
    try:
        counted = float(p["duration_s"])  # the measured window: the transient is not in it
        trials = float(p.get("trials") or 1)
        if curve.measure == "fi" and counted > 0 and trials >= 1:
            floor = max(floor, 1.0 / (trials * counted))
    except (KeyError, TypeError, ValueError):
        pass
    return floor


def goodness(y: np.ndarray, f: np.ndarray, sigma: np.ndarray, k: int) -> dict[str, float]:
    """``{chi2, redchi}`` (weighted by ``sigma``), ``{r2, rmse}`` (unweighted), ``{aic, bic}`` of
    model values ``f`` with ``k`` parameters for data ``y`` (the :class:`Fit` fields of the same
    names)."""
    n = y.size
    r = (y - f) / sigma
    chi2 = float(np.sum(r * r))
    dof = n - k
    redchi = chi2 / dof
    rss = float(np.sum((y - f) ** 2))
    rmse = math.sqrt(rss / n)
    tss = float(np.sum((y - y.mean()) ** 2))
    if not tss >= _TSS_NORMAL:  # squares of tiny values lose digits or underflow to 0: R² is
        s = float(np.max(np.abs(y))) or 1.0  # scale-free, so take it on y scaled to O(1)
        tss, rss = float(np.sum(((y - y.mean()) / s) ** 2)), float(np.sum(((y - f) / s) ** 2))
    if tss > 0:
        r2 = 1.0 - rss / tss
    else:  # constant data (refused before a fit; here for a fit made in code): R² undefined
        r2 = 1.0 if rss == 0 else 0.0
    # the scale-free Gaussian likelihood: compare only between fits of the same data
    ll = n * math.log(max(chi2, 1e-300) / n)
    aic, bic = ll + 2 * k, ll + k * math.log(n)
    return {"chi2": chi2, "redchi": redchi, "r2": r2, "rmse": rmse, "aic": aic, "bic": bic}


def covariance(res, dof: int, weighted: bool, scale: np.ndarray,
               names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, float], bool]:  # fmt: skip
    """``(cov, stderr, singular)`` in the parameters' units, from the weighted Jacobian ``res.jac``
    and residuals ``res.fun`` at the optimum in normalized units (``scale``: each parameter's unit
    in them). The pseudo-inverse is taken via SVD, as curve_fit does, so that a rank-deficient J
    gives inf rather than garbage."""
    J = res.jac
    _, sv, vt = np.linalg.svd(J, full_matrices=False)
    threshold = np.finfo(float).eps * max(J.shape) * (sv[0] if sv.size else 0.0)
    singular = bool(np.any(sv <= threshold))
    sv_inv = np.where(sv > threshold, 1.0 / np.where(sv > threshold, sv, 1.0), 0.0)
    cov_n = (vt.T * sv_inv**2) @ vt
    redchi_n = float(np.sum(res.fun**2)) / dof  # = redchi when weighted; in normalized y^2 if not
    if weighted:
        factor = max(1.0, redchi_n)  # absolute SEMs, widened by the Birge ratio when redchi > 1
    else:
        factor = redchi_n  # no SEMs: the scatter itself sets the error scale
    cov_n = cov_n * factor
    cov = cov_n * np.outer(scale, scale)
    if singular:
        cov[:] = np.inf
    stderr = {p: float(math.sqrt(cov[i, i])) if np.isfinite(cov[i, i]) and cov[i, i] >= 0
              else math.inf for i, p in enumerate(names)}  # fmt: skip
    return cov, stderr, singular


def flag(form: Form, res, bounds: tuple[np.ndarray, np.ndarray], scale: np.ndarray,
         params: dict[str, float], stats: dict[str, float], weighted: bool,
         singular: bool) -> tuple[list[str], list[str]]:  # fmt: skip
    """``(flags, messages)``: not_converged, at_bound:<param> (``bounds``: lower and upper in the
    normalized units of ``res.x``), singular_covariance, low_r2 and high_redchi, each with its
    reason. ``singular`` includes infinite standard errors."""
    r2, redchi = stats["r2"], stats["redchi"]
    flags: list[str] = []
    messages: list[str] = []
    if not res.status > 0:
        flags.append("not_converged")
        messages.append(f"{form.name}: the optimizer did not converge ({res.message})")
    lb, ub = bounds
    p_n = res.x
    for i, p in enumerate(form.params):
        near = 1e-6 * (ub[i] - lb[i])
        if res.active_mask[i] != 0 or p_n[i] - lb[i] <= near or ub[i] - p_n[i] <= near:
            side = "lower" if p_n[i] - lb[i] <= ub[i] - p_n[i] else "upper"
            flags.append(f"at_bound:{p}")
            messages.append(
                f"{form.name}: {p} = {params[p]:.4g} stopped at its {side} bound "
                f"({(lb if side == 'lower' else ub)[i] * scale[i]:.4g}): the data do not "
                f"determine it"
            )
    if singular:
        flags.append("singular_covariance")
        messages.append(f"{form.name}: the covariance is singular (parameters not identifiable); "
                        f"standard errors are infinite")  # fmt: skip
    if not r2 >= R2_MIN:
        flags.append("low_r2")
        messages.append(f"{form.name}: R² = {r2:.4f} is below {R2_MIN}")
    if weighted and redchi > REDCHI_MAX:
        flags.append("high_redchi")
        messages.append(
            f"{form.name}: reduced χ² = {redchi:.3g} > {REDCHI_MAX:g}: the residuals exceed "
            f"the SEMs (the form misses structure, or the SEMs are too small); standard errors "
            f"were widened by sqrt(reduced χ²) = {math.sqrt(redchi):.3g}"
        )
    return flags, messages


def negative_rate(form: Form, params: dict[str, float], curve: TransferCurve) -> str | None:
    """Why the fitted curve of a rate (a firing or release rate, never negative) falls below 0 by
    more than noise (:data:`NEGATIVE_SEMS`, :data:`NEGATIVE_RANGE`) somewhere over the data's x
    range (the data's x and a fine grid between its ends), or None when it does not."""
    _, dim = parse_unit(curve.y_unit)
    lo = MEASURES[curve.measure][1].dims.get(dim, (None, None))[0]
    if dim != FREQUENCY or lo != 0:
        return None
    x = np.concatenate([curve.x, np.linspace(np.min(curve.x), np.max(curve.x), _NEGATIVE_PROBES)])
    with np.errstate(all="ignore"):
        f = form.value(x, params)
    sem = curve.y_sem[curve.y_sem > 0] if curve.y_sem is not None else np.empty(0)
    noise = max(NEGATIVE_SEMS * float(np.median(sem)) if sem.size else 0.0,
                NEGATIVE_RANGE * float(np.ptp(curve.y)))  # fmt: skip
    i = int(np.nanargmin(f)) if np.any(np.isfinite(f)) else 0
    if not f[i] < -noise:
        return None
    return (f"{form.name}: the fitted rate falls to {f[i]:.4g} {curve.y_unit} at x = {x[i]:.4g} "
            f"{curve.x_unit}, inside the data's x range: a rate is never negative, and noise "
            f"explains at most {noise:.3g} {curve.y_unit} below 0 ({NEGATIVE_SEMS:g} median SEMs "
            f"or {NEGATIVE_RANGE:.0%} of the curve's range)")  # fmt: skip
