"""Simulated lif f-I curves (Brian2, NumPy target) against biorate.theory: the dt-corrected prediction
within max(1 Hz, 3%), the continuous one within max(1 Hz, 5%), for two parameter sets and two noise
levels; the noise-free simulation against the exact Euler rate and the closed form; and the Euler
bias shrinking like sqrt(dt) as the step shrinks; and Poisson drive (rate in -> rate out) against
the diffusion approximation."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Hz, amp, ms, nA, second

import biorate as br
from biorate import theory as th

SEED = 11
PARAMS = {
    "lif": {},
    "fast_low_reset": {"tau_m": "15 ms", "V_reset": "-65 mV", "t_ref": "1 ms"},
}


def measure(model, current, sigma, dt="0.1 ms", trials=40, duration=4 * second):  # noqa: ANN001
    return br.measure_fi(model, current=current, sigma=sigma, trials=trials, duration=duration,
                         transient=200 * ms, dt=dt, seed=SEED, target="numpy", progress=False)  # fmt: skip


def predict(model, curve, sigma, dt=None):  # noqa: ANN001
    return th.fi(model, current=curve.x * amp, sigma=sigma, dt=dt).y


@pytest.mark.parametrize("sigma", ["1 mV", "2 mV"])
@pytest.mark.parametrize("params", list(PARAMS))
def test_noisy_lif_within_tolerance_of_theory(params, sigma):
    """120 trials per level: with 40, over seeds 0-4 (lif), the corrected mean bias reached 0.0045
    (|bias| 0.0023 +- 0.0017, bound 0.006) and the continuous curve's largest error 0.83 of its
    bound at 2 mV (0.62 +- 0.14). With 120, over seeds 0-4 (lif; 1 mV, 2 mV): corrected bias
    -0.0002 +- 0.0005 and -0.0004 +- 0.0011, largest error / bound 0.09 +- 0.04 and 0.14 +- 0.06
    corrected, 0.30 +- 0.08 and 0.53 +- 0.09 continuous, |bias_corr| / |bias_cont| at 2 mV 0.08 +-
    0.03: each bound more than 4 stds away. (fast_low_reset not measured over seeds.) Reproduce:
    this test's body for seed in range(5)."""
    lif = br.load_model("lif").with_params(**PARAMS[params])
    current = np.linspace(0.14, 0.45, 10) * nA
    sim = measure(lif, current, sigma, trials=120)
    corrected = predict(lif, sim, sigma, dt="0.1 ms")
    continuous = predict(lif, sim, sigma)
    assert sim.y.max() > 80 and sim.y.min() < 10  # fluctuation- and mean-driven levels
    err_corr = np.abs(sim.y - corrected)
    err_cont = np.abs(sim.y - continuous)
    assert np.all(err_corr <= np.maximum(1.0, 0.03 * corrected)), (sim.y, corrected)
    assert np.all(err_cont <= np.maximum(1.0, 0.05 * continuous)), (sim.y, continuous)
    # and the correction does correct: the mean relative bias (levels above 5 Hz) is small, and
    # where the Euler bias is large (sigma = 2 mV: about -1.3%) it is cut by more than half
    m = sim.y > 5
    bias_corr = np.mean(sim.y[m] / corrected[m] - 1)
    bias_cont = np.mean(sim.y[m] / continuous[m] - 1)
    assert abs(bias_corr) < 0.006
    if sigma == "2 mV":
        assert abs(bias_corr) < 0.5 * abs(bias_cont)


def test_noise_free_simulation_is_the_exact_euler_rate():
    lif = br.load_model("lif")
    current = np.linspace(0.21, 0.6, 14) * nA
    duration = 2.0
    sim = br.measure_fi(lif, current=current, trials=1, duration=duration * second,
                        transient=200 * ms, seed=1, target="numpy", progress=False)  # fmt: skip
    euler = predict(lif, sim, "0 mV", dt="0.1 ms")
    closed = predict(lif, sim, "0 mV")
    # a regular train at rate r puts floor or ceil of r*duration spikes in the window
    assert np.all(np.abs(sim.y - euler) <= 1 / duration + 1e-9)
    # derived bound (tests/test_theory.py): 0 <= ISI_cont - ISI_euler < dt*(1 + L/(2(1 - dt/tau)))
    dt, tau = 1e-4, 0.02
    mu = -0.07 + 1e8 * sim.x
    log_ratio = np.log((mu + 0.06) / (mu + 0.05))
    bound_isi = dt * (1 + log_ratio / (2 * (1 - dt / tau)))
    # rate difference from the ISI bound, plus the counting window's 1/duration
    assert np.all(sim.y - closed <= closed**2 * bound_isi / (1 - closed * bound_isi) + 1 / duration)
    assert np.all(sim.y - closed >= -1 / duration)


def test_euler_bias_shrinks_like_sqrt_dt():
    """t_ref = 0 isolates the threshold-crossing bias (no refractory rounding). 250 trials per level:
    with 50, over seeds 0-5, bias(0.5 ms)/bias(0.05 ms)/sqrt(10) was 0.91 +- 0.11 (0.835 on two
    seeds, against the bound 0.75) and the largest |bias - predicted| 0.0032 +- 0.0020 (0.0068 on
    seed 0, against 0.008). With 250, over seeds 0-4: 0.950 +- 0.033 and 0.0025 +- 0.0008, biases
    -0.070, -0.046, -0.023 (+- 0.001), each bound more than 6 stds away. Reproduce: this test's
    loop for seed in range(5)."""
    lif = br.load_model("lif").with_params(t_ref="0 ms")
    current = np.linspace(0.2, 0.4, 6) * nA
    sigma = "4 mV"
    bias, predicted = [], []
    for dt in ("0.5 ms", "0.2 ms", "0.05 ms"):
        sim = measure(lif, current, sigma, dt=dt, trials=250, duration=2 * second)
        cont = predict(lif, sim, sigma)
        corr = predict(lif, sim, sigma, dt=dt)
        bias.append(np.mean(sim.y / cont - 1))
        predicted.append(np.mean(corr / cont - 1))
    assert bias[0] < bias[1] < bias[2] < 0
    np.testing.assert_allclose(bias, predicted, atol=0.008)
    assert bias[0] / bias[2] == pytest.approx(np.sqrt(10), rel=0.25)


@pytest.mark.parametrize("params", [{}, {"J": "0.2 mV", "tau_m": "15 ms"}])
def test_poisson_drive_within_tolerance_of_the_diffusion_approximation(params):
    """Rate in -> rate out: 1000 Poisson inputs of jump J against theory.fi(drive="poisson")
    (Siegert with the shot noise's mean and variance). Measured (seed 11), levels above 5 Hz:
    within 0.64 Hz / 1.1% dt-corrected and 1.0 Hz / 2.0% continuous over 0-225 Hz."""
    lif = br.load_model("lif").with_params(**params)
    rates = np.array([2, 5, 8, 11, 15, 20, 25]) * Hz
    sim = br.measure_fi(lif, rate=rates, drive="poisson", trials=20, duration=2 * second,
                        transient=200 * ms, seed=SEED, target="numpy", progress=False)  # fmt: skip
    corrected = th.fi(lif, rate=sim.x * Hz, drive="poisson", dt="0.1 ms").y
    continuous = th.fi(lif, rate=sim.x * Hz, drive="poisson").y
    assert sim.y.max() > 120 and sim.y[0] == 0  # silent to strongly driven
    err = np.abs(sim.y - corrected)
    assert np.all(err <= np.maximum(1.0, 0.03 * corrected)), (sim.y, corrected)
    assert np.all(np.abs(sim.y - continuous) <= np.maximum(1.5, 0.05 * continuous))


@pytest.mark.parametrize("dt", ["0.1 ms", "0.2 ms"])
def test_mean_driven_lif_up_to_400_hz(dt):
    """Far above threshold the membrane climbs (mu - V_th)*dt/tau_m per step and passes the threshold
    about half a step late: the dt-corrected prediction shifts the threshold by the random walk's
    expected overshoot (theory.expected_overshoot), not by the pure-diffusion 0.5826 step-stds.
    Measured (seed 11): within 0.44% (0.1 ms) and 0.79% (0.2 ms) up to 4 nA; the diffusion-only
    shift was 2.2% and 3.4% off, the continuous formula 2.0% and 5.1%."""
    lif = br.load_model("lif")
    current = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0]) * nA
    sim = measure(lif, current, "2 mV", dt=dt, trials=20, duration=2 * second)
    corrected = predict(lif, sim, "2 mV", dt=dt)
    continuous = predict(lif, sim, "2 mV")
    assert sim.y.min() > 120 and sim.y.max() > 380
    err = np.abs(sim.y / corrected - 1)
    assert np.all(err < 0.015), (sim.y, corrected)
    assert err.max() < 0.5 * np.abs(sim.y / continuous - 1).max()
