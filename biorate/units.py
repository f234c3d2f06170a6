"""Physical units without Brian2: parse ``"20 ms"``, accept Brian2 quantities, keep SI floats inside.

biorate stores every number in SI base units and names the unit beside it (DESIGN.md: "never a bare
float whose unit is a guess"). This module is deliberately light (NumPy only) so that the theory,
fitting and network modules can check units without importing the simulator.

A dimension is a 7-tuple of integer exponents in Brian2's order
``(metre, kilogram, second, ampere, kelvin, mole, candela)``, so a Brian2 ``Quantity`` converts
exactly: its SI value is ``np.asarray(q)`` and its dimension ``q.dim._dims``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import UnitError

__all__ = [
    "UnitArray",
    "Dim",
    "DIMENSIONLESS",
    "TIME",
    "FREQUENCY",
    "VOLTAGE",
    "CURRENT",
    "RESISTANCE",
    "CONDUCTANCE",
    "CAPACITANCE",
    "CONCENTRATION",
    "parse_unit",
    "parse_quantity",
    "to_si",
    "to_si_array",
    "parse_range",
    "format_quantity",
    "dim_name",
    "si_unit",
    "unit_scale",
]

Dim = tuple[int, int, int, int, int, int, int]


def _d(m=0, kg=0, s=0, A=0, K=0, mol=0, cd=0) -> Dim:  # noqa: N803
    return (m, kg, s, A, K, mol, cd)


DIMENSIONLESS = _d()
TIME = _d(s=1)
FREQUENCY = _d(s=-1)
VOLTAGE = _d(m=2, kg=1, s=-3, A=-1)
CURRENT = _d(A=1)
RESISTANCE = _d(m=2, kg=1, s=-3, A=-2)
CONDUCTANCE = _d(m=-2, kg=-1, s=3, A=2)
CAPACITANCE = _d(m=-2, kg=-1, s=4, A=2)
CHARGE = _d(s=1, A=1)
CONCENTRATION = _d(m=-3, mol=1)
LENGTH = _d(m=1)
MASS = _d(kg=1)
AMOUNT = _d(mol=1)

# symbol -> (scale to SI, dimension). Full names follow Brian2 ("volt", "amp", "second", ...).
_BASE: dict[str, tuple[float, Dim]] = {}
for _names, _scale, _dim in [
    (("1",), 1.0, DIMENSIONLESS),
    (("s", "second", "sec"), 1.0, TIME),
    (("Hz", "hertz"), 1.0, FREQUENCY),
    (("V", "volt"), 1.0, VOLTAGE),
    (("A", "amp", "ampere"), 1.0, CURRENT),
    (("ohm", "Ohm", "Ω"), 1.0, RESISTANCE),
    (("S", "siemens"), 1.0, CONDUCTANCE),
    (("F", "farad"), 1.0, CAPACITANCE),
    (("C", "coulomb"), 1.0, CHARGE),
    (("M", "molar", "mol/l"), 1000.0, CONCENTRATION),
    (("mol", "mole"), 1.0, AMOUNT),
    (("m", "metre", "meter"), 1.0, LENGTH),
    (("g", "gram"), 1e-3, MASS),
    (("l", "L", "liter", "litre"), 1e-3, _d(m=3)),
    (("K", "kelvin"), 1.0, _d(K=1)),
]:
    for _n in _names:
        _BASE[_n] = (_scale, _dim)

_PREFIX = {
    "y": 1e-24, "z": 1e-21, "a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6,
    "μ": 1e-6, "m": 1e-3, "c": 1e-2, "d": 1e-1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
}  # fmt: skip

# How each dimension is written back for people (display) and in files (SI base unit name).
_DISPLAY: dict[Dim, str] = {
    TIME: "ms", FREQUENCY: "Hz", VOLTAGE: "mV", CURRENT: "nA", RESISTANCE: "Mohm",
    CONDUCTANCE: "nS", CAPACITANCE: "pF", CONCENTRATION: "uM", DIMENSIONLESS: "",
    CHARGE: "pC", AMOUNT: "mol", LENGTH: "um",
}  # fmt: skip
_SI_NAME: dict[Dim, str] = {
    TIME: "s", FREQUENCY: "Hz", VOLTAGE: "V", CURRENT: "A", RESISTANCE: "ohm", CONDUCTANCE: "S",
    CAPACITANCE: "F", CONCENTRATION: "mM", DIMENSIONLESS: "1", CHARGE: "C", AMOUNT: "mol",
    LENGTH: "m",
}  # fmt: skip
_DIM_WORD: dict[Dim, str] = {
    TIME: "time", FREQUENCY: "frequency", VOLTAGE: "voltage", CURRENT: "current",
    RESISTANCE: "resistance", CONDUCTANCE: "conductance", CAPACITANCE: "capacitance",
    CONCENTRATION: "concentration", DIMENSIONLESS: "dimensionless", CHARGE: "charge",
}  # fmt: skip

_SYMBOL_RE = re.compile(r"^([^\W\d_]+|Ω|1)(?:(?:\^|\*\*)(-?\d+))?$")


def _add(a: Dim, b: Dim, k: int = 1) -> Dim:
    return tuple(x + k * y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _symbol(sym: str) -> tuple[float, Dim]:
    if sym in _BASE:
        return _BASE[sym]
    if len(sym) > 1 and sym[0] in _PREFIX and sym[1:] in _BASE and sym[1:] != "1":
        scale, dim = _BASE[sym[1:]]
        return _PREFIX[sym[0]] * scale, dim
    if sym.startswith("µ") or sym.startswith("μ"):
        return _symbol("u" + sym[1:])
    raise UnitError(f"unknown unit {sym!r}")


def parse_unit(text: str) -> tuple[float, Dim]:
    """Parse a unit expression such as ``"mV"``, ``"1/s"``, ``"nA*ms"`` or ``"Hz^2"``.

    Returns ``(scale, dim)``: one of that unit is ``scale`` SI base units of dimension ``dim``.
    """
    text = text.strip()
    if text in ("", "1"):
        return 1.0, DIMENSIONLESS
    if text in _BASE:
        return _BASE[text]
    scale, dim = 1.0, DIMENSIONLESS
    # split into factors, remembering whether each one divides
    parts = re.split(r"\s*([*/])\s*|\s+", text)
    sign = 1
    expect_factor = True
    for part in parts:
        if part is None or part == "":
            continue
        if part in ("*", "/"):
            if expect_factor:
                raise UnitError(f"cannot parse unit {text!r}")
            sign = -1 if part == "/" else 1
            expect_factor = True
            continue
        m = _SYMBOL_RE.match(part)
        if not m:
            raise UnitError(f"cannot parse unit {text!r}")
        s, d = _symbol(m.group(1))
        power = int(m.group(2) or 1) * sign
        scale *= s**power
        dim = _add(dim, d, power)
        sign = 1
        expect_factor = False
    if expect_factor:
        raise UnitError(f"cannot parse unit {text!r}")
    return scale, dim


_NUMBER_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan)\s*(.*?)\s*$",
                        re.IGNORECASE)  # fmt: skip


def parse_quantity(text: str) -> tuple[float, Dim]:
    """Parse ``"20 ms"`` / ``"20ms"`` / ``"-70 mV"`` into ``(SI value, dim)``."""
    m = _NUMBER_RE.match(str(text))
    if not m:
        raise UnitError(
            f"cannot parse quantity {text!r} (expected a number and a unit, e.g. '20 ms')"
        )
    number, unit = float(m.group(1)), m.group(2)
    scale, dim = parse_unit(unit)
    return number * scale, dim


def dim_name(dim: Dim) -> str:
    """A readable name of a dimension (``"time"``, ``"voltage"`` or its SI unit)."""
    return _DIM_WORD.get(dim) or si_unit(dim)


def si_unit(dim: Dim) -> str:
    """The SI unit string used in biorate's files for ``dim`` (``"s"``, ``"V"``, ``"kg*m^2"``...)."""
    if dim in _SI_NAME:
        return _SI_NAME[dim]
    names = ("m", "kg", "s", "A", "K", "mol", "cd")
    up = [n if e == 1 else f"{n}^{e}" for n, e in zip(names, dim, strict=True) if e > 0]
    down = [n if e == -1 else f"{n}^{-e}" for n, e in zip(names, dim, strict=True) if e < 0]
    return ("*".join(up) or "1") + ("/" + "/".join(down) if down else "")


def unit_scale(unit: str, dim: Dim | None = None) -> float:
    """SI value of one ``unit``; with ``dim`` given, check that the unit has that dimension."""
    scale, d = parse_unit(unit)
    if dim is not None and d != dim:
        raise UnitError(f"unit {unit!r} is a {dim_name(d)}, expected a {dim_name(dim)}")
    return scale


class UnitArray(np.ndarray):
    """A float array of SI values that knows its dimension, so that ``theory.fi(lif, current=curve.x)``
    needs no unit spelled out. Indexing and slicing keep the dimension; arithmetic returns a plain
    ``ndarray`` (``curve.x * 1e9`` is no longer amperes, and is not labelled as such)."""

    _dim: Dim | None

    def __new__(cls, values: Any, dim: Dim) -> UnitArray:
        obj = np.asarray(values, dtype=float).view(cls)
        obj._dim = dim
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self._dim = getattr(obj, "_dim", None)

    def __getitem__(self, key: Any) -> Any:
        item = super().__getitem__(key)
        if np.ndim(item) == 0:  # curve.x[0] is still amperes: a 0-d UnitArray
            return UnitArray(item, self._dim)
        return item

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __array_wrap__(self, out: Any, context: Any = None, return_scalar: bool = False) -> Any:
        arr = np.asarray(out)
        return arr[()] if return_scalar else arr

    def __reduce__(self) -> Any:  # pickling (Dask workers) keeps the dimension
        return (UnitArray, (np.asarray(self), self._dim))

    @property
    def unit(self) -> str:
        return si_unit(self._dim) if self._dim is not None else "1"


def _brian_dims(value: Any) -> Dim | None:
    if isinstance(value, UnitArray):
        return value._dim
    dim = getattr(value, "dim", None)
    dims = getattr(dim, "_dims", None)
    if dims is None:
        return None
    out = tuple(int(round(x)) for x in dims)
    if any(abs(x - r) > 1e-12 for x, r in zip(dims, out, strict=True)):
        raise UnitError(f"fractional dimensions are not supported: {value!r}")
    return out  # type: ignore[return-value]


def _convert(value: Any, dim: Dim, name: str) -> np.ndarray:
    bdim = _brian_dims(value)
    if bdim is not None:  # a Brian2 Quantity: ndarray subclass holding SI values
        got, arr = bdim, np.asarray(value, dtype=float)
    elif isinstance(value, str):
        arr, got = _parse_str_array(value)
    elif _all_quantities(value):  # a list of Brian2 quantities, e.g. [3*uM, 5*uM]
        dims = {_brian_dims(v) for v in value}
        if len(dims) > 1:
            raise UnitError(f"{name}: mixed dimensions in {_show(value)}")
        got, arr = dims.pop(), np.array([float(np.asarray(v)) for v in value])
    elif isinstance(value, Iterable) and not isinstance(value, np.ndarray) and _all_str(value):
        parsed = [parse_quantity(v) for v in value]
        dims = {d for _, d in parsed}
        if len(dims) > 1:
            raise UnitError(f"{name}: mixed dimensions in {list(value)!r}")
        got = dims.pop() if dims else dim
        arr = np.array([v for v, _ in parsed], dtype=float)
    else:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise UnitError(f"{name}: cannot read {value!r} as a quantity") from exc
        got = DIMENSIONLESS
        if dim != DIMENSIONLESS and not np.all(arr == 0):
            raise UnitError(
                f"{name}: bare number {value!r} has no unit; give a {dim_name(dim)} "
                f"such as '{_example(dim)}'"
            )
        if dim != DIMENSIONLESS:
            got = dim  # zero is zero in any unit
    if got != dim:
        raise UnitError(f"{name}: expected a {dim_name(dim)}, got {_show(value)} ({dim_name(got)})")
    return arr


def _all_quantities(value: Any) -> bool:
    if not isinstance(value, list | tuple) or not value:
        return False
    return all(_brian_dims(v) is not None and np.ndim(v) == 0 for v in value)


def _all_str(values: Iterable) -> bool:
    try:
        items = list(values)
    except TypeError:
        return False
    return bool(items) and all(isinstance(v, str) for v in items)


def _parse_str_array(text: str) -> tuple[np.ndarray, Dim]:
    if ":" in text or "," in text:
        return parse_range(text)
    v, d = parse_quantity(text)
    return np.asarray(v), d


def _example(dim: Dim) -> str:
    return f"1 {_DISPLAY.get(dim, si_unit(dim))}".strip()


def _show(value: Any) -> str:
    s = repr(value) if not isinstance(value, str) else repr(value)
    return s if len(s) < 60 else s[:57] + "..."


def to_si(value: Any, dim: Dim, name: str = "value") -> float:
    """One scalar quantity in SI units, checked against ``dim``; NaN and inf are refused."""
    arr = _convert(value, dim, name)
    if arr.ndim != 0 and arr.size != 1:
        raise UnitError(f"{name}: expected a single value, got {arr.size}")
    x = float(arr.reshape(()))
    if not math.isfinite(x):
        raise UnitError(f"{name}: {x} is not a finite number")
    return x


def to_si_array(value: Any, dim: Dim, name: str = "value") -> np.ndarray:
    """A 1-D array of quantities in SI units, checked against ``dim``; NaN and inf are refused."""
    arr = np.atleast_1d(_convert(value, dim, name)).astype(float)
    if arr.ndim != 1:
        raise UnitError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise UnitError(f"{name}: no values given")
    if not np.all(np.isfinite(arr)):
        raise UnitError(f"{name}: contains NaN or inf")
    return arr


# the most points a START:STOP:COUNT range may ask for: far beyond any curve (a million levels is
# 8 MB of floats), far below an allocation that fails
MAX_RANGE_COUNT = 1_000_000


def parse_range(text: str) -> tuple[np.ndarray, Dim]:
    """Parse ``"START:STOP:COUNT"`` (``"0nA:0.5nA:51"``, linearly spaced, inclusive) or a comma list
    (``"0.1nA,0.2nA"``) into ``(SI array, dim)``. A bare ``0`` takes the other ends' unit."""
    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise UnitError(f"range {text!r}: expected START:STOP:COUNT, e.g. '0nA:0.5nA:51'")
        try:
            count = int(parts[2])
        except ValueError:
            raise UnitError(f"range {text!r}: COUNT must be an integer, got {parts[2]!r}") from None
        if not 1 <= count <= MAX_RANGE_COUNT:
            raise UnitError(f"range {text!r}: COUNT must be from 1 to {MAX_RANGE_COUNT:,}")
        (a, da), (b, db) = parse_quantity(parts[0]), parse_quantity(parts[1])
        if not (math.isfinite(a) and math.isfinite(b)):
            raise UnitError(f"range {text!r}: contains NaN or inf")
        da = db if (da == DIMENSIONLESS and a == 0) else da
        db = da if (db == DIMENSIONLESS and b == 0) else db
        if da != db:
            raise UnitError(f"range {text!r}: START and STOP have different units")
        return np.linspace(a, b, count), da
    items = [parse_quantity(p) for p in text.split(",") if p.strip()]
    if not items:
        raise UnitError(f"empty list {text!r}")
    dims = {d for v, d in items if not (v == 0 and d == DIMENSIONLESS)}
    if len(dims) > 1:
        raise UnitError(f"list {text!r}: mixed units")
    dim = dims.pop() if dims else DIMENSIONLESS
    arr = np.array([v for v, _ in items])
    if not np.all(np.isfinite(arr)):
        raise UnitError(f"list {text!r}: contains NaN or inf")
    return arr, dim


def format_quantity(value_si: float, dim: Dim, unit: str | None = None) -> str:
    """``format_quantity(0.02, TIME) == "20 ms"``: a round-trippable string in a readable unit."""
    unit = unit if unit is not None else _DISPLAY.get(dim, si_unit(dim))
    scale = unit_scale(unit, dim) if unit else 1.0
    number = f"{value_si / scale:.12g}"
    return f"{number} {unit}".strip() if unit and unit != "1" else number
