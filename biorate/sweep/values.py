"""What a sweep spec's values may be: numbers with units, ranges, comma lists and TOML lists read
into SI arrays, the checks on a spec's tables, and the spec's own error type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import BiorateError, UnitError
from ..units import (
    CURRENT,
    DIMENSIONLESS,
    FREQUENCY,
    TIME,
    VOLTAGE,
    Dim,
    dim_name,
    parse_quantity,
    parse_range,
    si_unit,
    to_si,
    to_si_array,
)

__all__ = ["SpecError", "table", "unknown_keys", "scalar", "si_values", "unit_hint"]


class SpecError(BiorateError):
    """A sweep specification is malformed (unknown key, empty grid, duplicate points, ...)."""


def table(data: Mapping, key: str, required: bool = True) -> dict:
    """``data[key]`` as a dict; :class:`SpecError` when it is not a table (or missing, if required)."""
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"[{key}] must be a table" if value is not None else f"[{key}] is missing")
    return dict(value)


def unknown_keys(keys: set, allowed: set, what: str) -> None:
    """Refuse the first key outside ``allowed``, naming ``what`` it was found in."""
    extra = sorted(keys - allowed)
    if extra:
        raise SpecError(
            f"unknown key {extra[0]!r} in {what} (allowed: {', '.join(sorted(allowed))})"
        )


def scalar(value: Any, name: str) -> Any:
    """``value`` when it is one number or a string (a quantity with its unit), else SpecError."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SpecError(f"{name}: expected a number or a string with a unit, got {value!r}")
    if isinstance(value, int) and abs(value) > 1e308:
        raise SpecError(f"{name}: a number too large for a float")
    return value


def si_values(raw: Any, dim: Dim, name: str) -> np.ndarray:
    """SI values of a range string, a comma list, one value, or a TOML list of values, rounded to
    12 significant digits: linspace's 0.019999999999999997 and "20 ms" must be the same point (the
    same seed and hash), and no unit a spec is written in needs more digits."""
    arr = _parse_values(raw, dim, name)
    return np.array([float(f"{v:.12g}") for v in arr])


def _parse_values(raw: Any, dim: Dim, name: str) -> np.ndarray:
    if isinstance(raw, list):
        if not raw:
            raise SpecError(f"{name}: empty list")
        for v in raw:
            scalar(v, name)
        if all(isinstance(v, int | float) for v in raw):
            if dim != DIMENSIONLESS and any(v != 0 for v in raw):
                raise UnitError(f"{name}: bare numbers {raw!r} have no unit; give a "
                                f"{dim_name(dim)} such as '1 {unit_hint(dim)}'")  # fmt: skip
            return np.asarray(raw, dtype=float)
        return to_si_array([v if isinstance(v, str) else str(v) for v in raw], dim, name)
    scalar(raw, name)
    if isinstance(raw, str) and (":" in raw or "," in raw):
        arr, got = parse_range(raw)
        if got != dim and not (got == DIMENSIONLESS and np.all(arr == 0)):
            raise UnitError(f"{name}: expected a {dim_name(dim)}, got {raw!r} ({dim_name(got)})")
        return _finite(arr, name)
    if isinstance(raw, str):
        v, got = parse_quantity(raw)
        if got != dim and not (v == 0 and got == DIMENSIONLESS):
            raise UnitError(f"{name}: expected a {dim_name(dim)}, got {raw!r} ({dim_name(got)})")
        return _finite(np.array([v]), name)
    return np.atleast_1d(to_si(raw, dim, name))


def _finite(arr: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise UnitError(f"{name}: contains NaN or inf")
    return np.asarray(arr, dtype=float)


def unit_hint(dim: Dim) -> str:
    return {TIME: "ms", VOLTAGE: "mV", CURRENT: "nA", FREQUENCY: "Hz"}.get(dim, si_unit(dim))
