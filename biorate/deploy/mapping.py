"""Rate network -> spiking parameters (NumPy only): where an activation came from, the rate states
the spikes are compared with, and the synapses and bias currents (the derivation is in
:mod:`biorate.deploy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BiorateError, NetworkError
from ..models import Model, fi_drive, load_model
from ..network import RateNetwork, dynamics

__all__ = ["DeployError", "SpikingOrigin", "activation_field", "spiking_origin", "check_deployable", "rate_states", "activity_summands",
           "effective_weights", "synaptic_mapping"]  # fmt: skip


class DeployError(NetworkError):
    """A network cannot be deployed as a spiking network (no spiking origin, unsupported graph)."""


@dataclass(frozen=True)
class SpikingOrigin:
    """Where a fitted activation came from: the neuron model and the curve's protocol.

    ``model`` is the :class:`biorate.models.Model` with the curve's parameters, ``sigma_v`` the
    free-membrane noise standard deviation (volts), ``dt_s`` the curve's time step (seconds; None
    when the curve did not record one), ``name`` the activation's name.
    """

    model: Model
    sigma_v: float
    dt_s: float | None
    name: str


def _source(act: Any, name: str) -> dict:
    """The activation's record of the curve it was fitted to; refuses what cannot be deployed."""
    if getattr(act, "expression", ""):  # a formula (biorate search): g(z) with no neuron behind it
        raise DeployError(
            f"activation {name!r} is a formula, g(z) = {act.expression}, with no spiking origin: "
            "no neuron model's firing rate is known to follow it, so its units cannot become "
            "neurons; train with an activation fitted to an f-I curve (e.g. --activation lif_noise)"
        )
    if not getattr(act, "is_fitted", False):
        raise DeployError(
            f"activation {name!r} is a built-in function of z with no spiking origin: there is no "
            "neuron model whose firing rate it describes, so its units cannot become neurons; "
            "train with an activation fitted to an f-I curve (e.g. --activation lif_noise)"
        )
    src = act.source if isinstance(act.source, dict) else None
    if not src or not isinstance(src.get("model"), dict) or not src["model"].get("name"):
        raise DeployError(
            f"activation {name!r} records no source model (its 'source' is empty), so the "
            "neuron it describes is unknown"
        )
    if src.get("measure") != "fi" or act.x_unit != "A":
        raise DeployError(
            f"activation {name!r} was fitted to a {src.get('measure')!r} curve with x in "
            f"{act.x_unit!r}; deployment needs an f-I curve against injected current (x in A)"
        )
    protocol = src.get("protocol") or {}
    if protocol.get("drive", "current") != "current":
        raise DeployError(
            f"activation {name!r} was measured with drive {protocol.get('drive')!r}; "
            "deployment drives neurons with currents, so it needs a drive='current' f-I curve"
        )
    return src


def activation_field(network_file: Any) -> str | None:
    """How errors name the activation of a network file: ``"net.npz: architecture: args:
    activation"`` (as its load does), or None without a file."""
    return None if network_file is None else f"{network_file}: architecture: args: activation"


def spiking_origin(act: Any, where: str | None = None) -> SpikingOrigin:
    """The neuron model, noise and time step a fitted activation was measured with.

    Raises :class:`DeployError` with the reason when the activation has no spiking origin: a
    built-in (relu, sigmoid, ...), a fit without ``source``, a curve that is not an f-I curve
    against an injected current, or a model that cannot be found. The source is checked as
    ``simulate fi`` checks what it is given (the source is only a record, which a network file
    may carry edited): the model by its own checks with the recorded parameters, which must be
    that model's (a curve of ``lif`` renamed ``adaptive_lif`` is not a curve of it), sigma by the
    drive rule (:func:`~biorate.models.fi_drive`) and the time step by :meth:`Model.check_dt`.
    Errors name the field, after ``where`` (e.g. ``"net.npz: architecture: args: activation"``;
    default: the activation's name).
    """
    name = getattr(act, "name", type(act).__name__)
    src = _source(act, name)
    head = f"{where or f'activation {name!r}'}: source"
    protocol = src.get("protocol") or {}
    try:
        model = load_model(src["model"]["name"], kind="neuron")
    except BiorateError as exc:
        raise DeployError(f"{head}: model: its source model cannot be loaded: {exc}") from None
    params = src["model"].get("params") or {}
    try:
        if params and set(params) != set(model.params):
            raise DeployError(f"names the parameters {', '.join(params)}, but model "
                              f"{model.name!r} has {', '.join(model.params)}: the curve was "
                              "not measured on this model")  # fmt: skip
        model = model.with_params(**params) if params else model
    except BiorateError as exc:
        raise DeployError(f"{head}: model: field 'params': {exc}") from None
    sigma_v = protocol.get("sigma_V") or 0.0
    try:
        sigma_v, _ = fi_drive("current", f"{sigma_v!r} V", 0)
    except BiorateError as exc:
        raise DeployError(f"{head}: protocol: field 'sigma_V': {exc}") from None
    try:  # current drive and, with noise, a noise variable: as measure_fi checks
        model.check_drive("current", sigma_v, 0.0)
    except BiorateError as exc:
        raise DeployError(str(exc)) from None
    dt = protocol.get("dt_s")
    dt_s = float(dt) if isinstance(dt, int | float) and dt > 0 else None
    try:
        if dt_s is not None:
            model.check_dt(dt_s)
    except BiorateError as exc:
        raise DeployError(f"{head}: protocol: field 'dt_s': {exc}") from None
    return SpikingOrigin(model=model, sigma_v=sigma_v, dt_s=dt_s, name=name)


def check_deployable(net: RateNetwork, where: str | None = None) -> SpikingOrigin:
    """The spiking origin of a trained network whose parameters can all become synapses
    (``where`` names the activation in errors: :func:`spiking_origin`)."""
    if not isinstance(net, RateNetwork) or not hasattr(net, "params_"):
        raise DeployError("deploy needs a trained RateNetwork (load one with RateNetwork.load)")
    origin = spiking_origin(net.activation_, where)
    bad = [k for k, v in net.params_.items() if not np.all(np.isfinite(v))]
    if bad:
        raise DeployError(
            f"the network's parameters {', '.join(bad)} are not all finite (NaN or inf); "
            "such weights cannot become synapses"
        )
    return origin


def rate_states(
    net: RateNetwork, X: np.ndarray, steps: int | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations and activities of every population at the rate network's last step.

    The network's own dynamics (:func:`biorate.network.dynamics.settle`, via
    :meth:`RateNetwork.states`) in float64, so that hidden populations can be compared with
    spikes. Returns ``(z, h)``: lists over populations of arrays ``(n, size_p)`` (``z[0]`` is
    None, ``h[0]`` is ``X``); ``h[-1]`` equals ``net.forward(X)``. ``steps`` overrides the number
    of time steps of a graph with feedback (e.g. many steps to approach the fixed point that a
    spiking network settles to).
    """
    return net.states(X, steps=steps)


def activity_summands(net: RateNetwork) -> list[dict[int, np.ndarray]]:
    """Each population's activity as a sum over spiking populations: ``h_p = sum_q g_q A[p][q]``
    (:func:`biorate.network.dynamics.activity_summands`).

    Raises :class:`DeployError` when a skip adds to the output's activity, or when the linear
    output population (logits) would have to be read by another population.
    """
    graph = net.graph_
    A = dynamics.activity_summands(graph, net.params_)
    if graph.skip_in[graph.output]:
        # the class is read from the output neurons' spike counts, which follow their own input
        # current only: a skip added to the output's activity would be silently lost
        raise DeployError(
            "a skip projection adds to the output population's activity, which output spike "
            "counts cannot show; this graph cannot be deployed"
        )
    if graph.linear_output and any(p.source == graph.output for p in graph.projections):
        raise DeployError(
            "a projection reads the output population, whose rate-network activity is linear "
            "(the logits); spiking neurons cannot represent it, so this graph cannot be deployed"
        )
    return A


def effective_weights(net: RateNetwork) -> dict[tuple[int, int], np.ndarray]:
    """``{(q, d): E_qd}``: the matrix (size_q, size_d) from spiking population (or input) ``q`` to
    the input current of population ``d``: ``E_qd = sum over dense s -> d of A_qs W_sd``."""
    return dynamics.effective_weights(net.graph_, net.params_, activity_summands(net))


def synaptic_mapping(act: Any, net: RateNetwork) -> dict:
    """Physical synapses and bias currents of a network (see :mod:`biorate.deploy`).

    Returns ``{"charge": {(q, d): C per spike, shape (size_q, size_d)}, "bias": {d: A, shape
    (size_d,)}, "input": {d: A per unit of input x, shape (size_0, size_d)}}``: the bias is the
    constant current without the input's contribution; ``input[d]`` maps an input ``x`` to the
    current ``x @ input[d]`` (current encoding), i.e. a Poisson input at ``x*input_rate`` needs the
    charge ``input[d]/input_rate``.
    """
    E = effective_weights(net)
    xo, xs, ys, r0 = act.x_offset, act.x_scale, act.y_scale, act.r0
    graph = net.graph_
    charge, bias, inp = {}, {}, {}
    for d in range(1, len(graph.sizes)):
        b = net.params_[graph.bias[d]].astype(float)
        rest = np.zeros_like(b)
        for (q, dd), M in E.items():
            if dd != d:
                continue
            if q == 0:
                inp[d] = xs * M
            else:
                charge[(q, d)] = (xs / ys) * M  # coulombs per spike: mean current q*r
                rest += (r0 / ys) * M.sum(axis=0)  # g = (r - r0)/y_scale: the r0 part is constant
        bias[d] = xo + xs * (b - rest)
    return {"charge": charge, "bias": bias, "input": inp}
