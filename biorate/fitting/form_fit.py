"""Fitting one form to one curve, step by step: weights, normalized units, the search
(:func:`~biorate.fitting.solve.search`), statistics and flags (:mod:`biorate.fitting.stats`),
and the :class:`~biorate.fitting.result.Fit`; and the residual bootstrap that refits it."""

from __future__ import annotations

import copy
import math

import numpy as np

from ..curve import TransferCurve
from ..errors import FitError
from ..forms import Form, get_form
from .result import Fit
from .solve import search
from .stats import covariance, flag, goodness, negative_rate, sem_floor

__all__ = ["fit_form", "bootstrap_ci"]


def fit_form(curve: TransferCurve, form: str | Form, *, floor: float | None = None,
             p0: dict[str, float] | None = None) -> Fit:  # fmt: skip
    """Fit one form to ``curve`` (checked beforehand by :func:`~biorate.fitting.fit`). ``floor``
    overrides the SEM floor; ``p0`` the starting values. Raises :class:`FitError` if the form
    cannot be fitted."""
    form = form if isinstance(form, Form) else get_form(form)
    n, k = curve.x.size, form.k
    if n <= k:
        raise FitError(f"form {form.name!r} has {k} parameters and needs at least {k + 1} "
                       f"points; the curve has {n}")  # fmt: skip
    floor = sem_floor(curve) if floor is None else floor
    weighted = floor is not None and curve.y_sem is not None
    sigma = np.maximum(curve.y_sem, floor) if weighted else np.ones_like(curve.y)
    xn, yn, sn, scale = _normalize(form, curve.x, curve.y, sigma, weighted)
    b = form.bounds(xn, yn)
    lb = np.array([b[p][0] for p in form.params])
    ub = np.array([b[p][1] for p in form.params])
    guess = form.guess(xn, yn) if p0 is None else {p: p0[p] / s for p, s in
                                                    zip(form.params, scale, strict=True)}  # fmt: skip
    start = np.array([guess[p] for p in form.params])
    res = search(form, xn, yn, sn, start, lb, ub, fixed=p0 is not None)
    if res is None:
        raise FitError(f"form {form.name!r}: the fit produced NaN (data out of the form's range?)")
    params = {p: float(v * s) for p, v, s in zip(form.params, res.x, scale, strict=True)}
    stats = goodness(curve.y, form.value(curve.x, params), sigma, k)
    cov, stderr, singular = covariance(res, n - k, weighted, scale, form.params)
    singular = singular or not all(math.isfinite(v) for v in stderr.values())
    flags, messages = flag(form, res, (lb, ub), scale, params, stats, weighted, singular)
    if below := negative_rate(form, params, curve):
        flags.append("negative_rate")
        messages.append(below)
    return Fit(
        form=form.name, params=params, stderr=stderr, cov=cov, n=n, k=k, **stats, weighted=weighted, sigma=sigma, floor=floor if weighted else None,
        success=bool(res.status > 0), message=str(res.message), nfev=int(res.nfev),
        flags=tuple(flags), warnings=tuple(messages), curve=curve,
    )  # fmt: skip


def _normalize(form: Form, x: np.ndarray, y: np.ndarray, sigma: np.ndarray,
               weighted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``(xn, yn, sn, scale)``: the data in normalized units (x/xs, y/ys, all O(1)) and each
    parameter's unit in them. Parameters in amperes (1e-10) and hertz (100) would otherwise differ
    by 12 orders of magnitude; every form is equivariant under this scaling."""
    xs, ys = float(np.max(np.abs(x))), float(np.max(np.abs(y)))
    table = {"x": xs, "y": ys, "y/x": ys / xs, "1": 1.0, "1/y": 1.0 / ys}
    scale = np.array([table[k] for k in form.kinds])
    xn, yn, sn = x / xs, y / ys, sigma / ys if weighted else np.ones_like(y)
    return xn, yn, sn, scale


def bootstrap_ci(best: Fit, n_boot: int, seed: int | None) -> tuple[dict, int]:
    """Residual bootstrap: percentile 95 % intervals and the number of successful refits."""
    rng = np.random.default_rng(seed)
    f = best.predict(best.x)
    r = (best.y - f) / best.sigma
    # centred and inflated by sqrt(n/(n-k)): fitted residuals are smaller than the errors they
    # stand for (their squares sum to about n - k, not n), so resampling them as they are gives
    # intervals too narrow by sqrt((n-k)/n) (Davison & Hinkley 1997, sec. 6.2.3)
    r = (r - r.mean()) * np.sqrt(r.size / max(r.size - len(best.params), 1))
    samples = []
    for _ in range(n_boot):
        y_star = f + best.sigma * r[rng.integers(0, r.size, r.size)]
        if np.ptp(y_star) == 0:
            continue
        # a resample is the fit's own working data, not a measurement: it is not checked as a
        # curve is (a rate near 0 resamples below 0, and the checks cost more than the refit)
        curve = copy.copy(best.curve)
        object.__setattr__(curve, "y", y_star)
        try:
            refit = fit_form(curve, best.form, floor=best.floor, p0=best.params)
        except FitError:
            continue
        if refit.success:
            samples.append([refit.params[p] for p in best.params])
    if len(samples) < max(min(10, n_boot), n_boot // 2):
        raise FitError(f"bootstrap: only {len(samples)} of {n_boot} resamples could be refitted")
    a = np.array(samples)
    lo, hi = np.percentile(a, [2.5, 97.5], axis=0)
    return {p: (float(lo[i]), float(hi[i])) for i, p in enumerate(best.params)}, len(samples)
