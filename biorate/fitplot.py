"""Figures of fits and fitted activations (matplotlib with the Agg backend, imported lazily).

- :func:`plot_fit`: the data with SEM error bars, the fitted curve (and, after ``auto``, the
  runner-up forms), the residual panel and the parameter table.
- :func:`plot_activation`: how a network sees a fitted activation: the physical curve f(x), and the
  unit-free g(z) with its derivative g'(z), with the physical axes x = x_offset + x_scale*z and
  y = r0 + y_scale*g drawn beside z and g.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .plotting._figure import display_unit, save_figure

if TYPE_CHECKING:
    from .activation import Activation
    from .fitting import Fit

__all__ = ["plot_fit", "plot_activation"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(v: float, e: float | None = None) -> str:
    return f"{v:.4g}" if e is None else f"{v:.4g} ± {e:.2g}"


def plot_fit(fit: Fit, path: str | os.PathLike | None = None, *, title: str | None = None) -> Any:
    """Data (error bars: the SEM, or the floored weights), the fitted curve, residuals (in units of
    the weights when weighted) and the parameter table. Returns the figure (saved when ``path``)."""
    from .forms import get_form

    plt = _pyplot()
    xu, xf = display_unit(fit.x_unit)
    yu, yf = display_unit(fit.y_unit)
    fig = plt.figure(figsize=(9.5, 5.2))
    grid = fig.add_gridspec(2, 2, width_ratios=[2.3, 1], height_ratios=[3, 1], wspace=0.05,
                            hspace=0.08)  # fmt: skip
    ax = fig.add_subplot(grid[0, 0])
    axr = fig.add_subplot(grid[1, 0], sharex=ax)
    axt = fig.add_subplot(grid[:, 1])
    x, y = fit.x, fit.y
    xx = np.linspace(x.min(), x.max(), 400)
    err = fit.curve.y_sem if fit.weighted else None
    ax.errorbar(x / xf, y / yf, yerr=None if err is None else err / yf, fmt="o", ms=3.5,
                color="k", ecolor="0.5", capsize=2, label="data")  # fmt: skip
    ax.plot(xx / xf, fit.predict(xx) / yf, color="C3", lw=2, label=f"{fit.form} (best)")
    if fit.candidates:  # the next two by the selection criterion, for comparison
        from .fitting import CRITERIA, fit_form

        crit = fit.criterion or "aic"
        best = getattr(fit, crit)
        others = sorted((c for c in fit.candidates if c.get(crit) is not None
                         and c["form"] != fit.form), key=lambda c: c[crit])[:2]  # fmt: skip

        for i, c in enumerate(others):
            try:
                alt = fit_form(fit.curve, c["form"], floor=fit.floor)
            except Exception:  # noqa: BLE001 - a figure must not fail over a runner-up
                continue
            ax.plot(xx / xf, alt.predict(xx) / yf, ls="--", lw=1, color=f"C{i}",
                    label=f"{c['form']} (Δ{CRITERIA[crit]} {c[crit] - best:.1f})")  # fmt: skip
    ax.set_ylabel(f"{fit.curve.measure} output ({yu})")
    ax.legend(fontsize=8, loc="upper left")
    status = "" if not fit.flags else f"   {fit.status}"
    ax.set_title(title or f"{(fit.curve.model or {}).get('name', '')} {fit.curve.measure} curve: "
                 f"{fit.form} fit{status}", fontsize=10,
                 color="k" if fit.ok else "C3")  # fmt: skip
    plt.setp(ax.get_xticklabels(), visible=False)
    res = fit.residuals()
    if fit.weighted:
        axr.plot(x / xf, res / fit.sigma, "o", ms=3, color="k")
        axr.set_ylabel("resid. / σ")
        for level in (-2, 2):
            axr.axhline(level, color="0.7", lw=0.8, ls=":")
    else:
        axr.plot(x / xf, res / yf, "o", ms=3, color="k")
        axr.set_ylabel(f"resid. ({yu})")
    axr.axhline(0, color="C3", lw=1)
    axr.set_xlabel(f"input ({xu})")

    from .fitting import format_criterion

    axt.axis("off")
    units = fit.param_units()
    rows = []
    for p, v in fit.params.items():
        u = units[p]
        shown, factor = display_unit(u)
        text = _fmt(v / factor, fit.stderr[p] / factor)
        if fit.ci is not None:
            lo, hi = fit.ci[p]
            text += f"\n[{lo / factor:.4g}, {hi / factor:.4g}]"
        # a name that could mislead gets a mark, and its label below the table
        rows.append([p + (" *" if get_form(fit.form).label(p) != p else ""), text, shown])
    stats = [("R²", f"{fit.r2:.5f}"), ("RMSE", f"{fit.rmse / yf:.3g} {yu}"),
             ("red. χ²", f"{fit.redchi:.3g}"), ("AIC", f"{fit.aic:.2f}"),
             ("AICc", format_criterion(fit.aicc)),
             ("BIC", f"{fit.bic:.2f}"), ("n, k", f"{fit.n}, {fit.k}")]  # fmt: skip
    rows += [[a, b, ""] for a, b in stats]
    table = axt.table(cellText=rows, colLabels=["param", "value ± s.e." + (
        "\n95% CI" if fit.ci is not None else ""), "unit"], loc="center", cellLoc="left",
        colWidths=[0.28, 0.55, 0.2])  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.6 if fit.ci is None else 2.2)
    axt.set_title(get_form(fit.form).equation, fontsize=7.5)
    marked = [get_form(fit.form).label(p) for p in fit.params if get_form(fit.form).label(p) != p]
    if marked:
        axt.text(0.0, -0.02, "* " + "; ".join(marked), transform=axt.transAxes, fontsize=7.5,
                 va="top")  # fmt: skip
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_activation(act: Activation, path: str | os.PathLike | None = None, *,
                    curve: Any = None, z_lim: tuple[float, float] | None = None) -> Any:  # fmt: skip
    """How the network sees ``act``: left, the physical curve y = f(x) (with ``curve``'s data if
    given); right, g(z) and g'(z) against z, with the physical x on the top axis and the rate on the
    right axis, and the measured range of z shaded. Returns the figure (saved when ``path``)."""
    plt = _pyplot()
    lo, hi = z_lim or (-6.0, 6.0)
    if act.fit and act.fit.get("z_range") and z_lim is None:
        zr = act.fit["z_range"]
        lo, hi = min(lo, zr[0] - 1), max(hi, zr[1] + 1)
    z = np.linspace(lo, hi, 500)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.2))
    xu, xf = display_unit(act.x_unit)
    yu, yf = display_unit(act.y_unit)
    x = act.to_x(z)
    ax0.plot(x / xf, act.physical(x) / yf, color="C3", lw=2, label=f"fitted {act.form}")
    if curve is not None:
        ax0.errorbar(curve.x / xf, curve.y / yf,
                     yerr=None if curve.y_sem is None else curve.y_sem / yf, fmt="o", ms=3,
                     color="k", ecolor="0.5", label="data")  # fmt: skip
    ax0.set_xlabel(f"input x ({xu})")
    ax0.set_ylabel(f"output y ({yu})")
    ax0.set_title("physical curve y = f(x)", fontsize=10)
    ax0.legend(fontsize=8)

    ax1.plot(z, act(z), color="C0", lw=2, label="g(z)")
    ax1.plot(z, act.derivative(z), color="C1", lw=1.5, ls="--", label="g'(z)")
    if act.fit and act.fit.get("z_range"):
        zr = act.fit["z_range"]
        ax1.axvspan(zr[0], zr[1], color="0.9", zorder=0, label="measured range")
    b_lo, b_hi = act.bounds
    for b in (b_lo, b_hi):
        if np.isfinite(b):
            ax1.axhline(b, color="0.6", lw=0.8, ls=":")
    ax1.set_xlabel("pre-activation z (unit-free)")
    ax1.set_ylabel("g(z)")
    ax1.legend(fontsize=8, loc="upper left")
    ax1.set_title(f"network view: g(z) = (f({act.x_offset / xf:.3g} {xu} + "
                  f"{act.x_scale / xf:.3g} {xu}·z) − r0) / {act.y_scale / yf:.3g} {yu}",
                  fontsize=8.5)  # fmt: skip
    top = ax1.secondary_xaxis(
        "top", functions=(lambda zz: (act.x_offset + act.x_scale * zz) / xf,
                          lambda xx: (xx * xf - act.x_offset) / act.x_scale))  # fmt: skip
    top.set_xlabel(f"x ({xu})", fontsize=8)
    right = ax1.secondary_yaxis(
        "right", functions=(lambda g: (act.r0 + act.y_scale * g) / yf,
                            lambda yy: (yy * yf - act.r0) / act.y_scale))  # fmt: skip
    right.set_ylabel(f"y ({yu})", fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
