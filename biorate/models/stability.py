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

from .._unit_parse import parse_quantity
from ..errors import UnitError

__all__ = ["relaxation_rates", "explicit_method"]

# methods whose step is exact for a linear equation (no step limit from a time constant)
_EXACT = {"exact", "linear", "exponential_euler", "independent"}

_DIFF = re.compile(r"\s*d([A-Za-z_]\w*)\s*/\s*dt\s*=(.*)$")
_SUB = re.compile(r"\s*([A-Za-z_]\w*)\s*=(.*)$")
_DECL = re.compile(r"\s*([A-Za-z_]\w*)\s*$")


def _exprel(x: float) -> float:
    return 1.0 if x == 0 else math.expm1(x) / x


_FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp, "log": math.log, "log10": math.log10, "sqrt": math.sqrt, "abs": abs,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "sinh": math.sinh,
    "cosh": math.cosh, "arctan": math.atan, "exprel": _exprel, "expm1": math.expm1,
    "log1p": math.log1p, "floor": math.floor, "ceil": math.ceil,
    "clip": lambda x, lo, hi: min(max(x, lo), hi), "int": lambda x: float(math.trunc(x)),
    "sign": lambda x: float((x > 0) - (x < 0)),
}  # fmt: skip


class _Unknown(Exception):
    """A name or construct the evaluator does not know: the rate is not checked."""


def _split(equations: str) -> tuple[dict[str, ast.AST], dict[str, ast.AST], set[str]] | None:
    """(differential RHS by variable, subexpressions by name, declared names) of a Brian2
    equations string; None when a line cannot be read."""
    diff: dict[str, ast.AST] = {}
    subs: dict[str, ast.AST] = {}
    declared: set[str] = set()
    for raw in str(equations).splitlines():
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        head, sep, _ = line.rpartition(":")  # the unit (and flags) follow the last colon
        if not sep:
            return None
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
    return diff, subs, declared


def _value(node: ast.AST, names: Callable[[str], float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):  # fmt: skip
        return float(node.value)
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
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
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


def relaxation_rates(equations: str, params: Mapping[str, float],
                     initial: Mapping[str, Any]) -> dict[str, float]:  # fmt: skip
    """``{x: -d(dx/dt)/dx}`` (1/s) at the initial state for every differential equation whose
    rate can be evaluated: parameters ``params`` (SI floats), state variables at ``initial``
    (SI floats, or expressions of the parameters; 0 where not given, as Brian2 starts them),
    subexpressions substituted, noise (``xi``) and time at 0. A positive rate relaxes, a
    negative one grows; an equation it cannot evaluate is left out."""
    parts = _split(equations)
    if parts is None:
        return {}
    diff, subs, declared = parts
    state: dict[str, float] = {}

    def names(name: str, depth: int = 0) -> float:
        if name in state:
            return state[name]
        if name in subs:
            if depth > 20:
                raise _Unknown
            return _value(subs[name], lambda n: names(n, depth + 1))
        if name in params:
            return float(params[name])
        if name == "t" or name == "xi" or name.startswith("xi_"):
            return 0.0  # noise and time: the rate of the deterministic part, at t = 0
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

    for var in [*diff, *(v for v in initial if v not in diff)]:
        # the initial state: given values or expressions of the parameters; 0 where not given,
        # or given as what this cannot evaluate (rand(), ...)
        try:
            state[var] = _initial(initial[var], names) if var in initial else 0.0
        except (_Unknown, ArithmeticError, ValueError, TypeError, RecursionError):
            state[var] = 0.0
    rates: dict[str, float] = {}
    with_state = dict(state)
    for var, rhs in diff.items():
        x0 = with_state[var]
        h = max(abs(x0) * 1e-6, 1e-12)
        try:
            state[var] = x0 + h
            up = _value(rhs, names)
            state[var] = x0 - h
            down = _value(rhs, names)
        except (_Unknown, ArithmeticError, ValueError, TypeError, RecursionError):
            continue
        finally:
            state[var] = x0
        rate = -(up - down) / (2 * h)
        if math.isfinite(rate):
            rates[var] = rate
    return rates


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


def explicit_method(method: str | None, equations: str) -> bool:
    """Whether Brian2 steps these equations with an explicit scheme (Euler, Heun, Milstein,
    Runge-Kutta), whose step must be shorter than the fastest relaxation time: a method named
    so, or none named (Brian2's choice: exact for linear equations without noise, explicit for
    the rest: noise, a function, a product of state variables or time in the equations)."""
    if method is not None:
        return str(method).strip() not in _EXACT
    text = str(equations)
    if re.search(r"\bxi(_\w+)?\b", text) or re.search(r"\bt\b", text):
        return True
    parts = _split(text)
    if parts is None:
        return True
    diff, subs, _ = parts
    states = set(diff)
    for node in (*diff.values(), *subs.values()):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                return True
            if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mult | ast.Div | ast.Pow):
                moving = states | set(subs)
                left = {n.id for n in ast.walk(sub.left) if isinstance(n, ast.Name)} & moving
                right = {n.id for n in ast.walk(sub.right) if isinstance(n, ast.Name)} & moving
                if (left and (right or isinstance(sub.op, ast.Pow))) or \
                        (right and isinstance(sub.op, ast.Div | ast.Pow)):  # fmt: skip
                    return True
    return False
