"""Small file helpers: atomic writes (a temp file in the same folder, then rename), outputs checked
before work starts, provenance, and (re-exported from :mod:`biorate._readers` and
:mod:`biorate._memory`) JSON/TOML/npz reads that fail with one clear line and the memory checks."""

from __future__ import annotations

import datetime
import errno
import hashlib
import json
import math
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._memory import available_memory, check_memory, format_bytes, limit_from_env
from ._readers import (
    LOOP,
    MAX_JSON_BYTES,
    MAX_TOML_BYTES,
    check_no_nul,
    check_regular_input,
    check_size,
    is_loop,
    open_npz,
    read_json,
    read_toml,
)
from ._version import __version__
from .errors import BiorateError, CurveFileError, OutputError

__all__ = ["atomic_write", "write_json", "write_record", "record_intact", "read_json", "provenance", "jsonable", "JsonFile",
           "WriteError", "Staged", "staged_outputs", "check_size", "MAX_JSON_BYTES",
           "MAX_TOML_BYTES", "CSV_NUMBER", "available_memory", "check_memory", "format_bytes",
           "limit_from_env", "check_regular_input", "read_toml", "open_npz", "path_is",
           "utf8_text", "is_loop", "LOOP", "output_name"]  # fmt: skip


def utf8_text(text: str) -> str:
    """``text`` as it can be written in UTF-8: the bytes a surrogate escape holds (a Latin-1 file
    name, ``caf\\udce9``) as ``\\xe9``, any other lone surrogate (which only a script can make)
    as ``\\ud800``; other text unchanged. For Brian2's log of the command line and figure
    titles, which write UTF-8 and raise on a surrogate."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def path_is(path: str | os.PathLike, what: str) -> bool:
    """``Path.is_file()`` (``what="file"``), ``is_dir()`` (``"dir"``) or ``exists()`` (``"any"``),
    False for a path the system cannot even look up (a name over 255 bytes: ENAMETOOLONG, which
    those raise), as for any path that is not there: the caller's own message then names it."""
    try:
        return bool(
            getattr(Path(path), {"file": "is_file", "dir": "is_dir", "any": "exists"}[what])()
        )
    except OSError:
        return False


class WriteError(BiorateError, OSError):
    """A file could not be written (disk full, permission denied, ...). A :class:`BiorateError`
    (the CLI prints its one line and exits 2) and still an ``OSError`` (``errno`` kept)."""


def _write_target(path: Path, what: str | None = None) -> Path:
    """Where writing ``path`` lands: through symlinks to their target (the link stays a link);
    refused when that is an existing device, FIFO or socket, which a rename would replace."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # (realpath leaves a loop as it is)
            raise OutputError(f"cannot write {what or path}: {LOOP}") from None
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
    check_no_nul(path, OutputError)
    shown, path = Path(path), _write_target(Path(path))
    folder = path.parent
    if not folder.exists():
        raise BiorateError(f"cannot write {shown}: folder {folder} does not exist")
    try:
        # ".NAME.XXXXXXXX.tmp": 14 bytes more than the name, cut to fit NAME_MAX
        fd, tmp = tempfile.mkstemp(prefix=f".{_cut(path.name, 14)}.", suffix=".tmp", dir=folder)
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


# a staged temp file -> the output it stands for (while a command's outputs are being made), so
# that a write error names the output the user asked for, not ".n.TOKEN.part.npz"
_STAGED: dict[Path, Path] = {}


def output_name(path: str | os.PathLike) -> Path:
    """The output ``path`` stands for: the user's name for a staged temp file, else itself."""
    return _STAGED.get(Path(path), Path(path))


def _write_error(path: Path, exc: OSError) -> WriteError:
    err = WriteError(f"cannot write {output_name(path)}: {exc.strerror or exc}")
    err.errno = exc.errno  # (strerror and filename unset: str(err) stays the one line above)
    return err


NAME_MAX = 255  # the longest file name, in bytes, on Linux's file systems


def _cut(name: str, extra: int) -> str:
    """``name`` cut at its end (whole characters) so that it and ``extra`` bytes more fit a file
    name of :data:`NAME_MAX` bytes: the temp file beside an output of 241-255 bytes (a valid name)
    was refused as "File name too long"."""
    while name and len(os.fsencode(name)) + extra > NAME_MAX:
        name = name[:-1]
    return name


class Staged:
    """The outputs of one command, made together: :meth:`path` names the temp file (beside the
    output, with its suffix, so a figure keeps its format) that stands for an output while it is
    made; :meth:`commit` renames every one onto its output. See :func:`staged_outputs`."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []

    def path(self, path: str | os.PathLike) -> Path:
        final = _write_target(Path(path))
        token = secrets.token_hex(4)
        # no suffix ("q", "q.", ".png"): none on the temp name either (a figure without one is a
        # PNG; ".q.-TOKEN-part" read as the format "-TOKEN-part")
        # (the name cut so that the temp name fits NAME_MAX: ".STEM.TOKEN.part" adds 15 bytes)
        suffix = final.suffix if len(os.fsencode(final.suffix)) <= NAME_MAX - 16 else ""
        name = (f".{_cut(final.stem, 15 + len(os.fsencode(suffix)))}.{token}.part{suffix}"
                if suffix else f".{_cut(final.name.replace('.', '_'), 15)}-{token}-part")  # fmt: skip
        tmp = final.with_name(name)
        self._files.append((tmp, final))
        _STAGED[tmp] = final
        return tmp

    def commit(self) -> None:
        for tmp, final in self._files:
            try:
                os.replace(tmp, final)
            except OSError as exc:
                raise _write_error(final, exc) from None
        self._forget()

    def discard(self) -> None:
        for tmp, _ in self._files:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self._forget()

    def _forget(self) -> None:
        for tmp, _ in self._files:
            _STAGED.pop(tmp, None)
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
    if not isinstance(path, str | os.PathLike):
        raise OutputError(f"{what or 'an output'} must be a path (str or os.PathLike), got "
                          f"{path!r}"[:200])  # fmt: skip
    if not str(path).strip():  # Path("") is the current folder: never what an output meant
        raise OutputError(f"{what or 'an output'} names no file or folder (an empty path)")
    check_no_nul(path, OutputError)
    p = Path(path)
    what = what or str(p)
    if folder:
        if p.exists() and not p.is_dir():
            kind = "a file" if p.is_file() else "a device, pipe or socket"
            raise OutputError(f"cannot write {what}: {p} exists and is {kind}, not a folder")
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


def _digest(data: dict) -> str:
    """SHA-256 of a record as canonical JSON, its ``digest`` field left out."""
    body = {k: v for k, v in data.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def write_record(path: str | os.PathLike, data: dict) -> Path:
    """:func:`write_json` for a record in a folder the program owns (a sweep's ``points/``, a
    search's ``evals/``), sealed with the ``digest`` of its content (:func:`record_intact`): a
    symlink found there is replaced by the file, never written through (its target may be one of
    the run's inputs, such as its spec)."""
    if os.path.islink(path):
        try:
            os.unlink(path)
        except OSError as exc:
            raise _write_error(Path(path), exc) from None
    sealed = json.loads(json.dumps(data, allow_nan=False))  # as it will read back
    sealed["digest"] = _digest(sealed)
    return write_json(path, sealed)


def record_intact(data: Mapping[str, Any]) -> bool:
    """Whether a record read back is as :func:`write_record` wrote it: its ``digest`` matches its
    content (an edited result, even one of the right type, does not). A record without one was
    written before records were sealed (2026-12-01) and is checked by its fields alone."""
    if "digest" not in data:
        return True
    try:
        return data["digest"] == _digest(dict(data))
    except (TypeError, ValueError, RecursionError):
        return False


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
