"""Activation formulas: a small grammar of unary and binary units, parsed (never ``eval``-ed).

A formula is a function of one variable ``x`` written with these units (Ramachandran, Zoph & Le
2017, the search that found swish = ``x * sigmoid(x)``):

=============  =====================  =============  =============================
unit           written                unit           written
=============  =====================  =============  =============================
neg            ``-a``                 add, sub, mul  ``a + b``, ``a - b``, ``a * b``
abs            ``|a|``                max, min       ``max(a, b)``, ``min(a, b)``
square, cube   ``a^2``, ``a^3``       relu, min0     ``max(a, 0)``, ``min(a, 0)``
sqrt_abs       ``sqrt(|a|)``          gate           ``sigmoid(a) * b``
log1p_abs      ``log(1 + |a|)``       blend          ``blend(beta, a, b)`` =
exp, sin, cos  ``exp(a)``, ...                       beta*a + (1 - beta)*b, beta in [0, 1]
tanh, sigmoid  ``tanh(a)``, ...
erf, softplus  ``erf(a)``, ...
=============  =====================  =============  =============================

and constants (``0.5``, ``2``, ``1e-3``: non-negative in the tree; ``-2`` is ``neg`` of 2, at most
1e6). ``+``/``-`` bind weakest, then ``*``, then a leading ``-``, then ``^2``/``^3``.
:func:`parse` reads a string into an :class:`Expr` tree, ``str(expr)`` writes its one canonical
form (``parse(str(e)) == e``), :attr:`Expr.complexity` counts its nodes. Value and derivative
(:meth:`Expr.value_and_derivative`, chain and product rules on the tree) are vectorized and never
overflow: exponentials take arguments clipped to [-600, 230], and every node's value and slope is
clipped to ±1e100 (the slope taken as 0 where the value was clipped), so a float never becomes
inf or NaN. :func:`check` says why a formula is no usable activation (not finite, too large,
constant, a step) on a grid. ``erf`` is Numerical Recipes' ``erfc`` approximation (fractional
error < 1.2e-7; its derivative is the exact 2/sqrt(pi) exp(-a^2)): NumPy only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BiorateError
from ._stable import exp_neg, logistic, logistic_prime, softplus_unit

__all__ = ["Expr", "ExpressionError", "parse", "check", "UNARY", "BINARY", "UNITS", "x", "const",
           "MAX_CONST", "MAX_NODES", "BIG"]  # fmt: skip


class ExpressionError(BiorateError):
    """A formula that the grammar does not accept (or a malformed one)."""


BIG = 1e100  # every node's value and slope is clipped to +-BIG: floats never overflow
MAX_CONST = 1e6
MAX_NODES = 200
MAX_TEXT = 4000
_EXP_HI = 230.0  # exp(230) = 7.7e99 < BIG

# the primitive operations of the tree; relu, min0 and gate (see UNITS) are made of them
UNARY = ("neg", "abs", "square", "cube", "sqrt_abs", "log1p_abs", "exp", "sin", "cos", "tanh",
         "sigmoid", "erf", "softplus")  # fmt: skip
BINARY = ("add", "sub", "mul", "max", "min", "blend")
_CALLS = ("exp", "sin", "cos", "tanh", "sigmoid", "erf", "softplus")  # written name(a)
_INFIX = {"add": "+", "sub": "-", "mul": "*"}
# the units a search may use: each unary unit builds a node from one argument, each binary one
# from two (see biorate.search.space)
UNITS = {"unary": (*UNARY, "relu", "min0"), "binary": ("add", "sub", "mul", "max", "min", "gate",
                                                       "blend")}  # fmt: skip


@dataclass(frozen=True)
class Expr:
    """One node of a formula: ``op`` (``"x"``, ``"const"``, a :data:`UNARY` or :data:`BINARY`
    name), its ``args`` and ``value`` (the constant, or blend's beta). Compared by structure."""

    op: str
    args: tuple[Expr, ...] = ()
    value: float = 0.0

    def __str__(self) -> str:
        return _format(self)

    @property
    def complexity(self) -> int:
        """The number of nodes (``x * sigmoid(x)``: 4)."""
        return 1 + sum(a.complexity for a in self.args)

    @property
    def depth(self) -> int:
        """Leaves have depth 1."""
        return 1 + max((a.depth for a in self.args), default=0)

    def __call__(self, z: Any) -> np.ndarray:
        """g(z), elementwise."""
        return self.value_and_derivative(z)[0]

    def derivative(self, z: Any) -> np.ndarray:
        """g'(z), elementwise, from the composition (chain and product rules)."""
        return self.value_and_derivative(z)[1]

    def value_and_derivative(self, z: Any) -> tuple[np.ndarray, np.ndarray]:
        """(g(z), g'(z)) as float arrays of ``z``'s shape; finite for every finite z."""
        z = np.clip(np.asarray(z, dtype=float), -BIG, BIG)
        with np.errstate(all="ignore"):
            v, d = _eval(self, z)
        return np.broadcast_to(v, z.shape).copy(), np.broadcast_to(d, z.shape).copy()


X = Expr("x")
x = X


def const(v: float) -> Expr:
    """A constant node; ``v`` must be finite, non-negative and at most :data:`MAX_CONST`."""
    v = float(v)
    if not (0.0 <= v <= MAX_CONST):
        raise ExpressionError(f"a constant must be a number in [0, {MAX_CONST:g}] (a negative one "
                              f"is written -c), got {v!r}")  # fmt: skip
    return Expr("const", (), v + 0.0)


def _unary(op: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(u) and f'(u) of a unary op."""
    if op == "neg":
        return -u, np.full_like(u, -1.0)
    if op == "abs":
        return np.abs(u), np.sign(u)
    if op == "square":
        return u * u, 2.0 * u
    if op == "cube":
        return u * u * u, 3.0 * u * u
    if op == "sqrt_abs":
        r = np.sqrt(np.abs(u))
        return r, np.sign(u) * 0.5 / np.maximum(r, 1e-50)
    if op == "log1p_abs":
        return np.log1p(np.abs(u)), np.sign(u) / (1.0 + np.abs(u))
    if op == "exp":
        e = np.exp(np.clip(u, -600.0, _EXP_HI))
        return e, np.where(u > _EXP_HI, 0.0, e)
    if op == "sin":
        return np.sin(u), np.cos(u)
    if op == "cos":
        return np.cos(u), -np.sin(u)
    if op == "tanh":
        return np.tanh(u), 4.0 * logistic_prime(2.0 * u)
    if op == "sigmoid":
        return logistic(u), logistic_prime(u)
    if op == "softplus":
        return softplus_unit(u), logistic(u)
    if op == "erf":
        a = np.abs(u)
        t = 1.0 / (1.0 + 0.5 * a)
        poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
            -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
                -0.82215223 + t * 0.17087277))))))))  # fmt: skip
        erfc = t * exp_neg(np.minimum(a, 30.0) ** 2 - poly)
        return np.sign(u) * (1.0 - erfc), (2.0 / math.sqrt(math.pi)) * exp_neg(
            np.minimum(a, 30.0) ** 2
        )
    raise ExpressionError(f"unknown unary op {op!r}")  # pragma: no cover


def _eval(e: Expr, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if e.op == "x":
        return z, np.ones_like(z)
    if e.op == "const":
        return np.full_like(z, e.value), np.zeros_like(z)
    if len(e.args) == 1:
        u, du = _eval(e.args[0], z)
        f, fp = _unary(e.op, u)
        v, d = f, fp * du
    else:
        (a, da), (b, db) = _eval(e.args[0], z), _eval(e.args[1], z)
        if e.op == "add":
            v, d = a + b, da + db
        elif e.op == "sub":
            v, d = a - b, da - db
        elif e.op == "mul":
            v, d = a * b, da * b + a * db
        elif e.op == "max":  # a tie takes b's slope (relu = max(x, 0) has slope 0 at 0)
            v, d = np.maximum(a, b), np.where(a > b, da, db)
        elif e.op == "min":
            v, d = np.minimum(a, b), np.where(a < b, da, db)
        else:  # blend
            v, d = e.value * a + (1.0 - e.value) * b, e.value * da + (1.0 - e.value) * db
    # nothing here overflows (|a|, |b| <= BIG, slopes <= 3 BIG^2 * BIG < 1.8e308); clip back,
    # unless every value and slope is within +-BIG already (the clip is then the identity: the
    # same numbers at a quarter of the array passes; NaN fails the test and takes the clip)
    if not v.size or (-BIG <= v.min() and v.max() <= BIG and -BIG <= d.min() and d.max() <= BIG):
        return v, d
    d = np.where(np.abs(v) > BIG, 0.0, d)
    return np.minimum(np.maximum(v, -BIG), BIG), np.minimum(np.maximum(d, -BIG), BIG)


# --- writing ----------------------------------------------------------------------------------
_PREC = {"add": 1, "sub": 1, "mul": 2, "neg": 3, "square": 4, "cube": 4}  # others: 5 (atoms)


def _number(v: float) -> str:
    return str(int(v)) if v == int(v) and v < 1e15 else repr(v)


def _format(e: Expr, need: int = 0) -> str:
    op, args = e.op, e.args
    if op == "x":
        s = "x"
    elif op == "const":
        s = _number(e.value)
    elif op in _INFIX:
        left = 1 if op != "mul" else 2
        s = f"{_format(args[0], left)} {_INFIX[op]} {_format(args[1], left + 1)}"
    elif op == "neg":
        s = "-" + _format(args[0], 3)
    elif op in ("square", "cube"):
        s = _format(args[0], 5) + ("^2" if op == "square" else "^3")
    elif op == "abs":
        s = f"|{_format(args[0])}|"
    elif op == "sqrt_abs":
        s = f"sqrt(|{_format(args[0])}|)"
    elif op == "log1p_abs":
        s = f"log(1 + |{_format(args[0])}|)"
    elif op == "blend":
        s = f"blend({_number(e.value)}, {_format(args[0])}, {_format(args[1])})"
    elif op in ("max", "min"):
        s = f"{op}({_format(args[0])}, {_format(args[1])})"
    else:
        s = f"{op}({_format(args[0])})"
    return f"({s})" if _PREC.get(op, 5) < need else s


# --- reading ----------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<sym>[-+*^|(),]))", re.ASCII)  # fmt: skip


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        m = _TOKEN.match(text, i)
        if m is None:
            raise ExpressionError(f"unexpected character {text[i]!r} at position {i + 1}")
        kind = m.lastgroup or "sym"
        out.append((kind, m.group(kind), m.start(kind)))
        i = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks, self.i, self.nodes, self.level = _tokens(text), 0, 0, 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def where(self) -> str:
        return f"position {self.toks[self.i][2] + 1}" if self.i < len(self.toks) else "the end"

    def take(self, want: str | None = None) -> tuple[str, str, int]:
        if self.i >= len(self.toks):
            raise ExpressionError(
                f"unexpected end of formula{f' (expected {want!r})' if want else ''}"
            )
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise ExpressionError(f"expected {want!r} at {self.where()}, found {tok[1]!r}")
        self.i += 1
        return tok

    def node(self, op: str, args: tuple[Expr, ...] = (), value: float = 0.0) -> Expr:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"a formula has at most {MAX_NODES} nodes")
        return const(value) if op == "const" else Expr(op, args, value)

    def nested(self, fn: Any) -> Expr:
        self.level += 1
        if self.level > 60:
            raise ExpressionError("a formula nests at most 60 levels deep")
        try:
            return fn()
        finally:
            self.level -= 1

    def expr(self) -> Expr:
        e = self.term()
        while self.peek() in ("+", "-"):
            op = "add" if self.take()[1] == "+" else "sub"
            e = self.node(op, (e, self.term()))
        return e

    def term(self) -> Expr:
        e = self.unary()
        while self.peek() == "*":
            self.take()
            e = self.node("mul", (e, self.unary()))
        return e

    def unary(self) -> Expr:
        if self.peek() == "-":
            self.take()
            return self.node("neg", (self.nested(self.unary),))
        e = self.atom()
        if self.peek() == "^":
            self.take()
            kind, text, _ = self.take()
            if kind != "num" or text not in ("2", "3"):
                raise ExpressionError(f"a power is ^2 or ^3, found ^{text}")
            e = self.node("square" if text == "2" else "cube", (e,))
        return e

    def atom(self) -> Expr:
        kind, text, pos = self.take()
        if kind == "num":
            v = float(text)
            if not v <= MAX_CONST:
                raise ExpressionError(f"constant {text} is larger than {MAX_CONST:g}")
            return self.node("const", value=v)
        if text == "(":
            e = self.nested(self.expr)
            self.take(")")
            return e
        if text == "|":
            e = self.nested(self.expr)
            self.take("|")
            return self.node("abs", (e,))
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} at position {pos + 1}")
        if text == "x":
            return self.node("x")
        if text not in (*_CALLS, "sqrt", "log", "max", "min", "blend"):
            raise ExpressionError(f"unknown unit {text!r}; the units are x, constants, + - * ^2 "
                                  f"^3 |a|, sqrt(|a|), log(1 + |a|), {', '.join(_CALLS)}, max, "
                                  "min, blend(beta, a, b)")  # fmt: skip
        self.take("(")
        if text == "blend":
            k, num, _ = self.take()
            beta = float(num) if k == "num" else math.nan
            if not 0.0 <= beta <= 1.0:
                raise ExpressionError(f"blend's beta is a number in [0, 1], found {num!r}")
            self.take(",")
            a = self.nested(self.expr)
            self.take(",")
            e = self.node("blend", (a, self.nested(self.expr)), beta)
        elif text in ("max", "min"):
            a = self.nested(self.expr)
            self.take(",")
            e = self.node(text, (a, self.nested(self.expr)))
        else:
            e = self.nested(self.expr)
            if text == "sqrt":
                if e.op != "abs":
                    raise ExpressionError("sqrt takes an absolute value: sqrt(|a|)")
                e = self.node("sqrt_abs", e.args)
            elif text == "log":
                one, rest = e.args if e.op == "add" else (None, None)
                if not (one == const(1.0) and rest is not None and rest.op == "abs"):
                    raise ExpressionError("log takes one plus an absolute value: log(1 + |a|)")
                e = self.node("log1p_abs", rest.args)
            else:
                e = self.node(text, (e,))
        self.take(")")
        return e


def parse(text: Any) -> Expr:
    """The :class:`Expr` a formula string writes; :class:`ExpressionError` naming what is wrong
    (an unknown unit, a missing parenthesis, a constant out of range...) for anything else."""
    if isinstance(text, Expr):
        return text
    if not isinstance(text, str):
        raise ExpressionError(f"a formula is a string, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the formula is empty")
    if len(text) > MAX_TEXT:
        raise ExpressionError(f"a formula has at most {MAX_TEXT} characters")
    p = _Parser(text)
    e = p.expr()
    if p.i < len(p.toks):
        raise ExpressionError(f"unexpected {p.toks[p.i][1]!r} at {p.where()}")
    return e


def check_grid() -> np.ndarray:
    """The points :func:`check` samples: every 0.01 on [-10, 10], and between each two of them a
    point at the golden section of the step (an irrational fraction: a formula that vanishes with
    its slope on a regular grid, such as sin(100*pi*x)^2 on this one, does not on both)."""
    regular = np.linspace(-10.0, 10.0, 2001)
    return np.sort(np.concatenate([regular, regular[:-1] + 0.01 * 0.3819660112501051]))


def check(e: Expr, z: np.ndarray | None = None, max_value: float = 1e6,
          min_slope: float = 1e-6) -> str | None:  # fmt: skip
    """Why ``e`` is no usable activation on ``z`` (default: :func:`check_grid`, 4001 points on
    [-10, 10]), or None: ``"not finite ..."``, ``"overflow: ..."`` (``|g|`` or ``|g'|`` beyond
    ``max_value``), ``"unresolved: ..."`` (a step narrower than the grid), ``"constant: ..."``
    (``|g'|`` below ``min_slope`` everywhere)."""
    z = check_grid() if z is None else np.asarray(z, dtype=float)
    g, d = e.value_and_derivative(z)
    span = f"z in [{z.min():g}, {z.max():g}]"
    for name, arr in (("g", g), ("g'", d)):
        if not np.all(np.isfinite(arr)):
            return f"not finite: {name}(z) is NaN or infinite on {span}"
        top = int(np.argmax(np.abs(arr)))
        if abs(arr[top]) > max_value:
            return (f"overflow: |{name}(z)| reaches {abs(arr[top]):.3g} at z = {z[top]:.3g}, "
                    f"beyond {max_value:g}")  # fmt: skip
    constant = f"constant: |g'(z)| < {min_slope:g} everywhere on {span}"
    if np.ptp(g) < min_slope:  # flat (a slope at a tie of max/min is no step)
        return constant
    step = _unresolved(z, g, d)
    if step:
        return step
    if np.max(np.abs(d)) < min_slope:
        return constant
    return None


# how far a grid step's change of g and the change its end slopes predict may disagree before
# g counts as varying faster than the grid resolves (smooth functions, kinks and sqrt|x| at 0
# stay within a factor of ~2 on the default grid of step 0.01)
_RESOLUTION = 100.0


def _unresolved(z: np.ndarray, g: np.ndarray, d: np.ndarray) -> str | None:
    """Why ``g`` varies faster than the grid ``z`` resolves, or None: a jump between two points
    whose slopes are flat (a step off the grid), or a slope at a point that its neighbours'
    changes of g do not bear out (a step on the grid, e.g. sigmoid(1e6*x) at 0). Either way the
    checks above saw nothing of it, and training would meet a step."""
    if z.size < 3:
        return None
    h = np.abs(np.diff(z))
    dg = np.abs(np.diff(g))
    tol = 1e-9 + 1e-3 * float(np.ptp(g))
    slope = np.maximum(np.abs(d[:-1]), np.abs(d[1:])) * h  # the change the end slopes predict
    jump = (dg > tol) & (dg > _RESOLUTION * slope)
    if jump.any():
        i = int(np.argmax(jump))
        return (f"unresolved: g jumps by {dg[i]:.3g} between z = {z[i]:.4g} and {z[i + 1]:.4g}, "
                f"where its slope is at most {slope[i] / h[i]:.3g} (a step narrower than the "
                "check's grid)")  # fmt: skip
    around = np.zeros(z.size)  # g's change over the steps on either side of each point
    around[:-1] += dg
    around[1:] += dg
    wide = np.abs(d) * np.median(h)
    spike = (wide > tol) & (wide > _RESOLUTION * (around + tol))
    if spike.any():
        i = int(np.argmax(spike))
        return (f"unresolved: g'(z) = {d[i]:.3g} at z = {z[i]:.4g}, but g changes by only "
                f"{around[i]:.3g} over the grid steps around it (a step narrower than the "
                "check's grid)")  # fmt: skip
    return None
