"""Small file helpers: atomic writes (a temp file in the same folder, then rename) and JSON reads
that fail with one clear line."""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import secrets
import stat
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._version import __version__
from .errors import BiorateError, CurveFileError, OutputError

__all__ = ["atomic_write", "write_json", "read_json", "provenance", "jsonable", "JsonFile",
           "WriteError", "Staged", "staged_outputs", "check_size", "MAX_JSON_BYTES",
           "MAX_TOML_BYTES", "CSV_NUMBER"]  # fmt: skip


class WriteError(BiorateError, OSError):
    """A file could not be written (disk full, permission denied, ...). A :class:`BiorateError`
    (the CLI prints its one line and exits 2) and still an ``OSError`` (``errno`` kept)."""


def check_regular_input(path: str | os.PathLike, error: type[BiorateError]) -> None:
    """Refuse an input that is not a path (``TransferCurve.load(5)``), or a device, FIFO or
    socket (``/dev/zero`` would be read forever, a FIFO would block): only regular files (and the
    folders a caller expects) are read."""
    if not isinstance(path, str | os.PathLike):
        raise error(f"expected a file path (a string or a Path), got {type(path).__name__}")
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return  # missing or unreadable: the caller's own message says so
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise error(f"{path}: not a regular file (a device, FIFO or socket); give a file")


def _write_target(path: Path, what: str | None = None) -> Path:
    """Where writing ``path`` lands: through symlinks to their target (the link stays a link);
    refused when that is an existing device, FIFO or socket, which a rename would replace."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return target  # not there yet: a new file
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, FIFO or socket)"
        raise OutputError(f"cannot write {what or path}: it is {kind}")
    return target


def atomic_write(
    path: str | os.PathLike, write: Callable[[Any], None], binary: bool = False
) -> Path:
    """Call ``write(fileobj)`` on a temp file beside ``path``, then rename it over ``path``.

    If ``write`` raises, the temp file is removed and any existing ``path`` is left untouched.
    An ``OSError`` (disk full, no permission, ...) is raised again as :class:`WriteError` naming
    ``path``; any other exception (and ``KeyboardInterrupt``) is raised as it is.
    """
    if not isinstance(path, str | os.PathLike):
        raise OutputError(f"an output is named by a path, got {type(path).__name__}")
    shown, path = Path(path), _write_target(Path(path))
    folder = path.parent
    if not folder.exists():
        raise BiorateError(f"cannot write {shown}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(
            fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})
        ) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; give it the permissions any new file would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, BiorateError):
            raise _write_error(path, exc) from exc
        raise
    return path


def _write_error(path: Path, exc: OSError) -> WriteError:
    err = WriteError(f"cannot write {path}: {exc.strerror or exc}")
    err.errno = exc.errno  # (strerror and filename unset: str(err) stays the one line above)
    return err


class Staged:
    """The outputs of one command, made together: :meth:`path` names the temp file (beside the
    output, with its suffix, so a figure keeps its format) that stands for an output while it is
    made; :meth:`commit` renames every one onto its output. See :func:`staged_outputs`."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []

    def path(self, path: str | os.PathLike) -> Path:
        final = _write_target(Path(path))
        token = secrets.token_hex(4)
        name = (f".{final.stem}.{token}.part{final.suffix}" if final.suffix
                else f".{final.name}-{token}-part")  # fmt: skip
        tmp = final.with_name(name)
        self._files.append((tmp, final))
        return tmp

    def commit(self) -> None:
        for tmp, final in self._files:
            try:
                os.replace(tmp, final)
            except OSError as exc:
                raise _write_error(final, exc) from None
        self._files.clear()

    def discard(self) -> None:
        for tmp, _ in self._files:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self._files.clear()


@contextmanager
def staged_outputs() -> Iterator[Staged]:
    """Write a command's outputs only once every one has been made::

        with staged_outputs() as out:
            curve.save(out.path("fi.json"))
            plot_curve(curve, path=out.path("fi.png"))

    Leaving the block normally renames each temp file onto its output; an exception (or Ctrl-C)
    removes the temp files, and files already at the outputs stay as they were."""
    staged = Staged()
    try:
        yield staged
        staged.commit()
    finally:
        staged.discard()


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


def _probe(folder: Path, what: str) -> None:
    """Create and remove a temp file in ``folder``: the only test that also holds for root, for
    read-only mounts and for /proc-like file systems (``os.access`` says yes to root everywhere)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".biorate-probe.", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {what}: folder {folder} is not writable "
                          f"({exc.strerror or type(exc).__name__})") from None  # fmt: skip
    os.close(fd)
    os.unlink(tmp)


def _nearest_existing(p: Path) -> Path:
    """``p`` itself or its nearest ancestor that exists."""
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable(path: str | os.PathLike | None, what: str | None = None, *,
                   folder: bool = False) -> None:  # fmt: skip
    """Refuse, before any computation, an output that could not be written at the end.

    ``path`` is an output file (``folder=False``: its folder must exist and take a new file, and
    ``path`` must not be a folder) or an output folder (``folder=True``: it must be a folder or
    not exist yet, and then its nearest existing parent must be a folder that takes a new one).
    ``what`` names it in the message (e.g. ``"-o out.json"``). ``None`` is accepted and ignored
    (an option not given). Raises :class:`~biorate.errors.OutputError`; nothing is left behind.
    """
    if path is None:
        return
    p = Path(path)
    what = what or str(p)
    if folder:
        if p.exists() and not p.is_dir():
            raise OutputError(f"cannot write {what}: {p} exists and is a file, not a folder")
        up = _nearest_existing(p)
        if not up.is_dir():
            raise OutputError(f"cannot create {what}: {up} is a file, not a folder")
        _probe(up, what)
        return
    if p.is_dir():
        raise OutputError(f"cannot write {what}: {p} is a folder")
    if str(path).endswith(("/", os.sep)):  # Path() drops the slash: "newdir/" would be a file
        raise OutputError(f"cannot write {what}: a file name is needed, not a folder ending "
                          "in '/'")  # fmt: skip
    p = _write_target(p, what)  # through symlinks; a device, FIFO or socket is refused
    parent = p.parent if str(p.parent) else Path(".")
    up = _nearest_existing(parent)
    if not up.is_dir():
        raise OutputError(f"cannot write {what}: {up} is a file, not a folder")
    if up != parent:
        raise OutputError(f"cannot write {what}: folder {parent} does not exist")
    _probe(parent, what)


def jsonable(v: Any) -> Any:
    """``v`` with NumPy types turned into Python ones and NaN/inf into null (JSON has neither),
    recursively through dicts, lists and arrays."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(v) else None
    return v


# a number in a CSV cell (matched whole, with fullmatch): a decimal in ASCII digits, optionally
# with an exponent; no "nan", "inf", "1_000" or "٥" (which Python's float() would take): the one
# rule of every CSV biorate reads (datasets, curves); 1e400 matches and is refused as not finite
CSV_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)


def write_json(path: str | os.PathLike, data: dict) -> Path:
    """Write ``data`` as indented JSON, atomically. NaN/inf are refused (not valid JSON)."""
    text = json.dumps(data, indent=1, allow_nan=False)
    return atomic_write(path, lambda f: f.write(text + "\n"))


# The largest input files read whole (checked with stat() before reading: a 3 GB file took 6 GB
# of memory before its first byte was found wrong). A curve of 10,000 points (the most a fit
# takes) with its provenance is under 1 MiB, an activation a few KiB, a model or sweep spec a few
# KiB: the caps are far above any real file and far below memory.
MAX_JSON_BYTES = 64 * 2**20
MAX_TOML_BYTES = 4 * 2**20


def check_size(path: str | os.PathLike, max_bytes: int, what: str,
               error: type[BiorateError]) -> None:  # fmt: skip
    """Refuse, before reading it, a regular file larger than ``max_bytes``, naming its size and
    the cap (``what``: "model file"...). A file that is missing or not regular is left to the
    reader's own message."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        raise error(f"{path}: {format_bytes(st.st_size)}, larger than a {what} may be "
                    f"({format_bytes(max_bytes)}); is it the right file?")  # fmt: skip


class _Unreadable(ValueError):
    """A JSON text that parses but cannot be taken as it is (one line, no path)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object, refusing a key given twice (``json`` would keep the last one silently)."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            shown = key if len(key) <= 40 else key[:37] + "..."
            raise _Unreadable(f"key {shown!r} is given twice in one object; give it once")
        out[key] = value
    return out


def _value_error(exc: ValueError) -> str:
    """One line for a ``ValueError`` of the JSON or TOML parser: an integer of more digits than
    Python converts (4300) is named as such, without Python's advice cut mid-word."""
    m = re.search(r"value has (\d+) digits", str(exc))
    if m:
        return (f"an integer of {int(m.group(1)):,} digits: more than Python converts, and more "
                "than any value biorate reads")  # fmt: skip
    return f"cannot read it ({' '.join(str(exc).split())[:120]})"


def read_toml(path: Path, what: str, error: type[BiorateError],
              missing: type[BiorateError] | None = None,
              max_bytes: int | None = None) -> dict:  # fmt: skip
    """Read a TOML file (a model, a sweep spec): every way it can fail is ``error`` naming
    ``path`` (``missing`` for a file that is not there: ``"no such {what}"``). A file larger than
    ``max_bytes`` (default :data:`MAX_TOML_BYTES`) is refused before it is read
    (:func:`check_size`)."""
    check_regular_input(path, error)
    check_size(path, max_bytes or MAX_TOML_BYTES, what, error)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise (missing or error)(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a UTF-8 text file (byte {exc.start}: "
                    f"{exc.object[exc.start:exc.start + 1]!r})") from None  # fmt: skip
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: malformed TOML ({exc})") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise error(f"{path}: {_value_error(exc)}") from None


def read_json(path: str | os.PathLike, kind: str | None = None,
              error: type[BiorateError] = CurveFileError,
              max_bytes: int | None = None) -> dict:  # fmt: skip
    """Read a JSON object; with ``kind`` given, check its ``"kind"`` field. Errors are ``error``:
    a file larger than ``max_bytes`` (default :data:`MAX_JSON_BYTES`, checked before reading), a
    key given twice in one object (JSON parsers differ on which one wins, so neither is guessed),
    an integer of more digits than Python converts (named in one line)."""
    check_regular_input(path, error)
    path = Path(path)
    check_size(path, max_bytes or MAX_JSON_BYTES, "JSON file", error)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read ({exc})") from None
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply to read") from None
    except _Unreadable as exc:
        raise error(f"{path}: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise error(f"{path}: {_value_error(exc)}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    if kind is not None and data.get("kind") != kind:
        raise error(f"{path}: expected kind {kind!r}, found {data.get('kind')!r}")
    return data


def provenance(command: str | None = None) -> dict:
    """Versions and time stamp recorded in every file biorate writes."""

    from importlib import metadata  # ~30 ms to import: only when a file is written

    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    return {
        "biorate": __version__,
        "brian2": version("brian2"),
        "numpy": version("numpy"),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
    }


class JsonFile:
    """``save``/``load`` for a type with ``to_dict``/``from_dict`` and a JSON ``kind``: writes are
    atomic; a malformed or wrong-kind file raises :class:`CurveFileError` naming the path."""

    KIND: ClassVar[str]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON atomically (an existing file survives a failed write)."""
        return write_json(path, self.to_dict())  # type: ignore[attr-defined]

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """Read a file written by :meth:`save`."""
        data = read_json(path, kind=cls.KIND)
        try:
            return cls.from_dict(data)  # type: ignore[attr-defined]
        except CurveFileError as exc:
            raise CurveFileError(f"{path}: {exc}") from None


def open_npz(path: Path, error: type[BiorateError], where: str, noun: str) -> Any:
    """``np.load(path, allow_pickle=False)`` of an ``.npz`` archive (the caller closes it), every
    failure one ``error`` line starting with ``where``: a missing path (``no such {noun}``), a
    folder, a device or FIFO (:func:`check_regular_input`), an unreadable file, a file that is not
    a zip archive or a corrupt one. Network files and ``npz:`` datasets share it."""
    check_regular_input(path, error)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise error(f"{where}: no such {noun}") from None
    except IsADirectoryError:
        raise error(f"{where}: is a folder, not a {noun}") from None
    except OSError as exc:  # a symlink loop, no permission
        raise error(f"{where}: cannot read ({exc.strerror or exc})") from None
    if magic != b"PK\x03\x04":  # every .npz is a zip archive
        raise error(f"{where}: not an .npz archive (np.savez writes one), so not a {noun}")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # zip directory, npy header: all mean "corrupt file"
        raise error(f"{where}: not a readable {noun} ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:160]})") from None  # fmt: skip
