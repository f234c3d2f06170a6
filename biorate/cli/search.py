"""``biorate search SPEC.toml -o OUTDIR``: machine search for activation functions (issue 15).

Regularized evolution over formulas (:mod:`biorate.search`), each evaluation a task on Dask (a local
cluster of ``--workers N`` processes, ``--workers 0`` in this process, or ``--scheduler ADDR``),
written to ``OUTDIR/evals/<hash>.json`` as it arrives; a rerun computes only what is missing. Then
``leaderboard.csv``/``.json``, ``best.json`` (an activation ``biorate train`` accepts) and, with
``--plot``, the top formulas with their derivatives and the fitness over the search.
"""

from __future__ import annotations

import argparse

from ..units import integer, number
from .common import add_quiet, check_outdir, check_outdir_outputs, dataset_input


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search", help="machine search for activation functions (regularized evolution, Dask)"
    )
    p.add_argument("spec", metavar="SPEC.toml", help="search spec (see examples/searches/)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="folder of the results; evaluations there are reused")  # fmt: skip
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=integer, default=None, metavar="N",
                       help="local Dask worker processes; 0 evaluates in this process "
                            "(default: the spec's workers, else one per core)")  # fmt: skip
    where.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    p.add_argument("--connect-timeout", type=number, default=5.0, metavar="S",
                   help="seconds to wait for --scheduler")  # fmt: skip
    p.add_argument(
        "--plot",
        default=None,
        metavar="PNG",
        help="draw the top candidates' activations, their derivatives and the fitness over the "
        "search",
    )
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..search import load_search_spec, run_search  # the network, Dask: only for this command
    from ..sweep.cluster import check_connect_timeout, check_workers

    check_connect_timeout(args.connect_timeout, "--connect-timeout")
    check_workers(args.workers, args.scheduler, None, lo=0, name="--workers")
    check_outdir(args.output, args.plot, "search")
    spec = load_search_spec(args.spec)  # every field checked before any work
    # no output may be one of the search's inputs (the spec, a dataset or model file in OUTDIR)
    inputs = [(args.spec, "the spec")]
    if spec.objective.get("kind") == "accuracy":
        inputs.append(dataset_input(spec.objective["dataset"]))
    check_outdir_outputs(args.output, ("search.json", "leaderboard.json", "leaderboard.csv",
                                       "best.json"), args.plot, inputs,
                         records="evals")  # fmt: skip
    result = run_search(spec, args.output, workers=args.workers, scheduler=args.scheduler,
                        progress=not args.quiet, plot=args.plot,
                        connect_timeout=args.connect_timeout)  # fmt: skip
    # the result: printed with --quiet too (it silences progress only)
    rows = result.leaderboard
    rejected = sum(r["status"] != "ok" for r in rows)
    print(f"search {spec.name}: {spec.budget} candidates, {len(rows)} distinct, {rejected} "
          f"rejected; {result.computed} evaluated, {result.reused} reused, "
          f"{result.elapsed_s:.1f} s")  # fmt: skip
    for r in [r for r in rows if r["status"] == "ok"][:5]:
        print(f"  {r['rank']:>3}  fitness {r['fitness']:.6g}  median {r['median']:.6g}  "
              f"complexity {r['complexity']:>2}  {r['expression']}")  # fmt: skip
    print("wrote " + ", ".join(str(f) for f in result.files))
    return 0
