"""The entry point :func:`fit`: check the curve, fit one named form or, with ``"auto"``, every form
that suits the curve and select by AIC, AICc or BIC (:func:`_select`), then bootstrap if asked."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..curve import TransferCurve
from ..errors import CurveFileError, FitError
from ..forms import FORMS, get_form
from ..schema import is_integer, short
from .form_fit import bootstrap_ci, fit_form
from .result import _WARNING_ONLY, CRITERIA, Fit
from .stats import sem_floor

__all__ = ["fit", "AIC_STRONG", "CRITERIA", "load_fit_curve"]


def fit(curve: TransferCurve | str | os.PathLike, form: str = "auto", *, bootstrap: int = 0,
        seed: int | None = None, forms: list[str] | None = None,
        criterion: str | None = None) -> Fit:  # fmt: skip
    """Fit ``curve`` (a :class:`TransferCurve` or the path to its JSON) with ``form``.

    Parameters
    ----------
    form : a name of :data:`biorate.forms.FORMS` (``"sigmoid"``, ``"tanh"``, ``"erf"``, ``"hill"``,
        ``"softplus"``, ``"threshold_linear"``, ``"lif"``, ``"soft_lif"``) or ``"auto"``: fit every
        form that suits the curve's measure (:meth:`biorate.forms.Form.suits`; the LIF forms only
        on firing-rate curves), or those in ``forms``, and keep the lowest ``criterion`` among the
        fits that are :attr:`Fit.ok` (among all converged fits if none is); every form's AIC, AICc
        and BIC are kept in ``candidates``.
    criterion : what ``auto`` ranks the forms by: ``"aic"`` (the default), ``"aicc"``
        (small-sample AIC, for short curves; forms with n <= k + 2 are not ranked) or ``"bic"``
        (penalises parameters more as n grows). Only with ``form="auto"``.
    bootstrap : number of residual-bootstrap resamples for percentile 95 % intervals (0: none).
    seed : seed of the bootstrap's random generator.

    Raises
    ------
    FitError : unknown form or criterion, too few points for the form, y all zero or constant,
        NaN/inf, or no form could be fitted.
    CurveFileError : a path to a malformed or wrong-kind JSON.
    """
    curve = _as_curve(curve)
    _check_data(curve)
    if not isinstance(form, str):
        raise FitError(f"form must be a form's name or 'auto', got {short(form)}")
    if forms is not None and (isinstance(forms, str) or not isinstance(forms, list | tuple)
                              or not forms or not all(isinstance(f, str) for f in forms)):  # fmt: skip
        raise FitError(f"forms must be a non-empty list of form names (or None: every form "
                       f"that suits the curve), got {short(forms)}")  # fmt: skip
    _check_options(form, bootstrap, criterion, seed)
    if bootstrap * len(curve.x) > MAX_BOOTSTRAP_WORK:
        raise FitError(f"bootstrap {bootstrap} on a {len(curve.x):,}-point curve: each resample is "
                       f"a fit of its own, and resamples x points may be at most "
                       f"{MAX_BOOTSTRAP_WORK:,} (about 2 minutes); use at most "
                       f"{MAX_BOOTSTRAP_WORK // len(curve.x):,} resamples")  # fmt: skip
    if form == "auto":
        criterion = criterion or "aic"
        names = list(forms) if forms else [n for n, f in FORMS.items() if f.suits(curve.measure)]
        best, candidates, others = _fit_auto(curve, names, criterion)
        selection = "auto"
    else:
        chosen = get_form(form)
        if not chosen.suits(curve.measure):
            raise FitError(f"form {form!r} describes {', '.join(chosen.measures or ())} curves, "
                           f"not a {curve.measure!r} curve (its parameters would mean nothing)")  # fmt: skip
        best = fit_form(curve, chosen)
        candidates, others, selection = [], {}, "fixed"
    ci, n_ok = (None, 0)
    if bootstrap:
        ci, n_ok = bootstrap_ci(best, int(bootstrap), seed)
    return dataclasses.replace(best, selection=selection, candidates=tuple(candidates), ci=ci,
                               bootstrap=n_ok, seed=seed, criterion=criterion,
                               alternatives=others)  # fmt: skip


# resamples: each is a fit of its own, ~10 ms on a 41-point curve here (500 took 6.7 s), more on
# longer curves: at most 10,000 (about 2 minutes), and at most MAX_BOOTSTRAP_WORK resamples x
# curve points (10,000 x 41; a 10,000-point curve takes 41), so that no bootstrap runs for hours
MAX_BOOTSTRAP = 10_000
MAX_BOOTSTRAP_WORK = 410_000


def _check_options(form: str, bootstrap: int, criterion: str | None, seed: Any) -> None:
    if seed is not None and (not is_integer(seed) or not 0 <= seed < 2**32):
        raise FitError(f"seed must be an integer in [0, 2**32) or None, got {seed!r}")
    if not is_integer(bootstrap) or bootstrap < 0:
        raise FitError(f"bootstrap must be a non-negative integer, got {bootstrap!r}")
    if bootstrap > MAX_BOOTSTRAP:
        raise FitError(f"bootstrap {bootstrap}: each resample is a fit of its own; at most "
                       f"{MAX_BOOTSTRAP:,} (about 2 minutes)")  # fmt: skip
    if criterion is not None and (not isinstance(criterion, str) or criterion not in CRITERIA):
        raise FitError(f"unknown criterion {criterion!r} (choose from {', '.join(CRITERIA)})")
    if criterion is not None and form != "auto":
        raise FitError(
            f"criterion ranks the forms of form='auto'; form={form!r} has nothing to rank"
        )


def _fit_auto(curve: TransferCurve, names: list[str],
              criterion: str) -> tuple[Fit, list[dict], dict[str, dict[str, float]]]:  # fmt: skip
    """Fit every form in ``names`` with the same weights and select one: ``(the chosen fit, a
    summary per form, {form: params} of every form fitted)``."""
    for name in names:
        get_form(name)
    results, candidates = [], []
    floor = sem_floor(curve)  # the same weights for every form
    for name in names:
        try:
            r = fit_form(curve, name, floor=floor)
        except FitError as exc:
            candidates.append({"form": name, "aic": None, "aicc": None, "bic": None,
                               "error": str(exc)})  # fmt: skip
            continue
        results.append(r)
        candidates.append(_summary(r))
    usable = [r for r in results if r.success and math.isfinite(r.aic)]
    if not usable:
        reasons = "; ".join(f"{c['form']}: {c.get('error') or ', '.join(c['flags'])}"
                            for c in candidates)  # fmt: skip
        raise FitError(f"no form could be fitted ({reasons})")
    usable = [r for r in usable if getattr(r, criterion) is not None]
    if not usable:
        raise FitError(f"{CRITERIA[criterion]} is undefined for every form on {curve.x.size} "
                       "points (it needs n > k + 2); use criterion 'aic' or 'bic'")  # fmt: skip
    others = {r.form: dict(r.params) for r in results}
    return _select(usable, criterion), candidates, others


def _summary(f: Fit) -> dict:
    return {"form": f.form, "aic": f.aic, "aicc": f.aicc, "bic": f.bic, "r2": f.r2,
            "redchi": f.redchi, "ok": f.ok, "flags": list(f.flags)}  # fmt: skip


# a lead this large in AIC (or AICc, BIC) is "very strong" evidence (Burnham & Anderson 2002)
AIC_STRONG = 10.0


def _select(usable: list[Fit], criterion: str = "aic") -> Fit:
    """The auto choice: the lowest ``criterion`` (AIC, AICc or BIC) among fits with no poor-fit
    flag, unless a fit whose only flags are parameters at their bounds (the data do not pin those
    parameters down, e.g. soft_lif's c and tau trade off on a curve that does not reach saturation)
    beats every clean fit by more than :data:`AIC_STRONG` in that criterion: a shape that follows
    the data within their errors is not passed over for one that misses it. The chosen fit keeps
    its flags. An exact tie (sigmoid and tanh are the same family) goes to the form listed first."""

    def score(r: Fit) -> float:
        return getattr(r, criterion)

    def lowest(fits: list[Fit]) -> Fit | None:
        if not fits:
            return None
        low = min(score(r) for r in fits)
        return next(r for r in fits if score(r) <= low + 1e-6)

    clean = lowest([r for r in usable if r.ok])
    bounded = lowest([r for r in usable if not r.ok and all(
        f.startswith(("at_bound:",) + _WARNING_ONLY) for f in r.flags)])  # fmt: skip
    if clean is None:
        return bounded or lowest(usable)  # type: ignore[return-value]
    if bounded is not None and score(bounded) < score(clean) - AIC_STRONG:
        return bounded
    return clean


# --- input checks ----------------------------------------------------------------------------------


def _as_curve(curve: TransferCurve | str | os.PathLike) -> TransferCurve:
    if isinstance(curve, TransferCurve):
        return curve
    if isinstance(curve, str | os.PathLike):
        return TransferCurve.load(curve)
    raise FitError(f"fit needs a TransferCurve or the path to one, got {type(curve).__name__}")


# the most points a curve may have to be fitted: far beyond any measured curve (the pipeline's have
# 20-51 levels), below sizes whose auto fit runs for minutes (300,000 points ran past a minute)
MAX_FIT_POINTS = 10_000

# A y range that is no curve: below MIN_Y_RANGE (in y's unit: a rate of 1e-100 Hz, where sums of
# squares of the residuals underflow to 0 and chi2, R² and the covariance lose every digit), or
# below REL_Y_RANGE of the largest |y| (float64 rounding of a constant: 1e-12 leaves 4 of its ~16
# digits). Both are taken as constant y and refused.
MIN_Y_RANGE = 1e-100
REL_Y_RANGE = 1e-12


def _check_data(curve: TransferCurve) -> None:
    x, y = curve.x, curve.y
    bad = ~np.isfinite(y)
    if bad.any():
        raise FitError(f"y contains NaN or inf at {np.count_nonzero(bad)} of {y.size} points "
                       f"(first at x = {x[bad][0]:.4g} {curve.x_unit})")  # fmt: skip
    if curve.y_sem is not None:
        s = curve.y_sem
        bad = ~np.isfinite(s)
        if bad.any():
            raise FitError(f"y_sem is missing (null), NaN or inf at {np.count_nonzero(bad)} of "
                           f"{s.size} points (first at x = {x[bad][0]:.4g} {curve.x_unit}); "
                           "give every point's SEM, or none (an unweighted fit)")  # fmt: skip
        if np.any(s < 0):
            raise FitError("y_sem contains negative values")
    if x.size > MAX_FIT_POINTS:
        raise FitError(f"a curve of {x.size:,} points: a fit takes at most {MAX_FIT_POINTS:,} "
                       "(each form's search evaluates it thousands of times); average the "
                       "trials or take fewer levels")  # fmt: skip
    if np.unique(x).size < 2:
        raise FitError("x must have at least two distinct values")
    if np.all(y == 0):
        raise FitError(f"y is all zero: nothing to fit ({y.size} points; a silent neuron?)")
    span, top = float(np.ptp(y)), float(np.max(np.abs(y)))
    if span == 0:
        raise FitError(f"y is constant ({y[0]:.6g} {curve.y_unit} at all {y.size} points)")
    if span < MIN_Y_RANGE or span < REL_Y_RANGE * top:
        raise FitError(f"y is constant to within {span:.3g} {curve.y_unit} (from {np.min(y):.6g} to "
                       f"{np.max(y):.6g} {curve.y_unit}): a range below {MIN_Y_RANGE:g} "
                       f"{curve.y_unit} or {REL_Y_RANGE:g} of |y| is rounding, not a curve to "
                       "fit")  # fmt: skip


def load_fit_curve(path: str | os.PathLike) -> TransferCurve:
    """Read a transfer curve for fitting; any other kind of JSON raises :class:`CurveFileError`."""
    path = Path(path)
    try:
        return TransferCurve.load(path)
    except CurveFileError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise CurveFileError(f"{path}: malformed transfer curve ({exc})") from None
