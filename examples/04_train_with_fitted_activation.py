"""Train rate networks whose units fire like a leaky integrate-and-fire neuron.

What it shows
-------------
The activation of every hidden unit is the f-I curve of a noisy LIF neuron, fitted and rescaled to
a unit-free g(z) (``biorate.activation``): the shipped fitted LIF activation when there is one, the
file given with --activation, or else a fit, made here, of the Siegert prediction for the shipped
``lif`` model with 2 mV membrane noise (Siegert 1951; Brunel 2000). Networks of 64-64 hidden
populations with feedforward, residual and feedback connectivity are trained on scikit-learn's
digits (fixed stratified split, 1437 train / 360 test) with Adam and softmax cross-entropy, the
feedback graph by backpropagation through time over T = 5 steps of the rate dynamics
h(t+1) = (1 - a) h(t) + a g(z(t)).

Left: the fitted curve in physical units (rate in Hz against input current in nA) and the network's
unit-free g(z) on a second axis. Middle: training loss per epoch. Right: test accuracy, beside the
same networks with the textbook logistic sigmoid.

Citations
---------
Siegert (1951) Phys. Rev. 81:617, doi:10.1103/PhysRev.81.617.
Brunel (2000) J. Comput. Neurosci. 8:183-208, doi:10.1023/A:1008925309027.
Kingma & Ba (2015) Adam, arXiv:1412.6980. Werbos (1990) Proc. IEEE 78:1550, doi:10.1109/5.58337.

Run:  python examples/04_train_with_fitted_activation.py [--quick] [--out DIR] [--activation ACT.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import biorate as br
from biorate.activation import get_activation, list_activations
from biorate.datasets import load_dataset
from biorate.network import CONNECTIVITIES, RateNetwork
from biorate.plotting import axes_grid, save_figure


def lif_activation(path: str | None):
    """The fitted LIF activation: given file, shipped one, or a fit of the Siegert f-I curve."""
    if path:
        return get_activation(path)
    shipped = [n for n in list_activations() if "lif" in n]
    if shipped:
        return get_activation(shipped[0])
    curve = br.theory.fi("lif", current="0nA:0.6nA:61", sigma="2 mV")
    return br.fit(curve, form="auto").activation(name="lif_siegert_2mV")


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few epochs (for tests)")
    ap.add_argument("--out", default=".", help="folder for the figure")
    ap.add_argument("--activation", default=None, help="fitted activation JSON")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    act = lif_activation(args.activation)
    print(act.describe())
    data = load_dataset("digits")
    epochs = 8 if args.quick else 200  # the cap: the default training stops once converged
    results: dict[tuple[str, str], tuple[float, list[float]]] = {}
    for name, g in ((act.name, act), ("sigmoid", get_activation("sigmoid"))):
        for conn in CONNECTIVITIES:
            net = RateNetwork([data.n_features, 64, 64, data.n_classes], activation=g,
                              connectivity=conn, steps=5, seed=args.seed)  # fmt: skip
            hist = net.fit(data.X_train, data.y_train, epochs=epochs)
            acc = net.score(data.X_test, data.y_test)
            results[(name, conn)] = (acc, hist.loss)
            print(f"{name:<20} {conn:<12} test accuracy {acc:.4f}  ({hist.epochs} epochs, "
                  f"{sum(hist.epoch_time_s):.1f} s)")  # fmt: skip

    fig, grid = axes_grid(1, 3, figsize=(14, 4))
    ax = grid[0]
    z = np.linspace(-6, 6, 200)
    x = act.to_x(z)
    ax[0].plot(x * 1e9 if act.x_unit == "A" else x, act.physical(x), color="C3")
    ax[0].set(
        xlabel=f"input x ({'nA' if act.x_unit == 'A' else act.x_unit})",
        ylabel=f"rate ({act.y_unit})",
        title=f"fitted activation: {act.form}",
    )
    twin = ax[0].twiny()
    twin.plot(z, act(z), alpha=0)  # invisible: only sets the unit-free z axis on top
    twin.set_xlabel("network pre-activation z (unit free)")
    for i, conn in enumerate(CONNECTIVITIES):
        ax[1].semilogy(
            range(1, len(results[(act.name, conn)][1]) + 1),
            results[(act.name, conn)][1],
            color=f"C{i}",
            label=conn,
        )
    ax[1].set(xlabel="epoch", ylabel="training loss (cross-entropy)", title=f"{act.name} units")
    ax[1].legend()
    pos = np.arange(len(CONNECTIVITIES))
    ax[2].bar(pos - 0.2, [results[(act.name, c)][0] for c in CONNECTIVITIES], 0.4, label=act.name)
    ax[2].bar(pos + 0.2, [results[("sigmoid", c)][0] for c in CONNECTIVITIES], 0.4, label="sigmoid")
    ax[2].set_xticks(pos, CONNECTIVITIES)
    ax[2].set(ylim=(0.8, 1.0), ylabel="digits test accuracy", title=f"seed {args.seed}")
    ax[2].legend(loc="lower right")
    fig.tight_layout()
    out = Path(args.out) / "04_train_with_fitted_activation.png"
    save_figure(fig, out)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
