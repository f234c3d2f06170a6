"""The activations a search found, re-evaluated on the test set beside other activations.

A search's fitness is a validation accuracy (images split off the training set); this script
trains the search's network (its ``hidden`` sizes, connectivity and epoch cap) on the whole
training set with each of the ``--top`` best candidates of a leaderboard (formulas, or a neuron
search's fitted activations) and with the activations named by ``--baselines`` (built-ins and
shipped fitted ones such as ``lif_noise``), over ``--seeds`` seeds, and prints the median test
accuracy with the 2.5-97.5 percentile interval over seeds (numpy's linear interpolation) and the
mean epochs.

Run:  python benchmarks/search_reeval.py OUTDIR [--top 3] [--seeds 10]
      [--baselines relu,sigmoid,tanh,swish,prelu,lif_noise]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from biorate import Activation, RateNetwork, load_dataset
from biorate.activation import get_activation


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", help="a search's output folder (leaderboard.json, search.json)")
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--baselines", default="relu,sigmoid,tanh,swish,prelu,lif_noise")
    args = ap.parse_args(argv)
    out = Path(args.outdir)
    rows = json.loads((out / "leaderboard.json").read_text())["rows"]
    objective = json.loads((out / "search.json").read_text())["objective"]
    if objective["kind"] != "accuracy":
        raise SystemExit("re-evaluation needs a search with the accuracy objective")
    data = load_dataset(objective["dataset"])
    sizes = [data.n_features, *objective["hidden"], data.n_classes]
    found = [r for r in rows if r["status"] == "ok"][: args.top]
    acts = {(f"neuron {r['expression']}" if r.get("activation") else f"formula {r['expression']}"):
            (Activation.from_dict(r["activation"]) if r.get("activation")
             else Activation(form="formula", expression=r["expression"])) for r in found}  # fmt: skip
    acts |= {b: get_activation(b) for b in args.baselines.split(",") if b}
    print(f"{objective['dataset']}, sizes {sizes}, {objective['connectivity']}, cap "
          f"{objective['epochs']} epochs, seeds 0-{args.seeds - 1}; test accuracy")  # fmt: skip
    print("| activation | median | 95% interval | mean epochs |\n|---|---|---|---|")
    for name, act in acts.items():
        acc, epochs = [], []
        for seed in range(args.seeds):
            net = RateNetwork(sizes, act, objective["connectivity"], seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                history = net.fit(data.X_train, data.y_train, epochs=int(objective["epochs"]))
            acc.append(net.score(data.X_test, data.y_test))
            epochs.append(len(history.loss))
        lo, hi = np.percentile(acc, [2.5, 97.5])
        print(f"| {name} | {np.median(acc):.4f} | {lo:.4f}-{hi:.4f} | {np.mean(epochs):.0f} |")


if __name__ == "__main__":
    main()
