"""``run_search``: regularized evolution over formulas, each evaluation a task on Dask, resumable.

Files under OUTDIR::

    search.json              the validated spec
    evals/<hash>.json        one file per evaluated formula (kind "search_eval"), written as it arrives
    leaderboard.csv, .json   every candidate ranked by fitness (rejected ones last, with the reason)
    best.json                the best formula as an activation JSON (``biorate train --activation``)

Resuming, as sweeps do (:mod:`biorate.sweep.run`): an evaluation's file name is a content hash
(:func:`biorate.sweep.content_hash`) of the formula, the objective (less the complexity penalty,
which the client applies) and the biorate version. The evolution proposes candidates in batches
whose sequence depends only on the seed and the fitness values (:mod:`.strategy`), so a rerun of
a killed search proposes the same candidates, reads the evaluations it finds and computes only the
missing ones: the same leaderboard as an uninterrupted run.

Where evaluations run: ``workers=0`` in this process (no Dask needed); otherwise on a Dask
``LocalCluster`` of ``workers`` processes (default: one per core), or an existing cluster by its
scheduler address (connected before anything is written; a LocalCluster is started only when an
evaluation is missing). A batch's tasks run in parallel; the
client alone writes files. An unexpected error in a task (not a rejected formula) stops the search;
what was written stays, and a rerun continues from there.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._figure_formats import check_figure_format
from .._version import __version__
from ..activation import Activation
from ..errors import BiorateError, CurveFileError, OutputError, ProtocolError
from ..forms.expression import parse
from ..io import atomic_write, check_writable, provenance, read_json, write_json, write_record
from ..schema import boolean
from ..sweep import content_hash, default_workers
from ..sweep.cluster import (
    CONNECT_TIMEOUT_S,
    check_cluster_args,
    check_connect_timeout,
    check_workers,
    connect_cluster,
    import_dask,
)
from .neuron import NeuronSpace
from .objective import evaluate_candidate
from .records import trusted
from .spec import SCHEMA, SearchSpec, load_search_spec
from .strategy import evolve

__all__ = ["run_search", "SearchResult", "leaderboard", "eval_inputs"]


@dataclass
class SearchResult:
    """What :func:`run_search` did: the ``leaderboard`` (rows, best first), how many evaluations
    were ``computed`` and ``reused`` (read from files), the ``files`` written."""

    spec: SearchSpec
    outdir: Path
    leaderboard: list[dict] = field(default_factory=list)
    computed: int = 0
    reused: int = 0
    files: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def best(self) -> dict:
        return self.leaderboard[0]


def eval_inputs(spec: SearchSpec, expression: str) -> dict:
    """What an evaluation depends on (and its hash covers): the candidate (a formula, or a
    neuron's parameters written as its canonical string and as SI numbers), the objective less
    the complexity penalty, and for a neuron the model, currents and form it is fitted with (and
    a measured curve's protocol)."""
    objective = {k: v for k, v in spec.objective.items() if k != "complexity_penalty"}
    out = {"biorate": __version__, "space": spec.kind, "expression": expression,
           "objective": objective}  # fmt: skip
    if isinstance(spec.space, NeuronSpace):
        sp = spec.space
        out["params"] = sp.parse(expression).params
        out["neuron"] = sp.describe()
    return out


class _Evaluator:
    """Evaluates batches: reads finished evaluations back, computes the rest (in this process or
    on Dask), writes each as it arrives."""

    def __init__(self, spec: SearchSpec, outdir: Path, workers: int | None, scheduler: str | None,
                 client: Any, timeout: float, bar: Any) -> None:  # fmt: skip
        self.spec, self.dir = spec, outdir / "evals"
        self.workers, self.scheduler = workers, scheduler
        self.client, self.timeout, self.bar = client, timeout, bar
        self.own: Any = None  # the client and cluster this search started (closed at its end)
        self.cluster: Any = None
        self.records: dict[str, dict] = {}
        self.computed = self.reused = 0

    def _read(self, h: str, inputs: Mapping[str, Any]) -> dict | None:
        path = self.dir / f"{h}.json"
        if not path.is_file():
            return None
        try:  # written atomically, so whole; check it is this evaluation's
            data = read_json(path, kind="search_eval")
        except CurveFileError:
            return None
        return data if trusted(data, inputs, h) else None

    def __call__(self, exprs: Sequence[Any]) -> list[float | None]:
        todo: dict[str, dict] = {}
        for e in exprs:
            inputs = eval_inputs(self.spec, str(e))
            h = content_hash(inputs)
            record = self._read(h, inputs)
            if record is None:
                todo[h] = inputs
            else:
                self.records[str(e)] = record
                self.reused += 1
                self.bar.update()
        for h, record in self._compute(todo):
            record = {"kind": "search_eval", "schema": SCHEMA, "hash": h,
                      "inputs": todo[h], **record}  # fmt: skip
            write_record(self.dir / f"{h}.json", record)
            self.records[record["expression"]] = record
            self.computed += 1
            self.bar.update()
        return [fitness(self.records[str(e)], self.spec.penalty) for e in exprs]

    def _compute(self, todo: Mapping[str, dict]) -> Any:
        if not todo:
            return
        if self.workers == 0 and self.scheduler is None and self.client is None:
            for h, inputs in todo.items():
                yield h, evaluate_candidate(inputs)
            return
        if self.client is None:
            n = self.workers or default_workers()
            self.client, self.cluster = connect_cluster(self.scheduler, n, self.timeout)
            self.own = self.client
        distributed = import_dask()
        futures = {self.client.submit(evaluate_candidate, inputs, key=f"biorate-eval-{h}",
                                      pure=False): h for h, inputs in todo.items()}  # fmt: skip
        try:
            for future in distributed.as_completed(list(futures), loop=self.client.loop):
                h = futures[future]
                try:
                    record = future.result()
                except Exception as exc:  # noqa: BLE001 - a bug or a lost task: stop, rerun resumes
                    raise BiorateError(f"evaluation of {todo[h]['expression']!r} failed "
                                       f"({type(exc).__name__}: {exc}); rerun to resume") from None  # fmt: skip
                future.release()
                yield h, record
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                self.client.cancel(pending)

    def close(self) -> None:
        if self.own is not None:
            self.own.close()
        if self.cluster is not None:
            self.cluster.close()


def fitness(record: Mapping[str, Any], penalty: float) -> float | None:
    """The median score less ``penalty`` times the complexity; None for a rejected candidate."""
    if record.get("status") != "ok":
        return None
    return float(record["median"]) - penalty * float(record["complexity"])


def run_search(
    spec: SearchSpec | str | os.PathLike | Mapping[str, Any],
    outdir: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    progress: bool = True,
    plot: str | os.PathLike | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> SearchResult:
    """Run (or resume) a search; see the module doc for the files written under ``outdir``.

    ``workers``: 0 evaluates in this process, N on a local Dask cluster of N processes (default:
    the spec's ``workers``, else one per core); ``scheduler``/``client``: an existing cluster.
    ``plot``: also draw the top formulas and the fitness over evaluations into this image file.
    """
    t0 = time.perf_counter()
    spec = spec if isinstance(spec, SearchSpec) else load_search_spec(spec)
    if outdir is None:
        raise OutputError("outdir must name the output folder (a path), got None")
    check_writable(outdir, f"the output folder {outdir}", folder=True)
    outdir = Path(outdir)
    check_figure_format(plot, "plot")  # its folder may be outdir, made by the run
    check_cluster_args(scheduler, client)
    boolean(progress, "progress", ProtocolError)
    workers = check_workers(workers, scheduler, client, lo=0)
    connect_timeout = check_connect_timeout(connect_timeout)
    workers = spec.workers if workers is None else workers
    own = cluster = None
    if scheduler and client is None:  # reachable before anything is written (a local one: lazily)
        client, cluster = connect_cluster(scheduler, 1, connect_timeout)
        own = client
    try:
        (outdir / "evals").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if own is not None:
            own.close()
        raise BiorateError(f"cannot create output folder {exc.filename or outdir / 'evals'}: "
                           f"{exc.strerror or type(exc).__name__}") from None  # fmt: skip
    result = SearchResult(spec, outdir)
    manifest = {"kind": "search", "schema": SCHEMA, **spec.describe(), "spec": spec.source,
                "provenance": provenance()}  # fmt: skip
    result.files.append(write_json(outdir / "search.json", manifest))
    bar = tqdm(total=spec.budget, desc=f"search {spec.name}", unit="eval", disable=not progress,
               dynamic_ncols=True)  # fmt: skip
    ev = _Evaluator(spec, outdir, workers, scheduler, client, connect_timeout, bar)
    ev.own, ev.cluster = own, cluster
    try:
        history = evolve(np.random.default_rng(spec.seed), budget=spec.budget,
                         population=spec.population, sample=spec.sample, batch=spec.batch,
                         random=spec.space.random, mutate=spec.space.mutate, evaluate=ev,
                         fingerprint=spec.space.fingerprint)  # fmt: skip
    finally:
        bar.close()
        ev.close()
    result.computed, result.reused = ev.computed, ev.reused
    result.leaderboard = leaderboard(history, ev.records, spec.penalty)
    result.files += write_leaderboard(result.leaderboard, spec, outdir)
    if not any(r["status"] == "ok" for r in result.leaderboard):
        stale = (
            " (the best.json there is an earlier search's)"
            if (outdir / "best.json").exists()
            else ""
        )
        raise BiorateError(f"every candidate was rejected: see the reasons in {outdir / 'leaderboard.csv'}; "
                           f"no best.json written{stale}")  # fmt: skip
    if plot:
        from ..plotting.search import plot_search  # matplotlib only when a figure is asked for

        plot_search(result.leaderboard, plot)
        result.files.append(Path(plot))
    result.elapsed_s = time.perf_counter() - t0
    return result


def leaderboard(history: Sequence[Any], records: Mapping[str, dict], penalty: float) -> list[dict]:
    """One row per distinct candidate, best fitness first (ties: the simpler, then the one evaluated
    first);
    rejected candidates last, in the order they came, with their reason."""
    rows, seen = [], set()
    for c in history:
        if c.key in seen:
            continue
        seen.add(c.key)
        r = records[c.key]
        rows.append({"index": c.index, "expression": r["expression"],
                     "complexity": r["complexity"], "status": r["status"], "reason": r["reason"],
                     "fitness": fitness(r, penalty), "median": r["median"], "scores": r["scores"],
                     "hash": r["hash"]})  # fmt: skip
        if r.get("activation") is not None:  # a neuron's fitted activation
            rows[-1]["activation"] = r["activation"]
        if r.get("rate_scores") is not None:  # a spiking objective: the rate networks' scores
            rows[-1]["rate_scores"] = r["rate_scores"]
    rows.sort(key=lambda r: (r["fitness"] is None, -(r["fitness"] or 0.0), r["complexity"],
                             r["index"]))  # fmt: skip
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    return rows


def best_activation(rows: Sequence[Mapping[str, Any]], name: str) -> Activation:
    """The best accepted formula as an :class:`Activation` (``form="formula"``)."""
    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        raise BiorateError("every candidate was rejected: no best formula (see leaderboard.csv)")
    if ok[0].get("activation") is not None:  # a neuron: the activation fitted to its curve
        return Activation.from_dict({**ok[0]["activation"], "name": name})
    return Activation(form="formula", expression=str(parse(ok[0]["expression"])), name=name)


def write_leaderboard(rows: list[dict], spec: SearchSpec, outdir: Path) -> list[Path]:
    """``leaderboard.json``, ``leaderboard.csv`` and (when a candidate was accepted) ``best.json``."""
    n_seeds = max((len(r["scores"] or []) for r in rows), default=0)
    data = {"kind": "search_leaderboard", "schema": SCHEMA, "name": spec.name,
            "objective": dict(spec.objective), "rows": rows}  # fmt: skip
    files = [write_json(outdir / "leaderboard.json", data)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    spiking = "spiking_duration_s" in spec.objective  # scores are spiking; the rates' median too
    w.writerow(["rank", "index", "expression", "complexity", "status", "fitness", "median",
                *(["rate_median"] if spiking else []), *(f"score_{i}" for i in range(n_seeds)),
                "reason", "hash"])  # fmt: skip
    for r in rows:
        scores = list(r["scores"] or []) + [""] * (n_seeds - len(r["scores"] or []))
        rate = [repr(float(np.median(r["rate_scores"]))) if r.get("rate_scores") else ""]
        w.writerow([r["rank"], r["index"], r["expression"], r["complexity"], r["status"],
                    "" if r["fitness"] is None else repr(r["fitness"]),
                    "" if r["median"] is None else repr(r["median"]), *(rate if spiking else []),
                    *scores, r["reason"] or "", r["hash"]])  # fmt: skip
    files.append(atomic_write(outdir / "leaderboard.csv", lambda f: f.write(buf.getvalue())))
    if any(r["status"] == "ok" for r in rows):
        files.append(best_activation(rows, f"{spec.name}_best").save(outdir / "best.json"))
    return files
