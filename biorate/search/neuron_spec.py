"""The ``[neuron]`` table of a search spec, checked field by field before anything runs: the model
(a neuron, or a release synapse), the bounds of its parameters with units, the curve's x axis, the
fitted form, and whether the curve is the theory's or measured on Brian2 (with its protocol)."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from typing import Any

import numpy as np

from ..errors import BiorateError, ModelError
from ..schema import Fields, short
from ..units import (
    CURRENT,
    DIMENSIONLESS,
    FREQUENCY,
    format_quantity,
    parse_quantity,
    parse_range,
    si_unit,
)
from .neuron import DRIVE_PARAMS, NeuronSpace

__all__ = ["neuron_space"]

_MAX_PARAMS = 8
_MAX_LEVELS = 10_000  # the most points a fit takes
_MEASURE_FIELDS = ("duration", "transient", "trials", "dt", "seed", "target", "pattern")
# the theory each kind of model has, and the defaults of its x axis and form
_THEORY = {"neuron": "lif", "synapse": "tm_release"}
_AXIS = {
    "neuron": ("current", "0nA:4nA:161", "soft_lif"),
    "synapse": ("rate", "1Hz:100Hz:100", "hill"),
}


def neuron_space(f: Fields) -> NeuronSpace:
    """The ``[neuron]`` table: ``model`` (a neuron model, or a synapse model whose curve is its
    release rate against the presynaptic rate), ``bounds`` ``{param: ["low unit", "high unit"]}``
    (the model's parameters and, for a neuron, ``sigma``, the drive's noise), the x axis
    (``current`` for a neuron, a range within +-1 A, default 0-4 nA; ``rate`` for a synapse,
    default 1-100 Hz), ``form`` (a form of :data:`biorate.forms.FORMS`, as ``biorate fit
    --form``; ``soft_lif`` for a neuron, ``hill`` for a synapse) and ``curve``: ``"theory"``
    (the default for a model with ``theory = "lif"`` or ``"tm_release"``) or ``"measured"``
    (Brian2, with ``duration``, ``transient``, ``trials``, ``dt``, ``seed``, ``target`` and, for a
    synapse, ``pattern``; defaults as ``biorate simulate fi`` / ``simulate release``, seed 0;
    checked against both ends of every bound before the search starts)."""
    from ..forms import FORMS
    from ..models import load_model

    name = f.text("model", "lif")
    try:
        model = load_model(name)
    except BiorateError as exc:
        raise f.fail("model", str(exc)) from None
    axis, axis_default, form_default = _AXIS[model.kind]
    f.unknown(("model", "bounds", axis, "form", "curve", *_MEASURE_FIELDS))
    has_theory = model.theory == _THEORY[model.kind]
    kind = f.text("curve", "theory" if has_theory else "measured", choices=("theory", "measured"))
    if kind == "theory" and not has_theory:
        raise f.fail("curve", f"{name!r} has no theory curve (theory = {_THEORY[model.kind]!r} in "
                              "its file): give curve = \"measured\" to fit its curve measured "
                              "on Brian2")  # fmt: skip
    if kind == "theory" and (given := [k for k in _MEASURE_FIELDS if f.has(k)]):
        raise f.fail(given[0], 'a theory curve is not simulated: give curve = "measured"')
    bounds, units, ends = _bounds(f, model)
    x_text = f.text(axis, axis_default)
    levels = _x_axis(f, axis, x_text, kind)
    form = f.text("form", form_default, choices=(*FORMS, "auto"))
    protocol = _measure_protocol(f, model, ends, levels) if kind == "measured" else ()
    # the model file's content, so that evaluations (whose hash covers it) are not reused when
    # the file changes under the same name
    content = {"spec": model.spec, "params": model.params_strings(), "theory": model.theory}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode())
    return NeuronSpace(name, tuple(bounds), tuple(units), x_text, form, digest.hexdigest()[:16],
                       protocol, axis)  # fmt: skip


def _bounds(f: Fields, model: Any) -> tuple[list, list, list]:
    """``(bounds, display units, ends)`` of the ``bounds`` table, each end a valid model."""
    from ..models import check_param, fi_drive

    drive = DRIVE_PARAMS if model.kind == "neuron" else {}
    bounds_t = f.table("bounds")
    if not 1 <= len(bounds_t.data) <= _MAX_PARAMS:
        raise f.fail("bounds", f"name 1 to {_MAX_PARAMS} parameters with [low, high] bounds, e.g. "
                               "tau_m = [\"5 ms\", \"50 ms\"]")  # fmt: skip
    bounds, units, ends = [], [], []
    for pname in bounds_t.data:
        if pname in drive:
            dim = drive[pname]
        elif pname in model.params:
            dim = model.param(pname).dim
        else:
            raise bounds_t.fail(pname, f"not a parameter of {model.name} (it has "
                                       f"{', '.join([*model.params, *drive])})")  # fmt: skip
        raw = bounds_t.raw(pname)
        numbers = isinstance(raw, list) and any(
            isinstance(v, int | float) and not isinstance(v, bool) for v in raw
        )
        if numbers and dim != DIMENSIONLESS:
            raise bounds_t.fail(pname, f"bounds are quantities with units, e.g. "
                                       f"[\"1 {si_unit(dim)}\", ...], found "
                                       f"numbers {short(raw)}")  # fmt: skip
        if numbers:  # a dimensionless parameter's bounds as numbers, as a model file has them
            pair = [repr(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                    for v in raw]  # fmt: skip
            pair = Fields({pname: pair}, bounds_t.where, bounds_t.error).strings(pname)
        else:
            pair = bounds_t.strings(pname)
        if len(pair) != 2:
            raise bounds_t.fail(pname, f"expected [low, high] with units, e.g. [\"5 ms\", "
                                       f"\"50 ms\"], found {len(pair)} values")  # fmt: skip
        try:
            (lo, dlo), (hi, dhi) = (parse_quantity(v, name=pname) for v in pair)
        except BiorateError as exc:
            raise bounds_t.fail(pname, str(exc)) from None
        if dlo != dim or dhi != dim:
            raise bounds_t.fail(pname, f"{pair} are not both in the unit of {pname} "
                                       f"(e.g. {format_quantity(1.0, dim)})")  # fmt: skip
        if not lo < hi:
            raise bounds_t.fail(pname, f"low {pair[0]} must be below high {pair[1]}")
        try:  # both ends in the parameter's domain (tau_m > 0...; relations: _check_relations)
            for v in (lo, hi):
                if pname in drive:
                    fi_drive("current", format_quantity(v, dim), "0 A")  # sigma in [0, 10 V]
                else:
                    check_param(pname, float(v), dim, f"model {model.name!r}")
        except BiorateError as exc:
            raise bounds_t.fail(pname, str(exc)) from None
        bounds.append((pname, float(lo), float(hi)))
        ends.append((pname, dim, lo, hi, pname in drive))
        # the unit as written ("5 ms" -> ms); the number is matched whole ("0.5" has no unit)
        written = re.match(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\d.eE])\s*(\S.*?)?\s*$",
                           pair[0])  # fmt: skip
        unit = written.group(1) if written else None
        units.append(unit or format_quantity(1.0, dim).split()[-1])
    _check_relations(bounds_t, model, ends)
    return bounds, units, ends


def _check_relations(f: Any, model: Any, ends: list) -> None:
    """Refuse bounds none of whose corners is a valid model (V_reset below V_th...): the searched
    parameters together, as a sweep checks its points (V_th in [-65, -62] mV with V_reset in
    [-75, -70] mV was refused against V_reset's default, -60 mV); a candidate inside the box that
    breaks a relation is rejected as it is made."""
    swept = [(p, dim, lo, hi) for p, dim, lo, hi, drive in ends if not drive]
    if not swept or len(swept) > 10:
        return
    problem = None
    for corner in itertools.product(*((lo, hi) for _, _, lo, hi in swept)):
        try:
            model.with_params(**{p: format_quantity(v, dim) for (p, dim, _, _), v in
                                 zip(swept, corner, strict=True)})  # fmt: skip
            return
        except BiorateError as exc:
            problem = exc
    raise f.error(f"{f.where}: at every corner of the bounds the model is not valid: {problem}")


def _x_axis(f: Fields, axis: str, text: str, kind: str) -> Any:
    """The curve's levels (SI), each once and increasing: currents within +-1 A, or presynaptic
    rates (>= 0, > 0 when measured); 10 to 10,000 of them."""
    from ..models.protocol import check_levels

    dim, example = (CURRENT, "0nA:4nA:161") if axis == "current" else (FREQUENCY, "1Hz:100Hz:100")
    try:
        x, d = parse_range(text, name=axis)
        if d != dim:
            raise BiorateError(f"{text!r} is not a {axis} range (e.g. {example!r})")
        check_levels(x, dim, axis)  # each once, increasing (4nA:0nA:11 failed every candidate)
        if axis != "current" and ((x < 0).any() or (kind == "measured" and (x <= 0).any())):
            raise BiorateError(f"rates must be {'positive' if kind == 'measured' else '>= 0'}")
    except BiorateError as exc:
        raise f.fail(axis, str(exc)) from None
    if x.size < 10:
        raise f.fail(axis, f"{x.size} levels: a curve to fit needs at least 10")
    if x.size > _MAX_LEVELS:
        raise f.fail(axis, f"{x.size:,} levels: a fit takes at most {_MAX_LEVELS:,}")
    return x


def _measure_protocol(f: Fields, model: Any, ends: list, x: Any) -> tuple:
    """A measured curve's protocol in SI, checked as ``biorate simulate fi`` (``simulate
    release``) checks its own: against the model at both ends of every time bound (``t_ref`` must
    exceed ``dt``), the rates a presynaptic train can have at that ``dt``, and the size of one
    candidate's simulation."""
    from ..errors import ProtocolError
    from ..spiking.protocol import (
        MAX_SPIKE_PROB,
        PATTERNS,
        TARGETS,
        check_protocol,
        check_size,
        resolve_seed,
    )
    from ..sweep.protocol import DEFAULTS

    neuron = model.kind == "neuron"
    d = DEFAULTS["fi" if neuron else "release"]
    raw = {
        k: f.data[k] if f.has(k) else d.get(k) for k in ("duration", "transient", "trials", "dt")
    }
    try:
        duration, transient, dt, trials = check_protocol(
            raw["duration"], raw["transient"], raw["dt"], raw["trials"]
        )
    except BiorateError as exc:
        raise f.error(f"{f.where}: {exc}") from None
    try:
        seed = resolve_seed(f.data["seed"] if f.has("seed") else 0)  # null = absent: 0, never drawn
    except ProtocolError as exc:
        raise f.fail("seed", str(exc)) from None
    target = f.text("target", "auto", choices=TARGETS)
    extra: tuple = ()
    if neuron:
        if f.has("pattern"):
            raise f.fail("pattern", "a neuron is driven by a current; pattern is a synapse's")
        sigma = max((hi for pname, _, _, hi, drive in ends if drive), default=0.0)
        try:  # the model's [drive] names the current (and the noise variable a sigma bound needs)
            model.check_drive("current", sigma, 0.0)
        except BiorateError as exc:
            raise f.error(f"{f.where}: {exc}") from None
        for pname, dim, lo, hi, drive in ends:  # each end of a bound (t_ref's low end vs dt)
            for v in (lo, hi) if not drive else ():
                try:
                    try:  # (relations with the others are checked at the corners, not here)
                        other = model.with_params(**{pname: format_quantity(v, dim)})
                    except ModelError:
                        continue
                    other.check_dt(dt, relaxation=False)
                except BiorateError as exc:
                    raise f.error(
                        f"{f.where}: bounds.{pname} at {format_quantity(v, dim)}: {exc}"
                    ) from None
    else:
        extra = (("pattern", f.text("pattern", "poisson", choices=PATTERNS)),)
        if x.max() * dt > MAX_SPIKE_PROB:
            raise f.fail("rate", f"{x.max():g} Hz is too high for dt = {dt * 1e3:g} ms (rate*dt "
                                 f"must be <= {MAX_SPIKE_PROB:g}): a smaller dt or lower rates")  # fmt: skip
    _check_some_corner_relaxes(f, model, ends, dt)  # (a synapse's equations alike)
    try:
        model.check_dt(dt, relaxation=False)  # (relaxation: on a grid, _check_some_corner_relaxes)
        check_size(x.size, trials, "each candidate's curve", what="neurons" if neuron else "synapses",
                   steps=(transient + duration) / dt, target=target)  # fmt: skip
    except BiorateError as exc:
        raise f.error(f"{f.where}: {exc}") from None
    return (("duration_s", duration), ("transient_s", transient), ("trials", trials),
            ("dt_s", dt), ("seed", seed), ("target", target), *extra)  # fmt: skip


def _check_some_corner_relaxes(f: Any, model: Any, ends: list, dt: float) -> None:
    """Refuse bounds at none of whose grid points the model can be simulated with step ``dt``
    (a relaxation time such as C_m/g_L below it everywhere: every candidate would fail); a box
    with a point that can is searched, its candidates checked as they are made. The grid holds
    the corners and inner levels (5 a parameter for up to 4 parameters, 3 for up to 7, the
    corners for up to 10; more are not checked here), so that a rate not monotone in a
    parameter (fast at both ends, slow inside) does not refuse a box that can run inside."""
    swept = [(p, lo, hi) for p, _, lo, hi, drive in ends if not drive]
    if len(swept) > 10:
        return
    n = 5 if len(swept) <= 4 else 3 if len(swept) <= 7 else 2
    base = {k: p.value for k, p in model.params.items()}
    problem = None
    levels = [[lo + (hi - lo) * q for q in np.linspace(0.0, 1.0, n)] for _, lo, hi in swept]
    for point in itertools.product(*levels):
        problem = model.relaxation_problem(dt, {**base, **{p: float(v) for (p, _, _), v in
                                                         zip(swept, point, strict=True)}})  # fmt: skip
        if problem is None:
            return
    where = "corner of the bounds" if n == 2 else f"point of a {n}-level grid over the bounds"
    raise f.error(f"{f.where}: bounds: at every {where}, {problem}")
