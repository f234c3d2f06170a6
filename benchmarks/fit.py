"""Benchmark: ``biorate.fit(curve, form="auto")`` on 100 curves of 50 points (goal: under 5 s).

The curves are realistic f-I curves without a simulator: Siegert predictions of the lif model
(``biorate.theory.fi``) for 100 combinations of membrane time constant (10-30 ms) and noise
(0.5-4 mV) over 0-0.5 nA, with seeded Gaussian scatter of 3 % of the rate plus 0.3 Hz given as the
SEM. ``auto`` fits all eight forms (six textbook ones and the two LIF-shaped ones, which suit an
f-I curve) to each curve and keeps the lowest AIC; the six textbook forms alone are timed too.

Prints the total time, the time per curve and per form fit, the ratio of the goal to the time,
which forms won, and how many fits were flagged; then replays every bounded problem those fits
solved with biorate's box_lm and with SciPy's trust-region-reflective ``least_squares`` (the
bounded solver used before), from the same starts: their time ratio and final costs.

Run:  python benchmarks/fit.py [--curves 100] [--repeat 3]
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
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (best and median shown)")
    args = parser.parse_args()

    from biorate.fitting import fit
    from biorate.forms import FORMS

    curves = make_curves(args.curves)
    fit(curves[0], "auto")  # warm up: SciPy imports

    def timed(forms=None):
        runs = []
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            out = [fit(c, "auto", forms=forms) for c in curves]
            runs.append(time.perf_counter() - t0)
        return out, min(runs), float(np.median(runs)), max(runs)

    results, elapsed, median, worst = timed()
    n_fits = args.curves * len(FORMS)
    winners = collections.Counter(r.form for r in results)
    flagged = sum(not r.ok for r in results)
    r2 = np.array([r.r2 for r in results])
    print(f"fit(curve, 'auto'): {args.curves} curves x {POINTS} points, {len(FORMS)} forms each")
    print(f"  total (best of {args.repeat}): {elapsed:8.3f} s   (median {median:.3f} s, "
          f"slowest {worst:.3f} s)")  # fmt: skip
    print(f"  per curve:        {1e3 * elapsed / args.curves:8.2f} ms")
    print(f"  per form fit:     {1e3 * elapsed / n_fits:8.2f} ms")
    print(f"  chosen forms:     {dict(winners.most_common())}")
    print(f"  poor fits:        {flagged} of {args.curves};  R² of chosen fits: min {r2.min():.4f}, "
          f"median {np.median(r2):.4f}")  # fmt: skip
    goal = GOAL_S * args.curves / 100
    print(f"ratio goal ({goal:g} s) / time:  {goal / elapsed:8.2f}x best, {goal / worst:.2f}x "
          f"slowest  (goal >= 1)")  # fmt: skip
    # the six textbook forms alone (what auto tried before the two LIF-shaped forms joined it)
    textbook = [n for n in FORMS if n not in ("lif", "soft_lif")]
    _, six, six_median, _ = timed(textbook)
    print(f"the {len(textbook)} textbook forms only: {six:.3f} s (median {six_median:.3f} s); "
          f"ratio goal / time {goal / six:.2f}x")  # fmt: skip
    compare_bounded_solvers(curves)


def compare_bounded_solvers(curves: list) -> None:
    """Replay every bounded problem ``auto`` solved (the LIF forms' fits, any fit whose unbounded
    optimum left the bounds) with biorate's box_lm and with SciPy's trust-region-reflective
    least_squares (the bounded solver biorate used before), from the same starts."""
    from scipy.optimize import least_squares

    import biorate.fitting.lsq as lsq
    from biorate.fitting import _TOL, fit
    from biorate.forms import FORMS

    problems = []
    solver = lsq.box_lm

    def recording(fun, jac, x0, lb, ub, **kw):
        problems.append((fun, jac, np.array(x0, dtype=float), lb, ub, kw["max_nfev"]))
        return solver(fun, jac, x0, lb, ub, **kw)

    # record with the forms' separate value and Jacobian (no Form.fj), so that both solvers are
    # handed the same two functions: trf evaluates them at different points, and the fused pair
    # would charge it a Jacobian at every residual evaluation
    fused = {name: form.fj for name, form in FORMS.items()}
    lsq.box_lm = recording
    try:
        for form in FORMS.values():
            object.__setattr__(form, "fj", None)  # Form is frozen
        for c in curves:
            fit(c, "auto")
    finally:
        lsq.box_lm = solver
        for name, form in FORMS.items():
            object.__setattr__(form, "fj", fused[name])
    tol = {"ftol": _TOL, "xtol": _TOL, "gtol": _TOL}
    times, costs = {"box_lm": 0.0, "trf": 0.0}, {"box_lm": [], "trf": []}
    with np.errstate(all="ignore"):
        for fun, jac, x0, lb, ub, max_nfev in problems:
            t0 = time.perf_counter()
            a = solver(fun, jac, x0, lb, ub, max_nfev=max_nfev, **tol)
            times["box_lm"] += time.perf_counter() - t0
            x0 = np.clip(x0, lb + 1e-10 * (ub - lb), ub - 1e-10 * (ub - lb))  # trf: strictly inside
            t0 = time.perf_counter()
            b = least_squares(fun, x0, jac=jac, bounds=(lb, ub), method="trf", x_scale="jac",
                              max_nfev=max_nfev, **tol)  # fmt: skip
            times["trf"] += time.perf_counter() - t0
            costs["box_lm"].append(a.cost)
            costs["trf"].append(b.cost)
    a, b = np.array(costs["box_lm"]), np.array(costs["trf"])
    rel = (a - b) / np.maximum(b, 1e-300)
    print(f"bounded solver, {len(problems)} problems from these fits, same starts:")
    print(f"  box_lm {times['box_lm']:.3f} s, SciPy trf {times['trf']:.3f} s: "
          f"ratio trf / box_lm {times['trf'] / times['box_lm']:.2f}x")  # fmt: skip
    print(f"  final cost: equal within 1e-9 in {np.sum(np.abs(rel) <= 1e-9)}, box_lm lower in "
          f"{np.sum(rel < -1e-9)}, trf lower in {np.sum(rel > 1e-9)}")  # fmt: skip
    sizes = np.array([len(p[2]) for p in problems])
    differ = collections.Counter(int(k) for k in sizes[np.abs(rel) > 1e-9])
    print(
        f"  problems that differ, by number of parameters: {dict(differ)} (lif has 5, soft_lif 6)"
    )
    print("  (lif's rate leaves 0 with infinite slope, so its cost has a narrow dip just below each"
          " data point;\n  trf, which stays strictly inside the bounds, ends in such a dip next to"
          " the bound of a walk's data\n  interval more often, box_lm on the bound itself; fit()"
          " keeps the best of its starts and walk)")  # fmt: skip


if __name__ == "__main__":
    main()
