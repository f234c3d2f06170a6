"""Benchmark: the f-I curve through the CLI at 1e8 neuron-steps, against a hand-written NumPy loop.

Issue 17's comparison, each as a whole process (what a user waits for):
  biorate   ``biorate simulate fi --current 0nA:0.5nA:100 --trials 10 --duration 9.8s
            --transient 0.2s --sigma 2mV --seed 1 -o OUT.json --quiet`` (1000 neurons x 100,000
            steps of 0.1 ms = 1e8 neuron-steps; Brian2, Cython; its cache warmed by a first run);
  numpy     ``python -c`` running a vectorized Euler-Maruyama loop of the same LIF (1000 neurons,
            same steps, NumPy's Generator normals), counting spikes and writing the rates as JSON.

Best of ``--repeat`` runs each (the machine is shared: the minimum is the least disturbed
measurement of the same work). Also printed: the CLI's import time alone (``biorate --version``,
and ``python -c "import brian2"``). Goal (issue 17): biorate <= 1.5x the NumPy process.

Run:  python benchmarks/fi_cli.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIORATE = [str(Path(sys.executable).with_name("biorate"))]
CLI_ARGS = ["simulate", "fi", "--current", "0nA:0.5nA:100", "--trials", "10", "--duration",
            "9.8s", "--transient", "0.2s", "--sigma", "2mV", "--seed", "1", "--target", "cython",
            "--quiet"]  # fmt: skip

NUMPY_LOOP = """
import json, sys
import numpy as np
levels, trials, duration, transient, dt = 100, 10, 9.8, 0.2, 1e-4
current = np.linspace(0, 0.5e-9, levels)
tau, R, EL, Vth, Vr, tref, sigma = 0.02, 1e8, -0.07, -0.05, -0.06, 0.002, 2e-3
normal = np.random.default_rng(1).standard_normal
mu = EL + R * np.repeat(current, trials)
v = np.full(mu.size, EL)
ref_left = np.zeros(mu.size)
counts = np.zeros(mu.size)
steps, t_steps = int(round((duration + transient) / dt)), int(round(transient / dt))
noise = sigma * np.sqrt(2 * dt / tau)
for k in range(steps):
    active = ref_left <= 0
    v = np.where(active, v + dt * (mu - v) / tau + noise * normal(v.size), v)
    ref_left -= dt
    spiking = v > Vth
    v[spiking] = Vr
    ref_left[spiking] = tref
    if k >= t_steps:
        counts += spiking
rates = (counts / duration).reshape(levels, trials).mean(axis=1)
json.dump({"x": current.tolist(), "y": rates.tolist()}, open(sys.argv[1], "w"))
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of N for each (default 3)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "fi.json")
        cli = [*BIORATE, *CLI_ARGS, "-o", out]
        first = timed(cli)  # compiles the network's code when ~/.cython does not hold it yet
        biorate = min(timed(cli) for _ in range(args.repeat))
        numpy = min(timed([sys.executable, "-c", NUMPY_LOOP, out]) for _ in range(args.repeat))
        version = min(timed([*BIORATE, "--version"]) for _ in range(args.repeat))
        brian2 = min(timed([sys.executable, "-c", "import brian2"]) for _ in range(args.repeat))
    print(
        "f-I curve, 100 levels x 10 trials x 10 s at dt 0.1 ms = 1e8 neuron-steps, whole processes"
    )
    print(f"biorate simulate fi (Cython), first run:  {first:6.2f} s")
    print(f"biorate simulate fi (Cython), best of {args.repeat}: {biorate:6.2f} s")
    print(f"NumPy Euler loop process, best of {args.repeat}:    {numpy:6.2f} s")
    print(
        f"  of which start-up: `biorate --version` {version:.2f} s, `import brian2` {brian2:.2f} s"
    )
    print(f"ratio biorate / NumPy: {biorate / numpy:.2f}x  (goal <= 1.5x)")


if __name__ == "__main__":
    main()
