"""Parsing and formatting of units and quantities (``"20 ms"``, ``"0nA:0.5nA:51"``) and the
dimensions biorate knows: the text half of :mod:`biorate.units`, which re-exports it. NumPy only.
"""

from __future__ import annotations

import math
import re
import reprlib
from typing import Any

import numpy as np

from .errors import UnitError

__all__ = ["Dim", "DIMENSIONLESS", "TIME", "FREQUENCY", "VOLTAGE", "CURRENT", "RESISTANCE",
           "CONDUCTANCE", "CAPACITANCE", "CONCENTRATION", "CHARGE", "MAX_RANGE_COUNT", "parse_unit",
           "divide_units", "parse_quantity", "parse_range", "integer", "number", "format_quantity",
           "dim_name", "si_unit", "unit_scale"]  # fmt: skip

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
    if (sym.startswith("µ") or sym.startswith("μ")) and sym[1:]:
        try:
            return _symbol("u" + sym[1:])
        except UnitError:
            pass
    raise UnitError(f"unknown unit {_show(sym)}")


# the largest power a unit factor (``m^3``) or the whole unit (``mol/l^2``...) may carry: far beyond
# any physical unit, far below a scale that overflows a float (``kA^200`` is 1e600)
MAX_EXPONENT = 12


def parse_unit(text: str, *, name: str | None = None) -> tuple[float, Dim]:
    """Parse a unit expression such as ``"mV"``, ``"1/s"``, ``"nA*ms"`` or ``"Hz^2"``.

    Returns ``(scale, dim)``: one of that unit is ``scale`` SI base units of dimension ``dim``.
    Anything else (not a string, an unknown symbol, an exponent beyond ±12, a scale a float cannot
    hold) raises :class:`UnitError`, prefixed with ``name`` when given.
    """
    try:
        return _parse_unit(text)
    except UnitError as exc:
        raise _named(exc, name) from None


def divide_units(numerator: str, denominator: str) -> str:
    """The unit expression ``numerator / denominator`` in the grammar :func:`parse_unit` reads
    (left to right, no parentheses): each factor of the denominator is inverted, so that
    ``divide_units("Hz", "nA/cm^2")`` is ``"Hz/nA*cm^2"`` and ``divide_units("1", "1/s")`` is
    ``"s"`` (not ``"1/1/s"``, which reads as 1/s)."""
    flip = {"*": "/", "/": "*"}
    parts = re.split(r"([*/])", denominator.replace(" ", ""))
    factors = [("/", parts[0])] + [
        (flip[op], f) for op, f in zip(parts[1::2], parts[2::2], strict=True)
    ]
    out = "" if numerator == "1" else numerator
    for op, f in factors:
        if f != "1":
            out = f"{out}{op}{f}" if out else (f if op == "*" else f"1/{f}")
    return out or "1"


def _named(exc: UnitError, name: str | None) -> UnitError:
    return UnitError(f"{name}: {exc}") if name else exc


def _parse_unit(text: Any) -> tuple[float, Dim]:
    if not isinstance(text, str):
        raise UnitError(f"expected a unit string, got {_describe(text)}")
    _ascii_digits(text)
    try:
        return _parse_power_unit(re.sub(r"\s*\*\*\s*", "^", text.strip()))
    except UnitError as exc:  # quote the unit as written (Brian2's, Python's power: mS/cm**2)
        written = text.strip()
        raise UnitError(str(exc).replace(_show(re.sub(r"\s*\*\*\s*", "^", written)),
                                         _show(written), 1)) from None  # fmt: skip


def _parse_power_unit(text: str) -> tuple[float, Dim]:
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
                raise UnitError(f"cannot parse unit {_show(text)}")
            sign = -1 if part == "/" else 1
            expect_factor = True
            continue
        m = _SYMBOL_RE.match(part)
        if not m:
            raise UnitError(f"cannot parse unit {_show(text)}")
        s, d = _symbol(m.group(1))
        power = _exponent(m.group(2), text) * sign
        scale *= s**power  # |power| <= 12 and s in [1e-24, 1e12]: no overflow
        dim = _add(dim, d, power)
        sign = 1
        expect_factor = False
    if expect_factor:
        raise UnitError(f"cannot parse unit {_show(text)}")
    if any(abs(e) > MAX_EXPONENT for e in dim):
        raise UnitError(f"unit {_show(text)}: powers beyond ±{MAX_EXPONENT} are not supported")
    if not (math.isfinite(scale) and scale > 0):
        raise UnitError(f"unit {_show(text)}: its scale is beyond the range of a float")
    return scale, dim


def _exponent(digits: str | None, text: str) -> int:
    if digits is None:
        return 1
    power = int(digits) if len(digits) <= 4 else MAX_EXPONENT + 1
    if abs(power) > MAX_EXPONENT:
        raise UnitError(
            f"unit {_show(text)}: exponent {_show_digits(digits)} is out of range "
            f"(at most ±{MAX_EXPONENT})"
        )
    return power


def _ascii_digits(text: str) -> None:
    """Refuse a digit other than ASCII 0-9 (a full-width '５', an Arabic-Indic '٥'): Python's
    ``float`` and ``int`` read them, but nothing else does, and a file must mean one thing
    everywhere. One rule for every quantity, unit exponent and count."""
    for ch in text:
        if ch.isdigit() and not ch.isascii():
            raise UnitError(f"{_show(text)}: digits must be ASCII 0-9, found {ch!r} "
                            f"(U+{ord(ch):04X})")  # fmt: skip


def integer(text: str) -> int:
    """A whole number written in ASCII digits with an optional sign (``"10"``, ``"-3"``): the
    counts of the CLI (``--trials``, ``--seed``) and of a range's COUNT. Anything else, a
    full-width ``"２"`` included, raises :class:`UnitError` (a ``ValueError``: argparse reports it
    as an invalid integer value)."""
    if not isinstance(text, str):
        raise UnitError(f"expected a whole number, got {_describe(text)}")
    _ascii_digits(text)
    digits = text.strip()
    if not re.fullmatch(r"[-+]?\d+", digits, flags=re.ASCII):
        raise UnitError(f"expected a whole number, got {_show(text)}")
    if len(digits) > 30:
        raise UnitError(f"{_show_digits(digits)}: a whole number of {len(digits)} digits is "
                        "out of range")  # fmt: skip
    return int(digits)


_DECIMAL = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)


def number(text: str) -> float:
    """A decimal number written in ASCII (``"5e-3"``, ``"-0.5"``; ``"nan"`` and ``"inf"`` pass,
    for the option's own check to name): the plain numbers of the CLI (``--lr``, ``--alpha``). A
    full-width ``"４"`` or ``"1_000"`` (which Python's ``float`` takes) raises :class:`UnitError`
    (a ``ValueError``: argparse reports it as an invalid value)."""
    if not isinstance(text, str):
        raise UnitError(f"expected a number, got {_describe(text)}")
    _ascii_digits(text)
    t = text.strip()
    if not (_DECIMAL.fullmatch(t) or t.lower().lstrip("+-") in ("nan", "inf", "infinity")):
        raise UnitError(f"expected a number such as 0.5 or 5e-3, got {_show(text)}")
    return float(t)


def _show_digits(digits: str) -> str:
    return digits if len(digits) <= 12 else digits[:9] + "..."


_NUMBER_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan)\s*(.*?)\s*$",
                        re.IGNORECASE)  # fmt: skip


def parse_quantity(text: str, *, name: str | None = None) -> tuple[float, Dim]:
    """Parse ``"20 ms"`` / ``"20ms"`` / ``"-70 mV"`` into ``(SI value, dim)``.

    NaN, inf and values beyond a float's range (``"1e400 ms"``) are refused; every problem raises
    :class:`UnitError`, its message prefixed with ``name`` (the parameter) when given.
    """
    try:
        return _parse_quantity(text)
    except UnitError as exc:
        raise _named(exc, name) from None


class _NotFinite(UnitError):
    """NaN, inf or a float overflow (a range says it "contains NaN or inf")."""


def _parse_quantity(text: Any) -> tuple[float, Dim]:
    try:
        text = text if isinstance(text, str) else str(text)
    except Exception:  # noqa: BLE001 - an object whose str() fails is no quantity either
        raise UnitError(f"cannot read {_describe(text)} as a quantity") from None
    _ascii_digits(text)
    m = _NUMBER_RE.match(text)
    if not m:
        raise UnitError(
            f"cannot parse quantity {_show(text)} (expected a number and a unit, e.g. '20 ms')"
        )
    number, unit = float(m.group(1)), m.group(2)
    scale, dim = _parse_unit(unit)
    value = number * scale
    if math.isnan(number) or (math.isinf(number) and m.group(1).strip("+-").lower() == "inf"):
        raise _NotFinite(f"{_show(text)} is not a finite quantity")
    if not math.isfinite(value):
        raise _NotFinite(f"{_show(text)} is not a finite quantity: it overflows a float")
    return value, dim


def _check_dim(dim: Any) -> Dim:
    """A dimension: seven integer exponents (m, kg, s, A, K, mol, cd); UnitError otherwise."""
    if not (isinstance(dim, tuple | list) and len(dim) == 7 and all(
            isinstance(e, int | np.integer) and not isinstance(e, bool) for e in dim)):  # fmt: skip
        raise UnitError(f"a dimension is a tuple of 7 integer exponents (m, kg, s, A, K, mol, cd), "
                        f"got {_show(dim)}")  # fmt: skip
    return tuple(int(e) for e in dim)  # type: ignore[return-value]


def dim_name(dim: Dim) -> str:
    """A readable name of a dimension (``"time"``, ``"voltage"`` or its SI unit)."""
    dim = _check_dim(dim)
    return _DIM_WORD.get(dim) or si_unit(dim)


def si_unit(dim: Dim) -> str:
    """The SI unit string used in biorate's files for ``dim`` (``"s"``, ``"V"``, ``"kg*m^2"``...)."""
    dim = _check_dim(dim)
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


# the most points a START:STOP:COUNT range may ask for: far beyond any curve (a million levels is
# 8 MB of floats), far below an allocation that fails
MAX_RANGE_COUNT = 1_000_000


def parse_range(text: str, *, name: str | None = None) -> tuple[np.ndarray, Dim]:
    """Parse ``"START:STOP:COUNT"`` (``"0nA:0.5nA:51"``, linearly spaced, inclusive) or a comma list
    (``"0.1nA,0.2nA"``) into ``(SI array, dim)``. A bare ``0`` takes the other ends' unit. Every
    problem raises :class:`UnitError`, prefixed with ``name`` (the parameter) when given."""
    try:
        if not isinstance(text, str):
            raise UnitError(f"expected a range string such as '0nA:0.5nA:51', got {_show(text)}")
        text = text.strip()
        return _parse_span(text) if ":" in text else _parse_list(text)
    except UnitError as exc:
        raise _named(exc, name) from None


def _parse_span(text: str) -> tuple[np.ndarray, Dim]:
    parts = text.split(":")
    if len(parts) != 3:
        raise UnitError(f"range {_show(text)}: expected START:STOP:COUNT, e.g. '0nA:0.5nA:51'")
    _ascii_digits(text)
    digits = parts[2].strip()
    if not re.fullmatch(r"[-+]?\d+", digits, flags=re.ASCII):
        raise UnitError(f"range {_show(text)}: COUNT must be an integer, got {_show(parts[2])}")
    count = int(digits) if len(digits) <= 20 else MAX_RANGE_COUNT + 1
    if not 1 <= count <= MAX_RANGE_COUNT:
        raise UnitError(f"range {_show(text)}: COUNT must be from 1 to {MAX_RANGE_COUNT:,}")
    try:
        (a, da), (b, db) = _parse_quantity(parts[0]), _parse_quantity(parts[1])
    except _NotFinite as exc:
        raise UnitError(f"range {_show(text)}: contains NaN or inf ({exc})") from None
    da = db if (da == DIMENSIONLESS and a == 0) else da
    db = da if (db == DIMENSIONLESS and b == 0) else db
    if da != db:
        raise UnitError(f"range {_show(text)}: START and STOP have different units")
    with np.errstate(all="ignore"):
        values = np.linspace(a, b, count)
    if not np.all(np.isfinite(values)):
        raise UnitError(f"range {_show(text)}: its span overflows a float")
    return values, da


def _parse_list(text: str) -> tuple[np.ndarray, Dim]:
    try:
        parts = text.split(",")
        if len(parts) > 1 and any(not p.strip() for p in parts):
            raise UnitError(f"list {_show(text)}: an empty entry (a stray comma?)")
        items = [_parse_quantity(p) for p in parts if p.strip()]
    except _NotFinite as exc:
        raise UnitError(f"list {_show(text)}: contains NaN or inf ({exc})") from None
    if not items:
        raise UnitError(f"empty list {_show(text)}")
    dims = {d for v, d in items if not (v == 0 and d == DIMENSIONLESS)}
    if len(dims) > 1:
        raise UnitError(f"list {_show(text)}: mixed units")
    dim = dims.pop() if dims else DIMENSIONLESS
    return np.array([v for v, _ in items]), dim


def format_quantity(value_si: float, dim: Dim, unit: str | None = None) -> str:
    """``format_quantity(0.02, TIME) == "20 ms"``: a round-trippable string in a readable unit
    (the dimension's usual one, ``ms``, ``nS``...; another prefix of it where that would need
    more than six digits or fewer than 1e-3 and a prefix leaves 1 to 999: ``1 S``, not
    ``1000000000 nS``)."""
    dim = _check_dim(dim)
    try:
        if isinstance(value_si, bool | np.bool_ | str | bytes) or np.iscomplexobj(value_si):
            raise TypeError
        value_si = float(value_si)
    except (TypeError, ValueError):
        raise UnitError(
            f"a quantity's value is a real number (SI), got {_show(value_si)}"
        ) from None
    except OverflowError:
        raise UnitError(f"a quantity's value must fit a float, got {_show(value_si)}") from None
    if unit is not None and not isinstance(unit, str):
        raise UnitError(f"a unit is a string, got {_show(unit)}")
    unit = unit if unit is not None else _readable_unit(value_si, dim)
    scale = unit_scale(unit, dim) if unit else 1.0
    number = f"{value_si / scale:.12g}"
    return f"{number} {unit}".strip() if unit and unit != "1" else number


# the prefixes a display unit may move to (a time no further than seconds)
_READABLE = ("f", "p", "n", "u", "m", "", "k", "M", "G")


def _readable_unit(value_si: float, dim: Dim) -> str:
    unit = _DISPLAY.get(dim, si_unit(dim))
    base = _SI_NAME.get(dim)
    if not (base and unit and unit.endswith(base) and value_si and math.isfinite(value_si)):
        return unit
    magnitude = abs(value_si) / unit_scale(unit, dim)
    if 1e-3 <= magnitude < 1e6:
        return unit
    if dim == TIME and abs(value_si) >= 1:
        return base  # (100000 s, not 100 ks)
    prefixes = _READABLE[: _READABLE.index("") + 1] if dim == TIME else _READABLE
    for prefix in prefixes:  # the prefix that leaves 1 to 999
        if 1 <= abs(value_si) / _PREFIX.get(prefix, 1.0) < 1e3:
            return prefix + base
    # far out: the usual unit, or SI where the usual one overflows (1e308 V is not "inf mV")
    return unit if math.isfinite(magnitude) else base


def _show(value: Any) -> str:
    """A value in an error message: one line, short, never a 5000-digit integer."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return "an integer too large for a float" if abs(value) > 10**308 else f"{float(value):g}"
    if isinstance(value, str) and len(value) > 60:
        value = value[:57] + "..."
    try:  # (a list's repr is bounded: one that shares its sub-lists 40 levels deep has 2**40)
        s = bounded_repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails must not hide the real problem
        return _describe(value)
    return s if len(s) < 60 else s[:57] + "..."


def bounded_repr(value: Any) -> str:
    """``repr(value)``, a container's bounded (3 levels, 8 items each): a list that shares its
    sub-lists 40 levels deep stands for 2**40 values, whose full repr never ends. One line: an
    array's repr breaks its rows over lines."""
    text = _SHORT.repr(value) if isinstance(value, list | tuple | dict | set) else repr(value)
    return re.sub(r"\s*\n\s*", " ", text)


_SHORT = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 8


def _describe(value: Any) -> str:
    return "a string" if isinstance(value, str) else f"a {type(value).__name__}"
