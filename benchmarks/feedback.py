"""Feedback and volume nets on digits: BPTT against fixed-point training, as rate nets and as
spikes (issue 14).

Digits (1437 train / 360 test), sizes 64-64-64-10, the shipped ``lif_noise`` activation, the
defaults otherwise (a graph with feedback: Adam 1e-3, batch 32; the feedforward net: Adam 5e-3,
batch 256; see :mod:`biorate.network.optim`; L2 1e-4, until converged with a cap of 200 epochs),
seeds 0-4 (``--first-seed 5``: held-out seeds 5-9). For every configuration it prints the median
(and min-max) over seeds of

- ``rate``: the rate net's test accuracy as it is trained and run (BPTT: T = 10 steps from rest;
  fixed point: the fixed point),
- ``fixed pt``: the rate net's accuracy at its fixed point (300 steps of its dynamics, what a
  spiking net settles to),
- epochs, seconds per epoch, and for fixed-point training the mean steps to the fixed point and
  the number of batches the safeguard scaled the feedback down,

and with ``--spiking`` the spiking accuracy at 25, 50, 100, 200 and 500 ms (Brian2, current
encoding, all 360 test images), the gap to the rate net at 100 and 500 ms (goals <= 1 and
<= 0.5 point), and the settling time: the shortest presentation whose spiking accuracy is within
one image of the 500 ms one. Results are cached per net in ``--cache`` (JSON) so that a run can
be resumed, and the trained nets beside it (``--cache`` without its suffix, a folder) so that
``--spiking`` can be added later without training again.

Run:  python benchmarks/feedback.py [--seeds 5] [--first-seed 0] [--spiking]
      [--configs feedback-bptt,...] [--target auto|numpy] [--cache benchmarks/feedback_results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

CONFIGS = {
    "feedforward": {"connectivity": "feedforward"},
    "feedback-bptt": {"connectivity": "feedback"},
    "feedback-fixed-point": {"connectivity": "feedback", "training": "fixed_point"},
    "volume-bptt": {"connectivity": "volume"},
    "volume-fixed-point": {"connectivity": "volume", "training": "fixed_point"},
    # fixed-point training with the feedforward nets' batch and rate, and patience 30: at the
    # default patience of 10 it stopped after 37-59 epochs while its test accuracy still rose
    # (volume, seeds 0-2: 0.9694/0.9750/0.9667 at patience 10; 0.9750/0.9778/0.9722 at 30)
    "feedback-fixed-point-256": {
        "connectivity": "feedback",
        "training": "fixed_point",
        "batch_size": 256,
        "learning_rate": 5e-3,
        "patience": 30,
    },
    "volume-fixed-point-256": {
        "connectivity": "volume",
        "training": "fixed_point",
        "batch_size": 256,
        "learning_rate": 5e-3,
        "patience": 30,
    },
    # the same with the safeguard's loop-gain limit at 0.7 and 0.5 instead of 0.9 (2026-12-01:
    # no seed collapses as seed 4 did at 0.9, but the median stays 0.9722)
    "feedback-fixed-point-256-gain0.7": {
        "connectivity": "feedback",
        "training": "fixed_point",
        "batch_size": 256,
        "learning_rate": 5e-3,
        "patience": 30,
        "max_loop_gain": 0.7,
    },
    "feedback-fixed-point-256-gain0.5": {
        "connectivity": "feedback",
        "training": "fixed_point",
        "batch_size": 256,
        "learning_rate": 5e-3,
        "patience": 30,
        "max_loop_gain": 0.5,
    },
}
DURATIONS = ["25 ms", "50 ms", "100 ms", "200 ms", "500 ms"]


def _run(name: str, seed: int, spiking: bool, target: str, epochs: int, rec: dict | None,
         net_path: Path) -> dict:  # fmt: skip
    from biorate.datasets import load_dataset
    from biorate.network import RateNetwork

    data = load_dataset("digits")
    if rec is not None and net_path.is_file():  # trained before: only the spiking run is new
        net = RateNetwork.load(net_path)
        return rec | _spiking(net, data, seed, target)
    net = RateNetwork([64, 64, 64, 10], activation="lif_noise", seed=seed, **CONFIGS[name])
    t0 = time.perf_counter()
    hist = net.fit(data.X_train, data.y_train, epochs=epochs)
    train_s = time.perf_counter() - t0
    net_path.parent.mkdir(parents=True, exist_ok=True)
    net.save(net_path)
    rec = {"rate": net.score(data.X_test, data.y_test), "epochs": hist.epochs,
           "epoch_s": float(np.median(hist.epoch_time_s)), "train_s": train_s}  # fmt: skip
    if net.has_feedback:
        _, h = net.states(data.X_test, steps=300)
        rec["fixed_point"] = float(np.mean(np.argmax(h[-1], axis=1) == data.y_test))
    else:
        rec["fixed_point"] = rec["rate"]
    if hist.fp_iterations:
        rec["fp_iterations"] = hist.fp_iterations[-1]
        rec["fp_rescaled"] = float(sum(hist.fp_rescaled))
        rec["fp_contraction"] = hist.fp_contraction[-1]
    return rec | (_spiking(net, data, seed, target) if spiking else {})


def _spiking(net: object, data: object, seed: int, target: str) -> dict:
    from biorate.deploy import deploy

    t0 = time.perf_counter()
    rep = deploy(net, data.X_test, data.y_test, durations=DURATIONS, target=target,
                 progress=False, method="euler", seed=seed)  # fmt: skip
    return {
        "spiking": dict(zip(DURATIONS, rep["spiking_accuracy"], strict=True)),
        "deploy_s": time.perf_counter() - t0,
    }


def _settle(spk: dict) -> str:
    """The shortest duration whose accuracy is within one test image of the longest's."""
    last = spk[DURATIONS[-1]]
    return next(d for d in DURATIONS if abs(spk[d] - last) <= 1 / 360 + 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds FIRST..FIRST+SEEDS-1")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--spiking", action="store_true")
    ap.add_argument("--target", default="auto")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--cache", default="benchmarks/feedback_results.json")
    args = ap.parse_args()
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    names = [c for c in args.configs.split(",") if c]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for name in names:
        for seed in seeds:
            key = f"{name}/{seed}/{args.epochs}"
            if key in cache and ("spiking" in cache[key] or not args.spiking):
                continue
            net_path = cache_path.with_suffix("") / f"{name}-{seed}-{args.epochs}.npz"
            cache[key] = _run(name, seed, args.spiking, args.target, args.epochs, cache.get(key),
                              net_path)  # fmt: skip
            cache_path.write_text(json.dumps(cache, indent=1))
            print(f"{key}: {cache[key]}", flush=True)
    print("\nconfiguration          rate: median (min-max)   fixed pt   epochs  s/epoch  "
          "fp steps  rescaled")  # fmt: skip
    for name in names:
        recs = [cache[f"{name}/{s}/{args.epochs}"] for s in seeds]
        rate = [r["rate"] for r in recs]
        fp = np.median([r["fixed_point"] for r in recs])
        extra = ""
        if "fp_iterations" in recs[0]:
            extra = (f"  {np.median([r['fp_iterations'] for r in recs]):8.1f}"
                     f"  {np.median([r['fp_rescaled'] for r in recs]):8.0f}")  # fmt: skip
        print(f"{name:22s} {np.median(rate):.4f} ({min(rate):.4f}-{max(rate):.4f})  {fp:.4f}"
              f"   {np.median([r['epochs'] for r in recs]):6.0f}  "
              f"{np.median([r['epoch_s'] for r in recs]):7.3f}{extra}")  # fmt: skip
    if args.spiking:
        print("\nconfiguration          spiking " + " / ".join(DURATIONS)
              + "   gap 100 ms  gap 500 ms  settles by")  # fmt: skip
        for name in names:
            recs = [cache[f"{name}/{s}/{args.epochs}"] for s in seeds]
            med = {d: np.median([r["spiking"][d] for r in recs]) for d in DURATIONS}
            gaps = {d: np.median([r["rate"] - r["spiking"][d] for r in recs])
                    for d in ("100 ms", "500 ms")}  # fmt: skip
            settle = [_settle(r["spiking"]) for r in recs]
            print(f"{name:22s} " + " / ".join(f"{med[d]:.4f}" for d in DURATIONS)
                  + f"   {100 * gaps['100 ms']:+.1f} pt    {100 * gaps['500 ms']:+.1f} pt"
                  + f"    {', '.join(settle)}")  # fmt: skip


if __name__ == "__main__":
    main()
