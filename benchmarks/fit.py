"""Benchmark: ``biorate.fit(curve, form="auto")`` on 100 curves of 50 points (goal: under 5 s).

The curves are realistic f-I curves without a simulator: Siegert predictions of the lif model
(``biorate.theory.fi``) for 100 combinations of membrane time constant (10-30 ms) and noise
(0.5-4 mV) over 0-0.5 nA, with seeded Gaussian scatter of 3 % of the rate plus 0.3 Hz given as the
SEM. ``auto`` fits all eight forms (six textbook ones and the two LIF-shaped ones, which suit an
f-I curve) to each curve and keeps the lowest AIC; the six textbook forms alone are timed too.

Prints the total time, the time per curve and per form fit, the ratio of the goal to the time,
which forms won, and how many fits were flagged.

Run:  python benchmarks/fit.py [--curves 100]
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

GOAL_S = 5.0
POINTS = 50


def make_curves(n: int, seed: int = 0) -> list:
    from biorate import load_model, theory
    from biorate.curve import TransferCurve

    rng = np.random.default_rng(seed)
    lif = load_model("lif")
    current = np.linspace(0.0, 0.5e-9, POINTS)
    curves = []
    for i in range(n):
        model = lif.with_params(tau_m=f"{10 + 20 * (i % 10) / 9:.3f} ms")
        sigma = 0.5 + 3.5 * (i // 10) / 9  # mV
        clean = theory.fi(model, current="0nA:0.5nA:50", sigma=f"{sigma} mV")
        sem = 0.03 * clean.y + 0.3
        y = clean.y + rng.normal(0.0, sem)
        curves.append(TransferCurve("fi", current, y, "A", "Hz", y_sem=sem,
                                    model={"name": f"lif_{i}"}))  # fmt: skip
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", type=int, default=100)
    args = parser.parse_args()

    from biorate.fitting import fit
    from biorate.forms import FORMS

    curves = make_curves(args.curves)
    fit(curves[0], "auto")  # warm up: SciPy imports
    t0 = time.perf_counter()
    results = [fit(c, "auto") for c in curves]
    elapsed = time.perf_counter() - t0
    n_fits = args.curves * len(FORMS)
    winners = collections.Counter(r.form for r in results)
    flagged = sum(not r.ok for r in results)
    r2 = np.array([r.r2 for r in results])
    print(f"fit(curve, 'auto'): {args.curves} curves x {POINTS} points, {len(FORMS)} forms each")
    print(f"  total:            {elapsed:8.3f} s")
    print(f"  per curve:        {1e3 * elapsed / args.curves:8.2f} ms")
    print(f"  per form fit:     {1e3 * elapsed / n_fits:8.2f} ms")
    print(f"  chosen forms:     {dict(winners.most_common())}")
    print(f"  poor fits:        {flagged} of {args.curves};  R² of chosen fits: min {r2.min():.4f}, "
          f"median {np.median(r2):.4f}")  # fmt: skip
    goal = GOAL_S * args.curves / 100
    print(f"ratio goal ({goal:g} s) / time:  {goal / elapsed:8.2f}x  (goal >= 1)")
    # the six textbook forms alone (what auto tried before the two LIF-shaped forms joined it)
    textbook = [n for n in FORMS if n not in ("lif", "soft_lif")]
    t0 = time.perf_counter()
    for c in curves:
        fit(c, "auto", forms=textbook)
    six = time.perf_counter() - t0
    print(
        f"the {len(textbook)} textbook forms only: {six:.3f} s; ratio goal / time {goal / six:.2f}x"
    )


if __name__ == "__main__":
    main()
