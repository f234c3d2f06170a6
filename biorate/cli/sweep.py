"""``biorate sweep SPEC.toml -o OUTDIR``: run (or resume) a parameter sweep on Dask.

Each point (simulate -> fit -> activation) is written to ``OUTDIR/points/<hash>.json`` as soon as it
is done; a rerun skips finished points. Then ``summary.csv``/``summary.json`` (and Parquet when
pyarrow is installed) and, with ``--plot``, the fitted parameters against the swept ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..units import integer, number
from .common import add_quiet, check_outdir, check_outdir_outputs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="parameter sweep on Dask (resumable): simulate, fit, summarize"
    )
    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec (see examples/sweeps/)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="folder of the results; finished points there are skipped")  # fmt: skip
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                        "(default: a local cluster)")  # fmt: skip
    p.add_argument("--workers", type=integer, default=None, metavar="N",
                   help="worker processes of the local cluster (default: one per core)")  # fmt: skip
    p.add_argument("--connect-timeout", type=number, default=5.0, metavar="S",
                   help="seconds to wait for --scheduler")  # fmt: skip
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="draw the fitted parameters against the swept parameters")  # fmt: skip
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sweep import run_sweep  # Dask, SciPy (fitting): imported by the command that needs them
    from ..sweep.cluster import check_connect_timeout

    check_connect_timeout(args.connect_timeout, "--connect-timeout")
    check_outdir(args.output, args.plot, "sweep")
    from ..sweep import load_spec

    spec = load_spec(args.spec, args.models)  # every field checked before any work
    # no output may be one of the sweep's inputs (the spec, or the model file it names)
    inputs = [(args.spec, "the spec")]
    if spec.model.path is not None:
        inputs.append((spec.model.path, f"the spec's model {spec.model.name!r}"))
    check_outdir_outputs(args.output, ("sweep.json", "summary.csv", "summary.json",
                                       "summary.parquet"), args.plot, inputs,
                         records="points")  # fmt: skip
    result = run_sweep(
        spec, args.output, scheduler=args.scheduler, workers=args.workers,
        progress=not args.quiet, plot=args.plot, connect_timeout=args.connect_timeout,
        models_dir=args.models,
    )  # fmt: skip
    n = len(result.spec.points)
    for _, message in result.errors:
        sys.stderr.write(f"biorate: error: point {message}\n")
    # points whose simulation or every one of their fits failed, this run's and earlier ones'
    # alike (a point with one form fitted counts as done)
    rows = (result.summary or {}).get("rows", [])
    good = {r["point"] for r in rows if r["status"] != "failed" and r.get("error") is None}
    bad = {r["point"] for r in rows} - good if rows else set(result.failed)
    if bad and (len(bad) < n or not result.complete):
        sys.stderr.write(f"biorate: warning: {len(bad)} of {n} points failed (their simulation "
                         "or fit; recorded with the error in the summary)\n")  # fmt: skip
    # the result: printed with --quiet too (it silences progress only)
    print(f"sweep {result.spec.name}: {n} points, {len(result.computed)} computed, "
          f"{len(result.skipped)} already done, {result.elapsed_s:.1f} s")  # fmt: skip
    if result.complete:
        print("wrote " + ", ".join(str(f) for f in result.files[1:]))
    if result.errors:
        sys.stderr.write(f"biorate: error: {len(result.errors)} of {n} points not computed; "
                         f"rerun the same command to compute them\n")  # fmt: skip
        return 1
    if result.complete and len(bad) == n:  # as a search whose every candidate was rejected
        out = Path(args.output) / "summary.csv"
        sys.stderr.write(f"biorate: error: every point failed (its simulation or fit): see the "
                         f"errors in {out}\n")  # fmt: skip
        return 2
    return 0
