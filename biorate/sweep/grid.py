"""A sweep's axes and points: the swept names (a model parameter or a protocol value), their SI
values and display units, the grid's combinations or the list of points, and every point's static
checks, all before anything runs (see :mod:`biorate.sweep.spec`)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import BiorateError, ModelError, ProtocolError, UnknownParameterError
from ..forms import FORMS, get_form
from ..io import limit_from_env
from ..models import Model, Param, check_param, fi_drive
from ..models.checks import check_relations
from ..units import CURRENT, TIME, VOLTAGE, Dim, format_quantity, si_unit
from .values import SpecError, si_values, table, unit_hint, unknown_keys

# Points a spec may name: each is hashed here and run (at least seconds) later, so a grid of a
# million points is most likely a mistake, refused before any point is built unless the user
# raises the limit ($BIORATE_MAX_SWEEP_POINTS).
MAX_POINTS = 100_000


def max_points() -> int:
    """The most points a spec may name: ``$BIORATE_MAX_SWEEP_POINTS`` or :data:`MAX_POINTS`."""
    return int(limit_from_env("BIORATE_MAX_SWEEP_POINTS", MAX_POINTS, SpecError))


# protocol values that a grid may sweep, per measurement: name -> dimension
SWEEPABLE = {"fi": {"sigma": VOLTAGE, "bias": CURRENT}, "release": {}}


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


def check_fixed_not_swept(data: Mapping, axes: tuple[Axis, ...]) -> None:
    """A parameter that ``[model] set`` fixes and the grid (or the points) also sweeps has two
    values and no rule for which one wins: refused."""
    fixed = table(data, "model").get("set", {})
    for a in axes:
        if a.name in fixed:
            raise SpecError(f"{a.name} is both fixed by [model] set ({a.name} = "
                            f"{str(fixed[a.name])[:40]!r}) and swept by "
                            f"{'[grid]' if 'grid' in data else '[[points]]'}: give it in one place")  # fmt: skip


def resolve_name(name: str, model: Model, measure: str) -> tuple[str, Dim, str]:
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


def read_axes(data: Mapping, model: Model, measure: str, protocol: dict) -> tuple[Axis, ...]:
    has_grid, has_points = "grid" in data, "points" in data
    if has_grid == has_points:
        raise SpecError("give exactly one of [grid] (a Cartesian product) or [[points]] (a list)")
    if has_grid:
        grid = table(data, "grid")
        if not grid:
            raise SpecError("[grid] is empty: name at least one parameter to sweep")
        axes, n_points = [], 1
        for name, raw in grid.items():
            where, dim, unit = resolve_name(name, model, measure)
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
        where, dim, unit = resolve_name(name, model, measure)
        values = []
        for i, p in enumerate(points):
            v = si_values(p[name], dim, f"points[{i}].{name}")
            if v.size != 1:
                raise SpecError(f"points[{i}].{name}: one value per point, got {v.size}")
            values.append(float(v[0]))
        axes.append(Axis(name, where, dim, unit, tuple(values)))
    return tuple(axes)


def combinations(data: Mapping, axes: tuple[Axis, ...]) -> list[tuple[float, ...]]:
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


def check_points(data: Mapping, axes: tuple[Axis, ...], model: Model, protocol: dict) -> None:
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
                    if tuple(a.dim) == TIME:  # tau... and t_ref against dt (the relaxation
                        # times, made of several parameters, are checked per point below)
                        model.with_params(**{a.name: shown}).check_dt(protocol["dt_s"],
                                                                      relaxation=False)  # fmt: skip
                else:
                    drive = {"sigma": format_quantity(protocol["sigma_V"], VOLTAGE),
                             "bias": format_quantity(protocol["bias_A"], CURRENT), a.name: shown}  # fmt: skip
                    sigma_v, bias_a = fi_drive(protocol["drive"], drive["sigma"], drive["bias"])
                    model.check_drive(protocol["drive"], sigma_v, bias_a)
            except BiorateError as exc:
                raise type(exc)(f"{named(a, i)}: {exc}") from None
    swept = [a for a in axes if a.where == "model"]
    if not swept:  # the model as it is: its relaxation times against dt
        if protocol.get("dt_s") and (problem := model.relaxation_problem(protocol["dt_s"])):
            raise ProtocolError(problem)
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
            check_relations(params, f"{_point(swept, combo, grid, i)}: model {model.name!r}")
        problem = model.relaxation_problem(
            protocol["dt_s"], {k: p.value for k, p in params.items()}
        )
        if problem:  # the relaxation times: a rate such as g_L/C_m needs the point's values
            raise ProtocolError(f"{_point(swept, combo, grid, i)}: {problem}")


def _point(swept: list[Axis], combo: tuple, grid: bool, i: int) -> str:
    """A sweep point named for an error: by its swept values (a grid), or its index."""
    shown = ", ".join(f"{a.name} = {format_quantity(v, a.dim, a.unit or None)}"
                      for a, v in zip(swept, combo, strict=True))  # fmt: skip
    return f"grid points with {shown}" if grid else f"points[{i}]"


def check_levels(forms: tuple[str, ...], n: int) -> None:
    for f in forms:
        k = min(form.k for form in FORMS.values()) if f == "auto" else get_form(f).k
        if n <= k:
            raise ProtocolError(f"form {f!r} needs more than {k} levels of the curve's x axis; "
                                f"the protocol gives {n}")  # fmt: skip


def read_forms(fit: dict) -> tuple[str, ...]:
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
