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
spiking population::

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

Feedback projections (``feedback``, ``volume``, a graph file's) are ordinary synapses: the spiking
network runs the continuous dynamics and settles to their fixed point. A net trained by BPTT was
trained on T steps from rest, which need not reach it (the report's ``rate_fixed_point`` says what
the rate net scores there); a net trained with ``training="fixed_point"`` was trained at that
fixed point, and its rate states (what the spikes are compared with) are the fixed point itself. The output population is made of neurons of the
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

Two integrators (``method``): ``"euler"`` has Brian2 integrate the model file's equations
(forward Euler for the shipped models) at the activation curve's step (0.1 ms), spikes and
refractory periods on whole steps, as the curve was measured. ``"exact"`` (the linear LIF only)
integrates the membrane exactly over each step, places each spike at its threshold crossing within
the step and keeps the refractory period to the fraction of a step, as Nengo's ``LIF`` does
(:mod:`biorate.deploy._exact`, NumPy, nothing to compile); its default step is 1 ms, where a
noise-free neuron still fires at exactly the continuous LIF rate (Euler at 1 ms puts every
interval on whole milliseconds: 111 Hz where 99 Hz is due). ``"auto"``, the default, takes
``"exact"`` for a model whose ``theory`` is ``lif`` (the shipped ``lif``, with or without noise)
and ``"euler"`` for every other model; the report's ``method`` and ``dt`` say what ran. On the
digits nets the two agree within an image or two at every presentation time (README, "Exact
integration at 1 ms"), and the exact run takes about a tenth of Euler's warm time with no
compilation.

The package follows the data: :mod:`~biorate.deploy.mapping` (rate -> spiking parameters, NumPy
only; the rate states come from the network's own dynamics, :mod:`biorate.network.dynamics`),
:mod:`~biorate.deploy.settings` (the arguments in SI units), :mod:`~biorate.deploy.build` (Brian2:
equations, groups, synapses, running a batch; Brian2 is imported there only, when a network is
built), :mod:`~biorate.deploy.readout` (spike binning, :func:`decide`) and
:mod:`~biorate.deploy.report`. :func:`deploy` runs them in that order. The figure is
:func:`biorate.plotting.deploy.plot_deploy` (also importable from here).

``biorate.deploy`` is both this package and, when called, the function :func:`deploy`:
``br.deploy(net, X, y)`` and ``from biorate.deploy import deploy, plot_deploy`` both work, whatever
was imported first (a package attribute named like a submodule is replaced by the module as soon as
the submodule is imported, so the module itself is made callable).
"""

from __future__ import annotations

import gc
import importlib
import inspect
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..io import check_memory
from ..network import RateNetwork
from ..schema import boolean
from ..spiking.protocol import check_run, check_target, resolve_seed
from . import _exact, build
from .mapping import (
    DeployError,
    SpikingOrigin,
    activation_field,
    activity_summands,
    check_deployable,
    effective_weights,
    rate_states,
    spiking_origin,
    synaptic_mapping,
)
from .readout import Readout, decide
from .report import Simulation, deploy_report, fixed_point
from .settings import DEFAULT_DURATIONS, ENCODINGS, METHODS, Settings, check_settings

__all__ = [
    "DeployError",
    "SpikingOrigin",
    "ENCODINGS",
    "METHODS",
    "DEFAULT_DURATIONS",
    "spiking_origin",
    "activation_field",
    "rate_states",
    "activity_summands",
    "effective_weights",
    "synaptic_mapping",
    "decide",
    "deploy",
    "plot_deploy",
]


def deploy(net: RateNetwork, X: Any, y: Any = None, *, durations: Any = DEFAULT_DURATIONS,
           encoding: str = "current", neurons_per_unit: int = 1, tau_syn: Any = "5 ms",
           input_rate: Any = "200 Hz", transient: Any = None, dt: Any = None,
           batch_size: int = 400, seed: int | None = 0, target: str = "auto", method: str = "auto",
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
    dt : time step; None takes the step of the activation's curve (else 0.1 ms) with Euler, and
        1 ms with the exact method (half the refractory period when that is below 2 ms).
    batch_size : images per Brian2 network (each image is an independent copy of the network).
    seed : random seed (noise, Poisson inputs); batch b uses ``seed + b``.
    target : Brian2 code generation, ``"auto"``, ``"cython"`` or ``"numpy"`` (when the method
        resolves to ``"euler"``).
    method : ``"auto"`` (default): ``"exact"`` for a model with ``theory = "lif"``, else
        ``"euler"``. ``"euler"``: Brian2 integrates the model's equations as its file says
        (forward Euler for the shipped models), spikes and refractory periods on whole steps.
        ``"exact"``: the linear LIF (models with ``theory = "lif"``) integrated exactly over each
        step, spikes placed at their threshold crossings within the step and refractory periods
        kept to the fraction of a step, by NumPy with nothing to compile
        (:mod:`biorate.deploy._exact`); a coarse ``dt`` such as 1 ms then keeps the continuous
        LIF rate. ``dt`` must stay below the refractory period.
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
    t_start = time.perf_counter()
    boolean(progress, "progress", DeployError)
    origin = check_deployable(net, activation_field(network_file))
    s = check_settings(origin, durations=durations, encoding=encoding,
                       neurons_per_unit=neurons_per_unit, tau_syn=tau_syn, input_rate=input_rate,
                       transient=transient, dt=dt, batch_size=batch_size,
                       method=method)  # fmt: skip
    X, y = _check_data(net, X, y, s)
    check_target(target)
    _check_work(net, X.shape[0], s, target, origin)
    rate_train = _rate_train_accuracy(net, train)
    seed_used = resolve_seed(seed)
    mapping = synaptic_mapping(net.activation_, net)
    z, _ = rate_states(net, X)
    rate_pred = net.predict(X)
    sim = _simulate(net, origin, mapping, X, s, seed=seed_used, target=target, progress=progress)
    fixed = fixed_point(net, X, y, rate_pred)
    return deploy_report(net, origin, s, sim, y, rate_pred, z, rate_train=rate_train,
                         fixed=fixed, t_start=t_start, command=command, dataset=dataset,
                         network_file=network_file)  # fmt: skip


def _check_data(net: RateNetwork, X: Any, y: Any,
                s: Settings) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """Inputs as float64 and labels as the network takes them; a batch that fits in memory."""
    X, y = net.check_data(X, y)
    X = np.asarray(X, dtype=float)
    pairs = sum(w.size for (q, _), w in effective_weights(net).items()
                if q > 0 or s.encoding == "poisson")  # current encoding: the input is a bias  # fmt: skip
    build.check_batch_memory(net.sizes, min(s.batch_size, X.shape[0]), s.npu, pairs)
    if s.encoding == "poisson" and np.any(X < 0):
        raise DataError("Poisson encoding needs non-negative inputs (rates); X has negative values")
    return X, y


# The exact scheme's speed (NumPy, this 2-core machine; on the fast side): each step costs about
# 5 us per population plus 5 us (a 2-8-2 net took 15 us a step at dt 10 us, a 2-8-8-8-2 net 23 us),
# and 3e7 neuron-steps a second at digits' sizes (360 images of a 64-64-64-10 net: 3.6e7 at dt
# 0.1 ms under load); at 1 ns a 2-8-2 net was estimated with Brian2-Cython's speed and ran for hours
EXACT_STEP_SECONDS = 5e-6
EXACT_NEURON_STEPS = 3e7


def _check_work(net: RateNetwork, n_images: int, s: Settings, target: str,
                origin: SpikingOrigin) -> None:  # fmt: skip
    """Refuse, before anything is built, a deployment above the work or time limit
    (:func:`~biorate.spiking.protocol.check_run`): every image's neurons (and Poisson inputs)
    for ``t_max/dt`` steps, one network per batch, each step paying Brian2's per-step cost once
    per population (measured on the numpy target: ~60 us a step for a 2-4-2 net, ~90 us for
    64-64-64-10, against ~30 us for one group)."""
    per_image = sum(net.sizes[1:]) * s.npu + (net.sizes[0] if s.encoding == "poisson" else 0)
    steps = s.t_max / s.dt_s
    exact = s.method == "exact"
    speed = (EXACT_STEP_SECONDS * (len(net.sizes) + 1), EXACT_NEURON_STEPS) if exact else None
    check_run(n_images * per_image, steps, "deploy",
              f"{n_images} images x {per_image:,} neurons x {steps:.3g} time steps (t_max/dt)",
              "present fewer images or shorter times" + (", or a longer dt" if exact else ""),
              target, networks=-(-n_images // s.batch_size), error=DeployError, speed=speed,
              engine="the exact scheme (NumPy)" if exact else "",
              groups=len(net.sizes) - 1 + (s.encoding == "poisson"))  # fmt: skip
    # the spikes one batch records (the populations above the input), each neuron at most at
    # twice the top of its activation's curve (r0 + y_scale: 1/t_ref for a fitted LIF) and once a
    # step, 16 bytes each and twice while they are gathered; and the exact scheme's two arrays per
    # population and step
    act = net.activation_
    top = 2.0 * (abs(float(act.r0)) + abs(float(act.y_scale)))
    rate = min(top, 1.0 / s.dt_s) if top > 0 else 1.0 / s.dt_s
    recorded = sum(net.sizes[1:]) * s.npu
    batch = min(n_images, s.batch_size)
    spikes = batch * recorded * s.t_max * rate
    need = 32.0 * spikes + (steps * 2 * (len(net.sizes) - 1) * 112.0 if exact else 0.0)
    check_memory(need, f"deploy: the spikes of {batch} images x {recorded:,} neurons over "
                 f"{s.t_max:g} s", "present fewer images at a time (batch_size) or shorter "
                 "times" + (", or a longer dt" if exact else ""), DeployError)  # fmt: skip


def _rate_train_accuracy(net: RateNetwork, train: Any) -> float | None:
    if train is None:
        return None
    if not isinstance(train, tuple | list) or len(train) != 2:
        raise DataError("train must be a pair (X_train, y_train)")
    return float(net.evaluate(*train)["accuracy"])


def _simulate(net: RateNetwork, origin: SpikingOrigin, mapping: dict, X: np.ndarray,
              s: Settings, *, seed: int, target: str, progress: bool) -> Simulation:  # fmt: skip
    """Run ``X`` in batches of ``s.batch_size`` images, each one Brian2 network (batch b seeded
    ``seed + b``), and bin their spikes (``method="exact"``: :func:`_simulate_exact`)."""
    if s.method == "exact":  # no Brian2 at all (its import alone takes 1.5-3 s)
        return _simulate_exact(net, origin, mapping, X, s, seed=seed, progress=progress)
    n = X.shape[0]
    readout = Readout(net.sizes, net.population_names, n, s.durations, s.transient_s, s.npu)
    neurons = synapses = 0
    run_s = 0.0
    from ..spiking import brian  # Brian2, imported when a network is run (the lazy boundary)

    with brian.codegen_target(target) as chosen:
        for b, start in enumerate(range(0, n, s.batch_size)):
            Xb = X[start : start + s.batch_size]
            note = build.compile_note() if progress and b == 0 and chosen == "cython" else None
            res = build.run_batch(origin, mapping, net.sizes, Xb, t_max=s.t_max, dt_s=s.dt_s,
                                  tau_syn=s.tau_syn_s, encoding=s.encoding,
                                  input_rate=s.input_rate_hz, npu=s.npu,
                                  seed=(seed + b) % 2**32, progress=progress,
                                  label=f"deploy {start + Xb.shape[0]}/{n}", on_ready=note)  # fmt: skip
            neurons, synapses = max(neurons, res["neurons"]), synapses + res["synapses"]
            run_s += res["run_s"]
            readout.add(start, res["spikes"])
            del res
            gc.collect()  # drop the batch's Brian2 objects so the next one can reuse the names
    readout.finish(s.t_max)
    return Simulation(readout, neurons, synapses, run_s, chosen, seed)


def _simulate_exact(net: RateNetwork, origin: SpikingOrigin, mapping: dict, X: np.ndarray,
                    s: Settings, *, seed: int, progress: bool) -> Simulation:  # fmt: skip
    """:func:`_simulate` with ``method="exact"`` (:mod:`biorate.deploy._exact`, no Brian2)."""
    n = X.shape[0]
    readout = Readout(net.sizes, net.population_names, n, s.durations, s.transient_s, s.npu)
    neurons = synapses = 0
    run_s = 0.0
    for b, start in enumerate(range(0, n, s.batch_size)):
        Xb = X[start : start + s.batch_size]
        res = _exact.run_batch(origin, mapping, net.sizes, Xb, t_max=s.t_max, dt_s=s.dt_s,
                               tau_syn=s.tau_syn_s, encoding=s.encoding,
                               input_rate=s.input_rate_hz, npu=s.npu, seed=(seed + b) % 2**32,
                               progress=progress, label=f"deploy {start + Xb.shape[0]}/{n}")  # fmt: skip
        neurons, synapses = max(neurons, res["neurons"]), synapses + res["synapses"]
        run_s += res["run_s"]
        readout.add(start, res["spikes"])
    readout.finish(s.t_max)
    return Simulation(readout, neurons, synapses, run_s, "numpy (exact LIF, no Brian2)", seed)


def plot_deploy(report: dict, path: Any, title: str = "") -> Path:
    """The deployment figure saved to ``path``, whose path is returned, as this name always did;
    :func:`biorate.plotting.plot_deploy` draws it (with ``ax=``) and returns the figure."""
    from ..plotting.deploy import plot_deploy as draw  # matplotlib: only when a figure is drawn

    draw(report, path, title)
    return Path(path)


# ----------------------------------------------------------------------------- br.deploy(...)
class _CallableModule(types.ModuleType):
    """This package's type: calling the package calls :func:`deploy` (see the package doc)."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        return deploy(*args, **kwargs)

    def __reduce__(self) -> tuple:  # pickle, copy and Dask: the module by its name, as a function
        return importlib.import_module, (self.__name__,)

    @property
    def __signature__(self) -> Any:  # inspect.signature(br.deploy), help() and IDEs
        return inspect.signature(deploy)


sys.modules[__name__].__class__ = _CallableModule
