"""What a protocol may ask of a model, checked as simulation and theory both take it: the time
step, currents within +-1 A, the x axis and the noise and bias of an f-I protocol. Re-exported by
:mod:`biorate.models`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ProtocolError
from ..schema import one_of
from ..units import CURRENT, FREQUENCY, TIME, VOLTAGE, Dim, format_quantity, to_si, to_si_array
from .checks import MAX_CURRENT

__all__ = [
    "DRIVES",
    "MIN_DT",
    "check_dt",
    "check_whole_steps",
    "whole_steps",
    "check_current",
    "fi_axis",
    "fi_drive",
    "levels",
    "check_levels",
    "check_input_rates",
    "input_trains",
    "MAX_INPUT_RATE",
    "MAX_TOTAL_INPUT_RATE",
]

# how a neuron model is driven for an f-I curve, measured (biorate.spiking) or predicted
# (biorate.theory): "current" (its [drive] current variable plus white noise) or "poisson" (its
# [[drive.poisson]] input trains, the curve's x axis their rate)
DRIVES = ("current", "poisson")


# The shortest time step of a simulation or of the theory's Euler prediction: 1 ns, a thousand
# times below the shortest time constant a model may have (1 us), so no dt that resolves a model
# is refused; below it the theory's refractory step count overflows (dt = 1e-320 s gave an all-zero
# curve and 2**63 - 1 steps) and a simulation would be ~1e9 steps per millisecond
MIN_DT = 1e-9


def check_dt(dt: Any) -> float:
    """A protocol's time step in SI (s), as simulation and theory both take it: a positive time
    of at least :data:`MIN_DT`; :class:`ProtocolError` otherwise (the model's own limits are
    :meth:`Model.check_dt`)."""
    if isinstance(dt, int) and not isinstance(dt, bool) and abs(dt) > 1e308:
        raise ProtocolError("dt: a number too large for a float")
    dt_s = to_si(dt, TIME, "dt")
    if dt_s <= 0:
        raise ProtocolError(f"dt must be positive, got {dt}")
    if dt_s < MIN_DT:
        raise ProtocolError(f"dt = {dt_s:g} s is too short: a time step must be at least 1 ns "
                            "(1000 times below the shortest time constant a model may have)")  # fmt: skip
    return dt_s


def whole_steps(duration_s: float, dt_s: float) -> bool:
    """Whether ``duration_s`` is a whole number of steps ``dt_s`` (within 1e-6 of a step)."""
    steps = duration_s / dt_s
    return abs(steps - round(steps)) <= 1e-6 + 1e-12 * steps


def check_whole_steps(duration_s: float, dt_s: float, what: str,
                      error: type[Exception] = ProtocolError, origin: str = "") -> None:  # fmt: skip
    """Refuse a duration that is not a whole number of time steps (within 1e-6 of a step, far
    above float rounding): a run takes whole steps, so 50.4 ms at dt 1 ms would not run 50.4 ms
    (Brian2 takes 51, a rounding loop 50), and two such times could read the same steps.
    ``origin`` says where dt came from when the user did not give it."""
    steps = duration_s / dt_s
    if not whole_steps(duration_s, dt_s):
        near = sorted({max(1, math.floor(steps)), math.ceil(steps)})
        choices = " or ".join(format_quantity(n * dt_s, TIME) for n in near)
        raise error(f"{what} {format_quantity(duration_s, TIME)} is not a whole number of time "
                    f"steps (dt {format_quantity(dt_s, TIME)}{origin}: {steps:.6g} steps); "
                    f"use a multiple of dt, e.g. {choices}")  # fmt: skip


def check_current(x: Any, name: str) -> None:
    """Refuse a current (A, SI: a number or an array) beyond +-:data:`MAX_CURRENT`, naming
    ``name`` (the bias, the current levels): :class:`ProtocolError`."""
    top = float(np.max(np.abs(x))) if np.size(x) else 0.0
    if top > MAX_CURRENT:
        raise ProtocolError(f"{name} must lie within +-1 A (a neuron's currents are nA), got "
                            f"{format_quantity(top, CURRENT, 'A')} in magnitude")  # fmt: skip


def fi_axis(drive: str, current: Any, rate: Any) -> tuple[Any, Dim, str]:
    """The x axis an f-I protocol takes for ``drive``: ``(value, dimension, name)`` of
    ``current`` (``drive="current"``) or ``rate`` (``drive="poisson"``); the other must not be
    given, and the one it takes must be (:class:`ProtocolError` naming which)."""
    take, other, dim = (("current", "rate", CURRENT) if drive == "current" else
                        ("rate", "current", FREQUENCY))  # fmt: skip
    given = {"current": current, "rate": rate}
    if given[other] is not None:
        raise ProtocolError(f"drive={drive!r} takes {take}=..., not {other}=...")
    if given[take] is None:
        raise ProtocolError(f"drive={drive!r} needs {take}=... (the curve's x axis); none given")
    return given[take], dim, take


def fi_drive(drive: str, sigma: Any, bias: Any) -> tuple[float, float]:
    """An f-I protocol's ``(sigma_v, bias_a)`` in SI (V, A), checked as simulation and theory
    both take them: ``drive`` one of :data:`DRIVES`, ``sigma`` >= 0, and a non-zero ``bias`` with
    ``drive="poisson"`` only (with an injected current, shifting the levels is the bias);
    :class:`ProtocolError` otherwise."""
    one_of(drive, DRIVES, "drive", ProtocolError)
    sigma_v = to_si(sigma, VOLTAGE, "sigma")
    if not 0 <= sigma_v <= 10.0:
        raise ProtocolError(f"sigma must lie in [0, 10 V] (a membrane's noise is mV), got {sigma}")
    bias_a = to_si(bias, CURRENT, "bias")
    check_current(bias_a, "bias")
    if bias_a and drive == "current":
        raise ProtocolError("bias is the constant current added to drive='poisson'; with "
                            "drive='current' shift the current levels instead")  # fmt: skip
    return sigma_v, bias_a


def levels(value: Any, dim: Dim, name: str) -> np.ndarray:
    """The levels of a curve's x axis in SI (a range ``"0nA:0.5nA:51"``, a list, quantities):
    each given once and in increasing order, else :class:`ProtocolError` (a repeated level is a
    neuron that more trials give; a curve is read, fitted and drawn in the order of its x). One
    level is measured: :func:`biorate.spiking.protocol.note_single_level` says what it gives."""
    return check_levels(to_si_array(value, dim, name), dim, name)


def check_levels(x: np.ndarray, dim: Dim, name: str) -> np.ndarray:
    """``x`` (SI levels) when each is given once and in increasing order, else
    :class:`ProtocolError` (the rule of :func:`levels`, for levels already parsed); currents
    within +-1 A (:func:`~biorate.models.check_current`, the rule of the bias and the theory)."""
    if dim == CURRENT:
        check_current(x, name)
    unique, counts = np.unique(x, return_counts=True)
    if unique.size < x.size:
        shown = format_quantity(float(unique[np.argmax(counts > 1)]), dim)
        raise ProtocolError(f"{name} repeats the level {shown}; give each level once (--trials "
                            "gives each level more neurons)")  # fmt: skip
    down = np.flatnonzero(np.diff(x) < 0)
    if down.size:
        a, b = (format_quantity(float(v), dim) for v in x[down[0] : down[0] + 2])
        raise ProtocolError(f"{name} levels must increase, but {b} follows {a}; list them in "
                            "increasing order (START:STOP:COUNT with START < STOP)")  # fmt: skip
    return x


# the fastest presynaptic (Poisson input) rate a protocol takes: a spike a microsecond per input
# (Brian2's Cython poisson() returned 0 spikes from ~3e10 Hz, a silent 0 Hz curve)
MAX_INPUT_RATE = 1e6


# the most input spikes a neuron may receive a second, all its Poisson inputs together: a spike a
# nanosecond (the shipped models' 1,000 inputs at MAX_INPUT_RATE; a model declaring 1e8 inputs at
# 1 MHz made Brian2's Cython poisson() return 0 spikes, a silent 0 Hz curve)
MAX_TOTAL_INPUT_RATE = 1e9


def input_trains(spec: Any) -> float:
    """The number of Poisson trains one ``[[drive.poisson]]`` input stands for: ``n_inputs *
    rate_scale`` (the model checks hold both in their domains)."""
    return float(spec.get("n_inputs", 1)) * float(spec.get("rate_scale", 1.0))


def check_input_rates(x: np.ndarray, name: str = "rate", model: Any = None) -> np.ndarray:
    """Presynaptic rates (Hz): non-negative and at most :data:`MAX_INPUT_RATE`, and with a
    ``model``, at most :data:`MAX_TOTAL_INPUT_RATE` over all its Poisson inputs together (each
    ``[[drive.poisson]]`` counts ``n_inputs * rate_scale`` trains), else :class:`ProtocolError`
    naming ``name``."""
    if np.any(x < 0):
        raise ProtocolError(f"{name} must not be negative")
    top = float(np.max(x)) if x.size else 0.0
    if top > MAX_INPUT_RATE:
        raise ProtocolError(f"{name} must be at most {MAX_INPUT_RATE:g} Hz (a spike a "
                            f"microsecond per input), got {top:g} Hz")  # fmt: skip
    inputs = model.section("drive").get("poisson") if model is not None else None
    n = sum(input_trains(i) for i in inputs or ())
    if n > 0 and top * n > MAX_TOTAL_INPUT_RATE:
        raise ProtocolError(f"{name}: {top:g} Hz on each of the model's {n:g} Poisson input "
                            f"trains is {top * n:g} input spikes a second, more than "
                            f"{MAX_TOTAL_INPUT_RATE:g} (a spike a nanosecond); give at most "
                            f"{MAX_TOTAL_INPUT_RATE / n:g} Hz, or fewer inputs")  # fmt: skip
    return x
