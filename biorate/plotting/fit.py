"""Figures of fits and fitted activations.

- :func:`plot_fit`: the data with SEM error bars, the fitted curve (and, after ``auto``, the
  runner-up forms, from the parameters the fit carries: nothing is refitted), the residual panel
  and the parameter table.
- :func:`plot_activation`: how a network sees a fitted activation: the physical curve f(x), and the
  unit-free g(z) with its derivative g'(z), with the physical axes x = x_offset + x_scale*z and
  y = r0 + y_scale*g drawn beside z and g.

Both take the data, an optional ``ax=`` and return the figure (saved when ``path`` is given); they
never set matplotlib's backend. A fit is read by duck typing (this module does not import
:mod:`biorate.fitting`, which draws through it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from ..forms import get_form
from ..io import utf8_text
from ._figure import axes_grid, display_unit, owns, save_figure

if TYPE_CHECKING:
    from ..activation import Activation
    from ..fitting import Fit

__all__ = ["plot_fit", "plot_activation"]


def _fmt(v: float, e: float | None = None) -> str:
    return f"{v:.4g}" if e is None else f"{v:.4g} ± {e:.2g}"


def plot_fit(fit: Fit, path: str | os.PathLike | None = None, *, title: str | None = None,
             ax: Any = None) -> Any:  # fmt: skip
    """Data (error bars: the SEM, or the floored weights), the fitted curve and the two runners-up
    of an ``auto`` fit, residuals (in units of the weights when weighted) and the parameter table.
    ``ax``: three axes to draw on (curve, residuals, table). Returns the figure (saved when
    ``path``)."""
    if ax is None:
        fig = Figure(figsize=(9.5, 5.2))
        grid = fig.add_gridspec(2, 2, width_ratios=[2.3, 1], height_ratios=[3, 1], wspace=0.05,
                                hspace=0.08)  # fmt: skip
        axc = fig.add_subplot(grid[0, 0])
        axr = fig.add_subplot(grid[1, 0], sharex=axc)
        axt = fig.add_subplot(grid[:, 1])
    else:
        fig, axes = axes_grid(1, 3, ax=ax)
        axc, axr, axt = axes[0]
    _draw_curve(fit, axc, title)
    _draw_residuals(fit, axr)
    _draw_table(fit, axt)
    if path is not None:
        save_figure(fig, path)
    return fig


def _draw_curve(fit: Fit, ax: Any, title: str | None) -> None:
    xu, xf = display_unit(fit.x_unit)
    yu, yf = display_unit(fit.y_unit)
    x, y = fit.x, fit.y
    xx = np.linspace(x.min(), x.max(), 400)
    err = fit.curve.y_sem if fit.weighted else None
    ax.errorbar(x / xf, y / yf, yerr=None if err is None else err / yf, fmt="o", ms=3.5,
                color="k", ecolor="0.5", capsize=2, label="data")  # fmt: skip
    ax.plot(xx / xf, fit.predict(xx) / yf, color="C3", lw=2, label=f"{fit.form} (best)")
    for i, alt in enumerate(fit.runners_up(2)):  # the next two by the selection criterion
        if alt["params"] is None:
            continue
        curve = get_form(alt["form"]).value(xx, alt["params"])
        ax.plot(xx / xf, curve / yf, ls="--", lw=1, color=f"C{i}",
                label=f"{alt['form']} (Δ{alt['criterion']} {alt['delta']:.1f})")  # fmt: skip
    ax.set_ylabel(f"{fit.curve.measure} output ({yu})")
    ax.legend(fontsize=8, loc="upper left")
    status = "" if not fit.flags else f"   {fit.status}"
    ax.set_title(utf8_text(title) if title else f"{(fit.curve.model or {}).get('name', '')} "
                 f"{fit.curve.measure} curve: "
                 f"{fit.form} fit{status}", fontsize=10,
                 color="k" if fit.ok else "C3")  # fmt: skip
    ax.tick_params(labelbottom=False)


def _draw_residuals(fit: Fit, axr: Any) -> None:
    xu, xf = display_unit(fit.x_unit)
    yu, yf = display_unit(fit.y_unit)
    res = fit.residuals()
    if fit.weighted:
        axr.plot(fit.x / xf, res / fit.sigma, "o", ms=3, color="k")
        axr.set_ylabel("resid. / σ")
        for level in (-2, 2):
            axr.axhline(level, color="0.7", lw=0.8, ls=":")
    else:
        axr.plot(fit.x / xf, res / yf, "o", ms=3, color="k")
        axr.set_ylabel(f"resid. ({yu})")
    axr.axhline(0, color="C3", lw=1)
    axr.set_xlabel(f"input ({xu})")


def _draw_table(fit: Fit, axt: Any) -> None:
    form = get_form(fit.form)
    yu, yf = display_unit(fit.y_unit)
    axt.axis("off")
    units = fit.param_units()
    rows = []
    for p, v in fit.params.items():
        shown, factor = display_unit(units[p])
        text = _fmt(v / factor, fit.stderr[p] / factor)
        if fit.ci is not None:
            lo, hi = fit.ci[p]
            text += f"\n[{lo / factor:.4g}, {hi / factor:.4g}]"
        # a name that could mislead gets a mark, and its label below the table
        rows.append([p + (" *" if form.label(p) != p else ""), text, shown])
    aicc = f"{fit.aicc:.2f}" if fit.aicc is not None else "n/a"
    stats = [("R²", f"{fit.r2:.5f}"), ("RMSE", f"{fit.rmse / yf:.3g} {yu}"),
             ("red. χ²", f"{fit.redchi:.3g}"), ("AIC", f"{fit.aic:.2f}"), ("AICc", aicc),
             ("BIC", f"{fit.bic:.2f}"), ("n, k", f"{fit.n}, {fit.k}")]  # fmt: skip
    rows += [[a, b, ""] for a, b in stats]
    table = axt.table(cellText=rows, colLabels=["param", "value ± s.e." + (
        "\n95% CI" if fit.ci is not None else ""), "unit"], loc="center", cellLoc="left",
        colWidths=[0.28, 0.55, 0.2])  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.6 if fit.ci is None else 2.2)
    axt.set_title(form.equation, fontsize=7.5)
    marked = [form.label(p) for p in fit.params if form.label(p) != p]
    if marked:
        axt.text(0.0, -0.02, "* " + "; ".join(marked), transform=axt.transAxes, fontsize=7.5,
                 va="top")  # fmt: skip


def plot_activation(act: Activation, path: str | os.PathLike | None = None, *,
                    curve: Any = None, z_lim: tuple[float, float] | None = None,
                    ax: Any = None) -> Any:  # fmt: skip
    """How the network sees ``act``: left, the physical curve y = f(x) (with ``curve``'s data if
    given); right, g(z) and g'(z) against z, with the physical x on the top axis and the rate on the
    right axis, and the measured range of z shaded. ``ax``: two axes to draw on. Returns the figure
    (saved when ``path``)."""
    lo, hi = z_lim or (-6.0, 6.0)
    if act.fit and act.fit.get("z_range") and z_lim is None:
        zr = act.fit["z_range"]
        lo, hi = min(lo, zr[0] - 1), max(hi, zr[1] + 1)
    z = np.linspace(lo, hi, 500)
    fig, axes = axes_grid(1, 2, ax=ax, figsize=(10, 4.2))
    ax0, ax1 = axes[0]
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
    _draw_network_view(act, ax1, z)
    if owns(ax):
        fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _draw_network_view(act: Activation, ax1: Any, z: np.ndarray) -> None:
    xu, xf = display_unit(act.x_unit)
    yu, yf = display_unit(act.y_unit)
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
