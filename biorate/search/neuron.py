"""The neuron space: activations a spiking neuron can realise.

A candidate is a set of parameters of a spiking neuron model (``tau_m``, ``t_ref``, ``V_th``,
... and the free-membrane noise ``sigma``), each within bounds with units. Its activation is the
model's f-I curve fitted and exported exactly as ``biorate fit`` does (:func:`biorate.fit`,
:meth:`biorate.fitting.Fit.activation`): the predicted curve (``curve = "theory"``, the default
for a model with ``theory = "lif"``: the analytic rate, Siegert's formula with noise;
:func:`biorate.theory.fi`) or the curve measured on Brian2 (``curve = "measured"``, the default
otherwise, e.g. ``adaptive_lif``, whose adaptation no theory here describes:
:func:`biorate.measure_fi` with the table's ``duration``, ``transient``, ``trials``, ``dt``,
``seed`` and ``target``, the same seed for every candidate). So every activation found here came
from a neuron, records that neuron as its source, and can be deployed (:func:`biorate.deploy`) as
it stands. A release synapse (``tm_release``, ``ca_release``) is a candidate too: its curve is
the release rate against the presynaptic rate (the Tsodyks-Markram theory's, or measured); its
activation trains, and deploy refuses it (a unit is deployed as a neuron driven by a current).
The ``[neuron]`` table is read by :func:`biorate.search.neuron_spec.neuron_space`.

Drawing and mutating, from a ``numpy.random.Generator``: a parameter whose bounds are both
positive (a time constant, a resistance) is drawn log-uniformly, any other uniformly; a mutation
moves one parameter by a normal step of a fifth of its (log) range, clipped to the bounds. Values
are rounded to 3 significant digits, so a candidate's string (``"tau_m=15.3 ms, sigma=2 mV"``)
is its canonical key and reads back to the same values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BiorateError
from ..units import VOLTAGE, format_quantity, parse_quantity, parse_range, parse_unit

__all__ = ["NeuronSpace", "NeuronCandidate", "neuron_activation", "DRIVE_PARAMS"]

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
    display unit of each); ``current`` the curve's x axis as a range string (a neuron's currents,
    or a synapse's presynaptic rates: ``axis`` says which), ``form`` the fitted form and
    ``protocol`` a measured curve's protocol (empty: the theory's curve)."""

    model: str
    bounds: tuple[tuple[str, float, float], ...]
    units: tuple[str, ...]
    current: str
    form: str
    model_digest: str = ""
    protocol: tuple[tuple[str, Any], ...] = ()  # a measured curve's protocol (SI); () = theory
    axis: str = "current"  # what ``current`` holds: "current" (a neuron) or "rate" (a synapse)

    @property
    def curve(self) -> str:
        """``"measured"`` (Brian2) or ``"theory"``."""
        return "measured" if self.protocol else "theory"

    def describe(self) -> dict:
        """What an evaluation depends on besides the candidate (its hash covers it): the model,
        currents and form, and a measured curve's protocol."""
        out = {"model": self.model, self.axis: self.current, "form": self.form,
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
    """The activation of a candidate: ``model`` with ``params`` (SI; ``sigma`` is a neuron's
    drive noise), its curve over ``current`` (a neuron's f-I curve against currents; a synapse's
    release curve against presynaptic rates), the theory's or measured on Brian2 with
    ``protocol`` (SI values as :meth:`NeuronSpace.describe` gives them), fitted with ``form``.
    Raises a BiorateError when the curve cannot be computed or fitted, or the fit's R^2 is
    flagged low (other flags, such as a parameter at its bound, stay in the activation's
    ``fit``)."""
    from .. import theory
    from ..fitting import fit
    from ..models import load_model

    m = load_model(model)
    dims = {k: m.param(k).dim for k in params if k not in DRIVE_PARAMS}
    model_params = {k: format_quantity(v, dims[k]) for k, v in params.items() if k in dims}
    cell = m.with_params(**model_params)
    command = "biorate search (neuron space)"
    synapse = m.kind == "synapse"
    if protocol:
        from ..sweep.run import measure_curve

        x, _ = parse_range(current, name="rate" if synapse else "current")
        p = {**protocol, "x": [float(v) for v in x]}
        if synapse:
            curve = measure_curve(cell, "release", {**p, "x_unit": "Hz"}, command=command)
        else:
            p |= {"drive": "current", "sigma_V": float(params.get("sigma", 0.0)), "bias_A": 0.0}
            curve = measure_curve(cell, "fi", {**p, "x_unit": "A"}, command=command)
    elif synapse:
        curve = theory.release(cell, rate=current, command=command)
    else:
        sigma = format_quantity(params.get("sigma", 0.0), VOLTAGE)
        curve = theory.fi(cell, current=current, sigma=sigma, command=command)
    if not np.any(np.asarray(curve.y) > 0):
        raise BiorateError(f"{model} never {'releases' if synapse else 'fires'} over {current}: "
                           "no activation")  # fmt: skip
    result = fit(curve, form=form)
    act = result.activation()
    if "low_r2" in act.fit_flags:  # the form does not represent the curve; a parameter at its
        # bound (soft_lif's smoothing -> 0 on a noise-free curve) is said by the flags it keeps
        raise BiorateError(f"the {form} form does not fit the curve ({', '.join(act.fit_flags)})")
    return act
