"""Benchmark: biorate.theory on the lif model (tau_m 20 ms, t_ref 2 ms), 100 input levels.

Prints, from one run on this machine:
  - the time of a 100-level Siegert f-I curve (sigma = 2 mV), through the model-level ``fi``
    (units, model, TransferCurve) and through the bare ``lif_rate``, with the ratio to the 50 ms goal;
  - the time of the dt-corrected curve (dt = 0.1 ms) and of a 10,000-level curve;
  - the 100-level case the test suite once timed (mu = -70..-20 mV, sigma = 2 mV, through
    ``lif_rate``) beside a baseline measured in the same run: the same 100 rates from the textbook
    integral (Brunel 2000, eq. 21) by ``scipy.integrate.quad``, one level at a time; it prints the
    speed-up over that baseline, the ratio to the 50 ms goal and the largest relative difference of
    the two (so the baseline is known to compute the same numbers);
  - the mean relative difference of the dt-corrected prediction from the continuous one (levels
    above 5 Hz), i.e. how much slower Brian2's Euler integration is predicted to fire.

Run:  python benchmarks/theory.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

GOAL_S = 0.05
LEVELS = 100


def best_of(fn, repeats: int) -> float:  # noqa: ANN001
    fn()  # warm up (imports, first allocation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def siegert_quad(mu: np.ndarray, sigma: float, tau_m: float, V_th: float, V_reset: float,  # noqa: N803
                 t_ref: float) -> np.ndarray:  # fmt: skip
    """The baseline: 1/rate = t_ref + tau_m*sqrt(pi)*int exp(u^2)(1 + erf u) du per level, with
    exp(u^2)(1 + erf u) = erfcx(-u) (finite for the u of these levels), by adaptive quadrature."""
    from scipy.integrate import quad
    from scipy.special import erfcx

    sb = np.sqrt(2.0) * sigma
    out = np.empty(len(mu))
    for i, m in enumerate(mu):
        integral = quad(lambda u: erfcx(-u), (V_reset - m) / sb, (V_th - m) / sb, epsabs=0.0,
                        epsrel=1e-10, limit=200)[0]  # fmt: skip
        out[i] = 1.0 / (t_ref + tau_m * np.sqrt(np.pi) * integral)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import biorate as br
    from biorate import theory as th

    lif = br.load_model("lif")
    current = np.linspace(0, 0.5e-9, LEVELS)
    cur_str = [f"{c} A" for c in current]
    p = {k: lif[k] for k in ("tau_m", "V_th", "V_reset", "t_ref")}
    mu = lif["E_L"] + lif["R_m"] * current

    t_fi = best_of(lambda: th.fi(lif, current=cur_str, sigma="2 mV"), args.repeats)
    t_bare = best_of(lambda: th.lif_rate(mu, 2e-3, **p), args.repeats)
    t_dt = best_of(lambda: th.lif_rate(mu, 2e-3, **p, dt=1e-4), args.repeats)
    mu_big = np.linspace(-0.08, 0.0, 10_000)
    t_big = best_of(lambda: th.lif_rate(mu_big, 2e-3, **p), max(1, args.repeats // 10))

    print(f"Siegert f-I curve, {LEVELS} levels, sigma = 2 mV (best of {args.repeats}):")
    print(f"  theory.fi (units, model, TransferCurve): {1e3 * t_fi:8.2f} ms")
    print(f"  lif_rate (SI arrays):                    {1e3 * t_bare:8.2f} ms")
    print(f"  lif_rate, dt-corrected (dt = 0.1 ms):    {1e3 * t_dt:8.2f} ms")
    print(f"  lif_rate, 10,000 levels:                 {1e3 * t_big:8.2f} ms")
    print(f"ratio goal (50 ms) / theory.fi time:       {GOAL_S / t_fi:8.1f}x  (goal >= 1)")

    # the case tests/test_theory.py once timed (an assert on wall-clock time, now measured here)
    mu_t = np.linspace(-0.07, -0.02, LEVELS)
    t_case = best_of(lambda: th.lif_rate(mu_t, 2e-3, **p), args.repeats)
    t_quad = best_of(lambda: siegert_quad(mu_t, 2e-3, **p), max(1, args.repeats // 10))
    ours, ref = th.lif_rate(mu_t, 2e-3, **p), siegert_quad(mu_t, 2e-3, **p)
    m = ref > 1e-3  # rates the quadrature resolves (far below threshold they reach ~1e-100 Hz)
    diff = np.max(np.abs(ours[m] / ref[m] - 1))
    print(f"lif_rate, {LEVELS} levels, mu = -70..-20 mV, sigma = 2 mV (best of {args.repeats}):")
    print(f"  lif_rate:                                {1e3 * t_case:8.2f} ms")
    print(f"  baseline, scipy quad per level:          {1e3 * t_quad:8.2f} ms")
    print(f"  speed-up over the baseline:              {t_quad / t_case:8.1f}x")
    print(f"  ratio goal (50 ms) / lif_rate time:      {GOAL_S / t_case:8.1f}x  (goal >= 1)")
    print(f"  max relative difference (rates > 1 mHz): {diff:8.1e}")

    print("dt-corrected vs continuous prediction, mean relative difference over levels > 5 Hz:")
    for sigma in (1e-3, 2e-3, 4e-3):
        for dt in (1e-4, 5e-4):
            cont = th.lif_rate(mu, sigma, **p)
            corr = th.lif_rate(mu, sigma, **p, dt=dt)
            m = cont > 5
            rel = np.mean(corr[m] / cont[m] - 1)
            print(f"  sigma = {sigma * 1e3:.0f} mV, dt = {dt * 1e3:.1f} ms: {100 * rel:+6.2f} %")


if __name__ == "__main__":
    main()
