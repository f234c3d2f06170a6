"""Depth against connectivity (issue 14): plain vs residual vs feedback vs volume at 2, 5, 10 and
20 hidden layers, with the built-in sigmoid and the shipped fitted ``lif_noise`` activation.

The source text 000 says residual skips are one step towards the brain's connectivity and that
feedback plus forward skips (a fully connected "volume") is the next, because a volume is no
longer a sequence through which the gradient must pass layer by layer. This benchmark measures
it on digits (1437 train / 360 test), hidden width 64, seeds 0-4:

- ``grad``: the norm of the gradient of the first hidden population's incoming parameters (its
  bias included; for feedback and volume nets also the feedback into it) at initialisation,
  before any update, on the whole training set, exact (no derivative offset) and of the *data
  loss only* (the L2 term ``l2*W`` is subtracted; with it the plain nets' norm cannot fall below
  ~8e-4, the floor that ``examples/05_vanishing_gradients.py`` reports). The cache also keeps the
  norm with the L2 term and that of the input matrix ``W0_1`` alone.
- ``acc``: test accuracy after training; epochs, seconds, and for fixed-point training the mean
  steps to the fixed point and the batches whose feedback the safeguard scaled down.
- with ``--spiking`` (lif_noise nets only; a built-in sigmoid has no neuron model behind it and
  :func:`biorate.deploy` refuses it, DeployError): the spiking gap, rate accuracy minus spiking
  accuracy (Brian2, current encoding, all 360 test images, one presentation time,
  ``--duration``, 200 ms by default).

Connectivities: ``plain`` (feedforward), ``residual``, ``feedback`` and ``volume`` trained at
their fixed point (``training="fixed_point"``, the state a spiking net settles to; issue 14
measured that BPTT loses more as spikes); ``feedback-bptt`` and ``volume-bptt`` are extra rows
(BPTT, T = 10), run only when asked for with ``--configs``.

Training: every net gets the same budget, Adam 1e-3, batch 32 (the library's defaults for a
graph with feedback, used for all so that every net takes the same 45 steps an epoch), L2 1e-4,
the default stopping rule (patience 10, tol 1e-4) and a cap of ``--epochs`` epochs (20 by
default, as examples/05). The cap is a choice of cost, measured before the run on this shared
2-core machine (lif_noise, seconds per epoch at depth 2 / 5 / 10 / 20): feedback at its fixed
point 0.4 / 1.0 / 1.7 / 4.0, volume at its fixed point 0.4 / 1.7-4.3 / 4.7-17 / 13-51 (growing as
training raises the loop gain; a volume of 20 layers has 421 projections), plain and residual
0.02-0.14 at batch 256. Converged training (200 epochs) of the whole grid would take days here;
so the table is an equal, short budget, not converged accuracy. Cells are filled cheapest first
and the table says how many seeds each has (``n``) when fewer than five.

What the README's table (2026-11-30) ran, in about 90 minutes of wall time on that machine (load
3-8), and why: gradients at initialisation for every cell and seed; plain and residual trained
at every depth, seeds 0-4; feedback and volume at 2 and 5 layers, seeds 0-4 (fixed-point training
slowed as the loop gain grew: lif_noise feedback 4-8 s an epoch at 2 layers instead of the 0.4
of its first epoch); volume with lif_noise at 10 layers seed 0 only (41 s an epoch, 14 min);
feedback at 10 and 20 layers and volume at 20 not trained (their first-layer gradients at
initialisation are 4e-7 or below for feedback; volume at 20 layers measured 13-51 s an epoch).
Spiking (``--spiking --min-rate 0.5``, 200 ms) for every lif_noise net that learned at 2 and 5
layers and the residual nets at 10: Brian2 compiles code per synapse group, and a residual or
volume net has one per pair of populations (the first 10-layer residual deploy took 18 min, the
next 3-4 min), so 20 layers and the 10-layer volume were not deployed.

Results are cached per net in ``--cache`` (JSON; resumable: a finished net is never trained
again) and the trained nets are saved beside it (``--cache`` without its suffix, a folder), so
that ``--spiking`` can be added later without training again. A net whose training diverges is
recorded as such (its message), never dropped.

Run:  python benchmarks/depth.py [--grads-only] [--spiking] [--epochs 20] [--seeds 5]
      [--depths 2,5,10,20] [--configs plain,residual,feedback,volume]
      [--activations sigmoid,lif_noise] [--duration "200 ms"] [--markdown]
      [--cache benchmarks/depth_results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

CONFIGS = {
    "plain": {"connectivity": "feedforward"},
    "residual": {"connectivity": "residual"},
    "feedback": {"connectivity": "feedback", "training": "fixed_point"},
    "volume": {"connectivity": "volume", "training": "fixed_point"},
    "feedback-bptt": {"connectivity": "feedback"},
    "volume-bptt": {"connectivity": "volume"},
}
MAIN = ("plain", "residual", "feedback", "volume")
ACTIVATIONS = ("sigmoid", "lif_noise")
DEPTHS = (2, 5, 10, 20)
TRAINING = {"learning_rate": 1e-3, "batch_size": 32, "l2": 1e-4}


def _net(act: str, config: str, depth: int, seed: int) -> object:
    from biorate.network import RateNetwork

    return RateNetwork([64, *[64] * depth, 10], activation=act, seed=seed, **TRAINING,
                       **CONFIGS[config])  # fmt: skip


def _grads(act: str, config: str, depth: int, seed: int, data: object) -> dict:
    """First-population gradient norms at initialisation (see the module doc)."""
    net = _net(act, config, depth, seed).initialize()
    t0 = time.perf_counter()
    _, grads, cache = net.loss_and_grads(data.X_train, data.y_train, offset=0.0)
    total = net.graph_.population_norms(grads)["h1"]
    for k in net.graph_.weights:  # the data loss's gradient: take the L2 term back out
        grads[k] = grads[k] - net.l2 * net.params_[k]
    rec = {"grad_h1": net.graph_.population_norms(grads)["h1"], "grad_h1_with_l2": total,
           "grad_W0_1": float(np.linalg.norm(grads["W0_1"])),
           "grad_s": time.perf_counter() - t0, "projections": len(net.projections)}  # fmt: skip
    if "fp" in cache:
        rec["grad_fp_converged"] = float(np.mean(cache["fp"]["converged"]))
    return rec


def _train(act: str, config: str, depth: int, seed: int, epochs: int, data: object,
           net_path: Path) -> dict:  # fmt: skip
    from biorate.errors import NetworkError

    net = _net(act, config, depth, seed)
    t0 = time.perf_counter()
    try:
        hist = net.fit(data.X_train, data.y_train, epochs=epochs)
    except NetworkError as exc:  # divergence: recorded, not dropped
        return {"diverged": str(exc), "train_s": time.perf_counter() - t0}
    rec = {"rate": net.score(data.X_test, data.y_test), "epochs": hist.epochs,
           "stop_reason": hist.stop_reason, "train_s": time.perf_counter() - t0,
           "epoch_s": float(np.median(hist.epoch_time_s))}  # fmt: skip
    if hist.fp_iterations:
        rec["fp_iterations"] = hist.fp_iterations[-1]
        rec["fp_rescaled"] = float(sum(hist.fp_rescaled))
        rec["fp_unconverged"] = hist.fp_unconverged[-1]
    if net.has_feedback and net.training == "bptt":  # where the spiking net would settle
        _, h = net.states(data.X_test, steps=300)
        rec["fixed_point"] = float(np.mean(np.argmax(h[-1], axis=1) == data.y_test))
    net_path.parent.mkdir(parents=True, exist_ok=True)
    net.save(net_path)
    return rec


def _spiking(net_path: Path, seed: int, duration: str, target: str, data: object,
             max_synapses: float) -> dict:  # fmt: skip
    from biorate.deploy import DeployError, deploy, effective_weights
    from biorate.network import RateNetwork

    net = RateNetwork.load(net_path)
    # synapses of one image: every (source, target) pair of the effective weights (a volume
    # has one for nearly every pair of populations)
    per_image = sum(w.size for w in effective_weights(net).values())
    batch = int(max(1, min(400, max_synapses // per_image)))
    t0 = time.perf_counter()
    try:
        rep = deploy(net, data.X_test, data.y_test, durations=[duration], target=target,
                     progress=False, method="euler", seed=seed, batch_size=batch)  # fmt: skip
    except DeployError as exc:
        return {"refused": str(exc)}
    return {"spiking": rep["spiking_accuracy"][0], "deploy_s": time.perf_counter() - t0,
            "synapses_per_image": per_image, "batch_size": batch}  # fmt: skip


def _stats(values: list[float]) -> tuple[float, float, float]:
    return float(np.median(values)), float(min(values)), float(max(values))


def _cell(values: list[float], seeds: int, fmt: str = ".3f") -> str:
    if not values:
        return "—"
    med, lo, hi = _stats(values)
    n = "" if len(values) >= seeds else f", n={len(values)}"
    return f"{med:{fmt}} [{lo:{fmt}}-{hi:{fmt}}{n}]" if len(values) > 1 else f"{med:{fmt}} (n=1)"


class Table:
    """The cache read back per cell (activation, config, depth) over seeds."""

    def __init__(self, cache: dict, seeds: int, epochs: int, duration: str) -> None:
        self.c, self.seeds, self.epochs, self.duration = cache, seeds, epochs, duration

    def recs(self, section: str, act: str, config: str, depth: int) -> list[dict]:
        suffix = f"/{self.epochs}" if section != "grad" else ""
        keys = (f"{act}/{config}/{depth}/{s}{suffix}" for s in range(self.seeds))
        return [self.c[section][k] for k in keys if k in self.c.get(section, {})]

    def acc(self, act: str, config: str, depth: int) -> list[float]:
        return [r["rate"] for r in self.recs("train", act, config, depth) if "rate" in r]

    def diverged(self, act: str, config: str, depth: int) -> int:
        return sum("diverged" in r for r in self.recs("train", act, config, depth))

    def grad(self, act: str, config: str, depth: int, key: str = "grad_h1") -> list[float]:
        return [r[key] for r in self.recs("grad", act, config, depth)]

    def gap(self, act: str, config: str, depth: int) -> list[float] | str:
        out = []
        for s in range(self.seeds):
            key = f"{act}/{config}/{depth}/{s}/{self.epochs}"
            sp = self.c.get("spiking", {}).get(f"{key}/{self.duration}")
            tr = self.c.get("train", {}).get(key)
            if sp is None or tr is None:
                continue
            if "refused" in sp:
                return "refused"
            out.append(tr["rate"] - sp["spiking"])
        return out


def print_tables(t: Table, acts: list[str], configs: list[str], depths: list[int]) -> None:
    print(f"\nTest accuracy, median [min-max] over seeds 0-{t.seeds - 1} ({t.epochs}-epoch cap; "
          "n = seeds measured when fewer)")  # fmt: skip
    for act in acts:
        print(f"\n{act:10s}" + "".join(f"{'depth ' + str(d):>30s}" for d in depths))
        for cfg in configs:
            cells = []
            for d in depths:
                cell = _cell(t.acc(act, cfg, d), t.seeds)
                nd = t.diverged(act, cfg, d)
                cells.append(cell + (f" ({nd} diverged)" if nd else ""))
            print(f"{cfg:14s}" + "".join(f"{c:>30s}" for c in cells))
    print("\nFirst hidden population's gradient norm at initialisation (data loss only), median")
    for act in acts:
        print(f"\n{act:10s}" + "".join(f"{'depth ' + str(d):>12s}" for d in depths))
        for cfg in configs:
            vals = [t.grad(act, cfg, d) for d in depths]
            print(f"{cfg:14s}" + "".join(f"{np.median(v):12.2e}" if v else f"{'—':>12s}"
                                         for v in vals))  # fmt: skip
    print("\nWhat answers the question: median over seeds of (config - plain) accuracy and of "
          "config / plain gradient norm")  # fmt: skip
    for act in acts:
        for cfg in configs:
            if cfg == "plain":
                continue
            parts = []
            for d in depths:
                a, p = t.acc(act, cfg, d), t.acc(act, "plain", d)
                g, gp = t.grad(act, cfg, d), t.grad(act, "plain", d)
                da = f"{np.median(a) - np.median(p):+.3f}" if a and p else "—"
                rg = f"{np.median(g) / np.median(gp):.3g}x" if g and gp else "—"
                parts.append(f"d{d}: acc {da}, grad {rg}")
            print(f"{act:10s} {cfg:14s} " + "; ".join(parts))
    print(f"\nSpiking gap at {t.duration} (rate - spiking accuracy, points), median [min-max]")
    for act in acts:
        for cfg in configs:
            gaps = [t.gap(act, cfg, d) for d in depths]
            if all(g == [] for g in gaps):
                continue
            cells = ["refused" if g == "refused" else _cell([100 * x for x in g], t.seeds, "+.1f")
                     for g in gaps]  # fmt: skip
            print(f"{act:10s} {cfg:14s}" + "".join(f"{c:>26s}" for c in cells))
    print("\nSeconds per epoch (median) / fixed-point steps (mean, last epoch)")
    for act in acts:
        for cfg in configs:
            parts = []
            for d in depths:
                rs = [r for r in t.recs("train", act, cfg, d) if "rate" in r]
                if not rs:
                    parts.append(f"d{d}: —")
                    continue
                fp = [r["fp_iterations"] for r in rs if "fp_iterations" in r]
                parts.append(f"d{d}: {np.median([r['epoch_s'] for r in rs]):.2f} s"
                             + (f" / {np.median(fp):.0f}" if fp else ""))  # fmt: skip
            print(f"{act:10s} {cfg:14s} " + "; ".join(parts))


def print_markdown(t: Table, configs: list[str], depths: list[int]) -> None:
    """The README's table: one row per depth and connectivity."""
    print(f"\n| hidden layers | connectivity | sigmoid: accuracy | grad | lif_noise: accuracy | "
          f"grad | spiking gap {t.duration} |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for d in depths:
        for cfg in configs:
            row = [str(d), cfg]
            for act in ACTIVATIONS:
                row.append(_cell(t.acc(act, cfg, d), t.seeds) if t.acc(act, cfg, d)
                           else "not trained")  # fmt: skip
                nd = t.diverged(act, cfg, d)
                if nd:
                    row[-1] += f" ({nd} diverged)"
                g = t.grad(act, cfg, d)
                row.append(f"{np.median(g):.2g}" if g else "—")
            gap, acc = t.gap("lif_noise", cfg, d), t.acc("lif_noise", cfg, d)
            if gap:
                row.append(_cell([100 * x for x in gap], t.seeds, "+.1f"))
            else:
                row.append("at chance" if acc and np.median(acc) < 0.5 else "not run")
            print("| " + " | ".join(row) + " |")


def main() -> None:
    from biorate.datasets import load_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed-list", default=None, help="run only these seeds (e.g. 0,1); the "
                    "table still reads seeds 0..--seeds-1 from the cache")  # fmt: skip
    ap.add_argument("--configs", default=",".join(MAIN))
    ap.add_argument("--activations", default=",".join(ACTIVATIONS))
    ap.add_argument("--depths", default=",".join(map(str, DEPTHS)))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--grads-only", action="store_true", help="only the gradients at init")
    ap.add_argument("--table-only", action="store_true", help="print the cached results")
    ap.add_argument("--no-train", action="store_true", help="only nets trained before (e.g. "
                    "--spiking beside a training run)")  # fmt: skip
    ap.add_argument("--min-rate", type=float, default=0.0, help="--spiking skips nets whose "
                    "rate accuracy is below this (a net at chance has no gap to measure)")  # fmt: skip
    ap.add_argument("--deploy-synapses", type=float, default=2e7, help="images per Brian2 "
                    "network are limited so that one holds at most about this many synapses")  # fmt: skip
    ap.add_argument("--spiking", action="store_true", help="add the spiking runs (lif_noise)")
    ap.add_argument("--duration", default="200 ms")
    ap.add_argument("--target", default="auto")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--cache", default="benchmarks/depth_results.json")
    args = ap.parse_args()
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    for section in ("grad", "train", "spiking"):
        cache.setdefault(section, {})
    configs = [c for c in args.configs.split(",") if c]
    acts = [a for a in args.activations.split(",") if a]
    depths = [int(d) for d in args.depths.split(",") if d]
    seeds = ([int(s) for s in args.seed_list.split(",")] if args.seed_list
             else list(range(args.seeds)))  # fmt: skip
    data = load_dataset("digits")

    def refresh() -> None:
        # union with what is on disk: another run (e.g. --spiking --no-train beside a training
        # run) may have added entries; an entry, once written, never changes
        disk = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
        for sec in cache:
            cache[sec] = disk.get(sec, {}) | cache[sec]

    def save(key: str, section: str) -> None:
        refresh()
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(cache_path)
        print(f"{section} {key}: {cache[section][key]}", flush=True)

    for depth in depths if not args.table_only else []:
        for cfg in configs:
            for act in acts:
                for seed in seeds:
                    key = f"{act}/{cfg}/{depth}/{seed}"
                    if key not in cache["grad"]:
                        cache["grad"][key] = _grads(act, cfg, depth, seed, data)
                        save(key, "grad")
                    if args.grads_only:
                        continue
                    tkey = f"{key}/{args.epochs}"
                    refresh()  # another run may have trained this net meanwhile
                    net_path = (cache_path.with_suffix("")
                                / f"{act}-{cfg}-{depth}-{seed}-{args.epochs}.npz")  # fmt: skip
                    if tkey not in cache["train"]:
                        if args.no_train:
                            continue
                        cache["train"][tkey] = _train(act, cfg, depth, seed, args.epochs, data,
                                                      net_path)  # fmt: skip
                        save(tkey, "train")
                    skey = f"{tkey}/{args.duration}"
                    if (args.spiking and act != "sigmoid" and skey not in cache["spiking"]
                            and cache["train"][tkey].get("rate", 0.0) >= args.min_rate):  # fmt: skip
                        cache["spiking"][skey] = _spiking(net_path, seed, args.duration,
                                                          args.target, data,
                                                          args.deploy_synapses)  # fmt: skip
                        save(skey, "spiking")
    table = Table(cache, args.seeds, args.epochs, args.duration)
    print_tables(table, acts, configs, depths)
    if args.markdown:
        print_markdown(table, configs, depths)


if __name__ == "__main__":
    main()
