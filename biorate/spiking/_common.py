"""What every Brian2 measurement shares: parameters as Brian2 quantities, the code-generation
target, seeding, fixed object names, progress, and turning Brian2's errors into biorate's.

Brian2 is imported here and in the other modules of ``biorate.spiking`` only.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ModelError, ProtocolError
from ..io import check_memory, format_bytes
from ..models import Model
from ..units import TIME, to_si

__all__ = [
    "namespace",
    "quantity",
    "codegen_target",
    "check_protocol",
    "check_size",
    "resolve_seed",
    "run_network",
]

TARGETS = ("auto", "numpy", "cython")
_IMPORT_LOCK = threading.Lock()


def quantity(value: Any, dim: tuple) -> Any:
    """A Brian2 Quantity from an SI value (float or array) and a biorate dimension tuple."""
    from brian2 import Quantity
    from brian2.units.fundamentalunits import get_or_create_dimension

    return Quantity(value, dim=get_or_create_dimension(tuple(float(d) for d in dim)))


def namespace(model: Model) -> dict[str, Any]:
    """The model's parameters as Brian2 quantities, for an explicit ``namespace=``."""
    return {name: quantity(p.value, p.dim) for name, p in model.params.items()}


def _cython_usable() -> bool:
    """Cython is importable and a C compiler is on the PATH (``$CC``, else cc/gcc/clang)."""
    import os
    import shutil

    try:
        import Cython  # noqa: F401
    except ImportError:
        return False
    compilers = [os.environ.get("CC", "").split(" ")[0], "cc", "gcc", "clang"]
    return any(c and shutil.which(c) for c in compilers)


@contextlib.contextmanager
def codegen_target(target: str) -> Iterator[str]:
    """Set Brian2's code-generation target for the objects made inside the block.

    ``"auto"`` takes Cython when it is importable and a C compiler works (compiled code objects are
    cached under ~/.cython, so only the first run of a new network pays ~20 s), else NumPy.
    """
    from brian2 import prefs

    if target not in TARGETS:
        raise ProtocolError(f"codegen target must be one of {', '.join(TARGETS)}, got {target!r}")
    old = prefs.codegen.target
    chosen = target
    if target == "auto":
        chosen = "cython" if _cython_usable() else "numpy"
    prefs.codegen.target = chosen
    try:
        yield chosen
    finally:
        prefs.codegen.target = old


def check_protocol(
    duration: Any, transient: Any, dt: Any, trials: Any
) -> tuple[float, float, float, int]:
    """Validate and convert the protocol shared by all measurements (SI seconds)."""
    duration_s = to_si(duration, TIME, "duration")
    transient_s = to_si(transient, TIME, "transient")
    dt_s = to_si(dt, TIME, "dt")
    if duration_s <= 0:
        raise ProtocolError(f"duration must be positive, got {duration}")
    if transient_s < 0:
        raise ProtocolError(f"transient must not be negative, got {transient}")
    if dt_s <= 0 or dt_s > duration_s:
        raise ProtocolError(f"dt must be positive and shorter than the duration, got {dt}")
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 1:
        raise ProtocolError(f"trials must be an integer >= 1, got {trials!r}")
    return duration_s, transient_s, dt_s, int(trials)


# Memory one simulated neuron (or terminal) takes, state and temporaries: measured 155-260 bytes on
# the NumPy target (lif with noise, cond_lif with Poisson drive, tm_release, 100 000 each); the
# estimate rounds up. Brian2 indexes a group with int32.
BYTES_PER_NEURON = 320
MAX_NEURONS = 2**31 - 1


def check_size(n_levels: int, trials: int, label: str, what: str = "neurons") -> None:
    """Refuse, before anything is built, a measurement that cannot fit: one simulated neuron per
    (level, trial), about :data:`BYTES_PER_NEURON` each, against the memory available now (and
    Brian2's int32 index limit). Raises :class:`ProtocolError` naming the estimate."""
    n = int(n_levels) * int(trials)
    need = n * BYTES_PER_NEURON
    size = f"{n_levels} levels x {trials} trials = {n:,} {what}"
    check_memory(need, f"{label}: {size}", "use fewer trials or levels", ProtocolError)
    if n > MAX_NEURONS:
        raise ProtocolError(f"{label}: {size} (about {format_bytes(need)} of memory) exceed Brian2's "
                            f"limit of {MAX_NEURONS:,} per group; use fewer trials or levels")  # fmt: skip


def resolve_seed(seed: int | None) -> int:
    """The seed actually used (a fresh one is drawn and recorded when ``seed`` is None)."""
    if seed is None:
        return secrets.randbelow(2**31 - 1)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ProtocolError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


@contextlib.contextmanager
def fast_normals(seed: int | None) -> Iterator[None]:
    """Serve the normal deviates of Brian2's noise (``xi``) from NumPy's ``Generator`` for one run.

    Brian2's runtime targets (Cython and NumPy) call ``numpy.random.randn`` for them, NumPy's legacy
    polar Box-Muller generator; a white-noise f-I curve draws one per neuron and step (22 million
    for 1000 neurons x 2.2 s), and the legacy generator then takes most of the run. Within this
    block ``numpy.random.randn`` is replaced by a ``Generator`` seeded with ``seed`` (ziggurat,
    about three times faster; the same standard normal distribution): same seed, same numbers. The
    original function is restored afterwards. Brian2 code that does not call it is unaffected.
    """
    if seed is None:
        yield
        return
    import numpy.random as npr

    gen = np.random.default_rng([int(seed), 0x6E6F726D])  # a stream of its own for the normals
    original = npr.randn

    def randn(*shape: int) -> Any:
        return gen.standard_normal(shape if shape else None)

    npr.randn = randn
    try:
        yield
    finally:
        npr.randn = original


class _NoCollect:
    """The ``gc`` module, but ``collect()`` does nothing (see :func:`_skip_orphan_scan`)."""

    def __getattr__(self, name: str) -> Any:
        import gc

        return getattr(gc, name)

    @staticmethod
    def collect(*args: Any) -> int:
        return 0


@contextlib.contextmanager
def _skip_orphan_scan() -> Iterator[None]:
    """``Network.run`` starts with a full ``gc.collect()`` whose only purpose is to warn about Brian2
    objects created but left out of the network (Brian2's "magic" mode). biorate builds every
    network explicitly, so the scan finds nothing, yet it walks every Python object in the process:
    about 0.1 s per run once SciPy and matplotlib are loaded. Skipped for our runs only."""
    import brian2.core.network as network_module

    original = network_module.gc
    network_module.gc = _NoCollect()
    try:
        yield
    finally:
        network_module.gc = original


def run_network(
    net: Any, duration_s: float, *, label: str, progress: bool, seed: int | None = None
) -> None:
    """Run a Brian2 ``Network`` for ``duration_s`` seconds with a tqdm bar (unless ``progress`` is
    False) and Brian2's model errors turned into :class:`ModelError`. With ``seed``, the noise's
    normal deviates come from a fast seeded generator (:func:`fast_normals`)."""
    from brian2 import second
    from brian2.core.base import BrianObjectException
    from brian2.units.fundamentalunits import DimensionMismatchError

    bar = None
    report = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=100,
            desc=label,
            unit="%",
            leave=False,
            bar_format="{l_bar}{bar}| {elapsed}<{remaining}",
        )

        def report(elapsed, completed, start, duration):  # noqa: ANN001
            if not math.isnan(completed):
                bar.n = round(100 * completed)
                bar.refresh()

    from brian2 import prefs

    # Brian2's own Ctrl-C handler would end the run early and return normally: the counts of a
    # cut-short run would then be saved as a whole curve. Let Ctrl-C raise KeyboardInterrupt.
    stop_pref = prefs.core.stop_on_keyboard_interrupt
    prefs.core.stop_on_keyboard_interrupt = False
    try:
        with fast_normals(seed), _skip_orphan_scan():
            net.run(duration_s * second, report=report, report_period=1 * second)
    except (BrianObjectException, DimensionMismatchError, SyntaxError, KeyError) as exc:
        raise ModelError(f"{label}: Brian2 rejected the model: {_first_line(exc)}") from exc
    finally:
        prefs.core.stop_on_keyboard_interrupt = stop_pref
        if bar is not None:
            bar.close()


def _first_line(exc: BaseException) -> str:
    # BrianObjectException wraps the original error; its own text is several lines long
    inner = getattr(exc, "__cause__", None) or exc
    text = str(getattr(exc, "original_exception", None) or inner) or type(inner).__name__
    return " ".join(text.split())[:300]


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
    there skips that handler (a worker is stopped by Dask, not by Ctrl-C)."""
    import sys

    if "brian2" in sys.modules or threading.current_thread() is threading.main_thread():
        import brian2  # noqa: F401

        return
    import signal

    with _IMPORT_LOCK:
        original = signal.signal
        signal.signal = lambda *args, **kwargs: None  # type: ignore[assignment]
        try:
            import brian2  # noqa: F401, F811
        finally:
            signal.signal = original
