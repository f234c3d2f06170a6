"""Test helpers for the rate network: activations to test with and finite differences."""

from __future__ import annotations

import numpy as np

from biorate.activation import Activation, get_activation, shipped_activations_dir

BUILTINS = [
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softplus",
    "elu",
    "gelu",
    "swish",
    "prelu",
    "swish_learned",
    "maxout",
]


def fitted_activation() -> Activation:
    """A fitted-looking sigmoid f-I curve (amperes -> Hz) with non-trivial scales, so that
    g(z) = (f(x_offset + x_scale*z) - r0)/y_scale is not the plain logistic."""
    return Activation(form="sigmoid", x_unit="A", y_unit="Hz", x_scale=0.07e-9,
                      x_offset=0.23e-9, y_scale=80.0, name="fitted_stand_in",
                      params={"x_half": 0.25e-9, "width": 0.06e-9, "r_max": 95.0, "r0": 2.0})  # fmt: skip


def lif_activation(name: str = "lif") -> Activation:
    """The shipped fitted LIF activation ``models/activations/NAME.json``, loaded from that file (a
    user folder cannot shadow it). A missing one raises :class:`FileNotFoundError`: it is never
    swapped for a stand-in (tests that want one call :func:`fitted_activation`)."""
    path = shipped_activations_dir() / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"shipped activation {path} is missing")
    act = get_activation(path)
    assert act.is_fitted and act.form in ("lif", "soft_lif"), act.describe()
    return act


def activation(name: str) -> Activation:
    """A built-in by name, ``"fitted"`` (the stand-in :func:`fitted_activation`) or ``"lif"`` (the
    shipped one, :func:`lif_activation`: an error if it is missing)."""
    if name == "fitted":
        return fitted_activation()
    if name == "lif":
        return lif_activation()
    return get_activation(name)


def numerical_grads(net, X, y, params, eps=1e-5):
    """Central differences of the loss for every parameter entry (small nets only)."""
    out = {}
    for k, w in params.items():
        g = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            old = w[i]
            w[i] = old + eps
            lp = net.loss_and_grads(X, y, params, offset=0.0)[0]
            w[i] = old - eps
            lm = net.loss_and_grads(X, y, params, offset=0.0)[0]
            w[i] = old
            g[i] = (lp - lm) / (2 * eps)
        out[k] = g
    return out


def max_relative_error(a: dict, b: dict) -> float:
    """max over parameters of max|a - b| / max(|a|, |b|) (per parameter array)."""
    return max(
        float(np.abs(a[k] - b[k]).max() / max(np.abs(a[k]).max(), np.abs(b[k]).max(), 1e-300))
        for k in a
    )
