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
import itertools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import BiorateError, ModelError, ProtocolError, UnknownParameterError
from ..forms import FORMS, get_form
from ..io import limit_from_env, read_toml
from ..models import Model, Param, check_param, fi_drive, load_model
from ..models.checks import check_relations
from ..units import CURRENT, TIME, VOLTAGE, Dim, format_quantity, si_unit
from .protocol import read_protocol
from .values import SpecError, scalar, si_values, table, unit_hint, unknown_keys

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
# Points a spec may name: each is hashed here and run (at least seconds) later, so a grid of a
# million points is most likely a mistake, refused before any point is built unless the user
# raises the limit ($BIORATE_MAX_SWEEP_POINTS).
MAX_POINTS = 100_000


def max_points() -> int:
    """The most points a spec may name: ``$BIORATE_MAX_SWEEP_POINTS`` or :data:`MAX_POINTS`."""
    return int(limit_from_env("BIORATE_MAX_SWEEP_POINTS", MAX_POINTS, SpecError))


MEASURES = ("fi", "release")
# protocol values that a grid may sweep, per measurement: name -> dimension
SWEEPABLE = {"fi": {"sigma": VOLTAGE, "bias": CURRENT}, "release": {}}
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
class Axis:
    """One swept name: a model parameter or a protocol value, its SI values and display unit."""

    name: str
    where: str  # "model" or "protocol"
    dim: Dim
    unit: str  # display unit, e.g. "ms"
    values: tuple[float, ...]

    @property
    def si_unit(self) -> str:
        return si_unit(self.dim)


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
    if data.get("schema", SCHEMA) != SCHEMA:
        raise SpecError(f"schema {data.get('schema')!r} is not supported (expected {SCHEMA})")
    measure = data.get("measure")
    if measure not in MEASURES:
        raise SpecError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    model = _model(table(data, "model"), base, models_dir, measure)
    protocol = read_protocol(table(data, "protocol"), measure, model)
    axes = _axes(data, model, measure, protocol)
    _check_fixed_not_swept(data, axes)
    forms = _forms(table(data, "fit", required=False))
    _check_points(data, axes, model, protocol)
    _check_levels(forms, len(protocol["x"]))
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
    for index, combo in enumerate(_combinations(data, axes)):
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


def _check_fixed_not_swept(data: Mapping, axes: tuple[Axis, ...]) -> None:
    """A parameter that ``[model] set`` fixes and the grid (or the points) also sweeps has two
    values and no rule for which one wins: refused."""
    fixed = table(data, "model").get("set", {})
    for a in axes:
        if a.name in fixed:
            raise SpecError(f"{a.name} is both fixed by [model] set ({a.name} = "
                            f"{str(fixed[a.name])[:40]!r}) and swept by "
                            f"{'[grid]' if 'grid' in data else '[[points]]'}: give it in one place")  # fmt: skip


def _resolve_name(name: str, model: Model, measure: str) -> tuple[str, Dim, str]:
    in_model = name in model.params
    in_protocol = name in SWEEPABLE[measure]
    if in_model and in_protocol:
        raise SpecError(f"{name!r} is both a parameter of model {model.name!r} and a protocol "
                        "value; rename the model parameter")  # fmt: skip
    if in_model:
        p = model.params[name]
        return "model", p.dim, p.unit
    if in_protocol:
        dim = SWEEPABLE[measure][name]
        return "protocol", dim, unit_hint(dim)
    sweepable = ", ".join(list(model.params) + list(SWEEPABLE[measure]))
    raise UnknownParameterError(f"cannot sweep {name!r}: it is neither a parameter of model "
                                f"{model.name!r} nor a protocol value (sweepable: {sweepable})")  # fmt: skip


def _axes(data: Mapping, model: Model, measure: str, protocol: dict) -> tuple[Axis, ...]:
    has_grid, has_points = "grid" in data, "points" in data
    if has_grid == has_points:
        raise SpecError("give exactly one of [grid] (a Cartesian product) or [[points]] (a list)")
    if has_grid:
        grid = table(data, "grid")
        if not grid:
            raise SpecError("[grid] is empty: name at least one parameter to sweep")
        axes, n_points = [], 1
        for name, raw in grid.items():
            where, dim, unit = _resolve_name(name, model, measure)
            values = si_values(raw, dim, f"grid.{name}")
            if np.unique(values).size != values.size:
                raise SpecError(f"grid.{name}: repeated values")
            axes.append(Axis(name, where, dim, unit, tuple(float(v) for v in values)))
            n_points *= values.size
            if n_points > (limit := max_points()):
                sizes = " x ".join(f"{len(a.values):,} ({a.name})" for a in axes)
                raise SpecError(f"[grid]: {sizes} = {n_points:,} points or more, more than the "
                                f"{limit:,} a sweep may have; sweep fewer values (or raise "
                                "BIORATE_MAX_SWEEP_POINTS)")  # fmt: skip
        return tuple(axes)
    points = data["points"]
    if not isinstance(points, list) or not all(isinstance(p, Mapping) for p in points):
        raise SpecError('[[points]] must be a list of tables, e.g. [[points]] tau_m = "10 ms"')
    if not points:
        raise SpecError("[[points]] is empty: give at least one point")
    if len(points) > (limit := max_points()):
        raise SpecError(f"[[points]]: {len(points):,} points, more than the {limit:,} a sweep may "
                        "have (raise BIORATE_MAX_SWEEP_POINTS to allow more)")  # fmt: skip
    names = list(points[0])
    if not names:
        raise SpecError("points[0] is empty: name at least one parameter")
    for i, p in enumerate(points):
        if set(p) != set(names):
            raise SpecError(f"points[{i}] names {sorted(p)}, points[0] names {sorted(names)}; "
                            "every point must set the same parameters")  # fmt: skip
    axes = []
    for name in names:
        where, dim, unit = _resolve_name(name, model, measure)
        values = []
        for i, p in enumerate(points):
            v = si_values(p[name], dim, f"points[{i}].{name}")
            if v.size != 1:
                raise SpecError(f"points[{i}].{name}: one value per point, got {v.size}")
            values.append(float(v[0]))
        axes.append(Axis(name, where, dim, unit, tuple(values)))
    return tuple(axes)


def _combinations(data: Mapping, axes: tuple[Axis, ...]) -> list[tuple[float, ...]]:
    if "grid" in data:
        combos = list(itertools.product(*(a.values for a in axes)))
    else:
        combos = list(zip(*(a.values for a in axes), strict=True))
        seen: dict[tuple, int] = {}
        for i, c in enumerate(combos):
            if c in seen:
                raise SpecError(f"points[{i}] repeats points[{seen[c]}]")
            seen[c] = i
    return combos


def _distinct(values: tuple[float, ...]) -> dict[float, int]:
    """Each distinct value and the index of its first point."""
    first: dict[float, int] = {}
    for i, v in enumerate(values):
        first.setdefault(v, i)
    return first


def _check_points(data: Mapping, axes: tuple[Axis, ...], model: Model, protocol: dict) -> None:
    """Every point's static checks, before any point runs (a bad point used to run and fail after
    the good ones): the checks ``measure_fi``/``measure_release`` make before simulating, by the
    same functions. What is checked per parameter is checked once per distinct value of its axis:
    a swept model parameter's domain (:func:`~biorate.models.check_param`) and, for a time, the
    step it must exceed (:meth:`Model.check_dt`); a swept sigma or bias by the drive rule
    (:func:`~biorate.models.fi_drive`). Parameters that interact (``V_reset < V_th``:
    :func:`~biorate.models.checks.check_relations`) are checked on each distinct combination of
    the swept model parameters. Errors name the value (grid) or the point ([[points]])."""
    grid = "grid" in data

    def named(a: Axis, i: int) -> str:
        v = format_quantity(a.values[i], a.dim, a.unit or None)
        return f"grid.{a.name} = {v}" if grid else f"points[{i}].{a.name} = {v}"

    if "drive" in protocol:  # the protocol as written, before any axis changes it
        model.check_drive(
            protocol["drive"], protocol.get("sigma_V", 0.0), protocol.get("bias_A", 0.0)
        )
    for a in axes:
        if a.where == "protocol" and a.name == "bias" and protocol.get("drive") != "poisson":
            raise ProtocolError("sweeping bias needs protocol.drive = 'poisson'")
        for v, i in _distinct(a.values).items():
            shown = format_quantity(v, a.dim, a.unit or None)
            try:
                if a.where == "model":
                    check_param(a.name, v, a.dim, f"model {model.name!r}", SpecError)
                    if (
                        tuple(a.dim) == TIME
                    ):  # tau... and t_ref against dt; no relation holds a time
                        model.with_params(**{a.name: shown}).check_dt(protocol["dt_s"])
                else:
                    drive = {"sigma": format_quantity(protocol["sigma_V"], VOLTAGE),
                             "bias": format_quantity(protocol["bias_A"], CURRENT), a.name: shown}  # fmt: skip
                    sigma_v, bias_a = fi_drive(protocol["drive"], drive["sigma"], drive["bias"])
                    model.check_drive(protocol["drive"], sigma_v, bias_a)
            except BiorateError as exc:
                raise type(exc)(f"{named(a, i)}: {exc}") from None
    swept = [a for a in axes if a.where == "model"]
    if not swept:
        return
    combos = itertools.product(*(a.values for a in swept)) if grid else zip(*(a.values for a in swept), strict=True)  # fmt: skip
    seen: set[tuple[float, ...]] = set()
    for i, combo in enumerate(combos):
        if combo in seen:
            continue
        seen.add(combo)
        params = dict(model.params)
        params.update({a.name: Param(v, a.dim, model.params[a.name].unit)
                       for a, v in zip(swept, combo, strict=True)})  # fmt: skip
        try:
            check_relations(params, "")
        except ModelError:  # again, with the point named (built only when needed: grids are big)
            shown = ", ".join(f"{a.name} = {format_quantity(v, a.dim, a.unit or None)}"
                              for a, v in zip(swept, combo, strict=True))  # fmt: skip
            where = f"grid points with {shown}" if grid else f"points[{i}]"
            check_relations(params, f"{where}: model {model.name!r}")


def _check_levels(forms: tuple[str, ...], n: int) -> None:
    for f in forms:
        k = min(form.k for form in FORMS.values()) if f == "auto" else get_form(f).k
        if n <= k:
            raise ProtocolError(f"form {f!r} needs more than {k} levels of the curve's x axis; "
                                f"the protocol gives {n}")  # fmt: skip


def _forms(fit: dict) -> tuple[str, ...]:
    unknown_keys(set(fit), {"forms", "form"}, "[fit]")
    if "forms" in fit and "form" in fit:
        raise SpecError('[fit]: give forms = [...] or form = "...", not both')
    raw = fit.get("forms", fit.get("form", ["sigmoid"]))
    forms = [raw] if isinstance(raw, str) else raw
    if not isinstance(forms, list) or not forms or not all(isinstance(f, str) for f in forms):
        raise SpecError(f"fit.forms must be a non-empty list of form names, got {raw!r}")
    for f in forms:
        if f != "auto":
            get_form(f)  # FitError naming the known forms
    if len(set(forms)) != len(forms):
        raise SpecError(f"fit.forms repeats a form: {forms}")
    return tuple(forms)
