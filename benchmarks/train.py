"""Training on digits against scikit-learn's MLPClassifier (and PyTorch on the CPU when it is
installed): the goals of training by default, speed per epoch, and the cost of backpropagation
through time against T.

All numbers come from one run on this machine and are printed as ratios, so that they mean the
same on a faster or slower one:

1. goals of the defaults (digits, 64-64 hidden, only the activation and the seed given, median
   over seeds 0-4): biorate's test accuracy against MLPClassifier's with its defaults for sigmoid,
   tanh and relu (goal: at least scikit-learn's), the shipped fitted lif and lif_noise
   activations feedforward and residual (goal: >= 0.975), and the whole-process time of
   ``biorate train`` against scikit-learn's ``fit`` of the same net (goal: ratio <= 1);
2. seconds per epoch on digits (1437 training images, 64-64 hidden, logistic units, Adam, the
   same batch size and L2), biorate / scikit-learn and biorate / torch (ratio < 1: biorate faster;
   goal <= 1);
3. seconds per epoch of a feedback network against the number of time steps T, and that time
   divided by T (constant when BPTT is linear in T, as it should be);
4. with ``--accuracy``: digits test accuracy, mean +- std over seeds, for every connectivity and
   activation beside MLPClassifier with the same hidden sizes, activation, Adam and batch size,
   plus the 20-layer logistic network that scikit-learn cannot train;
5. with ``--fixed-point``: training at the fixed point against BPTT (issue 14) for the feedback
   and volume nets (digits 64-64, lif_noise, the defaults of a graph with feedback, until
   converged, cap 200 epochs, seeds as given): seconds per epoch, epochs, the whole training's
   seconds, the test accuracy as trained and at the fixed point (what a spiking net settles to),
   and the ratio of the epoch times. Equal accuracy is the comparison: the medians and their
   spread are printed beside the times (benchmarks/feedback.py adds the spiking runs).

Run:  python benchmarks/train.py [--epochs 10] [--batch-size 256] [--no-goals] [--accuracy]
      [--fixed-point] [--seeds 5] [--first-seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from biorate.datasets import load_dataset
from biorate.network import CONNECTIVITIES, RateNetwork

SK_ACT = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}


def sklearn_mlp(hidden, act, epochs, batch, lr, seed):
    from sklearn.neural_network import MLPClassifier

    # tol=0 and n_iter_no_change=epochs: run exactly `epochs` epochs, no early exit
    return MLPClassifier(hidden_layer_sizes=tuple(hidden), activation=SK_ACT[act], solver="adam",
                         batch_size=batch, learning_rate_init=lr, alpha=1e-4, max_iter=epochs,
                         tol=0.0, n_iter_no_change=epochs + 1, random_state=seed)  # fmt: skip


def time_biorate(d, hidden, epochs, batch, lr, conn="feedforward", steps=5):
    net = RateNetwork([64, *hidden, 10], activation="sigmoid", connectivity=conn, batch_size=batch,
                      learning_rate=lr, steps=steps, patience=None, seed=0)  # fmt: skip
    t = time.perf_counter()
    net.fit(d.X_train, d.y_train, epochs=epochs)
    return (time.perf_counter() - t) / epochs


def time_sklearn(d, hidden, epochs, batch, lr):
    clf = sklearn_mlp(hidden, "sigmoid", epochs, batch, lr, 0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: we stop on purpose
        clf.fit(d.X_train, d.y_train)
    return (time.perf_counter() - t) / clf.n_iter_


def time_torch(d, hidden, epochs, batch, lr):
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    torch.set_num_threads(1)
    sizes = [64, *hidden, 10]
    layers: list = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(a, b), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    X = torch.tensor(d.X_train, dtype=torch.float64)
    y = torch.tensor(d.y_train)
    model = model.double()
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
    return (time.perf_counter() - t) / epochs


def goals(d, seeds, first=0):
    """Section 1: defaults against scikit-learn's defaults over seeds ``first`` ..
    ``first + seeds - 1``; returns nothing, prints the table."""
    import subprocess
    import sys
    import tempfile

    seed_list = range(first, first + seeds)
    print(f"goals: digits 64-64, defaults (only activation and seed), median over seeds "
          f"{first}-{first + seeds - 1}")  # fmt: skip
    print(f"  {'activation':<24}{'biorate':>10}{'sklearn':>10}{'goal':>10}  epochs  met")
    for act in ("sigmoid", "tanh", "relu"):
        ours, sk, ep = [], [], []
        for s in seed_list:
            net = RateNetwork([64, 64, 64, 10], activation=act, seed=s)
            ep.append(net.fit(d.X_train, d.y_train).epochs)
            ours.append(net.score(d.X_test, d.y_test))
            clf = sklearn_defaults(act, s)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter=200
                sk.append(clf.fit(d.X_train, d.y_train).score(d.X_test, d.y_test))
        mo, ms = np.median(ours), np.median(sk)
        print(f"  {act + ' feedforward':<24}{mo:>10.4f}{ms:>10.4f}{'>= sk':>10}  "
              f"{int(np.median(ep)):>6}  {'yes' if mo >= ms else 'NO'}  {_difference(ours, sk)}",
              flush=True)  # fmt: skip
    for act in ("lif", "lif_noise"):
        for conn in ("feedforward", "residual"):
            ours, ep = [], []
            for s in seed_list:
                net = RateNetwork([64, 64, 64, 10], activation=act, connectivity=conn, seed=s)
                ep.append(net.fit(d.X_train, d.y_train).epochs)
                ours.append(net.score(d.X_test, d.y_test))
            mo = np.median(ours)
            print(f"  {act + ' ' + conn:<24}{mo:>10.4f}{'':>10}{'>= 0.975':>10}  "
                  f"{int(np.median(ep)):>6}  {'yes' if mo >= 0.975 else 'NO'}", flush=True)  # fmt: skip
    # whole process (interpreter start, imports, data, training, saving) against sklearn's fit
    from threadpoolctl import threadpool_limits

    ours, sk, sk1 = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for s in seed_list[:3]:
            exe = str(Path(sys.executable).with_name("biorate"))  # the venv's console script
            cmd = [exe, "train", "--activation", "sigmoid",
                   "--seed", str(s), "-o", f"{tmp}/net.npz", "--quiet"]  # fmt: skip
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            ours.append(time.perf_counter() - t)
            clf = sklearn_defaults("sigmoid", s)
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(d.X_train, d.y_train)
            sk.append(time.perf_counter() - t)
            # the same fit with BLAS on one thread: on a busy machine scikit-learn's threads
            # fight for the cores and its default time says more about the load than the code
            clf = sklearn_defaults("sigmoid", s)
            t = time.perf_counter()
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore")
                clf.fit(d.X_train, d.y_train)
            sk1.append(time.perf_counter() - t)
    ratio = np.median(ours) / np.median(sk)
    ratio1 = np.median(ours) / np.median(sk1)
    print(f"  whole process of `biorate train --activation sigmoid` {np.median(ours):.2f} s; "
          f"sklearn fit {np.median(sk):.2f} s; ratio {ratio:.2f} (goal <= 1: "
          f"{'yes' if ratio <= 1 else 'NO'}); sklearn with BLAS on one thread "
          f"{np.median(sk1):.2f} s, ratio {ratio1:.2f}\n", flush=True)  # fmt: skip


def _difference(ours, sk):
    """Mean difference biorate - scikit-learn over the same seeds with its standard error (two
    samples), in images of the 360-image test set: one image is 0.0028, so a median of 5 seeds
    moves by one image when one seed does (run with --seeds 20 to see the noise shrink)."""
    a, b = np.asarray(ours), np.asarray(sk)
    if a.size < 2:
        return ""
    diff = a.mean() - b.mean()
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return (f"mean {a.mean():.4f} vs {b.mean():.4f}: difference {diff:+.4f} +- {se:.4f} "
            f"({diff * 360:+.1f} +- {se * 360:.1f} images)")  # fmt: skip


def sklearn_defaults(act, seed):
    """MLPClassifier with only the hidden sizes, the activation and the seed given."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(64, 64), activation=SK_ACT[act], random_state=seed)


def accuracy_table(d, seeds, acts=("sigmoid", "tanh", "relu", "lif", "lif_noise")):
    """Section 4, with the defaults users get: only activation, connectivity and seed given
    (trained until converged, cap 200 epochs; feedback T = 10), beside MLPClassifier with its
    defaults (only hidden sizes, activation and seed)."""
    print(f"\ndigits test accuracy, mean +- std (median) over {seeds} seeds, defaults (Adam 5e-3, "
          "batch 256, L2 1e-4, until converged, cap 200 epochs), hidden 64,64")  # fmt: skip
    print(f"{'network':<30}{'biorate':>28}{'epochs':>10}{'sklearn MLP defaults':>30}")
    from biorate.activation import list_activations

    def stats(v):
        return f"{np.mean(v):.4f} +- {np.std(v, ddof=1):.4f} ({np.median(v):.4f})"

    for act in [a for a in acts if a in list_activations()]:
        for conn in CONNECTIVITIES:
            ours, ep = [], []
            for s in range(seeds):
                net = RateNetwork([64, 64, 64, 10], activation=act, connectivity=conn, seed=s)
                ep.append(net.fit(d.X_train, d.y_train).epochs)
                ours.append(net.score(d.X_test, d.y_test))
            sk = ""
            if conn == "feedforward" and act in SK_ACT:
                accs = []
                for s in range(seeds):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        clf = sklearn_defaults(act, s).fit(d.X_train, d.y_train)
                    accs.append(clf.score(d.X_test, d.y_test))
                sk = stats(accs)
            print(f"{act + ' ' + conn:<30}{stats(ours):>28}{int(np.median(ep)):>10}{sk:>30}",
                  flush=True)  # fmt: skip
    batch = 32
    deep = []
    for s in range(seeds):
        net = RateNetwork([64, *[64] * 20, 10], activation="sigmoid", connectivity="residual",
                          batch_size=batch, learning_rate=3e-3, seed=s)  # fmt: skip
        net.fit(d.X_train, d.y_train, epochs=20)
        deep.append(net.score(d.X_test, d.y_test))
    accs = []
    for s in range(seeds):
        clf = sklearn_mlp([64] * 20, "sigmoid", 20, batch, 3e-3, s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            accs.append(clf.fit(d.X_train, d.y_train).score(d.X_test, d.y_test))
    print(f"{'sigmoid 20 layers, residual (20 ep)':<34}{np.mean(deep):>10.4f} +- {np.std(deep):.4f}"
          f"{np.mean(accs):>10.4f} +- {np.std(accs):.4f}")  # fmt: skip


def fixed_point_table(d, seeds):
    """Section 5: fixed-point training against BPTT, per connectivity with feedback."""
    print(f"\nfixed point vs BPTT: digits 64-64, lif_noise, defaults of a graph with feedback "
          f"(Adam 1e-3, batch 32, until converged, cap 200), median (min-max) over seeds "
          f"0-{seeds - 1}")  # fmt: skip
    print(f"  {'network':<26}{'s/epoch':>9}{'epochs':>8}{'train s':>9}  {'test (as trained)':<24}"
          f"{'test at fixed pt':<24}")  # fmt: skip

    def show(v):
        return f"{np.median(v):.4f} ({np.min(v):.4f}-{np.max(v):.4f})"

    for conn in ("feedback", "volume"):
        per = {}
        for training in ("bptt", "fixed_point"):
            s_ep, eps, secs, acc, acc_fp = [], [], [], [], []
            for s in range(seeds):
                net = RateNetwork([64, 64, 64, 10], activation="lif_noise", connectivity=conn,
                                  training=training, seed=s)  # fmt: skip
                t = time.perf_counter()
                hist = net.fit(d.X_train, d.y_train)
                secs.append(time.perf_counter() - t)
                eps.append(hist.epochs)
                s_ep.append(secs[-1] / hist.epochs)
                acc.append(net.score(d.X_test, d.y_test))
                # the state after 300 steps of the dynamics: the fixed point a spiking net settles to
                _, h = net.states(d.X_test, steps=300)
                acc_fp.append(float(np.mean(np.argmax(h[-1], axis=1) == d.y_test)))
            per[training] = np.median(s_ep)
            print(f"  {conn + ' ' + training:<26}{np.median(s_ep):>9.2f}{int(np.median(eps)):>8}"
                  f"{np.median(secs):>9.1f}  {show(acc):<24}{show(acc_fp):<24}", flush=True)  # fmt: skip
        print(f"  {conn}: fixed-point epoch / BPTT epoch = {per['fixed_point'] / per['bptt']:.2f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--no-goals", action="store_true", help="skip section 1 (minutes)")
    ap.add_argument("--accuracy", action="store_true", help="also the accuracy table (minutes)")
    ap.add_argument(
        "--fixed-point",
        action="store_true",
        help="also fixed-point training against BPTT (tens of minutes)",
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="the goals' seeds are first-seed .. first-seed + seeds - 1 (default 0: "
                         "the issue's seeds 0-4; --first-seed 5 --seeds 15 checks the next 15)")  # fmt: skip
    args = ap.parse_args(argv)
    d = load_dataset("digits")
    if not args.no_goals:
        goals(d, args.seeds, args.first_seed)
    E, B, lr = args.epochs, args.batch_size, args.lr
    # best of 3, alternating, so that a busy moment of the machine hits both alike
    ours, sk = np.inf, np.inf
    for _ in range(3):
        ours = min(ours, time_biorate(d, [64, 64], E, B, lr))
        sk = min(sk, time_sklearn(d, [64, 64], E, B, lr))
    th = time_torch(d, [64, 64], E, B, lr)
    # BLAS on one thread for small minibatches (network.train.small_blas): its effect at batch 128
    import biorate.network.train as train_mod

    limited = time_biorate(d, [64, 64], E, 128, lr)
    saved, train_mod.SINGLE_THREAD_BLAS_MAX = train_mod.SINGLE_THREAD_BLAS_MAX, 0
    try:
        free = time_biorate(d, [64, 64], E, 128, lr)
    finally:
        train_mod.SINGLE_THREAD_BLAS_MAX = saved
    print(f"digits, 64-64 logistic, Adam, batch {B}, {E} epochs, float64, best of 3")
    print(f"  biorate {ours * 1e3:.1f} ms/epoch; sklearn {sk * 1e3:.1f} ms/epoch; "
          f"ratio biorate/sklearn = {ours / sk:.2f}")  # fmt: skip
    if th is None:
        print("  torch not installed: skipped")
    else:
        print(f"  torch {th * 1e3:.1f} ms/epoch; ratio biorate/torch = {ours / th:.2f}")
    print(f"  batch 128: BLAS on one thread {limited * 1e3:.1f} ms/epoch, BLAS threads free "
          f"{free * 1e3:.1f} ms/epoch; ratio one/free = {limited / free:.2f}")  # fmt: skip
    print("\nBPTT (feedback 64-64, T steps): seconds per epoch, and per epoch per step")
    base = None
    for T in (1, 2, 4, 8, 16):
        t = time_biorate(d, [64, 64], max(2, E // 4), B, lr, conn="feedback", steps=T)
        base = base or t
        print(f"  T={T:<3} {t * 1e3:8.1f} ms/epoch  {t / T * 1e3:7.1f} ms/epoch/step  "
              f"x{t / base:5.2f} of T=1")  # fmt: skip
    deep = time_biorate(d, [64] * 20, max(2, E // 4), B, lr)
    deep_sk = time_sklearn(d, [64] * 20, max(2, E // 4), B, lr)
    print(f"\n20 hidden layers: ratio biorate/sklearn = {deep / deep_sk:.2f}")
    if args.accuracy:
        accuracy_table(d, args.seeds)
    if args.fixed_point:
        fixed_point_table(d, args.seeds)


if __name__ == "__main__":
    main()
