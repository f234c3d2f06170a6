"""Sweep specifications: which measurement, model, grid of parameters, protocol and fit forms.

A spec is a small TOML file (``examples/sweeps/*.toml``), validated completely before anything runs
or is written: an unknown parameter, a wrong unit, an empty grid or a bad protocol raises a specific
:class:`~biorate.errors.BiorateError` naming the key. Example::

    schema = 1
    name = "lif_tau_sigma"
    measure = "fi"                      # "fi" (measure_fi) or "release" (measure_release)

    [model]
    name = "lif"                        # a model name, or a .toml path relative to this file
    set = { V_th = "-50 mV" }           # optional fixed changes to the model

    [grid]                              # Cartesian product (or a list of [[points]] instead)
    tau_m = "10ms:30ms:5"               # START:STOP:COUNT, a list ["1 mV", "3 mV"], or one value
    sigma = ["1 mV", "3 mV"]            # model parameters, or the protocol's sigma / bias (fi)

    [protocol]
    drive = "current"                   # fi: "current" or "poisson"; release: pattern = ...
    current = "0nA:0.5nA:21"            # the curve's x axis (fi current; or rate = ...)
    duration = "1 s"
    transient = "200 ms"
    trials = 5
    dt = "0.1 ms"
    seed = 1                            # required: a sweep must be reproducible to be resumable
    target = "auto"                     # Brian2 code generation: auto | cython | numpy

    [fit]
    forms = ["sigmoid"]                 # one or more forms of biorate.forms, or "auto"

Each grid point becomes one :class:`SweepPoint` whose ``inputs`` (the whole model with the point's
values, the protocol with the point's own seed, the forms and the biorate version) are hashed into
the point's file name, so a rerun recognizes finished points by content.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import BiorateError, ModelError
from ..io import read_toml
from ..models import Model, Param, load_model
from ..units import format_quantity
from .grid import (
    Axis,
    check_fixed_not_swept,
    check_levels,
    check_points,
    combinations,
    read_axes,
    read_forms,
)
from .protocol import read_protocol
from .values import SpecError, scalar, table, unknown_keys

__all__ = [
    "SweepSpec",
    "SweepPoint",
    "Axis",
    "SpecError",
    "load_spec",
    "point_seed",
    "content_hash",
    "model_from_payload",
]

SCHEMA = 1
MEASURES = ("fi", "release")
_TOP_KEYS = {"schema", "name", "measure", "model", "grid", "points", "protocol", "fit"}


def _canonical(data: Any) -> str:
    # sorted keys, no spaces, floats as Python's shortest round-trip repr: the same inputs always
    # give the same text on every machine and Python version
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(inputs: Mapping[str, Any]) -> str:
    """The first 20 hex digits of the SHA-256 of ``inputs`` as canonical JSON."""
    return hashlib.sha256(_canonical(inputs).encode()).hexdigest()[:20]


def point_seed(seed: int, values: Mapping[str, float]) -> int:
    """The seed of one point: a hash of the spec's seed and the point's swept values (SI), in
    [0, 2**31 - 1). It depends on nothing else (not the order of the grid nor which points ran
    before), so an interrupted and resumed sweep gives exactly the numbers of an uninterrupted one,
    and points differ in their noise."""
    text = _canonical({"seed": int(seed), "point": {k: float(v) for k, v in values.items()}})
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % (2**31 - 1)


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: ``values`` (SI floats by swept name), its ``seed``, the hashed
    ``inputs`` that :func:`biorate.sweep.compute_point` needs and the ``hash`` naming its file."""

    index: int
    values: Mapping[str, float]
    seed: int
    inputs: Mapping[str, Any]
    hash: str

    def label(self, axes: tuple[Axis, ...]) -> str:
        """``"tau_m=15 ms, sigma=2 mV"``."""
        return ", ".join(f"{a.name}={format_quantity(self.values[a.name], a.dim, a.unit or None)}"
                         for a in axes)  # fmt: skip


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: measurement, base model, axes, the points and the shared protocol.

    ``protocol`` holds SI floats (``duration_s``, ``dt_s``, ``x`` with ``x_unit``, ...) and the spec
    ``seed``; ``points`` are in grid order (the last axis varies fastest).
    """

    name: str
    measure: str
    model: Model
    axes: tuple[Axis, ...]
    protocol: Mapping[str, Any]
    forms: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    source: Mapping[str, Any]  # the spec as read (for the manifest)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def target(self) -> str:
        return str(self.protocol["target"])

    def describe(self) -> dict:
        """A JSON-able summary of the spec (name, measure, model, axes, protocol, forms)."""
        return {
            "name": self.name,
            "measure": self.measure,
            "model": self.model.describe(),
            "axes": [{"name": a.name, "where": a.where, "unit": a.si_unit,
                      "display_unit": a.unit, "values": list(a.values)} for a in self.axes],
            "protocol": dict(self.protocol),
            "forms": list(self.forms),
            "n_points": len(self.points),
        }  # fmt: skip


# --- reading ---------------------------------------------------------------------------------


def load_spec(
    spec: str | os.PathLike | Mapping[str, Any],
    models_dir: str | os.PathLike | list | None = None,
) -> SweepSpec:
    """Read and validate a sweep spec: a TOML file path, or the same content as a dict.

    Raises :class:`SpecError` (structure), :class:`UnknownParameterError`, :class:`UnitError`,
    :class:`ProtocolError`, :class:`ModelError` or :class:`~biorate.errors.FitError` (unknown form),
    each with one line naming the offending key.
    """
    if isinstance(spec, Mapping):
        data, where, base = dict(spec), "sweep spec", Path(".")
    elif not isinstance(spec, str | os.PathLike):
        raise SpecError(f"a sweep spec is a TOML file path or a dict, got {type(spec).__name__}")
    else:
        path = Path(spec)
        data = read_toml(path, "sweep spec", SpecError)
        where, base = str(path), path.parent
    try:
        return _build(data, base, models_dir)
    except BiorateError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _build(data: Mapping, base: Path, models_dir: Any) -> SweepSpec:
    unknown_keys(set(data), _TOP_KEYS, "the spec")
    schema = data.get("schema", SCHEMA)
    if isinstance(schema, bool) or schema != SCHEMA:  # (true equals 1 in Python; 1.0 is 1)
        raise SpecError(f"schema {schema!r} is not supported (expected {SCHEMA})")
    measure = data.get("measure")
    if measure not in MEASURES:
        raise SpecError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    model = _model(table(data, "model"), base, models_dir, measure)
    protocol = read_protocol(table(data, "protocol"), measure, model)
    axes = read_axes(data, model, measure, protocol)
    check_fixed_not_swept(data, axes)
    forms = read_forms(table(data, "fit", required=False))
    check_points(data, axes, model, protocol)
    check_levels(forms, len(protocol["x"]))
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise SpecError(f"name must be a non-empty string of printable characters (it heads the "
                        f"summary and its files), got {name[:40] if isinstance(name, str) else name!r}")  # fmt: skip
    base_inputs = {
        "biorate": __version__,
        "measure": measure,
        "forms": list(forms),
    }
    points = []
    payload = _model_payload(model)  # the same for every point
    for index, combo in enumerate(combinations(data, axes)):
        values = {a.name: v for a, v in zip(axes, combo, strict=True)}
        seed = point_seed(protocol["seed"], values)
        params = {k: [p.value, list(p.dim), p.unit] for k, p in model.params.items()}
        proto = {k: v for k, v in protocol.items() if k != "seed"}
        for a in axes:
            if a.where == "model":
                params[a.name] = [values[a.name], list(a.dim), model.params[a.name].unit]
            else:
                proto[f"{a.name}_{a.si_unit}"] = values[a.name]
        inputs = {**base_inputs, "model": {**payload, "params": params},
                  "protocol": {**proto, "seed": seed}}  # fmt: skip
        points.append(SweepPoint(index, values, seed, inputs, content_hash(inputs)))
    return SweepSpec(name.strip(), measure, model, axes, protocol, forms, tuple(points),
                     json.loads(json.dumps(data, default=str)))  # fmt: skip


def _model_payload(model: Model) -> dict:
    """The model as plain JSON data (what a worker needs to rebuild it; Model itself holds a
    read-only mapping that does not pickle)."""
    payload = {"name": model.name, "kind": model.kind, "description": model.description,
               "reference": model.reference, "theory": model.theory, "spec": model.spec}  # fmt: skip
    try:
        return json.loads(_canonical(payload))
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"model {model.name!r} holds values that are not plain data ({exc})"
        ) from None


def model_from_payload(payload: Mapping[str, Any]) -> Model:
    """Rebuild a :class:`Model` from ``inputs["model"]`` (inverse of the spec's payload)."""
    params = {k: Param(float(v), tuple(int(d) for d in dim), unit)  # type: ignore[arg-type]
              for k, (v, dim, unit) in payload["params"].items()}  # fmt: skip
    return Model(name=payload["name"], kind=payload["kind"], description=payload["description"],
                 reference=payload["reference"], params=params, spec=payload["spec"],
                 theory=payload.get("theory"))  # fmt: skip


def _model(table: dict, base: Path, models_dir: Any, measure: str) -> Model:
    unknown_keys(set(table), {"name", "set"}, "[model]")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError("[model] name (a model name or .toml path) is required")
    if name.endswith(".toml") and not Path(name).is_absolute():
        name = str(base / name)
    kind = "neuron" if measure == "fi" else "synapse"
    model = load_model(name, models_dir, kind=kind)
    fixed = table.get("set", {})
    if not isinstance(fixed, Mapping):
        raise SpecError('[model] set must be a table, e.g. set = { V_th = "-52 mV" }')
    return model.with_params(**{k: scalar(v, f"model.set.{k}") for k, v in fixed.items()})
