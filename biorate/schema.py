"""Field-by-field checks of what biorate reads: one place that says what each file's fields must be.

Every file format (transfer curve, activation, model, network, sweep spec) is a nested table of
JSON/TOML/npz values. :class:`Fields` wraps one table and hands out its fields already checked —
a string, a finite number in a physical domain, an integer, a list of numbers, a sub-table — or
raises the format's own error (a :class:`~biorate.errors.BiorateError`) naming the file, the field
and what was found instead::

    f = Fields(data, "curve.json", CurveFileError)
    x = f.numbers("x")                       # 1-D float array, finite
    unit = f.text("x_unit")
    model = f.table("model", default={})
    trials = f.table("protocol", default={}).integer("trials", lo=1, default=None)

so a file with ``"y": 5`` or ``"model": [1]`` fails with ``curve.json: field 'y': expected a list of
numbers, found a number`` instead of a ``TypeError`` from deep inside NumPy. NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ._unit_parse import bounded_repr
from .errors import BiorateError

__all__ = [
    "Fields",
    "MISSING",
    "describe",
    "finite_number",
    "one_of",
    "boolean",
    "is_integer",
    "is_real",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # "no default": the field is required


def describe(value: Any) -> str:
    """What a value is, as an error message says it: 'a number', 'a list', 'null'..."""
    if value is None:
        return "null"
    if value is np.ma.masked or (
        isinstance(value, np.ma.MaskedArray) and np.ma.getmaskarray(value).any()
    ):
        return "a masked value (NumPy's 'no value')"
    if isinstance(value, bool | np.bool_):
        return "true/false"
    if isinstance(value, int | float | np.integer | np.floating):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    return f"a {type(value).__name__}"


def one_of(value: Any, choices: Iterable[str], name: str, error: type[BiorateError]) -> str:
    """``value`` when it is one of the strings ``choices``, else ``error`` naming ``name`` (an
    array, a list or a quantity is refused here, not by a comparison that cannot take it)."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise error(f"{name} must be one of {', '.join(choices)}, got {short(value)}")
    return value


def boolean(value: Any, name: str, error: type[BiorateError]) -> bool:
    """``value`` when it is True or False (NumPy's too), else ``error`` naming ``name`` (an array
    reached an ``if`` that cannot take it; a string such as "no" would read as True)."""
    if not isinstance(value, bool | np.bool_):
        raise error(f"{name} must be True or False, got {short(value)}")
    return bool(value)


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer, Python's or NumPy's: not a bool, and not a NumPy
    ``timedelta64`` (which NumPy counts among its integers, and ``int()`` refuses)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.timedelta64)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number, Python's or NumPy's: an integer as :func:`is_integer`
    says, or a float (not a bool, a string, a timedelta or a complex number)."""
    return is_integer(value) or isinstance(value, float | np.floating)


def finite_number(value: Any) -> bool:
    """Whether ``value`` is a real number (not a bool, not a string) that is finite."""
    if not is_real(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        return False


class Fields:
    """One table of a file, handing out checked fields. ``where`` names the file (and the table
    within it, for sub-tables); ``error`` is the format's exception class."""

    def __init__(self, data: Any, where: str, error: type[BiorateError] = BiorateError) -> None:
        if not isinstance(data, Mapping):
            raise error(f"{where}: expected a table of fields, found {describe(data)}")
        self.data, self.where, self.error = data, where, error

    # --- plumbing -------------------------------------------------------------------------------
    def fail(self, key: str, message: str) -> BiorateError:
        """The format's error for field ``key`` (raise it)."""
        return self.error(f"{self.where}: field {key!r}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is MISSING:
            raise self.error(f"{self.where}: field {key!r} is missing")
        return default

    def unknown(self, allowed: Iterable[str]) -> None:
        """Refuse fields that the format does not define (a typo must not pass silently)."""
        extra = sorted(set(map(str, self.data)) - set(allowed))
        if extra:
            shown = ", ".join(repr(k[:40]) for k in extra[:5]) + (f" (and {len(extra) - 5} more)"
                                                                  if len(extra) > 5 else "")  # fmt: skip
            raise self.error(f"{self.where}: unknown field(s) {shown}; "
                             f"expected some of {', '.join(sorted(allowed))}")  # fmt: skip

    # --- fields ---------------------------------------------------------------------------------
    def text(self, key: str, default: Any = MISSING, *, choices: Iterable[str] | None = None,
             nonempty: bool = True) -> Any:  # fmt: skip
        """A string (one of ``choices`` when given)."""
        v = self._get(key, default)
        if v is default and default is not MISSING:
            return v
        if not isinstance(v, str):
            raise self.fail(key, f"expected a string, found {describe(v)}")
        if nonempty and not v.strip():
            raise self.fail(key, "expected a non-empty string")
        if choices is not None and v not in (opts := list(choices)):
            raise self.fail(key, f"{v!r} is not one of {', '.join(opts)}")
        return v

    def number(self, key: str, default: Any = MISSING, *, lo: float | None = None,
               hi: float | None = None, lo_open: bool = False) -> Any:  # fmt: skip
        """A finite real number within ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
        v = self._get(key, default)
        if v is default and default is not MISSING:
            return v
        if not finite_number(v):
            raise self.fail(key, f"expected a finite number, found {_show(v)}")
        v = float(v)
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise self.fail(
                key, f"{v:g} is out of range: must be {'>' if lo_open else '>='} {lo:g}"
            )
        if hi is not None and v > hi:
            raise self.fail(key, f"{v:g} is out of range: must be <= {hi:g}")
        return v

    def integer(self, key: str, default: Any = MISSING, *, lo: int | None = None,
                hi: int | None = None) -> Any:  # fmt: skip
        """A whole number (``3`` or ``3.0``, not ``3.5`` or ``true``) within ``[lo, hi]``."""
        v = self._get(key, default)
        if v is default and default is not MISSING:
            return v
        if not finite_number(v) or float(v) != int(v):
            raise self.fail(key, f"expected a whole number, found {_show(v)}")
        v = int(v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = f">= {lo}" if hi is None else (f"<= {hi}" if lo is None else f"in {lo}..{hi}")
            raise self.fail(key, f"{v} is out of range: must be {bounds}")
        return v

    def flag(self, key: str, default: Any = MISSING) -> Any:
        """true or false."""
        v = self._get(key, default)
        if v is default and default is not MISSING:
            return v
        if not isinstance(v, bool | np.bool_):
            raise self.fail(key, f"expected true or false, found {describe(v)}")
        return bool(v)

    def numbers(self, key: str, default: Any = MISSING, *, nulls: bool = False,
                length: int | None = None, min_length: int = 0) -> Any:  # fmt: skip
        """A flat list of finite numbers as a float64 array (``null`` -> NaN with ``nulls``), of
        ``length`` entries when given."""
        v = self._get(key, default)
        if v is default and default is not MISSING:
            return v
        what = "a finite number" + (" or null" if nulls else "")
        if (isinstance(v, np.ndarray) and not isinstance(v, np.ma.MaskedArray) and v.ndim == 1
                and v.dtype.kind in "iuf"):  # fmt: skip
            # an array made in code: checked at once (a Python loop took ~1.3 us and ~40 bytes
            # of objects a point: 1e7 points 13 s and 0.8 GB); NaN is null where nulls are allowed
            with np.errstate(over="ignore"):  # (a longdouble beyond float64: inf, refused)
                out = v.astype(float)
            bad = np.isinf(out) if nulls else ~np.isfinite(out)
            if bad.any():
                i = int(np.argmax(bad))
                raise self.fail(key, f"entry {i}: expected {what}, found {_show(v[i].item())}")
        else:
            if isinstance(v, np.ndarray):
                items = v.tolist() if v.ndim == 1 else None
            else:
                items = list(v) if isinstance(v, list | tuple) else None
            if items is None:
                raise self.fail(key, f"expected a list of numbers, found {describe(v)}")
            out = np.empty(len(items), dtype=float)
            for i, item in enumerate(items):
                if item is None and nulls:
                    out[i] = np.nan
                elif finite_number(item):
                    out[i] = float(item)
                else:
                    raise self.fail(key, f"entry {i}: expected {what}, found {_show(item)}")
        if length is not None and out.size != length:
            raise self.fail(key, f"expected {length} entries, found {out.size}")
        if out.size < min_length:
            raise self.fail(key, f"expected at least {min_length} entries, found {out.size}")
        return out

    def strings(self, key: str, default: Any = MISSING) -> Any:
        """A list of strings."""
        v = self._get(key, default)
        if v is default and default is not MISSING:
            return v
        if not isinstance(v, list | tuple):
            raise self.fail(key, f"expected a list of strings, found {describe(v)}")
        for i, s in enumerate(v):
            if not isinstance(s, str):
                shown = "" if _show(s) == describe(s) else f" ({_show(s)})"
                raise self.fail(key, f"entry {i}: expected a string, found {describe(s)}{shown}")
        return list(v)

    def table(self, key: str, default: Any = MISSING) -> Any:
        """A sub-table, as :class:`Fields` (its errors name ``where: key``); a missing one gives
        ``default`` (wrapped as :class:`Fields` when it is a table, e.g. ``default={}``)."""
        v = self._get(key, default)
        if v is default and default is not MISSING and not isinstance(default, Mapping):
            return default
        if not isinstance(v, Mapping):
            raise self.fail(key, f"expected a table, found {describe(v)}")
        return Fields(v, f"{self.where}: {key!r}" if not key.isidentifier() else f"{self.where}: {key}",
                      self.error)  # fmt: skip

    def raw(self, key: str, default: Any = MISSING) -> Any:
        """The value as it is (for fields checked elsewhere, e.g. a quantity with its unit)."""
        return self._get(key, default)


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters for a one-line message (a huge integer is
    named, not printed: Python refuses to print one of over 4300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return _show(value)
    try:
        text = bounded_repr(value)
    except Exception:  # noqa: BLE001 - a failing repr must not hide the real error
        return describe(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(v: Any) -> str:
    """A value in an error message: short, and never a 4000-digit integer."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**15:
        return "an integer too large for a float" if abs(v) > 10**308 else f"{float(v):g}"
    if isinstance(v, float | np.floating):
        return repr(float(v))
    if isinstance(v, str):
        return repr(v[:40] + ("..." if len(v) > 40 else ""))
    return describe(v)
