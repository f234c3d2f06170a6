"""Benchmark: one f-I curve of 100 levels x 10 trials x 2 s of lif with noise (sigma = 2 mV).

Compares, in one run on this machine:
  biorate   measure_fi: ONE Brian2 network (1000 neurons), one run; Cython target, first call
            (may include compilation, unless ~/.cython already holds it) and a second, warm call.
  loop      the per-level loop of Brian2 runs that tutorials use: a new 10-neuron network and a
            run per level, default (auto-numbered) object names. Timed on a subset of levels and
            extrapolated to 100 (said in the output).
  numpy     a plain vectorized NumPy Euler loop of the same model (1000 neurons, same dt).
  theory    the Siegert curve of the same 100 levels (goal: under 50 ms).

Run:  python benchmarks/fi_curve.py [--loop-levels 3] [--target cython|numpy] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LEVELS, TRIALS, DURATION, TRANSIENT, DT = 100, 10, 2.0, 0.2, 1e-4
CURRENT = np.linspace(0, 0.5e-9, LEVELS)
SIGMA = 2e-3


def run_biorate(target: str) -> tuple[float, object]:
    import biorate as br

    t0 = time.perf_counter()
    curve = br.measure_fi("lif", current=[f"{c} A" for c in CURRENT], sigma=f"{SIGMA} V",
                          duration=f"{DURATION} s", transient=f"{TRANSIENT} s", trials=TRIALS,
                          dt=f"{DT} s", seed=1, target=target, progress=False)  # fmt: skip
    return time.perf_counter() - t0, curve


def run_loop(levels: int, target: str) -> float:
    """Tutorial style: a fresh network per input level, magic names, one run each."""
    import brian2 as b2

    b2.prefs.codegen.target = target
    tau_m, R_m, E_L, V_th, V_reset = (
        20 * b2.ms,
        100 * b2.Mohm,
        -70 * b2.mV,
        -50 * b2.mV,
        -60 * b2.mV,
    )
    t_ref, sigma = 2 * b2.ms, SIGMA * b2.volt
    eqs = """dv/dt = (E_L - v + R_m*I)/tau_m + sigma*sqrt(2/tau_m)*xi : volt (unless refractory)
             I : amp"""
    t0 = time.perf_counter()
    for current in CURRENT[np.linspace(0, LEVELS - 1, levels).astype(int)]:
        g = b2.NeuronGroup(TRIALS, eqs, threshold="v > V_th", reset="v = V_reset",
                           refractory=t_ref, method="euler", dt=DT * b2.second)  # fmt: skip
        g.v = E_L
        g.I = current * b2.amp
        mon = b2.SpikeMonitor(g)
        net = b2.Network(g, mon)
        net.run((DURATION + TRANSIENT) * b2.second, namespace=locals())
        _ = np.sum(mon.t_ > TRANSIENT)
    return time.perf_counter() - t0


def run_numpy(
    seed: int = 1, legacy: bool = False, duration: float = DURATION, transient: float = TRANSIENT
) -> float:
    """Vectorized Euler-Maruyama of the same LIF, 1000 neurons, counting spikes after the transient.

    ``legacy``: draw normals with NumPy's legacy ``RandomState`` (what Brian2's runtime targets
    use) instead of the ``Generator`` (ziggurat, about twice as fast per sample). Returns the
    seconds the loop took; the rates per level are in :data:`LAST_RATES` (``benchmarks/fi_cli.py``
    runs this loop as a process of its own)."""
    rng = np.random.RandomState(seed) if legacy else np.random.default_rng(seed)
    normal = rng.standard_normal
    tau, R, EL, Vth, Vr, tref = 0.02, 1e8, -0.07, -0.05, -0.06, 0.002
    mu = EL + R * np.repeat(CURRENT, TRIALS)
    v = np.full(mu.size, EL)
    ref_left = np.zeros(mu.size)
    counts = np.zeros(mu.size)
    steps, t_steps = int(round((duration + transient) / DT)), int(round(transient / DT))
    noise = SIGMA * np.sqrt(2 * DT / tau)
    t0 = time.perf_counter()
    for k in range(steps):
        active = ref_left <= 0
        v = np.where(active, v + DT * (mu - v) / tau + noise * normal(v.size), v)
        ref_left -= DT
        spiking = v > Vth
        v[spiking] = Vr
        ref_left[spiking] = tref
        if k >= t_steps:
            counts += spiking
    LAST_RATES[:] = (counts / duration).reshape(LEVELS, TRIALS).mean(axis=1)
    return time.perf_counter() - t0


LAST_RATES = np.zeros(LEVELS)


def run_theory() -> float:
    import biorate as br

    lif = br.load_model("lif")
    current = [f"{c} A" for c in CURRENT]
    br.theory.fi(lif, current=current, sigma=f"{SIGMA} V")  # warm up imports
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        br.theory.fi(lif, current=current, sigma=f"{SIGMA} V")
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop-levels", type=int, default=3, help="levels of the loop actually timed")
    ap.add_argument("--target", default="cython", choices=["cython", "numpy"])
    ap.add_argument(
        "--repeat", type=int, default=3, help="best of N for biorate and NumPy (default 3)"
    )
    args = ap.parse_args()
    print(f"f-I curve: {LEVELS} levels x {TRIALS} trials x {DURATION} s (+{TRANSIENT} s transient), "
          f"dt = {DT * 1e3} ms, target {args.target}")  # fmt: skip
    first, _ = run_biorate(args.target)
    # best of `--repeat` runs for each contender (the machine is shared: the minimum is the least
    # disturbed measurement of the same work)
    warm = min(run_biorate(args.target)[0] for _ in range(args.repeat))
    print(f"biorate first call (compile if not cached): {first:8.2f} s")
    print(
        f"biorate warm call (best of {args.repeat}):            {warm:8.2f} s   (compile part ~ {max(first - warm, 0):.1f} s)"
    )
    loop_np = run_loop(args.loop_levels, "numpy") * LEVELS / args.loop_levels
    print(f"per-level loop, numpy target (no compile), extrapolated to {LEVELS}: {loop_np:8.2f} s")
    loop_subset = run_loop(args.loop_levels, args.target)
    loop = loop_subset * LEVELS / args.loop_levels
    print(f"per-level loop of runs: {loop_subset:.2f} s for {args.loop_levels} levels, "
          f"extrapolated to {LEVELS}: {loop:8.2f} s")  # fmt: skip
    numpy_t = min(run_numpy() for _ in range(args.repeat))
    numpy_legacy = min(run_numpy(legacy=True) for _ in range(args.repeat))
    print(f"plain NumPy Euler loop (Generator, best of {args.repeat}): {numpy_t:8.2f} s")
    print(f"plain NumPy Euler loop (legacy RandomState): {numpy_legacy:7.2f} s")
    th = run_theory()
    print(f"Siegert theory, {LEVELS} levels:                {1e3 * th:8.2f} ms (goal < 50 ms)")
    print()
    print(f"ratio loop / biorate (warm):   {loop / warm:7.1f}x  (goal >= 30x)")
    print(f"ratio numpy-target loop / biorate (warm): {loop_np / warm:7.1f}x")
    print(f"ratio numpy / biorate (warm):  {numpy_t / warm:7.2f}x  (goal >= 1)")
    print(
        f"ratio numpy-legacy / biorate:  {numpy_legacy / warm:7.2f}x  (same normal generator as Brian2)"
    )
    print(f"ratio goal / theory time:      {0.05 / th:7.1f}x  (goal >= 1)")


if __name__ == "__main__":
    main()
