"""``method="exact"``: the deployed LIF network integrated exactly, step by step, in NumPy.

For the linear current-based LIF (a model whose ``theory`` is ``lif``, so its equations, threshold,
reset and refractory period are those of ``models/neurons/lif.toml``) the membrane between spikes
is linear, and one step of length ``dt`` can be integrated exactly instead of by Euler's scheme.
Each step, for every neuron (the scheme Nengo's ``LIF`` uses, Hunsberger & Eliasmith 2015):

1. the time it is free in this step: ``delta = clip(dt - refractory_left, 0, dt)``;
2. its input current ``I = I_bias + m*I_syn``, ``m = (tau_syn/dt)*(1 - exp(-dt/tau_syn))`` the
   mean over the step of the exponentially decaying synaptic current (so each spike's charge
   ``q`` is delivered exactly, whatever dt); ``mu = E_L + R_m*I``;
3. ``v <- mu + (v - mu)*exp(-delta/tau_m)`` (+ ``sigma*sqrt(1 - exp(-2*delta/tau_m))*N(0, 1)``
   with noise: the Ornstein-Uhlenbeck process of the model, sampled exactly);
4. a neuron with ``v > V_th`` spiked when the free trajectory crossed the threshold,
   ``t_cross = dt + tau_m*ln(1 - (v - V_th)/(mu - V_th))`` after the step began; it is reset to
   ``V_reset`` and held for ``t_ref`` from ``t_cross`` (the rest of the refractory period carries
   into the next steps as a fraction of a step: no rounding of ``t_ref`` to whole steps);
5. the synaptic currents decay by ``exp(-dt/tau_syn)`` and every spike of the step adds
   ``q/tau_syn`` (``q`` its synapse's charge), as the Brian2 synapses do.

So a noise-free neuron fires at exactly the continuous LIF rate
(:func:`biorate.theory.lif.lif_rate_closed_form`) at any step below ``t_ref``, and spike times are
the crossing times, not the step boundaries. Inputs (current or Poisson encoding: a Poisson
number of spikes per pixel and step, mean ``x*input_rate*dt``), skips, feedback and
``neurons_per_unit`` are routed as in the Brian2 network (:mod:`biorate.deploy.build`): a
population's spikes of one step reach their targets' currents at its end, feedback included.
There is no code generation and nothing to compile; NumPy only.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..models import Model
from .mapping import DeployError, SpikingOrigin

__all__ = ["METHODS", "check_method", "lif_constants", "run_batch"]

METHODS = ("auto", "euler", "exact")

_LIF_PARAMS = ("tau_m", "R_m", "E_L", "V_th", "V_reset", "t_ref")


def check_method(method: Any, model: Model) -> str:
    """``method`` checked and resolved: one of :data:`METHODS`; ``"exact"`` needs the linear LIF (a
    model whose ``theory`` is ``lif``, with a refractory period); ``"auto"`` is ``"exact"`` for
    such a model, else ``"euler"``.
    :class:`DeployError` otherwise."""
    if not isinstance(method, str) or method not in METHODS:
        raise DeployError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    refractory = model.theory == "lif" and float(model.params["t_ref"].value) > 0
    if method == "auto":  # (without a refractory period a step may hold several spikes)
        return "exact" if refractory else "euler"
    if method == "exact" and model.theory != "lif":
        raise DeployError(f"method 'exact' integrates the linear LIF (a model with theory = "
                          f"\"lif\"); model {model.name!r} is not one: use method 'euler'")  # fmt: skip
    if method == "exact" and not refractory:
        raise DeployError(f"method 'exact' needs a refractory period (it places one spike per "
                          f"step at most); model {model.name!r} has t_ref = 0: use method "
                          "'euler'")  # fmt: skip
    return method


def lif_constants(model: Model) -> dict[str, float]:
    """The LIF's parameters in SI floats (``tau_m, R_m, E_L, V_th, V_reset, t_ref``)."""
    return {name: float(model.params[name].value) for name in _LIF_PARAMS}


def run_batch(origin: SpikingOrigin, mapping: dict, sizes: list[int], X: np.ndarray, *,
              t_max: float, dt_s: float, tau_syn: float, encoding: str, input_rate: float,
              npu: int, seed: int, progress: bool, label: str) -> dict:  # fmt: skip
    """Run one batch (a copy of the network per row of ``X``) for ``t_max`` with the exact scheme;
    the same result as :func:`biorate.deploy.build.run_batch` (spike indices, numbered as Brian2
    numbers a population's neurons, and times per population; sizes). Same seed, same spikes
    (noise and Poisson inputs from one NumPy ``Generator`` seeded with ``seed``)."""
    c = lif_constants(origin.model)
    if not dt_s < c["t_ref"]:  # Model.check_dt refuses it too; two spikes in a step are lost here
        raise DeployError(f"method 'exact' needs dt < t_ref = {c['t_ref']:g} s (one spike per "
                          f"step at most), got dt = {dt_s:g} s")  # fmt: skip
    net = _Net(origin, mapping, sizes, X, encoding=encoding, input_rate=input_rate, npu=npu,
               tau_syn=tau_syn, dt_s=dt_s)  # fmt: skip
    rng = np.random.default_rng([int(seed), 0x65786163])
    steps = int(round(t_max / dt_s))
    bar = _bar(progress, steps, label)
    t0 = time.perf_counter()
    with _one_blas_thread():  # small products: BLAS threads only spin (10x slower when busy)
        for k in range(steps):
            net.step(k * dt_s, c, origin.sigma_v, rng)
            if bar is not None and (k + 1) % 100 == 0:
                bar.update(100)
    if bar is not None:
        bar.update(steps % 100)
        bar.close()
    run_s = time.perf_counter() - t0
    return {"spikes": net.spikes(), "neurons": int(X.shape[0] * net.n_neurons),
            "synapses": net.n_synapses, "run_s": run_s}  # fmt: skip


class _Net:
    """A batch's state: every population side by side, one row per image. Neuron columns hold
    population p's neurons in Brian2's order within an image (unit-major, ``npu`` per unit);
    synaptic currents are kept per unit (all neurons of a unit hear the same synapses)."""

    def __init__(self, origin: SpikingOrigin, mapping: dict, sizes: list[int], X: np.ndarray, *,
                 encoding: str, input_rate: float, npu: int, tau_syn: float, dt_s: float) -> None:  # fmt: skip
        n, self.npu, self.dt = X.shape[0], npu, dt_s
        self.sizes = sizes
        self.uoff = np.concatenate([[0], np.cumsum(sizes[1:])]).astype(int)  # unit columns
        units = int(self.uoff[-1])
        self.n_neurons = units * npu
        bias = np.empty((n, units))
        for p in range(1, len(sizes)):
            b = np.broadcast_to(mapping["bias"][p], (n, sizes[p])).copy()
            if encoding == "current" and p in mapping["input"]:
                b += X @ mapping["input"][p]  # the exact mean current of the input pixels
            bias[:, self._units(p)] = b
        self.bias = np.repeat(bias, npu, axis=1) if npu > 1 else bias
        E_L = float(origin.model.params["E_L"].value)  # noqa: N806
        self.v = np.full((n, self.n_neurons), E_L)
        self.ref = np.zeros((n, self.n_neurons))  # refractory time left at the step's end (s)
        self.i_syn = np.zeros((n, units))
        self.routes: list[tuple[slice, slice, np.ndarray]] = []
        self.n_synapses = 0
        for (q, d), Q in sorted(mapping["charge"].items()):
            self.routes.append((self._units(q), self._units(d), Q / (npu * tau_syn)))
            self.n_synapses += n * Q.size * npu * npu
        self.input_routes: list[tuple[slice, np.ndarray]] = []
        self.rates = None
        if encoding == "poisson" and mapping["input"]:
            self.rates = np.clip(X, 0.0, None) * input_rate * dt_s  # mean spikes per pixel, step
            for d, M in sorted(mapping["input"].items()):
                self.input_routes.append((self._units(d), M / (input_rate * tau_syn)))
                self.n_synapses += n * M.size * npu
        self.decay_syn = math.exp(-dt_s / tau_syn)
        self.mean_syn = (tau_syn / dt_s) * -math.expm1(-dt_s / tau_syn)  # I_syn's mean, a step
        noff = self.uoff * npu
        self.slices = [(p, int(noff[p - 1]), int(noff[p])) for p in range(1, len(sizes))]
        self.recorded: dict[int, tuple[list, list]] = {p: ([], []) for p in range(1, len(sizes))}

    def _units(self, p: int) -> slice:
        return slice(int(self.uoff[p - 1]), int(self.uoff[p]))

    def step(self, t: float, c: dict[str, float], sigma: float, rng: np.random.Generator) -> None:
        """One exact step from time ``t`` (the scheme of the module's doc)."""
        dt, tau = self.dt, c["tau_m"]
        self.ref -= dt
        free = np.clip(dt - self.ref, 0.0, dt)
        syn = self.mean_syn * self.i_syn
        mu = self.bias + (np.repeat(syn, self.npu, axis=1) if self.npu > 1 else syn)
        mu *= c["R_m"]
        mu += c["E_L"]
        v = mu + (self.v - mu) * np.exp(free * (-1.0 / tau))
        if sigma > 0:
            v += sigma * np.sqrt(-np.expm1(free * (-2.0 / tau))) * rng.standard_normal(v.shape)
        self.v = v
        self.i_syn *= self.decay_syn
        if self.rates is not None:
            pixels = rng.poisson(self.rates).astype(float)
            for dst, W in self.input_routes:
                self.i_syn[:, dst] += pixels @ W
        spiked = v > c["V_th"]
        if not spiked.any():
            return
        for p, lo, hi in self.slices:
            rows, cols = np.nonzero(spiked[:, lo:hi])
            if rows.size == 0:
                continue
            cols += lo
            over, drive = v[rows, cols] - c["V_th"], mu[rows, cols] - c["V_th"]
            # the free trajectory's crossing: v - mu = (V_th - mu)*exp(-s/tau_m), s the time
            # since; with noise, a crossing the mean drive cannot explain (mu <= v) ends the step
            ok = drive > over
            frac = np.where(ok, over / np.where(ok, drive, 1.0), 0.0)
            since = np.minimum(-tau * np.log1p(-frac), free[rows, cols])
            v[rows, cols] = c["V_reset"]
            self.ref[rows, cols] = c["t_ref"] + dt - since  # held for t_ref from the crossing
            index, times = self.recorded[p]
            index.append(rows * (hi - lo) + (cols - lo))  # Brian2's number within population p
            times.append(t + dt - since)
        counts = spiked.reshape(spiked.shape[0], -1, self.npu).sum(axis=2, dtype=float)
        for src, dst, W in self.routes:
            self.i_syn[:, dst] += counts[:, src] @ W

    def spikes(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """``{p: (neuron indices as Brian2 numbers them, times in s)}``, step by step in time
        (within a step by index, as a SpikeMonitor records them)."""
        out = {}
        for p, (index, times) in self.recorded.items():
            out[p] = ((np.concatenate(index).astype(np.int64), np.concatenate(times)) if index
                      else (np.zeros(0, np.int64), np.zeros(0)))  # fmt: skip
        return out


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits  # with scikit-learn, a dependency
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def _bar(progress: bool, steps: int, label: str) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm  # with progress only

    return tqdm(total=steps, desc=label, unit="step", leave=False)
