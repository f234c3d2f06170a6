"""The objectives a candidate formula is scored by, as one task a Dask worker (or this process) runs.

:func:`evaluate_candidate` takes plain data (the formula and the objective of the spec) and returns
the JSON record written to ``evals/<hash>.json``: the status (``"ok"`` or ``"rejected"`` with the
reason), one score per seed and their median. The search's fitness is the median minus
``complexity_penalty`` times the formula's complexity (computed by the client, so that the penalty
is not part of the hash).

- ``accuracy``: the validation accuracy of a :class:`~biorate.network.RateNetwork` with the formula
  as its activation, trained on the dataset's training set less a validation part split off it
  (stratified, the same for every candidate and seed; the test set is never seen), one network per
  seed. A training that diverges rejects the candidate with NetworkError's message.
- ``distance``: minus the distance (``max |f - t|`` or RMSE) to a target function t (a built-in
  activation or a formula) on ``points`` values of z in ``z_range``: the planted-target test.

Before either, the formula must pass :func:`biorate.forms.expression.check` (finite, within ±1e6,
not constant on z in [-10, 10]): a candidate that does not is rejected with the reason.
"""

from __future__ import annotations

import functools
import os
import platform
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..activation import BUILTINS, Activation
from ..errors import BiorateError
from ..forms.expression import check, parse

__all__ = ["evaluate_candidate", "evaluate_neuron", "validation_split", "target_function"]


def evaluate_candidate(inputs: Mapping[str, Any]) -> dict:
    """Score one formula: ``inputs`` = ``{"expression": str, "objective": {...}, ...}``; or one
    neuron (``"space": "neuron"``, with its ``params`` and the ``neuron`` space's model, currents
    and form: :func:`evaluate_neuron`)."""
    if inputs.get("space") == "neuron":
        return evaluate_neuron(inputs)
    t0 = time.perf_counter()
    expr = parse(inputs["expression"])
    record: dict[str, Any] = {"expression": str(expr), "complexity": expr.complexity}
    objective = inputs["objective"]
    reason = check(expr)
    if reason is None:
        try:
            if objective["kind"] == "distance":
                scores = [_distance(expr, objective)]
            else:
                scores = _accuracy(str(expr), objective)
        except BiorateError as exc:
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return _finish(record, reason, None if reason else scores, t0)


def target_function(target: str) -> Any:
    """The target of a distance objective: a built-in activation's g, or a formula."""
    if target in BUILTINS:
        return Activation.builtin(target)
    return parse(target)


@functools.lru_cache(maxsize=8)
def _target_values(target: str, lo: float, hi: float, points: int) -> tuple[np.ndarray, ...]:
    z = np.linspace(lo, hi, points)
    return z, target_function(target)(z)


def _distance(expr: Any, objective: Mapping[str, Any]) -> float:
    lo, hi = objective["z_range"]
    z, t = _target_values(objective["target"], float(lo), float(hi), int(objective["points"]))
    diff = expr(z) - t
    d = np.max(np.abs(diff)) if objective["metric"] == "max" else np.sqrt(np.mean(diff**2))
    return 0.0 - float(d)  # (0.0 - 0.0 is 0.0, where -0.0 would print as such)


@functools.lru_cache(maxsize=4)
def validation_split(dataset: str, fraction: float) -> tuple[np.ndarray, ...]:
    """``(X_fit, y_fit, X_val, y_val)``: the dataset's training set split, stratified, by a fixed
    generator (seed 0): each class gives ``round(fraction * n_class)`` images to validation. The
    same split for every candidate and seed; cached per process (a worker loads a dataset once)."""
    from ..datasets import load_dataset

    data = load_dataset(dataset)
    X, y = data.X_train, data.y_train
    rng = np.random.default_rng(0)
    val = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        val[rng.permutation(idx)[: round(fraction * idx.size)]] = True
    return X[~val], y[~val], X[val], y[val]


def evaluate_neuron(inputs: Mapping[str, Any]) -> dict:
    """Score one neuron (or synapse): its curve (theory or measured) fitted as ``biorate fit`` does
    (:func:`biorate.search.neuron.neuron_activation`), then the accuracy objective with that
    activation. The record holds the fitted activation (what ``best.json`` becomes), complexity 0.
    A curve that cannot be computed or fitted, or a fit of low R^2, rejects the candidate."""
    from .neuron import neuron_activation

    t0 = time.perf_counter()
    record: dict[str, Any] = {"expression": inputs["expression"], "complexity": 0}
    sp = inputs["neuron"]
    reason, act = None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a poor fit is said by its flags, below
            x_axis = sp["current"] if "current" in sp else sp["rate"]  # a neuron; a synapse
            act = neuron_activation(sp["model"], inputs["params"], x_axis, sp["form"],
                                    protocol=sp.get("protocol"))  # fmt: skip
        scores, rates = _scores(act, inputs["objective"])
    except (BiorateError, ArithmeticError, ValueError) as exc:  # an extreme neuron: rejected
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    if reason is None:
        record["activation"] = act.to_dict()
        if "spiking_duration_s" in inputs["objective"]:  # the scores are spiking: keep the rates'
            record["rate_scores"] = rates
    return _finish(record, reason, None if reason else scores, t0)


def _finish(record: dict, reason: str | None, scores: list[float] | None, t0: float) -> dict:
    """The record's status (``ok`` with the scores and their median, or ``rejected`` with the
    reason) and where and how long it ran."""
    if reason is not None:
        record.update(status="rejected", reason=reason, scores=None, median=None)
    else:
        record.update(status="ok", reason=None, scores=scores, median=float(np.median(scores)))
    record["run"] = {"elapsed_s": time.perf_counter() - t0, "host": platform.node(),
                     "pid": os.getpid()}  # fmt: skip
    return record


def _accuracy(expression: str, objective: Mapping[str, Any]) -> list[float]:
    act = Activation(form="formula", expression=expression, name="candidate")
    return _scores(act, objective)[0]


def _scores(act: Activation, objective: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """``(scores, rate_scores)``: per seed the validation accuracy that counts (the spiking one
    with ``spiking_duration_s``, deployed with that seed) and the rate network's."""
    from ..network import RateNetwork

    X, y, Xv, yv = validation_split(objective["dataset"], float(objective["validation_fraction"]))
    sizes = [X.shape[1], *objective["hidden"], int(max(y.max(), yv.max())) + 1]
    scores, rates = [], []
    for seed in objective["seeds"]:
        net = RateNetwork(sizes, act, objective["connectivity"], seed=int(seed))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # a candidate's overflow ends as a NetworkError
            net.fit(X, y, epochs=int(objective["epochs"]))
            rates.append(float(net.score(Xv, yv)))
        if "spiking_duration_s" in objective:
            from ..deploy import deploy
            from ..spiking.protocol import import_brian2
            from ..sweep.run import BRIAN_LOCK
            from ..units import TIME, format_quantity

            shown = format_quantity(float(objective["spiking_duration_s"]), TIME)
            import_brian2()  # on a Dask worker's thread, before deploy imports it
            with BRIAN_LOCK:  # Brian2's prefs are process-global: one run at a time
                rep = deploy(net, Xv, yv, durations=[shown], seed=int(seed),
                             target=objective["spiking_target"], method="euler", progress=False,
                             command="biorate search (spiking objective)")  # fmt: skip
            scores.append(float(rep["spiking_accuracy"][0]))
        else:
            scores.append(rates[-1])
    return scores, rates
