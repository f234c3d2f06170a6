"""Test helpers for the rate network: a stand-in Activation with the interface of
``biorate.activation`` (``__call__``, analytic ``derivative``, ``bounds``, ``to_dict``/``from_dict``,
``name``), used so that engine tests do not depend on the fitting code, and finite differences."""

from __future__ import annotations

import numpy as np


class StandInActivation:
    """g(z) = (f(x_offset + x_scale*z) - r0) / y_scale for the ``sigmoid`` form, plus built-ins."""

    def __init__(self, form: str, x_scale: float = 1.0, x_offset: float = 0.0,
                 y_scale: float = 1.0, r0: float = 0.0, r_max: float = 1.0,
                 x_half: float = 0.0, width: float = 1.0) -> None:  # fmt: skip
        self.form, self.name = form, form
        self.p = dict(x_scale=x_scale, x_offset=x_offset, y_scale=y_scale, r0=r0, r_max=r_max,
                      x_half=x_half, width=width)  # fmt: skip

    def _inner(self, z):
        p = self.p
        return (p["x_offset"] + p["x_scale"] * z - p["x_half"]) / p["width"]

    def __call__(self, z):
        z = np.asarray(z)
        p = self.p
        if self.form == "sigmoid":
            s = 0.5 * (1 + np.tanh(0.5 * self._inner(z)))
            return (p["r0"] + p["r_max"] * s - p["r0"]) / p["y_scale"]
        if self.form == "tanh":
            return np.tanh(z)
        if self.form == "relu":
            return np.maximum(z, 0)
        if self.form == "leaky_relu":
            return np.where(z > 0, z, 0.01 * z)
        if self.form == "softplus":
            return np.logaddexp(0, z)
        raise ValueError(self.form)

    def derivative(self, z):
        z = np.asarray(z)
        p = self.p
        if self.form == "sigmoid":
            s = 0.5 * (1 + np.tanh(0.5 * self._inner(z)))
            return p["r_max"] * s * (1 - s) * p["x_scale"] / p["width"] / p["y_scale"]
        if self.form == "tanh":
            return 1 - np.tanh(z) ** 2
        if self.form == "relu":
            return (z > 0).astype(z.dtype)
        if self.form == "leaky_relu":
            return np.where(z > 0, 1.0, 0.01).astype(z.dtype)
        if self.form == "softplus":
            return 0.5 * (1 + np.tanh(0.5 * z))
        raise ValueError(self.form)

    @property
    def bounds(self):
        p = self.p
        if self.form == "sigmoid":
            return (0.0, p["r_max"] / p["y_scale"])
        return {"tanh": (-1.0, 1.0), "relu": (0.0, np.inf), "leaky_relu": (-np.inf, np.inf),
                "softplus": (0.0, np.inf)}[self.form]  # fmt: skip

    def to_dict(self):
        return {"kind": "activation", "form": self.form, **self.p}

    @classmethod
    def from_dict(cls, d):
        return cls(d["form"], **{k: v for k, v in d.items() if k not in ("kind", "form")})


BUILTINS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus"]


def fitted_stand_in() -> StandInActivation:
    """A 'fitted' sigmoid with non-trivial scales (as a LIF f-I fit would give, unit free)."""
    return StandInActivation("sigmoid", x_scale=0.7, x_offset=0.3, y_scale=80.0, r0=0.0,
                             r_max=95.0, x_half=0.5, width=0.8)  # fmt: skip


def numerical_grads(net, X, y, params, eps=1e-5):
    """Central differences of the loss for every parameter entry (small nets only)."""
    out = {}
    for k, w in params.items():
        g = np.zeros_like(w)
        it = np.nditer(w, flags=["multi_index"])
        for _ in it:
            i = it.multi_index
            old = w[i]
            w[i] = old + eps
            lp = net.loss_and_grads(X, y, params, offset=0.0)[0]
            w[i] = old - eps
            lm = net.loss_and_grads(X, y, params, offset=0.0)[0]
            w[i] = old
            g[i] = (lp - lm) / (2 * eps)
        out[k] = g
    return out
