"""Firing-rate transfer curves (f-I and rate-in -> rate-out) of a neuron model, measured on Brian2.

A whole curve is ONE Brian2 network and ONE run: one neuron per (input level, trial), as in Brian2's
``examples/IF_curve_LIF.py``, never a loop of runs. Object names are fixed so that a second curve in
the same process reuses the compiled code (auto-numbered names change the generated code).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..curve import TransferCurve
from ..errors import ModelError, ProtocolError
from ..io import provenance
from ..models import DRIVES, Model, equation_variables, fi_axis, fi_drive, load_model
from ..models.checks import jump_problem
from ..models.protocol import check_input_rates, input_trains
from ..models.stability import state_names, value_at_rest
from ..schema import boolean
from ..units import CURRENT, DIMENSIONLESS, FREQUENCY, VOLTAGE, format_quantity, si_unit
from .brian import (
    Network,
    brian_seed,
    codegen_target,
    expression_dim,
    namespace,
    neuron_group,
    quantity,
    rejected,
    run_network,
    second,
)
from .protocol import (
    check_protocol,
    check_size,
    check_target,
    levels,
    note_silent_curve,
    note_single_level,
    pooled_cv,
    resolve_seed,
)

__all__ = ["measure_fi", "DRIVES"]


def measure_fi(
    model: Model | str,
    current: Any = None,
    *,
    rate: Any = None,
    drive: str = "current",
    sigma: Any = 0,
    bias: Any = 0,
    duration: Any = "2 s",
    transient: Any = "200 ms",
    trials: int = 10,
    dt: Any = "0.1 ms",
    seed: int | None = None,
    target: str = "auto",
    progress: bool = True,
    command: str | None = None,
) -> TransferCurve:
    """Measure a neuron model's firing rate against its input, with SEM across trials and ISI CV.

    Parameters
    ----------
    model : Model or model name (``"lif"``).
    current : Quantity, shape (n,), amperes (or ``"0nA:0.5nA:51"``) — the x axis for ``drive="current"``.
    rate : Quantity, shape (n,), hertz — the x axis for ``drive="poisson"``: the rate of each of the
        model's Poisson inputs (``[[drive.poisson]]`` tables of the model file).
    drive : ``"current"`` (mean current plus white noise) or ``"poisson"`` (rate in -> rate out).
    sigma : volts; free-membrane standard deviation of the white-noise current (both drives).
    bias : amperes; constant current added with ``drive="poisson"`` (with ``drive="current"`` a
        non-zero bias is refused: shift ``current`` instead).
    duration : measured time per trial (after the transient), e.g. ``"2 s"`` or ``2*second``.
    transient : time simulated first and discarded, letting the membrane (and adaptation) settle.
    trials : independent neurons per input level; the SEM is across them.
    dt : integration time step.
    seed : random seed (same seed, same curve); ``None`` draws one and records it.
    target : Brian2 code generation, ``"auto"`` (Cython if available), ``"cython"`` or ``"numpy"``.

    Returns
    -------
    TransferCurve with ``measure="fi"``, ``y`` the mean rate (Hz), ``y_sem`` across trials and
    ``cv`` the ISI coefficient of variation pooled over trials.
    """
    model = load_model(model, kind="neuron") if isinstance(model, str) else model
    if not isinstance(model, Model) or model.kind != "neuron":
        raise ModelError(f"measure_fi needs a neuron model, got {getattr(model, 'name', model)!r}")
    fi_drive(drive, 0, bias)  # the drive before the protocol: the errors a user sees first
    check_target(target)
    boolean(progress, "progress", ProtocolError)
    duration_s, transient_s, dt_s, trials = check_protocol(duration, transient, dt, trials)
    model.check_dt(dt_s)
    sigma_v, bias_a = fi_drive(drive, sigma, bias)
    x, x_unit = _levels(model, drive, current, rate)
    model.check_drive(drive, sigma_v, bias_a)
    check_size(x.size, trials, f"measure_fi {model.name}", steps=(transient_s + duration_s) / dt_s,
               target=target)  # fmt: skip
    seed_used = resolve_seed(seed)
    with codegen_target(target) as chosen:
        counts, isi_n, isi_m = _simulate(model, x, drive, sigma_v, bias_a, duration_s, transient_s,
                                         dt_s, trials, seed_used, progress)  # fmt: skip
    n_levels = x.size
    counts = counts.reshape(n_levels, trials)
    rates = counts / duration_s
    y = rates.mean(axis=1)
    y_sem = rates.std(axis=1, ddof=1) / np.sqrt(trials) if trials > 1 else None
    cv = pooled_cv(isi_n.reshape(n_levels, trials), isi_m.reshape(2, n_levels, trials))
    protocol = {
        "drive": drive,
        "duration_s": duration_s,
        "transient_s": transient_s,
        "trials": trials,
        "dt_s": dt_s,
        "seed": seed_used,
        "sigma_V": sigma_v,
        "bias_A": bias_a if drive == "poisson" else None,
        "method": model.section("neuron").get("method", "euler"),
        "codegen_target": chosen,
        "refractory_steps": _refractory_steps(model, dt_s),
    }
    note_single_level(x, *((CURRENT, "current") if drive == "current" else (FREQUENCY, "rate")))
    note_silent_curve(counts, x.size, "neuron spiked", duration_s, trials)
    return TransferCurve(measure="fi", x=x, y=y, x_unit=x_unit, y_unit="Hz", y_sem=y_sem, cv=cv,
                         model=model.describe(), protocol=protocol,
                         provenance=provenance(command))  # fmt: skip


def _levels(model: Model, drive: str, current: Any, rate: Any) -> tuple[np.ndarray, str]:
    """The curve's x axis in SI and its unit: the injected currents, or the Poisson input rates."""
    value, dim, name = fi_axis(drive, current, rate)
    x = levels(value, dim, name)
    if drive == "current":
        return x, "A"
    if not model.section("drive").get("poisson"):
        raise ModelError(f"model {model.name!r} defines no [[drive.poisson]] inputs")
    check_input_rates(x, model=model)
    return x, "Hz"


def _refractory_steps(model: Model, dt_s: float) -> int | None:
    """How many whole time steps after the spike step Brian2 holds a neuron refractory: it tests
    ``t - lastspike < t_ref`` (with a 1e-3*dt tolerance), so 2 ms at dt = 0.1 ms is 19 steps, not
    20 (``biorate.theory.refractory_steps`` is the same rule, vectorized)."""
    ref = model.section("neuron").get("refractory")
    if isinstance(ref, str) and ref in model.params:
        return max(int((model[ref] + 1e-3 * dt_s) / dt_s) - 1, 0)  # t_ref = 0: none
    return None


# Spike statistics accumulated in the reset (no SpikeMonitor: one code object less per step and
# no memory that grows with the spike count): spikes after the transient, and the sums of the
# inter-spike intervals and their squares, for the rate, the SEM and the pooled ISI CV.
_COUNTER_EQUATIONS = """
biorate_count : 1
biorate_nisi : 1
biorate_s1 : second
biorate_s2 : second**2
biorate_tlast : second
"""
_COUNTER_RESET = """
biorate_count += int(t >= biorate_t0)
biorate_nisi += int(t >= biorate_t0)*int(biorate_tlast >= biorate_t0)
biorate_s1 += int(t >= biorate_t0)*int(biorate_tlast >= biorate_t0)*(t - biorate_tlast)
biorate_s2 += int(t >= biorate_t0)*int(biorate_tlast >= biorate_t0)*(t - biorate_tlast)**2
biorate_tlast = t
"""


# 0 in every neuron, added to a weight's temporary to keep it an array: Brian2 (numpy target)
# indexes the temporary by not_refractory, which fails once SymPy reduced `J*(v/v)` or `J*0`
# to a float
_ZERO = "\nbiorate_zero : 1 (constant)"


def _simulate(
    model, x, drive, sigma_v, bias_a, duration_s, transient_s, dt_s, trials, seed, progress
):  # noqa: ANN001, PLR0913
    neuron = model.section("neuron")
    n = x.size * trials
    x_rep = np.repeat(x, trials)  # neuron k has level k // trials, trial k % trials
    brian_seed(seed)
    with rejected(f"model {model.name!r}"):
        equations = neuron["equations"] + _COUNTER_EQUATIONS
        if drive == "poisson":
            equations += (
                "\nbiorate_rate : Hz  # rate of each Poisson input"
                + _ZERO
                + "".join(
                    f"\nbiorate_jump{k} : 1  # largest |weight| of input {k} so far, SI"
                    for k in range(len(model.section("drive").get("poisson", [])))
                )
            )
        if not neuron.get("threshold"):
            raise ModelError(f"model {model.name!r} has no threshold: it never spikes")
        reset = "\n".join(r for r in (neuron.get("reset"), _COUNTER_RESET) if r)
        ns = {**namespace(model), "biorate_t0": transient_s * second}
        group = neuron_group(neuron, n, equations, threshold=neuron.get("threshold"), reset=reset,
                             refractory=neuron.get("refractory", False), namespace=ns, dt_s=dt_s,
                             name="biorate_fi_neurons")  # fmt: skip
        group.biorate_tlast = -1e9 * second
        objects = [group, *_drive(model, group, drive, x_rep, sigma_v, bias_a, dt_s)]
        net = Network(*objects, name="biorate_fi_network")
    # a diverging state is refused just after the run (_check_finite), so NumPy's overflow
    # warnings from the generated code (numpy target), or from Brian2 folding a weight's
    # constants (log(0)), would only precede that one line
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            run_network(net, transient_s + duration_s, label=f"simulate fi {model.name}",
                        progress=progress, seed=seed)  # fmt: skip
        except ModelError as exc:
            _refuse_folded_weight(model, exc)
            raise
    if drive == "poisson":  # a jump out of every domain explains a diverged state: said first
        _check_jumps(model, group)
    _check_finite(model, group, neuron["equations"])
    _check_relaxed(model, group, neuron["equations"], dt_s, transient_s + duration_s,
                   [format_quantity(v, CURRENT if drive == "current" else FREQUENCY) for v in x],
                   trials)  # fmt: skip
    counts = np.asarray(group.biorate_count[:], dtype=float)
    isi_n = np.asarray(group.biorate_nisi[:], dtype=float)
    isi_m = np.vstack([np.asarray(group.biorate_s1_[:]), np.asarray(group.biorate_s2_[:])])
    return counts, isi_n, isi_m


# Brian2's SymPy folds a weight such as J*(v/v)*1e300*1e300 or J*log(0*(v/v)) into inf or NaN
# and then cannot name the result in the generated code (or divides by a literal zero)
_FOLDED = re.compile(r"name '(?:inf|nan|zoo)' is not defined|division by zero")


def _refuse_folded_weight(model: Model, exc: ModelError) -> None:
    """A Poisson weight that Brian2 folded into inf or NaN fails in the drive's code object with
    Brian2's words ("name 'inf' is not defined"): said as what it is, naming the weight."""
    cause = str(exc.__cause__ or "")
    if "biorate_fi_poisson_codeobject" not in cause or not _FOLDED.search(str(exc)):
        return
    inputs = model.section("drive")["poisson"]
    which = ", ".join(f"poisson[{k}] {inp['weight'][:60]!r}" for k, inp in enumerate(inputs))
    which = (f"poisson[0]: weight {inputs[0]['weight'][:60]!r}" if len(inputs) == 1
             else f"a poisson weight ({which})")  # fmt: skip
    raise ProtocolError(
        f"model {model.name!r}: {which} is not a finite number: Brian2 simplifies it to inf or NaN"
    ) from None


def _check_finite(model: Model, group: Any, equations: str) -> None:
    """Refuse a run whose state diverged: a variable of the model's equations that is NaN or
    inf at the end means every rate counted is meaningless (an unstable model, or a dt too
    large for it), though Brian2 only warns."""
    for var in sorted(equation_variables(equations)):
        values = np.asarray(getattr(group, var)[:], dtype=float)
        with np.errstate(invalid="ignore"):
            bad = int(np.count_nonzero(~(np.abs(values) <= 1e50)))  # Brian2's own bound
        if bad:
            raise ProtocolError(f"model {model.name!r}: variable {var} is NaN, inf or beyond "
                                f"1e50 in {bad} of "
                                f"{values.size} neurons at the end of the run: its equations "
                                "diverged (an unstable model, or dt too large for it), so the "
                                "rates would be meaningless")  # fmt: skip


# the most levels whose end state is checked (evenly spaced, the highest included)
_RELAXED_LEVELS = 32


def _check_relaxed(model: Model, group: Any, equations: str, dt_s: float, t_end: float,
                   levels: list[str], trials: int) -> None:  # fmt: skip
    """Refuse a run whose state outran its step: the relaxation check before the run sees the
    initial state at no drive, but a drive can speed the dynamics up (cond_lif under 1000 Hz of
    Poisson input: ~5.5 uS of synaptic conductance, C_m/g ~ 36 us, below dt = 0.1 ms: Euler
    oscillated, 500 Hz at every rate), as can a conductance that switches on later. The state
    each level reached at the end (its last trial, with t at the end) is checked as the
    initial one was (:meth:`Model.relaxation_problem`), against Euler's bound of divergence,
    dt < 2/rate (where a step stops converging at all), and not where a rate grows (a spike
    under way, whose fast phase the step resolves as a spike must be, wherever the run ends)."""
    if not model.section("neuron").get("reset"):
        return  # a spike made by the equations (Hodgkin-Huxley): its fast phase, wherever the
        # run ends, is resolved by dt as a spike must be; an integrate-and-fire neuron's state
        # is subthreshold dynamics at every step, and a fast one there is the drive's doing
    names = [n for n in state_names(equations) if hasattr(group, n)]
    n = len(levels)
    values = {
        name: np.broadcast_to(
            np.asarray(getattr(group, name)[:], dtype=float).ravel()
            if np.ndim(getattr(group, name)[:])
            else np.asarray(getattr(group, name)[:], dtype=float),
            (len(levels) * trials,),
        )
        for name in names
    }  # (a shared variable is one value for all)
    for level in np.unique(np.linspace(0, n - 1, min(n, _RELAXED_LEVELS)).round().astype(int))[
        ::-1
    ]:
        k = level * trials + trials - 1  # the highest drive first
        state = {name: float(v[k]) for name, v in values.items() if np.isfinite(v[k])}
        problem = model.relaxation_problem(dt_s, {"t": t_end}, state=state, limit=2.0,
                                           where=f"state the run reached at {levels[level]}")  # fmt: skip
        if problem:
            raise ProtocolError(problem)


def _check_jumps(model: Model, group: Any) -> None:
    """Refuse a run whose Poisson weight made a jump no parameter of its dimension may have
    (``1e300*mV``, ``J*exp(700)``, ``J*(v/v)*1e300``): the model's checks evaluate a weight made
    of parameters at load; one that reads units, functions or state is measured in the run."""
    for k, inp in enumerate(model.section("drive")["poisson"]):
        jumps = np.asarray(getattr(group, f"biorate_jump{k}")[:], dtype=float)
        largest = float(np.max(jumps, initial=0.0))
        problem = jump_problem(inp["weight"], largest, _dim(group, inp["target"]))
        if problem:
            raise ProtocolError(f"model {model.name!r}: poisson[{k}]: weight {problem} (the "
                                "largest in the run)")  # fmt: skip


def _dim(group: Any, var: str) -> tuple:
    return tuple(int(round(d)) for d in group.variables[var].dim._dims)


def _in(dim: tuple) -> str:
    return "dimensionless" if dim == DIMENSIONLESS else f"in {si_unit(dim)}"


def _drive(model: Model, group: Any, drive: str, x_rep: np.ndarray, sigma_v: float,
           bias_a: float, dt_s: float) -> list:  # fmt: skip
    """Set the group's current, noise and Poisson rates; the extra objects the drive needs."""
    drive_spec = model.section("drive")
    n = len(x_rep)
    current_var, noise_var = drive_spec.get("current"), drive_spec.get("noise")
    if drive == "current":
        setattr(group, current_var, quantity(x_rep, CURRENT))
    elif bias_a and current_var:
        setattr(group, current_var, quantity(np.full(n, bias_a), CURRENT))
    if noise_var:
        setattr(group, noise_var, quantity(np.full(n, sigma_v), VOLTAGE))
    if drive != "poisson":
        return []
    if any("target" not in inp or "weight" not in inp for inp in drive_spec["poisson"]):
        raise ModelError(f"model {model.name!r}: measure_fi drives each [[drive.poisson]] input "
                         "through its target and weight (on_pre is read by the theory only)")  # fmt: skip
    group.namespace["biorate_dt"] = dt_s * second
    group.biorate_rate = quantity(x_rep, FREQUENCY)
    # n_inputs independent Poisson trains at rate x deliver Poisson(n_inputs*x*dt) spikes per
    # step; each adds `weight` to `target` (as Brian2's PoissonInput, but with a rate per neuron,
    # and without an n_inputs*x <= 1/dt cap that a PoissonGroup would impose)
    # the weight is taken once per step into a temporary, whose size is recorded (in the
    # target's SI unit) and checked after the run (_check_jumps)
    lines = []
    neuron = model.section("neuron")
    values = {name: p.value for name, p in model.params.items()}
    for k, inp in enumerate(drive_spec["poisson"]):
        # a weight no finite number at rest (J*log(0*(v/v))): Brian2 folds it into inf or NaN,
        # which the numpy target cannot name and Cython fails to compile (on every target here)
        w0 = value_at_rest(inp["weight"], neuron["equations"], values, neuron.get("initial") or {})
        if w0 is not None and not math.isfinite(w0):
            raise ProtocolError(f"model {model.name!r}: poisson[{k}]: weight "
                                f"{inp['weight'][:60]!r} is not a finite number at the model's "
                                f"initial state ({w0:g})")  # fmt: skip
        unit = _dim(group, inp["target"])
        weight_dim = expression_dim(group, inp["weight"])
        if weight_dim != unit:
            raise ModelError(f"model {model.name!r}: poisson[{k}]: weight {inp['weight'][:60]!r} "
                             f"is {_in(weight_dim)}, but its target {inp['target']} is "
                             f"{_in(unit)}")  # fmt: skip
        group.namespace[f"biorate_unit{k}"] = quantity(1.0, unit)
        w, jump, size = f"biorate_w{k}", f"biorate_jump{k}", f"abs(biorate_w{k})/biorate_unit{k}"
        lines += [
            f"{w} = ({inp['weight']}) + biorate_zero*biorate_unit{k}",
            f"{jump} = {jump} + ({size} - {jump})*int({size} > {jump})",
            f"{inp['target']} += {w}*poisson({input_trains(inp)!r}*biorate_rate*biorate_dt)",
        ]
    code = "\n".join(lines)
    return [group.run_regularly(code, when="before_thresholds", name="biorate_fi_poisson")]
