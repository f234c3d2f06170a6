"""The sigmoid family: sigmoid, tanh and erf, steps from r0 to r0 + r_max around x_half.

The three are one shape family with different tails (0.5*(1 + tanh(u)) = logistic(2u), so a tanh's
width is twice the sigmoid's on the same data); they share their data-scaled guess, bounds,
canonical scaling (g(z) = logistic(z), 0.5*(1 + tanh z), 0.5*(1 + erf z)) and solver hints. Each
form's function, excess ``_h_``, x-derivative ``_d_`` and parameter Jacobian ``_j_`` (columns in the
order of the signature) stand together with its :class:`~biorate.forms.form.Form`.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._data import data_scales, direction, x_at_fraction
from ._stable import erfc, gauss, logistic, logistic_prime
from .form import Form, SolverHints, Start

__all__ = ["sigmoid", "tanh", "erf", "SIGMOID", "TANH", "ERF", "guess_step", "bounds_step"]

_LN3 = float(np.log(3.0))

# --- shared by the family: guess, bounds, scaling, hints --------------------------------------


def guess_step(x, y, unit_width: float) -> dict[str, float]:
    """Guess for sigmoid-like forms; ``unit_width`` = (x75 - x25) / width for that form."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _, _, xr, ymin, yr = data_scales(x, y)
    sign = direction(x, y)
    x25, x50, x75 = (x_at_fraction(x, y, q, sign) for q in (0.25, 0.5, 0.75))
    width = max((x75 - x25) / unit_width, 1e-2 * xr)
    r_max = sign * yr
    r0 = ymin if sign > 0 else ymin + yr
    return {"x_half": x50, "width": width, "r_max": r_max, "r0": r0}


def bounds_step(x, y) -> dict[str, tuple[float, float]]:
    xmin, xmax, xr, ymin, yr = data_scales(np.asarray(x, float), np.asarray(y, float))
    return {
        "x_half": (xmin - 10 * xr, xmax + 10 * xr),
        "width": (1e-4 * xr, 100 * xr),
        "r_max": (-100 * yr, 100 * yr),
        "r0": (ymin - 100 * yr, ymin + 101 * yr),
    }


def _canon_step(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # g(z) = logistic(z) for sigmoid, 0.5*(1+tanh z) for tanh, 0.5*(1+erf z) for erf
    return p["x_half"], p["width"], p["r_max"]


# a width can start too wide or too narrow for the data: try 4x and 1/4 of the guess
WIDTH_STARTS = (Start("width", "scale", 4.0), Start("width", "scale", 0.25))

_STEP = dict(
    params=("x_half", "width", "r_max", "r0"), kinds=("x", "x", "y", "y"), bounds_fn=bounds_step,
    canonical=_canon_step, saturating=True, positive=("width",),
    solver=SolverHints(starts=WIDTH_STARTS),
)  # fmt: skip

# --- sigmoid ----------------------------------------------------------------------------------


def sigmoid(x, x_half, width, r_max, r0):
    """Logistic curve: r0 + r_max / (1 + exp(-(x - x_half)/width))."""
    return r0 + _h_sigmoid(x, x_half, width, r_max)


def _h_sigmoid(x, x_half, width, r_max):
    return r_max * logistic((np.asarray(x, dtype=float) - x_half) / width)


def _d_sigmoid(x, x_half, width, r_max, r0=0.0):
    return r_max / width * logistic_prime((np.asarray(x, dtype=float) - x_half) / width)


def _j_sigmoid(x, x_half, width, r_max, r0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    dp = logistic_prime(u)
    return np.column_stack(
        [-r_max * dp / width, -r_max * dp * u / width, logistic(u), np.ones_like(u)]
    )


SIGMOID = Form(
    name="sigmoid", equation="r0 + r_max / (1 + exp(-(x - x_half)/width))",
    f=sigmoid, h=_h_sigmoid, dfdx=_d_sigmoid, jac=_j_sigmoid,
    guess_fn=partial(guess_step, unit_width=2 * _LN3), **_STEP,
)  # fmt: skip

# --- tanh -------------------------------------------------------------------------------------


def tanh(x, x_half, width, r_max, r0):
    """Hyperbolic-tangent curve: r0 + r_max * 0.5 * (1 + tanh((x - x_half)/width)).

    The same family as :func:`sigmoid` with twice the width (0.5*(1 + tanh(u)) = logistic(2u)),
    which is also how it is computed: 1 + tanh(u) would cancel for u << 0.
    """
    return r0 + _h_tanh(x, x_half, width, r_max)


def _h_tanh(x, x_half, width, r_max):
    return r_max * logistic(2.0 * (np.asarray(x, dtype=float) - x_half) / width)


def _d_tanh(x, x_half, width, r_max, r0=0.0):
    return 2.0 * r_max / width * logistic_prime(2.0 * (np.asarray(x, dtype=float) - x_half) / width)


def _j_tanh(x, x_half, width, r_max, r0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    dp = logistic_prime(2.0 * u)
    return np.column_stack(
        [-2.0 * r_max * dp / width, -2.0 * r_max * dp * u / width, logistic(2.0 * u),
         np.ones_like(u)]
    )  # fmt: skip


TANH = Form(
    name="tanh", equation="r0 + r_max * 0.5 * (1 + tanh((x - x_half)/width))",
    f=tanh, h=_h_tanh, dfdx=_d_tanh, jac=_j_tanh,
    guess_fn=partial(guess_step, unit_width=_LN3), **_STEP,
)  # fmt: skip

# --- erf --------------------------------------------------------------------------------------


def erf(x, x_half, width, r_max, r0):
    """Error-function (Gaussian cumulative) curve: r0 + r_max * 0.5 * (1 + erf((x - x_half)/width)).

    Computed as r_max * 0.5 * erfc(-(x - x_half)/width), which does not cancel for x << x_half.
    """
    return r0 + _h_erf(x, x_half, width, r_max)


def _h_erf(x, x_half, width, r_max):
    return r_max * 0.5 * erfc(-(np.asarray(x, dtype=float) - x_half) / width)


def _d_erf(x, x_half, width, r_max, r0=0.0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    return r_max / (width * np.sqrt(np.pi)) * gauss(u)


def _j_erf(x, x_half, width, r_max, r0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    dh_du = r_max / np.sqrt(np.pi) * gauss(u)
    return np.column_stack([-dh_du / width, -dh_du * u / width, 0.5 * erfc(-u), np.ones_like(u)])


ERF = Form(
    name="erf", equation="r0 + r_max * 0.5 * (1 + erf((x - x_half)/width))",
    f=erf, h=_h_erf, dfdx=_d_erf, jac=_j_erf,
    # 0.5*(1 + erf(u)) = 0.75 at u = 0.476936
    guess_fn=partial(guess_step, unit_width=2 * 0.4769362762044699), **_STEP,
)  # fmt: skip
