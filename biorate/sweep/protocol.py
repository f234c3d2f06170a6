"""A sweep spec's ``[protocol]`` table, checked and converted: the measurement's protocol in SI
(``duration_s``, ``dt_s``, ...), the curve's x axis (``x`` with ``x_unit``), the seed and target.
Checked with the spiking side's own rules (:mod:`biorate.spiking.protocol`) without Brian2."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError, ProtocolError, UnitError
from ..models import Model, fi_drive
from ..spiking.protocol import (
    MAX_SPIKE_PROB,
    PATTERNS,
    TARGETS,
    check_levels,
    check_protocol,
    check_size,
    resolve_seed,
)
from ..units import CURRENT, FREQUENCY
from .values import scalar, si_values, unknown_keys

__all__ = ["read_protocol", "PROTOCOL_KEYS", "DEFAULTS", "TARGETS"]

PROTOCOL_KEYS = {
    "fi": {"drive", "current", "rate", "sigma", "bias", "duration", "transient", "trials", "dt",
           "seed", "target"},
    "release": {"rate", "pattern", "duration", "transient", "trials", "dt", "seed", "target"},
}  # fmt: skip
DEFAULTS = {
    "fi": {"duration": "2 s", "transient": "200 ms", "trials": 10, "dt": "0.1 ms"},
    "release": {"duration": "20 s", "transient": "2 s", "trials": 10, "dt": "0.1 ms"},
}


def read_protocol(table: dict, measure: str, model: Model) -> dict:
    """The protocol of a ``measure`` ("fi" or "release") sweep of ``model`` in SI, checked."""
    unknown_keys(set(table), PROTOCOL_KEYS[measure], f"[protocol] of a {measure} sweep")
    t = {**DEFAULTS[measure], **table}
    duration_s, transient_s, dt_s, trials = check_protocol(
        t["duration"], t["transient"], t["dt"], t["trials"]
    )
    if measure == "fi":  # the model as set (a swept t_ref is checked again at its point)
        model.check_dt(dt_s, relaxation=False)  # (relaxation: per point, in check_points)
    if "seed" not in t:
        raise ProtocolError("protocol.seed is required: a sweep must be reproducible to resume")
    seed = resolve_seed(t["seed"])
    target = t.get("target", "auto")
    if target not in TARGETS:
        raise ProtocolError(f"protocol.target must be one of {', '.join(TARGETS)}, got {target!r}")
    out: dict[str, Any] = {"duration_s": duration_s, "transient_s": transient_s, "trials": trials,
                           "dt_s": dt_s, "seed": seed, "target": target}  # fmt: skip
    if measure == "fi":
        axis, dim, x_unit = _fi_protocol(t, model, out)
    else:
        axis, dim, x_unit = "rate", FREQUENCY, "Hz"
        pattern = t.get("pattern", "poisson")
        if pattern not in PATTERNS:
            raise ProtocolError(f"protocol.pattern must be one of {', '.join(PATTERNS)}, "
                                f"got {pattern!r}")  # fmt: skip
        out["pattern"] = pattern
    x = _x_axis(t, axis, dim, measure, dt_s)
    check_size(x.size, trials, f"each point of the sweep ({measure})",
               steps=(transient_s + duration_s) / dt_s)  # fmt: skip
    out.update(x=[float(v) for v in x], x_unit=x_unit)
    return out


def _fi_protocol(t: dict, model: Model, out: dict) -> tuple[str, tuple, str]:
    """Check an f-I sweep's drive, sigma and bias into ``out``; the x axis's name, dim and unit."""
    drive = t.get("drive", "current")
    try:  # the rule measure_fi and theory.fi apply (models.fi_drive), named as the spec's fields
        sigma, bias = fi_drive(drive, scalar(t.get("sigma", 0), "protocol.sigma"),
                               scalar(t.get("bias", 0), "protocol.bias"))  # fmt: skip
    except (ProtocolError, UnitError) as exc:
        raise type(exc)(f"protocol.{exc}") from None
    axis, dim, x_unit = (
        ("current", CURRENT, "A") if drive == "current" else ("rate", FREQUENCY, "Hz")
    )
    other = "rate" if drive == "current" else "current"
    if other in t:
        raise ProtocolError(f"protocol.{other} does not apply to drive = {drive!r} (give {axis})")
    drive_spec = model.section("drive")
    if drive == "current" and not drive_spec.get("current"):
        raise ModelError(f"model {model.name!r} names no current variable in [drive]")
    if drive == "poisson" and not drive_spec.get("poisson"):
        raise ModelError(f"model {model.name!r} defines no [[drive.poisson]] inputs")
    out.update(drive=drive, sigma_V=sigma, bias_A=bias)
    return axis, dim, x_unit


def _x_axis(t: dict, axis: str, dim: tuple, measure: str, dt_s: float) -> np.ndarray:
    """The curve's levels in SI: at least two distinct, and rates the protocol can produce."""
    if axis not in t:
        raise ProtocolError(f"protocol.{axis} (the curve's x axis, e.g. "
                            f"{'0nA:0.5nA:21' if axis == 'current' else '1Hz:50Hz:20'}) is required")  # fmt: skip
    x = check_levels(si_values(t[axis], dim, f"protocol.{axis}"), dim, f"protocol.{axis}")
    if x.size < 2:
        raise ProtocolError(f"protocol.{axis} needs at least two distinct levels to fit a curve")
    if axis == "rate" and measure == "release":
        if np.any(x <= 0):
            raise ProtocolError("protocol.rate must be positive for a release curve")
        if np.max(x) * dt_s > MAX_SPIKE_PROB:
            raise ProtocolError(f"protocol.rate {np.max(x):g} Hz is too high for dt = "
                                f"{dt_s * 1e3:g} ms (rate*dt must be <= {MAX_SPIKE_PROB:g})")  # fmt: skip
    elif axis == "rate" and np.any(x < 0):
        raise ProtocolError("protocol.rate must not be negative")
    return x
