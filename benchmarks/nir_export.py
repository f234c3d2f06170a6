"""Benchmark: the NIR export run by an independent consumer (snnTorch) against biorate's Brian2.

A feedforward 64-64-10 rate network is trained on digits (60 epochs) with the shipped noise-free
LIF activation ``lif`` (models/activations/lif.json, fitted with t_ref = 2 ms), exported with
:func:`biorate.deploy.nir.to_nir` (``form="normalized"``, the gauge snnTorch's importer reads),
written and read back with ``nir.write``/``nir.read``, imported with
``snntorch.import_nir.import_from_nir`` and run for the same presentation time at deploy's time step
(dt = 0.1 ms; snnTorch's importer assumes 1e-4 s), inputs as constant currents (deploy's
``"current"`` encoding). The class is the output neuron with the most spikes; ties go to the one
that fired first; no spike at all is undecided (wrong), as in deploy.

One adaptation, a convention and not a parameter: NIR's spike is a unit-area Dirac delta, while
snnTorch feeds a spike as the value 1 for one step (area dt); the weights of the Affines that read
spikes (not their biases, and not the input's) are divided by dt before the import.

Printed: the rate network's accuracy; Brian2 (deploy, with the model's refractory period) and
Brian2 refractory-free (the same weights, ``t_ref = 0``: what dropping refractoriness costs); the
snnTorch accuracy on the export; the differences.

Run:  python benchmarks/nir_export.py [--duration 200ms] [--images 360] [--epochs 60]
"""

from __future__ import annotations

import argparse
import copy
import io
import time

import numpy as np

DT = 1e-4  # deploy's step (the lif curve's), and the step snnTorch's NIR import assumes


def for_snntorch(graph: object, dt: float = DT) -> object:
    """The graph with the spike-reading Affines' weights divided by ``dt`` (see the doc)."""
    import nir

    g = copy.deepcopy(graph)
    lif = {k for k, n in g.nodes.items() if isinstance(n, nir.CubaLIF)}
    for src, dst in g.edges:
        if src in lif and isinstance(g.nodes[dst], nir.Affine):
            g.nodes[dst] = nir.Affine(weight=g.nodes[dst].weight / dt, bias=g.nodes[dst].bias)
    return g


def snntorch_predict(graph: object, X: np.ndarray, steps: int) -> np.ndarray:
    """Classes predicted by snnTorch's import of ``graph`` (normalized form) over ``steps``."""
    import snntorch.utils
    import torch
    from snntorch.import_nir import import_from_nir

    model = import_from_nir(for_snntorch(graph))
    snntorch.utils.reset(model)
    x = torch.as_tensor(X, dtype=torch.float32)
    counts = torch.zeros(X.shape[0], graph.nodes["output"].output_type["output"][0])
    first = torch.full_like(counts, float(steps))
    state = None
    with torch.no_grad():
        for t in range(steps):
            spk, state = model(x, state)
            counts += spk
            first = torch.where((spk > 0) & (first == steps), torch.full_like(first, t), first)
    counts, first = counts.numpy(), first.numpy()
    best = counts.max(axis=1, keepdims=True)
    pred = np.where(counts == best, -first, -np.inf).argmax(axis=1)  # ties: first to fire
    return np.where(best[:, 0] > 0, pred, -1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", default="200ms")
    ap.add_argument("--images", type=int, default=360)
    ap.add_argument("--epochs", type=int, default=60)
    args = ap.parse_args()

    import nir

    from biorate.activation import Activation
    from biorate.datasets import load_dataset
    from biorate.deploy import deploy
    from biorate.deploy.nir import to_nir
    from biorate.models import shipped_models_dir
    from biorate.network import RateNetwork
    from biorate.units import TIME, to_si

    duration = to_si(args.duration, TIME, "duration")
    data = load_dataset("digits")
    X, y = data.X_test[: args.images], data.y_test[: args.images]
    act = Activation.load(shipped_models_dir() / "activations" / "lif.json")
    net = RateNetwork([64, 64, 10], activation=act, seed=0)
    net.fit(data.X_train, data.y_train, epochs=args.epochs)
    rate = float(net.evaluate(X, y)["accuracy"])

    t0 = time.perf_counter()
    rep = deploy(
        net, X, y, durations=[f"{duration!r} s"], dt=f"{DT!r} s", progress=False, method="euler"
    )
    brian = float(rep["test_accuracy"])
    free = copy.deepcopy(net)
    free.activation_.source["model"]["params"]["t_ref"] = "0 ms"
    brian_free = float(
        deploy(
            free,
            X,
            y,
            durations=[f"{duration!r} s"],
            dt=f"{DT!r} s",
            progress=False,
            method="euler",
        )["test_accuracy"]
    )
    t_brian = time.perf_counter() - t0

    buf = io.BytesIO()
    nir.write(buf, to_nir(net, dt=f"{DT!r} s", form="normalized"))
    graph = nir.read(io.BytesIO(buf.getvalue()))
    t0 = time.perf_counter()
    snn = float(np.mean(snntorch_predict(graph, X, round(duration / DT)) == y))
    t_snn = time.perf_counter() - t0

    print(
        f"{net!r}, {len(y)} digits test images, {duration * 1e3:g} ms per image, dt {DT * 1e3:g} ms"
    )
    print(f"  rate network                       {rate:.4f}")
    print(f"  Brian2 deploy (t_ref 2 ms)         {brian:.4f}")
    print(f"  Brian2 deploy refractory-free      {brian_free:.4f}   ({t_brian:.0f} s both)")
    print(f"  snnTorch on the NIR export         {snn:.4f}   ({t_snn:.0f} s)")
    print(f"  snnTorch - Brian2                  {100 * (snn - brian):+.2f} points")
    print(f"  snnTorch - Brian2 refractory-free  {100 * (snn - brian_free):+.2f} points")
    print(
        f"  refractory cost (Brian2 free - Brian2 with t_ref) {100 * (brian_free - brian):+.2f} points"
    )


if __name__ == "__main__":
    main()
