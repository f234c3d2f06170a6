"""Run rate networks trained with a fitted LIF activation as spiking networks.

What it shows
-------------
Networks with two hidden populations of 64 units and feedforward, residual and feedback
connectivity are trained on scikit-learn's digits (fixed stratified split, 1437 train / 360 test)
with the shipped activation fitted to the f-I curve of a noisy LIF neuron (``lif_noise``: the
``lif`` model with 2 mV membrane noise, simulated on Brian2). Each trained network is then run as a
spiking network (:func:`biorate.deploy.deploy`): every unit becomes a LIF neuron with that noise,
weights become exponential current synapses (charge x_scale/y_scale * W per spike) and biases
constant currents, skip projections are routed from every population that makes up an activity,
and the input pixels are constant currents. The test images are presented for 500 ms (one network
holding a copy per image); the class is the most active output neuron, read after 50, 100, 200 and
500 ms from the same run. deploy's default integrates these linear LIF neurons exactly over 1 ms
steps (NumPy); ``--method euler`` runs the model's equations on Brian2 at the curve's 0.1 ms.

Left: test accuracy against presentation time, spiking (markers) and rate network (dashed), per
connectivity. Middle: spike raster of one presentation through the feedforward network (hidden
populations and output stacked). Right: each neuron's spiking rate against the rate network's
prediction r0 + y_scale*g(z) (feedforward network).

The method (train through the neuron's rate curve, run with spikes) is that of Hunsberger &
Eliasmith; rate-to-spike conversion of networks with skip connections is discussed by Rueckauer et
al.

Citations
---------
Hunsberger & Eliasmith (2015) Spiking deep networks with LIF neurons, arXiv:1510.08829.
Rueckauer et al. (2017) Front. Neurosci. 11:682, doi:10.3389/fnins.2017.00682.
Brunel (2000) J. Comput. Neurosci. 8:183-208, doi:10.1023/A:1008925309027.

Run:  python examples/06_deploy_spiking.py [--quick] [--out DIR] [--activation NAME|ACT.json]
      [--method auto|euler|exact] [--target auto|cython|numpy]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from biorate.datasets import load_dataset
from biorate.deploy import deploy
from biorate.network import CONNECTIVITIES, RateNetwork
from biorate.plotting import axes_grid, save_figure


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small nets, 40 images, 200 ms (tests)")
    ap.add_argument("--out", default=".", help="folder for the figure and the summary JSON")
    ap.add_argument("--activation", default="lif_noise", help="fitted activation name or JSON")
    ap.add_argument("--method", default="auto", choices=["auto", "euler", "exact"],
                    help="deploy's integrator (default auto: exact for lif models)")  # fmt: skip
    ap.add_argument("--target", default="auto", help="Brian2 code generation target (euler)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = load_dataset("digits")
    # the cap of the epochs: the default training stops once converged
    hidden, epochs = ([32, 32], 8) if args.quick else ([64, 64], 200)
    n_images = 40 if args.quick else data.X_test.shape[0]
    durations = ["50 ms", "100 ms", "200 ms"] if args.quick else ["50 ms", "100 ms", "200 ms",
                                                                    "500 ms"]  # fmt: skip
    X, y = data.X_test[:n_images], data.y_test[:n_images]
    reports = {}
    for conn in CONNECTIVITIES:
        net = RateNetwork([data.n_features, *hidden, data.n_classes], activation=args.activation,
                          connectivity=conn, seed=args.seed)  # fmt: skip
        net.fit(data.X_train, data.y_train, epochs=epochs)
        reports[conn] = deploy(net, X, y, durations=durations, seed=args.seed,
                               target=args.target, method=args.method,
                               progress=False)  # fmt: skip
        r = reports[conn]
        print(f"{conn:>11}: rate {r['rate_accuracy']:.3f}; spiking "
              + ", ".join(f"{d * 1e3:.0f} ms {a:.3f}" for d, a in
                          zip(r["durations_s"], r["spiking_accuracy"], strict=True)))  # fmt: skip

    fig, grid = axes_grid(1, 3, figsize=(14, 4))
    ax = grid[0]
    for k, (conn, r) in enumerate(reports.items()):
        ms = np.asarray(r["durations_s"]) * 1e3
        ax[0].plot(ms, r["spiking_accuracy"], "o-", color=f"C{k}", label=f"{conn} (spiking)")
        ax[0].axhline(r["rate_accuracy"], color=f"C{k}", ls="--", lw=1)
    ax[0].set_xscale("log")
    ax[0].set_xticks(ms, [f"{v:g}" for v in ms])
    ax[0].minorticks_off()
    ax[0].set_xlabel("presentation time (ms)")
    ax[0].set_ylabel(f"test accuracy ({n_images} images)")
    ax[0].set_title("dashed: rate network", fontsize=9)
    ax[0].legend(fontsize=8)
    ff = reports["feedforward"]
    offset = 0
    for pop in ff["populations"]:
        sp = ff["samples"]["raster"].get(pop["name"], {"i": [], "t_s": []})
        ax[1].plot(np.asarray(sp["t_s"]) * 1e3, np.asarray(sp["i"]) + offset, "|", ms=2)
        ax[1].text(1.01, offset + pop["neurons_per_image"] / 2, pop["name"],
                   transform=ax[1].get_yaxis_transform(), fontsize=8, va="center")  # fmt: skip
        offset += pop["neurons_per_image"]
    ax[1].set_ylim(-1, offset)
    ax[1].set_xlabel("time (ms)")
    ax[1].set_ylabel("neuron")
    ax[1].set_title(f"feedforward, one image (label {ff['samples']['raster_label']})", fontsize=9)
    top = 0.0
    for pop in ff["populations"]:
        s = ff["samples"]["scatter"][pop["name"]]
        ax[2].plot(s["predicted_hz"], s["spiking_hz"], ".", ms=2, alpha=0.3,
                   label=f"{pop['name']} (r = {pop['correlation']:.3f})")  # fmt: skip
        top = max(top, max(s["spiking_hz"]))
    ax[2].plot([0, top], [0, top], "k--", lw=0.8)
    ax[2].set_xlim(-5, top * 1.1)
    ax[2].set_xlabel("rate network prediction (Hz)")
    ax[2].set_ylabel("spiking rate (Hz)")
    ax[2].legend(fontsize=8, markerscale=4)
    fig.suptitle(f"digits: rate networks ({args.activation}) run as LIF spiking networks")
    fig.tight_layout()
    path = save_figure(fig, out / "06_deploy_spiking.png")
    summary = {conn: {k: r[k] for k in ("durations_s", "spiking_accuracy", "rate_accuracy",
                                        "agreement", "rate_fixed_point", "populations")}
               for conn, r in reports.items()}  # fmt: skip
    (out / "06_deploy_spiking.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
