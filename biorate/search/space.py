"""The formula space: random formulas and their mutations, drawn from a ``numpy.random.Generator``.

A formula (:mod:`biorate.forms.expression`) is a tree of the units a spec allows
(:data:`~biorate.forms.expression.UNITS`), at most ``max_depth`` levels deep; its leaves are ``x``
(4 times in 5) or a constant from :data:`CONSTANTS`. Mutations, as in regularized evolution
(Real et al. 2019) on the units of Ramachandran et al. (2017):

- ``replace``: a subtree becomes a new random one;
- ``unit``: a unary unit becomes another unary one, or a binary unit another binary one;
- ``constant``: a constant (or blend's beta) is perturbed;
- ``wrap``: a subtree ``a`` becomes ``u(a)`` or ``b(a, new)`` for a unit u or b;
- ``unwrap``: a subtree is replaced by one of its arguments.

Every draw comes from the generator passed in, so the same seed makes the same formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..forms.expression import BINARY, UNARY, UNITS, Expr, const, x

__all__ = ["FormulaSpace", "CONSTANTS", "MUTATIONS"]

CONSTANTS = (0.0, 0.5, 1.0, 2.0)
MUTATIONS = ("replace", "unit", "constant", "wrap", "unwrap")
_Path = tuple[int, ...]
_PROBE = np.linspace(-6.0, 6.0, 64)


@dataclass(frozen=True)
class FormulaSpace:
    """Formulas of the ``units`` (names of :data:`~biorate.forms.expression.UNITS`) at most
    ``max_depth`` deep."""

    units: tuple[str, ...]
    max_depth: int = 4

    @property
    def unary(self) -> tuple[str, ...]:
        return tuple(u for u in self.units if u in UNITS["unary"])

    @property
    def binary(self) -> tuple[str, ...]:
        return tuple(u for u in self.units if u in UNITS["binary"])

    # --- building ---------------------------------------------------------------------------
    def leaf(self, rng: np.random.Generator) -> Expr:
        if rng.random() < 0.8:
            return x
        return const(CONSTANTS[int(rng.integers(len(CONSTANTS)))])

    def apply(self, unit: str, args: Sequence[Expr], rng: np.random.Generator) -> Expr:
        """The node of ``unit`` over ``args`` (one for a unary unit, two for a binary one)."""
        if unit == "relu":
            return Expr("max", (args[0], const(0.0)))
        if unit == "min0":
            return Expr("min", (args[0], const(0.0)))
        if unit == "gate":
            return Expr("mul", (Expr("sigmoid", (args[0],)), args[1]))
        if unit == "blend":
            return Expr("blend", tuple(args), round(float(rng.uniform(0.1, 0.9)), 2))
        return Expr(unit, tuple(args))

    def random(self, rng: np.random.Generator, depth: int | None = None) -> Expr:
        """A random formula at most ``depth`` (default ``max_depth``) deep."""
        depth = self.max_depth if depth is None else depth
        unary = self.unary if depth >= 2 else ()
        binary = tuple(u for u in self.binary if u != "gate" or depth >= 3) if depth >= 2 else ()
        kinds = [k for k, units in (("unary", unary), ("binary", binary)) if units]
        if not kinds or (depth < self.max_depth and rng.random() < 0.3):
            return self.leaf(rng)
        kind = kinds[int(rng.integers(len(kinds)))]
        units = unary if kind == "unary" else binary
        unit = units[int(rng.integers(len(units)))]
        # gate = sigmoid(a) * b puts a two levels down
        args = [self.random(rng, depth - (2 if unit == "gate" and i == 0 else 1))
                for i in range(1 if kind == "unary" else 2)]  # fmt: skip
        return self.apply(unit, args, rng)

    def fingerprint(self, e: Expr) -> tuple[int, bytes]:
        """What makes two formulas the same candidate: their complexity and their values at 64
        points of [-6, 6], to 9 decimals (``blend(0.3, x, x)`` is ``max(x, x)`` again, while the
        simpler ``x`` is new)."""
        return e.complexity, (np.round(e(_PROBE), 9) + 0.0).tobytes()

    # --- mutating ---------------------------------------------------------------------------
    def mutate(self, e: Expr, rng: np.random.Generator) -> Expr:
        """One random mutation of ``e`` (see the module doc), kept within ``max_depth``; ``e``
        itself when no mutation applies (the caller draws again)."""
        kind = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        paths = _paths(e)
        path = paths[int(rng.integers(len(paths)))]
        node = _get(e, path)
        level = len(path)  # the node's depth is level + 1
        if kind == "replace":
            new = self.random(rng, self.max_depth - level)
        elif kind == "unit":
            new = self._change_unit(node, rng)
        elif kind == "constant":
            consts = [p for p in paths if _get(e, p).op in ("const", "blend")]
            if not consts:
                return e
            path = consts[int(rng.integers(len(consts)))]
            new = _perturb(_get(e, path), rng)
        elif kind == "wrap":
            new = self._wrap(node, rng)
        else:
            new = node.args[int(rng.integers(len(node.args)))] if node.args else node
        out = _put(e, path, new)
        return out if out.depth <= self.max_depth else e

    def _change_unit(self, node: Expr, rng: np.random.Generator) -> Expr:
        prims = UNARY if len(node.args) == 1 else BINARY if len(node.args) == 2 else ()
        allowed = [u for u in (self.unary if len(node.args) == 1 else self.binary)
                   if u in prims and u != node.op]  # fmt: skip
        if not allowed:
            return node
        op = allowed[int(rng.integers(len(allowed)))]
        value = round(float(rng.uniform(0.1, 0.9)), 2) if op == "blend" else 0.0
        return Expr(op, node.args, value)

    def _wrap(self, node: Expr, rng: np.random.Generator) -> Expr:
        units = self.unary + self.binary
        if not units:
            return node
        unit = units[int(rng.integers(len(units)))]
        if unit in self.unary:
            return self.apply(unit, [node], rng)
        other = self.random(rng, 2) if rng.random() < 0.5 else self.leaf(rng)
        args = [node, other] if rng.random() < 0.5 else [other, node]
        return self.apply(unit, args, rng)


def _perturb(node: Expr, rng: np.random.Generator) -> Expr:
    """A constant times e^N(0, 0.5) (or one of :data:`CONSTANTS`, 1 time in 4), 3 digits; blend's
    beta moved by N(0, 0.15) within [0, 1], 2 digits."""
    if node.op == "blend":
        beta = float(np.clip(node.value + rng.normal(0.0, 0.15), 0.0, 1.0))
        return Expr("blend", node.args, round(beta, 2))
    if rng.random() < 0.25 or node.value == 0.0:
        return const(CONSTANTS[int(rng.integers(len(CONSTANTS)))])
    return const(min(float(f"{node.value * np.exp(rng.normal(0.0, 0.5)):.3g}"), 1e6))


def _paths(e: Expr, path: _Path = ()) -> list[_Path]:
    out = [path]
    for i, a in enumerate(e.args):
        out += _paths(a, (*path, i))
    return out


def _get(e: Expr, path: _Path) -> Expr:
    for i in path:
        e = e.args[i]
    return e


def _put(e: Expr, path: _Path, new: Expr) -> Expr:
    if not path:
        return new
    args = list(e.args)
    args[path[0]] = _put(args[path[0]], path[1:], new)
    return Expr(e.op, tuple(args), e.value)
