"""What guesses and bounds are scaled by: the data's ranges, direction, and where a curve rises."""

from __future__ import annotations

import numpy as np


def data_scales(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float]:
    """(xmin, xmax, xr, ymin, yr): ranges used to scale guesses and bounds."""
    xmin, xmax = float(np.min(x)), float(np.max(x))
    ymin, ymax = float(np.min(y)), float(np.max(y))
    xr = xmax - xmin or (abs(xmax) or 1.0)
    yr = ymax - ymin or (abs(ymax) or 1.0)
    return xmin, xmax, xr, ymin, yr


def direction(x: np.ndarray, y: np.ndarray) -> float:
    """+1 for an increasing curve, -1 for a decreasing one (sign of the x-y covariance)."""
    c = float(np.sum((x - x.mean()) * (y - y.mean())))
    return -1.0 if c < 0 else 1.0


def x_at_fraction(x: np.ndarray, y: np.ndarray, q: float, sign: float) -> float:
    """The x at which the curve (oriented by ``sign``) first reaches fraction q of its range,
    interpolated linearly between samples (x sorted ascending)."""
    order = np.argsort(x)
    xs, ys = x[order], sign * y[order]
    lo, hi = ys.min(), ys.max()
    frac = (ys - lo) / (hi - lo) if hi > lo else np.zeros_like(ys)
    # running maximum makes noisy data monotone, so "first reaches" is well defined
    frac = np.maximum.accumulate(frac)
    i = int(np.searchsorted(frac, q))
    if i <= 0:
        return float(xs[0])
    if i >= xs.size:
        return float(xs[-1])
    f0, f1 = frac[i - 1], frac[i]
    t = 0.0 if f1 == f0 else (q - f0) / (f1 - f0)
    return float(xs[i - 1] + t * (xs[i] - xs[i - 1]))
