"""Benchmark: Brian2's speed per code-generation target, the calibration of ``SIM_SPEED``.

``biorate.spiking.protocol.SIM_SPEED`` holds, per target, the seconds a time step costs whatever
the size and the neuron-steps per second; ``check_size`` refuses a run whose estimate exceeds
``BIORATE_MAX_SIM_SECONDS`` (3600 s). This script measures both with biorate's own measurements
at dt = 0.1 ms: 3 neurons for 0.5 s and for 2 s (the difference: the cost of 15 000 steps) and
1000 levels x 100 trials for 0.2 s (2e8 neuron-steps), for measure_fi on lif without and with noise
and on cond_lif with Poisson drive, and for measure_release on tm_release; each after a short warm-up
run (Cython compiles each new network once). It prints the measured numbers beside the constants and
the ratio estimate/measured for the large run (below 1: the estimate is on the fast side).

Measured on the development machine (2 shared cores, load ~4; Brian2 2.9, Cython 3.3):
    numpy:  36-72 us per step, 1.1e7-7.6e7 neuron-steps/s
    cython: 4.0-6.6 us per step, 1.6e7-1.4e8 neuron-steps/s

Run:  python benchmarks/sim_speed.py [--target numpy|cython]   (about 40 s per target)
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="numpy", choices=["numpy", "cython"])
    args = ap.parse_args()

    import biorate as br
    from biorate.spiking.protocol import SIM_SPEED, estimate_seconds

    def fi(model, drive, sigma):
        def run(n_levels, trials, duration):
            kw = ({"current": f"0.1nA:0.5nA:{n_levels}"} if drive == "current"
                  else {"rate": f"1Hz:20Hz:{n_levels}"})  # fmt: skip
            br.measure_fi(model, **kw, drive=drive, sigma=sigma, duration=duration,
                          transient="0 ms", trials=trials, seed=1, target=args.target,
                          progress=False)  # fmt: skip

        return run

    def release(n_levels, trials, duration):
        br.measure_release("tm_release", rate=f"1Hz:100Hz:{n_levels}", duration=duration,
                           transient="0 ms", trials=trials, seed=1, target=args.target,
                           progress=False)  # fmt: skip

    def timed(run, *a):
        t0 = time.perf_counter()
        run(*a)
        return time.perf_counter() - t0

    step_s, rate = SIM_SPEED[args.target]
    print(f"{args.target}: constants {step_s * 1e6:.3g} us per step, {rate:.3g} neuron-steps/s")
    cases = [("lif", fi("lif", "current", "0 mV")), ("lif, sigma 2 mV", fi("lif", "current", "2 mV")),
             ("cond_lif, Poisson", fi("cond_lif", "poisson", "0 mV")), ("tm_release", release)]  # fmt: skip
    for label, run in cases:
        timed(run, 3, 1, "10 ms")  # warm-up: compiled code objects are reused below
        short, long_ = timed(run, 3, 1, "0.5 s"), timed(run, 3, 1, "2 s")
        per_step = (long_ - short) / 15000
        big = timed(run, 1000, 100, "0.2 s")
        per_second = 1e5 * 2000 / max(big - per_step * 2000, 1e-9)
        ratio = estimate_seconds(1e5, 2000, args.target) / big
        print(f"  {label:<18} {per_step * 1e6:5.1f} us per step, {per_second:.3g} neuron-steps/s; "
              f"1e5 neurons x 2000 steps {big:.2f} s, estimate/measured {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
