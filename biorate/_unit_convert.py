"""Quantities in, SI floats out: :class:`UnitArray` (an array that knows its dimension) and the
conversion of Brian2 quantities, strings, lists and bare numbers to checked SI values
(:func:`to_si`, :func:`to_si_array`). Re-exported by :mod:`biorate.units`. NumPy only."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._unit_parse import (
    _DISPLAY,
    DIMENSIONLESS,
    Dim,
    _show,
    dim_name,
    parse_quantity,
    parse_range,
    si_unit,
)
from .errors import UnitError

__all__ = ["UnitArray", "to_si", "to_si_array"]


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


class MaskedEntry(Exception):
    """A sequence holds NumPy's masked constant (raised by :func:`asarray_unmasked`)."""


_SCALARS = {float, int, bool, str, np.float64, np.float32, np.int64, np.int32}
MAX_NESTED_VALUES = 10**8  # 800 MB as floats: more comes as an array, not as lists


def asarray_unmasked(value: Any) -> np.ndarray:
    """``np.asarray(value)``, raising :class:`MaskedEntry` where ``value`` (a list, tuple or
    object array, at any depth) holds NumPy's masked constant (``[np.ma.masked, 1.0]``), which
    NumPy would read as NaN with a two-line warning, or a masked array with a value hidden (which
    NumPy would read as the hidden value); the callers turn it into their own one-line
    error. (A scan, not a warnings filter: that would be process-wide state.) Nested lists that
    hold themselves, or share their sub-lists so that they stand for more than
    :data:`MAX_NESTED_VALUES` values (``x = [x, x]`` 40 times: 2**40, which NumPy would walk
    for hours), raise ``ValueError`` at once; each list is scanned once."""
    sizes: dict[int, int] = {}  # values each list stands for, by id
    on_path: set[int] = set()
    stack: list[tuple[Any, Any]] = [(value, None)]
    while stack:
        v, items = stack.pop()
        key = id(v)
        if items is not None:  # its sub-lists are counted: count it
            on_path.discard(key)
            sizes[key] = n = sum(sizes.get(id(e), 1) for e in items
                                 if isinstance(e, list | tuple | np.ndarray)) + sum(
                1 for e in items if not isinstance(e, list | tuple | np.ndarray))  # fmt: skip
            if n > MAX_NESTED_VALUES:
                raise ValueError(f"nested lists standing for more than {MAX_NESTED_VALUES:.0e} "
                                 "values")  # fmt: skip
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ValueError("a list that holds itself")
        if not isinstance(v, list | tuple | np.ndarray):  # a number (the value itself)
            sizes[key] = 1
            continue
        if isinstance(v, np.ma.MaskedArray) and np.ma.getmaskarray(v).any():
            raise MaskedEntry  # np.asarray would read the hidden values
        if isinstance(v, np.ndarray) and v.dtype != object:
            sizes[key] = v.size
            continue
        seq = v.ravel().tolist() if isinstance(v, np.ndarray) else v
        kinds = set(map(type, seq))  # (C speed: a list of floats costs one pass)
        if kinds <= _SCALARS:
            sizes[key] = len(seq)
            continue
        if type(np.ma.masked) in kinds and any(e is np.ma.masked for e in seq):
            raise MaskedEntry
        on_path.add(key)
        stack.append((v, seq))
        stack.extend((e, None) for e in seq if isinstance(e, list | tuple | np.ndarray))
    return np.asarray(value)


def _real(value: Any, name: str) -> np.ndarray:
    """``value`` as a float array; complex values are refused (NumPy would keep the real part)."""
    try:
        arr = asarray_unmasked(value)
    except MaskedEntry:
        raise UnitError(_masked(name)) from None
    except (TypeError, ValueError, OverflowError):
        raise UnitError(f"{name}: cannot read {_show(value)} as a quantity") from None
    if np.iscomplexobj(arr):
        raise UnitError(f"{name}: complex values are not quantities, got {_show(value)}")
    try:
        return np.asarray(arr, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise UnitError(f"{name}: cannot read {_show(value)} as a quantity") from None


def _masked(name: str) -> str:
    return f"{name}: masked values are not quantities; give every value"


def _convert(value: Any, dim: Dim, name: str) -> np.ndarray:
    if isinstance(value, bool | np.bool_):  # True would read as 1, False as a zero in any unit
        raise UnitError(f"{name}: expected a quantity such as '{_example(dim)}', got {value}")
    if isinstance(value, np.ma.MaskedArray) and np.ma.getmaskarray(value).any():
        # np.ma.masked ("no value") compared equal to 0 and read as a zero in any unit
        raise UnitError(_masked(name))
    bdim = _brian_dims(value)
    if bdim is not None:  # a Brian2 Quantity: ndarray subclass holding SI values
        got, arr = bdim, _real(value, name)
    elif isinstance(value, str):
        arr, got = _parse_str_array(value, name)
    elif _all_quantities(value):  # a list of Brian2 quantities, e.g. [3*uM, 5*uM]
        dims = {_brian_dims(v) for v in value}
        if len(dims) > 1:
            raise UnitError(f"{name}: mixed dimensions in {_show(value)}")
        got, arr = dims.pop(), np.array([_real(v, name).reshape(()) for v in value])
    elif isinstance(value, Iterable) and not isinstance(value, np.ndarray) and _all_str(value):
        parsed = [parse_quantity(v, name=name) for v in value]
        dims = {d for _, d in parsed}
        if len(dims) > 1:
            raise UnitError(f"{name}: mixed dimensions in {_show(list(value))}")
        got = dims.pop() if dims else dim
        arr = np.array([v for v, _ in parsed], dtype=float)
    else:
        if value is None:
            raise UnitError(f"{name}: expected a quantity such as '{_example(dim)}', got None")
        arr = _real(value, name)
        got = DIMENSIONLESS
        if dim != DIMENSIONLESS and not np.all(arr == 0):
            raise UnitError(
                f"{name}: bare number {_show(value)} has no unit; give a {dim_name(dim)} "
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


def _parse_str_array(text: str, name: str) -> tuple[np.ndarray, Dim]:
    if ":" in text or "," in text:
        return parse_range(text, name=name)
    v, d = parse_quantity(text, name=name)
    return np.asarray(v), d


def _example(dim: Dim) -> str:
    return f"1 {_DISPLAY.get(dim, si_unit(dim))}".strip()


def to_si(value: Any, dim: Dim, name: str = "value") -> float:
    """One scalar quantity in SI units, checked against ``dim``; NaN and inf are refused."""
    arr = _convert(value, dim, name)
    if arr.ndim != 0:
        n = "no values" if arr.size == 0 else f"{arr.size} value(s) in a list or array"
        raise UnitError(f"{name}: expected a single value such as '{_example(dim)}', got {n}")
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
