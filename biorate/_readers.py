"""Reading files that a user gives: one clear line for every way a file can be wrong (missing, a
folder or device, too large, not UTF-8, not JSON/TOML, a key given twice, an integer of thousands
of digits, a corrupt ``.npz``). Re-exported by :mod:`biorate.io`."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from ._memory import format_bytes
from .errors import BiorateError, CurveFileError

__all__ = ["check_no_nul", "check_regular_input", "check_size", "read_toml", "read_json", "open_npz",
           "MAX_JSON_BYTES", "MAX_TOML_BYTES"]  # fmt: skip


def check_no_nul(path: str | os.PathLike, error: type[BiorateError]) -> None:
    """Refuse a path holding a NUL character (no file system takes one; Python raises a bare
    ValueError at the first system call)."""
    text = os.fspath(path)
    if ("\x00" if isinstance(text, str) else b"\x00") in text:
        raise error(f"{text!r}: a path cannot contain a NUL character")


LOOP = "its path goes through a loop of symbolic links"


def is_loop(path: str | os.PathLike) -> bool:
    """Whether ``path`` cannot be looked up because it goes through a loop of symbolic links
    (``ln -s loop loop``): a path that exists, as links, and names nothing."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:
        return False
    return False


def check_regular_input(path: str | os.PathLike, error: type[BiorateError]) -> None:
    """Refuse an input that is not a path (``TransferCurve.load(5)``), or a device, FIFO or
    socket (``/dev/zero`` would be read forever, a FIFO would block): only regular files (and the
    folders a caller expects) are read."""
    if not isinstance(path, str | os.PathLike):
        raise error(f"expected a file path (a string or a Path), got {type(path).__name__}")
    check_no_nul(path, error)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{path}: {LOOP}") from None
        return  # missing or unreadable: the caller's own message says so
    except ValueError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise error(f"{path}: not a regular file (a device, FIFO or socket); give a file")


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
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
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
    except RecursionError:  # arrays or tables nested thousands deep: no spec of ours nests so
        raise error(f"{path}: nested too deeply to be a {what}") from None
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
        text = path.read_text(encoding="utf-8-sig")
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
