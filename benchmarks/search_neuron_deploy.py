"""A neuron search's best activation as spikes: digits, 64-64 feedforward nets trained with it
(defaults, until converged), deployed on Brian2 (current encoding, all 360 test images) at 100,
200 and 500 ms; prints per seed the rate and spiking accuracies and the gap at 200 ms (issue 15:
the best neuron-space activation deploys with a gap <= 1 point at 200 ms).

Run:  python benchmarks/search_neuron_deploy.py OUTDIR/best.json [--seeds 0,1,2] [--out r.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import biorate as br
from biorate.datasets import load_dataset
from biorate.deploy import deploy

DURATIONS = ["100 ms", "200 ms", "500 ms"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("activation", help="a neuron search's best.json")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default=None, help="also write the results as JSON")
    args = ap.parse_args(argv)
    best = br.Activation.load(args.activation)
    data = load_dataset("digits")
    out = {}
    print("| seed | rate | spiking 100 / 200 / 500 ms | gap at 200 ms | s |\n|---|---|---|---|---|")
    for seed in (int(v) for v in args.seeds.split(",")):
        t0 = time.perf_counter()
        net = br.RateNetwork([64, 64, 64, 10], activation=best, seed=seed)
        net.fit(data.X_train, data.y_train)
        rate = net.score(data.X_test, data.y_test)
        rep = deploy(net, data.X_test, data.y_test, durations=DURATIONS, progress=False, method="euler",
                     seed=seed)  # fmt: skip
        spk = dict(zip(DURATIONS, rep["spiking_accuracy"], strict=True))
        out[seed] = {"rate": rate, "spiking": spk, "gap_200": rate - spk["200 ms"],
                     "seconds": time.perf_counter() - t0}  # fmt: skip
        print(f"| {seed} | {rate:.4f} | {' / '.join(f'{v:.4f}' for v in spk.values())} | "
              f"{100 * out[seed]['gap_200']:.1f} pt | {out[seed]['seconds']:.0f} |")  # fmt: skip
    gaps = [v["gap_200"] for v in out.values()]
    print(f"median gap at 200 ms {100 * np.median(gaps):.1f} points, largest {100 * max(gaps):.1f}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
