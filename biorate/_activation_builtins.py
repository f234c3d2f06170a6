"""The built-in unit-free activations of :mod:`biorate.activation` (value, derivative and range side
by side, with their parameters' defaults and domains), and the error for an unknown one. NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .errors import FitError
from .forms import logistic, logistic_prime, softplus_unit

__all__ = ["BUILTINS", "UnknownActivationError"]


class UnknownActivationError(FitError, KeyError):
    """No built-in activation, activation file or shipped fitted activation of that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _tanh_prime(z: np.ndarray) -> np.ndarray:
    # 1 - tanh(z)^2 = 4 e / (1 + e)^2 with e = exp(-2|z|): no cancellation, no overflow
    return 4.0 * logistic_prime(2.0 * z)


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _relu_prime(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(float)  # the kink gets slope 0, the usual convention


def _leaky(z: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(z > 0, z, alpha * z)


def _leaky_prime(z: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(z > 0, 1.0, alpha)


@dataclass(frozen=True)
class _Builtin:
    fn: Callable[..., np.ndarray]
    grad: Callable[..., np.ndarray]
    range: Callable[[dict], tuple[float, float]]
    defaults: dict[str, float]
    # each parameter's domain [lo, hi]: leaky_relu's alpha is a slope below 0, between a relu's (0)
    # and the identity's (1); beyond, g would fall as z rises, or grow faster below 0 than above
    domains: dict[str, tuple[float, float]] = field(default_factory=dict)
    # the gain of the weights' initial variance (gain/fan-in): 1 keeps a unit of slope ~1 at 0
    # (LeCun et al. 1998); a rectifier passes half its input's power, so gain 2/(1 + a^2) for a
    # slope a below 0 keeps the variance from layer to layer (He et al. 2015)
    init_gain: Callable[[dict], float] = lambda p: 1.0


BUILTINS: dict[str, _Builtin] = {
    "sigmoid": _Builtin(lambda z: logistic(z), lambda z: logistic_prime(z),
                        lambda p: (0.0, 1.0), {}),
    "tanh": _Builtin(np.tanh, _tanh_prime, lambda p: (-1.0, 1.0), {}),
    "relu": _Builtin(_relu, _relu_prime, lambda p: (0.0, math.inf), {},
                     init_gain=lambda p: 2.0),
    "leaky_relu": _Builtin(lambda z, alpha: _leaky(z, alpha), lambda z, alpha: _leaky_prime(z, alpha),
                           lambda p: (-math.inf if p["alpha"] > 0 else 0.0, math.inf),
                           {"alpha": 0.01}, {"alpha": (0.0, 1.0)},
                           init_gain=lambda p: 2.0 / (1.0 + p["alpha"] ** 2)),
    "softplus": _Builtin(softplus_unit, lambda z: logistic(z), lambda p: (0.0, math.inf), {}),
}  # fmt: skip
