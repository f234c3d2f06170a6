"""Regularized evolution (Real, Aggarwal, Huang & Le 2019, "Regularized evolution for image
classifier architecture search"), in fixed-size batches so that the search is reproducible.

A population of ``population`` random candidates is evaluated; then, until ``budget`` candidates
have been evaluated, each batch of ``batch`` children is proposed from the population as it stands:
for each child, ``sample`` members are drawn without replacement, the fittest of them (the first
in the sample among equals) is mutated, and the child joins the population while the oldest member
dies (age, not fitness, decides who leaves: the "regularization"). The children of a batch are
evaluated together (on Dask, in any order), then join in the order they were proposed.

So the sequence of candidates depends only on the seed of the generator and the fitness values,
never on how many workers evaluate them or in which order results arrive: the same seed gives the
same search, and a resumed search (evaluations read back from files) the same one as a run that
was never interrupted. A child already evaluated (the same canonical string, or the same
``fingerprint``: for formulas, the same values on a grid and the same complexity, so
``blend(0.5, x, x)`` is ``max(x, x)`` again)
is proposed again only when 20 mutations in a row found nothing new; its fitness is then reused
when it is the same string, or it is evaluated (a formula equal in value to another gets the
same scores; only its complexity penalty differs).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["evolve", "Candidate", "MAX_TRIES"]

MAX_TRIES = 20


@dataclass(frozen=True)
class Candidate:
    """One evaluated candidate: its ``index`` in the order of evaluation, the candidate itself,
    its ``key`` (canonical string) and ``fitness`` (``-inf`` for a rejected one)."""

    index: int
    item: Any
    key: str
    fitness: float


def _fit(f: float | None) -> float:
    return -math.inf if f is None or not math.isfinite(f) else float(f)


def evolve(
    rng: np.random.Generator,
    *,
    budget: int,
    population: int,
    sample: int,
    batch: int,
    random: Callable[[np.random.Generator], Any],
    mutate: Callable[[Any, np.random.Generator], Any],
    evaluate: Callable[[Sequence[Any]], Sequence[float | None]],
    key: Callable[[Any], Hashable] = str,
    fingerprint: Callable[[Any], Hashable] | None = None,
) -> list[Candidate]:
    """Run regularized evolution; the evaluated candidates in the order they were proposed.

    ``random(rng)`` draws a new candidate, ``mutate(item, rng)`` a child of one, and
    ``evaluate(items)`` returns the fitness of each (higher is better; None or NaN for a rejected
    candidate). ``budget`` counts candidates, the initial population included. ``fingerprint``
    (optional) names what makes two candidates the same beside their ``key``.
    """
    seen: dict[Hashable, float] = {}
    prints: set = set()
    marks: dict[Hashable, Hashable] = {}  # key -> fingerprint, each computed once

    def same(item: Any) -> Hashable:
        k = key(item)
        if k not in marks:
            marks[k] = fingerprint(item) if fingerprint else k
        return marks[k]

    history: list[Candidate] = []

    def run(items: list[Any]) -> list[Candidate]:
        fresh = [it for it in items if key(it) not in seen]
        for it, f in zip(fresh, evaluate(fresh), strict=True):
            seen[key(it)] = _fit(f)
        prints.update(same(it) for it in items)
        out = [Candidate(len(history) + i, it, str(key(it)), seen[key(it)])
               for i, it in enumerate(items)]  # fmt: skip
        history.extend(out)
        return out

    def draw(make: Callable[[], Any], taken: set) -> Any:
        for _ in range(MAX_TRIES):
            item = make()
            mark = same(item)
            if key(item) not in seen and mark not in prints and mark not in taken:
                break
        taken.add(same(item))
        return item

    first: list[Any] = []
    taken: set = set()
    for _ in range(min(population, budget)):
        first.append(draw(lambda: random(rng), taken))
    pop = deque(run(first))
    while len(history) < budget:
        children, taken = [], set()
        members = list(pop)
        for _ in range(min(batch, budget - len(history))):
            picks = rng.choice(len(members), size=min(sample, len(members)), replace=False)
            parent = max((members[int(i)] for i in picks), key=lambda c: c.fitness)
            children.append(draw(lambda p=parent: mutate(p.item, rng), taken))
        for c in run(children):
            pop.append(c)
            if len(pop) > population:
                pop.popleft()
    return history
