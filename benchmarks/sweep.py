"""Benchmark: a parameter sweep on Dask, 2 workers against 1, and the engine's per-point overhead.

One sweep of N points (lif f-I curves: tau_m x sigma; 41 levels x 10 trials x 1.2 s each, Cython
target unless --target says otherwise), timed in one run of this script:

  bare      the same work as a plain loop in this process: ``compute_point`` per point, nothing
            written (after one warm-up point that loads Brian2 and the compiled code).
  1 worker  ``run_sweep`` on a LocalCluster of 1 worker process, warmed the same way (cluster start
            and the worker's first Brian2 import are timed separately), writing every point file
            and the summary.
  2 workers the same on 2 worker processes.

Printed: the speed-up of 2 workers over 1 (goal >= 1.7 on a 2-core machine), the engine's
overhead per point over the bare loop (submit, transfer, atomic JSON write, progress; also
against the worker's own time per point, measured inside the same run) and the one-off costs (cluster start, first import). Timings on a shared machine are noisy: other
processes compete for the same cores, and a busy core lowers the speed-up, not the overhead.

Run:  python benchmarks/sweep.py [--points 12] [--target cython|numpy]
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import tempfile
import time


def make_spec(n_points: int, target: str) -> dict:
    n_sigma = 3 if n_points % 3 == 0 else 2 if n_points % 2 == 0 else 1
    n_tau = n_points // n_sigma
    sigmas = [f"{s} mV" for s in (1, 2, 4)[:n_sigma]]
    return {
        "name": "bench", "measure": "fi", "model": {"name": "lif"},
        "grid": {"tau_m": f"10ms:30ms:{n_tau}", "sigma": sigmas},
        "protocol": {"current": "0nA:0.5nA:41", "duration": "1 s", "transient": "200 ms",
                     "trials": 10, "dt": "0.1 ms", "seed": 1, "target": target},
        "fit": {"forms": ["sigmoid"]},
    }  # fmt: skip


def warm_inputs(spec: dict) -> dict:
    """A point with the sweep's model and protocol but another seed: loads Brian2 and the compiled
    code on a worker without computing any point of the sweep."""
    from biorate.sweep import load_spec

    other = copy.deepcopy(spec)
    other["protocol"]["seed"] = 12345
    return dict(load_spec(other).points[0].inputs)


def timed_cluster(spec: dict, workers: int) -> dict:
    import distributed

    from biorate.sweep import compute_point, read_points, run_sweep

    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)  # fmt: skip
    client = distributed.Client(cluster, set_as_default=False)
    t_start = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        addrs = list(client.scheduler_info()["workers"])
        warm = warm_inputs(spec)
        client.gather([client.submit(compute_point, warm, workers=[a], pure=False,
                                     allow_other_workers=False) for a in addrs])  # fmt: skip
        t_warm = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            result = run_sweep(spec, out, client=client, progress=False)
            t_sweep = time.perf_counter() - t0
            # the workers' own time per point (simulate + fit), measured inside compute_point
            busy = sum(r["run"]["elapsed_s"] for r in read_points(result.spec, out))
        assert result.complete and len(result.computed) == len(result.spec.points)
    finally:
        client.close()
        cluster.close()
    return {"start": t_start, "warm": t_warm, "sweep": t_sweep, "busy": busy}


def timed_bare(spec: dict) -> float:
    from biorate.sweep import compute_point, load_spec

    compute_point(warm_inputs(spec))
    points = load_spec(spec).points
    t0 = time.perf_counter()
    for p in points:
        compute_point(dict(p.inputs))
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--points",
        type=int,
        default=24,
        help="points in the sweep (default 24: enough to amortise each worker's warm-up)",
    )
    ap.add_argument("--target", default="cython", choices=["cython", "numpy", "auto"])
    args = ap.parse_args(argv)
    spec = make_spec(args.points, args.target)
    n = args.points
    print(f"sweep of {n} lif f-I curves (41 levels x 10 trials x 1.2 s, target {args.target}) on "
          f"{os.cpu_count()} cores; load average now {os.getloadavg()[0]:.2f} (shared machine: "
          "timings are noisy)")  # fmt: skip
    bare = timed_bare(spec)
    one = timed_cluster(spec, 1)
    two = timed_cluster(spec, 2)
    print(f"  bare loop in-process   {bare:7.2f} s   ({bare / n:.3f} s per point)")
    print(f"  engine, 1 worker       {one['sweep']:7.2f} s   (+ cluster start {one['start']:.2f} s, "
          f"first point/import {one['warm']:.2f} s)")  # fmt: skip
    print(f"  engine, 2 workers      {two['sweep']:7.2f} s   (+ cluster start {two['start']:.2f} s, "
          f"first point/import {two['warm']:.2f} s)")  # fmt: skip
    overhead = (one["sweep"] - bare) / n
    print(f"speed-up 2 workers / 1 worker: {one['sweep'] / two['sweep']:.2f}   (goal >= 1.7)")
    ends = [d["start"] + d["warm"] + d["sweep"] for d in (one, two)]
    print(f"end to end with cluster start and warm-up: {ends[0] / ends[1]:.2f}")
    print(f"engine / bare loop (1 worker): {one['sweep'] / bare:.3f}   "
          f"overhead {overhead * 1e3:+.0f} ms per point ({overhead / (bare / n) * 100:+.1f} %)")  # fmt: skip
    inner = (one["sweep"] - one["busy"]) / n
    print(f"engine / its worker's own compute time (1 worker, same run, less sensitive to load): "
          f"{one['sweep'] / one['busy']:.3f}   overhead {inner * 1e3:+.0f} ms per point")  # fmt: skip


if __name__ == "__main__":
    main()
