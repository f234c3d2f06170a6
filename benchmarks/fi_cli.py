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

# fi_curve.py's loop (100 levels x 10 trials, sigma 2 mV, dt 0.1 ms) for 9.8 s after 0.2 s, and
# the rates written as JSON, as a process of its own
NUMPY_LOOP = """
import json, sys
sys.path.insert(0, sys.argv[2])
import fi_curve
fi_curve.run_numpy(duration=9.8, transient=0.2)
json.dump({"x": fi_curve.CURRENT.tolist(), "y": fi_curve.LAST_RATES.tolist()}, open(sys.argv[1], "w"))
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
        here = str(Path(__file__).resolve().parent)
        numpy = min(timed([sys.executable, "-c", NUMPY_LOOP, out, here])
                    for _ in range(args.repeat))  # fmt: skip
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
