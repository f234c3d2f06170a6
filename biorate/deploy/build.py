"""The spiking network on Brian2: the neuron equations with synaptic and bias currents, one group
per population, one ``Synapses`` per routed projection, and running a batch of images.

One step per function (as a converter's target does): :func:`equations` (the model's equations
with the currents added), :func:`add_populations`, :func:`add_input`, :func:`connect`, then
:func:`run_batch` runs them for one batch. Brian2 is imported inside these functions only, so that
``import biorate.deploy`` stays light.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..io import check_memory
from ..models import Model
from ..spiking.protocol import BYTES_PER_NEURON
from ..units import CHARGE, CURRENT, FREQUENCY, VOLTAGE
from .mapping import DeployError, SpikingOrigin

__all__ = ["equations", "add_populations", "add_input", "connect", "run_batch",
           "check_batch_memory", "compile_note"]  # fmt: skip

# Brian2's memory per synapse (indices, weight, delay and bookkeeping arrays), generous
_BYTES_PER_SYNAPSE = 100


def equations(model: Model) -> Any:
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


def add_populations(origin: SpikingOrigin, mapping: dict, sizes: list[int], X: np.ndarray,
                    ns: dict, *, dt_s: float, encoding: str, npu: int) -> tuple[dict, dict]:  # fmt: skip
    """One NeuronGroup per population p >= 1 (``npu`` neurons per unit, a copy per row of ``X``)
    with its noise and bias current, and a SpikeMonitor on it: ``(groups, monitors)``."""
    from brian2 import NeuronGroup, SpikeMonitor, second

    from ..spiking.brian import quantity

    model = origin.model
    neuron, drive = model.section("neuron"), model.section("drive")
    n = X.shape[0]
    eqs = equations(model)
    groups: dict[int, Any] = {}
    monitors: dict[int, Any] = {}
    for p in range(1, len(sizes)):
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
    return groups, monitors


def add_input(X: np.ndarray, input_rate: float, dt_s: float) -> Any:
    """The Poisson input: one train per pixel at ``x * input_rate``."""
    from brian2 import PoissonGroup, second

    from ..spiking.brian import quantity

    rates = np.clip(X, 0.0, None).ravel() * input_rate
    return PoissonGroup(rates.size, rates=quantity(rates, FREQUENCY), dt=dt_s * second,
                        name="biorate_deploy_input")  # fmt: skip


def connect(src: Any, pre_npu: int, post: Any, Q: np.ndarray, n_img: int, npu: int, ns: dict,
            dt_s: float, name: str) -> Any:  # fmt: skip
    """Synapses from every neuron of a presynaptic unit to every neuron of a postsynaptic one, in
    every image copy, each adding ``Q/pre_npu`` coulombs (``Q``: (n_pre, n_post) charges)."""
    from brian2 import Synapses, second

    from ..spiking.brian import quantity

    n_pre, n_post = Q.shape
    syn = Synapses(src, post, model="biorate_w : coulomb",
                   on_pre="biorate_I_syn_post += biorate_w/biorate_tau_syn",
                   namespace=ns, dt=dt_s * second, name=name)  # fmt: skip
    i, j = _indices(n_img, n_pre, n_post, npu, pre_npu)
    syn.connect(i=i, j=j)
    # a post neuron hears all pre_npu neurons of a presynaptic unit, each firing at the unit's
    # rate r: charge Q/pre_npu each gives the unit pair's mean current Q*r
    w = np.broadcast_to((Q / pre_npu)[None, :, None, :, None],
                        (n_img, n_pre, pre_npu, n_post, npu)).ravel()  # fmt: skip
    syn.biorate_w = quantity(w, CHARGE)
    return syn


def _network(origin: SpikingOrigin, mapping: dict, sizes: list[int], X: np.ndarray, ns: dict, *,
             t_max: float, dt_s: float, encoding: str, input_rate: float, npu: int,
             on_ready: Callable[[], None] | None) -> tuple[Any, dict, dict, int]:  # fmt: skip
    """The Brian2 Network of one batch: ``(network, groups, monitors, number of synapses)``."""
    from brian2 import Network, NetworkOperation, second

    groups, monitors = add_populations(origin, mapping, sizes, X, ns, dt_s=dt_s,
                                       encoding=encoding, npu=npu)  # fmt: skip
    objects: list = [o for p in groups for o in (groups[p], monitors[p])]
    sources: dict[int, tuple[Any, int]] = {q: (groups[q], npu) for q in groups}
    charges = dict(mapping["charge"])
    if encoding == "poisson" and mapping["input"]:
        pg = add_input(X, input_rate, dt_s)
        objects.append(pg)
        sources[0] = (pg, 1)
        for d, M in mapping["input"].items():
            charges[(0, d)] = M / input_rate
    n_syn = 0
    for (q, d), Q in sorted(charges.items()):
        src, pre_npu = sources[q]
        syn = connect(src, pre_npu, groups[d], Q, X.shape[0], npu, ns, dt_s,
                      f"biorate_deploy_syn{q}_{d}")  # fmt: skip
        n_syn += X.shape[0] * Q.size * pre_npu * npu  # all-to-all unit pairs, every image
        objects.append(syn)
    if on_ready is not None:  # one call at t = 0 on a clock of its own (no other effect)
        objects.append(NetworkOperation(lambda: on_ready(), dt=t_max * second, when="start",
                                        name="biorate_deploy_ready"))  # fmt: skip
    return Network(*objects, name="biorate_deploy_network"), groups, monitors, n_syn


def run_batch(origin: SpikingOrigin, mapping: dict, sizes: list[int], X: np.ndarray, *,
              t_max: float, dt_s: float, tau_syn: float, encoding: str, input_rate: float,
              npu: int, seed: int, progress: bool, label: str,
              on_ready: Callable[[], None] | None = None) -> dict:  # fmt: skip
    """Build and run one Brian2 network holding a copy of the spiking network per row of ``X``.

    Returns per population p >= 1 the spike indices and times, plus sizes for the performance
    figures. Object names are fixed so that the next batch reuses compiled code. ``on_ready`` is
    called once, at the first time step: after Brian2 has generated (and compiled) all code.
    """
    from brian2 import second
    from brian2 import seed as brian_seed

    from ..spiking import brian

    ns = brian.namespace(origin.model)
    ns["biorate_tau_syn"] = tau_syn * second
    brian_seed(seed)
    with brian.rejected(f"model {origin.model.name!r}", DeployError, what="the deployed network"):
        network, groups, monitors, n_syn = _network(
            origin, mapping, sizes, X, ns, t_max=t_max, dt_s=dt_s, encoding=encoding,
            input_rate=input_rate, npu=npu, on_ready=on_ready,
        )  # fmt: skip
    t0 = time.perf_counter()
    brian.run_network(network, t_max, label=label, progress=progress)
    run_s = time.perf_counter() - t0
    return {
        "spikes": {p: (np.asarray(m.i[:], np.int64), np.asarray(m.t_[:], float))
                   for p, m in monitors.items()},
        "neurons": int(sum(len(g) for g in groups.values())),
        "synapses": int(n_syn),
        "run_s": run_s,
    }  # fmt: skip


def check_batch_memory(sizes: list[int], images: int, npu: int, unit_pairs: int) -> None:
    """Refuse, before anything is built, a batch whose neurons and synapses cannot fit in the
    memory available (each image is a copy of the network: sum(sizes) * npu neurons and
    npu^2 synapses per pair of connected units; ``unit_pairs`` counts the pairs the build
    connects, every routed projection: skips and a volume connect every earlier population to
    every later one, 4.6x and 9x a chain's pairs at 10 layers)."""
    neurons = images * sum(sizes) * npu
    synapses = images * unit_pairs * npu**2
    check_memory(neurons * BYTES_PER_NEURON + synapses * _BYTES_PER_SYNAPSE,
                 f"a batch of {images} images x {npu} neurons per unit is {neurons:,} neurons "
                 f"and about {synapses:,} synapses, which",
                 "lower batch_size or neurons_per_unit", DeployError)  # fmt: skip


def compile_note() -> Callable[[], None]:
    """Say on stderr that Brian2 is compiling (a cold Cython cache sits at 0 % for up to a minute)
    and return the callback that, at the first time step, says how long it took."""
    from tqdm.auto import tqdm  # with progress only: tqdm.auto costs ~70 ms to import

    try:
        from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

        cache = str(get_cython_cache_dir()).replace(str(Path.home()), "~", 1)
    except Exception:  # a Brian2 without that helper: name the default
        cache = "~/.cython"
    print(f"deploy: compiling Brian2 code (Cython; 20-70 s when it is not cached yet in {cache}, "
          "then seconds)...", file=sys.stderr, flush=True)  # fmt: skip
    t0 = time.perf_counter()

    def ready() -> None:
        tqdm.write(f"deploy: Brian2 code ready after {time.perf_counter() - t0:.1f} s; simulating",
                   file=sys.stderr)  # fmt: skip

    return ready
