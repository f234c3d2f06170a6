"""Model files (``models/neurons/*.toml``, ``models/synapses/*.toml``) loaded into frozen dataclasses.

A model file is data, not code: Brian2 equation strings, parameters written with units
(``tau_m = "20 ms"``; bare numbers only for dimensionless parameters), a one-line description and a
literature reference. Shipped models live inside the package; a user's folder is searched first when
named by ``BIORATE_MODELS`` (several folders separated by ``os.pathsep``) or ``--models DIR``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ModelError, ProtocolError, UnitError, UnknownModelError, UnknownParameterError
from .io import read_toml
from .schema import MISSING, Fields, describe
from .units import (
    CAPACITANCE,
    CONCENTRATION,
    CONDUCTANCE,
    DIMENSIONLESS,
    FREQUENCY,
    RESISTANCE,
    TIME,
    Dim,
    format_quantity,
    parse_quantity,
    to_si,
)

__all__ = [
    "Param",
    "Model",
    "load_model",
    "list_models",
    "model_dirs",
    "shipped_models_dir",
    "DRIVES",
    "check_param",
    "equation_variables",
]

KINDS = ("neuron", "synapse")
# how a neuron model is driven for an f-I curve, measured (biorate.spiking) or predicted
# (biorate.theory): "current" (its [drive] current variable plus white noise) or "poisson" (its
# [[drive.poisson]] input trains, the curve's x axis their rate)
DRIVES = ("current", "poisson")
SCHEMA = 1


def shipped_models_dir() -> Path:
    """The folder of models shipped with biorate (inside the wheel, or the source tree's models/)."""
    here = Path(__file__).resolve().parent
    inside = here / "_models"
    return inside if inside.is_dir() else here.parent / "models"


def model_dirs(extra: str | os.PathLike | list | None = None) -> list[Path]:
    """Folders searched for models, first match wins: ``extra``, ``$BIORATE_MODELS``, shipped."""
    dirs: list[Path] = []
    if extra:
        for d in [extra] if isinstance(extra, str | os.PathLike) else list(extra):
            dirs.append(Path(d))
    env = os.environ.get("BIORATE_MODELS")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs.append(shipped_models_dir())
    return dirs


@dataclass(frozen=True)
class Param:
    """A model parameter: ``value`` in SI base units, its dimension, and the unit it is shown in."""

    value: float
    dim: Dim
    unit: str

    def __str__(self) -> str:
        return format_quantity(self.value, self.dim, self.unit or None)


# Physical domains of parameters, by dimension: a time is a duration (>= 0), and a time constant
# (a name starting with "tau") divides, so it is > 0; capacitances and resistances are > 0;
# conductances, concentrations and rates >= 0. Every value is finite.
_POSITIVE = {CAPACITANCE: "a capacitance", RESISTANCE: "a resistance"}
_NONNEGATIVE = {TIME: "a time", CONDUCTANCE: "a conductance", CONCENTRATION: "a concentration",
                FREQUENCY: "a rate"}  # fmt: skip


def check_param(name: str, value: float, dim: Dim, where: str, error: type = ModelError) -> None:
    """Refuse a parameter value outside its physical domain (see ``_POSITIVE``/``_NONNEGATIVE``),
    naming the rule: ``tau_m = -5 ms`` is not a time constant."""
    shown = f"{name} = {format_quantity(value, dim)}" if math.isfinite(value) else name
    if not math.isfinite(value):
        raise error(f"{where}: parameter {name}: {value} is not a finite value")
    dim = tuple(dim)
    if dim == TIME and name.startswith("tau") and value <= 0:
        raise error(f"{where}: parameter {shown}: a time constant must be > 0")
    if dim in _POSITIVE and value <= 0:
        raise error(f"{where}: parameter {shown}: {_POSITIVE[dim]} must be > 0")
    if dim in _NONNEGATIVE and value < 0:
        raise error(f"{where}: parameter {shown}: {_NONNEGATIVE[dim]} must be >= 0")


def _parse_param(name: str, raw: Any, where: str) -> Param:
    if not _IDENT.match(str(name)):
        raise ModelError(f"{where}: [parameters]: {name!r} is not a valid name ({_IDENT_RULE})")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ModelError(f"{where}: [parameters]: field {name!r}: expected a string with a unit "
                         f"or a number, found {describe(raw)}")  # fmt: skip
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:
            value = math.inf
        check_param(name, value, DIMENSIONLESS, where)
        return Param(value, DIMENSIONLESS, "")
    try:
        value, dim = parse_quantity(raw)
    except UnitError as exc:
        raise ModelError(f"{where}: parameter {name}: {exc}") from None
    if not math.isfinite(value):
        raise ModelError(f"{where}: parameter {name} = {raw[:40]!r} is not a finite value")
    check_param(name, value, dim, where)
    unit = raw.strip().lstrip("+-0123456789.eE").strip()
    return Param(value, dim, unit)


# --- what reaches Brian2's code generation ---------------------------------------------------
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_IDENT_RULE = "a letter, then letters, digits or _"
_HEAD = re.compile(r"\s*(?:d([A-Za-z_]\w*)\s*/\s*dt\s*=|([A-Za-z_]\w*)\s*(?:=|$))")


def equation_variables(equations: str) -> set[str]:
    """The variables a Brian2 equations string defines (``dv/dt = ...``, ``p = ...``, ``I``)."""
    names = set()
    for line in str(equations).splitlines():
        head = line.split("#", 1)[0].split(":", 1)[0]
        m = _HEAD.match(head)
        if m:
            names.add(m.group(1) or m.group(2))
    return names


def _variable(f: Fields, key: str, variables: set[str], default: Any = None) -> Any:
    """A field naming one of the model's own equation variables."""
    v = f.text(key, default)
    if v is default:
        return v
    if not _IDENT.match(v) or v not in variables:
        raise f.fail(key, f"{v[:40]!r} is not a variable of the model's equations "
                          f"({', '.join(sorted(variables))})")  # fmt: skip
    return v


def _expression(f: Fields, key: str, *, statements: bool = False) -> None:
    """A code field (an expression, or with ``statements`` several lines of statements): a string
    without control characters (an expression is one line, without ';')."""
    v = f.text(key, None, nonempty=False)
    if v is None:
        return
    bad = {c for c in v if ord(c) < 32 and c not in ("\n\t" if statements else "\t")}
    if not statements and (";" in v or "\n" in v):
        raise f.fail(key, "expected one expression (one line, no ';')")
    if bad or "\x7f" in v:
        raise f.fail(key, "contains control characters")


def _check_spec(where: str, kind: str, spec: Mapping[str, Any]) -> None:
    """Check the code tables of a model file: the ``[neuron]``/``[synapse]`` section, ``[drive]``:
    strings where code goes, and names of the model's own variables where a variable is named."""
    sec = Fields(spec.get(kind), f"{where}: [{kind}]", ModelError)
    _expression(sec, "equations", statements=True)
    variables = equation_variables(sec.text("equations"))
    for key in ("threshold", "refractory"):
        _expression(sec, key)
    for key in ("reset", "on_spike", "influx"):
        _expression(sec, key, statements=True)
    method = sec.text("method", None)
    if method is not None and not _IDENT.match(method):
        raise sec.fail("method", f"{method[:40]!r} is not a Brian2 integration method name")
    initial = sec.table("initial", {})
    for var, value in initial.data.items():
        if not (isinstance(var, str) and _IDENT.match(var) and var in variables):
            raise initial.fail(str(var)[:40], "not a variable of the model's equations "
                                              f"({', '.join(sorted(variables))})")  # fmt: skip
        if isinstance(value, str):
            _expression(initial, var)
        else:
            initial.number(var)
    mean = sec.table("mean", {})
    for key in mean.data:
        if not _IDENT.match(str(key)):
            raise mean.fail(str(key), f"not a valid series name ({_IDENT_RULE})")
        _variable(mean, key, variables)
    _variable(sec, "calcium", variables)
    if "drive" in spec:
        _check_drive(Fields(spec["drive"], f"{where}: [drive]", ModelError), variables)


def _check_drive(drive: Fields, variables: set[str]) -> None:
    drive.unknown({"current", "noise", "poisson"})
    _variable(drive, "current", variables)
    _variable(drive, "noise", variables)
    inputs = drive.raw("poisson", [])
    if not isinstance(inputs, list):
        raise drive.fail("poisson", f"expected a list of [[drive.poisson]] tables, found "
                                    f"{describe(inputs)}")  # fmt: skip
    for i, raw in enumerate(inputs):
        inp = Fields(raw, f"{drive.where}: poisson[{i}]", ModelError)
        inp.unknown({"name", "n_inputs", "target", "weight", "rate_scale", "on_pre"})
        inp.text("name", None)
        inp.integer("n_inputs", 1, lo=1, hi=10**9)
        inp.number("rate_scale", 1.0, lo=0, lo_open=True, hi=1e9)
        _expression(inp, "on_pre", statements=True)  # theory reads "v += J" (spiking: target)
        _variable(inp, "target", variables, default=None if inp.has("on_pre") else MISSING)
        inp.text("weight", None if inp.has("on_pre") else MISSING)
        _expression(inp, "weight")


@dataclass(frozen=True)
class Model:
    """A neuron or synapse model read from a TOML file.

    ``params`` maps each parameter name to a :class:`Param`; ``spec`` holds the file's other tables
    (``neuron``/``synapse`` equations, ``drive``, ...). Use :meth:`with_params` for a variant.
    """

    name: str
    kind: str
    description: str
    reference: str
    params: Mapping[str, Param]
    spec: Mapping[str, Any] = field(default_factory=dict)
    theory: str | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        where = str(self.path or self.name)
        if self.kind not in KINDS:
            raise ModelError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.description:
            raise ModelError(f"{where}: a one-line description is required")
        if not self.reference:
            raise ModelError(f"{where}: a literature reference is required")
        if not isinstance(self.spec.get(self.kind), Mapping):
            raise ModelError(f"{where}: table [{self.kind}] with 'equations' is required")
        _check_spec(where, self.kind, self.spec)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    # --- parameters ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> float:
        """SI value of parameter ``name``."""
        return self.param(name).value

    def param(self, name: str) -> Param:
        try:
            return self.params[name]
        except KeyError:
            raise UnknownParameterError(
                f"model {self.name!r} has no parameter {name!r} (it has: {', '.join(self.params)})"
            ) from None

    def with_params(self, **values: Any) -> Model:
        """A copy with some parameters changed: ``lif.with_params(tau_m=15*ms, V_th="-52 mV")``.

        Values are Brian2 quantities, strings with units, or numbers for dimensionless parameters;
        an unknown name raises :class:`UnknownParameterError`, a wrong unit :class:`UnitError`.
        """
        new = dict(self.params)
        for name, raw in values.items():
            old = self.param(name)
            if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) > 1e308:
                raise ModelError(f"model {self.name!r}: parameter {name}: a number too large")
            value = to_si(raw, old.dim, f"{self.name}.{name}")
            check_param(name, value, old.dim, f"model {self.name!r}")
            new[name] = Param(value, old.dim, old.unit)
        return replace(self, params=new)

    def params_strings(self) -> dict[str, str]:
        """``{name: "20 ms"}``: the parameters as written in files and reports."""
        return {k: str(p) for k, p in self.params.items()}

    def refractory_period(self) -> float | None:
        """The neuron's refractory period in seconds when ``[neuron].refractory`` names a time
        parameter (``refractory = "t_ref"``) or is a time with units (``"2 ms"``); None when it
        has none, or is a condition Brian2 evaluates (e.g. ``"v > V_th"``)."""
        ref = self.section("neuron").get("refractory")
        if not isinstance(ref, str) or not ref.strip():
            return None
        p = self.params.get(ref.strip())
        if p is not None:
            return p.value if tuple(p.dim) == tuple(TIME) else None
        try:
            return to_si(ref, TIME, "refractory")
        except (UnitError, ValueError):
            return None

    def check_dt(self, dt_s: float) -> None:
        """Refuse a time step at or above the refractory period (when the model has one > 0).

        Brian2 holds a neuron refractory for ``int((t_ref + 1e-3*dt)/dt) - 1`` whole steps after
        its spike step; at ``dt >= t_ref`` that is 0 steps or fewer, so the refractory period is
        lost, and the rate is capped at one spike per step or two: a staircase, not an f-I curve.
        """
        t_ref = self.refractory_period()
        if t_ref is not None and t_ref > 0 and dt_s >= t_ref:
            ref = self.section("neuron").get("refractory")
            raise ProtocolError(
                f"dt = {dt_s * 1e3:g} ms must be shorter than the refractory period {ref} = "
                f"{t_ref * 1e3:g} ms of model {self.name!r} (else Brian2 holds no refractory "
                f"step and the rate saturates in steps); use dt < {t_ref * 1e3:g} ms"
            )

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.spec.get(name, {})
        return value if isinstance(value, Mapping) else {}

    def describe(self) -> dict:
        return {"name": self.name, "params": self.params_strings()}

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Model:
        path = Path(path)
        data = read_toml(path, "model file", ModelError, missing=UnknownModelError)
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path | None = None) -> Model:
        name = data.get("name") if isinstance(data, Mapping) else None
        where = str(path or (name if isinstance(name, str) else "model"))[:200]
        f = Fields(data, where, ModelError)
        schema = f.integer("schema", SCHEMA)
        if schema != SCHEMA:
            raise ModelError(f"{where}: schema {schema!r} not supported (expected {SCHEMA})")
        for key in ("name", "kind", "description", "reference"):
            f.text(key)
        f.text("theory", None)
        raw_params = f.table("parameters", {}).data
        params = {k: _parse_param(k, v, where) for k, v in raw_params.items()}
        spec = {k: v for k, v in data.items()
                if k not in ("name", "kind", "description", "reference", "parameters", "schema",
                             "theory")}  # fmt: skip
        return cls(
            name=data["name"], kind=data["kind"], description=data["description"].strip(),
            reference=data["reference"].strip(), params=params, spec=spec,
            theory=data.get("theory"), path=path,
        )  # fmt: skip


def _candidates(dirs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        for sub in ("neurons", "synapses", "."):
            folder = d / sub
            if folder.is_dir():
                files += sorted(folder.glob("*.toml"))
    return files


def list_models(models_dir: str | os.PathLike | list | None = None) -> list[dict]:
    """Every model found: ``[{"name", "kind", "description", "path", "shadowed"}]``."""
    seen: set[str] = set()
    out = []
    for f in _candidates(model_dirs(models_dir)):
        try:
            m = Model.from_toml(f)
        except ModelError as exc:
            out.append({"name": f.stem, "kind": "?", "description": f"INVALID: {exc}",
                        "path": str(f), "shadowed": False})  # fmt: skip
            continue
        out.append({"name": m.name, "kind": m.kind, "description": m.description,
                    "path": str(f), "shadowed": m.name in seen})  # fmt: skip
        seen.add(m.name)
    return out


def load_model(name: str | os.PathLike, models_dir: str | os.PathLike | list | None = None,
               kind: str | None = None) -> Model:  # fmt: skip
    """Load a model by name (searching ``models_dir``, ``$BIORATE_MODELS``, then the shipped
    models) or by path to a ``.toml`` file. ``kind`` ("neuron"/"synapse") checks what was found."""
    if isinstance(name, Model):
        return name
    text = str(name)
    if text.endswith(".toml") or os.sep in text:
        model = Model.from_toml(text)
    else:
        dirs = model_dirs(models_dir)
        model = None
        for f in _candidates(dirs):
            if f.stem == text:
                model = Model.from_toml(f)
                break
        if model is None:
            known = sorted({f.stem for f in _candidates(dirs)})
            raise UnknownModelError(f"unknown model {text!r} (known: {', '.join(known)})")
    if kind is not None and model.kind != kind:
        raise ModelError(f"model {model.name!r} is a {model.kind} model, expected a {kind} model")
    return model
