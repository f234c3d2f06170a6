"""``biorate pipeline``: the main job, end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..units import integer
from .common import OutputError, add_quiet, check_writable


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pipeline", help="the main job end to end: curves, fits, nets, spikes, report"
    )
    p.add_argument("--out", default="biorate_out", help="output folder (default biorate_out)")
    p.add_argument("--quick", action="store_true", help="short protocol (under 3 minutes)")
    p.add_argument("--seed", type=integer, default=1, help="random seed of every stage (default 1)")
    p.add_argument(
        "--target",
        default="auto",
        choices=["auto", "cython", "numpy"],
        help="Brian2 code generation (default auto: Cython, or NumPy with --quick)",
    )
    p.add_argument("--workers", type=integer, default=None,
                   help="processes training the rate nets side by side (default: one per CPU "
                        "this process may use; 1 trains them one after the other; the results "
                        "are the same)")  # fmt: skip
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import run_pipeline
    from ..sweep.cluster import default_workers

    if not str(args.out).strip():
        raise OutputError(
            "--out names no folder (an empty path); give the pipeline's output folder"
        )
    check_writable(args.out, f"--out {args.out}", folder=True)
    report = run_pipeline(
        args.out,
        quick=args.quick,
        progress=not args.quiet,
        target=args.target,
        seed=args.seed,
        workers=default_workers() if args.workers is None else args.workers,
    )
    if args.quiet:  # the result's whereabouts print anyway (--quiet silences progress only)
        out = Path(args.out)
        print(f"pipeline finished in {report['total_seconds']:.1f} s: {out / 'report.md'}, "
              f"{out / 'report.json'}")  # fmt: skip
    return 0
