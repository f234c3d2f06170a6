"""Model files (``models/neurons/*.toml``, ``models/synapses/*.toml``) loaded into frozen dataclasses.

A model file is data, not code: Brian2 equation strings, parameters written with units
(``tau_m = "20 ms"``; bare numbers only for dimensionless parameters), a one-line description and a
literature reference. Shipped models live inside the package; a user's folder is searched first when
named by ``BIORATE_MODELS`` (several folders separated by ``os.pathsep``) or ``--models DIR``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ModelError, ProtocolError, UnitError, UnknownModelError, UnknownParameterError
from ..io import LOOP, is_loop, path_is, read_toml
from ..schema import Fields, describe, finite_number, short
from ..units import (
    DIMENSIONLESS,
    TIME,
    Dim,
    format_quantity,
    parse_quantity,
    to_si,
)
from .checks import (
    MAX_CURRENT,
    check_names,
    check_param,
    check_relations,
    check_spec,
    check_theory,
    equation_variables,
    refractory_spec,
)
from .protocol import (
    DRIVES,
    MIN_DT,
    check_current,
    check_dt,
    check_whole_steps,
    fi_axis,
    fi_drive,
    whole_steps,
)
from .stability import explicit_method, has_random, noisy, relaxation_rates
from .stability import state_names as stability_state_names

__all__ = [
    "Param",
    "Model",
    "load_model",
    "list_models",
    "model_dirs",
    "shipped_models_dir",
    "DRIVES",
    "fi_drive",
    "fi_axis",
    "check_dt",
    "check_whole_steps",
    "whole_steps",
    "check_current",
    "MAX_CURRENT",
    "MIN_DT",
    "check_param",
    "equation_variables",
]

KINDS = ("neuron", "synapse")


SCHEMA = 1


def shipped_models_dir() -> Path:
    """The folder of models shipped with biorate (inside the wheel, or the source tree's models/)."""
    here = Path(__file__).resolve().parent.parent  # biorate/
    inside = here / "_models"
    return inside if inside.is_dir() else here.parent / "models"


def model_dirs(extra: str | os.PathLike | list | None = None) -> list[Path]:
    """Folders searched for models, first match wins: ``extra``, ``$BIORATE_MODELS``, shipped.

    A folder named by ``extra`` (``--models``) or ``$BIORATE_MODELS`` that is missing, or is a
    file, raises :class:`ModelError`: a model folder that is silently skipped would load the shipped
    model of the same name instead of the user's."""
    dirs: list[Path] = []
    if extra is not None and not isinstance(extra, str | os.PathLike | list | tuple):
        raise ModelError(f"models folder: expected a folder path or a list of them, got "
                         f"{describe(extra)}")  # fmt: skip
    if extra:
        for d in [extra] if isinstance(extra, str | os.PathLike) else list(extra):
            dirs.append(_folder(d, "models folder"))
    env = os.environ.get("BIORATE_MODELS")
    if env:
        dirs += [_folder(p, "BIORATE_MODELS") for p in env.split(os.pathsep) if p.strip()]
    dirs.append(shipped_models_dir())
    seen: set[str] = set()  # a folder named twice (--models is also put in $BIORATE_MODELS)
    return [d for d in dirs if not (os.path.realpath(d) in seen or seen.add(os.path.realpath(d)))]


def _folder(d: Any, what: str) -> Path:
    if not isinstance(d, str | os.PathLike):
        raise ModelError(f"{what}: expected a folder path, got {describe(d)}")
    path = Path(d)
    if not path_is(path, "dir"):
        why = ("is a file" if path_is(path, "any")
               else LOOP.replace("its path ", "") if is_loop(path) else "does not exist")  # fmt: skip
        raise ModelError(f"{what} {str(d)[:200]} {why}: it must name a folder of model files "
                         "(TOML files, or neurons/ and synapses/ folders of them)")  # fmt: skip
    return path


def _check_step(dt_s: Any) -> None:
    if not finite_number(dt_s) or not 0 < dt_s:
        raise ProtocolError(f"dt must be a positive number of seconds, got {short(dt_s)}")
    if dt_s < MIN_DT:
        raise ProtocolError(f"dt = {dt_s:g} s is too short: a time step must be at least 1 ns")


@dataclass(frozen=True)
class Param:
    """A model parameter: ``value`` in SI base units, its dimension, and the unit it is shown in."""

    value: float
    dim: Dim
    unit: str

    def __str__(self) -> str:
        return format_quantity(self.value, self.dim, self.unit or None)


def parse_param(name: str, raw: Any, where: str) -> Param:
    """One ``[parameters]`` entry (its name is checked with the others: ``names.check_names``)."""
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
        variables = check_spec(where, self.kind, self.spec, self.params)
        check_names(self.params, variables, where)
        check_relations(self.params, where)
        check_theory(self.theory, self.kind, self.params, self.spec, where)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    # --- parameters ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> float:
        """SI value of parameter ``name``."""
        return self.param(name).value

    def param(self, name: str) -> Param:
        if not isinstance(name, str):
            raise UnknownParameterError(f"a parameter name is a string, got {short(name)}")
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
        if values:  # a relation the change breaks is the change's fault, not the file's
            changed = ", ".join(f"{k} set to {new[k]}" for k in values)
            check_relations(new, f"model {self.name!r} with {changed}")
        return replace(self, params=new)

    def params_strings(self) -> dict[str, str]:
        """``{name: "20 ms"}``: the parameters as written in files and reports."""
        return {k: str(p) for k, p in self.params.items()}

    def refractory_period(self) -> float | None:
        """The neuron's refractory period in seconds when ``[neuron].refractory`` names a time
        parameter (``refractory = "t_ref"``) or is a time with units (``"2 ms"``); None when it
        has none, or is a condition Brian2 evaluates (e.g. ``"v > V_th"``)."""
        return refractory_spec(self.section("neuron").get("refractory"), self.params)[1]

    def check_dt(self, dt_s: float, *, relaxation: bool = True) -> None:
        """Refuse a time step the model's times cannot live with: one at or above a time constant
        (a parameter ``tau...``: the dynamics would not be resolved, and Euler's scheme is
        unstable), or at or above the refractory period when the model has one (> 0).

        Brian2 holds a neuron refractory for ``int((t_ref + 1e-3*dt)/dt) - 1`` whole steps after
        its spike step; at ``dt >= t_ref`` that is 0 steps or fewer, so the refractory period is
        lost, and the rate is capped at one spike per step or two: a staircase, not an f-I curve.
        A refractory period of 0 is no refractory period (the model then has none to lose, as in
        the README's t_ref = 0 comparison with theory): any dt shorter than the time constants.
        Then the relaxation times the equations make of the parameters
        (:meth:`relaxation_problem`), unless ``relaxation`` is False (a sweep checks those per
        point, with every swept value of the point).
        """
        _check_step(dt_s)
        for name, p in self.params.items():
            if name.startswith("tau") and tuple(p.dim) == TIME and dt_s >= p.value:
                raise ProtocolError(
                    f"dt = {dt_s * 1e3:g} ms must be shorter than the time constant {name} = "
                    f"{p} of model {self.name!r} (else the step skips over its dynamics); use "
                    f"dt < {p.value * 1e3:g} ms"
                )
        if relaxation and (problem := self.relaxation_problem(dt_s)):
            raise ProtocolError(problem)
        t_ref = self.refractory_period()
        if t_ref is not None and t_ref > 0 and dt_s >= t_ref:
            ref = self.section("neuron").get("refractory")
            raise ProtocolError(
                f"dt = {dt_s * 1e3:g} ms must be shorter than the refractory period {ref} = "
                f"{t_ref * 1e3:g} ms of model {self.name!r} (else Brian2 holds no refractory "
                f"step and the rate saturates in steps); use dt < {t_ref * 1e3:g} ms"
            )

    def relaxation_problem(self, dt_s: float, params: Mapping[str, float] | None = None, *,
                           state: Mapping[str, float] | None = None, where: str = "",
                           limit: float = 1.0) -> str | None:  # fmt: skip
        """Why ``dt_s`` is too long for a relaxation time of the model (with ``params``, SI
        floats by name, in place of some of its own values), or None. The rates of the state
        variables at the model's initial state (or at ``state``, SI floats by name, e.g. where a
        run ended, with ``t`` among ``params``; ``where`` then says which) are read from its
        equations however written (:mod:`biorate.models.stability`: cond_lif's leak gives
        g_L/C_m; coupled equations by the modes of their Jacobian); a step of at least
        ``1/rate`` with an explicit scheme of fixed step (Euler's, the default; Heun, Milstein,
        Runge-Kutta) does not follow the dynamics (Euler's overshoots the rest and oscillates:
        cond_lif with g_L = 10 uS fired ~475 Hz at every current, 0 nA included). Methods exact
        for linear equations, and GSL's, which adapt their step, are left alone. A synapse's
        ``[synapse]`` equations are read alike (a recovery of 20 us stepped by Euler at 0.1 ms
        made every point NaN)."""
        _check_step(dt_s)
        if not isinstance(where, str):
            raise ProtocolError(f"where must be a string, got {short(where)}")
        values = {k: p.value for k, p in self.params.items()}
        for what, given in (("params", params), ("state", state)):
            if given is not None and not (
                isinstance(given, Mapping)
                and all(
                    isinstance(k, str) and finite_number(v) for k, v in given.items()
                )  # fmt: skip
            ):
                raise ProtocolError(f"{what} must map names to finite numbers (SI), got "
                                    f"{short(given)}")  # fmt: skip
        for name, value in (params or {}).items():
            if name not in values and name != "t":
                raise UnknownParameterError(f"model {self.name!r} has no parameter {name!r} "
                                            f"(it has: {', '.join(self.params)})")  # fmt: skip
            if name in self.params and value != values[name]:  # a new value in its domain
                # (C_m = -1 pF relaxes at no rate; the model's own values were checked at load)
                check_param(name, float(value), self.params[name].dim, f"model {self.name!r}",
                            ProtocolError)  # fmt: skip
        table = "neuron" if self.kind == "neuron" else "synapse"
        section = self.section(table)
        equations = str(section.get("equations", ""))
        if not explicit_method(section.get("method")):
            return None
        initial = section.get("initial", {})
        initial = initial if isinstance(initial, Mapping) else {}
        if state is not None:
            known = set(stability_state_names(equations))
            if unknown := sorted(set(state) - known):
                raise UnknownParameterError(f"model {self.name!r}: state has no variable "
                                            f"{unknown[0]!r} (it has: {', '.join(sorted(known))})")  # fmt: skip
            initial = {**initial, **{k: float(v) for k, v in state.items()}}
        values.update({k: float(v) for k, v in (params or {}).items()})
        values["dt"] = dt_s  # (Brian2's own name for the step, which code may read)
        rates = relaxation_rates(equations, values, initial)
        if state is not None and any(r < 0 for r in rates.values()):
            return None  # a state where something grows: a spike under way (see fi's end check)
        for var, rate in rates.items():
            if rate > 0 and dt_s * rate >= limit:
                tau = 1 / rate
                other = "" if noisy(equations) else (
                    f', or method = "exponential_euler" in its [{table}] table (for equations '
                    "linear in each variable)")  # fmt: skip
                at = where or ("given state" if state is not None else "initial state")
                if at == "initial state" and has_random(equations, initial):
                    at += (" (its rand()/randn() tried at the middle and ends of their range, "
                           "randn() at +-2)")  # fmt: skip
                return (f"dt = {dt_s * 1e3:g} ms must be shorter than the time constant of {var} "
                        f"at the {at} of model {self.name!r}, {tau * 1e3:.3g} ms (1 over "
                        f"-d(d{var}/dt)/d{var}, or over a mode of the coupled equations; a longer "
                        f"step of a fixed-step scheme does not follow the dynamics: Euler's "
                        f"overshoots and oscillates); use dt < {tau * 1e3:.3g} ms{other}")  # fmt: skip
        return None

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.spec.get(name, {})
        return value if isinstance(value, Mapping) else {}

    def check_drive(self, drive: str, sigma_v: float, bias_a: float) -> None:
        """The model's ``[drive]`` names the variables an f-I protocol sets: a current variable
        for ``drive="current"`` or a bias, a noise variable for ``sigma_v > 0``
        (:class:`ModelError` otherwise); measure_fi and a sweep spec's points check alike."""
        if drive not in DRIVES:
            raise ProtocolError(f"drive must be one of {', '.join(DRIVES)}, got {drive!r}")
        drive_spec = self.section("drive")
        if (drive == "current" or bias_a) and not drive_spec.get("current"):
            raise ModelError(f"model {self.name!r} names no current variable in [drive]")
        if sigma_v > 0 and not drive_spec.get("noise"):
            raise ModelError(f"model {self.name!r} names no noise variable in [drive]")

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
        if not (data["name"].isprintable() and 0 < len(data["name"]) <= 200):
            raise f.fail("name", f"{data['name'][:40]!r} is not a printable name of 1 to 200 "
                         "characters (it heads listings, reports and file names)")  # fmt: skip
        if path is not None and data["name"] != path.stem:  # models are found by file name
            raise f.fail("name", f"{data['name'][:40]!r} is not the file's name {path.stem!r}: a "
                                 "model is found, and a fitted activation rebuilt, by its file "
                                 f"name; name it {path.stem!r} or rename the file")  # fmt: skip
        f.text("theory", None)
        raw_params = f.table("parameters", {}).data
        params = {k: parse_param(k, v, where) for k, v in raw_params.items()}
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
    if kind is not None and (not isinstance(kind, str) or kind not in KINDS):
        raise ModelError(f"kind must be one of {', '.join(KINDS)} or None, got {describe(kind)}")
    if isinstance(name, Model):
        return name
    text = str(name)
    dirs = model_dirs(models_dir)  # a missing --models folder is refused even for a path
    if text.endswith(".toml") or os.sep in text:
        model = Model.from_toml(text)
    else:
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
