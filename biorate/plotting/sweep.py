"""Figures of sweeps: fitted parameters and R² against the swept model parameters."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from typing import Any

import numpy as np

from ..errors import BiorateError
from ._figure import axes_grid, display_unit, owns, save_figure

__all__ = ["plot_sweep"]


def plot_sweep(
    summary: dict, path: str | os.PathLike | None = None, form: str | None = None, *, ax: Any = None
) -> Any:
    """Fitted parameters (with standard-error bars) and R² against the first swept parameter, one
    line per combination of the other swept values, for ``form`` (default: the spec's first).
    ``summary``: :func:`biorate.sweep.summary_table`'s result; ``ax``: the grid of axes to draw on,
    rows x up to 3 columns, one panel per parameter then R² (spare axes are hidden). Returns the figure (saved when ``path`` is given)."""
    form = form or summary["forms"][0]
    rows = [r for r in summary["rows"] if r["form"] == form and r.get("r2") is not None]
    if not rows:
        raise BiorateError(f"no successful {form} fit in the sweep to plot")
    params = [p for p in summary["params"] if form in p["forms"]]
    panels = [*params, {"column": "r2", "name": "R²", "unit": "1", "stderr": None}]
    xaxis, others = summary["axes"][0], summary["axes"][1:]
    xlab, xs = display_unit(xaxis["unit"])
    groups: dict[tuple, list] = defaultdict(list)
    for r in rows:
        groups[tuple(r[a["column"]] for a in others)].append(r)

    def label(key: tuple) -> str | None:
        parts = []
        for a, v in zip(others, key, strict=True):
            lab, scale = display_unit(a["unit"])
            parts.append(f"{a['name']} = {v / scale:.3g} {lab}".rstrip(" 1"))
        return ", ".join(parts) or None

    ncol = min(len(panels), 3)
    nrow = math.ceil(len(panels) / ncol)
    fig, axs = axes_grid(nrow, ncol, ax=ax, figsize=(4.2 * ncol, 3.3 * nrow))
    for a, panel in zip(axs.flat, panels, strict=False):
        ylab, ys = display_unit(panel["unit"])
        for i, (key, grp) in enumerate(sorted(groups.items())):
            grp = sorted(grp, key=lambda r: r[xaxis["column"]])
            x = np.array([r[xaxis["column"]] for r in grp]) / xs
            y = np.array([_nan(r.get(panel["column"])) for r in grp]) / ys
            err = None
            if panel["stderr"]:
                err = np.array([_nan(r.get(panel["stderr"])) for r in grp]) / ys
            a.errorbar(x, y, err, fmt="o-", ms=3, capsize=2, color=f"C{i % 10}",
                        label=label(key))  # fmt: skip
        a.set_ylabel(panel["name"] + (f" ({ylab})" if ylab not in ("", "1") else ""))
        a.set_xlabel(xaxis["name"] + (f" ({xlab})" if xlab not in ("", "1") else ""))
    if others:
        axs.flat[0].legend(fontsize=7)
    for a in list(axs.flat)[len(panels) :]:
        a.set_visible(False)
    if owns(ax):
        fig.suptitle(f"sweep {summary['name']}: {form} fits of {summary['measure']} curves of "
                     f"model {summary['model']}")  # fmt: skip
        fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _nan(v: Any) -> float:
    return math.nan if v is None else float(v)
