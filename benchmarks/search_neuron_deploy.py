"""A neuron search's best activation as spikes: digits, 64-64 feedforward nets trained with it
(defaults, until converged), deployed on Brian2 (current encoding, all 360 test images) at 100,
200 and 500 ms; prints per seed the rate and spiking accuracies and the gap at 200 ms (issue 15:
the best neuron-space activation deploys with a gap <= 1 point at 200 ms).

Run:  python benchmarks/search_neuron_deploy.py OUTDIR/best.json 0,1,2 results.json
"""

import json, sys, time
import numpy as np
import biorate as br
from biorate.datasets import load_dataset
from biorate.deploy import deploy

best = br.Activation.load(sys.argv[1])
d = load_dataset("digits")
out = {}
for s in [int(v) for v in sys.argv[2].split(",")]:
    t = time.perf_counter()
    net = br.RateNetwork([64, 64, 64, 10], activation=best, seed=s)
    net.fit(d.X_train, d.y_train)
    rate = net.score(d.X_test, d.y_test)
    rep = deploy(
        net, d.X_test, d.y_test, durations=["100 ms", "200 ms", "500 ms"], progress=False, seed=s
    )
    spk = dict(zip(["100", "200", "500"], rep["spiking_accuracy"]))
    out[s] = {
        "rate": rate,
        "spiking": spk,
        "gap_200": rate - spk["200"],
        "s": time.perf_counter() - t,
    }
    print(s, out[s], flush=True)
gaps = [v["gap_200"] for v in out.values()]
print(
    "rate median",
    np.median([v["rate"] for v in out.values()]),
    "gap@200 median",
    np.median(gaps),
    "max",
    max(gaps),
)
json.dump(out, open(sys.argv[3], "w"), indent=1)
