"""The deployment report: accuracies per presentation time, agreement with the rate network, the
rate dynamics' fixed point (graphs with feedback), spiking against predicted rates per population,
the mapping used, performance and provenance (``biorate deploy --report`` writes it as is)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..io import provenance
from ..network import NAMED, RateNetwork
from .mapping import SpikingOrigin, rate_states
from .readout import Readout
from .settings import Settings

__all__ = ["SCHEMA", "Simulation", "fixed_point", "population_stats", "deploy_report"]

SCHEMA = 1
_FIXED_POINT_STEPS = 300  # rate-dynamics steps taken as "settled" for feedback graphs
_MAX_SCATTER = 4000  # rate-vs-spiking points kept per population for the figure
_TIE_RULE = ("argmax of output spike counts; ties to the earliest first spike; "
             "no output spike = undecided (-1, wrong)")  # fmt: skip


@dataclass
class Simulation:
    """What the Brian2 runs gave: the binned spikes and the sizes and times of the runs."""

    readout: Readout
    neurons: int
    synapses: int
    run_s: float
    codegen_target: str
    seed: int


def fixed_point(net: RateNetwork, X: np.ndarray, y: np.ndarray | None,
                rate_pred: np.ndarray) -> dict | None:  # fmt: skip
    """A spiking network settles towards the fixed point of the rate dynamics, which the trained
    network (T steps from rest) need not reach: that network's accuracy, its agreement with the
    trained one, and whether it settled (None for an acyclic graph, whose sweep is its fixed
    point)."""
    if not net.has_feedback:
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # unbounded g may diverge
        _, h_long = rate_states(net, X, steps=_FIXED_POINT_STEPS)
        _, h_more = rate_states(net, X, steps=_FIXED_POINT_STEPS + 1)
        change = max(float(np.max(np.abs(a - b))) for a, b in
                     zip(h_long[1:], h_more[1:], strict=True))  # fmt: skip
    fp_pred = np.argmax(np.nan_to_num(h_long[-1], nan=-np.inf), axis=1)
    return {
        "steps": _FIXED_POINT_STEPS,
        "accuracy": float(np.mean(fp_pred == y)) if y is not None else None,
        "agreement_with_trained": float(np.mean(fp_pred == rate_pred)),
        "max_step_change": change if math.isfinite(change) else None,
        "converged": bool(math.isfinite(change) and change < 1e-6),
    }


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = np.ravel(a), np.ravel(b)
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def population_stats(net: RateNetwork, z: list, rates: dict[int, np.ndarray],
                     npu: int) -> tuple[list[dict], dict]:  # fmt: skip
    """Per spiking population: spiking rates against the rate network's prediction
    ``r0 + y_scale*g(z)`` (correlation, RMSE, means, the fraction of ``z`` outside the fitted
    range), and up to 4000 of those points per population for the figure."""
    act, sizes, L = net.activation_, net.sizes, len(net.sizes)
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
            "correlation": _pearson(pred_hz, rates[p]),
            "rmse_hz": float(np.sqrt(np.mean((pred_hz - rates[p]) ** 2))),
            "mean_rate_spiking_hz": float(rates[p].mean()),
            "mean_rate_predicted_hz": float(pred_hz.mean()),
            "fraction_outside_fit": outside,
            "output": p == L - 1,
        })  # fmt: skip
        flat = np.arange(pred_hz.size)
        if flat.size > _MAX_SCATTER:
            flat = np.sort(rng.choice(flat, _MAX_SCATTER, replace=False))
        scatter[name] = {"predicted_hz": pred_hz.ravel()[flat].round(4).tolist(),
                         "spiking_hz": rates[p].ravel()[flat].round(4).tolist()}  # fmt: skip
    return pops, scatter


def _mapping(net: RateNetwork, origin: SpikingOrigin, s: Settings) -> dict:
    """The physical parameters the deployment used; ``rate_steps`` is None for a network run at
    its fixed point (``rate_training`` ``"fixed_point"``)."""
    act = net.activation_
    fixed_point = net.has_feedback and net.training == "fixed_point"
    return {
        "activation": act.name, "form": act.form,
        "model": origin.model.describe(), "sigma_V": origin.sigma_v, "dt_s": s.dt_s,
        "method": s.method,
        "tau_syn_s": s.tau_syn_s, "encoding": s.encoding,
        "input_rate_Hz": s.input_rate_hz if s.encoding == "poisson" else None,
        "neurons_per_unit": s.npu, "transient_s": s.transient_s,
        "x_offset_A": act.x_offset, "x_scale_A": act.x_scale, "y_scale_Hz": act.y_scale,
        "r0_Hz": act.r0, "rate_steps": None if fixed_point else net.time_steps[0],
        "rate_training": net.training if net.has_feedback else None,
    }  # fmt: skip


def _performance(net: RateNetwork, s: Settings, sim: Simulation, n: int, wall: float) -> dict:
    steps = int(round(s.t_max / s.dt_s))
    return {
        "wall_s": wall, "run_s": sim.run_s, "neurons": sim.neurons, "synapses": sim.synapses,
        "steps": steps, "batches": math.ceil(n / s.batch_size),
        "neuron_steps_per_s": (n * sum(net.sizes[1:]) * s.npu * steps) / sim.run_s
        if sim.run_s else None,
        "codegen_target": sim.codegen_target, "seed": sim.seed,
    }  # fmt: skip


def deploy_report(net: RateNetwork, origin: SpikingOrigin, s: Settings, sim: Simulation,
                  y: np.ndarray | None, rate_pred: np.ndarray, z: list, *,
                  rate_train: float | None, fixed: dict | None, t_start: float,
                  command: str | None, dataset: str | None, network_file: Any) -> dict:  # fmt: skip
    """The report dict (the keys are listed in :func:`biorate.deploy.deploy`); ``t_start``: the
    deployment's start (``time.perf_counter``), for its wall time."""
    n, ds = rate_pred.shape[0], s.durations
    preds = sim.readout.decisions()
    rate_acc = float(np.mean(rate_pred == y)) if y is not None else None
    pops, scatter = population_stats(net, z, sim.readout.rates, s.npu)
    spiking_acc = [float(np.mean(preds[d] == y)) if y is not None else None for d in ds]
    hist = net.history_.to_dict() if getattr(net, "history_", None) is not None else None
    wall = time.perf_counter() - t_start
    return {
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
        "rate_fixed_point": fixed,
        "agreement": [float(np.mean(preds[d] == rate_pred)) for d in ds],
        "undecided": [float(np.mean(preds[d] < 0)) for d in ds],
        "tie_rule": _TIE_RULE,
        "populations": pops,
        "connectivity": net.connectivity if isinstance(net.connectivity, str)
        and net.connectivity in NAMED else "custom",
        "sizes": list(net.sizes),
        "projections": [{"source": p.source, "target": p.target, "kind": p.kind}
                        for p in net.projections],
        "mapping": _mapping(net, origin, s),
        "performance": _performance(net, s, sim, n, wall),
        "samples": {"raster_image": 0, "raster_label": int(y[0]) if y is not None else None,
                    "raster": sim.readout.raster, "scatter": scatter},
        "provenance": provenance(command),
    }  # fmt: skip
