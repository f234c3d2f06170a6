"""Optimizers for the rate network: SGD with momentum and Adam.

An optimizer keeps its own state per parameter name and updates a ``dict[str, ndarray]`` of
parameters in place from a dict of gradients of the same shapes.
"""

from __future__ import annotations

import numpy as np

from ..errors import NetworkError

__all__ = [
    "SGD",
    "Adam",
    "make_optimizer",
    "default_learning_rate",
    "DEFAULT_BATCH_SIZE",
    "OPTIMIZERS",
]


class SGD:
    """v <- momentum*v - lr*g;  w <- w + v  (classical momentum, Polyak 1964)."""

    def __init__(self, learning_rate: float = 0.1, momentum: float = 0.9) -> None:
        self.learning_rate, self.momentum = learning_rate, momentum
        self._v: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for k, g in grads.items():
            v = self._v.get(k)
            if v is None:
                v = self._v[k] = np.zeros_like(g)
            v *= self.momentum
            v -= self.learning_rate * g
            params[k] += v


class Adam:
    """Adam (Kingma & Ba 2015, arXiv:1412.6980) with bias-corrected moment estimates.

    The moments of all parameters live in one flat array each, so that a step costs a dozen
    array operations whatever the number of parameter arrays (the same arithmetic, element by
    element and in the same precision, as a loop over them: moments in the parameters' dtype,
    the step in float64)."""

    def __init__(self, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:  # fmt: skip
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self._keys: list[str] | None = None
        self._t = 0

    def _setup(self, grads: dict[str, np.ndarray]) -> None:
        self._keys = list(grads)
        sizes = [grads[k].size for k in self._keys]
        self._slices = np.cumsum([0, *sizes])
        dtype = np.result_type(*(grads[k] for k in self._keys))
        n = int(self._slices[-1])
        self._m, self._v, self._g, self._buf = (np.zeros(n, dtype) for _ in range(4))
        # the step, in float64 as lr * m is (lr is a float64 scalar), and each parameter array's
        # part of it: a view into the flat step buffer, made once
        self._step = np.zeros(n, np.result_type(dtype, np.float64))
        self._steps = [self._step[a:b].reshape(grads[k].shape)
                       for k, a, b in zip(self._keys, self._slices[:-1], self._slices[1:],
                                          strict=True)]  # fmt: skip

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if self._keys is None or list(grads) != self._keys:
            if self._keys is not None:
                raise ValueError("Adam.step: the parameter set changed between steps")
            self._setup(grads)
        self._t += 1
        # fold both bias corrections into the step size (same algorithm, fewer array ops)
        lr = self.learning_rate * np.sqrt(1 - self.beta2**self._t) / (1 - self.beta1**self._t)
        g, m, v, buf, step, keys = self._g, self._m, self._v, self._buf, self._step, self._keys
        np.concatenate([grads[k].ravel() for k in keys], out=g)
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        np.multiply(g, 1 - self.beta2, out=buf)
        buf *= g
        v += buf
        np.sqrt(v, out=buf)
        buf += self.eps
        np.multiply(m, lr, out=step)
        step /= buf
        for k, part in zip(keys, self._steps, strict=True):
            params[k] -= part


# the learning rate used when none is given: Adam's suits the default batch of 256 (issue 12:
# benchmarks/train_defaults.py measured batch and rate together on digits)
DEFAULT_LEARNING_RATE = {"adam": 5e-3, "sgd": 0.1}
# graphs with feedback keep smaller, gentler steps: backpropagation through their recurrent
# dynamics at batch 256 and Adam 5e-3 let the training loss climb again after 25-40 epochs in two
# of five tanh nets on digits (test accuracy 0.9511 +- 0.0179 against 0.9644 +- 0.0066 at batch
# 32 and Adam 1e-3; a smaller rate alone, 2e-3 or 1e-3 at batch 256, did not help)
DEFAULT_BATCH_SIZE = {"acyclic": 256, "feedback": 32}
DEFAULT_LEARNING_RATE_FEEDBACK = {"adam": 1e-3, "sgd": 0.1}


OPTIMIZERS = ("adam", "sgd")


def default_learning_rate(name: str, feedback: bool) -> float | None:
    """The learning rate ``name`` gets when none is given (None for an unknown optimizer, which
    :func:`make_optimizer` refuses)."""
    return (DEFAULT_LEARNING_RATE_FEEDBACK if feedback else DEFAULT_LEARNING_RATE).get(name)


def make_optimizer(name: str, learning_rate: float | None, momentum: float,
                   feedback: bool = False) -> SGD | Adam:  # fmt: skip
    """The optimizer ``name`` at ``learning_rate`` (None: :func:`default_learning_rate`)."""
    if learning_rate is not None and not 0 < learning_rate < np.inf:
        raise NetworkError(f"learning_rate must be a positive finite number, got {learning_rate}")
    lr = default_learning_rate(name, feedback) if learning_rate is None else learning_rate
    if name == "adam":
        return Adam(lr)
    if name == "sgd":
        if not 0 <= momentum < 1:
            raise NetworkError(f"momentum must be in [0, 1), got {momentum}")
        return SGD(lr, momentum)
    raise NetworkError(f"unknown optimizer {name!r}; choose 'adam' or 'sgd'")
