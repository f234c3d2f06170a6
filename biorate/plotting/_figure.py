"""What every figure shares: axes made without pyplot, atomic saving, and display units.

Figures are built on :class:`matplotlib.figure.Figure` directly, so drawing one never switches the
user's backend (a Jupyter session keeps ``inline``) and never adds to pyplot's list of open figures.
A figure function takes its data and an optional ``ax`` and returns the figure; it never refits or
resimulates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from ..errors import OutputError
from ..io import atomic_write, output_name, utf8_text

__all__ = ["axes_grid", "save_figure", "display_unit"]

# files hold SI units; figures use the units people read
_DISPLAY = {"A": ("nA", 1e-9), "Hz": ("Hz", 1.0), "1/s": ("1/s", 1.0), "V": ("mV", 1e-3),
            "M": ("uM", 1e-6), "s": ("ms", 1e-3)}  # fmt: skip


def display_unit(unit: str) -> tuple[str, float]:
    """``("nA", 1e-9)`` for ``"A"``: the unit to show and its size in the file's unit."""
    return _DISPLAY.get(unit, (unit, 1.0))


def axes_grid(nrows: int = 1, ncols: int = 1, *, ax: Any = None, figsize: Any = None,
           **kw: Any) -> tuple[Any, np.ndarray]:  # fmt: skip
    """The figure and an ``nrows x ncols`` array of axes to draw on.

    Without ``ax``: a new :class:`~matplotlib.figure.Figure` (``kw`` goes to ``Figure.subplots``:
    ``sharex``, ``gridspec_kw``...). With ``ax``: the user's axes (one ``Axes`` when the figure has
    one panel, else a sequence of ``nrows * ncols``) and the figure they belong to; ``kw`` is then
    not applied, as the user laid the axes out."""
    if ax is None:
        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, squeeze=False, **kw)
    if isinstance(ax, (Sequence, np.ndarray)):
        axes = np.empty(np.shape(ax), dtype=object)  # a list, or a 2-D grid from subplots()
        axes[...] = ax
        axes = axes.ravel()
    else:
        axes = np.empty(1, dtype=object)
        axes[0] = ax
    if axes.size != nrows * ncols:
        raise ValueError(f"this figure draws {nrows * ncols} panel(s); ax= gave {axes.size}")
    return axes[0].figure, axes.reshape(nrows, ncols)


def owns(ax: Any) -> bool:
    """Whether the figure function made the figure (then it may lay it out: ``tight_layout``)."""
    return ax is None


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a figure atomically, in the format its suffix names (png when none)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    for text in fig.findobj(Text):  # a title naming a Latin-1 file: FreeType takes UTF-8 only
        s = text.get_text()
        if isinstance(s, str) and s != (clean := utf8_text(s)):
            text.set_text(clean)
    try:
        atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi), binary=True)
    except RuntimeError as exc:  # matplotlib: a TeX system it needs is missing (usetex), ...
        why = " ".join(str(exc).split())[:200]
        raise OutputError(
            f"cannot draw the figure {output_name(path)}: matplotlib says: {why}"
        ) from None
    return path


class _NoTransparencyNote(logging.Filter):
    """PostScript has no transparency: matplotlib logs a raw line saying so at every save of an
    .eps or .ps figure (and draws those parts opaque); a figure's save is not the place for it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "does not support transparency" not in str(record.msg)


logging.getLogger("matplotlib.backends.backend_ps").addFilter(_NoTransparencyNote())
