"""The neuron space: activations a spiking neuron can realise.

A candidate is a set of parameters of a spiking neuron model (``tau_m``, ``t_ref``, ``V_th``,
... and the free-membrane noise ``sigma``), each within bounds with units. Its activation is the
model's f-I curve fitted and exported exactly as ``biorate fit`` does: the predicted curve
(``curve = "theory"``, the default for a model with ``theory = "lif"``: the analytic rate,
Siegert's formula with noise; :func:`biorate.theory.fi`) or the curve measured on Brian2
(``curve = "measured"``, the default otherwise, e.g. ``adaptive_lif``, whose adaptation no
theory here describes: :func:`biorate.measure_fi` with the table's ``duration``, ``transient``,
``trials``, ``dt``, ``seed`` and ``target``, the same seed for every candidate) (:func:`biorate.fit`, :meth:`biorate.fitting.Fit.activation`): so every activation found
here came from a neuron, records that neuron as its source, and can be deployed
(:func:`biorate.deploy`) as it stands.

Drawing and mutating, from a ``numpy.random.Generator``: a parameter whose bounds are both
positive (a time constant, a resistance) is drawn log-uniformly, any other uniformly; a mutation
moves one parameter by a normal step of a fifth of its (log) range, clipped to the bounds. Values
are rounded to 3 significant digits, so a candidate's string (``"tau_m=15.3 ms, sigma=2 mV"``)
is its canonical key and reads back to the same values.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BiorateError
from ..schema import Fields
from ..units import CURRENT, VOLTAGE, format_quantity, parse_quantity, parse_range, parse_unit

__all__ = ["NeuronSpace", "NeuronCandidate", "neuron_activation", "neuron_space", "DRIVE_PARAMS"]

# parameters of the drive rather than of the model (biorate.theory.fi takes them as arguments)
DRIVE_PARAMS = {"sigma": VOLTAGE}
_MUTATION_STEP = 0.2  # of a parameter's (log) range


def _round(v: float) -> float:
    return 0.0 if v == 0 else float(f"{v:.3g}")


@dataclass(frozen=True)
class NeuronCandidate:
    """One point of the neuron space: ``values`` = ((name, SI value), ...) in the space's order,
    with their display units (``units``)."""

    values: tuple[tuple[str, float], ...]
    units: tuple[str, ...]

    def __str__(self) -> str:
        return ", ".join(f"{n}={_show(v, u)}" for (n, v), u in zip(self.values, self.units,
                                                                  strict=True))  # fmt: skip

    @property
    def params(self) -> dict[str, float]:
        return dict(self.values)


def _show(value: float, unit: str) -> str:
    return format_quantity(value, parse_unit(unit)[1], unit)


@dataclass(frozen=True)
class NeuronSpace:
    """Parameters of ``model`` within ``bounds`` (name -> (low, high), SI floats; ``units`` the
    display unit of each); ``current`` the f-I curve's currents (a range string) and ``form`` the
    fitted form."""

    model: str
    bounds: tuple[tuple[str, float, float], ...]
    units: tuple[str, ...]
    current: str
    form: str
    model_digest: str = ""
    protocol: tuple[tuple[str, Any], ...] = ()  # a measured curve's protocol (SI); () = theory

    @property
    def curve(self) -> str:
        """``"measured"`` (Brian2) or ``"theory"``."""
        return "measured" if self.protocol else "theory"

    def describe(self) -> dict:
        """What an evaluation depends on besides the candidate (its hash covers it): the model,
        currents and form, and a measured curve's protocol."""
        out = {"model": self.model, "current": self.current, "form": self.form,
               "model_sha256": self.model_digest}  # fmt: skip
        return out | (
            {"curve": "measured", "protocol": dict(self.protocol)} if self.protocol else {}
        )

    def _coords(self, name_lo_hi: tuple[str, float, float]) -> tuple[bool, float, float]:
        _, lo, hi = name_lo_hi
        log = lo > 0 and hi > 0
        return log, (math.log(lo) if log else lo), (math.log(hi) if log else hi)

    def _make(self, raw: Sequence[float]) -> NeuronCandidate:
        vals = []
        for (name, lo, hi), v in zip(self.bounds, raw, strict=True):
            vals.append((name, min(max(_round(v), lo), hi)))
        return NeuronCandidate(tuple(vals), self.units)

    def random(self, rng: np.random.Generator) -> NeuronCandidate:
        raw = []
        for b in self.bounds:
            log, a, c = self._coords(b)
            u = float(rng.uniform(a, c))
            raw.append(math.exp(u) if log else u)
        return self._make(raw)

    def mutate(self, cand: NeuronCandidate, rng: np.random.Generator) -> NeuronCandidate:
        i = int(rng.integers(len(self.bounds)))
        log, a, c = self._coords(self.bounds[i])
        v = cand.values[i][1]
        u = (math.log(v) if log else v) + float(rng.normal(0.0, _MUTATION_STEP * (c - a)))
        u = min(max(u, a), c)
        raw = [val for _, val in cand.values]
        raw[i] = math.exp(u) if log else u
        return self._make(raw)

    def fingerprint(self, cand: NeuronCandidate) -> str:
        return str(cand)

    def parse(self, text: str) -> NeuronCandidate:
        """The candidate whose string is ``text`` (a leaderboard row back to a candidate)."""
        out = dict(part.split("=", 1) for part in text.split(", "))
        raw = [parse_quantity(out[name])[0] for name, _, _ in self.bounds]
        return self._make(raw)


def neuron_activation(model: str, params: Mapping[str, float], current: str, form: str,
                      name: str = "candidate", protocol: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    """The activation of a neuron: ``model`` with ``params`` (SI; ``sigma`` is the drive's noise),
    its f-I curve over ``current`` (the theory's, or measured on Brian2 with ``protocol``, SI
    values as :meth:`NeuronSpace.describe` gives them), fitted with ``form``. Raises a
    BiorateError when the curve cannot be computed or fitted, or the fit's R^2 is flagged low
    (other flags, such as a parameter at its bound, stay in the activation's ``fit``)."""
    from .. import theory
    from ..fitting import fit
    from ..models import load_model

    m = load_model(model)
    dims = {k: m.param(k).dim for k in params if k not in DRIVE_PARAMS}
    model_params = {k: format_quantity(v, dims[k]) for k, v in params.items() if k in dims}
    neuron = m.with_params(**model_params)
    if protocol:
        from ..sweep.run import measure_curve

        x, _ = parse_range(current, name="current")
        p = {**protocol, "drive": "current", "sigma_V": float(params.get("sigma", 0.0)),
             "bias_A": 0.0, "x": [float(v) for v in x], "x_unit": "A"}  # fmt: skip
        curve = measure_curve(neuron, "fi", p, command="biorate search (neuron space)")
    else:
        sigma = format_quantity(params.get("sigma", 0.0), VOLTAGE)
        curve = theory.fi(neuron, current=current, sigma=sigma,
                          command="biorate search (neuron space)")  # fmt: skip
    if not np.any(np.asarray(curve.y) > 0):
        raise BiorateError(f"{model} never fires over {current}: no activation")
    result = fit(curve, form=form)
    act = result.activation()
    if "low_r2" in act.fit_flags:  # the form does not represent the curve; a parameter at its
        # bound (soft_lif's smoothing -> 0 on a noise-free curve) is said by the flags it keeps
        raise BiorateError(f"the {form} form does not fit the curve ({', '.join(act.fit_flags)})")
    return act


_MAX_PARAMS = 8
_MAX_LEVELS = 10_000  # the most points a fit takes


def neuron_space(f: Fields) -> NeuronSpace:
    """The ``[neuron]`` table of a search spec: ``model`` (a neuron model), ``bounds``
    ``{param: ["low unit", "high unit"]}`` (the model's parameters and ``sigma``, the drive's
    noise), ``current`` (the f-I curve's currents, a range within +-1 A), ``form`` (a form of
    :data:`biorate.forms.FORMS`, as ``biorate fit --form``; ``soft_lif`` by default) and
    ``curve``: ``"theory"`` (a model with ``theory = "lif"``; its default) or ``"measured"``
    (Brian2, with ``duration``, ``transient``, ``trials``, ``dt``, ``seed`` and ``target``,
    defaults as ``biorate simulate fi``'s, seed 0; every candidate's curve checked against them
    before the search starts)."""
    from ..forms import FORMS
    from ..models import check_current, fi_drive, load_model

    f.unknown(("model", "bounds", "current", "form", "curve", *_MEASURE_FIELDS))
    name = f.text("model", "lif")
    try:
        model = load_model(name, kind="neuron")
    except BiorateError as exc:
        raise f.fail("model", str(exc)) from None
    kind = f.text("curve", "theory" if model.theory == "lif" else "measured",
                  choices=("theory", "measured"))  # fmt: skip
    if kind == "theory" and model.theory != "lif":
        raise f.fail("curve", f"{name!r} has no theory curve (theory = 'lif' in its file): "
                              "give curve = \"measured\" to fit its f-I curve measured on Brian2")  # fmt: skip
    if kind == "theory" and (given := [k for k in _MEASURE_FIELDS if f.has(k)]):
        raise f.fail(given[0], 'a theory curve is not simulated: give curve = "measured"')
    bounds_t = f.table("bounds")
    if not 1 <= len(bounds_t.data) <= _MAX_PARAMS:
        raise f.fail("bounds", f"name 1 to {_MAX_PARAMS} parameters with [low, high] bounds, e.g. "
                               "tau_m = [\"5 ms\", \"50 ms\"]")  # fmt: skip
    bounds, units, ends = [], [], []
    for pname in bounds_t.data:
        if pname in DRIVE_PARAMS:
            dim = DRIVE_PARAMS[pname]
        elif pname in model.params:
            dim = model.param(pname).dim
        else:
            raise bounds_t.fail(pname, f"not a parameter of {name} (it has "
                                       f"{', '.join([*model.params, *DRIVE_PARAMS])})")  # fmt: skip
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
        try:  # both ends must make a valid model (a domain: tau_m > 0, V_th > V_reset, ...)
            for v in (lo, hi):
                if pname in DRIVE_PARAMS:
                    fi_drive("current", format_quantity(v, dim), "0 A")  # sigma in [0, 10 V]
                else:
                    model.with_params(**{pname: format_quantity(v, dim)})
        except BiorateError as exc:
            raise bounds_t.fail(pname, str(exc)) from None
        bounds.append((pname, float(lo), float(hi)))
        ends.append((pname, dim, lo, hi))
        written = re.match(r"\s*[-+]?[\d.]+(?:[eE][-+]?\d+)?\s*(\S.*?)\s*$", pair[0])
        units.append(written.group(1) if written else format_quantity(1.0, dim).split()[-1])
    current = f.text("current", "0nA:4nA:161")
    try:
        x, dim = parse_range(current, name="current")
        if dim != CURRENT:
            raise BiorateError(f"{current!r} is not a current range (e.g. '0nA:4nA:161')")
        check_current(x, "current")
    except BiorateError as exc:
        raise f.fail("current", str(exc)) from None
    if x.size < 10:
        raise f.fail("current", f"{x.size} levels: a curve to fit needs at least 10")
    if x.size > _MAX_LEVELS:
        raise f.fail("current", f"{x.size:,} levels: a fit takes at most {_MAX_LEVELS:,}")
    form = f.text("form", "soft_lif", choices=(*FORMS, "auto"))
    protocol = _measure_protocol(f, model, ends, x.size) if kind == "measured" else ()
    # the model file's content, so that evaluations (whose hash covers it) are not reused when
    # the file changes under the same name
    content = {"spec": model.spec, "params": model.params_strings(), "theory": model.theory}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode())
    return NeuronSpace(name, tuple(bounds), tuple(units), current, form, digest.hexdigest()[:16],
                       protocol)  # fmt: skip


_MEASURE_FIELDS = ("duration", "transient", "trials", "dt", "seed", "target")


def _measure_protocol(f: Fields, model: Any, ends: list, levels: int) -> tuple:
    """A measured curve's protocol in SI, checked as ``biorate simulate fi`` checks its own,
    against the model at both ends of every time bound (``t_ref`` must exceed ``dt``) and the
    size of one candidate's simulation."""
    from ..errors import ProtocolError
    from ..spiking.protocol import TARGETS, check_protocol, check_size, resolve_seed
    from ..sweep.protocol import DEFAULTS

    d = DEFAULTS["fi"]
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
        seed = resolve_seed(f.data.get("seed", 0))
    except ProtocolError as exc:
        raise f.fail("seed", str(exc)) from None
    target = f.text("target", "auto", choices=TARGETS)
    for pname, dim, lo, hi in ends:  # each end of a bound (t_ref's low end against dt)
        for v in (lo, hi) if pname not in DRIVE_PARAMS else ():
            try:
                model.with_params(**{pname: format_quantity(v, dim)}).check_dt(dt)
            except BiorateError as exc:
                raise f.error(
                    f"{f.where}: bounds.{pname} at {format_quantity(v, dim)}: {exc}"
                ) from None
    try:
        model.check_dt(dt)
        check_size(levels, trials, "each candidate's f-I curve",
                   steps=(transient + duration) / dt, target=target)  # fmt: skip
    except BiorateError as exc:
        raise f.error(f"{f.where}: {exc}") from None
    return (("duration_s", duration), ("transient_s", transient), ("trials", trials),
            ("dt_s", dt), ("seed", seed), ("target", target))  # fmt: skip
