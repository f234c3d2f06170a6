"""Benchmark: spiking evaluation of the 360-image digits test set at 200 ms per image.

A feedforward 64-64-64-10 rate network is trained (30 epochs, Adam, a few seconds) with the
shipped fitted LIF activation ``lif_noise`` and run as a Brian2 spiking network by
:func:`biorate.deploy.deploy`: one network holding a copy per image (360 x 138 LIF neurons,
~1.7 million synapses), 2000 time steps of 0.1 ms. Goal: under 2 minutes on this machine.

Reported: wall time of the whole evaluation (build + run + analysis) for a first call (which may
include Cython compilation unless ~/.cython already holds it) and a second, warm call; the run time
alone; neuron-steps per second (neurons x time steps / run time); and the accuracies.

Run:  python benchmarks/deploy.py [--target auto|cython|numpy] [--images 360] [--activation NAME]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="auto")
    ap.add_argument("--images", type=int, default=360)
    ap.add_argument("--activation", default="lif_noise")
    ap.add_argument("--duration", default="200 ms")
    args = ap.parse_args()

    from biorate.datasets import load_dataset
    from biorate.deploy import deploy
    from biorate.network import RateNetwork

    data = load_dataset("digits")
    t0 = time.perf_counter()
    # the net of issue 17's table: 30 epochs of batch 32 at Adam 1e-3 (rate accuracy 0.9778)
    net = RateNetwork(
        [64, 64, 64, 10], activation=args.activation, batch_size=32, learning_rate=1e-3, seed=0
    )
    net.fit(data.X_train, data.y_train, epochs=30)
    print(f"trained {net!r} in {time.perf_counter() - t0:.1f} s")
    X, y = data.X_test[: args.images], data.y_test[: args.images]
    for call in ("first", "warm"):
        t0 = time.perf_counter()
        rep = deploy(net, X, y, durations=["50 ms", "100 ms", args.duration], target=args.target,
                     progress=False)  # fmt: skip
        wall = time.perf_counter() - t0
        perf = rep["performance"]
        neuron_steps = perf["neurons"] * perf["steps"]
        print(f"{call:>5} call: {wall:6.1f} s wall ({perf['run_s']:.1f} s running, "
              f"{perf['codegen_target']}); {perf['neurons']} neurons, {perf['synapses']} "
              f"synapses, {perf['steps']} steps = {neuron_steps:.3g} neuron-steps, "
              f"{perf['neuron_steps_per_s']:.3g} neuron-steps/s; goal < 120 s: "
              f"{'met' if wall < 120 else 'MISSED'}")  # fmt: skip
    print(f"rate accuracy {rep['rate_accuracy']:.4f}; spiking accuracy "
          + ", ".join(f"{d * 1e3:.0f} ms {a:.4f}" for d, a in
                      zip(rep["durations_s"], rep["spiking_accuracy"], strict=True)))  # fmt: skip


if __name__ == "__main__":
    main()
