"""Fit a transfer curve with a form of :mod:`biorate.forms` and export it as an activation.

``fit(curve, form="auto")`` does weighted least squares (Levenberg-Marquardt with the forms'
analytic Jacobians: MINPACK's through SciPy, redone with bounds by :func:`biorate._lsq.box_lm`
when it leaves them, from a few starts where a form's cost has several minima) and returns a
:class:`Fit` with the parameters, their standard errors and covariance, R², RMSE, reduced
chi-square, AIC and BIC, optional bootstrap confidence intervals, and flags for a poor fit.
``fit.activation()`` turns it into an :class:`~biorate.activation.Activation` a rate network can
use.

Statistics (``n`` points, ``k`` parameters, model values ``f_i``):

- weights: ``sigma_i = max(y_sem_i, floor)``. The floor keeps a silent level (SEM 0: every trial
  gave no spike) from getting infinite weight: it is the largest of 10 % of the median positive
  SEM, 0.1 % of the curve's range, and, for a measured f-I curve whose protocol is known, the rate
  resolution of one spike in all trials, ``1 / (trials * duration)`` (duration: the measured window, after the transient). A curve
  without SEMs (a theory curve, or a noise-free simulation whose trials all agree) is fitted
  unweighted (``sigma_i = 1`` in y units).
- ``chi2 = sum(((y_i - f_i)/sigma_i)^2)``, ``redchi = chi2 / (n - k)``.
- standard errors: the square roots of the covariance diagonal, ``cov = (J^T J)^-1`` with ``J`` the
  weighted Jacobian at the optimum. Weighted fits treat the SEMs as absolute but scale ``cov`` by
  ``redchi`` when ``redchi > 1`` (the Birge ratio: scatter beyond the SEMs, or a form that misses
  structure, widens the errors, never narrows them); unweighted fits always scale by ``redchi``.
- ``R² = 1 - sum((y - f)^2) / sum((y - mean(y))^2)`` and ``RMSE = sqrt(mean((y - f)^2))`` are
  unweighted, in y units.
- ``AIC = n ln(chi2/n) + 2k`` and ``BIC = n ln(chi2/n) + k ln(n)`` (the Gaussian likelihood with the
  scale of the errors fitted, as lmfit reports them), compared only between fits of the same data.
- ``bootstrap=N``: residual bootstrap (the standardized residuals, centred and scaled by
  sqrt(n/(n-k)) so that they carry the variance of the errors, resampled with replacement onto
  the best fit, each resample refitted) and 2.5/97.5 percentile intervals.

A poor fit is never silent: ``Fit.flags`` lists ``not_converged``, ``low_r2`` (R² < 0.95),
``at_bound:<param>`` (a parameter stopped at its bound: the data do not determine it),
``singular_covariance`` and ``high_redchi`` (redchi > 3 for a weighted fit; a warning that keeps
``ok``); ``Fit.ok`` is False for all but the last, and :meth:`Fit.report` prints each with a reason.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .activation import Activation
from .curve import TransferCurve
from .errors import CurveFileError, FitError
from .forms import FORMS, Form, get_form
from .io import jsonable as _jsonable

__all__ = [
    "Fit",
    "fit",
    "fit_form",
    "fit_status",
    "fit_ok",
    "sem_floor",
    "CRITERIA",
    "R2_MIN",
    "REDCHI_MAX",
    "SCHEMA",
]

SCHEMA = 1
R2_MIN = 0.95  # below this R² a fit is flagged ``low_r2``
REDCHI_MAX = 3.0  # above this reduced chi-square a weighted fit gets the ``high_redchi`` warning
_WARNING_ONLY = ("high_redchi",)


def fit_ok(flags: Sequence[str]) -> bool:
    """A fit is usable unless a flag other than a warning (``high_redchi``) is raised."""
    return not [f for f in flags if not f.startswith(_WARNING_ONLY)]


def fit_status(flags: Sequence[str]) -> str:
    """THE status of a fit, from its flags, wherever one is shown (``biorate fit``, the fit figure,
    the pipeline report, an activation's ``fit["status"]``):

    - ``"OK"``: no flags;
    - ``"OK, WARNING: high_redchi"``: only warnings (the residuals exceed the error bars; the fit is
      usable and its standard errors are widened);
    - ``"FLAGGED: low_r2, high_redchi"``: a poor fit (``ok`` is False): ``--strict`` refuses it,
      the pipeline does not train on it.
    """
    flags = list(flags)
    if not flags:
        return "OK"
    if fit_ok(flags):
        return "OK, WARNING: " + ", ".join(flags)
    return "FLAGGED: " + ", ".join(flags)


@dataclass(frozen=True, eq=False)
class Fit:
    """The result of fitting one form to one curve.

    ``params``, ``stderr`` and ``ci`` (bootstrap 95 % intervals, or None) are SI floats in the
    units :meth:`param_units` gives; ``cov`` has shape (k, k) in the order of ``form``'s parameters.
    ``chi2`` is dimensionless for a weighted fit and in (y unit)^2 for an unweighted one.
    ``candidates`` has one summary per form tried (``auto``): form, aic, aicc, bic, r2, redchi,
    flags, or the error that prevented the fit. ``criterion`` is what ``auto`` ranked them by
    (None for a fit of one named form).
    """

    form: str
    params: dict[str, float]
    stderr: dict[str, float]
    cov: np.ndarray
    n: int
    k: int
    chi2: float
    redchi: float
    r2: float
    rmse: float
    aic: float
    bic: float
    weighted: bool
    sigma: np.ndarray  # the per-point errors used as weights (y unit), shape (n,)
    floor: float | None  # the SEM floor (y unit), None when unweighted
    success: bool
    message: str
    nfev: int
    flags: tuple[str, ...]
    warnings: tuple[str, ...]
    curve: TransferCurve
    selection: str = "fixed"  # "fixed" or "auto"
    candidates: tuple[dict, ...] = ()
    ci: dict[str, tuple[float, float]] | None = None
    bootstrap: int = 0
    seed: int | None = None
    criterion: str | None = None
    extra: dict = field(default_factory=dict)

    # --- derived ----------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """True unless the fit is flagged poor (``high_redchi`` alone is only a warning)."""
        return fit_ok(self.flags)

    @property
    def status(self) -> str:
        """``"OK"``, ``"OK, WARNING: ..."`` or ``"FLAGGED: ..."`` (:func:`fit_status`)."""
        return fit_status(self.flags)

    @property
    def x(self) -> np.ndarray:
        return self.curve.x

    @property
    def y(self) -> np.ndarray:
        return self.curve.y

    @property
    def x_unit(self) -> str:
        return self.curve.x_unit

    @property
    def y_unit(self) -> str:
        return self.curve.y_unit

    @property
    def dof(self) -> int:
        return self.n - self.k

    @property
    def aicc(self) -> float | None:
        """AIC with Hurvich & Tsai's (1989) small-sample correction 2K(K+1)/(n-K-1), where
        K = k + 1 counts the error scale this AIC estimates from chi2 besides the k parameters;
        None (undefined) when n <= k + 2. Close to AIC when n >> k (161 levels, k = 4: +0.39)."""
        big_k, slack = self.k + 1, self.n - self.k - 2
        return self.aic + 2.0 * big_k * (big_k + 1) / slack if slack > 0 else None

    def param_units(self) -> dict[str, str]:
        return get_form(self.form).units(self.x_unit, self.y_unit)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted curve f(x); ``x`` in x unit (SI), any shape."""
        return get_form(self.form).value(np.asarray(x, dtype=float), self.params)

    def residuals(self) -> np.ndarray:
        """y - f(x) at the data, shape (n,), y unit."""
        return self.y - self.predict(self.x)

    # --- export -----------------------------------------------------------------------------
    def activation(self, name: str | None = None) -> Activation:
        """The fit as an :class:`Activation`, scaled so that the network sees a unit-free g(z).

        The scaling ``x = x_offset + x_scale*z``, ``y = r0 + y_scale*g`` is chosen per form
        (:attr:`biorate.forms.Form.canonical`) so that g is the textbook shape of order one:

        - sigmoid: x_offset = x_half, x_scale = width, y_scale = r_max: g(z) = 1/(1 + exp(-z));
        - tanh: the same, g(z) = 0.5*(1 + tanh z); erf: g(z) = 0.5*(1 + erf z);
        - hill: x_offset = 0, x_scale = x_half, y_scale = r_max: g(z) = z^n/(1 + z^n) for z > 0;
        - softplus: x_offset = x_th, x_scale = width, y_scale = gain*width: g(z) = log(1 + e^z);
        - threshold_linear: x_offset = x_th, x_scale = (top of the measured x) - x_th,
          y_scale = gain*x_scale: g(z) = max(0, z), with z = 1 at the top of the data.

        The activation's ``fit`` holds the statistics, and ``z_range``, the measured inputs in z
        (outside it the activation is an extrapolation).
        """
        form = get_form(self.form)
        x_offset, x_scale, y_scale = form.canonical(self.params, self.x)
        z = (self.x - x_offset) / x_scale
        model_name = (self.curve.model or {}).get("name") or self.curve.measure
        stats = {
            "r2": self.r2, "rmse": self.rmse, "chi2": self.chi2, "redchi": self.redchi,
            "aic": self.aic, "aicc": self.aicc, "bic": self.bic, "n": self.n,
            "weighted": self.weighted, "criterion": self.criterion,
            "stderr": dict(self.stderr), "ok": self.ok, "flags": list(self.flags),
            "status": self.status, "selection": self.selection, "z_range": [float(z.min()), float(z.max())],
        }  # fmt: skip
        if self.ci is not None:
            stats["ci95"] = {k: list(v) for k, v in self.ci.items()}
            stats["bootstrap"] = self.bootstrap
        if self.candidates:
            stats["candidates"] = [
                {k: c.get(k) for k in ("form", "aic", "aicc", "bic", "r2") if k in c}
                for c in self.candidates
            ]
        source = {
            "measure": self.curve.measure,
            "model": self.curve.model,
            "protocol": self.curve.protocol,
            "provenance": self.curve.provenance,
        }
        return Activation(
            form=self.form, params=dict(self.params), x_scale=x_scale, x_offset=x_offset,
            y_scale=y_scale, x_unit=self.x_unit, y_unit=self.y_unit, fit=_jsonable(stats),
            source=_jsonable(source), name=name or f"{model_name}_{self.form}",
        )  # fmt: skip

    def to_dict(self) -> dict:
        """A JSON-able summary (``kind: "fit"``, ``schema``), including the data and weights."""
        d = {
            "kind": "fit",
            "schema": SCHEMA,
            "form": self.form,
            "equation": get_form(self.form).equation,
            "selection": self.selection,
            "params": dict(self.params),
            "param_units": self.param_units(),
            "stderr": dict(self.stderr),
            "ci95": {k: list(v) for k, v in self.ci.items()} if self.ci is not None else None,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "covariance": self.cov,
            "n": self.n, "k": self.k, "dof": self.dof, "chi2": self.chi2, "redchi": self.redchi,
            "r2": self.r2, "rmse": self.rmse, "aic": self.aic, "aicc": self.aicc, "bic": self.bic,
            "criterion": self.criterion, "weighted": self.weighted, "sem_floor": self.floor,
            "success": self.success, "message": self.message, "nfev": self.nfev,
            "ok": self.ok, "status": self.status, "flags": list(self.flags),
            "warnings": list(self.warnings), "candidates": list(self.candidates),
            "curve": {
                "measure": self.curve.measure, "x_unit": self.x_unit, "y_unit": self.y_unit,
                "model": self.curve.model, "provenance": self.curve.provenance,
            },
            "data": {"x": self.x, "y": self.y, "sigma": self.sigma},
        }  # fmt: skip
        return _jsonable(d)

    def report(self) -> str:
        """Human-readable text: parameters with errors and units, statistics, model selection,
        and every flag with its reason."""
        units = self.param_units()
        model = (self.curve.model or {}).get("name", "?")
        weights = (f"weighted by SEM (floor {self.floor:.3g} {self.y_unit})" if self.weighted
                   else "unweighted (no SEM)")  # fmt: skip
        lines = [
            f"fit: {self.form}  y = {get_form(self.form).equation}",
            f"  data: {self.curve.measure} curve of model {model}, {self.n} points, "
            f"x in {self.x_unit}, y in {self.y_unit}, {weights}",
        ]
        form = get_form(self.form)
        width = max(len(form.label(p)) for p in self.params)
        for p, v in self.params.items():
            line = f"  {form.label(p):<{width}} = {v: .6g} ± {self.stderr[p]:.2g} {units[p]}"
            if self.ci is not None:
                lo, hi = self.ci[p]
                line += f"   95% CI [{lo:.6g}, {hi:.6g}]"
            lines.append(line)
        if self.ci is not None:
            lines.append(f"  (confidence intervals: {self.bootstrap} bootstrap resamples)")
        for p in self.params:
            if form.label(p) != p:  # a name that could mislead: say what it is
                lines.append(f"  note: {p} is the {form.describe(p)}")
        lines.append(
            f"  R² = {self.r2:.5f}   RMSE = {self.rmse:.4g} {self.y_unit}   "
            f"reduced χ² = {self.redchi:.3g} (dof {self.dof})   AIC = {self.aic:.2f}   "
            f"AICc = {format_criterion(self.aicc)}   BIC = {self.bic:.2f}"
        )
        if self.candidates:
            crit = self.criterion or "aic"
            label = CRITERIA[crit]
            lines.append(
                f"  model selection (lowest {label} wins; flagged fits only if none is OK):"
            )
            best = min((c[crit] for c in self.candidates if c.get(crit) is not None),
                       default=None)  # fmt: skip
            for c in sorted(self.candidates, key=lambda c: (c.get(crit) is None, c.get(crit))):
                if c.get("aic") is None:
                    lines.append(f"    {c['form']:<17} not fitted: {c.get('error')}")
                    continue
                if c.get(crit) is None:
                    lines.append(f"    {c['form']:<17} {label} undefined (n <= k + 2): not ranked")
                    continue
                mark = "  <- chosen" if c["form"] == self.form else ""
                note = f"  [{', '.join(c['flags'])}]" if c.get("flags") else ""
                lines.append(
                    f"    {c['form']:<17} {label} {c[crit]:10.2f} (Δ {c[crit] - best:7.2f})  "
                    f"AIC {c['aic']:10.2f}  AICc {format_criterion(c['aicc'], 10)}  BIC {c['bic']:10.2f}  "
                    f"R² {c['r2']:.5f}{note}{mark}"
                )
        lines.append(f"  status: {self.status}" + ("" if self.ok else "  (POOR FIT)"))
        for w in self.warnings:
            lines.append(f"  WARNING: {w}")
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike | None = None, **kw: Any):
        """Data with error bars, the fit, residuals and the parameter table (see
        :func:`biorate.fitplot.plot_fit`). Returns the matplotlib figure."""
        from .fitplot import plot_fit

        return plot_fit(self, path, **kw)


# --- input checks ---------------------------------------------------------------------------


def _as_curve(curve: TransferCurve | str | os.PathLike) -> TransferCurve:
    if isinstance(curve, TransferCurve):
        return curve
    if isinstance(curve, str | os.PathLike):
        return TransferCurve.load(curve)
    raise FitError(f"fit needs a TransferCurve or the path to one, got {type(curve).__name__}")


def _check_data(curve: TransferCurve) -> None:
    x, y = curve.x, curve.y
    bad = ~np.isfinite(y)
    if bad.any():
        raise FitError(f"y contains NaN or inf at {np.count_nonzero(bad)} of {y.size} points "
                       f"(first at x = {x[bad][0]:.4g} {curve.x_unit})")  # fmt: skip
    if curve.y_sem is not None:
        s = curve.y_sem
        if not np.all(np.isfinite(s)):
            raise FitError("y_sem contains NaN or inf")
        if np.any(s < 0):
            raise FitError("y_sem contains negative values")
    if np.unique(x).size < 2:
        raise FitError("x must have at least two distinct values")
    if np.all(y == 0):
        raise FitError(f"y is all zero: nothing to fit ({y.size} points; a silent neuron?)")
    if np.ptp(y) == 0:
        raise FitError(f"y is constant ({y[0]:.6g} {curve.y_unit} at all {y.size} points)")


def sem_floor(curve: TransferCurve) -> float | None:
    """The SEM floor (y unit) described in the module docstring, or None if the curve has no
    positive SEM (then it is fitted unweighted)."""
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


# --- one form -------------------------------------------------------------------------------


_TOL = 1e-12
_LM_NFEV = 40
# MINPACK's info code -> least_squares' status (1 gtol, 2 ftol, 3 xtol, 4 both, 0 budget spent)
_FROM_MINPACK = {1: 2, 2: 3, 3: 4, 4: 1, 5: 0}


def _kind_scales(form: Form, xs: float, ys: float) -> np.ndarray:
    table = {"x": xs, "y": ys, "y/x": ys / xs, "1": 1.0, "1/y": 1.0 / ys}
    return np.array([table[k] for k in form.kinds])


# positive parameters optimized as their logarithms: the LIF forms' c and tau trade off along the
# curved valley tau*c = const (and gamma runs towards 0 on a hard threshold); in logs the valley
# is straight and the solvers walk it in a few steps instead of hundreds
_LOG_PARAMS = frozenset({"c", "tau", "gamma"})

# parameters whose bounds stand for limits a curve can reach, not for a fit gone astray: the LIF
# forms' c -> 0 (a perfect integrator, tau*c fixed) and soft_lif's gamma -> 0 (the hard threshold).
# Forms with them go straight to the bounded solver: the unbounded one would run past the bound
# on most curves (about 7 of 10 benchmark f-I curves end on c's bound) and be thrown away.
_LIMIT_PARAMS = frozenset({"c", "gamma"})


def _solve(form, xn, yn, sn, p0, lb, ub):
    """Minimize the weighted residuals in normalized units; returns an OptimizeResult with ``x``,
    ``jac``, ``cost``, ``status`` and ``active_mask`` in those units.

    MINPACK's Levenberg-Marquardt (SciPy's ``leastsq``, unbounded) runs first:
    where its optimum lies inside the bounds it is also the bounded optimum. Only when it leaves
    the bounds (a width turning negative, a parameter running away), fails or has not converged
    within a few dozen evaluations per parameter is the fit redone with bounds by
    :func:`biorate._lsq.box_lm` (Levenberg-Marquardt with an active set), which forms with a
    parameter in :data:`_LIMIT_PARAMS` use from the start. Parameters in :data:`_LOG_PARAMS` are
    solved for as logarithms (the same optimum, reached faster).
    """
    from scipy.optimize import OptimizeResult, leastsq

    from ._lsq import box_lm

    logs = np.array([p in _LOG_PARAMS for p in form.params])
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
        if not any(p in _LIMIT_PARAMS for p in form.params) and np.isfinite(resid(q0)).all():
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
            res = box_lm(resid, jac, q0, qlb, qub, max_nfev=200 * k, **tol)
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

            res = box_lm(resid_fj, jac_fj, q0, qlb, qub, max_nfev=200 * k, **tol)
        res.x = to_p(res.x)
        res.jac = jac_p(res.x)  # the covariance is taken in the parameters themselves
    return res


# forms whose value has a corner at x_th: their cost has a kink wherever the threshold crosses a
# data point, and a local minimum between each pair of kinks. Their fits also start from the
# threshold 3 % of the x range lower (and, for threshold_linear, higher). The LIF rate rises with
# infinite slope at threshold, so for lif each data point the threshold would cross is a cusp of
# the cost that no gradient step crosses: its fit walks across them (:func:`_walk_threshold`).
_HARD_THRESHOLD = frozenset({"lif", "threshold_linear"})
_CUSP_THRESHOLD = frozenset({"lif"})


def _starts(form: Form, p0: np.ndarray, x_range: float) -> list[np.ndarray]:
    """The guess plus a few perturbed starts, for forms whose guess can sit in a poor basin."""
    starts = [p0]
    if form.name in _HARD_THRESHOLD:
        i = form.params.index("x_th")
        for dx in (-0.03,) if form.name in _CUSP_THRESHOLD else (-0.03, 0.03):
            p = p0.copy()
            p[i] += dx * x_range
            starts.append(p)
    for name in ("width", "gamma"):  # the sigmoids' and softplus' width, soft_lif's smoothing
        if name not in form.params:
            continue
        i = form.params.index(name)
        for factor in (4.0, 0.25):
            p = p0.copy()
            p[i] *= factor
            starts.append(p)
    if "gamma" in form.params:  # soft_lif: c and tau trade off; start again further up the valley
        i = form.params.index("c")
        p = p0.copy()
        p[i] *= 5.0
        starts.append(p)
    if form.name == "hill":
        i = form.params.index("n")
        for n in (1.0, 5.0):
            p = p0.copy()
            p[i] = n
            starts.append(p)
    return starts


def _walk_threshold(form, xn, yn, sn, best, lb, ub):
    """Walk a fit across the cusps of its cost at the data points: refit with x_th held inside the
    next interval between data points below, and on while that lowers the cost; if the first step
    down does not, the same upwards. Each refit is smooth (the set of points above threshold is
    fixed inside an interval). On 54 noisy Siegert curves (tau_m 12-28 ms, sigma 1.5-3.5 mV) the
    fit then reaches the best optimum that 41 starts spread over the thresholds find in 53, where
    the starts alone reached it in 37 (Δχ² up to 43)."""
    i = form.params.index("x_th")
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
    """Converged, off the bounds, and leaving less than 10 % of the variance unexplained. soft_lif
    resting on the lower bound of gamma counts as off the bounds: that bound stands for the hard
    threshold (the lif form), a limit soft_lif reaches smoothly, not for a start gone astray. (The
    lower bound of c, the perfect-integrator limit, does not: there soft_lif's start further up
    the c valley can find a better optimum; lif's other starts and walk run whatever this says.)"""
    limits = np.array([p == "gamma" for p in form.params])
    stuck = (res.active_mask != 0) & ~(limits & (res.active_mask == -1))
    if res.status <= 0 or np.any(stuck):
        return False
    rss = float(np.sum((res.fun * sn) ** 2))
    return rss < 0.1 * float(np.sum((yn - yn.mean()) ** 2))


def fit_form(curve: TransferCurve, form: str | Form, *, floor: float | None = None,
             p0: dict[str, float] | None = None) -> Fit:  # fmt: skip
    """Fit one form to ``curve`` (checked beforehand by :func:`fit`). ``floor`` overrides the SEM
    floor; ``p0`` the starting values. Raises :class:`FitError` if the form cannot be fitted."""
    form = form if isinstance(form, Form) else get_form(form)
    x, y = curve.x, curve.y
    n, k = x.size, form.k
    if n <= k:
        raise FitError(f"form {form.name!r} has {k} parameters and needs at least {k + 1} "
                       f"points; the curve has {n}")  # fmt: skip
    floor = sem_floor(curve) if floor is None else floor
    weighted = floor is not None and curve.y_sem is not None
    sigma = np.maximum(curve.y_sem, floor) if weighted else np.ones_like(y)

    # fit in normalized units (x/xs, y/ys, all O(1)): parameters in amperes (1e-10) and hertz (100)
    # would otherwise differ by 12 orders of magnitude. Every form is equivariant under this scaling.
    xs, ys = float(np.max(np.abs(x))), float(np.max(np.abs(y)))
    scale = _kind_scales(form, xs, ys)
    xn, yn, sn = x / xs, y / ys, sigma / ys if weighted else np.ones_like(y)
    b = form.bounds(xn, yn)
    lb = np.array([b[p][0] for p in form.params])
    ub = np.array([b[p][1] for p in form.params])
    guess = form.guess(xn, yn) if p0 is None else {p: p0[p] / s for p, s in
                                                    zip(form.params, scale, strict=True)}  # fmt: skip
    start = np.array([guess[p] for p in form.params])
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
        if p0 is not None:
            break
        if form.name in _HARD_THRESHOLD and len(tried) < 3:
            # the neighbouring thresholds are tried however good the first fit looks (a kinked
            # cost can hold a good-looking fit in a poor basin): the one below, and the one above
            # (threshold_linear) only if the one below found no better basin
            if len(tried) == 1 or best is first_best:
                continue
            break
        if agrees or (best is not None and _looks_good(best, yn, sn, form)):
            break
    if form.name in _CUSP_THRESHOLD and p0 is None and best is not None:
        best = _walk_threshold(form, xn, yn, sn, best, lb, ub)
    if best is None:
        raise FitError(f"form {form.name!r}: the fit produced NaN (data out of the form's range?)")
    res = best
    p_n = res.x
    params = {p: float(v * s) for p, v, s in zip(form.params, p_n, scale, strict=True)}
    f = form.value(x, params)
    r = (y - f) / sigma
    chi2 = float(np.sum(r * r))
    dof = n - k
    redchi = chi2 / dof
    rss = float(np.sum((y - f) ** 2))
    tss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - rss / tss
    rmse = math.sqrt(rss / n)
    # the scale-free Gaussian likelihood: compare only between fits of the same data
    ll = n * math.log(max(chi2, 1e-300) / n)
    aic, bic = ll + 2 * k, ll + k * math.log(n)

    # covariance in normalized units from the weighted Jacobian at the optimum (pseudo-inverse via
    # SVD, as curve_fit does, so that a rank-deficient J gives inf rather than garbage)
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
              else math.inf for i, p in enumerate(form.params)}  # fmt: skip

    flags: list[str] = []
    messages: list[str] = []
    success = bool(res.status > 0)
    if not success:
        flags.append("not_converged")
        messages.append(f"{form.name}: the optimizer did not converge ({res.message})")
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
    if singular or not all(math.isfinite(v) for v in stderr.values()):
        flags.append("singular_covariance")
        messages.append(f"{form.name}: the covariance is singular (parameters not identifiable); "
                        f"standard errors are infinite")  # fmt: skip
    if not r2 >= R2_MIN:
        flags.append("low_r2")
        messages.append(f"{form.name}: R² = {r2:.4f} is below {R2_MIN}")
    if weighted and redchi > REDCHI_MAX:
        flags.append("high_redchi")
        messages.append(
            f"{form.name}: reduced χ² = {redchi:.3g} > {REDCHI_MAX:g}: the residuals exceed the "
            f"SEMs (the form misses structure, or the SEMs are too small); standard errors were "
            f"widened by sqrt(reduced χ²) = {math.sqrt(redchi):.3g}"
        )
    return Fit(
        form=form.name, params=params, stderr=stderr, cov=cov, n=n, k=k, chi2=chi2,
        redchi=redchi, r2=r2, rmse=rmse, aic=aic, bic=bic, weighted=weighted, sigma=sigma,
        floor=floor if weighted else None, success=success, message=str(res.message),
        nfev=int(res.nfev), flags=tuple(flags), warnings=tuple(messages), curve=curve,
    )  # fmt: skip


def format_criterion(value: float | None, width: int = 0) -> str:
    """A criterion for the report: two decimals, or "n/a" where it is undefined."""
    return f"{value:{width}.2f}" if value is not None else f"{'n/a':>{width}}"


def _summary(f: Fit) -> dict:
    return {"form": f.form, "aic": f.aic, "aicc": f.aicc, "bic": f.bic, "r2": f.r2,
            "redchi": f.redchi, "ok": f.ok, "flags": list(f.flags)}  # fmt: skip


def _bootstrap(best: Fit, n_boot: int, seed: int | None) -> tuple[dict, int]:
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
        curve = dataclasses.replace(best.curve, y=y_star)
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
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int | np.integer) or bootstrap < 0:
        raise FitError(f"bootstrap must be a non-negative integer, got {bootstrap!r}")
    if criterion is not None and (not isinstance(criterion, str) or criterion not in CRITERIA):
        raise FitError(f"unknown criterion {criterion!r} (choose from {', '.join(CRITERIA)})")
    if criterion is not None and form != "auto":
        raise FitError(
            f"criterion ranks the forms of form='auto'; form={form!r} has nothing to rank"
        )
    if form == "auto":
        criterion = criterion or "aic"
        names = list(forms) if forms else [n for n, f in FORMS.items() if f.suits(curve.measure)]
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
        best = _select(usable, criterion)
        selection = "auto"
    else:
        best = fit_form(curve, get_form(form))
        candidates, selection = [], "fixed"
    ci, n_ok = (None, 0)
    if bootstrap:
        ci, n_ok = _bootstrap(best, int(bootstrap), seed)
    return dataclasses.replace(best, selection=selection, candidates=tuple(candidates), ci=ci,
                               bootstrap=n_ok, seed=seed, criterion=criterion)  # fmt: skip


# a lead this large in AIC (or AICc, BIC) is "very strong" evidence (Burnham & Anderson 2002)
AIC_STRONG = 10.0
CRITERIA = {"aic": "AIC", "aicc": "AICc", "bic": "BIC"}  # what fit(..., "auto") may rank by


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


def load_fit_curve(path: str | os.PathLike) -> TransferCurve:
    """Read a transfer curve for fitting; any other kind of JSON raises :class:`CurveFileError`."""
    path = Path(path)
    try:
        return TransferCurve.load(path)
    except CurveFileError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise CurveFileError(f"{path}: malformed transfer curve ({exc})") from None
