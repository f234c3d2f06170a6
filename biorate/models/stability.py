"""How fast does each state variable of a model relax at its initial state? The rate
``-d(dx/dt)/dx`` of every differential equation, from the equations as written, so that a time
step at or above ``1/rate`` is refused before a simulation steps over (or, with an explicit
scheme such as Euler's, oscillates about) the dynamics it should follow. Without Brian2 and
without ``eval``: the equations are read with Python's ``ast`` and evaluated on NumPy floats.

A leak written any way (``g_L*(E_L - v)``, ``(E_L - v)*g_L``, ``g_L*E_L - g_L*v``,
``(E_L - v)/(C_m/g_L)`` or through a subexpression ``I_L = g_L*(E_L - v)``) gives the same rate
``g_L/C_m``, and a gated conductance (``g_Na*m**3*h*(v - E_Na)``) counts with its gates at their
initial values: a Hodgkin-Huxley neuron relaxes at rest at its leak's rate (its spike is faster,
and resolved by dt as a spike must be, not checked here). A rate this cannot evaluate (a function
it does not know, a name it cannot find) is not checked: the check only refuses what it shows.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._unit_parse import parse_quantity
from ..errors import UnitError

__all__ = [
    "relaxation_rates",
    "explicit_method",
    "noisy",
    "state_names",
    "value_at_rest",
    "has_random",
    "DIFF_HEAD",
]

# methods whose step is exact for a linear equation (no step limit from a time constant)
_EXACT = {"exact", "linear", "exponential_euler", "independent"}

# the head of a differential equation as Brian2 reads it: dv/dt, d v/dt, dv / dt
DIFF_HEAD = r"d\s*([A-Za-z_]\w*)\s*/\s*dt\s*="
_DIFF = re.compile(r"\s*" + DIFF_HEAD + r"(.*)$")
_SUB = re.compile(r"\s*([A-Za-z_]\w*)\s*=(.*)$")
_DECL = re.compile(r"\s*([A-Za-z_]\w*)\s*$")


def _exprel(x: float) -> float:
    return 1.0 if x == 0 else math.expm1(x) / x


_FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp, "log": math.log, "log10": math.log10, "sqrt": math.sqrt, "abs": abs,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "sinh": math.sinh,
    "cosh": math.cosh, "arctan": math.atan, "arcsin": math.asin, "arccos": math.acos,
    "exprel": _exprel, "expm1": math.expm1,
    "log1p": math.log1p, "floor": math.floor, "ceil": math.ceil,
    "clip": lambda x, lo, hi: min(max(x, lo), hi), "int": lambda x: float(math.trunc(x)),
    "sign": lambda x: float((x > 0) - (x < 0)),
    "timestep": lambda t, dt: float(math.floor((t + 1e-3 * dt) / dt)),  # as Brian2 defines it
}  # fmt: skip

# Brian2's random numbers at a quantile q in [0, 1] (rand() within 1e-6 of its ends, which it
# does not reach: -J*log(rand()) is a finite weight; randn() at +-2 standard deviations):
# a state drawn at random (``initial = { v = "E_L + rand()*mV" }``) is tried at both ends and in
# the middle of its range
_RANDOM: dict[str, Callable[[float], float]] = {
    "rand": lambda q: min(max(q, 1e-6), 1 - 1e-6), "randn": lambda q: 4.0 * (q - 0.5),
}  # fmt: skip
_DRAWS = (0.5, 0.0, 1.0)


# Brian2's own variables, as a neuron has them at the start: not refractory, neuron 0 of 1, its
# last spike at -1e4 s (Brian2's NeuronGroup sets that)
_BUILTINS = {"not_refractory": 1.0, "i": 0.0, "N": 1.0, "lastspike": -1e4}


class _Unknown(Exception):
    """A name or construct the evaluator does not know: the rate is not checked."""


@functools.lru_cache(maxsize=256)
def _split(equations: str) -> tuple[dict[str, ast.AST], dict[str, ast.AST], frozenset[str]] | None:
    """(differential RHS by variable, subexpressions by name, declared names) of a Brian2
    equations string (an expression may go on over lines, as Brian2 reads it: a line without a
    colon continues on the next); None when a line cannot be read."""
    diff: dict[str, ast.AST] = {}
    subs: dict[str, ast.AST] = {}
    declared: set[str] = set()
    pending = ""
    for raw in str(equations).splitlines():
        line = pending + " " + raw.split("#", 1)[0] if pending else raw.split("#", 1)[0]
        if not line.strip():
            continue
        head, sep, _ = line.rpartition(":")  # the unit (and flags) follow the last colon
        if not sep:
            pending = line
            continue
        pending = ""
        m = _DIFF.match(head)
        target = diff
        if not m:
            m = _SUB.match(head)
            target = subs
        if not m:
            if _DECL.match(head):
                declared.add(head.strip())
                continue
            return None
        try:
            target[m.group(1)] = ast.parse(m.group(2).strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return None
    if pending.strip():
        return None
    return diff, subs, frozenset(declared)


def _value(node: ast.AST, names: Callable[[str], float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):  # fmt: skip
        return float(node.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # int('1'), as C reads it
        try:
            return float(node.value)
        except ValueError:
            raise _Unknown from None
    if isinstance(node, ast.Name):
        return names(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
        v = _value(node.operand, names)
        return (
            -v
            if isinstance(node.op, ast.USub)
            else (float(not v) if isinstance(node.op, ast.Not) else v)
        )
    if isinstance(node, ast.BinOp):
        a, b = _value(node.left, names), _value(node.right, names)
        ops: dict[type, Callable[[float, float], float]] = {
            ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
            ast.Div: float.__truediv__, ast.Pow: lambda x, y: float(x**y), ast.Mod: float.__mod__,
        }  # fmt: skip
        op = ops.get(type(node.op))
        if op is None:
            raise _Unknown
        return op(float(a), float(b))
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        a, b = _value(node.left, names), _value(node.comparators[0], names)
        cmp = {ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b, ast.Eq: a == b,
               ast.NotEq: a != b}.get(type(node.ops[0]))  # fmt: skip
        if cmp is None:
            raise _Unknown
        return float(cmp)
    if isinstance(node, ast.BoolOp):  # Brian2's and/or: a truth value
        values = [bool(_value(v, names)) for v in node.values]
        return float(all(values) if isinstance(node.op, ast.And) else any(values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        draw = getattr(names, "draw", None)  # rand(), randn(): at the quantile being tried
        if node.func.id in _RANDOM and not node.args and draw is not None:
            return _RANDOM[node.func.id](draw)
        fn = _FUNCTIONS.get(node.func.id)
        if fn is None:
            raise _Unknown
        return float(fn(*(_value(a, names) for a in node.args)))
    raise _Unknown


@functools.lru_cache(maxsize=4096)
def _unit_scale(name: str) -> float | None:
    try:
        return parse_quantity(f"1 {name}")[0]
    except UnitError:
        return None


def _at_rest(equations: str, params: Mapping[str, float], initial: Mapping[str, Any],
             draw: float | None = None) -> Any:  # fmt: skip
    """``(differential RHS by variable, a name reader, the state, the subexpressions' memo, the
    variables of unknown initial value)`` at the initial state of the equations (see
    :func:`relaxation_rates`); None when unreadable."""
    parts = _split(equations)
    if parts is None:
        return None
    diff, subs, declared = parts
    state: dict[str, float] = {}
    memo: dict[str, float] = {}  # subexpressions at the current state (cleared when it moves)
    busy: set[str] = set()  # subexpressions being evaluated: one that needs itself is a cycle
    unknown: set[str] = set()  # variables whose initial value cannot be evaluated (rand(), ...)

    def names(name: str) -> float:
        if name in unknown:
            raise _Unknown
        if name in state:
            return state[name]
        if name in subs:
            if name in memo:
                return memo[name]
            if name in busy:
                raise _Unknown
            busy.add(name)
            try:
                memo[name] = _value(subs[name], names)
            finally:
                busy.discard(name)
            return memo[name]
        if name in params:
            return float(params[name])
        if name == "t" or name == "xi" or name.startswith("xi_"):
            return 0.0  # noise and time: the rate of the deterministic part, at t = 0
        if name in _BUILTINS:
            return _BUILTINS[name]
        if name in declared or name in diff:
            return 0.0
        if name in ("pi", "e", "inf"):
            return {"pi": math.pi, "e": math.e, "inf": math.inf}[name]
        if name in ("True", "False", "true", "false"):
            return float(name in ("True", "true"))
        scale = _unit_scale(name)
        if scale is None:
            raise _Unknown
        return scale

    # the initial state as Brian2 sets it: every variable at 0, then the table's values in the
    # table's order (an expression reads the variables set before it, the others at 0); a value
    # this cannot evaluate (rand(), ...) leaves its variable unknown, and what reads it unchecked
    names.draw = draw  # type: ignore[attr-defined]
    for var in initial:
        memo.clear()
        try:
            state[var] = _initial(initial[var], names)
        except (_Unknown, ArithmeticError, ValueError, TypeError, RecursionError):
            state.pop(var, None)
            unknown.add(var)
    for var in diff:
        if var not in state and var not in unknown:
            state[var] = 0.0
    memo.clear()
    return diff, names, state, memo, unknown


def value_at_rest(expr: str, equations: str, params: Mapping[str, float],
                  initial: Mapping[str, Any]) -> float | None:  # fmt: skip
    """The value (SI) of the code expression ``expr`` (a Poisson input's weight) at the initial
    state of ``equations``: inf or NaN where it is no finite number there (``J*log(0*(v/v))``,
    ``J/(v - v)``, ``J*exp(1000*(v/v))``), None where this cannot evaluate it (a name or function
    it does not know)."""
    values = [_value_at(expr, equations, params, initial, q)
              for q in _draws(equations, initial, expr)]  # fmt: skip
    return next((v for v in values if v is not None and not math.isfinite(v)), values[0])


def _value_at(expr: str, equations: str, params: Mapping[str, float],
              initial: Mapping[str, Any], draw: float) -> float | None:  # fmt: skip
    context = _at_rest(equations, params, initial, draw)
    if context is None:
        return None
    names = context[1]
    try:
        return _value(ast.parse(str(expr).strip(), mode="eval").body, names)
    except (ZeroDivisionError, OverflowError):
        return math.inf
    except ValueError:  # a math domain error (log(0), sqrt(-1)), int(nan)
        return math.nan
    except (_Unknown, SyntaxError, TypeError, RecursionError, ArithmeticError):
        return None


def state_names(equations: str) -> list[str]:
    """The names a neuron's state holds (differential variables and declared ones, not the
    subexpressions, which are computed from them), in the equations' order."""
    parts = _split(str(equations))
    return [] if parts is None else [*parts[0], *sorted(parts[2])]


def has_random(equations: str, initial: Mapping[str, Any], *more: Any) -> bool:
    """Whether rand() or randn() occur in the equations, initial values or ``more``."""
    text = " ".join(map(str, (equations, *initial.values(), *more)))
    return re.search(r"\brandn?\s*\(", text) is not None


def _draws(equations: str, initial: Mapping[str, Any], *more: Any) -> tuple[float, ...]:
    """The quantiles at which rand() and randn() are tried: three where they occur, else one."""
    return _DRAWS if has_random(equations, initial, *more) else _DRAWS[:1]


def relaxation_rates(equations: str, params: Mapping[str, float],
                     initial: Mapping[str, Any]) -> dict[str, float]:  # fmt: skip
    """``{x: -d(dx/dt)/dx}`` (1/s) at the initial state for every differential equation whose
    rate can be evaluated: parameters ``params`` (SI floats), state variables at ``initial``
    (SI floats, or expressions of the parameters, set in the table's order; 0 where not given,
    as Brian2 starts them), subexpressions substituted, noise (``xi``) and time at 0; where
    ``rand()`` or ``randn()`` occur, the fastest rate with them at the middle and both ends of
    their range; a rate that reads a variable whose initial value this cannot evaluate is not
    checked. A positive rate relaxes, a
    negative one grows; an equation it cannot evaluate is left out."""
    rates: dict[str, float] = {}
    for draw in _draws(equations, initial):  # the fastest rate over random initial states
        for var, rate in _rates_at(equations, params, initial, draw).items():
            rates[var] = max(rate, rates.get(var, -math.inf))
    return rates


def _rates_at(equations: str, params: Mapping[str, float], initial: Mapping[str, Any],
              draw: float) -> dict[str, float]:  # fmt: skip
    context = _at_rest(equations, params, initial, draw)
    if context is None:
        return {}
    diff, names, state, memo, unknown = context
    rates: dict[str, float] = {}
    for var, rhs in diff.items():
        if var in unknown:
            continue
        x0 = state[var]
        h = max(abs(x0) * 1e-6, 1e-9)
        f = []
        try:
            for x in (x0 - h, x0 - h / 8, x0, x0 + h / 8, x0 + h):
                state[var] = x
                memo.clear()
                f.append(_value(rhs, names))
        except (_Unknown, ArithmeticError, ValueError, TypeError, RecursionError):
            continue
        finally:
            state[var] = x0
            memo.clear()
        wide, narrow = (f[4] - f[0]) / (2 * h), (f[3] - f[1]) / (h / 4)
        left, right = (f[2] - f[0]) / h, (f[4] - f[2]) / h
        # a step at the initial state (sign(x), x >= 0) has a slope growing as the step shrinks,
        # and a kink (abs(x)) two slopes: no rate, not checked
        if not all(map(math.isfinite, (wide, narrow, left, right))) or not (
            _close(wide, narrow) and _close(left, right)
        ):
            continue
        rates[var] = -narrow
    return _coupled(rates, diff, names, state, memo)


def _coupled(rates: dict[str, float], diff: Mapping[str, ast.AST], names: Callable[[str], float],
             state: dict[str, float], memo: dict[str, float]) -> dict[str, float]:  # fmt: skip
    """The rates with the coupling between the variables: the Jacobian of the equations at the
    state (its diagonal the rates already found) has eigenvalues lambda, and each mode needs
    dt below 1/|lambda| (a subthreshold resonance of w on v at 22,000/s rings past dt = 0.1 ms
    although v's own rate is 50/s and w's 10/s). A real growing mode (lambda >= 0: a spike's
    upswing) is left out, as the rates leave it out. An entry that cannot be evaluated counts as
    no coupling."""
    good = list(rates)
    if len(good) < 2:
        return rates
    jac = np.diag([-rates[v] for v in good])
    for j, var in enumerate(good):
        x0 = state[var]
        h = max(abs(x0) * 1e-6, 1e-9)
        try:
            cols = []
            for x in (x0 + h, x0 - h):
                state[var] = x
                memo.clear()
                cols.append([_value(diff[v], names) if v != var else 0.0 for v in good])
        except (_Unknown, ArithmeticError, ValueError, TypeError, RecursionError):
            continue
        finally:
            state[var] = x0
            memo.clear()
        column = (np.array(cols[0]) - np.array(cols[1])) / (2 * h)
        column[j] = jac[j, j]
        jac[:, j] = np.where(np.isfinite(column), column, 0.0)
    if not np.any(jac - np.diag(np.diag(jac))):
        return rates
    try:
        lams = np.linalg.eigvals(jac)
    except np.linalg.LinAlgError:
        return rates
    out = dict(rates)
    diagonal = np.diag(jac)
    # a mode the diagonal already holds (a triangular system: cond_lif's g_e drives v) is left
    # to it; a new one (a resonance, a shifted rate) counts for the variable of the fastest own
    # rate (eigenvectors mix units: their largest entry says nothing)
    fastest = good[int(np.argmax(np.abs(diagonal)))]
    for lam in lams:
        if not np.isfinite(lam) or (abs(lam.imag) <= 1e-9 * abs(lam) and lam.real >= 0):
            continue
        if abs(lam.imag) <= 1e-9 * abs(lam) and np.any(
            np.abs(diagonal - lam.real) <= 1e-6 * np.abs(lam.real)
        ):
            continue
        out[fastest] = max(out[fastest], float(abs(lam)))
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-3 * max(abs(a), abs(b)) + 1e-300


def _initial(value: Any, names: Callable[[str], float]) -> float:
    if isinstance(value, bool):
        raise _Unknown
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return parse_quantity(text)[0]
    except UnitError:
        pass
    try:
        return _value(ast.parse(text, mode="eval").body, names)
    except SyntaxError:
        raise _Unknown from None


def explicit_method(method: Any) -> bool:
    """Whether Brian2 steps a model's equations with an explicit scheme of fixed step (Euler,
    Heun, Milstein, Runge-Kutta), whose step must be shorter than the fastest relaxation time:
    biorate names ``"euler"`` when a model names no method; exact schemes for linear equations
    and GSL's error-controlled ones (which adapt their own step) are not limited so."""
    name = str(method if method is not None else "euler").strip().lower()
    return name not in _EXACT and not name.startswith("gsl")


def noisy(equations: str) -> bool:
    """Whether the equations hold a noise term (``xi``, ``xi_name``): no exact scheme takes it."""
    parts = _split(str(equations))
    if parts is None:
        return bool(re.search(r"\bxi(_\w+)?\b", str(equations).split("#", 1)[0]))
    return any(isinstance(n, ast.Name) and (n.id == "xi" or n.id.startswith("xi_"))
               for rhs in (*parts[0].values(), *parts[1].values()) for n in ast.walk(rhs))  # fmt: skip
