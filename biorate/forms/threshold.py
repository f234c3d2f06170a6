"""Threshold forms: softplus and threshold_linear, lines that start at a threshold x_th (smoothly,
over a width, or with a corner). They share a guess from a line through the upper half of the
curve and their bounds."""

from __future__ import annotations

import numpy as np

from ._data import data_scales, direction
from ._stable import logistic, softplus_unit
from .form import Form, SolverHints, Start

__all__ = ["softplus", "threshold_linear", "SOFTPLUS", "THRESHOLD_LINEAR"]

# --- shared: guess and bounds -----------------------------------------------------------------


def guess_line(x, y) -> dict[str, float]:
    """Guess for threshold-like forms: a line through the upper half of the curve, its
    intersection with the baseline is the threshold."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xmin, xmax, xr, ymin, yr = data_scales(x, y)
    sign = direction(x, y)
    r0 = ymin if sign > 0 else ymin + yr
    upper = sign * (y - r0) >= 0.5 * yr
    if np.count_nonzero(upper) >= 2 and np.ptp(x[upper]) > 0:
        gain, intercept = np.polyfit(x[upper], y[upper], 1)
    else:
        gain, intercept = sign * yr / xr, r0 - sign * yr / xr * xmin
    gain = float(gain) if gain != 0 else sign * yr / xr
    x_th = float(np.clip((r0 - intercept) / gain, xmin - xr, xmax))
    return {"x_th": x_th, "gain": gain, "r0": r0}


def bounds_line(x, y) -> dict[str, tuple[float, float]]:
    xmin, xmax, xr, ymin, yr = data_scales(np.asarray(x, float), np.asarray(y, float))
    g = 1e3 * yr / xr
    return {
        "x_th": (xmin - 10 * xr, xmax + 10 * xr),
        "width": (1e-4 * xr, 100 * xr),
        "gain": (-g, g),
        "r0": (ymin - 100 * yr, ymin + 101 * yr),
    }


# --- softplus ----------------------------------------------------------------------------------


def softplus(x, x_th, width, gain, r0):
    """Smoothed threshold-linear curve: r0 + gain * width * log(1 + exp((x - x_th)/width)).

    Far above ``x_th`` it is the line r0 + gain*(x - x_th); ``width`` is how sharply it bends.
    """
    return r0 + _h_softplus(x, x_th, width, gain)


def _h_softplus(x, x_th, width, gain):
    return gain * width * softplus_unit((np.asarray(x, dtype=float) - x_th) / width)


def _d_softplus(x, x_th, width, gain, r0=0.0):
    return gain * logistic((np.asarray(x, dtype=float) - x_th) / width)


def _j_softplus(x, x_th, width, gain, r0):
    u = (np.asarray(x, dtype=float) - x_th) / width
    s, sp = logistic(u), softplus_unit(u)
    return np.column_stack([-gain * s, gain * (sp - u * s), width * sp, np.ones_like(u)])


def _guess_softplus(x, y) -> dict[str, float]:
    g = guess_line(x, y)
    _, _, xr, _, _ = data_scales(np.asarray(x, float), np.asarray(y, float))
    return {"x_th": g["x_th"], "width": 0.05 * xr, "gain": g["gain"], "r0": g["r0"]}


def _canon_softplus(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # g(z) = log(1 + exp(z)): the unit softplus
    return p["x_th"], p["width"], p["gain"] * p["width"]


SOFTPLUS = Form(
    name="softplus", params=("x_th", "width", "gain", "r0"), kinds=("x", "x", "y/x", "y"),
    equation="r0 + gain * width * log(1 + exp((x - x_th)/width))",
    f=softplus, h=_h_softplus, dfdx=_d_softplus, jac=_j_softplus,
    guess_fn=_guess_softplus, bounds_fn=bounds_line, canonical=_canon_softplus, saturating=False,
    positive=("width",),
    solver=SolverHints(starts=(Start("width", "scale", 4.0), Start("width", "scale", 0.25))),
)  # fmt: skip

# --- threshold_linear -------------------------------------------------------------------------


def threshold_linear(x, x_th, gain, r0):
    """Threshold-linear (rectified linear) curve: r0 + gain * max(0, x - x_th)."""
    return r0 + _h_threshold_linear(x, x_th, gain)


def _h_threshold_linear(x, x_th, gain):
    return gain * np.maximum(np.asarray(x, dtype=float) - x_th, 0.0)


def _d_threshold_linear(x, x_th, gain, r0=0.0):
    # the kink at x == x_th gets slope 0 (the one-sided derivative from below), like relu
    return np.where(np.asarray(x, dtype=float) > x_th, gain, 0.0)


def _j_threshold_linear(x, x_th, gain, r0):
    x = np.asarray(x, dtype=float)
    above = x > x_th
    return np.column_stack(
        [np.where(above, -gain, 0.0), np.maximum(x - x_th, 0.0), np.ones_like(x)]
    )


def _canon_threshold_linear(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # g(z) = max(0, z), and z = 1 at the top of the measured input range (any scale would do for a
    # rectifier; this one keeps the measured range at z in about [-1, 1])
    span = float(np.max(x)) - p["x_th"] if x is not None and x.size else 0.0
    if not span > 0:
        span = abs(p["x_th"]) or 1.0
    return p["x_th"], span, p["gain"] * span


# its value has a corner at x_th: the cost has a kink wherever the threshold crosses a data point
# and a local minimum between each pair of kinks, so the fit also starts from the threshold 3 % of
# the x range lower and higher, however good the first fit looks
THRESHOLD_LINEAR = Form(
    name="threshold_linear", params=("x_th", "gain", "r0"), kinds=("x", "y/x", "y"),
    equation="r0 + gain * max(0, x - x_th)",
    f=threshold_linear, h=_h_threshold_linear, dfdx=_d_threshold_linear, jac=_j_threshold_linear,
    guess_fn=guess_line, bounds_fn=bounds_line, canonical=_canon_threshold_linear,
    saturating=False,
    solver=SolverHints(starts=(Start("x_th", "shift", -0.03), Start("x_th", "shift", 0.03)),
                       kink=True),
)  # fmt: skip
