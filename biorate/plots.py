"""Figures of transfer curves (matplotlib with the Agg backend, imported lazily)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .curve import TransferCurve
from .io import atomic_write

__all__ = ["plot_curve", "save_figure", "display_unit"]

# files hold SI units; figures use the units people read
_DISPLAY = {"A": ("nA", 1e-9), "Hz": ("Hz", 1.0), "1/s": ("1/s", 1.0), "V": ("mV", 1e-3),
            "M": ("uM", 1e-6), "s": ("ms", 1e-3)}  # fmt: skip


_Y_NAMES = {"fi": "firing rate", "release": "release rate (fraction of pool)",
            "release_probability": "release probability"}  # fmt: skip
_X_NAMES = {("fi", "A"): "injected current", ("fi", "Hz"): "rate of each Poisson input",
            ("release", "Hz"): "presynaptic rate", ("release_probability", "M"): "presynaptic calcium"}  # fmt: skip


def display_unit(unit: str) -> tuple[str, float]:
    """``("nA", 1e-9)`` for ``"A"``: the unit to show and its size in the file's unit."""
    return _DISPLAY.get(unit, (unit, 1.0))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a figure atomically (format from the suffix) and close it."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    try:
        atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi), binary=True)
    finally:
        _pyplot().close(fig)
    return path


def plot_curve(
    curve: TransferCurve,
    theory: Sequence[tuple[str, TransferCurve]] = (),
    *,
    title: str | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Measured curve with SEM error bars, theory curves as lines, and the ISI CV in a lower panel
    when the curve has one. Returns the figure (and saves it when ``path`` is given)."""
    plt = _pyplot()
    has_cv = curve.cv is not None and np.any(np.isfinite(curve.cv))
    fig, axes = plt.subplots(2 if has_cv else 1, 1, figsize=(6, 5.5 if has_cv else 4), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]} if has_cv else None, squeeze=False)  # fmt: skip
    ax = axes[0, 0]
    xu, xs = display_unit(curve.x_unit)
    yu, ys = display_unit(curve.y_unit)
    x = curve.x / xs
    label = (
        f"{curve.model.get('name', 'model')} (Brian2, {curve.protocol.get('trials', '?')} trials)"
    )
    ax.errorbar(x, curve.y / ys, yerr=None if curve.y_sem is None else curve.y_sem / ys, fmt="o",
                ms=3.5, capsize=2, label=label, color="k", zorder=3)  # fmt: skip
    for (name, th), color in zip(theory, ["C0", "C1", "C2", "C3"], strict=False):
        ax.plot(th.x / display_unit(th.x_unit)[1], th.y / display_unit(th.y_unit)[1], "-",
                color=color, label=name, lw=1.5)  # fmt: skip
    ax.set_ylabel(f"{_Y_NAMES.get(curve.measure, curve.measure)} ({yu})")
    sigma = curve.protocol.get("sigma_V")
    ax.set_title(title or f"{curve.model.get('name', '')} {_Y_NAMES.get(curve.measure, 'transfer')} curve"
                 + (f", sigma = {sigma * 1e3:g} mV" if sigma else ""))  # fmt: skip
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    if has_cv:
        axes[1, 0].plot(x, curve.cv, "o-", ms=3, color="C3")
        axes[1, 0].set_ylabel("ISI CV")
        axes[1, 0].set_ylim(bottom=0)
        axes[1, 0].grid(alpha=0.3)
    xname = _X_NAMES.get((curve.measure, curve.x_unit), "input")
    axes[-1, 0].set_xlabel(f"{xname} ({xu})")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
