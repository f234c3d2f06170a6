"""The network's graph: populations and the projections between them, and which population every
parameter belongs to.

A network is a list of populations (population 0 is the input, the last one the output) and a
list of :class:`Projection` s between them. Connectivity is data:

- ``dense`` s -> d: a weight matrix ``W`` (shape ``(size_s, size_d)``) feeding d's input current
  ``z_d``. With s < d it is a forward projection; with s >= d a *feedback* projection.
- ``skip`` s -> d (s < d): adds s's activity to d's output *after* the nonlinearity, through the
  identity where the sizes agree and a learned matrix ``P`` where they differ (He et al. 2016,
  "Deep residual learning", doi:10.1109/CVPR.2016.90). It gives gradients a path around ``g``.

The named connectivities (:data:`NAMED`) build these lists: ``feedforward`` (dense
i -> i+1), ``residual`` (feedforward plus a skip from each hidden population to the next hidden
one), ``feedback`` (feedforward plus dense i+1 -> i for every pair above the input, i.e.
top-down projections) and ``volume`` (every population receives dense forward projections from
all earlier populations, the input included, and dense feedback from all later *hidden*
populations: the linear output is never fed back). :data:`CONNECTIVITIES` is the classic three
that the pipeline compares. Any other string names a graph file (TOML or JSON, see
:mod:`biorate.network.graphfile`).

A :class:`Graph` indexes the projections for the dynamics (:mod:`biorate.network.dynamics`): per
population the incoming dense and skip projections with their parameter names, and per parameter
the population it feeds (``owner``), so that nothing downstream parses parameter names.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BiorateWarning, NetworkError, caller_stacklevel
from .checks import whole

__all__ = ["CONNECTIVITIES", "NAMED", "Projection", "build_projections", "Graph",
           "feedback_cycle"]  # fmt: skip

CONNECTIVITIES = ("feedforward", "residual", "feedback")  # the pipeline's comparison
# the most projections a graph may list: a volume of 70 populations has ~4,800; each projection
# costs a Python step per time step and batch (a 40,400-projection graph took 57 s an epoch on xor)
MAX_PROJECTIONS = 5_000
NAMED = (*CONNECTIVITIES, "volume")  # every connectivity a name builds


@dataclass(frozen=True)
class Projection:
    """One projection ``source -> target`` of kind ``"dense"`` or ``"skip"`` (see module doc)."""

    source: int
    target: int
    kind: str = "dense"

    @property
    def feedback(self) -> bool:
        return self.kind == "dense" and self.source >= self.target

    def key(self, sizes: Sequence[int]) -> str | None:
        """Parameter name of its matrix; ``None`` for an identity skip (no parameters)."""
        if self.kind == "dense":
            return f"W{self.source}_{self.target}"
        if sizes[self.source] != sizes[self.target]:
            return f"P{self.source}_{self.target}"
        return None


def _named(sizes: Sequence[int], connectivity: str) -> list[Projection]:
    """The projection list of a connectivity from :data:`NAMED`."""
    L = len(sizes)
    if connectivity == "volume":
        # forward from every earlier population (in target order, so that i -> i+1 comes
        # first), then top-down from every later hidden population
        projs = [Projection(s, d) for d in range(1, L) for s in range(d)]
        return projs + [Projection(s, d) for d in range(1, L - 1) for s in range(d + 1, L - 1)]
    projs = [Projection(i, i + 1) for i in range(L - 1)]
    if connectivity == "residual":
        projs += [Projection(i - 1, i, "skip") for i in range(2, L - 1)]
    elif connectivity == "feedback":
        # top-down between hidden populations (the linear output, logits, is not fed back);
        # a single hidden population gets a recurrent projection onto itself instead
        projs += [Projection(i + 1, i) for i in range(1, L - 2)] or [Projection(1, 1)] * (L > 2)
    return projs


def _projection(item: Any) -> Projection:
    """A :class:`Projection` from itself, a dict ``{"source", "target", "kind"}`` or a tuple."""
    if isinstance(item, Projection):
        return item
    try:
        if isinstance(item, dict):
            parts = (item["source"], item["target"], item.get("kind", "dense"))
        elif isinstance(item, str | bytes) or len(item) not in (2, 3):
            raise TypeError
        else:
            parts = (item[0], item[1], item[2] if len(item) > 2 else "dense")
        if not isinstance(parts[2], str):
            raise TypeError
        return Projection(whole(parts[0], "source"), whole(parts[1], "target"), parts[2])
    except (KeyError, IndexError, TypeError, ValueError):
        raise NetworkError(f"bad projection {_short(item)}: expected (source, target, kind) with "
                           "whole-number populations and kind 'dense' or 'skip'") from None  # fmt: skip


def _short(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 80 else text[:77] + "..."


def build_projections(sizes: Sequence[int], connectivity: str | Sequence[Any],
                      names: Sequence[str] | None = None, *,
                      paths: bool = True) -> list[Projection]:  # fmt: skip
    """Projection list of a named connectivity, or validate an explicit one.

    ``connectivity`` is a name from :data:`NAMED`, the path of a graph file (``.toml`` or
    ``.json``, :mod:`biorate.network.graphfile`), or a sequence of :class:`Projection`, dicts
    ``{"source", "target", "kind"}`` or tuples ``(source, target, kind)``. ``names`` name the
    populations in messages; ``paths=False`` skips the input-to-output check (done once already,
    as a graph file's reader does with its names).
    """
    if isinstance(connectivity, str | os.PathLike) and connectivity not in NAMED:
        from .graphfile import looks_like_graph_file, read_graph_file

        if not looks_like_graph_file(connectivity):
            raise NetworkError(f"unknown connectivity {str(connectivity)!r}; choose one of "
                               f"{', '.join(NAMED)} or a graph file (.toml or .json)")  # fmt: skip
        return build_projections(sizes, read_graph_file(connectivity, sizes), paths=False)
    if isinstance(connectivity, str):
        return _capped(_named(sizes, connectivity))
    L = len(sizes)
    projs = []
    if isinstance(connectivity, dict):
        raise NetworkError("connectivity must be a name, a graph file or a list of projections, "
                           "not a dict (a graph file's content? save it as .toml or .json and "
                           "give its path)")  # fmt: skip
    if (isinstance(connectivity, bytes) or not hasattr(connectivity, "__iter__")
            or getattr(connectivity, "ndim", 1) == 0):  # fmt: skip
        raise NetworkError(f"connectivity must be one of {', '.join(NAMED)}, a graph file or a list "
                           f"of projections, got {_short(connectivity)}")  # fmt: skip
    for item in connectivity:
        p = _projection(item)
        if p.kind not in ("dense", "skip"):
            raise NetworkError(f"projection {p}: kind must be 'dense' or 'skip'")
        if not (0 <= p.source < L and 1 <= p.target < L):
            raise NetworkError(f"projection {p.source}->{p.target}: populations are 0..{L - 1} "
                               "and population 0 (the input) cannot be a target")  # fmt: skip
        if p.kind == "skip" and p.source >= p.target:
            raise NetworkError(f"skip projection {p.source}->{p.target} must go forward")
        projs.append(p)
    _capped(projs)
    if len(set(projs)) != len(projs):
        twice = next(p for i, p in enumerate(projs) if p in projs[:i])
        raise NetworkError(f"connectivity lists the {twice.kind} projection "
                           f"{twice.source}->{twice.target} twice")  # fmt: skip
    for d in range(1, L):
        if not any(p.kind == "dense" and p.target == d for p in projs):
            raise NetworkError(f"population {d} has no dense input projection")
    if paths:
        _check_paths(projs, L, names)
    return projs


def _reach(edges: dict[int, list[int]], start: int) -> set[int]:
    seen, todo = {start}, [start]
    while todo:
        for v in edges.get(todo.pop(), []):
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def _check_paths(projs: list[Projection], L: int, names: Sequence[str] | None = None) -> None:
    """The output is reached from the input (else it cannot depend on the input: it trained to
    chance and said 'converged'); a hidden population off every such path is warned about (its
    activity is a constant or is never read)."""
    succ: dict[int, list[int]] = {}
    pred: dict[int, list[int]] = {}
    for p in projs:
        succ.setdefault(p.source, []).append(p.target)
        pred.setdefault(p.target, []).append(p.source)

    def pop(p: int) -> str:  # a graph file's name beside the index
        return f"{p} ({names[p]!r})" if names is not None and p < len(names) else str(p)

    from_input, to_output = _reach(succ, 0), _reach(pred, L - 1)
    if L - 1 not in from_input:
        raise NetworkError(f"the output population {pop(L - 1)} is not reachable from the input: "
                           f"no path of projections leads from population {pop(0)} to it, so the "
                           "output cannot depend on the input")  # fmt: skip
    for d in range(1, L - 1):  # wasted units, not a wrong network (a saved one still loads)
        why = (f"is not reachable from the input (population {pop(0)}): its activity does not "
               "depend on the data" if d not in from_input else
               f"has no path to the output population {pop(L - 1)}: nothing reads its activity"
               if d not in to_output else None)  # fmt: skip
        if why is not None:
            warnings.warn(f"population {pop(d)} {why}", BiorateWarning,
                          stacklevel=caller_stacklevel())  # fmt: skip


def _capped(projs: list[Projection]) -> list[Projection]:
    """``projs``, refused when more than :data:`MAX_PROJECTIONS` (a named volume of 120 layers
    has 14,521)."""
    if len(projs) > MAX_PROJECTIONS:
        raise NetworkError(f"the connectivity has {len(projs):,} projections, more than "
                           f"{MAX_PROJECTIONS:,}: every projection is a step of the dynamics' "
                           "loop (40,400 trained at ~1 min an epoch); is it the right graph?")  # fmt: skip
    return projs


def feedback_cycle(projections: Sequence[Projection]) -> list[int] | None:
    """A cycle of the graph as the populations it visits (first = last), or None when it is
    acyclic. Every cycle contains a feedback projection (forward ones raise the index)."""
    succ: dict[int, list[int]] = {}
    for p in projections:
        succ.setdefault(p.source, []).append(p.target)
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    path: list[int] = []

    def visit(u: int) -> list[int] | None:
        state[u] = 1
        path.append(u)
        for v in succ.get(u, []):
            if state.get(v) == 1:
                return path[path.index(v) :] + [v]
            if v not in state and (found := visit(v)) is not None:
                return found
        state[u] = 2
        path.pop()
        return None

    for u in sorted(succ):
        if u not in state and (found := visit(u)) is not None:
            return found
    return None


class Graph:
    """Populations (``sizes``) and ``projections``, indexed for the dynamics.

    ``linear_output``: the output population passes its input current on unchanged (the logits of
    the cross-entropy losses) instead of applying ``g``. Attributes, per population ``p``:
    ``dense_in[p]`` and ``skip_in[p]``, the incoming ``(source, parameter name)`` pairs in
    projection order (``None`` names an identity skip); ``bias[p]``, the name of its bias.
    ``owner`` maps every parameter name to the population it feeds; ``weights`` holds the names
    of the matrices (what weight decay applies to).
    """

    def __init__(self, sizes: Sequence[int], projections: Sequence[Projection],
                 linear_output: bool, learned: Sequence[str] = (), pieces: int = 1) -> None:  # fmt: skip
        self.sizes = list(sizes)
        self.projections = list(projections)
        self.linear_output = bool(linear_output)
        L = len(self.sizes)
        self.dense_in: list[list[tuple[int, str]]] = [[] for _ in range(L)]
        self.skip_in: list[list[tuple[int, str | None]]] = [[] for _ in range(L)]
        for p in self.projections:
            lst = self.dense_in if p.kind == "dense" else self.skip_in
            lst[p.target].append((p.source, p.key(self.sizes)))
        self.bias = [None] + [f"b{p}" for p in range(1, L)]
        self.population_names = ["in"] + [f"h{i}" for i in range(1, L - 1)] + ["out"]
        self.has_feedback = any(p.feedback for p in self.projections)
        # per population applying g: its learned activation parameters (name, parameter name),
        # one value per unit (PReLU's alpha2, ...), and the pieces a unit takes the maximum of
        self.act_params: list[list[tuple[str, str]]] = [
            [(n, f"{n}{p}") for n in learned] if p and self.applies_g(p) else [] for p in range(L)
        ]
        self.pieces = [int(pieces) if p and self.applies_g(p) else 1 for p in range(L)]
        self.owner: dict[str, int] = {}
        for d in range(1, L):
            for _, key in self.dense_in[d] + self.skip_in[d]:
                if key is not None:
                    self.owner[key] = d
            self.owner[self.bias[d]] = d
            for _, key in self.act_params[d]:
                self.owner[key] = d
        # the matrices (what weight decay applies to): not biases, not activation parameters
        self.weights = frozenset(k for d in range(1, L) for _, k in self.dense_in[d] + self.skip_in[d]
                                 if k is not None)  # fmt: skip

    def width(self, p: int) -> int:
        """Columns of population ``p``'s input current: its size times its maxout pieces."""
        return self.sizes[p] * self.pieces[p]

    @property
    def output(self) -> int:
        return len(self.sizes) - 1

    def applies_g(self, p: int) -> bool:
        """Whether population ``p`` (>= 1) applies the activation to its input current."""
        return not (p == self.output and self.linear_output)

    def parameter_count(self) -> int:
        """Number of parameters: weights, learned skips, biases and learned activation
        parameters."""
        n = 0
        for d in range(1, len(self.sizes)):
            n += self.width(d) * (1 + sum(self.sizes[s] for s, _ in self.dense_in[d]))
            n += self.sizes[d] * len(self.act_params[d])
            n += sum(self.sizes[s] * self.sizes[d] for s, k in self.skip_in[d] if k is not None)
        return n

    def population_norms(self, grads: dict[str, np.ndarray]) -> dict[str, float]:
        """Euclidean norm of the gradients of every population's incoming parameters (its bias
        included), keyed by population name (``h1``, ..., ``out``)."""
        sq = [0.0] * len(self.sizes)
        for k, g in grads.items():
            sq[self.owner[k]] += float(np.vdot(g, g))
        return {self.population_names[p]: float(np.sqrt(sq[p])) for p in range(1, len(self.sizes))}
