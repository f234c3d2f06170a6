"""Figures of training: loss, accuracy, gradient norms and saturation per epoch."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..io import utf8_text
from ._figure import axes_grid, owns, save_figure

__all__ = ["plot_history"]


def plot_history(
    hist: Any, path: str | os.PathLike | None = None, title: str = "", *, ax: Any = None
) -> Any:
    """Four panels: loss and accuracy (train, and validation when held out), gradient norm per
    population, and the fraction of saturated (and of dead) hidden units per epoch. ``hist``: a
    :class:`~biorate.network.History`; ``ax``: four axes to draw on. Returns the figure (saved when
    ``path`` is given)."""
    fig, grid = axes_grid(1, 4, ax=ax, figsize=(15, 3.4))
    panel = list(grid.flat)
    ep = range(1, hist.epochs + 1)
    panel[0].plot(ep, hist.loss, label="train")
    panel[1].plot(ep, hist.accuracy, label="train")
    if hist.val_loss:
        panel[0].plot(ep, hist.val_loss, label="validation")
        panel[1].plot(ep, hist.val_accuracy, label="validation")
    for name, v in hist.grad_norm.items():
        panel[2].semilogy(ep, v, label=name)
    sat = [np.nan if v is None else v for v in hist.saturated_fraction]
    if np.any(np.isfinite(sat)):
        panel[3].plot(ep, sat, label="saturated (within 5% of a bound)")
    panel[3].plot(ep, hist.dead_fraction, label="dead (zero derivative)")
    panel[3].set_ylim(bottom=0)
    labels = ["loss", "accuracy", "gradient norm", "fraction of hidden units"]
    for a, lab in zip(panel, labels, strict=True):
        a.set_xlabel("epoch")
        a.set_ylabel(lab)
        a.legend(fontsize=8)
    if owns(ax):
        fig.suptitle(utf8_text(title) if isinstance(title, str) else title)
        fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
