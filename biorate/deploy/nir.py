"""The deployed spiking network in the Neuromorphic Intermediate Representation (NIR 1.0).

:func:`to_nir` writes the network that :func:`biorate.deploy.deploy` builds on Brian2 (current
encoding, one neuron per unit) as a :class:`nir.NIRGraph`; :func:`write_nir` saves it (HDF5,
written atomically). The synapses and bias currents are :func:`~biorate.deploy.mapping.synaptic_mapping`'s,
not derived again here.

The graph
---------
- ``input``: a :class:`nir.Input` of ``sizes[0]`` values, the pixels ``x`` held constant during a
  presentation (deploy's ``"current"`` encoding);
- one :class:`nir.CubaLIF` per spiking population (named as the network names them), the LIF of
  the activation's curve with an exponential current synapse of time constant ``tau_syn``;
- one :class:`nir.Affine` per routed projection ``q -> d`` (``w_<q>_<d>``, ``q = 0`` the input):
  ``weight`` of shape ``(size_d, size_q)`` and ``bias``; a population's bias current rides on its
  first incoming Affine (the input's when it has one), the others have a zero bias;
- ``output``: a :class:`nir.Output` reading the output population's spikes (the class is the
  neuron that fires most, as in deploy).
Feedback projections are edges back to an earlier population: the graph then has cycles, which
NIR allows.

Units and forms
---------------
NIR's CubaLIF is ``tau_syn dI/dt = -I + w_in S`` and ``tau_mem dv/dt = v_leak - v + r I``, with a
spike a unit-area Dirac delta in ``S``. ``form="physical"`` (default) writes SI units: seconds,
ohms, volts, ``w_in = 1``, Affine weights in coulombs per spike (deploy's charges) and biases in
amperes; ``v_leak = E_L``, ``v_threshold = V_th``, ``v_reset = V_reset``. ``form="normalized"``
writes the same dynamics in the gauge that discrete-time consumers such as snnTorch's importer
require (``v_leak = 0``, ``v_reset = 0``, ``r = tau_mem/dt``, ``w_in = tau_syn/dt``): the voltage
is ``(v - V_reset) * tau_m/(dt*R_m)``, the leak ``(E_L - V_reset)/R_m`` is folded into the bias
currents, and the Affines are divided by ``w_in``. Both describe the same continuous-time network
exactly; ``dt`` only chooses the units. ``graph.metadata`` records the form, ``dt``, the source
model and its parameters.

What NIR cannot express (the honest rule)
-----------------------------------------
- **Refractory period.** NIR 1.0's CubaLIF has none; biorate's LIF has ``t_ref``. The export keeps
  the weights of the network as trained and records ``t_ref_s`` in the graph's and every neuron
  node's metadata; a NIR consumer runs the neurons refractory-free, so they fire faster than the
  rate network assumed (``1/(T + t_ref)`` becomes ``1/T``). ``benchmarks/nir_export.py`` measures what
  this costs on digits (Brian2 with and without ``t_ref``, and snnTorch on the export).
  Measured on a 64-64-10 digits network with the ``lif`` activation (rate accuracy 0.9722, 360
  test images, dt 0.1 ms): Brian2 0.9694 with ``t_ref`` and 0.9694 without, snnTorch on the
  export 0.9694, at 50 ms and at 200 ms; the class survives, but the hidden rates no longer
  follow the rate network (RMSE 2.9 Hz with ``t_ref``, ~350 Hz without), so a network whose
  decision depends on saturating units can lose accuracy.
- **Noise.** The curve's free-membrane noise ``sigma`` is recorded (``sigma_V``) but not exported:
  NIR has no noise source, so the exported neurons are deterministic.
- **Constant currents.** deploy adds bias and input currents straight to the membrane; NIR has no
  bias on a neuron, so they enter through the synapse and reach their value with the time
  constant ``tau_syn`` after the presentation starts (a few ms of a presentation).
Only the current-based ``lif`` neuron (its equations, threshold and reset) maps onto CubaLIF; an
activation fitted to another model, a built-in activation (relu, ...) or a graph that deploy
refuses raises :class:`~biorate.deploy.mapping.DeployError`.

The ``nir`` package (``pip install biorate[nir]``) is imported inside these functions only.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import ModelError
from ..models.checks import THEORIES, check_theory
from ..network import RateNetwork
from .mapping import DeployError, activation_field, check_deployable, synaptic_mapping
from .settings import synapse_and_step

__all__ = ["FORMS", "to_nir", "write_nir", "require_nir"]

FORMS = ("physical", "normalized")
_LIF_PARAMS = tuple(THEORIES["lif"]["params"])  # tau_m, R_m, E_L, V_th, V_reset, t_ref


def require_nir() -> Any:
    """The ``nir`` module, or a DeployError saying how to install it."""
    try:
        import nir
    except ImportError:
        raise DeployError(
            "NIR export needs the 'nir' package: pip install 'biorate[nir]' (nir==1.0.8)"
        ) from None
    return nir


def _lif_params(model: Any) -> dict[str, float]:
    """The LIF's parameters in SI units; refuses a neuron model CubaLIF cannot express: the model
    must be the one the LIF theory describes (:func:`~biorate.models.checks.check_theory`, the rule
    a model file's ``theory = "lif"`` is held to: its equation, threshold, reset, refractory period
    and drive)."""
    try:
        check_theory("lif", model.kind, model.params, model.spec, f"model {model.name!r}")
    except ModelError:
        raise DeployError(
            f"model {model.name!r} is not the current-based LIF (models/neurons/lif.toml) that "
            "NIR's CubaLIF expresses; only networks whose activation was fitted to 'lif' can be "
            "exported to NIR"
        ) from None
    return {p: float(model[p]) for p in _LIF_PARAMS}


def to_nir(net: RateNetwork, *, tau_syn: Any = "5 ms", dt: Any = None, network_file: Any = None,
           form: str = "physical") -> Any:  # fmt: skip
    """The spiking network that :func:`biorate.deploy.deploy` builds, as a :class:`nir.NIRGraph`.

    Parameters
    ----------
    net : a trained RateNetwork whose activation was fitted to an f-I curve of ``lif``.
    tau_syn : the synaptic time constant (deploy's ``tau_syn``).
    dt : the time step recorded in the metadata and used by ``form="normalized"``; None takes
        the step of the activation's curve (else 0.1 ms), as deploy does.
    form : ``"physical"`` (SI units, NIR's own parameters) or ``"normalized"`` (``v_leak = 0``,
        ``v_reset = 0``, ``r = tau_mem/dt``, ``w_in = tau_syn/dt``: the gauge snnTorch reads).
    network_file : the file ``net`` was loaded from, named in errors (as deploy's).

    The refractory period and the noise are not exported (see the module's documentation);
    raises :class:`~biorate.deploy.mapping.DeployError` for what NIR cannot express.
    """
    if form not in FORMS:
        raise DeployError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    origin = check_deployable(net, activation_field(network_file))
    lif = _lif_params(origin.model)
    tau_syn_s, dt_s = synapse_and_step(origin, tau_syn, dt)
    nir = require_nir()
    mapping = synaptic_mapping(net.activation_, net)
    sizes = net.sizes
    names = [str(n) for n in net.population_names]
    if (
        len(set(names)) < len(names)
        or {"input", "output"} & set(names)
        or any(n.startswith("w_") for n in names)
    ):  # node names must stay unique beside input, output and the w_<q>_<d> Affines
        names = [f"pop{p}" for p in range(len(sizes))]
    tau_m, R = lif["tau_m"], lif["R_m"]
    if form == "physical":
        w_in, v_leak, v_th, v_reset, r = 1.0, lif["E_L"], lif["V_th"], lif["V_reset"], R
        leak_current = 0.0
    else:
        k = tau_m / (dt_s * R)  # volts -> the normalized voltage
        w_in, v_leak, v_reset, r = tau_syn_s / dt_s, 0.0, 0.0, tau_m / dt_s
        v_th = (lif["V_th"] - lif["V_reset"]) * k
        leak_current = (lif["E_L"] - lif["V_reset"]) / R
    info = {"biorate_form": form, "dt_s": dt_s, "t_ref_s": lif["t_ref"],
            "sigma_V": origin.sigma_v, "model": origin.model.name}  # fmt: skip
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([sizes[0]])})}
    for p in range(1, len(sizes)):
        n = sizes[p]

        def full(v: float, n: int = n) -> np.ndarray:
            return np.full(n, float(v))

        nodes[names[p]] = nir.CubaLIF(
            tau_syn=full(tau_syn_s), tau_mem=full(tau_m), r=full(r), v_leak=full(v_leak),
            v_threshold=full(v_th), v_reset=full(v_reset), w_in=full(w_in),
            metadata={"t_ref_s": lif["t_ref"], "sigma_V": origin.sigma_v},
        )  # fmt: skip
    nodes["output"] = nir.Output(output_type={"output": np.array([sizes[-1]])})
    routes = {(0, d): M for d, M in mapping["input"].items()}
    routes.update(mapping["charge"])
    edges = []
    has_bias: set[int] = set()
    for (q, d), M in sorted(routes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        bias = np.zeros(sizes[d])
        if d not in has_bias:
            bias = (mapping["bias"][d] + leak_current) / w_in
            has_bias.add(d)
        key = f"w_{q}_{d}"
        nodes[key] = nir.Affine(weight=np.asarray(M, float).T / w_in, bias=np.asarray(bias, float))
        edges += [("input" if q == 0 else names[q], key), (key, names[d])]
    missing = [names[d] for d in range(1, len(sizes)) if d not in has_bias]
    if missing:
        raise DeployError(f"populations {', '.join(missing)} receive no projection")
    edges.append((names[-1], "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=info)


def write_nir(graph: Any, path: str | os.PathLike) -> None:
    """Write ``graph`` to ``path`` (HDF5, NIR's format) through a temp file renamed into place:
    an existing file is replaced only by a complete one."""
    import io

    from ..io import atomic_write

    nir = require_nir()
    buf = io.BytesIO()  # h5py reads back what it writes: made in memory, then written at once
    nir.write(buf, graph)
    atomic_write(path, lambda f: f.write(buf.getvalue()), binary=True)
