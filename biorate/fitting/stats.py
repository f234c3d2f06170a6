"""The statistics of a fit: weights (the SEM floor), goodness (chi2, R², RMSE, AIC, BIC), the
covariance and standard errors, and the flags that keep a poor fit from passing silently.

The formulas are given in :mod:`biorate.fitting`'s docstring. NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from ..curve import TransferCurve
from ..forms import Form

__all__ = ["sem_floor", "goodness", "covariance", "flag", "R2_MIN", "REDCHI_MAX"]

R2_MIN = 0.95  # below this R² a fit is flagged ``low_r2``
REDCHI_MAX = 3.0  # above this reduced chi-square a weighted fit gets the ``high_redchi`` warning


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
    # R² from the data scaled to O(1): the ratio is scale-free, and sums of squares of values
    # near 1e-160 or below underflow to 0 (tss = 0 would divide by zero)
    s = float(np.max(np.abs(y))) or 1.0
    tss_n = float(np.sum(((y - y.mean()) / s) ** 2))
    rss_n = float(np.sum(((y - f) / s) ** 2))
    if tss_n > 0:
        r2 = 1.0 - rss_n / tss_n
    else:  # constant data (refused before a fit; here for a fit made in code): R² undefined
        r2 = 1.0 if rss_n == 0 else 0.0
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
