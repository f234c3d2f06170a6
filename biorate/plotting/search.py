"""Figure of an activation search: the top formulas, their derivatives, fitness over evaluations."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import BiorateError
from ..forms.expression import parse
from ._figure import axes_grid, owns, save_figure

__all__ = ["plot_search"]


def plot_search(rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
                path: str | os.PathLike | None = None, *, top: int = 5,
                z_range: tuple[float, float] = (-5.0, 5.0), ax: Any = None) -> Any:  # fmt: skip
    """Three panels: g(z) and g'(z) of the ``top`` accepted formulas (best first), and the fitness
    of every evaluation in the order evaluated with the best so far (from the 5th percentile up;
    rejected ones as ticks at the bottom).

    Parameters
    ----------
    rows : the leaderboard rows (:attr:`biorate.search.SearchResult.leaderboard`, or
        ``leaderboard.json`` as read, whose ``rows`` are taken).
    path : save the figure there (format from the suffix) when given.
    top : how many formulas to draw.
    z_range : the z axis of the first two panels.
    ax : three axes to draw on instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(rows, Mapping):
        rows = rows["rows"]
    ok = [r for r in rows if r.get("status") == "ok" and r.get("fitness") is not None]
    if not ok:
        raise BiorateError("no accepted candidate in the search to plot")
    fig, axes = axes_grid(1, 3, ax=ax, figsize=(14, 4.2))
    a0, a1, a2 = axes.ravel()
    z = np.linspace(*z_range, 401)
    for i, r in enumerate(sorted(ok, key=lambda r: r["rank"])[:top]):
        if r.get("activation") is not None:  # a neuron's fitted activation
            from ..activation import Activation

            act = Activation.from_dict(r["activation"])
            g, dg = act(z), act.derivative(z)
        else:
            g, dg = parse(r["expression"]).value_and_derivative(z)
        label = _short(r["expression"]) + f"  ({r['fitness']:.4g})"
        a0.plot(z, g, color=f"C{i}", lw=2.2 if i == 0 else 1.3, label=label)
        a1.plot(z, dg, color=f"C{i}", lw=2.2 if i == 0 else 1.3)
    what = "neurons" if ok[0].get("activation") is not None else "formulas"
    a0.set(xlabel="z", ylabel="g(z)", title=f"top {min(top, len(ok))} {what} (fitness)")
    a1.set(xlabel="z", ylabel="g'(z)", title="their derivatives")
    a0.legend(fontsize=7, loc="upper left")
    order = sorted(rows, key=lambda r: r["index"])
    idx = np.array([r["index"] for r in order])
    fit = np.array([math.nan if r.get("fitness") is None else r["fitness"] for r in order])
    good = np.isfinite(fit)
    a2.plot(idx[good], fit[good], ".", color="0.6", ms=3, label="evaluation")
    a2.plot(idx[good], np.maximum.accumulate(fit[good]), color="C3", lw=2, label="best so far")
    # the y axis from the 5th percentile up: a few very poor candidates would flatten the rest
    q, top_fit = float(np.percentile(fit[good], 5)), float(np.max(fit[good]))
    pad = 0.08 * (top_fit - q) or 0.05 * max(abs(top_fit), 1e-3)
    lo = q - 2 * pad
    a2.set_ylim(lo - pad, top_fit + pad)
    if np.any(~good):
        a2.plot(idx[~good], np.full(np.sum(~good), lo), "|", color="C7", ms=6,
                label=f"rejected ({np.sum(~good)})")  # fmt: skip
    a2.set(xlabel="evaluation", ylabel="fitness", title="fitness over the search")
    a2.legend(fontsize=7, loc="lower right")
    if owns(ax):
        fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
