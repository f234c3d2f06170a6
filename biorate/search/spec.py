"""Search specifications: the space, the strategy's budget and the objective, from a TOML file.

Validated completely, field by field, before anything runs or is written (an unknown key, a unit
that the grammar does not have, an empty grammar, a budget < 1, an unknown dataset or target is a
:class:`~biorate.sweep.SpecError`, or the dataset's or network's own error, naming the field)::

    schema = 1
    name = "formula_digits"

    [search]
    space = "formula"          # the formula space (biorate.forms.expression)
    seed = 0                   # same seed, same leaderboard
    budget = 200               # candidates evaluated, the initial population included
    population = 20            # regularized evolution: P
    sample = 5                 #   S (tournament size)
    batch = 8                  #   children proposed (and evaluated in parallel) at a time
    workers = 2                # optional: local Dask workers; 0 = in this process

    [objective]
    kind = "accuracy"          # validation accuracy (median over seeds) - penalty * complexity
    dataset = "digits"         # any name load_dataset takes
    hidden = [32]              # hidden population sizes (input and output from the dataset)
    connectivity = "feedforward"
    epochs = 30                # the cap (training stops earlier once converged)
    seeds = 3                  # k: networks seeded 0..k-1
    validation_fraction = 0.2  # split off the training set (never the test set), stratified
    complexity_penalty = 0.001

    # or: kind = "distance", target = "swish" (a built-in activation or a formula),
    #     metric = "max" | "rmse", z_range = [-5.0, 5.0], points = 201
    # a neuron search only: spiking_duration = "200 ms" scores each seed's network deployed on
    #     the validation images for that time (Brian2; spiking_target = "auto" | "numpy" |
    #     "cython"): the spiking accuracies are the scores, the rate networks' kept beside them

    [formula]
    max_depth = 4
    units = ["tanh", "sigmoid", "mul", ...]   # optional: a subset of the grammar's units

    # or, with space = "neuron": a [neuron] table (biorate.search.neuron_spec.neuron_space)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..activation import BUILTINS
from ..errors import BiorateError
from ..forms.expression import UNITS, ExpressionError, check, parse
from ..io import limit_from_env, read_toml
from ..schema import Fields
from ..sweep.cluster import MAX_WORKERS
from ..sweep.values import SpecError
from .neuron import NeuronSpace
from .neuron_spec import neuron_space
from .space import FormulaSpace

__all__ = ["SearchSpec", "load_search_spec", "SPACES", "OBJECTIVES", "MAX_BUDGET"]

SCHEMA = 1
SPACES = ("formula", "neuron")
OBJECTIVES = ("accuracy", "distance")
MAX_BUDGET = 100_000
MAX_SEEDS = 100
MAX_UNITS = 4096  # per hidden population
MAX_LAYERS = 8
MAX_EPOCHS = 10_000
# the most work one evaluation may ask for: 1e13 floating-point operations, about 15 minutes of this
# machine's training (the example specs ask 2e9 and 4e10)
MAX_EVAL_FLOPS = 1e13
# the most work a whole search may ask for (budget x one evaluation): 1e15, about a day here (the
# example specs ask 4e11 and 2e12); a search that would run for months is refused before it starts
MAX_SEARCH_FLOPS = 1e15
_TOP = ("schema", "name", "search", "objective", "formula", "neuron")
_SEARCH = ("space", "seed", "budget", "population", "sample", "batch", "workers")
_COMMON = ("kind",)
_ACCURACY = ("dataset", "hidden", "connectivity", "epochs", "seeds", "validation_fraction",
             "complexity_penalty", "spiking_duration", "spiking_target")  # fmt: skip
# the longest presentation a spiking objective may ask for (deploy's own limit on its work holds too)
MAX_SPIKING_DURATION_S = 10.0
_DISTANCE = ("target", "metric", "z_range", "points", "complexity_penalty")


@dataclass(frozen=True)
class SearchSpec:
    """A validated search: ``name``, the strategy's numbers, the ``objective`` as plain data
    (what every evaluation's hash covers) and the ``space``: formulas, or a neuron's parameters
    (:mod:`biorate.search.neuron`)."""

    name: str
    seed: int
    budget: int
    population: int
    sample: int
    batch: int
    workers: int | None
    objective: Mapping[str, Any]
    space: FormulaSpace | NeuronSpace
    source: Mapping[str, Any] = field(default_factory=dict)

    @property
    def penalty(self) -> float:
        return float(self.objective.get("complexity_penalty", 0.0))

    @property
    def kind(self) -> str:
        """``"formula"`` or ``"neuron"``."""
        return "neuron" if isinstance(self.space, NeuronSpace) else "formula"

    def describe(self) -> dict:
        """A JSON-able summary (``search.json``)."""
        out = {"name": self.name, "space": self.kind, "seed": self.seed, "budget": self.budget,
               "population": self.population, "sample": self.sample, "batch": self.batch,
               "workers": self.workers, "objective": dict(self.objective)}  # fmt: skip
        if isinstance(self.space, NeuronSpace):
            sp = self.space
            out["neuron"] = {**sp.describe(), "bounds": {n: [lo, hi] for n, lo, hi in sp.bounds},
                             "units": list(sp.units)}  # fmt: skip
        else:
            out["formula"] = {"max_depth": self.space.max_depth, "units": list(self.space.units)}
        return out


def load_search_spec(spec: str | os.PathLike | Mapping[str, Any]) -> SearchSpec:
    """Read and validate a search spec (a TOML path, or its content as a dict); errors are one
    line naming the file and the field."""
    if isinstance(spec, Mapping):
        data, where = dict(spec), "search spec"
    elif isinstance(spec, str | os.PathLike):
        data, where = read_toml(Path(spec), "search spec", SpecError), str(spec)
    else:
        raise SpecError(f"a search spec is a TOML file path or a dict, got {type(spec).__name__}")
    try:
        return _build(data, where)
    except BiorateError as exc:
        msg = str(exc)
        raise type(exc)(msg if msg.startswith(where) else f"{where}: {msg}") from None


def _build(data: Mapping, where: str) -> SearchSpec:
    top = Fields(data, where, SpecError)
    top.unknown(_TOP)
    top.integer("schema", SCHEMA, lo=SCHEMA, hi=SCHEMA)
    name = top.text("name", "search")
    if not name.isprintable() or len(name) > 100:
        raise top.fail("name", "a printable name of at most 100 characters")
    s = top.table("search")
    s.unknown(_SEARCH)
    kind_of_space = s.text("space", choices=SPACES)
    budget = s.integer("budget", lo=1, hi=MAX_BUDGET)
    population = s.integer("population", min(20, budget), lo=1, hi=budget)
    out = {
        "name": name,
        "seed": s.integer("seed", lo=0, hi=2**32 - 1),
        "budget": budget,
        "population": population,
        "sample": s.integer("sample", min(5, population), lo=1, hi=population),
        "batch": s.integer("batch", 8, lo=1, hi=1000),
        "workers": s.integer("workers", None, lo=0, hi=MAX_WORKERS),
    }
    if kind_of_space == "neuron":
        if top.has("formula"):
            raise top.fail("formula", "a neuron search has a [neuron] table, not [formula]")
        space: FormulaSpace | NeuronSpace = neuron_space(top.table("neuron"))
    else:
        if top.has("neuron"):
            raise top.fail("neuron", "a formula search has a [formula] table, not [neuron]")
        space = _space(top.table("formula", {}))
    obj = top.table("objective")
    kind = obj.text("kind", choices=OBJECTIVES)
    if kind_of_space == "neuron" and kind != "accuracy":
        raise obj.fail("kind", "a neuron search scores its activations by accuracy (a distance "
                               "between fitted curves of different scales means nothing)")  # fmt: skip
    obj.unknown(_COMMON + (_ACCURACY if kind == "accuracy" else _DISTANCE))
    objective = _accuracy(obj, space) if kind == "accuracy" else _distance(obj)
    if kind == "accuracy":
        flops = objective.pop("_flops")  # not part of the objective (evaluations hash it)
        flops += _measuring_flops(space)
        limit = limit_from_env("BIORATE_MAX_SEARCH_FLOPS", MAX_SEARCH_FLOPS, SpecError)
        if flops * budget > limit:
            raise s.fail("budget", f"{budget:,} evaluations x about {flops:.2g} "
                                     f"floating-point operations each (a measured curve's "
                                     f"simulation counted as its time's worth) = "
                                     f"{flops * budget:.2g}, more "
                                     f"than {limit:.2g} (about a day here; "
                                     "BIORATE_MAX_SEARCH_FLOPS raises it): a smaller budget, "
                                     "smaller networks, fewer epochs or seeds (a measured curve: "
                                     "a shorter duration, fewer trials or levels)")  # fmt: skip
    return SearchSpec(**out, objective={"kind": kind, **objective}, space=space,
                      source=json.loads(json.dumps(data, default=str)))  # fmt: skip


def _measuring_flops(space: FormulaSpace | NeuronSpace) -> float:
    """A measured curve's Brian2 simulation per candidate, in the training's currency: its
    estimated seconds at MAX_EVAL_FLOPS per 15 minutes (this machine's training speed), so that
    the total-work bound counts it (0 for formulas and theory curves)."""
    if not isinstance(space, NeuronSpace) or not space.protocol:
        return 0.0
    from ..spiking.protocol import estimate_seconds
    from ..units import parse_range

    p = dict(space.protocol)
    x, _ = parse_range(space.current, name=space.axis)
    seconds = estimate_seconds(len(x) * p["trials"], (p["transient_s"] + p["duration_s"])
                               / p["dt_s"], p["target"])  # fmt: skip
    return seconds * MAX_EVAL_FLOPS / 900.0


def _space(f: Fields) -> FormulaSpace:
    f.unknown(("max_depth", "units"))
    depth = f.integer("max_depth", 4, lo=2, hi=8)
    every = UNITS["unary"] + UNITS["binary"]
    units = f.strings("units", list(every))
    for u in units:
        if u not in every:
            raise f.fail("units", f"unknown unit {u[:40]!r}; the grammar's units are "
                                  f"{', '.join(every)}")  # fmt: skip
    if not units:
        raise f.fail("units", "the grammar is empty: name at least one unit")
    if len(set(units)) != len(units):
        raise f.fail("units", "a unit is named twice")
    return FormulaSpace(tuple(units), depth)


def _penalty(f: Fields) -> float:
    return f.number("complexity_penalty", 0.0, lo=0.0, hi=1.0)


def _accuracy(f: Fields, space: FormulaSpace | NeuronSpace) -> dict:
    from ..datasets import load_dataset  # scikit-learn's digits: only for this objective
    from ..network import RateNetwork
    from ..network.graph import NAMED

    dataset = f.text("dataset", "digits")
    hidden = np.asarray(f.numbers("hidden", [32.0]), dtype=float)  # (the default is a list)
    if not 1 <= hidden.size <= MAX_LAYERS or any(h != int(h) or not 1 <= h <= MAX_UNITS
                                                 for h in hidden):  # fmt: skip
        raise f.fail("hidden", f"1 to {MAX_LAYERS} population sizes, each a whole number from 1 "
                               f"to {MAX_UNITS}, e.g. [32]")  # fmt: skip
    sizes = [int(h) for h in hidden]
    out = {"dataset": dataset, "hidden": sizes,
           "connectivity": f.text("connectivity", "feedforward", choices=NAMED),
           "epochs": f.integer("epochs", 30, lo=1, hi=MAX_EPOCHS),
           "seeds": list(range(f.integer("seeds", 3, lo=1, hi=MAX_SEEDS))),
           "validation_fraction": f.number("validation_fraction", 0.2, lo=0.05, hi=0.5),
           "complexity_penalty": _penalty(f)}  # fmt: skip
    try:
        data = load_dataset(dataset)
    except BiorateError as exc:
        raise f.fail("dataset", str(exc)) from None
    try:  # the network spec as RateNetwork checks it (sizes, connectivity, memory)
        net = RateNetwork([data.n_features, *sizes, data.n_classes], "sigmoid", out["connectivity"])
    except BiorateError as exc:
        raise f.fail("hidden", str(exc)) from None
    # the work of one evaluation, before any runs: ~6 flops per parameter and training row, per
    # epoch (forward and backward), per seed's network, times the time steps of feedback
    flops = (6.0 * net.graph_.parameter_count() * len(data.y_train) * out["epochs"]
             * len(out["seeds"]) * net.time_steps[0])  # fmt: skip
    limit = limit_from_env("BIORATE_MAX_EVAL_FLOPS", MAX_EVAL_FLOPS, SpecError)
    if flops > limit:
        raise f.fail("hidden", f"one evaluation would take about {flops:.2g} floating-point "
                               f"operations (networks of {net.graph_.parameter_count():,} "
                               f"parameters x {len(data.y_train):,} rows x {out['epochs']} epochs x "
                               f"{len(out['seeds'])} seeds), more than {limit:.2g} (about 15 "
                               "minutes here; BIORATE_MAX_EVAL_FLOPS raises it): smaller networks, "
                               "fewer epochs or seeds")  # fmt: skip
    # the data's content, so that evaluations (whose hash covers the objective) are not reused
    # when a dataset file changes under the same name
    h = hashlib.sha256()
    for a in (data.X_train, data.y_train):
        h.update(np.ascontiguousarray(a).tobytes())
    out["data_sha256"] = h.hexdigest()[:16]
    n_val = round(out["validation_fraction"] * len(data.y_train))
    if n_val < data.n_classes or len(data.y_train) - n_val < data.n_classes:
        raise f.fail("validation_fraction", f"leaves too few images of {len(data.y_train)} to "
                                            f"train and validate on {data.n_classes} classes")  # fmt: skip
    if f.has("spiking_duration") or f.has("spiking_target"):
        out |= _spiking(f, space, n_val, sum(sizes) + data.n_classes)
    return out | {"_flops": flops}


def _spiking(f: Fields, space: FormulaSpace | NeuronSpace, images: int, units: int) -> dict:
    """The neuron space's spiking objective: each seed's trained network deployed on the
    ``images`` validation images (``units`` neurons each) for ``spiking_duration`` (Brian2,
    ``spiking_target``), its spiking accuracy the score. Checked as deploy checks its work, per
    seed: the step deploy takes (the measured curve's ``dt``, else 0.1 ms), the work and the
    estimated time on the target (:func:`~biorate.spiking.protocol.check_run`)."""
    from ..models import check_whole_steps
    from ..spiking.protocol import TARGETS, check_run
    from ..units import TIME, format_quantity, parse_quantity

    given = "spiking_duration" if f.has("spiking_duration") else "spiking_target"
    if not isinstance(space, NeuronSpace):
        raise f.fail(given, "only a neuron search can score spiking accuracy: a formula has no "
                            "spiking neuron to deploy as")  # fmt: skip
    if space.axis != "current":
        raise f.fail(given, f"{space.model} is a synapse: its activation does not deploy as a "
                            "neuron, so it has no spiking accuracy")  # fmt: skip
    text = f.text("spiking_duration")
    try:
        d, dim = parse_quantity(text, name="spiking_duration")
    except BiorateError as exc:
        raise f.fail("spiking_duration", str(exc)) from None
    dt = dict(space.protocol).get("dt_s", 1e-4)  # deploy steps with the curve's dt, else 0.1 ms
    if dim != TIME or not dt <= d <= MAX_SPIKING_DURATION_S:
        raise f.fail("spiking_duration", f"a presentation time from one time step "
                                         f"({format_quantity(dt, TIME)}) up to "
                                         f"{MAX_SPIKING_DURATION_S:g} s, e.g. \"200 ms\", got {text!r}")  # fmt: skip
    try:  # deploy runs whole steps of the curve's dt: refused now, not after every candidate
        check_whole_steps(d, dt, "a presentation time", SpecError)
    except SpecError as exc:
        raise f.fail("spiking_duration", str(exc)) from None
    target = f.text("spiking_target", "auto", choices=TARGETS)
    check_run(images * units, d / dt, f"{f.where}: field 'spiking_duration'",
              f"{images} validation images x {units:,} neurons x {d / dt:.3g} time steps",
              "a shorter presentation, fewer or smaller hidden populations", target,
              networks=-(-images // 400), error=SpecError)  # fmt: skip
    return {"spiking_duration_s": float(d), "spiking_target": target}


def _distance(f: Fields) -> dict:
    target = f.text("target")
    if target not in BUILTINS:
        try:
            expr = parse(target)
        except ExpressionError as exc:
            raise f.fail("target", f"neither a built-in activation ({', '.join(BUILTINS)}) nor a "
                                   f"formula: {exc}") from None  # fmt: skip
        if reason := check(expr):
            raise f.fail("target", f"{expr}: {reason}")
        target = str(expr)
    z = np.asarray(f.numbers("z_range", [-5.0, 5.0], length=2), dtype=float)
    if not -100 <= z[0] < z[1] <= 100:
        raise f.fail("z_range", f"[low, high] with -100 <= low < high <= 100, got {z.tolist()}")
    return {"target": target, "metric": f.text("metric", "max", choices=("max", "rmse")),
            "z_range": [float(z[0]), float(z[1])],
            "points": f.integer("points", 201, lo=2, hi=100_000),
            "complexity_penalty": _penalty(f)}  # fmt: skip
