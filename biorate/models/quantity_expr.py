"""The value, in SI with its dimension, of a model's simple code expression (a Poisson input's
``weight`` such as ``J*int(not_refractory)``) from the model's parameters, without Brian2: so
that a jump of 1e296 V per input spike (``weight = "J*1e300"``) is refused when the model loads,
as a parameter of 1e296 V is. An expression this cannot evaluate (a state variable, a function
other than ``int``/``abs``) is left to Brian2: :func:`evaluate` returns None."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from typing import Any

from ..units import DIMENSIONLESS, Dim
from .names import brian2_unit_names

__all__ = ["evaluate", "code_problem"]

Value = tuple[float, Dim]
# state a weight may read that is 1 where the input acts (outside the refractory period)
_ONES = {"not_refractory"}


def evaluate(expr: str, params: Mapping[str, Any]) -> Value | None:
    """``(value, dimension)`` of ``expr`` from ``params`` (name -> an object with ``value`` and
    ``dim``, SI), or None where it names anything else."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return None
    try:
        return _value(tree.body, params)
    except ZeroDivisionError:  # J/0: no finite jump, whatever its unit
        return math.inf, DIMENSIONLESS
    except (ValueError, OverflowError, RecursionError):
        return None


def code_problem(expr: str) -> str | None:
    """Why ``expr`` cannot be a Brian2 expression, said for a user: a quantity written as a
    parameter is (``0.1 mV``: code reads ``0.1*mV``), a syntax error, or a number too large for
    a float (``1e600``, which Brian2 would turn into an undefined name ``inf``); else None."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
        nodes = list(ast.walk(tree))
    except RecursionError:
        return f"{expr[:60]!r} is nested too deeply to be read"
    except (SyntaxError, ValueError):
        words = expr.split()
        if len(words) == 2 and _NUMBER.fullmatch(words[0]) and math.isfinite(float(words[0])):
            if words[1] in brian2_unit_names():
                return (f"{expr[:60]!r} is written as a parameter value; a weight is code: "
                        f"write '{words[0]}*{words[1]}'")  # fmt: skip
            return (f"{expr[:60]!r} is written as a parameter value; a weight is code, with "
                    f"Brian2's unit names ({words[1][:20]!r} is not one: 'volt', 'mV', 'nA', "
                    "'nS', ...)")  # fmt: skip
        return f"{expr[:60]!r} is not an expression (Python syntax, units as names: 0.1*mV)"
    for node in nodes:
        if not isinstance(node, ast.Constant) or isinstance(node.value, bool | str | None):
            continue
        if isinstance(node.value, complex):
            return f"{expr[:60]!r} holds a complex number: a jump is real"
        if isinstance(node.value, int | float) and not abs(node.value) <= 1.7976931348623157e308:
            return f"{expr[:60]!r} holds a number too large for a float (it reads as inf)"
    return None


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _value(node: ast.AST, params: Mapping[str, Any]) -> Value | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):  # fmt: skip
        return float(node.value), DIMENSIONLESS
    if isinstance(node, ast.Name):
        if node.id in _ONES:
            return 1.0, DIMENSIONLESS
        p = params.get(node.id)
        return None if p is None else (float(p.value), tuple(p.dim))  # type: ignore[return-value]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _value(node.operand, params)
        return None if v is None else ((-v[0] if isinstance(node.op, ast.USub) else v[0]), v[1])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1 \
            and not node.keywords and node.func.id in ("int", "abs"):  # fmt: skip
        v = _value(node.args[0], params)
        if v is None:
            return None
        return (abs(v[0]) if node.func.id == "abs" else float(math.trunc(v[0]))), v[1]
    if isinstance(node, ast.BinOp):
        a, b = _value(node.left, params), _value(node.right, params)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Mult):
            return a[0] * b[0], _combine(a[1], b[1], 1)
        if isinstance(node.op, ast.Div):
            return a[0] / b[0], _combine(a[1], b[1], -1)
        if isinstance(node.op, ast.Add | ast.Sub) and a[1] == b[1]:
            return (a[0] + b[0] if isinstance(node.op, ast.Add) else a[0] - b[0]), a[1]
        if (
            isinstance(node.op, ast.Pow)
            and b[1] == DIMENSIONLESS
            and float(b[0]).is_integer()
            and abs(b[0]) <= 8
        ):  # fmt: skip  (a unit to a larger power: left to Brian2)
            return a[0] ** b[0], tuple(d * int(b[0]) for d in a[1])  # type: ignore[return-value]
    return None


def _combine(a: Dim, b: Dim, sign: int) -> Dim:
    return tuple(x + sign * y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]
