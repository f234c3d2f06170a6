"""Benchmark: spiking evaluation of the digits test set, biorate beside Nengo (issue 17).

The net of issue 17: a feedforward 64-64-64-10 rate network (30 epochs, batch 32, Adam 1e-3) with
the shipped noise-free ``lif`` activation, run on the 360 test images, one copy of the network per
image starting from rest, the class the argmax of the output spike counts (ties to the earliest
spike), read at 50, 100, 200 and 500 ms from one run of 500 ms. Simulators:

- biorate ``method="euler"`` at dt 0.1 ms: Brian2 (Cython), the reference (the default path);
- biorate ``method="exact"`` at dt 1 ms (and any ``--exact-dts``): the linear membrane integrated
  exactly, spikes at their crossings within the step, fractional refractory periods (NumPy);
- Nengo 4.1.0 (when installed: ``pip install -e ".[bench]"``), ``LIF(tau_m, t_ref)`` at dt 1 ms
  (its default; ``--nengo-dts``), on the same net and the same mapping (synaptic charges, bias and
  input currents of :func:`biorate.deploy.synaptic_mapping`): with ``v = (V - V_reset)/(V_th -
  V_reset)`` Nengo's neuron receives ``J = (R_m*I - (V_reset - E_L))/(V_th - V_reset)`` and starts
  at ``v = -1`` (rest at E_L), ``min_voltage = -inf``; synapses are ``Lowpass(tau_syn)`` with
  sparse block-diagonal transforms ``R_m*q/(V_th - V_reset)`` per spike.

Times: "first" is the first call in this process (biorate: including any Brian2/Cython
compilation not yet cached in ~/.cython; Nengo: including ``import nengo``), "warm" a second call;
wall = build + run + readout, and for biorate the whole report (rates, correlations, fixed point).
Only ratios within one run mean anything on a shared machine. ``--seeds 0,1,2,3,4`` trains one
net per seed and prints every seed's row and the median accuracies.

Run:  python benchmarks/deploy.py [--images 360] [--seeds 0] [--exact-dts 1ms] [--nengo-dts 1ms]
      [--no-euler] [--processes] [--target auto|cython|numpy] [--activation lif]

``--processes`` also times each simulator as a whole process, as a user's script runs it (load
the saved net and the data, simulate, print): two runs one after the other, first / warm.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

DURATIONS = (0.05, 0.1, 0.2, 0.5)


def nengo_deploy(net, X: np.ndarray, *, dt: float, tau_syn: float = 5e-3) -> dict:  # noqa: ANN001
    """Run ``net`` on Nengo with biorate's mapping; ``{"accuracy" per duration needs y, "counts",
    "first", "build_s", "run_s"}``: output spike counts (n, k) per duration and first spikes."""
    import nengo
    from nengo.transforms import Sparse

    from biorate.deploy import check_deployable, synaptic_mapping

    origin = check_deployable(net)
    prm = {k: float(v.value) for k, v in origin.model.params.items()}
    span = prm["V_th"] - prm["V_reset"]
    to_j_scale, to_j_shift = prm["R_m"] / span, -(prm["V_reset"] - prm["E_L"]) / span
    mapping = synaptic_mapping(net.activation_, net)
    sizes, n = net.sizes, X.shape[0]
    t0 = time.perf_counter()
    with nengo.Network(seed=0) as model:
        lif = nengo.LIF(tau_rc=prm["tau_m"], tau_ref=prm["t_ref"], min_voltage=-np.inf,
                        initial_state={"voltage": nengo.dists.Choice([-1.0])})  # fmt: skip
        ens = {}
        for p in range(1, len(sizes)):
            bias = np.broadcast_to(mapping["bias"][p], (n, sizes[p])).copy()
            if p in mapping["input"]:
                bias += X @ mapping["input"][p]
            m = n * sizes[p]
            ens[p] = nengo.Ensemble(m, 1, neuron_type=lif, gain=np.ones(m),
                                    bias=bias.ravel() * to_j_scale + to_j_shift,
                                    encoders=np.ones((m, 1)))  # fmt: skip
        for (q, d), Q in sorted(mapping["charge"].items()):
            nq, nd = Q.shape
            k, u, v = np.meshgrid(np.arange(n), np.arange(nq), np.arange(nd), indexing="ij")
            rows, cols = (k * nd + v).ravel(), (k * nq + u).ravel()
            data = np.broadcast_to(Q[None] * to_j_scale, (n, nq, nd)).ravel()
            transform = Sparse((n * nd, n * nq), indices=np.stack([rows, cols], 1), init=data)
            nengo.Connection(ens[q].neurons, ens[d].neurons, transform=transform,
                             synapse=nengo.Lowpass(tau_syn))  # fmt: skip
        probe = nengo.Probe(ens[len(sizes) - 1].neurons, "output")
    with nengo.Simulator(model, dt=dt, progress_bar=False) as sim:
        build_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        sim.run(DURATIONS[-1])
        run_s = time.perf_counter() - t1
        spikes = sim.data[probe] > 0  # (steps, n*k): a spike in the step ending at sim.trange()
        t_end = sim.trange()
    k = sizes[-1]
    counts, first = {}, {}
    for d in DURATIONS:
        w = spikes[t_end <= d + dt / 2].reshape(-1, n, k)
        counts[d] = w.sum(axis=0).astype(float)
        has = w.any(axis=0)
        first[d] = np.where(has, t_end[np.argmax(w, axis=0)], np.inf)
    return {"counts": counts, "first": first, "build_s": build_s, "run_s": run_s}


def _accuracies(counts: dict, first: dict, y: np.ndarray) -> list[float]:
    from biorate.deploy import decide

    return [float(np.mean(decide(counts[d], first[d]) == y)) for d in DURATIONS]


def _row(name: str, acc: list[float], first_s: float, warm_s: float, run_s: float,
         corr: float | None = None, proc: tuple[float, float] | None = None) -> list:  # fmt: skip
    return [name, acc, first_s, warm_s, run_s, corr, proc]


def one_process(kind: str, dt: float, net_path: str, images: int) -> None:
    """``--one``: what a user's script does, in a process of its own: load the net and the data,
    deploy (``kind`` exact or euler) or run Nengo, print the accuracies."""
    from biorate.datasets import load_dataset
    from biorate.network import RateNetwork

    data = load_dataset("digits")
    X, y = data.X_test[:images], data.y_test[:images]
    net = RateNetwork.load(net_path)
    if kind == "nengo":
        res = nengo_deploy(net, X, dt=dt)
        acc = _accuracies(res["counts"], res["first"], y)
    else:
        from biorate.deploy import deploy

        acc = deploy(net, X, y, durations=[f"{d} s" for d in DURATIONS], method=kind,
                     dt=f"{dt} s", progress=False)["spiking_accuracy"]  # fmt: skip
    print(" / ".join(f"{a:.3f}" for a in acc))


def process_times(kind: str, dt: float, net_path: str, images: int) -> tuple[float, float]:
    """Whole-process wall times (s) of two ``--one`` runs one after the other: the first may
    compile (Brian2's Cython cache), the second is warm."""
    import subprocess
    import sys

    cmd = [sys.executable, __file__, "--one", kind, "--one-dt", str(dt), "--net", net_path,
           "--images", str(images)]  # fmt: skip
    walls = []
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    return walls[0], walls[1]


def run_seed(seed: int, args: argparse.Namespace, data) -> list[list]:  # noqa: ANN001
    from biorate.deploy import deploy
    from biorate.network import RateNetwork

    t0 = time.perf_counter()
    net = RateNetwork([64, 64, 64, 10], activation=args.activation, batch_size=32,
                      learning_rate=1e-3, seed=seed)  # fmt: skip
    net.fit(data.X_train, data.y_train, epochs=30)
    X, y = data.X_test[: args.images], data.y_test[: args.images]
    rate_acc = float(net.evaluate(X, y)["accuracy"])
    print(f"seed {seed}: trained {net!r} in {time.perf_counter() - t0:.1f} s; rate accuracy "
          f"{rate_acc:.4f}")  # fmt: skip
    rows = [_row("rate network", [rate_acc] * 4, 0.0, 0.0, 0.0)]
    net_path = None
    if args.processes:
        import tempfile

        net_path = str(net.save(Path(tempfile.mkdtemp()) / f"net{seed}.npz"))
    runs = [("exact", dt) for dt in args.exact_dts] + ([] if args.no_euler else [("euler", 1e-4)])
    for method, dt in runs:
        walls = []
        for _ in range(2):
            t0 = time.perf_counter()
            rep = deploy(net, X, y, durations=[f"{d} s" for d in DURATIONS], method=method,
                         dt=f"{dt} s", target=args.target, progress=False)  # fmt: skip
            walls.append(time.perf_counter() - t0)
        corr = min(p["correlation"] for p in rep["populations"][:-1])
        proc = process_times(method, dt, net_path, args.images) if net_path else None
        rows.append(_row(f"biorate {method}, dt {dt * 1e3:g} ms", rep["spiking_accuracy"],
                         walls[0], walls[1], rep["performance"]["run_s"], corr, proc))  # fmt: skip
    for dt in args.nengo_dts:
        t0 = time.perf_counter()
        try:
            import nengo
        except ImportError:
            print("Nengo is not installed (pip install -e '.[bench]'): no Nengo rows")
            break
        walls = []
        for _ in range(2):
            t1 = time.perf_counter()
            res = nengo_deploy(net, X, dt=dt)
            walls.append(time.perf_counter() - (t0 if not walls else t1))
        proc = process_times("nengo", dt, net_path, args.images) if net_path else None
        rows.append(_row(f"Nengo {nengo.__version__}, dt {dt * 1e3:g} ms",
                         _accuracies(res["counts"], res["first"], y), walls[0], walls[1],
                         res["run_s"], None, proc))  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="auto", help="Brian2 target of the euler rows")
    ap.add_argument("--images", type=int, default=360)
    ap.add_argument("--activation", default="lif")
    ap.add_argument("--seeds", default="0", help="training seeds, comma-separated")
    ap.add_argument("--exact-dts", default="1ms", help="steps of the exact rows, e.g. 1ms,0.5ms")
    ap.add_argument("--nengo-dts", default="1ms", help="steps of the Nengo rows ('' for none)")
    ap.add_argument("--no-euler", action="store_true", help="skip the Brian2 Euler reference")
    ap.add_argument(
        "--processes",
        action="store_true",
        help="also time each simulator as a whole process (two runs: first, warm)",
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)  # a --processes child: exact|euler|nengo
    ap.add_argument("--one-dt", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--net", help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", module="nengo")  # max_rates of gain=1 (unused: bias given)
    if args.one:
        one_process(args.one, args.one_dt, args.net, args.images)
        return
    ms = [v.strip() for v in args.exact_dts.split(",") if v.strip()]
    args.exact_dts = [float(v.removesuffix("ms")) * 1e-3 for v in ms]
    nd = [v.strip() for v in args.nengo_dts.split(",") if v.strip()]
    args.nengo_dts = [float(v.removesuffix("ms")) * 1e-3 for v in nd]
    from biorate.datasets import load_dataset

    data = load_dataset("digits")
    table: dict[str, list[list]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for row in run_seed(seed, args, data):
            table.setdefault(row[0], []).append(row)
    nengo = next((rows for name, rows in table.items()
                  if name.startswith("Nengo") and "dt 1 ms" in name), None)  # fmt: skip
    nengo_warm = statistics.median(r[3] for r in nengo) if nengo else None
    nengo_proc = statistics.median(r[6][1] for r in nengo) if nengo and nengo[0][6] else None
    print(
        f"\n{args.images} images x 138 neurons, 500 ms; medians over "
        f"{len(next(iter(table.values())))} seed(s); times in s: a deploy() call in this process "
        "(first / warm, simulation), a whole process (first / warm); ratios: warm / Nengo at 1 ms"
    )
    print("| simulator | accuracy 50 / 100 / 200 / 500 ms | call first / warm (run) | ratio | "
          "process first / warm | ratio | hidden-rate r (lowest population) |\n"
          "|---|---|---|---|---|---|---|")  # fmt: skip
    for name, rows in table.items():
        acc = [statistics.median(r[1][i] for r in rows) for i in range(4)]
        first, warm, run = (statistics.median(r[j] for r in rows) for j in (2, 3, 4))
        call = f"{first:.1f} / {warm:.1f} ({run:.1f})" if warm else ""
        ratio = f"{warm / nengo_warm:.2f}" if nengo_warm and warm else ""
        proc = pratio = corr = ""
        if rows[0][6]:
            pf, pw = (statistics.median(r[6][j] for r in rows) for j in (0, 1))
            proc, pratio = f"{pf:.1f} / {pw:.1f}", f"{pw / nengo_proc:.2f}" if nengo_proc else ""
        if rows[0][5] is not None:
            corr = f"{statistics.median(r[5] for r in rows):.5f}"
        print(f"| {name} | {' / '.join(f'{a:.3f}' for a in acc)} | {call} | {ratio} | {proc} | "
              f"{pratio} | {corr} |")  # fmt: skip
        if len(rows) > 1:
            print("|  per seed | " + "; ".join(" / ".join(f"{a:.3f}" for a in r[1])
                                                for r in rows) + " | | | | | |")  # fmt: skip


if __name__ == "__main__":
    main()
