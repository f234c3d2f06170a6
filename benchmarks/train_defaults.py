"""Candidate training defaults on digits (issue 12): for a batch size and Adam learning rate,
the median test accuracy over seeds at the stopping rule (loss not improved by ``tol`` for
``patience`` epochs, cap 200) for every row of the defaults' goals, and the epochs it takes.

Each net trains the full 200 epochs once, recording the training loss and the test accuracy of
every epoch; the stopping rules are then applied to those records, so one run prices several
rules. Numbers from one run on this machine (2026-11-30, seeds 0-4, tol 1e-4, patience 10):

    batch, lr   sigmoid  tanh    relu    lif ff  lif res lif_n ff lif_n res  (epochs: sigmoid)
    32, 1e-3    0.9750   0.9722  0.9722  0.9750  0.9694  0.9722   0.9750     200 (today's)
    128, 3e-3   0.9722   0.9750  0.9722  0.9750  0.9750  0.9750   0.9778     200
    200, 5e-3   0.9722   0.9750  0.9694  0.9750  0.9750  0.9778   0.9778     181
    256, 5e-3   0.9750   0.9778  0.9722  0.9778  0.9750  0.9750   0.9750     200

The last row became the defaults, with He's variance 2/fan-in for relu (measured at that batch
over seeds 0-19: mean 0.9739, median 0.9750, against 0.9724 / 0.9722 with 1/fan-in; uniform
draws of the same variance 0.9735 / 0.9750; scikit-learn's defaults 0.9719 over those seeds).

Run:  python benchmarks/train_defaults.py --batch-size 256 --lr 5e-3 [--seeds 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from biorate.datasets import load_dataset
from biorate.network import RateNetwork

ROWS = [("sigmoid", "feedforward"), ("tanh", "feedforward"), ("relu", "feedforward"),
        ("lif", "feedforward"), ("lif", "residual"), ("lif_noise", "feedforward"),
        ("lif_noise", "residual")]  # fmt: skip
RULES = [(1e-4, 10), (1e-4, 5), (1e-3, 10), (0.0, 10**9)]


def stop_epoch(loss: list[float], tol: float, patience: int) -> int:
    """The epoch at which RateNetwork.fit's rule stops on this loss record (1-based)."""
    best, wait = np.inf, 0
    for epoch, value in enumerate(loss, 1):
        if value < best - tol:
            best, wait = value, 0
        else:
            wait += 1
        if wait >= patience:
            return epoch
    return len(loss)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=200)
    args = ap.parse_args(argv)
    d = load_dataset("digits")
    records = {}
    for act, conn in ROWS:
        for s in range(args.seeds):
            net = RateNetwork([64, 64, 64, 10], activation=act, connectivity=conn, seed=s,
                              batch_size=args.batch_size, learning_rate=args.lr, patience=None)  # fmt: skip
            accs: list[float] = []
            t = time.perf_counter()
            hist = net.fit(
                d.X_train,
                d.y_train,
                epochs=args.epochs,
                callback=lambda e, r, net=net, accs=accs: accs.append(
                    net.score(d.X_test, d.y_test)
                ),
            )
            records[act, conn, s] = (hist.loss, accs, (time.perf_counter() - t) / args.epochs)
    print(f"digits 64-64, batch {args.batch_size}, Adam {args.lr:g}, median over seeds "
          f"0-{args.seeds - 1}: test accuracy / epochs at the stopping rule")  # fmt: skip
    for tol, patience in RULES:
        cells = []
        for act, conn in ROWS:
            accs, eps = [], []
            for s in range(args.seeds):
                loss, acc, _ = records[act, conn, s]
                e = stop_epoch(loss, tol, patience)
                accs.append(acc[e - 1])
                eps.append(e)
            cells.append(f"{act[:9]} {conn[:3]} {np.median(accs):.4f}/{int(np.median(eps))}")
        rule = f"tol {tol:g}, patience {patience}" if patience < 10**9 else "all epochs"
        print(f"  {rule:<24}" + "  ".join(cells))
    per_epoch = np.median([r[2] for r in records.values()])
    print(f"  (median {per_epoch * 1e3:.1f} ms per epoch, scoring included)")


if __name__ == "__main__":
    main()
