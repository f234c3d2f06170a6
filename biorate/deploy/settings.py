"""The settings of a deployment: every argument of :func:`biorate.deploy.deploy` checked and
converted to SI numbers before anything is built."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models import MIN_DT, check_whole_steps
from ..schema import is_integer, one_of
from ..units import FREQUENCY, TIME, to_si, to_si_array
from ._exact import METHODS, check_method
from .mapping import DeployError, SpikingOrigin

__all__ = ["ENCODINGS", "METHODS", "DEFAULT_DURATIONS", "Settings", "check_settings"]

ENCODINGS = ("current", "poisson")
DEFAULT_DURATIONS = ("50 ms", "100 ms", "200 ms", "500 ms")


# the fastest Poisson input accepted: a spike a microsecond (NumPy's Poisson sampler refuses means
# near 1e19; Brian2's PoissonGroup fires at most once a step)
MAX_INPUT_RATE = 1e6


@dataclass(frozen=True)
class Settings:
    """A deployment's settings in SI units (seconds, hertz): ``durations`` sorted, the longest
    last; ``npu`` neurons per unit; ``batch_size`` images per Brian2 network; ``method``
    ``"euler"`` (Brian2, the model's equations) or ``"exact"`` (:mod:`biorate.deploy._exact`)."""

    durations: list[float]
    tau_syn_s: float
    input_rate_hz: float
    transient_s: float
    dt_s: float
    encoding: str
    npu: int
    batch_size: int
    method: str = "euler"  # resolved: check_settings always gives it (never "auto")

    @property
    def t_max(self) -> float:
        return self.durations[-1]


def presentation_times(durations: Any) -> list[float]:
    """Presentation times in seconds, sorted: each given once and positive (DeployError)."""
    if isinstance(durations, list | tuple) and not all(isinstance(d, str) for d in durations):
        values = [to_si(d, TIME, "duration") for d in durations]  # e.g. [50*ms, "0.1 s"]
    else:  # a string ("50 ms", "50ms,100ms"), a Brian2 quantity or an array of them
        values = list(to_si_array(durations, TIME, "duration"))
    values = [float(v) for v in values]  # Python floats: their repr reads back ("0.05 s")
    out = sorted(set(values))
    if len(out) < len(values):
        raise DeployError(f"presentation times repeat a value: {durations!r}; give each once")
    if not out or out[0] <= 0:
        raise DeployError(f"presentation times must be positive, got {durations!r}")
    return out


def _count(value: Any, name: str) -> int:
    """An integer >= 1 (not a bool)."""
    if not is_integer(value) or value < 1:
        raise DeployError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


# the longest synaptic time constant: synaptic currents decay in 1-100 ms; at 1e30 s the input
# never reached the hidden units (spiking accuracy 0, exit 0)
MAX_TAU_SYN = 1.0


def synapse_and_step(origin: SpikingOrigin, tau_syn: Any, dt: Any) -> tuple[float, float]:
    """``(tau_syn_s, dt_s)`` in SI, checked as a deployment (and its NIR export) needs them:
    both positive, ``tau_syn >= dt``, and ``dt`` shorter than the model's time constants and
    refractory period; ``dt`` None takes the step of the activation's curve, else 0.1 ms."""
    tau_syn_s = to_si(tau_syn, TIME, "tau_syn")
    dt_s = to_si(dt, TIME, "dt") if dt is not None else (origin.dt_s or 1e-4)
    for name, value in (("tau_syn", tau_syn_s), ("dt", dt_s)):
        if value <= 0:
            raise DeployError(f"{name} must be positive, got {value:g} (SI units)")
    if dt_s < MIN_DT:
        raise DeployError(f"dt = {dt_s:g} s is too short: a time step must be at least 1 ns "
                          "(1000 times below the shortest time constant a model may have)")  # fmt: skip
    if tau_syn_s > MAX_TAU_SYN:
        raise DeployError(f"tau_syn = {tau_syn_s:g} s is longer than {MAX_TAU_SYN:g} s: a synaptic "
                          "current that slow never settles within a presentation (synapses "
                          "decay in 1-100 ms)")  # fmt: skip
    if tau_syn_s < dt_s:
        raise DeployError(f"tau_syn = {tau_syn_s:g} s is shorter than the time step dt = "
                          f"{dt_s:g} s: the synaptic current would decay within one step "
                          "(and diverge when integrated); use tau_syn >= dt")  # fmt: skip
    origin.model.check_dt(dt_s)  # the neurons keep their refractory period (as in measure_fi)
    return tau_syn_s, dt_s


def exact_default_dt(origin: SpikingOrigin) -> float:
    """The step ``method="exact"`` takes when none is given: 1 ms (Nengo's default), or half the
    refractory period when that is shorter (a neuron spikes at most once per step), rounded
    down to a step that divides 1 ms (t_ref 1.5 ms: 0.5 ms), so that presentation times of
    whole milliseconds are whole steps."""
    t_ref = float(origin.model.params["t_ref"].value)
    if t_ref <= 0 or t_ref > 2e-3:
        return 1e-3
    return 1e-3 / math.ceil(1e-3 / (t_ref / 2) - 1e-9)  # 2 ms -> 1 ms, 1.5 ms -> 0.5 ms


def check_settings(origin: SpikingOrigin, *, durations: Any, encoding: str,
                   neurons_per_unit: Any, tau_syn: Any, input_rate: Any, transient: Any,
                   dt: Any, batch_size: Any, method: Any = "auto") -> Settings:  # fmt: skip
    """Check and convert :func:`~biorate.deploy.deploy`'s arguments (see there); ``dt`` None
    takes the step of the activation's curve (``origin``), else 0.1 ms; with ``method="exact"``
    :func:`exact_default_dt` (1 ms for the shipped lif)."""
    method = check_method(method, origin.model)
    one_of(encoding, ENCODINGS, "encoding", DeployError)
    npu = _count(neurons_per_unit, "neurons_per_unit")
    batch = _count(batch_size, "batch_size")
    ds = presentation_times(durations)
    t_max = ds[-1]
    input_rate_hz = to_si(input_rate, FREQUENCY, "input_rate")
    transient_s = min(0.05, t_max / 2) if transient is None else to_si(transient, TIME, "transient")
    if not 0 < input_rate_hz <= (MAX_INPUT_RATE if encoding == "poisson" else np.inf):
        raise DeployError(f"input_rate must be positive and at most {MAX_INPUT_RATE:g} Hz (a "
                          f"spike a microsecond), got {input_rate_hz:g} Hz")  # fmt: skip
    given_dt = dt
    if dt is None and method == "exact":
        dt = f"{exact_default_dt(origin)!r} s"
    if method == "exact":  # its own reason first: a step holds one spike at most
        t_ref, dt_s = float(origin.model.params["t_ref"].value), to_si(dt, TIME, "dt")
        if 0 < t_ref <= dt_s:
            raise DeployError(f"method 'exact' needs dt below the refractory period t_ref = "
                              f"{t_ref:g} s (a neuron spikes at most once per step), got dt = "
                              f"{dt_s:g} s")  # fmt: skip
    tau_syn_s, dt_s = synapse_and_step(origin, tau_syn, dt)
    if ds[0] < dt_s:
        raise DeployError(f"presentation time {ds[0]:g} s is shorter than one time step "
                          f"(dt {dt_s:g} s); present each image for at least {dt_s:g} s")  # fmt: skip
    origin_dt = (
        ""
        if given_dt is not None
        else (
            ", the exact method's default" if method == "exact" else ", the activation curve's step"
        )
    )
    for d in ds:  # a presentation runs whole steps (50.4 ms at dt 1 ms would not)
        check_whole_steps(d, dt_s, "presentation time", DeployError,
                          origin_dt + ("; --dt sets it" if given_dt is None else ""))  # fmt: skip
    if transient is not None and not 0 <= transient_s < t_max:
        raise DeployError(f"transient ({transient_s:g} s) must lie in [0, {t_max:g} s), the "
                          "longest presentation time")  # fmt: skip
    return Settings(durations=ds, tau_syn_s=tau_syn_s, input_rate_hz=input_rate_hz,
                    transient_s=transient_s, dt_s=dt_s, encoding=encoding, npu=npu,
                    batch_size=batch, method=method)  # fmt: skip
