"""How fast could the fixed point be found? The library's solver (the damped dynamics iterated
from rest, :func:`biorate.network.equilibrium.solve`) against a prototype of Anderson
acceleration (Anderson 1965; Walker & Ni 2011, doi:10.1137/10078356X; the solver of deep
equilibrium models, Bai, Kolter & Koltun 2019) on the same trained nets (issue 14).

Fixed-point training spends most of its time here: the forward solve and the adjoint take tens
of steps a sample on average and hundreds for the slowest (the iteration contracts at
``1 - alpha + alpha*mu``, ``mu`` the loop gain: 0.95-0.98 near the safeguard's limit). Anderson
extrapolates from the last ``m`` iterates and residuals (per sample: a small least-squares
problem over the ``m`` residual differences) and needs no contraction to converge.

For each net (digits, 64-64-64-10, lif_noise, trained at its fixed point; ``--nets`` reads
saved ones, otherwise a feedback and a volume net are trained here for ``--epochs`` epochs at
batch 256 and Adam 5e-3), on the 360 test images and the 1437 training images, it prints per
solver: steps per sample (mean, max), the fraction that did not converge within the net's
``fixed_point_max_iter``, seconds (best of 3), and for Anderson the largest difference from the
library's fixed point over the samples both solved, and the fraction of images whose predicted
class agrees. Both stop a sample at the same residual, ``max |step(h) - h| / alpha <= tol``.

Not in the library yet: training with it needs the adjoint solved the same way and the
safeguard re-derived (it reads the loop gain off the plain iteration's contraction, which
Anderson's residuals do not show; a spiking net follows the plain dynamics, so the loop gain
must still be measured, e.g. by a few Jacobian-vector products at the fixed point).

Run:  python benchmarks/fp_solver.py [--nets A.npz B.npz] [--epochs 40] [--history 3,5,8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from biorate.datasets import load_dataset
from biorate.network import RateNetwork, dynamics, equilibrium


def anderson(net: RateNetwork, X: np.ndarray, m: int, tol: float, max_iter: int,
             reg: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Anderson acceleration (type II, mixing 1) of the net's dynamics step from rest, per
    sample, samples dropped as they converge. Returns (states (n, hidden + output), steps taken,
    converged)."""
    g, P, act, a, dt = net.graph_, net.params_, net._act, net._a, net._dt
    cuts = np.cumsum([0, *g.sizes[1:]])
    n = X.shape[0]

    def step(x_in: np.ndarray, flat: np.ndarray) -> np.ndarray:
        h = [x_in] + [flat[:, cuts[i] : cuts[i + 1]] for i in range(len(cuts) - 1)]
        return np.concatenate(dynamics.step(g, P, act, x_in, h, a, dt)[0][1:], axis=1)

    out = np.zeros((n, cuts[-1]))
    steps = np.full(n, max_iter)
    done = np.zeros(n, dtype=bool)
    idx, xs = np.arange(n), X
    x = np.zeros((n, cuts[-1]))
    # the last m differences of iterates and residuals, a ring in the last axis
    dX, dF = np.zeros((n, cuts[-1], m)), np.zeros((n, cuts[-1], m))
    x_prev = f_prev = None
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, max_iter + 1):
            gx = step(xs, x)
            f = gx - x
            stop = np.abs(f).max(axis=1) / a <= tol
            if stop.any() or k == max_iter:
                fin = np.ones_like(stop) if k == max_iter else stop
                out[idx[fin]] = gx[fin]
                steps[idx[stop]], done[idx[stop]] = k, True
                keep = ~fin
                if not keep.any():
                    break
                idx, xs, x, gx, f = idx[keep], xs[keep], x[keep], gx[keep], f[keep]
                dX, dF = dX[keep], dF[keep]
                if x_prev is not None:
                    x_prev, f_prev = x_prev[keep], f_prev[keep]
            if x_prev is None:
                x_prev, f_prev, x = x, f, gx
                continue
            j, used = (k - 2) % m, min(k - 1, m)
            dX[:, :, j], dF[:, :, j] = x - x_prev, f - f_prev
            x_prev, f_prev = x, f
            Fu, Xu = dF[:, :, :used], dX[:, :, :used]
            A = np.einsum("ndi,ndj->nij", Fu, Fu)
            A += reg * (1 + np.trace(A, axis1=1, axis2=2))[:, None, None] * np.eye(used)
            gamma = np.linalg.solve(A, np.einsum("ndi,nd->ni", Fu, f)[..., None])[..., 0]
            x = gx - np.einsum("ndi,ni->nd", Xu + Fu, gamma)
    return out, steps, done


def best_of(fn, repeats: int = 3):
    best, result = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def compare(name: str, net: RateNetwork, X: np.ndarray, histories: list[int]) -> None:
    tol, max_iter = net.fixed_point_tol, net.fixed_point_max_iter
    t_plain, fp = best_of(lambda: equilibrium.solve(net.graph_, net.params_, net._act, X,
                                                    net._a, tol, max_iter, net._dt))  # fmt: skip
    plain = np.concatenate(fp["h"][-1][1:], axis=1)
    its, ok = fp["fp"]["iterations"], fp["fp"]["converged"]
    print(f"  {name:<24} plain     steps mean {its.mean():6.1f} max {its.max():4d}  "
          f"unconverged {1 - ok.mean():.4f}  {t_plain:6.3f} s")  # fmt: skip
    for m in histories:
        t_a, (h, steps, done) = best_of(lambda m=m: anderson(net, X, m, tol, max_iter))
        both = ok & done
        diff = float(np.abs(h[both] - plain[both]).max()) if both.any() else float("nan")
        agree = float((h[:, -10:].argmax(1) == plain[:, -10:].argmax(1)).mean())
        print(f"  {'':<24} anderson {m} steps mean {steps.mean():6.1f} max {steps.max():4d}  "
              f"unconverged {1 - done.mean():.4f}  {t_a:6.3f} s  (plain/anderson: steps "
              f"{its.mean() / steps.mean():.2f}x, time {t_plain / t_a:.2f}x); max |diff| "
              f"{diff:.1e}, same class {agree:.4f}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="*", default=None, help="saved fixed-point nets (.npz)")
    ap.add_argument("--epochs", type=int, default=40, help="training of the nets made here")
    ap.add_argument("--history", default="3,5,8", help="Anderson's m, comma-separated")
    args = ap.parse_args(argv)
    histories = [int(v) for v in args.history.split(",")]
    d = load_dataset("digits")
    nets = []
    if args.nets:
        nets = [(p, RateNetwork.load(p)) for p in args.nets]
    else:
        for conn in ("feedback", "volume"):
            net = RateNetwork([64, 64, 64, 10], activation="lif_noise", connectivity=conn,
                              training="fixed_point", batch_size=256, learning_rate=5e-3,
                              patience=None, seed=0)  # fmt: skip
            t = time.perf_counter()
            net.fit(d.X_train, d.y_train, epochs=args.epochs)
            print(f"trained {conn} at its fixed point, {args.epochs} epochs, "
                  f"{time.perf_counter() - t:.0f} s", flush=True)  # fmt: skip
            nets.append((conn, net))
    for name, net in nets:
        print(f"{name}: {net!r}")
        for label, X in (("test (360)", d.X_test), ("train (1437)", d.X_train)):
            compare(label, net, X, histories)


if __name__ == "__main__":
    main()
