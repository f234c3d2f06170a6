"""Figures of transfer curves: the measurement beside its theory."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..curve import TransferCurve
from ..io import utf8_text
from ._figure import axes_grid, display_unit, owns, save_figure

__all__ = ["plot_curve"]

_Y_NAMES = {"fi": "firing rate", "release": "release rate, pool fraction",
            "release_probability": "release probability"}  # fmt: skip
_X_NAMES = {("fi", "A"): "injected current", ("fi", "Hz"): "rate of each Poisson input",
            ("release", "Hz"): "presynaptic rate", ("release_probability", "M"): "presynaptic calcium"}  # fmt: skip


def plot_curve(
    curve: TransferCurve,
    theory: Sequence[tuple[str, TransferCurve]] = (),
    *,
    title: str | None = None,
    path: str | os.PathLike | None = None,
    hlines: Sequence[tuple[str, float]] = (),
    ax: Any = None,
) -> Any:
    """Measured curve with SEM error bars and theory curves as lines; below it, when theory is
    given, the measurement's relative deviation from each theory (where the theory exceeds 2% of
    its peak), and the ISI CV when the curve has one. Returns the figure (and saves it when
    ``path`` is given). ``hlines``: ``(label, y in the curve's y unit)`` reference levels drawn
    as dotted lines (a release rate's cap 1/tau_rec, say). ``ax``: axes to draw on, one per panel
    (curve, then deviation when theory is given, then CV when the curve has one)."""
    has_cv = curve.cv is not None and np.any(np.isfinite(curve.cv))
    names = ["curve"] + (["deviation"] if theory else []) + (["cv"] if has_cv else [])
    ratios = {"curve": 3.0, "deviation": 1.3, "cv": 1.0}
    fig, grid = axes_grid(len(names), 1, ax=ax, figsize=(6, 3.2 + 1.3 * (len(names) - 1) + 0.8),
                          sharex=True, gridspec_kw={"height_ratios": [ratios[p] for p in names]})  # fmt: skip
    axes = {p: grid[i, 0] for i, p in enumerate(names)}
    _curve_panel(axes["curve"], curve, theory, hlines, title)
    if theory:
        _deviation_panel(axes["deviation"], curve, theory)
    if has_cv:
        _cv_panel(axes["cv"], curve)
    xname = _X_NAMES.get((curve.measure, curve.x_unit), "input")
    axes[names[-1]].set_xlabel(f"{xname} ({display_unit(curve.x_unit)[0]})")
    if owns(ax):
        fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


_COLORS, _STYLES = ["C0", "C1", "C2", "C3"], ["-", "--", "-.", ":"]


def _curve_panel(ax: Any, curve: TransferCurve, theory: Sequence[tuple[str, TransferCurve]],
                 hlines: Sequence[tuple[str, float]], title: str | None) -> None:  # fmt: skip
    """The measurement with its SEM, the theory curves as lines, the reference levels dotted."""
    xs, (yu, ys) = display_unit(curve.x_unit)[1], display_unit(curve.y_unit)
    label = (
        f"{curve.model.get('name', 'model')} (Brian2, {curve.protocol.get('trials', '?')} trials)"
    )
    # hollow markers under the theory lines, so that a line lying on the data stays visible
    ax.errorbar(curve.x / xs, curve.y / ys, yerr=None if curve.y_sem is None else curve.y_sem / ys,
                fmt="o", ms=3.5, mfc="white", mew=0.8, capsize=2, label=label, color="k",
                zorder=2)  # fmt: skip
    for (name, th), color, ls in zip(theory, _COLORS, _STYLES, strict=False):
        ax.plot(th.x / display_unit(th.x_unit)[1], th.y / display_unit(th.y_unit)[1], ls,
                color=color, label=name, lw=1.6, zorder=3)  # fmt: skip
    for name, level in hlines:
        ax.axhline(level / ys, color="0.35", ls=":", lw=1.2, label=name, zorder=1)
    ax.set_ylabel(f"{_Y_NAMES.get(curve.measure, curve.measure)} ({yu})")
    sigma = curve.protocol.get("sigma_V")
    what = _Y_NAMES.get(curve.measure, "transfer").split(",")[0]
    ax.set_title(utf8_text(title) if title else f"{curve.model.get('name', '')} {what} curve"
                 + (f", sigma = {sigma * 1e3:g} mV" if sigma is not None else ""))  # fmt: skip
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)


def _deviation_panel(ax: Any, curve: TransferCurve,
                     theory: Sequence[tuple[str, TransferCurve]]) -> None:  # fmt: skip
    """The measurement's relative deviation from each theory, where the theory exceeds 2% of its
    peak, with the measurement's own SEM shaded for scale."""
    x = curve.x / display_unit(curve.x_unit)[1]
    for (_name, th), color, ls in zip(theory, _COLORS, _STYLES, strict=False):
        pred = np.interp(curve.x, th.x, th.y)
        shown = pred > 0.02 * np.max(th.y) if np.max(th.y) > 0 else np.zeros(pred.size, bool)
        dev = np.full(pred.size, np.nan)
        dev[shown] = 100.0 * (curve.y[shown] / pred[shown] - 1.0)
        ax.plot(x, dev, ls, marker="o", ms=2.5, color=color, lw=1)
        if curve.y_sem is not None:
            sem = np.full(pred.size, np.nan)
            sem[shown] = 100.0 * curve.y_sem[shown] / pred[shown]
            ax.fill_between(x, -sem, sem, color="0.85", lw=0, zorder=0)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_ylabel("sim / theory - 1 (%)", fontsize=9)
    devs = np.abs(np.concatenate([line.get_ydata() for line in ax.lines[:-1]]))
    devs = devs[np.isfinite(devs)]
    # scaled to the bulk (95th percentile): a level at rheobase, where theory says a few Hz and a
    # short run counts none, would otherwise flatten everything else
    top = float(np.percentile(devs, 95)) if devs.size else 1.0
    ax.set_ylim(-min(max(1.3 * top, 1.0), 25.0), min(max(1.3 * top, 1.0), 25.0))
    ax.grid(alpha=0.3)


def _cv_panel(ax: Any, curve: TransferCurve) -> None:
    """The ISI CV, from 0 and at least to 0.1, so that a regular train (CV ~ 1e-7) reads as 0."""
    ax.plot(curve.x / display_unit(curve.x_unit)[1], curve.cv, "o-", ms=3, color="C3")
    ax.set_ylabel("ISI CV")
    ax.set_ylim(0, max(0.1, 1.1 * float(np.nanmax(curve.cv))))
    ax.grid(alpha=0.3)
