"""Vanishing gradients in a deep rate network, and the residual (skip) connection that cures them.

What it shows
-------------
A rate network with 20 hidden populations of 64 units each, trained on scikit-learn's digits. In a
plain feedforward chain the gradient reaching the first population is a product of 20 factors
W^T g'(z); with the logistic sigmoid (g' <= 1/4) it shrinks geometrically with depth (Hochreiter
1991; Bengio, Simard & Frasconi 1994), and the network does not learn (test accuracy at chance,
0.10). Residual connectivity adds each hidden population's activity to the next one's output
(h_l = g(z_l) + h_{l-1}; He et al. 2016), an identity path through which the gradient reaches the
first layer undiminished: the table prints the first-population gradient norm at initialisation
for both graphs, their ratio, and the test accuracy after training, for sigmoid, tanh, relu and,
when one is shipped or given with --activation, a fitted LIF activation.

Left panel: gradient norm of each population at initialisation against its depth (log scale).
Right panel: test accuracy after training, plain vs residual.

Citations
---------
Hochreiter (1991) Diploma thesis, TU Munich; Bengio, Simard & Frasconi (1994) IEEE Trans. Neural
Netw. 5:157-166, doi:10.1109/72.279181.
He, Zhang, Ren & Sun (2016) CVPR, doi:10.1109/CVPR.2016.90.

Run:  python examples/05_vanishing_gradients.py [--quick] [--out DIR] [--activation ACT.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import biorate as br
from biorate.activation import get_activation, list_activations
from biorate.datasets import load_dataset
from biorate.network import RateNetwork
from biorate.plotting import axes_grid, save_figure


def experiment(act, depth: int, epochs: int, data, seed: int = 0) -> dict:
    """First-population gradient norms (plain, residual) at init and test accuracy after training."""
    row: dict = {"activation": act.name, "depth": depth, "epochs": epochs}
    for conn in ("feedforward", "residual"):
        net = RateNetwork([data.n_features, *[64] * depth, data.n_classes], activation=act,
                          connectivity=conn, learning_rate=3e-3, batch_size=32,
                          seed=seed).initialize()  # fmt: skip
        # gradient at initialisation, on the whole training set, exact (no derivative offset)
        norms = net.gradient_norms(data.X_train, data.y_train)
        net.fit(data.X_train, data.y_train, epochs=epochs)
        row[conn] = {"grad_norms": norms, "grad_first": norms["h1"],
                     "test_accuracy": net.score(data.X_test, data.y_test)}  # fmt: skip
    row["ratio"] = row["residual"]["grad_first"] / row["feedforward"]["grad_first"]
    return row


def main(argv: list[str] | None = None) -> tuple[Path, list[dict]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer epochs and activations (tests)")
    ap.add_argument("--out", default=".", help="folder for the figure and table JSON")
    ap.add_argument("--activation", default=None, help="fitted activation JSON to add to the table")
    ap.add_argument("--depth", type=int, default=20)
    args = ap.parse_args(argv)

    data = load_dataset("digits")
    acts = [get_activation(n) for n in ("sigmoid", "tanh", "relu")]
    fitted = args.activation or next((n for n in list_activations() if "lif" in n), None)
    if fitted:
        acts.append(get_activation(fitted))
    epochs = 20
    if args.quick:  # sigmoid only, fewer epochs: the gradient ratio is measured at init anyway
        acts, epochs = acts[:1], 10
    rows = [experiment(a, args.depth, epochs, data) for a in acts]

    print(
        f"{args.depth} hidden populations of 64, digits, Adam lr 3e-3, batch 32, {epochs} epochs, seed 0"
    )
    print(f"{'activation':<14}{'|grad h1| plain':>16}{'residual':>12}{'ratio':>10}"
          f"{'acc plain':>11}{'acc residual':>14}")  # fmt: skip
    for r in rows:
        ff, res = r["feedforward"], r["residual"]
        print(
            f"{r['activation']:<14}{ff['grad_first']:>16.3e}{res['grad_first']:>12.3e}"
            f"{r['ratio']:>10.3g}{ff['test_accuracy']:>11.3f}{res['test_accuracy']:>14.3f}"
        )

    fig, grid = axes_grid(1, 2, figsize=(11, 4))
    ax = grid[0]
    for i, r in enumerate(rows):
        for conn, style in (("feedforward", "--"), ("residual", "-")):
            g = r[conn]["grad_norms"]
            ax[0].semilogy(range(1, len(g) + 1), list(g.values()), style, color=f"C{i}",
                           label=f"{r['activation']} {conn}")  # fmt: skip
    ax[0].set(
        xlabel="population (1 = first hidden, last = output)",
        ylabel="gradient norm at initialisation",
        title=f"{args.depth} hidden populations",
    )
    x = np.arange(len(rows))
    ax[1].bar(x - 0.2, [r["feedforward"]["test_accuracy"] for r in rows], 0.4, label="plain")
    ax[1].bar(x + 0.2, [r["residual"]["test_accuracy"] for r in rows], 0.4, label="residual")
    ax[1].set_xticks(x, [r["activation"] for r in rows])
    ax[1].axhline(0.1, color="k", lw=0.8, ls=":")
    ax[1].set(ylabel="digits test accuracy", ylim=(0, 1), title=f"after {epochs} epochs")
    ax[0].legend(fontsize=7)
    ax[1].legend()
    fig.tight_layout()
    out = Path(args.out) / "05_vanishing_gradients.png"
    save_figure(fig, out)
    br.io.write_json(Path(args.out) / "05_vanishing_gradients.json", {"rows": rows})
    print(f"wrote {out}")
    return out, json.loads(json.dumps(rows))


if __name__ == "__main__":
    main()
