"""Loss functions of the rate network, each with its output link and gradient side by side.

A loss sees the output population's activity ``y`` (shape ``(n, k)``) and targets ``t`` of the
same shape, and returns the mean loss over the ``n`` samples and ``dL/dy`` (already divided by
``n``). Which nonlinearity the output population applies is part of the loss's contract:

- ``softmax_ce``: the output is linear (logits); softmax is the loss's own link.
- ``sigmoid_ce``: the output is linear (logits); the logistic sigmoid is the link, one independent
  Bernoulli per output.
- ``squared_error``: the output applies the network's activation ``g`` and is compared with the
  targets directly (so targets must lie inside the activation's range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import NetworkError

__all__ = ["Loss", "LOSSES", "get_loss"]


def _softmax(y: np.ndarray) -> np.ndarray:
    # subtract the row maximum so that exp never overflows (softmax is shift invariant)
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(y: np.ndarray) -> np.ndarray:
    # 0.5*(1 + tanh(y/2)) is the logistic function without overflow for large |y|
    return 0.5 * (1.0 + np.tanh(0.5 * y))


@dataclass(frozen=True)
class Loss:
    """A named loss: ``value``/``grad`` of the mean loss, ``link`` maps outputs to predictions."""

    name: str
    linear_output: bool  # True: output population is linear, the link lives in the loss

    def value(self, y: np.ndarray, t: np.ndarray) -> float:
        n = y.shape[0]
        if self.name == "softmax_ce":
            # log-softmax via log-sum-exp: stable for large logits
            m = y.max(axis=1, keepdims=True)
            logp = y - m - np.log(np.exp(y - m).sum(axis=1, keepdims=True))
            return float(-(t * logp).sum() / n)
        if self.name == "sigmoid_ce":
            # -t log s(y) - (1-t) log(1-s(y)) = log(1+e^y) - t*y, with logaddexp for stability
            return float((np.logaddexp(0.0, y) - t * y).sum() / n)
        return float(0.5 * ((y - t) ** 2).sum() / n)

    def grad(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        n = y.shape[0]
        if self.name == "softmax_ce":
            return (_softmax(y) - t) / n
        if self.name == "sigmoid_ce":
            return (_sigmoid(y) - t) / n
        return (y - t) / n

    def value_and_grad(self, y: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """``(value(y, t), grad(y, t))`` with the work they share done once (bit-identical)."""
        if self.name != "softmax_ce":
            return self.value(y, t), self.grad(y, t)
        n = y.shape[0]
        ym = y - y.max(axis=1, keepdims=True)
        e = np.exp(ym)
        s = e.sum(axis=1, keepdims=True)
        value = float(-(t * (ym - np.log(s))).sum() / n)
        return value, (e / s - t) / n

    def link(self, y: np.ndarray) -> np.ndarray:
        """Outputs -> class scores (probabilities for the cross-entropies)."""
        if self.name == "softmax_ce":
            return _softmax(y)
        if self.name == "sigmoid_ce":
            return _sigmoid(y)
        return y


LOSSES = {
    "softmax_ce": Loss("softmax_ce", linear_output=True),
    "sigmoid_ce": Loss("sigmoid_ce", linear_output=True),
    "squared_error": Loss("squared_error", linear_output=False),
}


def get_loss(name: str) -> Loss:
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise NetworkError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
