"""What every Brian2 measurement checks before anything is built, NumPy only (no Brian2): the
protocol (duration, transient, dt, trials), the code-generation targets, the size against the
memory available, the seed; the presynaptic spike patterns; and the worker-safe Brian2 import.

:mod:`biorate.sweep` validates a spec with these without loading the simulator.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import BiorateError, BiorateWarning, ProtocolError
from ..io import check_memory, format_bytes, limit_from_env, utf8_text
from ..models import DRIVES, check_dt
from ..models.protocol import check_levels, levels
from ..schema import is_integer, one_of
from ..units import TIME, Dim, format_quantity, to_si

__all__ = [
    "TARGETS",
    "DRIVES",
    "PATTERNS",
    "MAX_SPIKE_PROB",
    "after_brian2_import",
    "encodable_argv",
    "note_silent_curve",
    "BYTES_PER_NEURON",
    "MAX_NEURONS",
    "MAX_NEURON_STEPS",
    "max_neuron_steps",
    "SIM_SPEED",
    "MAX_SIM_SECONDS",
    "max_sim_seconds",
    "estimate_seconds",
    "check_run",
    "levels",
    "check_levels",
    "note_single_level",
    "check_protocol",
    "check_size",
    "check_target",
    "cython_usable",
    "cython_cache_problem",
    "resolve_target",
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

# How fast Brian2 simulates, for the time a run will take (check_size): per target, (seconds per
# time step whatever the size: the clock and one call of each code object; neuron-steps per
# second). Measured by benchmarks/sim_speed.py (biorate's own measurements at dt = 0.1 ms; Brian2
# 2.9, Cython 3.3) on the development machine (2 shared cores, load ~4): 3 neurons for 0.5 s and
# for 2 s give the cost of a step, 1000 levels x 100 trials for 0.2 s (2e8 neuron-steps) the cost
# of a neuron-step, for measure_fi on lif without and with noise and on cond_lif with Poisson
# drive, and for measure_release on tm_release:
#     numpy:  36-72 us per step, 1.1e7-7.6e7 neuron-steps/s
#     cython: 4.0-6.6 us per step, 1.6e7-1.4e8 neuron-steps/s
# The constants are the fastest of these, rounded towards faster: the estimate is a lower bound on
# this machine, and a machine twice as fast runs a refused job in half the estimate (hence the
# limit a user can raise). "auto" is Cython where it is usable (cython_usable), as codegen_target
# picks. Not calibrated at run time: that would cost seconds on every command.
SIM_SPEED = {"numpy": (30e-6, 8e7), "cython": (4e-6, 1.5e8)}
# Above LARGE_GROUP neurons a network's state arrays outgrow the caches and a neuron-step costs
# more: measured on lif without noise (the fastest model) on the development machine with a fuzz
# campaign on the other core (2026-12-01): NumPy 4.8e7 / 3.8e7 / 2.8e7 / 1.8-2.2e7 neuron-steps/s
# at 3e4 / 3e5 / 3e6 / 6e6 neurons, Cython 6.2e7 / 6.9e7 / 5.9e7 at 3e4 / 3e5 / 3e6 (a run
# estimated at 225 s with the small-group speed took ~15 min at 6e6). Rounded towards faster.
LARGE_GROUP = 1e5
SIM_SPEED_LARGE = {"numpy": 2.5e7, "cython": 6e7}
# Simulated work refused up front unless the user raises it ($BIORATE_MAX_SIM_SECONDS): one hour
# at the speeds above (the pipeline's largest curve is estimated at 8 s on NumPy, 1.5 s on Cython).
MAX_SIM_SECONDS = 3600.0

_IMPORT_LOCK = threading.Lock()


def check_target(target: str) -> None:
    """Refuse a code-generation target other than :data:`TARGETS`."""
    one_of(target, TARGETS, "codegen target", ProtocolError)


def cython_usable() -> bool:
    """Cython is importable, a C compiler is on the PATH (``$CC``, else cc/gcc/clang) and Brian2
    can keep compiled code in its cache folder: when "auto" takes Cython
    (:func:`resolve_target`)."""
    if importlib.util.find_spec("Cython") is None:
        return False
    compilers = [os.environ.get("CC", "").split(" ")[0], "cc", "gcc", "clang"]
    return any(c and shutil.which(c) for c in compilers) and cython_cache_problem() is None


def _cython_cache_dir() -> str:
    """The folder Brian2 compiles Cython code into: its preference when Brian2 is imported and
    sets one, else Cython's cache folder (``$CYTHON_CACHE_DIR``, ``$XDG_CACHE_HOME/cython`` or
    ``~/.cython``) plus ``brian_extensions``, as Brian2 makes it."""
    brian2 = sys.modules.get("brian2")
    chosen = brian2.prefs["codegen.runtime.cython.cache_dir"] if brian2 is not None else None
    if chosen is not None:
        return str(chosen)
    # Cython's own rule (Cython.Build.Cache.get_cython_cache_dir; importing it costs 40-80 ms,
    # which every estimate would pay; tests/test_fuzz_campaign10.py checks the two agree)
    base = os.environ.get("CYTHON_CACHE_DIR")
    if base is None:
        parent = None
        if sys.platform == "darwin":
            parent = os.path.expanduser("~/Library/Caches")
        elif os.name == "posix":
            parent = os.environ.get("XDG_CACHE_HOME")
        base = (os.path.join(parent, "cython") if parent and os.path.isdir(parent)
                else os.path.expanduser(os.path.join("~", ".cython")))  # fmt: skip
    return os.path.join(base, "brian_extensions")


def cython_cache_problem() -> str | None:
    """Why Brian2 could not keep compiled code in its Cython cache folder (a home that is
    read-only or /dev/null, as for service accounts), or None: Cython failed there with
    "Couldn't create Cython cache directory", which read as the model's fault."""
    if importlib.util.find_spec("Cython") is None:
        return None  # (nothing would be compiled: no folder to make)
    folder = _cython_cache_dir()
    if folder in _WRITABLE:
        return None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".biorate-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return (f"Brian2's Cython cache folder {folder} cannot be written "
                f"({exc.strerror or type(exc).__name__})")  # fmt: skip
    _WRITABLE.add(folder)
    return None


_WRITABLE: set[str] = set()  # cache folders this process wrote to (probed once each)


def resolve_target(target: str) -> str:
    """The code-generation target that runs: ``"auto"`` is Cython where it is usable
    (:func:`cython_usable`), else NumPy; an explicit ``"cython"`` whose cache folder cannot be
    written is refused (:class:`ProtocolError`, before any work)."""
    check_target(target)
    if target == "auto":
        return "cython" if cython_usable() else "numpy"
    if target == "cython":
        problem = cython_cache_problem()
        if problem is not None:
            raise ProtocolError(f"{problem}: set CYTHON_CACHE_DIR to a writable folder, or use "
                                "the numpy target (--target numpy)")  # fmt: skip
    return target


def check_protocol(
    duration: Any, transient: Any, dt: Any, trials: Any
) -> tuple[float, float, float, int]:
    """Validate and convert the protocol shared by all measurements (SI seconds)."""
    for name, value in (("duration", duration), ("transient", transient)):
        if isinstance(value, int) and abs(value) > 1e308:  # beyond float: to_si would overflow
            raise ProtocolError(f"{name}: a number too large for a float")
    duration_s = to_si(duration, TIME, "duration")
    transient_s = to_si(transient, TIME, "transient")
    if duration_s <= 0:
        raise ProtocolError(f"duration must be positive, got {duration}")
    if transient_s < 0:
        raise ProtocolError(f"transient must not be negative, got {transient}")
    dt_s = check_dt(dt)  # positive, at least 1 ns: the rule the theory's dt follows too
    if dt_s > duration_s:
        raise ProtocolError(f"dt must be positive and shorter than the duration, got {dt}")
    if not is_integer(trials) or not 1 <= trials <= MAX_NEURONS:
        shown = repr(trials)[:20] + ("..." if len(repr(trials)) > 20 else "")
        raise ProtocolError(f"trials must be an integer from 1 to {MAX_NEURONS:,}, got {shown}")
    return duration_s, transient_s, dt_s, int(trials)


def max_neuron_steps() -> float:
    """The work limit: ``$BIORATE_MAX_NEURON_STEPS`` when set (a positive number), else
    :data:`MAX_NEURON_STEPS`."""
    return limit_from_env("BIORATE_MAX_NEURON_STEPS", MAX_NEURON_STEPS, ProtocolError)


def max_sim_seconds() -> float:
    """The time limit: ``$BIORATE_MAX_SIM_SECONDS`` when set (a positive number), else
    :data:`MAX_SIM_SECONDS`."""
    return limit_from_env("BIORATE_MAX_SIM_SECONDS", MAX_SIM_SECONDS, ProtocolError)


def estimate_seconds(n: float, steps: float, target: str = "auto", networks: int = 1,
                     speed: tuple[float, float] | None = None, groups: float = 1.0) -> float:  # fmt: skip
    """An estimate (on the fast side) of the seconds Brian2 takes to run ``n`` neurons for
    ``steps`` time steps on ``target`` (:data:`SIM_SPEED`; ``"auto"``: the target it picks),
    split over ``networks`` networks run one after another (each pays the per-step cost, once
    per group of neurons: ``groups``, a deployed network's populations).
    ``speed``: (seconds a step, neuron-steps a second) of another simulator instead."""
    if speed is not None:
        per_step, per_second = speed
        return float(networks) * float(steps) * per_step + float(n) * float(steps) / per_second
    target = resolve_target(target)
    per_step, per_second = SIM_SPEED[target]
    per_step *= max(float(groups), 1.0)
    if float(n) / max(float(networks), 1.0) > LARGE_GROUP:
        per_second = SIM_SPEED_LARGE[target]
    return float(networks) * float(steps) * per_step + float(n) * float(steps) / per_second


def check_size(n_levels: int, trials: int, label: str, what: str = "neurons",
               steps: float = 1.0, target: str = "auto") -> None:  # fmt: skip
    """Refuse, before anything is built, a measurement that cannot fit or finish: one simulated
    neuron per (level, trial), about :data:`BYTES_PER_NEURON` each, against the memory available
    now (and Brian2's int32 index limit), ``steps`` time steps each against the work limit
    (:func:`max_neuron_steps`), and the time that takes on ``target`` (:func:`estimate_seconds`)
    against the time limit (:func:`max_sim_seconds`). Raises :class:`ProtocolError` naming the
    estimate."""
    n = int(n_levels) * int(trials)
    need = n * BYTES_PER_NEURON
    size = f"{n_levels} levels x {trials} trials = {n:,} {what}"
    check_memory(need, f"{label}: {size}", "use fewer trials or levels", ProtocolError)
    if n > MAX_NEURONS:
        raise ProtocolError(f"{label}: {size} (about {format_bytes(need)} of memory) exceed Brian2's "
                            f"limit of {MAX_NEURONS:,} per group; use fewer trials or levels")  # fmt: skip
    check_run(n, steps, label, f"{size} x {steps:.3g} time steps ((transient + duration)/dt)",
              "use a larger dt, a shorter duration or transient or fewer levels or trials",
              target)  # fmt: skip


def check_run(n: float, steps: float, label: str, size: str, advice: str, target: str = "auto",
              *, networks: int = 1, error: type = ProtocolError,
              speed: tuple[float, float] | None = None, engine: str = "",
              groups: float = 1.0) -> None:  # fmt: skip
    """Refuse, before anything is built, ``n`` neurons run for ``steps`` time steps (``size``
    describes them; ``networks`` runs one after another) above the work limit
    (:func:`max_neuron_steps`) or estimated above the time limit (:func:`max_sim_seconds`) on
    ``target``; the message says ``advice`` and how to raise the limit. Raises ``error``.
    ``speed`` and ``engine``: another simulator's speed (see :func:`estimate_seconds`) and name;
    ``groups``: the groups of neurons a network steps (each pays Brian2's per-step cost)."""
    work, limit = float(n) * float(steps), max_neuron_steps()
    if work > limit or steps > _MAX_STEPS:
        raise error(f"{label}: {size} = {work:.3g} neuron-steps, more than the limit of "
                    f"{limit:.3g} (hours of simulation); {advice}, or raise the limit with the "
                    "environment variable BIORATE_MAX_NEURON_STEPS")  # fmt: skip
    target = resolve_target(target)  # the estimate and its message name the target that runs
    seconds = estimate_seconds(n, steps, target, networks, speed, groups)
    limit = max_sim_seconds()
    if seconds > limit:
        with_ = engine or f"Brian2 ({target} target)"
        raise error(f"{label}: {size} is estimated at {_duration(seconds)} of simulation with "
                    f"{with_}, more than the limit of {_duration(limit)}; "
                    f"{advice}, or raise the limit with the environment variable "
                    "BIORATE_MAX_SIM_SECONDS")  # fmt: skip


def _duration(seconds: float) -> str:
    """``5400`` -> ``"5400 s (1.5 h)"``."""
    hours = f" ({seconds / 3600:.3g} h)" if seconds >= 3600 else ""
    return f"{seconds:.3g} s{hours}"


def resolve_seed(seed: int | None) -> int:
    """The seed actually used (a fresh one is drawn and recorded when ``seed`` is None)."""
    if seed is None:
        return secrets.randbelow(2**31 - 1)
    if not is_integer(seed) or not 0 <= seed < 2**32:
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


def note_single_level(x: np.ndarray, dim: Dim, name: str) -> None:
    """A :class:`BiorateWarning` for a curve of one level, once it is made (a warning before a
    refusal would be a second line): it is one point, which no activation can be fitted to."""
    if np.size(x) == 1:
        warnings.warn(f"{name} has a single level ({format_quantity(float(x[0]), dim)}): the "
                      "curve is one point, too few to fit an activation", BiorateWarning,
                      stacklevel=3)  # fmt: skip


def note_silent_curve(counts: np.ndarray, n_levels: int, what: str, duration_s: float,
                      trials: int) -> None:  # fmt: skip
    """A :class:`BiorateWarning` for a curve of several levels where nothing was counted (no
    spike, no release): a window far shorter than the events' intervals counts nothing, and the
    curve's resolution, 1/(duration x trials), says how short it was."""
    if n_levels > 1 and not np.any(counts):
        warnings.warn(f"no {what} at any level: the curve is all zero. Its resolution is "
                      f"1/(duration x trials) = {1 / (duration_s * trials):.3g} per second; if "
                      "there should be some here, measure longer or with more trials",
                      BiorateWarning, stacklevel=3)  # fmt: skip


@contextlib.contextmanager
def encodable_argv() -> Iterator[None]:
    """``sys.argv`` with every argument encodable as UTF-8 while Brian2 is imported: its logger
    copies the command line into a file as UTF-8, and an argument that is not (a Latin-1 file
    name, held as surrogate escapes) ended every command that imports Brian2 in a traceback.
    Such bytes are shown escaped (``\\xe9``) there; the arguments are restored after."""
    argv = sys.argv
    shown = [utf8_text(a) if isinstance(a, str) else a for a in argv]
    if shown == argv:  # (the usual case: nothing to swap, for any thread to see)
        yield
        return
    sys.argv = shown
    try:
        yield
    finally:
        sys.argv = argv


def after_brian2_import() -> None:
    """Undo two things Brian2's import does to the whole process: see
    :func:`_keep_sigint_disposition` and :func:`_biorate_errors_past_brian2s_excepthook`. Call
    after Brian2 is imported (biorate's Brian2 side does)."""
    _keep_sigint_disposition()
    _biorate_errors_past_brian2s_excepthook()


def _biorate_errors_past_brian2s_excepthook() -> None:
    """Brian2 installs an excepthook that answers any uncaught exception with "Brian 2
    encountered an unexpected error. If you think this is a bug in Brian 2, please report it",
    and writes debug files to /tmp: a script whose BiorateError (a refused input) went uncaught
    got that. A BiorateError reaches Python's own hook; other exceptions reach Brian2's."""
    brian_hook = sys.excepthook
    if getattr(brian_hook, "__name__", "") != "brian_excepthook":
        return

    def hook(exc_type: Any, exc: Any, tb: Any) -> Any:
        if isinstance(exc_type, type) and issubclass(exc_type, BiorateError):
            return sys.__excepthook__(exc_type, exc, tb)
        return brian_hook(exc_type, exc, tb)

    sys.excepthook = hook


def _keep_sigint_disposition() -> None:
    """Undo what Brian2's import does to a SIGINT that was ignored or default. Its ``__init__``
    wraps the handler it finds in its own, which calls it on Ctrl-C (a second one while a run
    stops); a handler found as ``SIG_IGN`` (a background job of a script, a worker started with
    it ignored) or ``SIG_DFL`` is no function, and a Ctrl-C then ended in "TypeError: 'Handlers'
    object is not callable", reported as a model error or a failed stage. Ignored stays ignored;
    default becomes Python's KeyboardInterrupt. Call after Brian2 is imported (main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    handler = signal.getsignal(signal.SIGINT)
    previous = getattr(handler, "previous_handler", None)
    if previous is None or callable(previous):
        return
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        handler.previous_handler = signal.default_int_handler


_MEASURING = threading.local()  # .on: this thread measures a sweep point or search candidate


@contextlib.contextmanager
def recorded_measurement() -> Iterator[None]:
    """A measurement whose outcome its caller records (a sweep's point, a neuron search's
    candidate: an all-zero curve fails its fit, with the reason in the summary): biorate's
    warnings from it are not printed by Brian2's log, which routes Python's warnings into
    3-line records once Brian2 is imported (a Dask worker's "[py.warnings]" blocks). Only this
    thread, only while the block runs: other warnings, and other threads', print as before."""
    _MEASURING.on = True
    try:
        yield
    finally:
        _MEASURING.on = False


def _not_recorded_elsewhere(record: logging.LogRecord) -> bool:
    if not getattr(_MEASURING, "on", False):
        return True
    text = record.getMessage()
    return not any(f": {name}: " in text for name in _warning_classes(BiorateWarning))


def _warning_classes(cls: type) -> set[str]:
    return {cls.__name__}.union(*(_warning_classes(c) for c in cls.__subclasses__()))


def import_brian2() -> None:
    """Import Brian2 on a Dask worker. Its ``__init__`` installs a SIGINT handler, which Python
    allows only in the main thread, and tasks run in the worker's thread pool: so the first import
    there skips that handler (a worker is stopped by Dask, not by Ctrl-C). This is the lazy
    boundary itself: Brian2 is imported here on purpose, inside the function."""
    logging.getLogger("py.warnings").addFilter(_not_recorded_elsewhere)  # (once: a set)
    for name in ("stdout", "stderr"):  # a worker of a command started with them closed: None,
        if getattr(sys, name) is None:  # and Brian2 flushes both while it checks its compiler
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115
    if "brian2" in sys.modules or threading.current_thread() is threading.main_thread():
        with _IMPORT_LOCK, encodable_argv():
            import brian2  # noqa: F401

        after_brian2_import()
        return
    with _IMPORT_LOCK:
        original = signal.signal
        signal.signal = lambda *args, **kwargs: None  # type: ignore[assignment]
        try:
            with encodable_argv():  # (a local worker shares the command line's argv)
                import brian2  # noqa: F401, F811
        finally:
            signal.signal = original
