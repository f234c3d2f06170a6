"""Benchmark: one release curve, all rates in one Brian2 run against a loop of per-rate runs.

The curve (defaults = the CLI's ``biorate simulate release`` defaults): tm_release, 20 presynaptic
Poisson rates from 1 to 100 Hz, 10 trials, 20 s measured after a 0.2 s transient, dt = 0.1 ms.

  one run   measure_release with all rates: ONE network of 20 x 10 terminals, one run.
  loop      the same function called once per rate (a 10-terminal network and a run per rate, the
            way a per-level loop is usually written). Only --loop-levels rates (spread over the
            range) are timed; the total for all rates is extrapolated linearly and the output says
            so.

Both sides first make one short warm-up call, so Cython compilation (cached under ~/.cython) is not
timed. The ratio printed is loop (extrapolated) / one run.

Run:  python benchmarks/release_curve.py [--model tm_release] [--target auto|cython|numpy]
          [--levels 20] [--trials 10] [--duration 20] [--loop-levels 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="tm_release")
    p.add_argument("--target", default="auto", choices=["auto", "cython", "numpy"])
    p.add_argument("--levels", type=int, default=20)
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--duration", type=float, default=20.0, help="seconds measured per trial")
    p.add_argument("--transient", type=float, default=0.2, help="seconds")
    p.add_argument("--dt", type=float, default=0.1, help="ms")
    p.add_argument("--loop-levels", type=int, default=3, help="rates timed in the loop")
    args = p.parse_args(argv)

    from biorate.spiking import measure_release

    rates = np.linspace(1.0, 100.0, args.levels)
    kw = dict(trials=args.trials, transient=f"{args.transient} s", dt=f"{args.dt} ms", seed=1,
              target=args.target, progress=False)  # fmt: skip

    # warm-up: compile (Cython) / build code objects once, outside the timings
    t0 = time.perf_counter()
    measure_release(args.model, rate=["10 Hz"], duration="0.05 s", **kw)
    warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    curve = measure_release(args.model, rate=[f"{r} Hz" for r in rates],
                            duration=f"{args.duration} s", **kw)  # fmt: skip
    one = time.perf_counter() - t0

    subset = rates[np.linspace(0, args.levels - 1, min(args.loop_levels, args.levels)).astype(int)]
    t0 = time.perf_counter()
    for r in subset:
        measure_release(args.model, rate=[f"{r} Hz"], duration=f"{args.duration} s", **kw)
    loop_part = time.perf_counter() - t0
    loop = loop_part * args.levels / subset.size

    print(f"model {args.model}, {args.levels} rates x {args.trials} trials x {args.duration:g} s "
          f"(+{args.transient:g} s transient), dt = {args.dt:g} ms, "
          f"target {curve.protocol['codegen_target']}")  # fmt: skip
    print(f"warm-up call (compilation if any): {warm:8.2f} s")
    print(f"one run, all rates:                {one:8.2f} s")
    print(f"loop of per-rate runs:             {loop:8.2f} s  (timed {subset.size} of "
          f"{args.levels} rates: {loop_part:.2f} s, extrapolated x{args.levels / subset.size:.3g})")  # fmt: skip
    ratio = loop / one
    print(f"ratio loop / one run:              {ratio:8.1f}x")
    return ratio


if __name__ == "__main__":
    main()
