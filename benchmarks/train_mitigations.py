"""The source material's three mitigations for saturating sigmoid units, measured on digits.

A 64-64 sigmoid network trained with squared error (the classical setting in which sigmoid units
saturate: a 0/1 target is reached only at z = +-inf) and plain SGD with momentum. Rows switch the
mitigations on one at a time, starting from the naive network:

- init: weights with std 1/sqrt(fan-in) instead of 1 (LeCun et al. 1998, "Efficient backprop");
- targets: 0.15/0.85 instead of 0/1, reachable at finite z;
- Fahlman: 0.1 added to g' in the backward pass (Fahlman 1988, CMU-CS-88-162).

Printed: test accuracy (mean +- std over seeds), fraction of saturated hidden outputs (within 5 %
of the range from a bound) in the last epoch, and the first population's gradient norm in the
first epoch.

Run:  python benchmarks/train_mitigations.py [--epochs 30] [--seeds 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from biorate.datasets import load_dataset
from biorate.network import RateNetwork

ROWS = [
    ("naive (std 1, targets 0/1)", dict(init_std=1.0)),
    ("+ init 1/sqrt(fan-in)", dict()),
    ("+ targets 0.15/0.85", dict(init_std=1.0, targets=(0.15, 0.85))),
    ("+ Fahlman offset 0.1", dict(init_std=1.0, derivative_offset=0.1)),
    ("all three", dict(targets=(0.15, 0.85), derivative_offset=0.1)),
]


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    d = load_dataset("digits")
    print(f"digits, 64-64 sigmoid, squared error, SGD lr 0.1 momentum 0.9, batch 32, "
          f"{args.epochs} epochs, {args.seeds} seeds")  # fmt: skip
    print(f"{'network':<30}{'test accuracy':>20}{'saturated':>11}{'|grad h1|':>11}")
    out = []
    for label, kw in ROWS:
        acc, sat, g1 = [], [], []
        for s in range(args.seeds):
            net = RateNetwork([64, 64, 64, 10], activation="sigmoid", loss="squared_error",
                              optimizer="sgd", learning_rate=0.1, momentum=0.9, batch_size=32,
                              seed=s, **kw)  # fmt: skip
            h = net.fit(d.X_train, d.y_train, epochs=args.epochs)
            acc.append(net.score(d.X_test, d.y_test))
            sat.append(h.saturated_fraction[-1])
            g1.append(h.grad_norm["h1"][0])
        out.append({"network": label, "accuracy": acc, "saturated": sat, "grad_h1": g1})
        print(f"{label:<30}{np.mean(acc):>11.4f} +- {np.std(acc):.4f}{np.mean(sat):>11.3f}"
              f"{np.mean(g1):>11.2e}", flush=True)  # fmt: skip
    return out


if __name__ == "__main__":
    main()
