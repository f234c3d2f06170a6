"""Poisson drive in the diffusion approximation: the mean shift and noise that Poisson input trains
give the free membrane potential (Campbell's theorem), and the inputs a model file declares."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import ModelError, ProtocolError
from ..models import Model
from ..models.protocol import input_trains
from ..units import VOLTAGE
from .lif import si_arrays

__all__ = ["poisson_diffusion", "poisson_inputs"]


def poisson_diffusion(
    rate: Any, J: Any, n_inputs: Any, tau_m: Any
) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """Diffusion approximation of ``n_inputs`` Poisson trains at ``rate`` (Hz) each adding ``J``
    (volts) to v: returns ``(mu_shift, sigma)`` in volts, the shift of the free membrane potential
    ``J*n_inputs*rate*tau_m`` and the free-membrane standard deviation
    ``sqrt(J**2*n_inputs*rate*tau_m/2)`` (Campbell's theorem for exponentially decaying jumps).
    Combine with white noise as ``sqrt(sigma_white**2 + sigma**2)``. Valid for ``|J| << V_th - V_reset``.
    """
    rate, J, n_inputs, tau_m = si_arrays(rate=rate, J=J, n_inputs=n_inputs, tau_m=tau_m)  # noqa: N806
    if np.any(~np.isfinite(rate)) or np.any(rate < 0):
        raise ProtocolError("input rates must be non-negative and finite")
    if np.any(n_inputs < 0):
        raise ModelError("n_inputs must not be negative")
    lam = n_inputs * rate * tau_m  # expected number of inputs within one membrane time constant
    return J * lam, np.sqrt(J * J * lam / 2.0)


# the jump of one Poisson input is a model parameter, optionally zero while refractory:
# weight "J", "-J_i", "J*int(not_refractory)" with target "v" (or on_pre "v += J*int(...)")
_WEIGHT = r"([+-]?)\s*([A-Za-z_]\w*)\s*(?:\*\s*int\s*\(\s*not_refractory\s*\)\s*)?"
_ON_PRE = re.compile(r"^\s*v\s*([+-])=\s*" + _WEIGHT + r";?\s*$")
_WEIGHT_RE = re.compile(r"^\s*" + _WEIGHT + r"$")


def poisson_inputs(model: Model) -> list[tuple[float, float]]:
    """``[(J in volts, n_inputs), ...]`` from the model's ``[[drive.poisson]]`` tables, each either
    ``target = "v"`` with ``weight = "J*int(not_refractory)"`` or ``on_pre = "v += J"``."""
    specs = model.section("drive").get("poisson")
    if not specs:
        raise ModelError(f"model {model.name!r} defines no [[drive.poisson]] inputs")
    out = []
    for spec in specs:
        label = f"model {model.name!r}: poisson input {spec.get('name', '?')!r}"
        if "on_pre" in spec:
            m = _ON_PRE.match(str(spec["on_pre"]))
            sign = (
                (-1.0 if m.group(1) == "-" else 1.0) * (-1.0 if m.group(2) == "-" else 1.0)
                if m
                else 1.0
            )
            name = m.group(3) if m else None
        else:
            m = _WEIGHT_RE.match(str(spec.get("weight", ""))) if spec.get("target") == "v" else None
            sign = -1.0 if (m and m.group(1) == "-") else 1.0
            name = m.group(2) if m else None
        if name is None:
            raise ModelError(
                f"{label}: the diffusion approximation needs a jump of v by one voltage parameter "
                f"(target 'v', weight 'J' or 'J*int(not_refractory)')"
            )
        p = model.param(name)
        if p.dim != VOLTAGE:
            raise ModelError(f"{label}: jump {name!r} is not a voltage")
        out.append((sign * p.value, input_trains(spec)))
    return out
