"""TransferCurve: a measured or predicted input -> output curve, in SI units, shared by the spiking
and fitting sides (so fitting never imports the simulator)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._curve_csv import curve_csv, is_csv, read_curve_csv
from ._file_fields import SCHEMA, _kind, check_model, check_protocol, file_fields, plain_table
from .errors import CurveFileError, UnitError
from .io import (
    JsonFile,
    atomic_write,
    read_json,
)
from .models import MAX_CURRENT
from .schema import MISSING, Fields, describe
from .units import (
    CONCENTRATION,
    CURRENT,
    DIMENSIONLESS,
    FREQUENCY,
    Dim,
    UnitArray,
    dim_name,
    parse_unit,
    si_unit,
)

__all__ = ["TransferCurve", "SCHEMA", "MEASURES", "Axis", "plain_table", "file_fields",
           "unit_field", "check_axes", "check_model", "check_protocol", "curve_csv",
           "read_curve_csv"]  # fmt: skip


# the fields of a curve file (anything else is refused: a typo must not pass silently)
_FIELDS = ("kind", "schema", "measure", "x", "x_unit", "y", "y_unit", "y_sem", "cv", "series",
           "model", "protocol", "provenance")  # fmt: skip


@dataclass(frozen=True)
class Axis:
    """What one axis of a curve of some measure holds: ``what`` (for messages) and, for each
    dimension its unit may have, the domain ``(lo, hi)`` of its values (None: unbounded)."""

    what: str
    dims: dict[Dim, tuple[float | None, float | None]]


# the measures biorate makes and reads, with the dimension and domain of x and y: a rate or a
# concentration is never negative, a probability lies in [0, 1]; a current may have either sign,
# within +-1 A (models.MAX_CURRENT, the rule for every current biorate takes)
MEASURES: dict[str, tuple[Axis, Axis]] = {
    "fi": (Axis("an injected current or an input rate",
                {CURRENT: (-MAX_CURRENT, MAX_CURRENT), FREQUENCY: (0, None)}),
           Axis("a firing rate", {FREQUENCY: (0, None)})),
    "release": (Axis("a presynaptic rate", {FREQUENCY: (0, None)}),
                Axis("a release rate", {FREQUENCY: (0, None)})),
    "release_probability": (Axis("a calcium concentration", {CONCENTRATION: (0, None)}),
                            Axis("a release probability", {DIMENSIONLESS: (0, 1)})),
}  # fmt: skip


def unit_field(f: Fields, key: str, default: Any = None) -> tuple[str, float, Dim]:
    """Field ``key`` of ``f`` as a unit biorate knows (:func:`~biorate.units.parse_unit`):
    ``(text, scale, dim)``; an unknown unit is refused naming the field."""
    text = f.text(key) if default is None else f.text(key, default)
    try:
        scale, dim = parse_unit(text)
    except UnitError as exc:
        raise f.fail(key, str(exc)) from None
    return text, scale, dim


def check_axes(f: Fields, measure: str, units: dict[str, Dim]) -> tuple[Axis, Axis]:
    """The axes of a ``measure`` curve, after checking that each unit field of ``units``
    (``{"x_unit": dim, "y_unit": dim}``) has a dimension that axis can have."""
    axes = MEASURES[measure]
    for (key, dim), axis in zip(units.items(), axes, strict=True):
        if dim not in axis.dims:
            allowed = " or ".join(f"{dim_name(d)} (e.g. {si_unit(d)!r})" for d in axis.dims)
            raise f.fail(key, f"{f.data[key]!r} is a unit of {dim_name(dim)}; the {key[0]} of a "
                              f"{measure!r} curve is {axis.what}, in a unit of {allowed}")  # fmt: skip
    return axes


# how far a mean (y) may stray outside its axis's domain by noise alone: 5 standard errors, or 5 %
# of the curve's range (a curve without y_sem); a firing rate of -80 Hz is not noise
NOISE_SEMS, NOISE_RANGE = 5.0, 0.05


def _in_domain(f: Fields, key: str, values: np.ndarray, axis: Axis, dim: Dim, unit: str,
               sem: np.ndarray | None = None, scale: float = 1.0) -> None:  # fmt: skip
    """Refuse the first value (NaN: undefined, skipped) outside the axis's domain for ``dim``
    (SI; ``values`` are in ``unit``, whose SI value is ``scale``); with ``sem`` (the y column), by
    more than noise can explain (:data:`NOISE_SEMS`)."""
    lo, hi = (None if b is None else b / scale for b in axis.dims[dim])
    slack = np.zeros(values.shape)
    if sem is not None:
        with np.errstate(invalid="ignore"):  # all-NaN columns: no range, no slack
            spread = np.nanmax(values) - np.nanmin(values) if np.any(values == values) else 0.0
        slack = np.maximum(NOISE_SEMS * np.nan_to_num(sem), NOISE_RANGE * spread)
    bad = np.zeros(values.shape, dtype=bool)
    if lo is not None:
        bad |= values < lo - slack
    if hi is not None:
        bad |= values > hi + slack
    if np.any(bad):
        i = int(np.argmax(bad))
        span = " and ".join(f"{op} {b:g}" + (f" {unit}" if b and unit != "1" else "")
                            for op, b in ((">=", lo), ("<=", hi)) if b is not None)  # fmt: skip
        noise = (f" (noise explains at most {slack[i]:.3g} {unit} outside: {NOISE_SEMS:g} y_sem "
                 f"or {NOISE_RANGE:.0%} of the curve's range)" if sem is not None else "")  # fmt: skip
        raise f.fail(key, f"entry {i}: {values[i]:g} {unit}: {axis.what} must be {span}{noise}")


def _column(f: Fields, key: str, n: int | None = None, optional: bool = False,
            nulls: bool = True) -> np.ndarray | None:  # fmt: skip
    """A column of numbers (x, y, y_sem, cv, a series) as a float array of ``n`` entries; in a
    curve made in code NaN stands for JSON's null (an undefined value) where ``nulls`` allows it."""
    value = f.data.get(key)
    if nulls and isinstance(value, list | tuple):  # (an array's NaN is null in Fields.numbers)
        value = [None if isinstance(v, float | np.floating) and v != v else v for v in value]
    data = {key: value} if value is not None else {}
    return Fields(data, f.where, f.error).numbers(key, None if optional else MISSING, nulls=nulls,
                                                  length=n, min_length=1)  # fmt: skip


def _nonnegative(f: Fields, key: str, values: np.ndarray | None, what: str) -> None:
    if values is not None and np.any(values < 0):
        i = int(np.argmax(values < 0))
        raise f.fail(key, f"entry {i}: {values[i]:g} is negative: {what} cannot be negative")


# a standard error this many times the curve's scale (its largest |y|, at least 1 in y's unit: a
# silent curve has all y = 0) is not the error of these means: a fit weighted by it has weights
# that underflow (y_sem = 1e300 Hz overflowed the covariance)
MAX_SEM_RATIO = 1e6


def _sem_scale(f: Fields, y: np.ndarray, sem: np.ndarray | None, unit: str) -> None:
    if sem is None:
        return
    scale = max(float(np.nanmax(np.abs(y))) if np.any(y == y) else 0.0, 1.0)
    with np.errstate(invalid="ignore"):  # NaN entries (undefined) are skipped
        big = sem > MAX_SEM_RATIO * scale
    if np.any(big):
        i = int(np.argmax(big))
        raise f.fail("y_sem", f"entry {i}: {sem[i]:g} {unit} is more than {MAX_SEM_RATIO:g} times "
                              f"the curve's scale ({scale:g} {unit}: its largest |y|, at least 1): "
                              "not a standard error of these means")  # fmt: skip


def _tag(arr: np.ndarray, scale: float, dim: Dim) -> np.ndarray:
    """SI values labelled with their dimension (see :class:`~biorate.units.UnitArray`) when the
    unit is an SI base unit (scale 1); otherwise the plain array (``"M"`` is 1000 mol/m^3)."""
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
    measure : one of :data:`MEASURES`: "fi" (firing rate against an injected current or an input
        rate), "release" (release rate against presynaptic rate) or "release_probability"
        (probability against calcium).
    x, y : SI values; ``y_sem`` the standard error of the mean across trials (``None`` for theory).
        ``x_unit`` and ``y_unit`` are units :func:`~biorate.units.parse_unit` reads, of a dimension
        the measure's axes have (a firing rate in a frequency unit, not ``"A"``), and the values lie
        in the axis's domain (rates and concentrations >= 0, a probability in [0, 1]); y may be
        NaN (null in the file: undefined). x may repeat a level: each entry is one measurement
        (one point of a fit, weighted by its own ``y_sem``), as when two runs are pooled.
    cv : inter-spike-interval coefficient of variation per level (NaN where undefined), optional.
    series : further per-level curves, ``{name: (values, unit)}`` (e.g. cleft concentration).
    model : ``{"name": ..., "params": {name: "value unit"}}``, each parameter a finite quantity in
        its physical domain (as in a model file).
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
        """Every check of a curve file (:meth:`from_dict`) applies to a curve built in code too:
        malformed values raise :class:`CurveFileError` naming the field."""
        names = ("measure", "x", "y", "x_unit", "y_unit", "y_sem", "cv", "series", "model",
                 "protocol", "provenance")  # fmt: skip
        f = Fields({k: getattr(self, k) for k in names}, "transfer curve", CurveFileError)
        measure = f.text("measure", choices=MEASURES)
        x = _column(f, "x", nulls=False)
        assert x is not None
        n = x.size
        y = _column(f, "y", n)
        x_unit, x_scale, x_dim = unit_field(f, "x_unit")
        y_unit, y_scale, y_dim = unit_field(f, "y_unit")
        x_axis, y_axis = check_axes(f, measure, {"x_unit": x_dim, "y_unit": y_dim})
        y_sem, cv = _column(f, "y_sem", n, optional=True), _column(f, "cv", n, optional=True)
        _nonnegative(f, "y_sem", y_sem, "a standard error")
        _sem_scale(f, y, y_sem, y_unit)
        _nonnegative(f, "cv", cv, "a coefficient of variation")
        _in_domain(f, "x", x, x_axis, x_dim, x_unit, scale=x_scale)
        _in_domain(f, "y", y, y_axis, y_dim, y_unit, sem=np.zeros(n) if y_sem is None else y_sem,
                   scale=y_scale)  # fmt: skip
        # files hold SI values (DESIGN.md, "Units"): a current or a rate given in another unit
        # ("nA", "kHz") is converted, so that what it fits is what deploys (in A, Hz); calcium
        # concentrations keep their unit (biorate writes them in M)
        if x_scale != 1.0 and x_dim in (CURRENT, FREQUENCY):
            x, x_unit, x_scale = x * x_scale, si_unit(x_dim), 1.0
        if y_scale != 1.0 and y_dim == FREQUENCY:
            y, y_unit = y * y_scale, si_unit(y_dim)
            y_sem = None if y_sem is None else y_sem * y_scale
            y_scale = 1.0
        checked = dict(x=_tag(x, x_scale, x_dim), y=_tag(y, y_scale, y_dim), y_sem=y_sem, cv=cv,
                       x_unit=x_unit, y_unit=y_unit,
                       series=_series(f, n), model=check_model(f), protocol=check_protocol(f),
                       provenance=plain_table(f, "provenance") or {})  # fmt: skip
        for attr, value in checked.items():
            object.__setattr__(self, attr, value)

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
        """Inverse of :meth:`to_dict`, checked field by field (by the constructor's checks): a
        malformed dict raises :class:`CurveFileError` naming ``where`` (the file) and the field."""
        f = file_fields(d, where, cls.KIND, "a transfer curve", _FIELDS)
        table, series = f.table("series", {}), {}
        for name in table.data:  # {name: {"values": [...], "unit": "..."}} -> (values, unit)
            s = table.table(name)
            s.unknown(("values", "unit"))
            series[name] = (s.raw("values"), s.raw("unit", "1"))
        fields = {k: d.get(k) for k in _FIELDS if k not in ("kind", "schema")}
        fields["series"] = series
        try:
            return cls(**fields)
        except CurveFileError as exc:  # the checks of a curve built in code: name the file
            raise CurveFileError(f"{where}: {str(exc).removeprefix('transfer curve: ')}") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> TransferCurve:
        """Read a file written by :meth:`save` (CSV for a ``.csv`` suffix, else JSON); errors
        name the file and the field."""
        if is_csv(path):
            return cls.from_dict(read_curve_csv(path, cls.KIND, SCHEMA), str(path))
        return cls.from_dict(read_json(path, kind=cls.KIND), str(path))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the curve atomically: CSV for a ``.csv`` suffix (:func:`curve_csv`), else JSON."""
        if is_csv(path):
            text = curve_csv(self.to_dict())
            return atomic_write(path, lambda f: f.write(text))
        return super().save(path)


def _series(f: Fields, n: int) -> dict[str, tuple[np.ndarray, str]]:
    """The series ``{name: (values, unit)}``: printable names, ``n`` numbers each, a known unit."""
    raw = f.raw("series", {})
    if not isinstance(raw, dict):
        raise f.fail("series", f"expected a table {{name: (values, unit)}}, found {describe(raw)}")
    out = {}
    for name, item in raw.items():
        if not (isinstance(name, str) and name.isprintable() and name.strip()):
            raise f.fail("series", f"name {_kind({'kind': name})} is not a printable name")
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise f.fail("series", f"{name}: expected (values, unit), found {describe(item)}")
        s = Fields({"values": item[0], "unit": item[1]}, f"{f.where}: series: {name}", f.error)
        unit = unit_field(s, "unit")[0]
        out[name] = (_column(s, "values", n), unit)
    return out
