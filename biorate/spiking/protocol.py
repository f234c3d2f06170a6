"""What every Brian2 measurement checks before anything is built, NumPy only (no Brian2): the
protocol (duration, transient, dt, trials), the code-generation targets, the size against the
memory available, the seed; the presynaptic spike patterns; and the worker-safe Brian2 import.

:mod:`biorate.sweep` validates a spec with these without loading the simulator.
"""

from __future__ import annotations

import secrets
import signal
import sys
import threading
from typing import Any

import numpy as np

from ..errors import ProtocolError
from ..io import check_memory, format_bytes, limit_from_env
from ..models import DRIVES
from ..units import TIME, to_si

__all__ = [
    "TARGETS",
    "DRIVES",
    "PATTERNS",
    "MAX_SPIKE_PROB",
    "BYTES_PER_NEURON",
    "MAX_NEURONS",
    "MAX_NEURON_STEPS",
    "max_neuron_steps",
    "check_protocol",
    "check_size",
    "check_target",
    "resolve_seed",
    "pooled_cv",
    "import_brian2",
]

TARGETS = ("auto", "numpy", "cython")
PATTERNS = ("poisson", "regular")

# A presynaptic train spikes at most once per time step, with probability rate*dt; above ~0.1 the
# Bernoulli train departs visibly from a Poisson process (and regular trains jitter by a whole
# step against a period of few steps), so the protocol asks for a smaller dt instead.
MAX_SPIKE_PROB = 0.1

# Memory one simulated neuron (or terminal) takes, state and temporaries: measured 155-260 bytes on
# the NumPy target (lif with noise, cond_lif with Poisson drive, tm_release, 100 000 each); the
# estimate rounds up. Brian2 indexes a group with int32.
BYTES_PER_NEURON = 320
MAX_NEURONS = 2**31 - 1
# Work refused up front unless the user raises the limit ($BIORATE_MAX_NEURON_STEPS): Brian2 integrates
# about 1e7-1e8 neuron-steps per second, so 1e12 is hours of simulation. Brian2's clock counts steps
# in integers that must stay exact in a float64 time.
MAX_NEURON_STEPS = 1e12
_MAX_STEPS = 2**52

_IMPORT_LOCK = threading.Lock()


def check_target(target: str) -> None:
    """Refuse a code-generation target other than :data:`TARGETS`."""
    if target not in TARGETS:
        raise ProtocolError(f"codegen target must be one of {', '.join(TARGETS)}, got {target!r}")


def check_protocol(
    duration: Any, transient: Any, dt: Any, trials: Any
) -> tuple[float, float, float, int]:
    """Validate and convert the protocol shared by all measurements (SI seconds)."""
    for name, value in (("duration", duration), ("transient", transient), ("dt", dt)):
        if isinstance(value, int) and abs(value) > 1e308:  # beyond float: to_si would overflow
            raise ProtocolError(f"{name}: a number too large for a float")
    duration_s = to_si(duration, TIME, "duration")
    transient_s = to_si(transient, TIME, "transient")
    dt_s = to_si(dt, TIME, "dt")
    if duration_s <= 0:
        raise ProtocolError(f"duration must be positive, got {duration}")
    if transient_s < 0:
        raise ProtocolError(f"transient must not be negative, got {transient}")
    if dt_s <= 0 or dt_s > duration_s:
        raise ProtocolError(f"dt must be positive and shorter than the duration, got {dt}")
    if (isinstance(trials, bool) or not isinstance(trials, int | np.integer)
            or not 1 <= trials <= MAX_NEURONS):  # fmt: skip
        shown = repr(trials)[:20] + ("..." if len(repr(trials)) > 20 else "")
        raise ProtocolError(f"trials must be an integer from 1 to {MAX_NEURONS:,}, got {shown}")
    return duration_s, transient_s, dt_s, int(trials)


def max_neuron_steps() -> float:
    """The work limit: ``$BIORATE_MAX_NEURON_STEPS`` when set (a positive number), else
    :data:`MAX_NEURON_STEPS`."""
    return limit_from_env("BIORATE_MAX_NEURON_STEPS", MAX_NEURON_STEPS, ProtocolError)


def check_size(n_levels: int, trials: int, label: str, what: str = "neurons",
               steps: float = 1.0) -> None:  # fmt: skip
    """Refuse, before anything is built, a measurement that cannot fit or finish: one simulated
    neuron per (level, trial), about :data:`BYTES_PER_NEURON` each, against the memory available
    now (and Brian2's int32 index limit), and ``steps`` time steps each against the work limit
    (:func:`max_neuron_steps`). Raises :class:`ProtocolError` naming the estimate."""
    n = int(n_levels) * int(trials)
    need = n * BYTES_PER_NEURON
    size = f"{n_levels} levels x {trials} trials = {n:,} {what}"
    check_memory(need, f"{label}: {size}", "use fewer trials or levels", ProtocolError)
    if n > MAX_NEURONS:
        raise ProtocolError(f"{label}: {size} (about {format_bytes(need)} of memory) exceed Brian2's "
                            f"limit of {MAX_NEURONS:,} per group; use fewer trials or levels")  # fmt: skip
    work, limit = n * float(steps), max_neuron_steps()
    if work > limit or steps > _MAX_STEPS:
        raise ProtocolError(
            f"{label}: {size} x {steps:.3g} time steps ((transient + duration)/dt) = {work:.3g} "
            f"neuron-steps, more than the limit of {limit:.3g} (hours of simulation); use a "
            "larger dt, a shorter duration or fewer levels or trials, or raise the limit with "
            "the environment variable BIORATE_MAX_NEURON_STEPS"
        )


def resolve_seed(seed: int | None) -> int:
    """The seed actually used (a fresh one is drawn and recorded when ``seed`` is None)."""
    if seed is None:
        return secrets.randbelow(2**31 - 1)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ProtocolError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def pooled_cv(isi_n: np.ndarray, isi_moments: np.ndarray) -> np.ndarray:
    """Coefficient of variation of the pooled ISIs of each row (NaN with fewer than 3 ISIs).

    ``isi_n`` shape (levels, trials); ``isi_moments`` shape (2, levels, trials): sums of ISIs and of
    their squares.
    """
    n = isi_n.sum(axis=1)
    s1 = isi_moments[0].sum(axis=1)
    s2 = isi_moments[1].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = (s2 - n * mean**2) / (n - 1)
        cv = np.sqrt(np.maximum(var, 0.0)) / mean
    return np.where(n >= 3, cv, np.nan)


def import_brian2() -> None:
    """Import Brian2 on a Dask worker. Its ``__init__`` installs a SIGINT handler, which Python
    allows only in the main thread, and tasks run in the worker's thread pool: so the first import
    there skips that handler (a worker is stopped by Dask, not by Ctrl-C). This is the lazy
    boundary itself: Brian2 is imported here on purpose, inside the function."""
    if "brian2" in sys.modules or threading.current_thread() is threading.main_thread():
        import brian2  # noqa: F401

        return
    with _IMPORT_LOCK:
        original = signal.signal
        signal.signal = lambda *args, **kwargs: None  # type: ignore[assignment]
        try:
            import brian2  # noqa: F401, F811
        finally:
            signal.signal = original
