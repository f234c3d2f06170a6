"""The Dask side of sweeps and searches: a client on an existing scheduler (reached within a
timeout, its address checked) or on a new local cluster whose workers leave Ctrl-C to this
process; and the default number of workers."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from ..errors import BiorateError, ProtocolError
from ..schema import is_integer

__all__ = [
    "MAX_WORKERS",
    "check_workers",
    "DASK_MISSING",
    "CONNECT_TIMEOUT_S",
    "MAX_CONNECT_TIMEOUT_S",
    "check_connect_timeout",
    "import_dask",
    "connect_cluster",
    "default_workers",
]

DASK_MISSING = 'parameter sweeps need Dask distributed: pip install "biorate[sweep]"'
CONNECT_TIMEOUT_S = 5.0


# the longest wait for a scheduler: a day (a wait is a thread join, whose timeout overflows C's
# time types near 1e300 s, and no scheduler is worth waiting for longer)
MAX_CONNECT_TIMEOUT_S = 86400.0


def check_connect_timeout(value: Any, name: str = "connect_timeout") -> float:
    """``value`` as seconds to wait for a scheduler: a number in (0, :data:`MAX_CONNECT_TIMEOUT_S`],
    else :class:`ProtocolError` naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (0 < value <= MAX_CONNECT_TIMEOUT_S)
    ):
        raise ProtocolError(f"{name} must be a positive number of seconds up to "
                            f"{MAX_CONNECT_TIMEOUT_S:g} (a day), got {value!r}"[:200])  # fmt: skip
    return float(value)


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored in this process (from its main thread) while worker processes start: they
    inherit the disposition (a spawned interpreter keeps an ignored SIGINT ignored, and so never
    raises KeyboardInterrupt, even while it imports), so a terminal's Ctrl-C, which reaches the
    whole process group, is this process's alone to handle. A Ctrl-C inside the window is lost."""
    previous = signal.getsignal(signal.SIGINT)
    guard = threading.current_thread() is threading.main_thread() and previous is not None
    if guard:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if guard:
            signal.signal(signal.SIGINT, previous)


MAX_WORKERS = 1024  # local worker processes a sweep or a search may start


def check_workers(workers: Any, scheduler: Any, client: Any, lo: int,
                  name: str = "workers") -> int | None:  # fmt: skip
    """``workers`` for a local cluster: None (the default) or an integer from ``lo`` to
    :data:`MAX_WORKERS`, and None when an existing cluster (``scheduler`` or ``client``) is
    named; :class:`ProtocolError` naming ``name`` otherwise, before any work."""
    if workers is not None and (not is_integer(workers) or not lo <= workers <= MAX_WORKERS):
        raise ProtocolError(f"{name} must be an integer from {lo} to {MAX_WORKERS:,} (local "
                            f"processes), got {workers!r}"[:200])  # fmt: skip
    if workers is not None and (scheduler or client is not None):
        raise ProtocolError(f"{name} applies to the local cluster; an existing cluster "
                            "(scheduler or client) has its own workers")  # fmt: skip
    return None if workers is None else int(workers)


def check_cluster_args(scheduler: Any, client: Any) -> None:
    """An existing cluster named for a sweep or search: ``scheduler`` an address (a string) or
    None, ``client`` a ``distributed.Client`` (or anything with its ``submit``) or None;
    :class:`ProtocolError` otherwise, before any work."""
    if scheduler is not None and not isinstance(scheduler, str):
        raise ProtocolError(f"scheduler must be an address such as 'tcp://host:8786', got "
                            f"{scheduler!r}"[:200])  # fmt: skip
    if client is not None and not callable(getattr(client, "submit", None)):
        raise ProtocolError(f"client must be a distributed.Client, got {client!r}"[:200])


def import_dask() -> Any:
    """Dask's ``distributed``, or one line saying how to install it (:data:`DASK_MISSING`)."""
    try:
        import distributed
    except ImportError:
        raise BiorateError(DASK_MISSING) from None
    return distributed


def connect_cluster(scheduler: str | None, workers: int, timeout: float) -> tuple[Any, Any]:
    """A Dask client: on an existing scheduler, or on a new LocalCluster. Returns (client,
    cluster or None)."""
    distributed = import_dask()
    if scheduler:
        _check_address(scheduler)
        try:
            client = _client_within(distributed, scheduler, timeout)
        except (OSError, TimeoutError, ValueError, TypeError, MemoryError) as exc:
            # (MemoryError: a peer that is no Dask scheduler answered with a frame length of
            # exbibytes, which distributed tried to allocate)
            _quiet_client_cleanup()
            reason = ("what answered there is not a Dask scheduler" if isinstance(exc, MemoryError)
                      else " ".join(str(exc).split())[:160] or type(exc).__name__)  # fmt: skip
            raise BiorateError(f"cannot reach the Dask scheduler at {scheduler!r} ({reason}); "
                               "is it running, and is the address right?") from None  # fmt: skip
        return client, None
    # the worker processes start with SIGINT ignored (a disposition spawned processes inherit; a
    # signal mask they do not): a terminal's Ctrl-C reaches the whole process group, and workers
    # interrupted mid-import or mid-task printed 30-100 lines of tracebacks. This process ignores
    # it too while the cluster starts (about a second: a Ctrl-C then is not seen, press it again;
    # blocking it instead does not help, the cluster's own threads would take and drop it).
    cluster = None
    try:
        # the scheduler's HTTP server takes port 8787 even without a dashboard, and when another
        # cluster or a notebook holds it, distributed warns in four lines and takes another port
        with sigint_ignored(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"Port \d+ is already in use", UserWarning)
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR,
            )  # fmt: skip
        return distributed.Client(cluster, set_as_default=False), cluster
    except BaseException:  # Ctrl-C, SIGTERM, a failed start: no half-started cluster is left
        if cluster is not None:
            cluster.close()
        raise


def _client_within(distributed: Any, scheduler: str, timeout: float) -> Any:
    """``distributed.Client(scheduler)``, given up after ``timeout`` + 5 s: a port where something
    else listens (an HTTP dashboard) kept Client waiting forever, whatever its own timeout."""
    out: dict[str, Any] = {}

    def connect() -> None:
        try:
            out["client"] = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            out["error"] = exc

    thread = threading.Thread(target=connect, daemon=True, name="biorate-dask-connect")
    thread.start()
    thread.join(timeout + 5.0)
    if thread.is_alive():
        raise TimeoutError(f"no Dask scheduler answered within {timeout + 5.0:g} s")
    if "error" in out:
        raise out["error"]
    return out["client"]


def _quiet_client_cleanup() -> None:
    """After a failed connection, distributed's half-built Client times out again when it is
    garbage collected and prints that as an ignored exception with a traceback; silence exactly
    that (other unraisable exceptions reach the previous hook)."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        owner = getattr(unraisable.object, "__qualname__", "")
        if not owner.startswith("Client.") and previous is not None:
            previous(unraisable)

    sys.unraisablehook = hook


def _check_address(address: str) -> None:
    """``HOST:PORT`` or ``SCHEME://HOST:PORT`` (a malformed address would make Dask retry until
    the timeout and then complain on exit)."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not (sep and host.strip("[]") and port.isdigit()) or any(c.isspace() for c in address):
        raise ProtocolError(f"scheduler address {address!r} is not HOST:PORT or "
                            "tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)")  # fmt: skip


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
