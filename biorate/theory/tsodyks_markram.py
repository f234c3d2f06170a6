"""Synaptic release: the Tsodyks-Markram (1997) steady state of a depressing synapse, PNAS
94:719-723, doi:10.1073/pnas.94.2.719."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError, ProtocolError
from ..models.checks import MAX_TIME
from .lif import si_arrays

__all__ = ["tm_release_rate"]


def tm_release_rate(nu: Any, U: Any, tau_rec: Any) -> np.ndarray:  # noqa: N803
    """Tsodyks-Markram (1997) steady state for Poisson (or regular) presynaptic spikes at ``nu`` (Hz):
    the fraction of the vesicle pool released per second, ``U*nu / (1 + U*nu*tau_rec)`` (1/s).

    Each spike releases U*x of the available fraction x, which recovers as dx/dt = (1 - x)/tau_rec;
    the mean available fraction is 1/(1 + U*nu*tau_rec) (exact in the mean for Poisson input).
    ``U`` dimensionless in (0, 1], ``tau_rec`` seconds; broadcast.
    """
    nu, U, tau_rec = si_arrays(nu=nu, U=U, tau_rec=tau_rec)  # noqa: N806
    if np.any(~np.isfinite(nu)) or np.any(nu < 0):
        raise ProtocolError("presynaptic rates must be non-negative and finite")
    if np.any(~(U > 0)) or np.any(U > 1):
        raise ModelError("U must lie in (0, 1]")
    if np.any(~np.isfinite(tau_rec)) or np.any(tau_rec < 0) or np.any(tau_rec > MAX_TIME):
        raise ModelError(f"tau_rec must be non-negative and at most {MAX_TIME:g} s, as a model's "
                         "time")  # fmt: skip
    if np.any(nu > 1e12):  # (U*nu*tau_rec would overflow; no presynaptic rate comes near)
        raise ProtocolError("presynaptic rates must be at most 1e12 Hz")
    return U * nu / (1.0 + U * nu * tau_rec)
