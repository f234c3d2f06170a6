"""A PyTorch MLP whose hidden units fire like a leaky integrate-and-fire neuron.

What it shows
-------------
``Activation.to_torch()`` turns a fitted activation into a ``torch.nn.Module``: forward is the
fitted curve g(z), backward its analytic derivative. The hidden units of a small PyTorch MLP
(64-64-64-10, Adam, softmax cross-entropy, mini-batches of 32) use the shipped fitted LIF
activation (``get_activation("lif")``: the noise-free LIF f-I curve, rescaled to a unit-free g(z));
the same MLP with ``torch.sigmoid`` is trained beside it from the same initial weights. Data:
scikit-learn's digits in biorate's fixed stratified split (1437 train / 360 test), no download.
Prints the test accuracy of each. Figure: left, the two hidden units' g(z) (the LIF's is zero below
threshold, rises with infinite slope there and saturates near 1); right, training loss per epoch.

Needs PyTorch: ``pip install biorate[torch]``.

Citations
---------
Kingma & Ba (2015) Adam, arXiv:1412.6980. Lapicque (1907); Burkitt (2006) Biol. Cybern. 95:1-19,
doi:10.1007/s00422-006-0068-6.

Run:  python examples/08_torch_mlp.py [--quick] [--seed N] [--epochs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
from torch import nn

from biorate.activation import get_activation
from biorate.datasets import load_dataset
from biorate.plotting import axes_grid, save_figure


def mlp(n_in: int, n_hidden: int, n_out: int, act: nn.Module) -> nn.Sequential:
    """n_in - n_hidden - n_hidden - n_out, ``act`` after each hidden layer."""
    return nn.Sequential(nn.Linear(n_in, n_hidden), act, nn.Linear(n_hidden, n_hidden), act,
                         nn.Linear(n_hidden, n_out))  # fmt: skip


class Sigmoid(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(z)


def train(model: nn.Module, data, epochs: int, seed: int) -> tuple[float, list[float]]:
    """Adam on mini-batches of 32 for ``epochs`` epochs; returns the test accuracy and the mean
    training loss of each epoch."""
    X = torch.tensor(data.X_train, dtype=torch.float32)
    y = torch.tensor(data.y_train, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(X), generator=gen).split(32):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(X))
    with torch.no_grad():
        pred = model(torch.tensor(data.X_test, dtype=torch.float32)).argmax(1).numpy()
    return float((pred == data.y_test).mean()), losses


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few epochs (for tests)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 60; --quick 8)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=".", help="folder for the figure")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)  # 64-unit layers: more threads cost more than they give
    act = get_activation("lif")
    print(act.describe())
    data = load_dataset("digits")
    epochs = args.epochs or (8 if args.quick else 60)
    torch.manual_seed(args.seed)
    first = mlp(data.n_features, 64, data.n_classes, act.to_torch())
    results, losses, units = {}, {}, {}
    for name, module in ((act.name, act.to_torch()), ("sigmoid", Sigmoid())):
        model = copy.deepcopy(first)  # the same initial weights for both
        model[1] = model[3] = module
        t0 = time.perf_counter()
        acc, losses[name] = train(model, data, epochs, args.seed)
        results[name], units[name] = acc, module
        print(f"{name:<10} test accuracy {acc:.4f}  ({epochs} epochs, "
              f"{time.perf_counter() - t0:.1f} s)")  # fmt: skip

    fig, (ax,) = axes_grid(1, 2, figsize=(10, 4))
    z = torch.linspace(-4, 4, 401)
    for i, name in enumerate(results):
        ax[0].plot(z, units[name](z).detach(), color=f"C{i}", label=name)
        ax[1].semilogy(range(1, epochs + 1), losses[name], color=f"C{i}",
                       label=f"{name}: test accuracy {results[name]:.3f}")  # fmt: skip
    ax[0].set(xlabel="pre-activation z", ylabel="g(z)", title="hidden unit")
    ax[1].set(xlabel="epoch", ylabel="training loss (cross-entropy)", title=f"seed {args.seed}")
    for a in ax:
        a.legend()
    fig.tight_layout()
    out = Path(args.out) / "08_torch_mlp.png"
    save_figure(fig, out)
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
