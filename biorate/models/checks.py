"""What a model must satisfy before any of it reaches Brian2 or a theory, NumPy-free and simulator-free:

- parameter values in their physical domains (:func:`check_param`);
- parameter names that Brian2 would not silently resolve to something else (:func:`check_names`):
  no Python keyword, none of Brian2's special names, functions or constants, none of the model's
  own equation variables;
- the code tables (:func:`check_spec`): strings where code goes, the model's own variables where a
  variable is named, a refractory period that is a period, Poisson inputs with distinct names;
- the relations between parameters (:func:`check_relations`: ``V_reset < V_th``);
- a declared ``theory`` that describes the model it is declared on (:func:`check_theory`).

:class:`biorate.models.Model` runs them all on every model it builds, from a file, a sweep point or
:meth:`~biorate.models.Model.with_params`, so the API, the CLI, the theory and the sweep share them.
(Brian2's unit names, ~1700 of them, are checked where Brian2 is:
:func:`biorate.spiking.brian.namespace`.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ModelError, UnitError
from ..schema import MISSING, Fields, describe
from ..units import (
    CAPACITANCE,
    CONCENTRATION,
    CONDUCTANCE,
    CURRENT,
    DIMENSIONLESS,
    FREQUENCY,
    RESISTANCE,
    TIME,
    VOLTAGE,
    Dim,
    dim_name,
    format_quantity,
    parse_quantity,
    si_unit,
)
from .names import IDENT, IDENT_RULE, check_names
from .quantity_expr import code_problem, evaluate
from .stability import DIFF_HEAD

__all__ = ["check_param", "check_names", "check_spec", "check_relations", "check_theory",
           "jump_problem", "equation_variables", "refractory_spec", "THEORIES", "MAX_TIME", "MIN_TIME_CONSTANT",
           "IDENT", "IDENT_RULE"]  # fmt: skip

# --- values -------------------------------------------------------------------------------------
# Physical domains of parameters, by dimension: a time is a duration (>= 0), and a time constant
# (a name starting with "tau") divides, so it is > 0; capacitances and resistances are > 0;
# conductances, concentrations and rates >= 0. Every value is finite.
_POSITIVE = {CAPACITANCE: "a capacitance", RESISTANCE: "a resistance"}
_NONNEGATIVE = {TIME: "a time", CONDUCTANCE: "a conductance", CONCENTRATION: "a concentration",
                FREQUENCY: "a rate"}  # fmt: skip
# Times a neuron or synapse model can mean: a time constant of 1 us or more (ion channels are
# tens of us; Brian2's time steps are rarely below 1 us, and a time constant must exceed the step:
# Model.check_dt), and no time beyond 1e6 s (11.6 days; 1e300 s is a membrane that never moves).
MIN_TIME_CONSTANT = 1e-6
MAX_TIME = 1e6
# The smallest magnitude of a non-zero parameter with a unit, in SI: far below any physical value
# (1 aA is 1e-18 A, 1 fF 1e-15 F), far above float underflow (R_m = 1e-320 ohm was shown as
# "0 Mohm" and refused later, as if the curve file were at fault)
MIN_MAGNITUDE = 1e-30
# The largest |current| of a neuron model, in A: a neuron's currents are nA. The rule of a model's
# current parameters and of an f-I protocol's currents, its bias and its levels (models.fi_drive,
# models.check_current)
MAX_CURRENT = 1.0


def check_param(name: str, value: float, dim: Dim, where: str, error: type = ModelError) -> None:
    """Refuse a parameter value outside its physical domain (see ``_POSITIVE``/``_NONNEGATIVE``,
    :data:`MIN_TIME_CONSTANT`, :data:`MAX_TIME`), naming the rule: ``tau_m = -5 ms`` is not a time
    constant."""
    shown = f"{name} = {format_quantity(value, dim)}" if math.isfinite(value) else name
    if not math.isfinite(value):
        raise error(f"{where}: parameter {name}: {value} is not a finite value")
    dim = tuple(dim)
    if dim == TIME and name.startswith("tau"):
        if value <= 0:
            raise error(f"{where}: parameter {shown}: a time constant must be > 0")
        if value < MIN_TIME_CONSTANT:
            raise error(f"{where}: parameter {shown}: a time constant must be at least 1 us")
    if dim == TIME and value > MAX_TIME:
        raise error(f"{where}: parameter {shown}: a model's time must be at most 1e6 s "
                    "(11.6 days)")  # fmt: skip
    if dim in _POSITIVE and value <= 0:
        raise error(f"{where}: parameter {shown}: {_POSITIVE[dim]} must be > 0")
    if dim != DIMENSIONLESS and 0 < abs(value) < MIN_MAGNITUDE:
        raise error(f"{where}: parameter {name} = {value:g} {si_unit(dim)}: a non-zero physical "
                    f"value lies above {MIN_MAGNITUDE:g} {si_unit(dim)} in magnitude (this one "
                    "is 0 in any unit a model is written in)")  # fmt: skip
    top = _MAGNITUDE.get(dim)
    if top is not None and abs(value) > top[0]:
        raise error(f"{where}: parameter {shown}: {top[1]}")
    rule = _NAMED_DOMAINS.get(name)
    if rule is not None and (dim == DIMENSIONLESS) == rule[0] and not rule[1](value):
        raise error(f"{where}: parameter {shown}: {rule[2]}")
    if dim in _NONNEGATIVE and value < 0:
        raise error(f"{where}: parameter {shown}: {_NONNEGATIVE[dim]} must be >= 0")


# magnitudes no neuron model reaches, far beyond any that one does: E_L = 1e30 V gave a curve of
# 500 Hz everywhere with exit 0 (membrane potentials lie within +-0.2 V, currents within nA-uA)
_MAGNITUDE = {
    VOLTAGE: (10.0, "a potential of a neuron model lies within +-10 V"),
    CURRENT: (MAX_CURRENT, "a current of a neuron model lies within +-1 A"),
    # neurons have input resistances of 10 MOhm to 1 GOhm; beyond 1 TOhm a pA moves V by volts
    RESISTANCE: (1e12, "a resistance of a neuron model lies within 1e12 ohm (1 Tohm)"),
    # whole-cell leaks are nS-uS and capacitances pF-nF: 1 S (1 ohm) or 1 F is no neuron's, and
    # a conductance jump of 5e20 S per input spike saturated a curve with exit 0
    CONDUCTANCE: (1.0, "a conductance of a neuron model lies within 1 S"),
    CAPACITANCE: (1.0, "a capacitance of a neuron model lies within 1 F"),
}


# parameters the shipped synapse models (and the theory) read by name: (dimensionless?, test,
# rule). U = -0.5 released -20,000 per second; n_H < 0 or K_d = 0 made the Hill curve NaN
_NAMED_DOMAINS = {
    "U": (True, lambda v: 0 < v <= 1, "a release probability (Tsodyks-Markram U) lies in (0, 1]"),
    "n_H": (True, lambda v: v > 0, "a Hill coefficient must be > 0"),
    "K_d": (False, lambda v: v > 0, "a dissociation constant must be > 0"),
}


# --- code tables --------------------------------------------------------------------------------
_HEAD = re.compile(r"\s*(?:" + DIFF_HEAD + r"|([A-Za-z_]\w*)\s*(?:=|$))")


def equation_variables(equations: str) -> set[str]:
    """The variables a Brian2 equations string defines (``dv/dt = ...``, ``p = ...``, ``I``)."""
    names = set()
    for line in str(equations).splitlines():
        head = line.split("#", 1)[0].split(":", 1)[0]
        m = _HEAD.match(head)
        if m:
            names.add(m.group(1) or m.group(2))
    return names


def _variable(f: Fields, key: str, variables: set[str], default: Any = None) -> Any:
    """A field naming one of the model's own equation variables."""
    v = f.text(key, default)
    if v is default:
        return v
    if not IDENT.match(v) or v not in variables:
        raise f.fail(key, f"{v[:40]!r} is not a variable of the model's equations "
                          f"({', '.join(sorted(variables))})")  # fmt: skip
    return v


def _expression(f: Fields, key: str, *, statements: bool = False) -> None:
    """A code field (an expression, or with ``statements`` several lines of statements): a string
    without control characters (an expression is one line, without ';')."""
    v = f.text(key, None, nonempty=False)
    if v is None:
        return
    bad = {c for c in v if ord(c) < 32 and c not in ("\n\t" if statements else "\t")}
    if not statements and (";" in v or "\n" in v):
        raise f.fail(key, "expected one expression (one line, no ';')")
    if bad or "\x7f" in v:
        raise f.fail(key, "contains control characters")
    internal = [n for n in _NAME.findall(v) if n.startswith(("_", "biorate_"))]
    if internal:
        raise f.fail(key, f"uses {internal[0][:40]!r}: names starting with '_' or 'biorate_' are "
                          "Brian2's and biorate's own, not the model's")  # fmt: skip
    depth = 0
    for c in v:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            break
    if depth != 0:
        raise f.fail(key, "unbalanced parentheses (code is inserted as one term of biorate's own "
                          "statements)")  # fmt: skip


_NAME = re.compile(r"[A-Za-z_]\w*")


_CONDITION = re.compile(r"[<>]|==|!=")
_RANDOM = re.compile(r"\b(rand|randn|poisson)\s*\(")  # Brian2's random functions


def refractory_spec(ref: Any, params: Mapping[str, Any]) -> tuple[str, float | None]:
    """What a ``[neuron].refractory`` field is: ``("none", None)`` (absent or empty), ``("period",
    seconds)`` (a time parameter's name, or a time with units), ``("condition", None)`` (a
    condition Brian2 evaluates, ``"v > V_th"``), or ``("bad", None)`` for anything else (an
    expression such as ``"-t_ref"``, whose period no check can know). ``params`` maps names to
    objects with ``value`` (SI) and ``dim``."""
    if not isinstance(ref, str) or not ref.strip():
        return "none", None
    ref = ref.strip()
    p = params.get(ref)
    if p is not None:
        return ("period", p.value) if tuple(p.dim) == TIME else ("bad", None)
    if _CONDITION.search(ref):
        return "condition", None
    try:
        value, dim = parse_quantity(ref)
    except UnitError:
        return "bad", None
    return ("period", value) if tuple(dim) == TIME and math.isfinite(value) else ("bad", None)


def _check_refractory(sec: Fields, params: Mapping[str, Any]) -> None:
    ref = sec.data.get("refractory")
    kind, period = refractory_spec(ref, params)
    if kind == "bad":
        raise sec.fail("refractory", f"{str(ref)[:40]!r} is neither the name of a time "
                       "parameter (t_ref), a time ('2 ms') nor a condition ('v > V_th')")  # fmt: skip
    if period is not None and (period < 0 or period > MAX_TIME):
        raise sec.fail("refractory", f"{ref.strip()[:40]!r}: a refractory period must lie "
                       "between 0 and 1e6 s")  # fmt: skip


def check_spec(where: str, kind: str, spec: Mapping[str, Any], params: Mapping[str, Any]) -> set:
    """Check the code tables of a model file: the ``[neuron]``/``[synapse]`` section, ``[drive]``:
    strings where code goes, and names of the model's own variables where a variable is named.
    Returns the variables of the section's equations."""
    sec = Fields(spec.get(kind), f"{where}: [{kind}]", ModelError)
    _expression(sec, "equations", statements=True)
    code = "\n".join(line.split("#", 1)[0] for line in sec.text("equations").splitlines())
    random = _RANDOM.findall(code)  # (in a comment, a name is only a word)
    if random:
        raise sec.fail("equations", f"calls {random[0]}(): Brian2 draws a random number in the "
                                    "equations differently on its numpy and cython targets (numpy "
                                    "refuses it); noise enters the equations as xi (white noise, "
                                    "e.g. sigma*sqrt(2/tau_m)*xi), random input through [drive]")  # fmt: skip
    variables = equation_variables(sec.text("equations"))
    for key in ("threshold", "refractory"):
        _expression(sec, key)
    _check_refractory(sec, params)
    for key in ("reset", "on_spike", "influx"):
        _expression(sec, key, statements=True)
    method = sec.text("method", None)
    if method is not None and not IDENT.match(method):
        raise sec.fail("method", f"{method[:40]!r} is not a Brian2 integration method name")
    initial = sec.table("initial", {})
    for var, value in initial.data.items():
        if not (isinstance(var, str) and IDENT.match(var) and var in variables):
            raise initial.fail(str(var)[:40], "not a variable of the model's equations "
                                              f"({', '.join(sorted(variables))})")  # fmt: skip
        if isinstance(value, str):
            _expression(initial, var)
        else:
            initial.number(var)
    mean = sec.table("mean", {})
    for key in mean.data:
        if not IDENT.match(str(key)):
            raise mean.fail(str(key), f"not a valid series name ({IDENT_RULE})")
        _variable(mean, key, variables)
    _variable(sec, "calcium", variables)
    if "drive" in spec:
        _check_drive(Fields(spec["drive"], f"{where}: [drive]", ModelError), variables, params)
    return variables


def _check_drive(drive: Fields, variables: set[str], params: Mapping[str, Any]) -> None:
    drive.unknown({"current", "noise", "poisson"})
    _variable(drive, "current", variables)
    _variable(drive, "noise", variables)
    inputs = drive.raw("poisson", [])
    if not isinstance(inputs, list):
        raise drive.fail("poisson", f"expected a list of [[drive.poisson]] tables, found "
                                    f"{describe(inputs)}")  # fmt: skip
    names: dict[str, int] = {}
    for i, raw in enumerate(inputs):
        inp = Fields(raw, f"{drive.where}: poisson[{i}]", ModelError)
        inp.unknown({"name", "n_inputs", "target", "weight", "rate_scale", "on_pre"})
        name = inp.text("name", None)
        if name is not None and name in names:
            raise inp.fail("name", f"{name[:40]!r} names poisson[{names[name]}] too; "
                                   "each input needs a name of its own")  # fmt: skip
        if name is not None:
            names[name] = i
        inp.integer("n_inputs", 1, lo=1, hi=10**9)
        inp.number("rate_scale", 1.0, lo=0, lo_open=True, hi=1e9)
        _expression(inp, "on_pre", statements=True)  # theory reads "v += J" (spiking: target)
        _variable(inp, "target", variables, default=None if inp.has("on_pre") else MISSING)
        weight = inp.text("weight", None if inp.has("on_pre") else MISSING)
        _expression(inp, "weight")
        problem = None if weight is None else code_problem(weight)
        if problem:
            raise inp.fail("weight", problem)
        jump = None if weight is None else evaluate(weight, params)
        problem = None if jump is None else jump_problem(weight, *jump)
        if problem:  # the jump per input spike, held to its parameters' domains
            raise inp.fail("weight", problem)


def jump_problem(weight: str, value: float, dim: Dim) -> str | None:
    """Why a jump of ``value`` (SI, dimension ``dim``) per input spike, made by the Poisson
    ``weight`` expression, is refused (held to the domain of a parameter of its dimension:
    within +-10 V for a potential), or None. Read at load for a weight made of parameters, and
    after a run for the largest jump a weight made of anything else gave."""
    if not math.isfinite(value):
        return f"{weight[:60]!r} makes a jump per input spike that is not a finite number"
    try:
        check_param("weight", value, dim, "", ModelError)
    except (ModelError, UnitError) as exc:  # ": parameter weight = 1e+299 mV: a ..."
        size, _, rule = str(exc).split(": parameter ", 1)[-1].partition(": ")
        return (f"{weight[:60]!r} makes a jump of {size.removeprefix('weight = ')} per input "
                f"spike; {rule}")  # fmt: skip
    return None


# --- relations ----------------------------------------------------------------------------------
def check_relations(params: Mapping[str, Any], where: str) -> None:
    """Parameters that only make sense together: a neuron reset at or above its threshold
    (``V_reset >= V_th``) would spike on every step its refractory period allows, so the reset
    must lie below the threshold (the rule the LIF theory needs too)."""
    th, reset = params.get("V_th"), params.get("V_reset")
    if th is None or reset is None or not tuple(th.dim) == tuple(reset.dim) == VOLTAGE:
        return
    if reset.value >= th.value:
        raise ModelError(f"{where}: parameter V_reset = {reset} must lie below V_th = {th} "
                         "(a reset at or above the threshold fires on every step)")  # fmt: skip


# --- theory -------------------------------------------------------------------------------------
# What each analytic theory (biorate.theory) assumes of the model it predicts: its kind, its
# parameters (name -> dimension) and its code, compared without spaces and comments. A model that
# declares ``theory = NAME`` must be that model, or the theory would predict another one.
THEORIES: dict[str, dict[str, Any]] = {
    "lif": {
        "kind": "neuron",
        "params": {
            "tau_m": TIME,
            "R_m": RESISTANCE,
            "E_L": VOLTAGE,
            "V_th": VOLTAGE,
            "V_reset": VOLTAGE,
            "t_ref": TIME,
        },  # fmt: skip
        "odes": [
            "dv/dt = (E_L - v + R_m*I)/tau_m + sigma*sqrt(2/tau_m)*xi : volt (unless refractory)"
        ],  # fmt: skip
        "code": {"threshold": "v > V_th", "reset": "v = V_reset", "refractory": "t_ref"},
        "drive": {"current": "I", "noise": "sigma"},
    },
    "tm_release": {
        "kind": "synapse",
        "params": {"U": DIMENSIONLESS, "tau_rec": TIME},
        "odes": ["dx/dt = (1 - x)/tau_rec : 1"],
        "code": {"on_spike": "release = U*x\nx -= release"},
        "drive": {},
    },
}


def _code(text: Any) -> str:
    """Code compared as the theory sees it: comments, spaces and blank statements dropped."""
    lines = (line.split("#", 1)[0] for line in str(text).replace(";", "\n").splitlines())
    return ";".join(s for s in ("".join(line.split()) for line in lines) if s)


def _odes(equations: Any) -> list[str]:
    return sorted(s for s in _code(equations).split(";") if re.match(r"d\w+/dt=", s))


def check_theory(theory: Any, kind: str, params: Mapping[str, Any], spec: Mapping[str, Any],
                 where: str) -> None:  # fmt: skip
    """Refuse a ``theory`` that biorate does not have, or that assumes another model than this
    one (other kind, parameters, equations, threshold, reset, refractory period or drive)."""
    if theory is None:
        return
    if theory not in THEORIES:
        raise ModelError(f"{where}: theory {str(theory)[:40]!r} is not one of "
                         f"{', '.join(THEORIES)} (or leave it out)")  # fmt: skip
    t = THEORIES[theory]
    head = f"{where}: theory {theory!r} does not describe this model"
    if kind != t["kind"]:
        raise ModelError(f"{head}: it is for {t['kind']} models")
    for name, dim in t["params"].items():
        if name not in params or tuple(params[name].dim) != tuple(dim):
            given = "" if name not in params else (
                f"; it is a bare number here: give it a unit, e.g. '1 {si_unit(dim)}'"
                if tuple(params[name].dim) == DIMENSIONLESS else
                f"; it is a {dim_name(params[name].dim)} here")  # fmt: skip
            raise ModelError(f"{head}: it needs parameter {name} ({dim_name(dim)}){given}")
    sec = spec.get(kind, {})
    sec = sec if isinstance(sec, Mapping) else {}
    if _odes(sec.get("equations", "")) != sorted(_code(e) for e in t["odes"]):
        raise ModelError(f"{head}: its [{kind}] equations must have exactly the differential "
                         f"equation(s) {'; '.join(t['odes'])}")  # fmt: skip
    for key, expected in t["code"].items():
        if _code(sec.get(key, "")) != _code(expected):
            raise ModelError(f"{head}: it needs [{kind}] {key} = {expected!r}")
    drive = spec.get("drive", {})
    drive = drive if isinstance(drive, Mapping) else {}
    for key, expected in t["drive"].items():
        if drive.get(key) != expected:
            raise ModelError(f"{head}: it needs [drive] {key} = {expected!r}")
