"""TransferCurve: a measured or predicted input -> output curve, in SI units, shared by the spiking
and fitting sides (so fitting never imports the simulator)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from .errors import CurveFileError, UnitError
from .io import JsonFile, read_json
from .schema import Fields, describe
from .units import UnitArray, parse_unit

__all__ = ["TransferCurve", "SCHEMA", "plain_table", "file_fields"]

SCHEMA = 1

# the fields of a curve file (anything else is refused: a typo must not pass silently)
_FIELDS = ("kind", "schema", "measure", "x", "x_unit", "y", "y_unit", "y_sem", "cv", "series",
           "model", "protocol", "provenance")  # fmt: skip


def _array(
    value: Any, name: str, n: int | None = None, optional: bool = False
) -> np.ndarray | None:
    if value is None:
        if optional:
            return None
        raise CurveFileError(f"transfer curve: {name} is missing")
    if isinstance(value, np.ndarray) and np.iscomplexobj(value):  # NumPy: a warning, then real
        raise CurveFileError(f"transfer curve: {name} must be real numbers, got complex ones")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise CurveFileError(f"transfer curve: {name} must be a list of numbers") from None
    if arr.ndim != 1:
        raise CurveFileError(f"transfer curve: {name} must be 1-D, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise CurveFileError(f"transfer curve: {name} has {arr.size} values, x has {n}")
    return arr


def _tag(arr: np.ndarray, unit: str) -> np.ndarray:
    """SI values labelled with their dimension (see :class:`~biorate.units.UnitArray`) when the
    unit is an SI base unit that biorate can read; otherwise the plain array."""
    try:
        scale, dim = parse_unit(unit)
    except UnitError:  # an exotic unit name: keep the numbers, unlabelled
        return np.asarray(arr)
    return UnitArray(arr, dim) if scale == 1.0 else np.asarray(arr)


def _list(arr: np.ndarray | None) -> list | None:
    if arr is None:
        return None
    # JSON has no NaN: an undefined value (CV of a silent neuron) is written as null
    return [None if not np.isfinite(v) else float(v) for v in arr]


@dataclass(frozen=True, eq=False)
class TransferCurve(JsonFile):
    """One curve: ``y`` (shape (n,), unit ``y_unit``) against ``x`` (shape (n,), unit ``x_unit``).

    Attributes
    ----------
    measure : "fi" (firing rate against input) or "release" (release rate against presynaptic rate).
    x, y : SI values; ``y_sem`` the standard error of the mean across trials (``None`` for theory).
    cv : inter-spike-interval coefficient of variation per level (NaN where undefined), optional.
    series : further per-level curves, ``{name: (values, unit)}`` (e.g. cleft concentration).
    model : ``{"name": ..., "params": {name: "value unit"}}``.
    protocol : how it was made (duration_s, transient_s, trials, dt_s, seed, drive, method, ...).
    provenance : versions, time, command.
    """

    KIND: ClassVar[str] = "transfer_curve"

    measure: str
    x: np.ndarray
    y: np.ndarray
    x_unit: str
    y_unit: str
    y_sem: np.ndarray | None = None
    cv: np.ndarray | None = None
    series: dict[str, tuple[np.ndarray, str]] = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    protocol: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in ("x_unit", "y_unit"):
            if not isinstance(getattr(self, attr), str):
                raise CurveFileError(f"transfer curve: {attr} must be a string, "
                                     f"got {type(getattr(self, attr)).__name__}")  # fmt: skip
        x = _array(self.x, "x")
        assert x is not None
        if x.size == 0:
            raise CurveFileError("transfer curve: x is empty")
        if not np.all(np.isfinite(x)):
            raise CurveFileError("transfer curve: x contains NaN or inf")
        object.__setattr__(self, "x", _tag(x, self.x_unit))
        object.__setattr__(self, "y", _tag(_array(self.y, "y", x.size), self.y_unit))
        object.__setattr__(self, "y_sem", _array(self.y_sem, "y_sem", x.size, optional=True))
        object.__setattr__(self, "cv", _array(self.cv, "cv", x.size, optional=True))
        series = {}
        for name, (values, unit) in dict(self.series).items():
            if not isinstance(unit, str):
                raise CurveFileError(f"transfer curve: series {name}: its unit must be a string")
            series[name] = (_array(values, f"series {name}", x.size), unit)
        object.__setattr__(self, "series", series)
        if not isinstance(self.measure, str) or not self.measure:
            raise CurveFileError("transfer curve: measure must be a non-empty string")

    def __len__(self) -> int:
        return int(self.x.size)

    def with_provenance(self, **kw: Any) -> TransferCurve:
        return replace(self, provenance={**self.provenance, **kw})

    # --- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "kind": "transfer_curve",
            "schema": SCHEMA,
            "measure": self.measure,
            "x": _list(self.x),
            "x_unit": self.x_unit,
            "y": _list(self.y),
            "y_unit": self.y_unit,
            "y_sem": _list(self.y_sem),
        }
        if self.cv is not None:
            d["cv"] = _list(self.cv)
        if self.series:
            d["series"] = {k: {"values": _list(v), "unit": u} for k, (v, u) in self.series.items()}
        d["model"] = self.model
        d["protocol"] = self.protocol
        d["provenance"] = self.provenance
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "transfer curve") -> TransferCurve:
        """Inverse of :meth:`to_dict`, checked field by field: a malformed dict raises
        :class:`CurveFileError` naming ``where`` (the file) and the field."""
        f = file_fields(d, where, cls.KIND, "a transfer curve", _FIELDS)
        x = f.numbers("x", min_length=1)
        n = x.size
        fields = dict(
            measure=f.text("measure"), x=x, y=f.numbers("y", nulls=True, length=n),
            x_unit=f.text("x_unit"), y_unit=f.text("y_unit"),
            y_sem=f.numbers("y_sem", None, nulls=True, length=n),
            cv=f.numbers("cv", None, nulls=True, length=n), series=_series(f, n),
            model=_model(f), protocol=_protocol(f), provenance=plain_table(f, "provenance") or {},
        )  # fmt: skip
        try:
            return cls(**fields)
        except CurveFileError as exc:  # the checks of a curve built in code: name the file too
            raise CurveFileError(f"{where}: {str(exc).removeprefix('transfer curve: ')}") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> TransferCurve:
        """Read a file written by :meth:`save`; errors name the file and the field."""
        return cls.from_dict(read_json(path, kind=cls.KIND), str(path))


def file_fields(d: Any, where: str, kind: str, what: str, allowed: tuple[str, ...]) -> Fields:
    """The top table of a file of ``kind`` (``what``: "a transfer curve"...) as :class:`Fields`,
    after checking that it is a table of that kind, of schema :data:`SCHEMA`, with only the
    ``allowed`` fields."""
    f = Fields(d, where, CurveFileError)
    if d.get("kind") != kind:
        raise CurveFileError(f"{where}: not {what} (kind = {_kind(d)})")
    f.unknown(allowed)
    schema = f.integer("schema")
    if schema != SCHEMA:
        raise CurveFileError(f"{where}: {what.split(' ', 1)[1]} schema {schema!r} is not "
                             f"supported (this biorate reads schema {SCHEMA})")  # fmt: skip
    return f


def plain_table(f: Fields, key: str) -> dict | None:
    """The free-form sub-table ``key`` (model, provenance, fit statistics...) as a dict, None when
    absent: a table whose keys are strings and whose values are JSON's (finite numbers, strings,
    true/false, null, lists, tables), so that what loads can be saved again."""
    if not f.has(key):
        return None
    table = f.table(key)
    stack: list[Any] = [table.data]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise f.fail(key, "table keys must be strings")
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, float) and not math.isfinite(v):
            raise f.fail(key, f"contains {v!r}: not a finite number")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**308:
            raise f.fail(key, "contains an integer too large for a float")
        elif not isinstance(v, str | int | float | bool) and v is not None:
            raise f.fail(key, f"contains {describe(v)}, not a JSON value")
    return dict(table.data)


def _kind(d: dict) -> str:
    kind = d.get("kind")
    if kind is None:
        return "missing"
    return repr(kind[:40]) if isinstance(kind, str) else describe(kind)


def _series(f: Fields, n: int) -> dict[str, tuple[np.ndarray, str]]:
    table = f.table("series", {})
    out = {}
    for name in table.data:
        if not (isinstance(name, str) and name.isprintable() and name.strip()):
            raise f.fail("series", f"name {_kind({'kind': name})} is not a printable name")
        s = table.table(name)
        s.unknown(("values", "unit"))
        out[str(name)] = (s.numbers("values", nulls=True, length=n), s.text("unit", "1"))
    return out


def _model(f: Fields) -> dict:
    model = f.table("model", {})
    model.text("name", None)
    model.table("params", None)
    return plain_table(f, "model") or {}


# protocol fields that code reads back (fitting's SEM floor, theory predictions, plots), with their
# domains; others are kept as written
_PROTOCOL_NUMBERS = {"duration_s": (0.0, True), "transient_s": (0.0, False), "dt_s": (0.0, True),
                     "sigma_V": (0.0, False), "bias_A": (None, False)}  # fmt: skip


def _protocol(f: Fields) -> dict:
    p = f.table("protocol", {})
    for key, (lo, lo_open) in _PROTOCOL_NUMBERS.items():
        p.number(key, None, lo=lo, lo_open=lo_open)
    p.integer("trials", None, lo=1)
    if p.has("seed") and (isinstance(p.data["seed"], bool) or not isinstance(p.data["seed"], int)):
        raise p.fail("seed", f"expected a whole number or null, found {describe(p.data['seed'])}")
    for key in ("drive", "pattern", "method"):
        p.text(key, None)
    return plain_table(f, "protocol") or {}
