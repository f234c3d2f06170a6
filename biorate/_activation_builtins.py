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
from .forms._stable import EXP_CLIP

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


def _elu(z: np.ndarray, alpha: float) -> np.ndarray:
    # alpha (e^z - 1) below 0 (Clevert et al. 2016); expm1 of z clipped to [-EXP_CLIP, 0]: exact
    # near 0, neither overflow nor underflow
    return np.where(z > 0, z, alpha * np.expm1(np.clip(z, -EXP_CLIP, 0.0)))


def _elu_prime(z: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(z > 0, 1.0, alpha * np.exp(np.clip(z, -EXP_CLIP, 0.0)))


_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu(z: np.ndarray) -> np.ndarray:
    # z * Phi(z) in the tanh form of Hendrycks & Gimpel (2016), as BERT and GPT-2 use it: NumPy has
    # no erf (the exact form differs by < 1e-3); 0.5 (1 + tanh u) = logistic(2u), overflow-free
    return z * logistic(2.0 * _GELU_C * (z + 0.044715 * z**3))


def _gelu_prime(z: np.ndarray) -> np.ndarray:
    u = 2.0 * _GELU_C * (z + 0.044715 * z**3)
    return logistic(u) + z * logistic_prime(u) * 2.0 * _GELU_C * (1.0 + 3 * 0.044715 * z**2)


def _swish(z: np.ndarray, beta: float) -> np.ndarray:
    # z * sigmoid(beta z) (Ramachandran, Zoph & Le 2017; beta = 1 is SiLU)
    return z * logistic(beta * z)


def _swish_prime(z: np.ndarray, beta: float) -> np.ndarray:
    return logistic(beta * z) + beta * z * logistic_prime(beta * z)


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
    # parameters a network learns, one value per unit, starting at the activation's value
    # (PReLU's slope, swish's beta), with the partial derivative of g with respect to each
    learned: tuple[str, ...] = ()
    param_grads: dict[str, Callable[..., np.ndarray]] = field(default_factory=dict)
    # parameters that must be whole numbers (maxout's k)
    integers: tuple[str, ...] = ()
    # how many pre-activations a unit takes the maximum of (maxout's k; 1 for every other unit)
    pieces: Callable[[dict], int] = lambda p: 1


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
    # the smooth units of the comparison (sources 003/004): their minima are -alpha (elu),
    # -0.170 (gelu, at z = -0.752) and -0.278/beta (swish, at beta z = -1.278)
    "elu": _Builtin(lambda z, alpha: _elu(z, alpha), lambda z, alpha: _elu_prime(z, alpha),
                    lambda p: (-p["alpha"], math.inf), {"alpha": 1.0}, {"alpha": (0.01, 10.0)}),
    "gelu": _Builtin(_gelu, _gelu_prime, lambda p: (-0.17005, math.inf), {}),
    "swish": _Builtin(lambda z, beta: _swish(z, beta), lambda z, beta: _swish_prime(z, beta),
                      lambda p: (-0.27847 / p["beta"], math.inf), {"beta": 1.0},
                      {"beta": (0.1, 10.0)}),
    # units with learned parameters (source 004): PReLU, a leaky_relu whose slope below 0 every
    # unit learns (He et al. 2015, who start it at 0.25 and apply no weight decay to it), and
    # swish whose beta every unit learns (Ramachandran, Zoph & Le 2017)
    "prelu": _Builtin(lambda z, alpha: _leaky(z, alpha), lambda z, alpha: _leaky_prime(z, alpha),
                      lambda p: (-math.inf, math.inf), {"alpha": 0.25}, {"alpha": (0.0, 1.0)},
                      init_gain=lambda p: 2.0 / (1.0 + p["alpha"] ** 2), learned=("alpha",),
                      param_grads={"alpha": lambda z, alpha: np.minimum(z, 0.0)}),
    "swish_learned": _Builtin(lambda z, beta: _swish(z, beta), lambda z, beta: _swish_prime(z, beta),
                              lambda p: (-math.inf, math.inf), {"beta": 1.0}, {"beta": (0.1, 10.0)},
                              learned=("beta",),
                              param_grads={"beta": lambda z, beta: z * z * logistic_prime(beta * z)}),
    # maxout (Goodfellow et al. 2013): a unit outputs the largest of k linear pieces z_1..z_k, so
    # g itself is the identity and the network takes the maximum (its projections have k columns
    # per unit: the pieces' weights live there, see biorate.network.graph)
    "maxout": _Builtin(lambda z, k: z, lambda z, k: np.ones_like(z), lambda p: (-math.inf, math.inf),
                       {"k": 2.0}, {"k": (2.0, 16.0)}, integers=("k",),
                       pieces=lambda p: int(p["k"])),
}  # fmt: skip
