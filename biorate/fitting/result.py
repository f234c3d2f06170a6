"""The result of a fit: :class:`Fit` (parameters, errors, statistics, flags, candidates; its
report, JSON, activation and figure) and THE status of a fit from its flags (:func:`fit_status`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activation import Activation
from ..curve import TransferCurve
from ..forms import get_form
from ..io import jsonable as _jsonable

__all__ = ["Fit", "fit_ok", "fit_status", "format_criterion", "CRITERIA", "SCHEMA"]

SCHEMA = 1
_WARNING_ONLY = ("high_redchi",)
CRITERIA = {"aic": "AIC", "aicc": "AICc", "bic": "BIC"}  # what fit(..., "auto") may rank by


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
    (None for a fit of one named form). ``alternatives`` holds the parameters of every form
    ``auto`` fitted (``{form: params}``), so that a figure can draw the runners-up without refitting
    (:meth:`runners_up`); it is not written to files.
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
    alternatives: dict[str, dict[str, float]] = field(default_factory=dict)

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
            lines += self._report_selection()
        lines.append(f"  status: {self.status}" + ("" if self.ok else "  (POOR FIT)"))
        for w in self.warnings:
            lines.append(f"  WARNING: {w}")
        return "\n".join(lines)

    def _report_selection(self) -> list[str]:
        """The report's lines on model selection: every candidate, ranked."""
        crit = self.criterion or "aic"
        label = CRITERIA[crit]
        lines = [f"  model selection (lowest {label} wins; flagged fits only if none is OK):"]
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
                f"AIC {c['aic']:10.2f}  AICc {format_criterion(c['aicc'], 10)}  "
                f"BIC {c['bic']:10.2f}  R² {c['r2']:.5f}{note}{mark}"
            )
        return lines

    def runners_up(self, count: int = 2) -> list[dict]:
        """The next ``count`` forms by the selection criterion after an ``auto`` fit, best first:
        ``{"form", "criterion" (its label, "AIC"), "delta" (its lead over the chosen fit), "params"
        (None where the form's parameters are not at hand)}``; [] for a fit of one named form."""
        crit = self.criterion or "aic"
        best = getattr(self, crit)
        others = sorted((c for c in self.candidates if c.get(crit) is not None
                         and c["form"] != self.form), key=lambda c: c[crit])[:count]  # fmt: skip
        return [{"form": c["form"], "criterion": CRITERIA[crit], "delta": c[crit] - best,
                 "params": self.alternatives.get(c["form"])} for c in others]  # fmt: skip

    def plot(self, path: str | os.PathLike | None = None, **kw: Any):
        """Data with error bars, the fit, the runners-up, residuals and the parameter table (see
        :func:`biorate.plotting.plot_fit`; ``ax=`` draws on given axes). Returns the figure."""
        from ..plotting.fit import plot_fit  # matplotlib only when a figure is drawn

        return plot_fit(self, path, **kw)


def format_criterion(value: float | None, width: int = 0) -> str:
    """A criterion for the report: two decimals, or "n/a" where it is undefined."""
    return f"{value:{width}.2f}" if value is not None else f"{'n/a':>{width}}"
