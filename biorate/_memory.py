"""Memory and work limits: how much memory a new allocation can get (the machine's and the
container's), and the one-line refusal of work that cannot fit. Re-exported by :mod:`biorate.io`.
Standard library only."""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import BiorateError

__all__ = ["available_memory", "check_memory", "format_bytes", "limit_from_env"]


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation: the smaller of the machine's (Linux
    ``MemAvailable``, else the free physical pages) and what this process's cgroup still allows
    (a container's limit, which ``MemAvailable`` does not show: past it the kernel kills the
    process without a message); None when the system says neither."""
    machine = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    machine = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if machine is None:
        try:
            machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            pass
    limits = [m for m in (machine, _cgroup_room()) if m is not None]
    return min(limits) if limits else None


# cgroup v2, then v1: (limit file, usage file)
_CGROUP_FILES = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                 ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                  "/sys/fs/cgroup/memory/memory.usage_in_bytes"))  # fmt: skip


def _cgroup_room() -> int | None:
    """The memory this process's cgroup allows beyond what it uses now (None: no limit set)."""
    for limit_file, usage_file in _CGROUP_FILES:
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 2**60:  # v1 writes ~2^63: none
            return None
        return max(int(limit) - usage, 0)
    return None


def limit_from_env(var: str, default: float, error: type[BiorateError]) -> float:
    """A work limit a user can raise: ``$var`` when set (a positive number), else ``default``."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise error(f"{var} must be a positive number, got {raw[:40]!r}")
    return value


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"`` (binary units up to TiB, three significant digits)."""
    try:
        n = float(n)
    except OverflowError:  # an integer beyond a float: far beyond any machine
        n = math.inf
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"


def check_memory(need: float, what: str, advice: str, error: type[BiorateError],
                 purpose: str = "") -> None:  # fmt: skip
    """Refuse, before allocating, work whose estimated ``need`` (bytes) exceeds the memory
    available now: raises ``error`` saying that ``what`` need that much (``purpose``: e.g. " to
    train"), how much is available, and ``advice``. Nothing is refused where the system does not
    say how much is available."""
    avail = available_memory()
    if avail is not None and need > avail:
        raise error(f"{what} need about {format_bytes(need)} of memory{purpose}, more than the "
                    f"{format_bytes(avail)} available; {advice}")  # fmt: skip
