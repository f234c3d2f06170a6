"""Benchmark: evaluations per minute of ``biorate search``, and the engine's overhead per evaluation.

One formula search on digits (the accuracy objective: a 64-32-10 net per seed, 3 seeds, cap 40
epochs; budget N), timed in one run of this script, each in a fresh folder:

  bare      the same evaluations as a plain loop in this process (``evaluate_candidate`` on the
            formulas the search proposed), nothing written;
  in-proc   ``run_search`` with ``workers=0`` (evaluations in this process, files written);
  2 workers ``run_search`` on a LocalCluster of 2 worker processes (started once, timed apart).

Printed: evaluations per minute of each, the overhead of the search engine over the bare loop (the
evolution, hashing, atomic writes), and the speed-up of 2 workers over one process (at most 2 on a
2-core machine; other processes on a shared machine lower it).

Then the bound on batched training (issue 15's goal: several candidates or seeds trained as one
tensor computation, >= 4x): a training step's time at batch 1 is its fixed cost (Python and the
NumPy calls, whatever the batch), the rest at the objective's batch (256) is arithmetic that grows
with the samples. Stacking K networks into one computation can save at most the fixed cost of K - 1
of them, so its speed-up is at most t(256) / (t(256) - t(1)) however large K is, unless the
larger arrays made the arithmetic itself cheaper per sample, which they do not here (a sample
cost 4.04 us at batch 256, 4.13 us at 512 and 6.2 us at 1150: larger arrays outgrow the cache).
Measured on this machine (2026-11-30): 0.28 ms against 0.94 ms a step, at most 1.42x: the 4x
goal cannot be met by batching here, and is not built; each network is trained on its own.

Run:  python benchmarks/search.py [--budget 24] [--no-dask]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def spec(budget: int) -> dict:
    return {"schema": 1, "name": "bench",
            "search": {"space": "formula", "seed": 0, "budget": budget, "population": 8,
                       "sample": 3, "batch": 4},
            "objective": {"kind": "accuracy", "dataset": "digits", "hidden": [32], "epochs": 40,
                          "seeds": 3, "complexity_penalty": 0.002}}  # fmt: skip


def batching_bound(repeats: int = 3) -> None:
    """Print a training step's fixed cost (batch 1) against its time at batch 256 (the search's
    64-32-10 net, a swish formula, best of ``repeats``) and the speed-up batching could reach."""
    import numpy as np

    from biorate.activation import Activation
    from biorate.network import RateNetwork
    from biorate.search.objective import validation_split

    X, y, _, _ = validation_split("digits", 0.2)
    act = Activation(form="formula", expression="x * sigmoid(x)", name="candidate")
    per_step = {}
    for batch, epochs in ((1, 1), (256, 40)):
        best = np.inf
        for _ in range(repeats):
            net = RateNetwork([64, 32, 10], act, batch_size=batch, patience=None, seed=0)
            t0 = time.perf_counter()
            net.fit(X, y, epochs=epochs)
            best = min(best, (time.perf_counter() - t0) / (epochs * -(-len(y) // batch)))
        per_step[batch] = best
    fixed, step = per_step[1], per_step[256]
    print(f"a training step (64-32-10, swish formula): {fixed * 1e3:.3f} ms at batch 1 (its fixed "
          f"cost), {step * 1e3:.3f} ms at batch 256: batching networks saves at most the fixed "
          f"cost, a speed-up of at most {step / max(step - fixed, 1e-12):.2f}x (goal 4x)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    from biorate.search import load_search_spec, run_search
    from biorate.search.objective import evaluate_candidate
    from biorate.search.run import eval_inputs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=24)
    ap.add_argument("--no-dask", action="store_true", help="skip the 2-worker run")
    args = ap.parse_args(argv)
    batching_bound()
    s = spec(args.budget)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        inproc = run_search(s, Path(tmp) / "a", workers=0, progress=False)
        t_in = time.perf_counter() - t0
        exprs = [r["expression"] for r in inproc.leaderboard]
        parsed = load_search_spec(s)
        t0 = time.perf_counter()
        for e in exprs:
            evaluate_candidate(eval_inputs(parsed, e))
        t_bare = time.perf_counter() - t0
        n = len(exprs)
        print(f"digits, 64-32-10, 3 seeds, cap 40 epochs; {n} evaluations")
        print(f"  bare loop     {60 * n / t_bare:6.1f} evaluations/min ({t_bare / n:.2f} s each)")
        print(f"  in-process    {60 * n / t_in:6.1f} evaluations/min; engine overhead "
              f"{(t_in - t_bare) / n * 1e3:+.0f} ms per evaluation ({t_in / t_bare:.2f}x the bare "
              "loop)")  # fmt: skip
        if args.no_dask:
            return
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
        client = Client(cluster)
        client.submit(evaluate_candidate, eval_inputs(parsed, "x"), pure=False).result()  # warm-up
        t_start = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            two = run_search(s, Path(tmp) / "b", client=client, progress=False)
            t_two = time.perf_counter() - t0
        finally:
            client.close()
            cluster.close()
        assert [r["expression"] for r in two.leaderboard] == exprs  # the same search
        print(f"  2 workers     {60 * n / t_two:6.1f} evaluations/min; speed-up over one process "
              f"{t_in / t_two:.2f}x (cluster start and first import {t_start:.1f} s, not counted)")  # fmt: skip


if __name__ == "__main__":
    main()
