"""The Hill / Naka-Rushton form: r0 + r_max * x^n / (x^n + x_half^n) for x > 0 (Naka & Rushton
1966, doi:10.1113/jphysiol.1966.sp007992), a sigmoid in log x; its guess and bounds start from the
sigmoid family's."""

from __future__ import annotations

import numpy as np

from ..errors import FitError
from ._stable import EXP_CLIP, exp_neg, logistic, logistic_prime
from .form import Form, SolverHints, Start
from .sigmoid import bounds_step, guess_step

__all__ = ["hill", "HILL"]


def _hill_v(x, x_half, n):
    """(v, positive) with v = n*log(x/x_half) where x > 0; x^n/(x^n + x_half^n) = logistic(v)."""
    x = np.asarray(x, dtype=float)
    pos = x > 0
    # log of a safe positive stand-in where x <= 0, so that no log(0) warning is raised
    v = n * np.log(np.where(pos, x, x_half) / x_half)
    return v, pos


def hill(x, x_half, n, r_max, r0):
    """Hill / Naka-Rushton curve: r0 + r_max * x^n / (x^n + x_half^n) for x > 0, r0 for x <= 0.

    Computed as r0 + r_max * logistic(n * log(x / x_half)), which neither overflows for large x
    nor for large n.
    """
    return r0 + _h_hill(x, x_half, n, r_max)


def _h_hill(x, x_half, n, r_max):
    v, pos = _hill_v(x, x_half, n)
    return np.where(pos, r_max * logistic(v), 0.0)


def _d_hill(x, x_half, n, r_max, r0=0.0):
    v, pos = _hill_v(x, x_half, n)
    x = np.asarray(x, dtype=float)
    # d/dx logistic(n log(x/c)) = logistic'(v) * n / x, evaluated in log space: logistic'(v) alone
    # may be tiny (x >> c) or x tiny (x << c), and their ratio must neither underflow nor overflow
    a = np.abs(v)
    log_lp = -a - 2.0 * np.log1p(exp_neg(a))  # log(e / (1 + e)^2), e = exp(-|v|)
    expo = np.clip(log_lp - np.log(np.where(pos, x, 1.0)), -EXP_CLIP, EXP_CLIP)
    return np.where(pos, r_max * n * np.exp(expo), 0.0)


def _j_hill(x, x_half, n, r_max, r0):
    v, pos = _hill_v(x, x_half, n)
    dp = np.where(pos, logistic_prime(v), 0.0)
    log_ratio = np.where(pos, v / n, 0.0)
    return np.column_stack(
        [-r_max * dp * n / x_half, r_max * dp * log_ratio, np.where(pos, logistic(v), 0.0),
         np.ones_like(v)]
    )  # fmt: skip


def _guess_hill(x, y) -> dict[str, float]:
    x, y = np.asarray(x, float), np.asarray(y, float)
    g = guess_step(x, y, 1.0)
    xmax = float(np.max(x))
    x_half = g["x_half"] if g["x_half"] > 0 else 0.5 * xmax
    return {"x_half": x_half, "n": 2.0, "r_max": g["r_max"], "r0": g["r0"]}


def _bounds_hill(x, y) -> dict[str, tuple[float, float]]:
    x = np.asarray(x, float)
    b = bounds_step(x, y)
    xmax = float(np.max(x))
    if xmax <= 0:
        raise FitError("form 'hill' needs positive x values (it is defined for x > 0)")
    return {"x_half": (1e-6 * xmax, 100 * xmax), "n": (0.1, 50.0), "r_max": b["r_max"],
            "r0": b["r0"]}  # fmt: skip


def _canon_hill(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # z = x / x_half, g(z) = z^n / (1 + z^n) for z > 0: no input -> no output, g(1) = 1/2
    return 0.0, p["x_half"], p["r_max"]


HILL = Form(
    name="hill", params=("x_half", "n", "r_max", "r0"), kinds=("x", "1", "y", "y"),
    equation="r0 + r_max * x^n / (x^n + x_half^n)  (x > 0)",
    f=hill, h=_h_hill, dfdx=_d_hill, jac=_j_hill, guess_fn=_guess_hill, bounds_fn=_bounds_hill,
    canonical=_canon_hill, saturating=True, positive=("x_half", "n"),
    # the steepness can start far off: try a gentle and a steep curve
    solver=SolverHints(starts=(Start("n", "set", 1.0), Start("n", "set", 5.0))),
)  # fmt: skip
