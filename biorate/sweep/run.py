"""Parameter sweeps on Dask distributed: resumable, every point computed once, nothing lost.

``run_sweep(spec, outdir)`` takes a sweep spec (:mod:`biorate.sweep.spec`: measurement, model, grid,
protocol, fit forms), and for each point it has not done yet submits one task, :func:`compute_point`
(simulate on Brian2 -> fit each form -> export each fit as an activation), to a Dask cluster: a
``LocalCluster`` by default (one single-threaded worker process per core), or an existing cluster
given by its scheduler address. Dask is an optional extra: ``pip install "biorate[sweep]"``.

Files under OUTDIR::

    sweep.json              the validated spec and the list of points with their hashes
    points/<hash>.json      one file per finished point (kind "sweep_point"): curve, fits, activations
    summary.csv, summary.json (and summary.parquet when pyarrow is importable)

Resuming. A point's file name is a content hash of its inputs (the whole model with the point's
values, the protocol with the point's own seed, the forms, the code-generation target and the biorate
version), written atomically (temp file + rename) by the client as soon as the point's result
arrives. A rerun of the same spec skips every point whose file exists and computes only the rest;
since each point's seed is derived from the spec's seed and the point's values alone
(:func:`biorate.sweep.spec.point_seed`), a killed-and-resumed sweep has exactly the numbers of an
uninterrupted one. Changing anything that the hash covers makes new points; old files stay.

Failures. A point whose simulation or fit is rejected (a :class:`~biorate.errors.BiorateError`: the
same inputs would fail again) is written with its error, so it is not retried forever. An unexpected
error, or a task that kept killing its workers, is reported and not written, so a rerun retries it.
A worker that dies is replaced by Dask and its task rescheduled; the client is the only writer, so
the files need no shared file system, and a task that runs twice still yields one file.

Compiled code. With ``target = "auto"``/``"cython"``, Brian2 compiles each code object once and
caches it under ``~/.cython/brian_extensions``, shared by every worker process of the machine. The
measurements use fixed object names, and parameters, noise level and network size enter as run-time
values, not as constants in the code: so the code of a model is the same at every point, and a
sweep compiles once per model and machine, not once per point. Measured (a fresh cache, lif, one
process): the first point compiled 4 extensions (37 s on a busy 2-core machine); the next points,
with other tau_m and sigma and even 41 x 10 instead of 11 x 2 neurons, compiled nothing and took
~1 s each. With the cache warm, a new worker pays ~4 s on its first point (importing Brian2 and
loading the extensions), then nothing. One Brian2 run per worker process at a time (Brian2's
preferences are process-global), so each worker has one thread.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import spiking
from .._figure_formats import check_figure_format
from ..errors import BiorateError, OutputError, ProtocolError
from ..fitting import fit
from ..io import check_writable, provenance, write_json, write_record
from ..schema import boolean
from ..spiking.protocol import import_brian2, recorded_measurement
from ..units import CURRENT, TIME, VOLTAGE, UnitArray, format_quantity, parse_unit
from .cluster import (
    CONNECT_TIMEOUT_S,
    DASK_MISSING,
    check_cluster_args,
    check_connect_timeout,
    check_workers,
    connect_cluster,
    default_workers,
    import_dask,
)
from .records import _done
from .spec import SCHEMA, SweepPoint, SweepSpec, load_spec, model_from_payload
from .summary import read_points, summary_table, write_summary

__all__ = ["run_sweep", "compute_point", "measure_curve", "SweepResult", "default_workers",
           "DASK_MISSING", "import_dask", "connect_cluster"]  # fmt: skip

BRIAN_LOCK = threading.Lock()  # Brian2's prefs are process-global: one run per process at a time


# --- one point (runs on a worker) -------------------------------------------------------------


def compute_point(inputs: Mapping[str, Any]) -> dict:
    """Simulate, fit and export one sweep point; the JSON record written to ``points/<hash>.json``.

    ``inputs`` is :attr:`SweepPoint.inputs` (plain data, so it travels to any worker). A rejected
    simulation or fit (:class:`BiorateError`) is recorded in the result, not raised.
    """
    t0 = time.perf_counter()
    record: dict[str, Any] = {"kind": "sweep_point", "schema": SCHEMA, "inputs": dict(inputs)}
    try:
        curve = _measure(inputs)
    except BiorateError as exc:
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        record["run"] = _run_info(t0)
        return record
    record["curve"] = curve.to_dict()
    fits: dict[str, Any] = {}
    acts: dict[str, Any] = {}
    for form in inputs["forms"]:
        try:
            result = fit(curve, form)
            act = result.activation().to_dict()
        except BiorateError as exc:
            fits[form] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        summary = result.to_dict()
        summary.pop("curve", None)  # the point's curve is stored once, above
        fits[form] = summary
        act.pop("source", None)  # idem
        acts[form] = act
    record["fits"] = fits
    record["activations"] = acts
    errors = [f"{k}: {v['error']}" for k, v in fits.items() if "error" in v]
    record["status"] = "fit_failed" if errors else "ok"
    if errors:
        record["error"] = "; ".join(errors)
    record["run"] = _run_info(t0)
    return record


def _measure(inputs: Mapping[str, Any]) -> Any:
    """The point's curve, measured on Brian2 with the protocol's SI values (as quantities)."""
    return measure_curve(model_from_payload(inputs["model"]), inputs["measure"], inputs["protocol"])


def measure_curve(
    model: Any, measure: str, p: Mapping[str, Any], command: str | None = None
) -> Any:
    """A curve of ``model`` measured on Brian2 (``measure`` "fi" or "release") with the SI
    protocol ``p`` that :func:`biorate.sweep.protocol.read_protocol` returns (``x`` with
    ``x_unit``, ``duration_s``, ...), one measurement per process at a time; no progress bar.
    The sweep's points and the neuron space of ``biorate search`` measure through it."""
    import_brian2()  # before the measurement imports it (a worker's thread, see import_brian2)
    common = dict(duration=UnitArray(p["duration_s"], TIME),
                  transient=UnitArray(p["transient_s"], TIME), trials=int(p["trials"]),
                  dt=UnitArray(p["dt_s"], TIME), seed=int(p["seed"]), target=p["target"],
                  progress=False, command=command)  # fmt: skip
    x = UnitArray(p["x"], parse_unit(p["x_unit"])[1])
    with BRIAN_LOCK, recorded_measurement():
        if measure == "fi":
            axis = "current" if p["drive"] == "current" else "rate"
            return spiking.measure_fi(model, **{axis: x}, drive=p["drive"],
                                      sigma=UnitArray(p["sigma_V"], VOLTAGE),
                                      bias=UnitArray(p["bias_A"], CURRENT), **common)  # fmt: skip
        return spiking.measure_release(model, rate=x, pattern=p["pattern"], **common)


def _run_info(t0: float) -> dict:
    return {"elapsed_s": time.perf_counter() - t0, "host": platform.node(), "pid": os.getpid()}


# --- the sweep --------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: ``computed`` and ``skipped`` point hashes, ``failed`` points
    (written, with their error), ``errors`` (``(hash, message)``: not written, retried by a rerun),
    the ``summary`` table and the files written."""

    spec: SweepSpec
    outdir: Path
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    summary: dict | None = None
    files: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def complete(self) -> bool:
        """Every point of the spec has its file."""
        return len(self.computed) + len(self.skipped) == len(self.spec.points)

    def point_path(self, point: SweepPoint | str) -> Path:
        h = point if isinstance(point, str) else point.hash
        return self.outdir / "points" / f"{h}.json"


def run_sweep(
    spec: SweepSpec | str | os.PathLike | Mapping[str, Any],
    outdir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    client: Any = None,
    workers: int | None = None,
    progress: bool = True,
    plot: str | os.PathLike | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    models_dir: str | os.PathLike | None = None,
    on_point: Callable[[SweepPoint, dict], None] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep; every point of ``spec`` ends with one file under ``outdir``.

    Parameters
    ----------
    spec : a :class:`SweepSpec`, the path of a spec TOML, or its content as a dict; validated
        before anything is written.
    outdir : folder of the results (created; points already there are skipped).
    scheduler : address of an existing Dask scheduler (``"tcp://host:8786"``); unreachable within
        ``connect_timeout`` seconds raises :class:`BiorateError`. Default: a new LocalCluster.
    client : an existing ``distributed.Client`` to use instead (it is not closed).
    workers : LocalCluster worker processes (default: one per core, at most one per point to do).
    progress : a tqdm bar over finished points.
    plot : also draw the fitted parameters against the swept ones into this image file.
    on_point : called on the client as ``on_point(point, record)`` after each point is written.

    Returns
    -------
    SweepResult. The summary (``summary.csv``/``.json``/``.parquet``) is written when every point
    has its file; otherwise the missing points are in ``errors`` and a rerun computes them.
    """
    t_start = time.perf_counter()
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec, models_dir)
    if outdir is None:
        raise OutputError("outdir must name the output folder (a path), got None")
    check_writable(outdir, f"the output folder {outdir}", folder=True)
    outdir = Path(outdir)
    check_figure_format(plot, "plot")  # its folder may be outdir, made by the run
    check_cluster_args(scheduler, client)
    boolean(progress, "progress", ProtocolError)
    if on_point is not None and not callable(on_point):
        raise ProtocolError(f"on_point must be a function (point, record) or None, got "
                            f"{on_point!r}"[:200])  # fmt: skip
    workers = check_workers(workers, scheduler, client, lo=1)
    connect_timeout = check_connect_timeout(connect_timeout)
    result = SweepResult(spec=spec, outdir=outdir)
    todo = []
    for p in spec.points:
        if _done(outdir, spec, p):
            result.skipped.append(p.hash)
        else:
            todo.append(p)
    own_client = None
    cluster = None
    if todo and client is None:
        n = min(workers or default_workers(), len(todo))
        client, cluster = connect_cluster(scheduler, n, connect_timeout)
        own_client = client
    try:
        # only now, with the spec valid and the cluster reachable, does anything get written
        try:
            (outdir / "points").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BiorateError(f"cannot create output folder {exc.filename or outdir / 'points'}: "
                               f"{exc.strerror or type(exc).__name__}") from None  # fmt: skip
        result.files.append(write_json(outdir / "sweep.json", _manifest(spec)))
        if todo:
            _compute(client, spec, todo, result, progress, on_point)
    finally:
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()
    if result.complete:
        records = read_points(spec, outdir)
        for rec, p in zip(records, spec.points, strict=True):  # this spec's index and values
            rec.update(index=p.index, point=_point_values(spec, p))
        result.summary = summary_table(spec, records)
        result.files += write_summary(result.summary, outdir)
        if plot:
            from ..plotting.sweep import plot_sweep  # matplotlib only when a figure is asked for

            plot_sweep(result.summary, plot)
            result.files.append(Path(plot))
    result.elapsed_s = time.perf_counter() - t_start
    return result


def _compute(client: Any, spec: SweepSpec, todo: list[SweepPoint], result: SweepResult,
             progress: bool, on_point: Callable | None) -> None:  # fmt: skip
    distributed = import_dask()
    # key = the content hash: two clients (or a resubmission) asking for the same point share one
    # task; priority keeps roughly the grid order
    futures = {
        client.submit(compute_point, dict(p.inputs), key=f"biorate-point-{p.hash}",
                      priority=-p.index, pure=False): p
        for p in todo
    }  # fmt: skip
    bar = tqdm(total=len(spec.points), initial=len(result.skipped), desc=f"sweep {spec.name}",
               unit="point", disable=not progress, dynamic_ncols=True)  # fmt: skip
    try:
        for future in distributed.as_completed(list(futures), loop=client.loop):
            point = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - a bug or a lost task: not written, retried
                result.errors.append((point.hash, f"{point.label(spec.axes)}: "
                                                  f"{type(exc).__name__}: {exc}"))  # fmt: skip
            else:
                record = {"kind": "sweep_point", "schema": SCHEMA, "hash": point.hash,
                          "index": point.index, "point": _point_values(spec, point),
                          **{k: v for k, v in record.items() if k not in ("kind", "schema")}}  # fmt: skip
                write_record(result.point_path(point), record)
                result.computed.append(point.hash)
                if record.get("status") == "failed":
                    result.failed.append(point.hash)
                if on_point is not None:
                    on_point(point, record)
            future.release()
            bar.update()
    finally:
        bar.close()
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)


def _point_values(spec: SweepSpec, point: SweepPoint) -> dict:
    return {a.name: {"value": point.values[a.name], "unit": a.si_unit,
                     "text": format_quantity(point.values[a.name], a.dim, a.unit or None)}
            for a in spec.axes}  # fmt: skip


def _manifest(spec: SweepSpec) -> dict:
    return {
        "kind": "sweep",
        "schema": SCHEMA,
        **spec.describe(),
        "spec": spec.source,
        "points": [
            {"index": p.index, "hash": p.hash, "seed": p.seed, "values": dict(p.values)}
            for p in spec.points
        ],  # fmt: skip
        "provenance": provenance(),
    }
