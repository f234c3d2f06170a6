"""TransferCurve: a measured or predicted input -> output curve, in SI units, shared by the spiking
and fitting sides (so fitting never imports the simulator)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from .errors import CurveFileError
from .io import JsonFile
from .units import UnitArray, parse_unit

__all__ = ["TransferCurve", "SCHEMA"]

SCHEMA = 1


def _array(
    value: Any, name: str, n: int | None = None, optional: bool = False
) -> np.ndarray | None:
    if value is None:
        if optional:
            return None
        raise CurveFileError(f"transfer curve: {name} is missing")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
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
    except Exception:  # an exotic unit name: keep the numbers, unlabelled
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
            series[name] = (_array(values, f"series {name}", x.size), str(unit))
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
    def from_dict(cls, d: dict) -> TransferCurve:
        if not isinstance(d, dict) or d.get("kind") != "transfer_curve":
            raise CurveFileError(f"not a transfer curve (kind = {d.get('kind')!r})"
                                 if isinstance(d, dict) else "not a transfer curve")  # fmt: skip
        if d.get("schema") != SCHEMA:
            raise CurveFileError(f"transfer curve schema {d.get('schema')!r} is not supported "
                                 f"(this biorate reads schema {SCHEMA})")  # fmt: skip
        for key in ("measure", "x", "y", "x_unit", "y_unit"):
            if key not in d:
                raise CurveFileError(f"transfer curve: {key!r} is missing")

        def nan(values: Any) -> Any:
            return None if values is None else [np.nan if v is None else v for v in values]

        series = {}
        for name, s in (d.get("series") or {}).items():
            if not isinstance(s, dict) or "values" not in s:
                raise CurveFileError(f"transfer curve: series {name!r} is malformed")
            series[name] = (nan(s["values"]), s.get("unit", "1"))
        return cls(
            measure=d["measure"], x=d["x"], y=nan(d["y"]), x_unit=str(d["x_unit"]),
            y_unit=str(d["y_unit"]), y_sem=nan(d.get("y_sem")), cv=nan(d.get("cv")),
            series=series, model=dict(d.get("model") or {}), protocol=dict(d.get("protocol") or {}),
            provenance=dict(d.get("provenance") or {}),
        )  # fmt: skip
