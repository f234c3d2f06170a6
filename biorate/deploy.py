"""Run a trained rate network as a Brian2 spiking network, and measure what accuracy survives.

Each rate unit becomes a neuron (or ``neurons_per_unit`` neurons) of the model its activation was
fitted from, with that curve's noise ``sigma`` and time step; projections become current synapses
and biases constant currents, all mapped back to physical units through the activation's scales.
The approach follows Hunsberger & Eliasmith (2015, arXiv:1510.08829): train through the neuron's
measured rate curve, then run the same weights on spiking neurons.

The mapping (derivation)
------------------------
The activation says that a unit with pre-activation ``z`` stands for a neuron receiving the current
``I = x_offset + x_scale*z`` (amperes) and firing at ``r = r0 + y_scale*g(z)`` (hertz). So a
spiking neuron's normalised activity is ``g = (r - r0)/y_scale``. Unit ``k`` of population ``d``
has ``z_dk = b_dk + sum_s sum_j h_sj W_sd[j, k]``; with ``h_sj = (r_sj - r0)/y_scale`` for a
spiking population,

    I_dk = x_offset + x_scale*(b_dk - (r0/y_scale)*sum_j W[j, k])  +  (x_scale/y_scale)*sum_j W[j, k] r_sj
           `------------------- constant current (bias) ------------'   `---- mean synaptic current ---'

An exponential current synapse of time constant ``tau_syn`` whose every presynaptic spike adds the
charge ``q`` (``I_syn += q/tau_syn``) carries the mean current ``q * r``; hence each synapse gets
``q = (x_scale/y_scale)*W[j, k]`` coulombs (divided by ``neurons_per_unit`` when every unit is a
small population, all-to-all between the populations of two connected units).

Skip projections add a population's *activity* after the nonlinearity: ``h_p = g(z_p) + h_s P``
(``P`` the identity or a learned matrix). The spiking population ``p`` fires at the rate of
``g(z_p)`` only, so every activity is first written as a sum over the populations that do spike,
``h_p = sum_q g_q A_qp`` (``A_pp`` = identity, and recursively through the skips), and each dense
projection ``s -> d`` is routed from every summand ``q`` of ``h_s`` with the effective matrix
``E_qd = sum_s A_qs W_sd`` (conversion toolboxes lose accuracy exactly when they skip this step).

Inputs (population 0, pixel values ``x`` in [0, 1]) are encoded as

- ``"current"``: the exact constant current ``x_scale * x @ E_0d`` added to each unit's bias;
- ``"poisson"``: a Poisson train per pixel at ``x * input_rate`` with synaptic charge
  ``x_scale*E_0d/input_rate``, the same mean current delivered as spikes.

Feedback projections are ordinary synapses: the spiking network runs the continuous dynamics whose
fixed point the trained rate dynamics approximate. The output population is made of neurons of the
same model driven by ``x_offset + x_scale*z_out``; for the cross-entropy losses the rate network's
output is linear (the logits ``z_out``), and because a LIF rate grows monotonically with its input
current the neuron with the largest ``z_out`` fires most: the class is the argmax of the output
spike counts. **Ties**: among the units with the largest count, the one that fired first in the
window wins; if no output neuron fired at all the image is undecided (``-1``) and counts as wrong.

Many images in one run: each batch of images is one Brian2 network holding an independent copy of
the spiking network per image (block-diagonal synapses), run once for the longest presentation
time. Every shorter presentation time ``d`` is read from the same run by counting spikes in
``[0, d)``: a presentation of ``d`` seconds starting from rest. Hidden populations' rates are
measured over ``[transient, T)`` (``T`` the longest time) and compared with the rate network's
prediction ``r0 + y_scale*g(z)`` (Pearson correlation over units and images, RMSE in Hz).

Brian2 is imported only inside the functions that build and run networks.

``biorate.deploy`` is both this module and, when called, the function :func:`deploy`:
``br.deploy(net, X, y)`` and ``from biorate.deploy import deploy, plot_deploy`` both work, whatever
was imported first (a package attribute named like a submodule is replaced by the module as soon as
the submodule is imported, so the module itself is made callable).
"""

from __future__ import annotations

import gc
import importlib
import math
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BiorateError, DataError, NetworkError
from .units import CHARGE, CURRENT, FREQUENCY, TIME, VOLTAGE, to_si, to_si_array

__all__ = [
    "DeployError",
    "SpikingOrigin",
    "ENCODINGS",
    "DEFAULT_DURATIONS",
    "spiking_origin",
    "rate_states",
    "activity_summands",
    "effective_weights",
    "synaptic_mapping",
    "decide",
    "deploy",
    "plot_deploy",
]

ENCODINGS = ("current", "poisson")
DEFAULT_DURATIONS = ("50 ms", "100 ms", "200 ms", "500 ms")
SCHEMA = 1
_CURRENT_VAR_PREFIX = "biorate_"  # names added to the model's equations, kept out of its namespace
_FIXED_POINT_STEPS = 300  # rate-dynamics steps taken as "settled" for feedback graphs
_MAX_SCATTER = 4000  # rate-vs-spiking points kept per population for the figure


class DeployError(NetworkError):
    """A network cannot be deployed as a spiking network (no spiking origin, unsupported graph)."""


@dataclass(frozen=True)
class SpikingOrigin:
    """Where a fitted activation came from: the neuron model and the curve's protocol.

    ``model`` is the :class:`biorate.models.Model` with the curve's parameters, ``sigma_v`` the
    free-membrane noise standard deviation (volts), ``dt_s`` the curve's time step (seconds; None
    when the curve did not record one), ``name`` the activation's name.
    """

    model: Any
    sigma_v: float
    dt_s: float | None
    name: str


def spiking_origin(act: Any) -> SpikingOrigin:
    """The neuron model, noise and time step a fitted activation was measured with.

    Raises :class:`DeployError` with the reason when the activation has no spiking origin: a
    built-in (relu, sigmoid, ...), a fit without ``source``, a curve that is not an f-I curve
    against an injected current, or a model that cannot be found.
    """
    from .models import load_model

    name = getattr(act, "name", type(act).__name__)
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
    try:
        model = load_model(src["model"]["name"], kind="neuron")
        params = src["model"].get("params") or {}
        if params:
            model = model.with_params(**params)
    except BiorateError as exc:
        raise DeployError(
            f"activation {name!r}: its source model cannot be loaded: {exc}"
        ) from None
    drive = model.section("drive")
    if not drive.get("current"):
        raise DeployError(f"model {model.name!r} names no current variable in [drive]")
    sigma_v = float(protocol.get("sigma_V") or 0.0)
    if sigma_v < 0 or not math.isfinite(sigma_v):
        raise DeployError(f"activation {name!r}: bad sigma_V {protocol.get('sigma_V')!r}")
    if sigma_v > 0 and not drive.get("noise"):
        raise DeployError(f"model {model.name!r} names no noise variable in [drive]")
    dt = protocol.get("dt_s")
    dt_s = float(dt) if isinstance(dt, int | float) and dt > 0 else None
    return SpikingOrigin(model=model, sigma_v=sigma_v, dt_s=dt_s, name=name)


# ----------------------------------------------------------------------------- rate side
def _linear_output(net: Any) -> bool:
    from .losses import get_loss

    return bool(get_loss(net.loss).linear_output)


def _dynamics(net: Any) -> tuple[int, float]:
    feedback = any(p.feedback for p in net.projections)
    return (int(net.steps), float(net.alpha)) if feedback else (1, 1.0)


def rate_states(
    net: Any, X: np.ndarray, steps: int | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations and activities of every population at the rate network's last step.

    Re-runs the dynamics of :mod:`biorate.network` (module doc) from the public parameters, so that
    hidden populations can be compared with spikes. Returns ``(z, h)``: lists over populations of
    arrays ``(n, size_p)`` (``z[0]`` is None, ``h[0]`` is ``X``); ``h[-1]`` equals
    ``net.forward(X)``. ``steps`` overrides the number of time steps of a graph with feedback
    (e.g. many steps to approach the fixed point that a spiking network settles to).
    """
    params = net.params_
    L = len(net.sizes)
    T, a = _dynamics(net)
    if steps is not None and any(p.feedback for p in net.projections):
        T = int(steps)
    linear = _linear_output(net)
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    dense = [[] for _ in range(L)]
    skip = [[] for _ in range(L)]
    for p in net.projections:
        (dense if p.kind == "dense" else skip)[p.target].append((p.source, p.key(net.sizes)))
    h_prev = [X] + [np.zeros((n, s)) for s in net.sizes[1:]]
    z_t: list[Any] = [None] * L
    for _ in range(T):
        h: list[Any] = [X] + [None] * (L - 1)
        z_t = [None] * L
        for p in range(1, L):
            z = params[f"b{p}"].astype(float)
            for s, key in dense[p]:
                z = z + (h[s] if s < p else h_prev[s]) @ params[key]
            u = z if (p == L - 1 and linear) else np.asarray(net.activation_(z), dtype=float)
            for s, key in skip[p]:
                u = u + (h[s] if key is None else h[s] @ params[key])
            h[p] = u if a == 1.0 else (1 - a) * h_prev[p] + a * u
            z_t[p] = z
        h_prev = h
    return z_t, h_prev


def activity_summands(net: Any) -> list[dict[int, np.ndarray]]:
    """Each population's activity as a sum over spiking populations: ``h_p = sum_q g_q A[p][q]``.

    ``g_0`` is the input ``x``. Without skips ``A[p] = {p: I}``; a skip ``s -> p`` adds every
    summand of ``h_s`` (times ``P_sp`` or the identity). Raises :class:`DeployError` when the
    linear output population (logits) would have to be read by another population.
    """
    L, sizes, params = len(net.sizes), net.sizes, net.params_
    A: list[dict[int, np.ndarray]] = [{0: np.eye(sizes[0])}]
    for p in range(1, L):
        terms: dict[int, np.ndarray] = {p: np.eye(sizes[p])}
        for proj in net.projections:
            if proj.kind == "skip" and proj.target == p:
                key = proj.key(sizes)
                for q, M in A[proj.source].items():
                    add = M if key is None else M @ params[key]
                    terms[q] = terms[q] + add if q in terms else add
        A.append(terms)
    out = L - 1
    if any(proj.kind == "skip" and proj.target == out for proj in net.projections):
        # the class is read from the output neurons' spike counts, which follow their own input
        # current only: a skip added to the output's activity would be silently lost
        raise DeployError(
            "a skip projection adds to the output population's activity, which output spike "
            "counts cannot show; this graph cannot be deployed"
        )
    if _linear_output(net):
        if any(proj.source == out for proj in net.projections):
            raise DeployError(
                "a projection reads the output population, whose rate-network activity is linear "
                "(the logits); spiking neurons cannot represent it, so this graph cannot be deployed"
            )
    return A


def effective_weights(net: Any) -> dict[tuple[int, int], np.ndarray]:
    """``{(q, d): E_qd}``: the matrix (size_q, size_d) from spiking population (or input) ``q`` to
    the input current of population ``d``: ``E_qd = sum over dense s -> d of A_qs W_sd``."""
    A = activity_summands(net)
    E: dict[tuple[int, int], np.ndarray] = {}
    for proj in net.projections:
        if proj.kind != "dense":
            continue
        W = net.params_[proj.key(net.sizes)].astype(float)
        for q, M in A[proj.source].items():
            key = (q, proj.target)
            E[key] = E[key] + M @ W if key in E else M @ W
    return E


def synaptic_mapping(act: Any, net: Any) -> dict:
    """Physical synapses and bias currents of a network (see the module doc).

    Returns ``{"charge": {(q, d): C per spike, shape (size_q, size_d)}, "bias": {d: A, shape
    (size_d,)}, "input": {d: A per unit of input x, shape (size_0, size_d)}}``: the bias is the
    constant current without the input's contribution; ``input[d]`` maps an input ``x`` to the
    current ``x @ input[d]`` (current encoding), i.e. a Poisson input at ``x*input_rate`` needs the
    charge ``input[d]/input_rate``.
    """
    E = effective_weights(net)
    xo, xs, ys, r0 = act.x_offset, act.x_scale, act.y_scale, act.r0
    L = len(net.sizes)
    charge, bias, inp = {}, {}, {}
    for d in range(1, L):
        b = net.params_[f"b{d}"].astype(float)
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


# ----------------------------------------------------------------------------- decisions
def decide(counts: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Class per image from output spike counts ``(n, k)``; ties go to the earliest first spike
    (``first``, seconds, ``inf`` for none); an image with no output spike gets ``-1``."""
    counts = np.asarray(counts, dtype=float)
    top = counts.max(axis=1, keepdims=True)
    tied = counts == top
    t = np.where(tied, first, np.inf)
    pred = np.argmin(t, axis=1)  # earliest first spike among the tied units (argmin: lowest index)
    only = tied.sum(axis=1) == 1
    pred = np.where(only, np.argmax(counts, axis=1), pred)
    return np.where(top[:, 0] > 0, pred, -1)


# ----------------------------------------------------------------------------- Brian2
def _equations(model: Any) -> Any:
    """The model's equations with its injected-current parameter replaced by a bias current plus
    an exponentially decaying synaptic current."""
    from brian2 import Equations
    from brian2.equations.equations import PARAMETER

    neuron = model.section("neuron")
    cur = model.section("drive")["current"]
    try:
        eqs = Equations(neuron["equations"])
    except Exception as exc:
        raise DeployError(
            f"model {model.name!r}: Brian2 cannot parse its equations: {exc}"
        ) from None
    single = eqs.get(cur)
    if single is None or single.type != PARAMETER:
        raise DeployError(
            f"model {model.name!r}: the current variable {cur!r} must be a parameter "
            f"('{cur} : amp') for synapses to drive it"
        )
    kept = [eq for name, eq in eqs.items() if name != cur]
    extra = Equations(
        f"{cur} = biorate_I_bias + biorate_I_syn : amp\n"
        "dbiorate_I_syn/dt = -biorate_I_syn/biorate_tau_syn : amp\n"
        "biorate_I_bias : amp"
    )
    return Equations(kept) + extra


def _indices(n_img: int, n_pre: int, n_post: int, npu: int, pre_npu: int) -> tuple:
    """Pre/post neuron indices of all-to-all unit pairs in every image copy (block diagonal).

    Neuron index of (image k, unit u, copy c) in a population of U units: ``(k*U + u)*npu + c``.
    Returns ``(i, j)`` of shape (n_img, n_pre, pre_npu, n_post, npu) flattened.
    """
    k = np.arange(n_img)[:, None, None, None, None]
    u = np.arange(n_pre)[None, :, None, None, None]
    c = np.arange(pre_npu)[None, None, :, None, None]
    v = np.arange(n_post)[None, None, None, :, None]
    e = np.arange(npu)[None, None, None, None, :]
    shape = (n_img, n_pre, pre_npu, n_post, npu)
    i = np.broadcast_to((k * n_pre + u) * pre_npu + c, shape).ravel()
    j = np.broadcast_to((k * n_post + v) * npu + e, shape).ravel()
    return i.astype(np.int64), j.astype(np.int64)


def _run_batch(net: Any, origin: SpikingOrigin, mapping: dict, X: np.ndarray, *, t_max: float,
               dt_s: float, tau_syn: float, encoding: str, input_rate: float, npu: int,
               seed: int, progress: bool, label: str,
               on_ready: Callable[[], None] | None = None) -> dict:  # fmt: skip
    """Build and run one Brian2 network holding a copy of the spiking network per row of ``X``.

    Returns per population p >= 1 the spike indices and times, plus sizes for the performance
    figures. Object names are fixed so that the next batch reuses compiled code. ``on_ready`` is
    called once, at the first time step: after Brian2 has generated (and compiled) all code.
    """
    from brian2 import (
        Network,
        NetworkOperation,
        NeuronGroup,
        PoissonGroup,
        SpikeMonitor,
        Synapses,
        second,
    )
    from brian2 import seed as brian_seed
    from brian2.core.base import BrianObjectException
    from brian2.units.fundamentalunits import DimensionMismatchError

    from .spiking._common import namespace, quantity, run_network

    model = origin.model
    neuron = model.section("neuron")
    drive = model.section("drive")
    sizes, L = net.sizes, len(net.sizes)
    n = X.shape[0]
    ns = namespace(model)
    ns["biorate_tau_syn"] = tau_syn * second
    brian_seed(seed)
    objects: list = []
    groups: dict[int, Any] = {}
    monitors: dict[int, Any] = {}
    n_syn = 0
    try:
        eqs = _equations(model)
        for p in range(1, L):
            g = NeuronGroup(n * sizes[p] * npu, eqs, threshold=neuron.get("threshold"),
                            reset=neuron.get("reset"), refractory=neuron.get("refractory", False),
                            method=neuron.get("method", "euler"), namespace=ns,
                            dt=dt_s * second, name=f"biorate_deploy_pop{p}")  # fmt: skip
            for var, expr in dict(neuron.get("initial", {})).items():
                setattr(g, var, expr)
            if drive.get("noise"):
                setattr(g, drive["noise"], quantity(np.full(len(g), origin.sigma_v), VOLTAGE))
            bias = np.broadcast_to(mapping["bias"][p], (n, sizes[p])).copy()
            if encoding == "current" and p in mapping["input"]:
                bias += X @ mapping["input"][p]  # the exact mean current of the input pixels
            g.biorate_I_bias = quantity(np.repeat(bias.ravel(), npu), CURRENT)
            groups[p] = g
            monitors[p] = SpikeMonitor(g, record=True, name=f"biorate_deploy_spikes{p}")
            objects += [g, monitors[p]]
        sources: dict[int, tuple[Any, int]] = {q: (groups[q], npu) for q in groups}
        charges = dict(mapping["charge"])
        if encoding == "poisson" and mapping["input"]:
            rates = np.clip(X, 0.0, None).ravel() * input_rate
            pg = PoissonGroup(rates.size, rates=quantity(rates, FREQUENCY), dt=dt_s * second,
                              name="biorate_deploy_input")  # fmt: skip
            objects.append(pg)
            sources[0] = (pg, 1)
            for d, M in mapping["input"].items():
                charges[(0, d)] = M / input_rate
        for (q, d), Q in sorted(charges.items()):
            src, pre_npu = sources[q]
            syn = Synapses(src, groups[d], model="biorate_w : coulomb",
                           on_pre="biorate_I_syn_post += biorate_w/biorate_tau_syn",
                           namespace=ns, dt=dt_s * second,
                           name=f"biorate_deploy_syn{q}_{d}")  # fmt: skip
            i, j = _indices(n, sizes[q], sizes[d], npu, pre_npu)
            syn.connect(i=i, j=j)
            # a post neuron hears all pre_npu neurons of a presynaptic unit, each firing at the
            # unit's rate r: charge Q/pre_npu each gives the unit pair's mean current Q*r
            w = np.broadcast_to((Q / pre_npu)[None, :, None, :, None],
                                (n, sizes[q], pre_npu, sizes[d], npu)).ravel()  # fmt: skip
            syn.biorate_w = quantity(w, CHARGE)
            n_syn += i.size
            objects.append(syn)
        if on_ready is not None:  # one call at t = 0 on a clock of its own (no other effect)
            objects.append(NetworkOperation(lambda: on_ready(), dt=t_max * second, when="start",
                                            name="biorate_deploy_ready"))  # fmt: skip
        network = Network(*objects, name="biorate_deploy_network")
    except (BrianObjectException, DimensionMismatchError, SyntaxError, KeyError, ValueError,
            TypeError) as exc:  # fmt: skip
        raise DeployError(
            f"model {model.name!r}: Brian2 rejected the deployed network: "
            f"{' '.join(str(exc).split())[:300]}"
        ) from exc
    t0 = time.perf_counter()
    run_network(network, t_max, label=label, progress=progress)
    run_s = time.perf_counter() - t0
    out = {
        "spikes": {p: (np.asarray(m.i[:], np.int64), np.asarray(m.t_[:], float))
                   for p, m in monitors.items()},
        "neurons": int(sum(len(g) for g in groups.values())),
        "synapses": int(n_syn),
        "run_s": run_s,
    }  # fmt: skip
    return out


# ----------------------------------------------------------------------------- the entry point
def _durations(durations: Any) -> list[float]:
    if isinstance(durations, list | tuple) and not all(isinstance(d, str) for d in durations):
        values = [to_si(d, TIME, "duration") for d in durations]  # e.g. [50*ms, "0.1 s"]
    else:  # a string ("50 ms", "50ms,100ms"), a Brian2 quantity or an array of them
        values = list(to_si_array(durations, TIME, "duration"))
    out = sorted(set(values))
    if not out or out[0] <= 0:
        raise DeployError(f"presentation times must be positive, got {list(durations)}")
    return out


def _compile_note() -> Callable[[], None]:
    """Say on stderr that Brian2 is compiling (a cold Cython cache sits at 0 % for up to a minute)
    and return the callback that, at the first time step, says how long it took."""
    try:
        from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

        cache = str(get_cython_cache_dir()).replace(str(Path.home()), "~", 1)
    except Exception:  # a Brian2 without that helper: name the default
        cache = "~/.cython"
    print(f"deploy: compiling Brian2 code (Cython; 20-70 s when it is not cached yet in {cache}, "
          "then seconds)...", file=sys.stderr, flush=True)  # fmt: skip
    t0 = time.perf_counter()

    def ready() -> None:
        from tqdm.auto import tqdm

        tqdm.write(f"deploy: Brian2 code ready after {time.perf_counter() - t0:.1f} s; simulating",
                   file=sys.stderr)  # fmt: skip

    return ready


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = np.ravel(a), np.ravel(b)
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


# Brian2's memory per synapse (indices, weight, delay and bookkeeping arrays), generous
_BYTES_PER_SYNAPSE = 100


def _check_batch_memory(sizes: list[int], images: int, npu: int) -> None:
    """Refuse, before anything is built, a batch whose neurons and synapses cannot fit in the
    memory available (each image is a copy of the network: sum(sizes) * npu neurons and
    npu^2 synapses per weight)."""
    from .io import check_memory
    from .spiking._common import BYTES_PER_NEURON

    neurons = images * sum(sizes) * npu
    synapses = images * sum(a * b for a, b in zip(sizes, sizes[1:], strict=False)) * npu**2
    check_memory(neurons * BYTES_PER_NEURON + synapses * _BYTES_PER_SYNAPSE,
                 f"a batch of {images} images x {npu} neurons per unit is {neurons:,} neurons "
                 f"and about {synapses:,} synapses, which",
                 "lower batch_size or neurons_per_unit", DeployError)  # fmt: skip


def deploy(net: Any, X: Any, y: Any = None, *, durations: Any = DEFAULT_DURATIONS,
           encoding: str = "current", neurons_per_unit: int = 1, tau_syn: Any = "5 ms",
           input_rate: Any = "200 Hz", transient: Any = None, dt: Any = None,
           batch_size: int = 400, seed: int | None = 0, target: str = "auto",
           progress: bool = True, command: str | None = None, dataset: str | None = None,
           network_file: Any = None, train: tuple[Any, Any] | None = None) -> dict:  # fmt: skip
    """Run a trained :class:`~biorate.network.RateNetwork` as a Brian2 spiking network on ``X``.

    Parameters
    ----------
    net : a trained RateNetwork whose activation was fitted to an f-I curve (``RateNetwork.load``).
    X : inputs, shape (n_images, sizes[0]), unit free (pixel values in [0, 1]).
    y : labels (n_images,) or None (then no accuracies, only rates and agreement).
    durations : presentation times (``"50 ms"``, ``0.2*second``, ...), all read from one run.
    encoding : ``"current"`` (exact constant input currents) or ``"poisson"`` (spike trains).
    neurons_per_unit : neurons standing for one rate unit (their counts are pooled).
    tau_syn : time constant of the exponential current synapses.
    input_rate : Poisson rate of a pixel of value 1 (``encoding="poisson"``).
    transient : start of the window in which hidden rates are measured (after the settling);
        None: 50 ms, or half the longest duration when that is shorter.
    dt : time step; None takes the step of the activation's curve (else 0.1 ms).
    batch_size : images per Brian2 network (each image is an independent copy of the network).
    seed : random seed (noise, Poisson inputs); batch b uses ``seed + b``.
    target : Brian2 code generation, ``"auto"``, ``"cython"`` or ``"numpy"``.
    progress : progress bars and a note while Brian2 compiles (stderr).
    command : the command line recorded in the provenance.
    dataset, network_file : names recorded in the report (where ``X``, ``y`` and ``net`` came from).
    train : ``(X_train, y_train)``: the rate network's accuracy on them is reported as
        ``rate_train_accuracy`` (the spiking network is run on ``X`` only).

    Returns
    -------
    The report dict, the same keys that ``biorate deploy --report`` writes: ``durations_s``,
    ``spiking_accuracy`` (per duration), ``test_accuracy`` (the spiking accuracy at the longest
    duration), ``train_accuracy`` (None: the spiking network sees only ``X``), ``rate_accuracy``
    (= ``rate_test_accuracy``), ``rate_train_accuracy``, ``epochs`` and ``history`` (the rate
    network's training), ``agreement`` (fraction of images where spiking and rate predictions
    agree), ``undecided``, ``populations`` (per spiking population: correlation and RMSE of spiking
    vs predicted rates), ``mapping`` (the physical parameters used), ``performance``,
    ``provenance`` and ``samples`` (one presentation's spikes and rate-vs-spiking points, for
    :func:`plot_deploy`). Accuracies are None when ``y`` (or ``train``) is not given.
    """
    from .io import provenance
    from .spiking._common import codegen_target, resolve_seed

    t_start = time.perf_counter()
    if not hasattr(net, "params_") or not hasattr(net, "projections"):
        raise DeployError("deploy needs a trained RateNetwork (load one with RateNetwork.load)")
    act = net.activation_
    origin = spiking_origin(act)
    bad = [k for k, v in net.params_.items() if not np.all(np.isfinite(v))]
    if bad:
        raise DeployError(
            f"the network's parameters {', '.join(bad)} are not all finite (NaN or inf); "
            "such weights cannot become synapses"
        )
    if encoding not in ENCODINGS:
        raise DeployError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    if isinstance(neurons_per_unit, bool) or not isinstance(neurons_per_unit, int | np.integer) \
            or neurons_per_unit < 1:  # fmt: skip
        raise DeployError(f"neurons_per_unit must be an integer >= 1, got {neurons_per_unit!r}")
    npu = int(neurons_per_unit)
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise DeployError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    ds = _durations(durations)
    t_max = ds[-1]
    tau_syn_s = to_si(tau_syn, TIME, "tau_syn")
    input_rate_hz = to_si(input_rate, FREQUENCY, "input_rate")
    transient_s = min(0.05, t_max / 2) if transient is None else to_si(transient, TIME, "transient")
    dt_s = to_si(dt, TIME, "dt") if dt is not None else (origin.dt_s or 1e-4)
    if tau_syn_s <= 0 or input_rate_hz <= 0 or dt_s <= 0:
        raise DeployError("tau_syn, input_rate and dt must be positive")
    origin.model.check_dt(dt_s)  # the neurons keep their refractory period (as in measure_fi)
    if not 0 <= transient_s < t_max:
        raise DeployError(
            f"transient ({transient_s} s) must lie in [0, longest duration {t_max} s)"
        )
    X = net._check_X(X) if hasattr(net, "_check_X") else np.asarray(X, float)
    X = np.asarray(X, dtype=float)
    _check_batch_memory(net.sizes, min(int(batch_size), X.shape[0]), npu)
    if y is not None:
        y = net._check_y(y, X.shape[0]) if hasattr(net, "_check_y") else np.asarray(y)
    if encoding == "poisson" and np.any(X < 0):
        raise DataError("Poisson encoding needs non-negative inputs (rates); X has negative values")
    rate_train = None
    if train is not None:
        if not isinstance(train, tuple | list) or len(train) != 2:
            raise DataError("train must be a pair (X_train, y_train)")
        rate_train = float(net.evaluate(*train)["accuracy"])
    hist = net.history_.to_dict() if getattr(net, "history_", None) is not None else None
    seed_used = resolve_seed(seed)
    mapping = synaptic_mapping(act, net)
    sizes, L = net.sizes, len(net.sizes)
    n = X.shape[0]
    z, _ = rate_states(net, X)
    rate_pred = net.predict(X)

    counts = {d: np.zeros((n, sizes[-1])) for d in ds}
    first = {d: np.full((n, sizes[-1]), np.inf) for d in ds}
    hidden_rates = {p: np.zeros((n, sizes[p])) for p in range(1, L)}
    raster: dict[str, dict[str, list]] = {}
    neurons = synapses = 0
    run_s = 0.0
    with codegen_target(target) as chosen:
        for b, start in enumerate(range(0, n, int(batch_size))):
            Xb = X[start : start + int(batch_size)]
            nb = Xb.shape[0]
            note = _compile_note() if progress and b == 0 and chosen == "cython" else None
            res = _run_batch(net, origin, mapping, Xb, t_max=t_max, dt_s=dt_s,
                             tau_syn=tau_syn_s, encoding=encoding, input_rate=input_rate_hz,
                             npu=npu, seed=(seed_used + b) % 2**32, progress=progress,
                             label=f"deploy {start + nb}/{n}", on_ready=note)  # fmt: skip
            neurons, synapses, run_s = max(neurons, res["neurons"]), synapses + res["synapses"], \
                run_s + res["run_s"]  # fmt: skip
            for p, (i, t) in res["spikes"].items():
                unit = i // npu  # (image, unit) flat index within the batch
                img, u = unit // sizes[p], unit % sizes[p]
                keep = t >= transient_s
                np.add.at(hidden_rates[p], (start + img[keep], u[keep]), 1.0)
                if p == L - 1:
                    for d in ds:
                        w = t < d
                        np.add.at(counts[d], (start + img[w], u[w]), 1.0)
                        np.minimum.at(first[d], (start + img[w], u[w]), t[w])
                if start == 0:
                    raster[net.population_names[p]] = {
                        "i": i[img == 0].tolist(),
                        "t_s": t[img == 0].round(6).tolist(),
                    }
            del res
            gc.collect()  # drop the batch's Brian2 objects so the next one can reuse the names
    window = t_max - transient_s
    for p in hidden_rates:
        hidden_rates[p] /= window * npu

    preds = {d: decide(counts[d], first[d]) for d in ds}
    rate_acc = float(np.mean(rate_pred == y)) if y is not None else None
    fixed_point = None
    if any(p.feedback for p in net.projections):
        # a spiking network settles towards the fixed point of the rate dynamics, which the
        # trained network (T steps from rest) need not reach: report that network's accuracy too
        with np.errstate(over="ignore", invalid="ignore"):  # unbounded g may diverge
            _, h_long = rate_states(net, X, steps=_FIXED_POINT_STEPS)
            _, h_more = rate_states(net, X, steps=_FIXED_POINT_STEPS + 1)
            change = max(float(np.max(np.abs(a - b))) for a, b in
                         zip(h_long[1:], h_more[1:], strict=True))  # fmt: skip
        fp_pred = np.argmax(np.nan_to_num(h_long[-1], nan=-np.inf), axis=1)
        fixed_point = {
            "steps": _FIXED_POINT_STEPS,
            "accuracy": float(np.mean(fp_pred == y)) if y is not None else None,
            "agreement_with_trained": float(np.mean(fp_pred == rate_pred)),
            "max_step_change": change if math.isfinite(change) else None,
            "converged": bool(math.isfinite(change) and change < 1e-6),
        }  # fmt: skip
    lo, hi = ((act.fit or {}).get("z_range") or [None, None])[:2]
    pops, scatter = [], {}
    rng = np.random.default_rng(0)
    for p in range(1, L):
        pred_hz = act.to_rate(act(z[p]))
        name = net.population_names[p]
        outside = None
        if lo is not None and hi is not None:
            outside = float(np.mean((z[p] < lo) | (z[p] > hi)))
        pops.append({
            "name": name, "size": sizes[p], "neurons_per_image": sizes[p] * npu,
            "correlation": _pearson(pred_hz, hidden_rates[p]),
            "rmse_hz": float(np.sqrt(np.mean((pred_hz - hidden_rates[p]) ** 2))),
            "mean_rate_spiking_hz": float(hidden_rates[p].mean()),
            "mean_rate_predicted_hz": float(pred_hz.mean()),
            "fraction_outside_fit": outside,
            "output": p == L - 1,
        })  # fmt: skip
        flat = np.arange(pred_hz.size)
        if flat.size > _MAX_SCATTER:
            flat = np.sort(rng.choice(flat, _MAX_SCATTER, replace=False))
        scatter[name] = {"predicted_hz": pred_hz.ravel()[flat].round(4).tolist(),
                         "spiking_hz": hidden_rates[p].ravel()[flat].round(4).tolist()}  # fmt: skip
    steps = int(round(t_max / dt_s))
    wall = time.perf_counter() - t_start
    spiking_acc = [float(np.mean(preds[d] == y)) if y is not None else None for d in ds]
    rep = {
        "kind": "deploy_report", "schema": SCHEMA,
        "dataset": dataset, "network_file": None if network_file is None else str(network_file),
        "n_images": n, "n_test": n,
        "durations_s": ds,
        "spiking_accuracy": spiking_acc,
        # the report keys every train/evaluate/deploy report has (DESIGN.md): the spiking network
        # is presented the test images only, so its train accuracy stays None
        "test_accuracy": spiking_acc[-1], "train_accuracy": None,
        "rate_accuracy": rate_acc, "rate_test_accuracy": rate_acc,
        "rate_train_accuracy": rate_train,
        "epochs": hist.get("epochs") if hist else None, "history": hist,
        "rate_fixed_point": fixed_point,
        "agreement": [float(np.mean(preds[d] == rate_pred)) for d in ds],
        "undecided": [float(np.mean(preds[d] < 0)) for d in ds],
        "tie_rule": "argmax of output spike counts; ties to the earliest first spike; "
                    "no output spike = undecided (-1, wrong)",
        "populations": pops,
        "connectivity": net.connectivity if isinstance(net.connectivity, str) else "custom",
        "sizes": list(sizes),
        "projections": [{"source": p.source, "target": p.target, "kind": p.kind}
                        for p in net.projections],
        "mapping": {
            "activation": act.name, "form": act.form,
            "model": origin.model.describe(), "sigma_V": origin.sigma_v, "dt_s": dt_s,
            "tau_syn_s": tau_syn_s, "encoding": encoding,
            "input_rate_Hz": input_rate_hz if encoding == "poisson" else None,
            "neurons_per_unit": npu, "transient_s": transient_s,
            "x_offset_A": act.x_offset, "x_scale_A": act.x_scale, "y_scale_Hz": act.y_scale,
            "r0_Hz": act.r0, "rate_steps": _dynamics(net)[0],
        },
        "performance": {
            "wall_s": wall, "run_s": run_s, "neurons": neurons, "synapses": synapses,
            "steps": steps, "batches": math.ceil(n / int(batch_size)),
            "neuron_steps_per_s": (n * sum(sizes[1:]) * npu * steps) / run_s if run_s else None,
            "codegen_target": chosen, "seed": seed_used,
        },
        "samples": {"raster_image": 0, "raster_label": int(y[0]) if y is not None else None,
                    "raster": raster, "scatter": scatter},
        "provenance": provenance(command),
    }  # fmt: skip
    return rep


# ----------------------------------------------------------------------------- figure
def plot_deploy(report: dict, path: Any, title: str = "") -> Any:
    """Three panels: accuracy against presentation time (spiking, with the rate network's as a
    line), a raster of one presentation (all spiking populations stacked), and spiking against
    predicted rates of every population."""
    from .plotting._figure import axes_grid, save_figure

    fig, grid = axes_grid(1, 3, figsize=(13, 3.8))
    ax = grid[0]
    ds = np.asarray(report["durations_s"]) * 1e3
    n = max(int(report.get("n_images") or 1), 1)
    if report.get("rate_accuracy") is not None:
        acc, label, ref = np.asarray(report["spiking_accuracy"], float), "accuracy", "spiking"
        ax[0].axhline(report["rate_accuracy"], color="k", ls="--", label="rate network")
    else:
        acc, label, ref = (
            np.asarray(report["agreement"], float),
            "agreement",
            "agreement with rate network",
        )
    # binomial standard errors over the n images, and an axis at least 0.1 tall, so that one
    # image (1/n) does not look like a cliff
    se = np.sqrt(acc * (1 - acc) / n)
    ax[0].errorbar(ds, acc, yerr=se, fmt="o-", capsize=3, label=f"{ref} (± 1 s.e., n = {n})")
    ax[0].set_ylabel(label)
    vals = np.concatenate([acc - se, acc + se, [report.get("rate_accuracy") or acc.mean()]])
    mid, half = 0.5 * (vals.min() + vals.max()), max(0.05, 0.55 * (vals.max() - vals.min()))
    top = min(1.0 + 0.01, mid + half)
    ax[0].set_ylim(max(0.0, top - 2 * half), top)
    ax[0].set_xscale("log")
    ax[0].set_xticks(ds, [f"{d:g}" for d in ds])
    ax[0].minorticks_off()
    ax[0].set_xlabel("presentation time (ms)")
    ax[0].legend(fontsize=8)
    samples = report.get("samples") or {}
    offset = 0
    for pop in report["populations"]:
        r = (samples.get("raster") or {}).get(pop["name"], {"i": [], "t_s": []})
        ax[1].plot(np.asarray(r["t_s"]) * 1e3, np.asarray(r["i"]) + offset, "|", ms=2,
                   label=pop["name"])  # fmt: skip
        offset += pop["neurons_per_image"]
        ax[1].axhline(offset - 0.5, color="0.8", lw=0.5)
    ax[1].set_xlabel("time (ms)")
    ax[1].set_ylabel("neuron (populations stacked)")
    ax[1].set_title(f"one presentation (label {samples.get('raster_label')})", fontsize=9)
    top = 0.0
    for pop in report["populations"]:
        s = (samples.get("scatter") or {}).get(pop["name"])
        if not s:
            continue
        corr = pop["correlation"]
        lab = f"{pop['name']} (r = {corr:.3f})" if corr is not None else pop["name"]
        ax[2].plot(s["predicted_hz"], s["spiking_hz"], ".", ms=2, alpha=0.4, label=lab)
        top = max(top, max(s["predicted_hz"] + s["spiking_hz"] + [0.0]))
    ax[2].plot([0, top], [0, top], "k--", lw=0.8)
    ax[2].set_xlabel("rate network prediction (Hz)")
    ax[2].set_ylabel("spiking rate (Hz)")
    ax[2].legend(fontsize=7, markerscale=4)
    fig.suptitle(title or f"{report['connectivity']} network, {report['mapping']['activation']}, "
                 f"{report['mapping']['encoding']} encoding")  # fmt: skip
    fig.tight_layout()
    return save_figure(fig, path)


# ----------------------------------------------------------------------------- br.deploy(...)
class _CallableModule(types.ModuleType):
    """This module's type: calling the module calls :func:`deploy` (see the module doc)."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        return deploy(*args, **kwargs)

    def __reduce__(self) -> tuple:  # pickle, copy and Dask: the module by its name, as a function
        return importlib.import_module, (self.__name__,)

    @property
    def __signature__(self) -> Any:  # inspect.signature(br.deploy), help() and IDEs
        import inspect

        return inspect.signature(deploy)


sys.modules[__name__].__class__ = _CallableModule
