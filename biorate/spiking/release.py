"""Synaptic release against presynaptic rate (and release probability against calcium), measured
on Brian2.

A synapse model (``models/synapses/*.toml``) describes one presynaptic terminal: its ``[synapse]``
equations hold the slow state (vesicle pool, calcium, cleft transmitter), ``on_spike`` what one
presynaptic spike does, and it declares ``release : 1``, the fraction of the vesicle pool that the
latest spike released. The terminal is driven by its own presynaptic train: a NeuronGroup whose
threshold is the spike generator (``rand() < rate*dt`` for Poisson trains, as Brian2's PoissonGroup
does, or a next-spike time for regular trains) and whose reset is the model's spike code. So a
whole curve is ONE Brian2 network with one terminal per (rate, trial), run through the transient
and then the measurement window; object names are fixed so that Cython reuses compiled code.

The curve's ``y`` is the release rate, the fraction of the vesicle pool released per second (1/s),
averaged over the measurement window; for Tsodyks-Markram depression its mean is exactly
``U*nu/(1 + U*nu*tau_rec)`` for Poisson trains (``biorate.theory.release``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..curve import TransferCurve
from ..errors import ModelError, ProtocolError
from ..io import provenance
from ..models import Model, load_model
from ..schema import boolean, one_of
from ..units import CONCENTRATION, FREQUENCY, TIME, si_unit, to_si, unit_scale
from .brian import (
    Network,
    brian_seed,
    codegen_target,
    namespace,
    neuron_group,
    quantity,
    rejected,
    run_network,
    var_dim,
)
from .protocol import (
    MAX_SPIKE_PROB,
    PATTERNS,
    check_protocol,
    check_size,
    check_target,
    levels,
    note_silent_curve,
    note_single_level,
    resolve_seed,
)

__all__ = ["measure_release", "measure_release_probability", "PATTERNS", "MAX_SPIKE_PROB"]

# Files name concentrations in molar ("M"), while SI base values (and Brian2) use mol/m^3 = mM.
_MOLAR = unit_scale("M")


def _synapse_model(model: Model | str, who: str) -> Model:
    model = load_model(model, kind="synapse") if isinstance(model, str) else model
    if not isinstance(model, Model):
        raise ModelError(f"{who} needs a synapse model, got {model!r}")
    if model.kind != "synapse":
        raise ModelError(f"{who} needs a synapse model, got the {model.kind} model {model.name!r}")
    spec = model.section("synapse")
    if not str(spec.get("on_spike", "")).strip():
        raise ModelError(f"model {model.name!r}: [synapse] needs 'on_spike' (the spike's release)")
    if not _declares(spec["equations"], "release"):
        raise ModelError(
            f"model {model.name!r}: [synapse] equations must declare 'release : 1', the fraction "
            "of the pool released by the latest spike"
        )
    return model


def _declares(equations: str, name: str) -> bool:
    """Whether ``equations`` defines variable ``name`` (as ``name : unit`` or ``dname/dt``)."""
    for line in str(equations).splitlines():
        head = line.split("#", 1)[0].split(":", 1)[0].strip()
        if head == name or head.replace(" ", "").startswith(f"d{name}/dt="):
            return True
    return False


def _rates(rate: Any, dt_s: float) -> np.ndarray:
    x = levels(rate, FREQUENCY, "rate")
    if np.any(x <= 0):
        raise ProtocolError(f"rate must be positive, got {x[x <= 0][0]:g} Hz")
    if np.max(x) * dt_s > MAX_SPIKE_PROB:
        raise ProtocolError(
            f"rate {np.max(x):g} Hz is too high for dt = {dt_s * 1e3:g} ms: rate*dt must be "
            f"<= {MAX_SPIKE_PROB:g} (at most one spike per time step); use a smaller --dt"
        )
    return x


def _file_unit(dim: tuple) -> tuple[str, float]:
    """Unit name and SI size for a series in a file: concentrations in molar, else SI base."""
    return ("M", _MOLAR) if tuple(dim) == CONCENTRATION else (si_unit(dim), 1.0)


def measure_release(
    model: Model | str,
    rate: Any,
    *,
    pattern: str = "poisson",
    duration: Any = "20 s",
    transient: Any = "2 s",
    trials: int = 10,
    dt: Any = "0.1 ms",
    seed: int | None = None,
    target: str = "auto",
    progress: bool = True,
    command: str | None = None,
) -> TransferCurve:
    """Measure a synapse model's release rate against its presynaptic firing rate.

    Parameters
    ----------
    model : synapse Model or model name (``"tm_release"``, ``"ca_release"``).
    rate : Quantity, shape (n,), hertz (or ``"1Hz:100Hz:20"``) — presynaptic rates, all > 0.
    pattern : ``"poisson"`` (spike with probability rate*dt per step) or ``"regular"`` (period
        1/rate, a random phase per trial).
    duration : measured time per trial after the transient, e.g. ``"20 s"``.
    transient : time simulated first and discarded, letting the pool and calcium settle.
    trials : independent terminals per rate; ``y_sem`` is the SEM across them.
    dt : integration time step; ``max(rate)*dt`` must not exceed ``MAX_SPIKE_PROB``.
    seed : random seed (same seed and target, same curve); ``None`` draws one and records it.
    target : Brian2 code generation, ``"auto"``, ``"cython"`` or ``"numpy"``.

    Returns
    -------
    TransferCurve with ``measure="release"``, ``x`` the presynaptic rate (Hz), ``y`` the mean
    release rate (fraction of the pool per second, ``"1/s"``) and ``y_sem`` across trials.
    ``series`` holds, per rate, ``release_per_spike`` (fraction of the pool, 1), the measured
    ``presynaptic_rate`` (Hz) and ``mean_<name>`` for every variable named in the model's
    ``[synapse].mean`` table (e.g. ``mean_calcium`` and ``mean_cleft`` in M, ``mean_resources``).
    """
    model = _synapse_model(model, "measure_release")
    one_of(pattern, PATTERNS, "pattern", ProtocolError)
    check_target(target)
    boolean(progress, "progress", ProtocolError)
    duration_s, transient_s, dt_s, trials = check_protocol(duration, transient, dt, trials)
    model.check_dt(dt_s)
    x = _rates(rate, dt_s)
    check_size(
        x.size,
        trials,
        f"measure_release {model.name}",
        what="terminals",
        steps=(transient_s + duration_s) / dt_s,
        target=target,
    )
    seed_used = resolve_seed(seed)
    with codegen_target(target) as chosen:
        released, spikes, means = _simulate(
            model, x, pattern, duration_s, transient_s, dt_s, trials, seed_used, progress
        )
    _check_finite_release(model, released, means)
    n_levels = x.size
    per_s = released.reshape(n_levels, trials) / duration_s
    y = per_s.mean(axis=1)
    y_sem = per_s.std(axis=1, ddof=1) / np.sqrt(trials) if trials > 1 else None
    n_spikes = spikes.reshape(n_levels, trials).sum(axis=1)
    series: dict[str, tuple[np.ndarray, str]] = {
        "release_per_spike": (
            released.reshape(n_levels, trials).sum(axis=1) / np.maximum(n_spikes, 1),
            "1",
        ),
        "presynaptic_rate": (n_spikes / (trials * duration_s), "Hz"),
    }
    for key, (values, dim) in means.items():
        unit, size = _file_unit(dim)
        series[f"mean_{key}"] = (values.reshape(n_levels, trials).mean(axis=1) / size, unit)
    protocol = {
        "pattern": pattern,
        "duration_s": duration_s,
        "transient_s": transient_s,
        "trials": trials,
        "dt_s": dt_s,
        "seed": seed_used,
        "method": model.section("synapse").get("method", "euler"),
        "codegen_target": chosen,
    }
    note_single_level(x, FREQUENCY, "rate")
    note_silent_curve(released, n_levels, "release", duration_s, trials)
    return TransferCurve(
        measure="release",
        x=x,
        y=y,
        x_unit="Hz",
        y_unit="1/s",
        y_sem=y_sem,
        series=series,
        model=model.describe(),
        protocol=protocol,
        provenance=provenance(command),
    )


def _check_finite_release(model: Model, released: np.ndarray, means: dict) -> None:
    """Refuse a run whose synapses diverged (release or a time-averaged variable NaN or inf):
    a curve of NaN is no measurement, though Brian2 only warns."""
    for what, values in (("release", released), *((k, v) for k, (v, _) in means.items())):
        with np.errstate(invalid="ignore"):
            bad = int(np.count_nonzero(~np.isfinite(np.asarray(values, dtype=float))))
        if bad:
            raise ProtocolError(f"model {model.name!r}: {what} is NaN or inf in {bad} of "
                                f"{np.size(values)} synapses at the end of the run: its "
                                "equations diverged (an unstable model, or dt too large for "
                                "it), so the curve would be meaningless")  # fmt: skip


def _terminals(model: Model, n: int, extra_eqs: str, reset: str, threshold: str, dt_s: float,
               ns: dict, name: str) -> Any:  # fmt: skip
    """One NeuronGroup of ``n`` presynaptic terminals with the model's state and spike code."""
    spec = model.section("synapse")
    return neuron_group(spec, n, spec["equations"] + "\n" + extra_eqs, threshold=threshold,
                        reset=reset, namespace=ns, dt_s=dt_s, name=name)  # fmt: skip


def _simulate(model, x, pattern, duration_s, transient_s, dt_s, trials, seed, progress):  # noqa: ANN001, PLR0913
    spec = model.section("synapse")
    means = dict(spec.get("mean", {}))
    ns = namespace(model)
    ns["biorate_window"] = quantity(duration_s, TIME)
    n = x.size * trials
    x_rep = np.repeat(x, trials)  # terminal k has rate level k // trials, trial k % trials
    # Time averages by the trapezoidal rule, cheap enough to be exact for the fast cleft decay:
    # the value after each step's state update is summed every step (one code object), and at a
    # spike half of that step's jump is added (the trapezoid's mean of the values just after the
    # previous step's spike code and just before this step's). Sampling only before (or only
    # after) the jumps would be off by ~dt/(2*tau_clear), 4% for a 1.2 ms clearance at dt = 0.1 ms.
    # Accumulators are dimensionless: SI value / unit, times dt/window.
    extra = ["biorate_rate : Hz (constant)", "biorate_released : 1", "biorate_spikes : 1",
             "biorate_on : 1  # 1 once the transient is over"]  # fmt: skip
    # Only steps from the end of the transient on count: a factor 0/1 on every accumulation keeps
    # the whole protocol in one run (the step at t is counted when t >= transient; the half step
    # guards against rounding of t = k*dt).
    ns["biorate_t0"] = quantity(transient_s - 0.5 * dt_s, TIME)
    ns["biorate_step"] = dt_s / duration_s
    sample, before_spike, after_spike = [], [], []
    for key, var in means.items():
        ns[f"biorate_u_{key}"] = quantity(1.0, _var_dim(model, var))
        value = f"{var}/biorate_u_{key}"
        extra += [f"biorate_mean_{key} : 1", f"biorate_pre_{key} : 1"]
        sample.append(f"biorate_mean_{key} += {value}*biorate_step*int(t >= biorate_t0)")
        before_spike.append(f"biorate_pre_{key} = {value}")
        after_spike.append(
            f"biorate_mean_{key} += 0.5*({value} - biorate_pre_{key})*biorate_step*biorate_on"
        )
    if pattern == "poisson":
        threshold, first = "rand() < biorate_rate*dt", []
    else:
        extra.append("biorate_next : second")
        threshold, first = "t >= biorate_next", ["biorate_next += 1/biorate_rate"]
    reset = "\n".join(
        ["biorate_on = int(t >= biorate_t0)"]
        + first
        + before_spike
        + [str(spec.get("influx", "")), str(spec["on_spike"])]
        + after_spike
        + ["biorate_released += release*biorate_on", "biorate_spikes += biorate_on"]
    )
    brian_seed(seed)
    with rejected(f"model {model.name!r}"):
        group = _terminals(model, n, "\n".join(extra), reset, threshold, dt_s, ns,
                           "biorate_release_terminals")  # fmt: skip
        group.biorate_rate = quantity(x_rep, FREQUENCY)
        if pattern == "regular":  # a random phase per terminal, so trials differ
            phase = np.random.default_rng(seed).uniform(size=n)
            group.biorate_next = quantity(phase / x_rep, TIME)
        objects = [group]
        if sample:
            objects.append(group.run_regularly("\n".join(sample), when="before_thresholds",
                                               name="biorate_release_means"))  # fmt: skip
        net = Network(*objects, name="biorate_release_network")
    label = f"simulate release {model.name}"
    run_network(net, transient_s + duration_s, label=label, progress=progress)
    released = np.asarray(group.biorate_released[:], dtype=float)
    spikes = np.asarray(group.biorate_spikes[:], dtype=float)
    out = {
        key: (np.asarray(getattr(group, f"biorate_mean_{key}")[:], dtype=float),
              _var_dim(model, var))
        for key, var in means.items()
    }  # fmt: skip
    return released, spikes, out


def _var_dim(model: Model, var: str) -> tuple:
    """The dimension (biorate 7-tuple) of a variable of the model's ``[synapse]`` equations."""
    return var_dim(model, "synapse", var)


MAX_CALCIUM = 1000.0  # 1 M in SI (mol/m^3)


def measure_release_probability(
    model: Model | str,
    calcium: Any,
    *,
    dt: Any = "0.1 ms",
    target: str = "auto",
    command: str | None = None,
) -> TransferCurve:
    """Measure the release probability of a calcium-driven synapse against presynaptic calcium.

    Protocol (a calcium clamp on Brian2): one terminal per calcium level, its pool at the model's
    initial (full) state, its calcium variable (``[synapse].calcium``) held at the level, and one
    spike that runs the model's ``on_spike`` code (not the ``influx``, so the calcium at release is
    the clamped level). ``y`` is the fraction of the pool that spike released, which for a full
    pool is the release probability at that calcium. Deterministic: no seed.

    Parameters
    ----------
    model : synapse Model or name with a ``calcium`` entry in ``[synapse]`` (``"ca_release"``).
    calcium : Quantity, shape (n,), concentration (``"0.1uM:10uM:50"``), all >= 0.
    dt : time step of the single simulated step.

    Returns
    -------
    TransferCurve with ``measure="release_probability"``, ``x`` calcium (M) and ``y`` (unit 1).
    """
    model = _synapse_model(model, "measure_release_probability")
    spec = model.section("synapse")
    var = spec.get("calcium")
    if not var:
        raise ModelError(
            f"model {model.name!r} names no calcium variable ([synapse] calcium = ...)"
        )
    check_target(target)
    c = levels(calcium, CONCENTRATION, "calcium")
    if np.any(c < 0):
        raise ProtocolError("calcium must not be negative")
    if np.any(c > MAX_CALCIUM):
        raise ProtocolError("calcium must lie in [0, 1 M] (a cell's is below a millimolar; the "
                            "clamp's integration gives NaN near 1e100 uM)")  # fmt: skip
    dt_s = to_si(dt, TIME, "dt")
    if dt_s <= 0:
        raise ProtocolError(f"dt must be positive, got {dt}")
    model.check_dt(dt_s)  # the step is shorter than the synapse's time constants, as in release
    if _var_dim(model, var) != CONCENTRATION:
        raise ModelError(f"model {model.name!r}: calcium variable {var!r} is not a concentration")
    check_size(c.size, 1, f"measure_release_probability {model.name}", what="terminals",
               target=target)  # fmt: skip
    ns = namespace(model)
    ns["biorate_u_ca"] = quantity(1.0, CONCENTRATION)
    with codegen_target(target) as chosen:
        with rejected(f"model {model.name!r}"):
            group = _terminals(model, c.size, "biorate_level : 1", str(spec["on_spike"]),
                               "t < 0.5*dt", dt_s, ns, "biorate_release_clamp")  # fmt: skip
            group.biorate_level = c  # SI value (mol/m^3) of each level
            # clamp after the state update of the step, just before the spike is detected
            clamp = group.run_regularly(f"{var} = biorate_level*biorate_u_ca",
                                        when="before_thresholds", name="biorate_release_clamp_ca")  # fmt: skip
            net = Network(group, clamp, name="biorate_release_clamp_network")
        run_network(net, dt_s, label=f"release probability {model.name}", progress=False)
    y = np.asarray(group.release[:], dtype=float)
    note_single_level(c, CONCENTRATION, "calcium")
    return TransferCurve(
        measure="release_probability",
        x=c / _MOLAR,
        y=y,
        x_unit="M",
        y_unit="1",
        model=model.describe(),
        protocol={
            "protocol": "calcium clamp, one spike, full pool",
            "dt_s": dt_s,
            "codegen_target": chosen,
            "calcium_variable": var,
        },  # fmt: skip
        provenance=provenance(command),
    )
