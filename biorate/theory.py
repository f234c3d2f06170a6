"""Analytic transfer curves: the leaky integrate-and-fire rate (noise-free closed form, Siegert formula
for white-noise drive, the exact noise-free rate of Brian2's Euler scheme, a dt-corrected noisy
prediction), the diffusion approximation of Poisson drive, and the Tsodyks-Markram release rate.

Model (DESIGN.md, ``models/neurons/lif.toml``)::

    dv/dt = (E_L - v + R_m*I)/tau_m + sigma*sqrt(2/tau_m)*xi,   spike when v > V_th, then
    v = V_reset for t_ref.

``mu = E_L + R_m*I`` is the potential the free membrane (no threshold) relaxes to and ``sigma`` its
stationary standard deviation. Brunel (2000) writes the same noise as ``sigma_B*sqrt(tau_m)*xi/tau_m``
with free-membrane standard deviation ``sigma_B/sqrt(2)``, so ``sigma_B = sqrt(2)*sigma`` here.

Everything below takes and returns SI floats (volts, seconds, amperes, hertz) and broadcasts NumPy
arrays; the model-level wrappers :func:`fi` and :func:`release` take Brian2 quantities or strings
with units and return a :class:`~biorate.curve.TransferCurve`. SciPy and NumPy only, never Brian2.

References: Siegert (1951) Phys. Rev. 81:617; Brunel (2000) J. Comput. Neurosci. 8:183-208,
doi:10.1023/A:1008925309027; Broadie, Glasserman & Kou (1997) Math. Finance 7:325-349,
doi:10.1111/1467-9965.00035; Siegmund (1985) Sequential Analysis, Springer; Chang & Peres
(1997) Ann. Probab. 25:787-802, doi:10.1214/aop/1024404419; Tsodyks & Markram (1997) PNAS 94:719-723,
doi:10.1073/pnas.94.2.719.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from scipy.special import erfcx, ndtr

from .curve import TransferCurve
from .errors import ModelError, ProtocolError
from .io import provenance
from .models import Model, load_model
from .units import CURRENT, FREQUENCY, TIME, VOLTAGE, to_si, to_si_array

__all__ = [
    "BGK_BETA",
    "expected_overshoot",
    "lif_rate",
    "lif_rate_closed_form",
    "lif_rate_euler",
    "siegert_rate",
    "refractory_steps",
    "poisson_diffusion",
    "tm_release_rate",
    "fi",
    "release",
]

# Broadie-Glasserman-Kou constant -zeta(1/2)/sqrt(2*pi): a Brownian path watched only every dt
# first exceeds a barrier as if the barrier were BGK_BETA * (std of one step's increment) higher.
BGK_BETA = 1.4603545088095868 / math.sqrt(2.0 * math.pi)  # = 0.58259715793901(08)

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_OVERSHOOT_HEAD = 255  # series terms n = 1..255 summed directly; the rest by Euler-Maclaurin
# second Taylor coefficient of the overshoot at zero drift, -zeta(-1/2)/(2 sqrt(2 pi))
_OVERSHOOT_M2 = 0.2078862250067735 / (2.0 * _SQRT_2PI)


def _normal_pdf(u: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * u * u) / _SQRT_2PI


def _overshoot_series(m: np.ndarray) -> np.ndarray:
    """The series form of :func:`expected_overshoot` for 1e-3 <= m <= 40, 1-D."""
    n0 = _OVERSHOOT_HEAD + 1
    root_n = np.sqrt(np.arange(1.0, n0))
    head = np.empty(m.shape)
    for a in range(0, m.size, 512):  # (512, 255) temporaries
        u = m[a : a + 512, None] * root_n
        head[a : a + 512] = ((_normal_pdf(u) - u * ndtr(-u)) / root_n).sum(axis=1)
    # tail sum_{n >= n0} f(n), f(n) = g(m sqrt(n))/sqrt(n), g(u) = phi(u) - u Phibar(u), g' = -Phibar:
    # int_{n0}^inf f + f(n0)/2 - f'(n0)/12, the integral (2/m) [(1 + u^2)/2 Phibar(u) - u phi(u)/2]
    u0 = m * math.sqrt(n0)
    g = _normal_pdf(u0) - u0 * ndtr(-u0)
    f = g / math.sqrt(n0)
    f_prime = -ndtr(-u0) * m / (2.0 * n0) - g / (2.0 * n0**1.5)
    integral = (2.0 / m) * (0.5 * (1.0 + u0**2) * ndtr(-u0) - 0.5 * u0 * _normal_pdf(u0))
    return (1.0 + m**2) / (2.0 * m) - head - (integral + f / 2.0 - f_prime / 12.0)


def expected_overshoot(drift: Any) -> np.ndarray:
    """Expected overshoot with which a Gaussian random walk first exceeds a distant level, in units
    of one step's standard deviation, for a per-step mean ``drift`` >= 0 in the same units.

    ``rho(m) = (1 + m**2)/(2m) - sum_{n>=1} [phi(m*sqrt(n)) - m*sqrt(n)*Phibar(m*sqrt(n))]/sqrt(n)``
    (Siegmund 1985; Chang & Peres 1997): ``rho(0) = BGK_BETA`` = 0.5826 (pure diffusion) and
    ``rho(m) -> m/2 + 1/(2m)`` as the drift dominates (the level is passed half a step late on
    average). Computed as: below m = 1e-3 the Taylor series ``BGK_BETA + m/4 + 0.041468 m**2``
    (its m**2 coefficient is -zeta(-1/2)/(2 sqrt(2 pi)); Chang & Peres 1997); above m = 40,
    ``m/2 + 1/(2m)`` (the sum is below 1e-300 there); in between the first 255 terms plus the tail
    integrated in closed form with Euler-Maclaurin corrections. Absolute error below 1e-11 (checked
    against a 30-digit mpmath sum in the tests); memory O(size) (chunked).
    """
    m = np.asarray(drift, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m < 0):
        raise ProtocolError("expected_overshoot needs a finite drift >= 0")
    flat = m.ravel()
    out = np.empty(flat.shape)
    small, large = flat < 1e-3, flat > 40.0
    mid = ~(small | large)
    out[small] = BGK_BETA + flat[small] / 4.0 + _OVERSHOOT_M2 * flat[small] ** 2
    out[large] = 0.5 * flat[large] + 0.5 / flat[large]
    if np.any(mid):
        out[mid] = _overshoot_series(flat[mid])
    return out.reshape(m.shape)


# Trapezoid nodes per rate in the Siegert integral (log-spaced in z, see _siegert_integral): the
# tests show < 1e-12 relative error against a 30-digit mpmath reference over the regimes that
# matter (N = 200 already gives ~1e-5 in the worst case).
_NODES = 400
_CHUNK = 2048  # rates integrated at once (memory: _CHUNK * _NODES floats per temporary)


# --- Siegert integral -----------------------------------------------------------------------------
def _siegert_integral(y_th: np.ndarray, y_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``I = sqrt(pi) * int_{y_r}^{y_th} exp(u^2) (1 + erf(u)) du`` as ``(S, c)`` with ``I = S*exp(c)``.

    ``y_th > y_r`` are 1-D arrays. The integrand ``exp(u^2) erfc(-u) = erfcx(-u)`` overflows for
    u > 26.6 and varies on scales from 1/|y_r| to 1 when the noise is small, so it is not integrated
    in u. Writing ``erfcx(-u) = (2/sqrt(pi)) int_0^inf exp(-z^2 + 2uz) dz`` and integrating over u
    first gives the one-sided form

        I = int_0^inf exp(-z^2) (exp(2 y_th z) - exp(2 y_r z)) dz / z,

    whose integrand, taken on s = ln z, is smooth, positive and decays exponentially at both ends
    (like z at z -> 0, like exp(-z^2) or exp(2 y_th z) at z -> inf). The trapezoid rule on such a
    function converges geometrically (Trefethen & Weideman 2014, SIAM Rev. 56:385), so one fixed
    number of nodes per rate works in every regime. Two details keep it finite and exact:

    - the difference of the two exponentials is written ``exp(-z^2 + 2 y_th z) * -expm1(-2 d z)``
      with ``d = y_th - y_r > 0`` (no cancellation when d is small);
    - for y_th > 0 (mean below threshold) the integrand peaks at z = y_th with value exp(y_th^2);
      it is scaled by ``exp(-c)``, ``c = y_th^2``, and the caller divides the rate by it in log
      space, so rates down to 1e-300 Hz come out with full relative accuracy.

    The s-interval is chosen per rate so that what lies outside is below 1e-14 of I: above, z up to
    y_th + 7 (Gaussian peak) or 40/|y_th| (exponential decay when y_th < 0); below, the integrand is
    about 2 d z, and z_lo = 1e-14 * (a lower bound of I) / (2 d); for y_th > 6.5 everything below
    y_th - 6.5 is under exp(-42) of the peak.
    """
    d = y_th - y_r
    with np.errstate(over="ignore"):  # c = inf (y_th > 1e154): the rate underflows to 0 anyway
        c = np.where(y_th > 0.0, y_th * y_th, 0.0)
    s_val = np.empty_like(d)
    # far below threshold (y_th > 1e6: sigma < ~1e-8 of the distance to threshold) the peak at
    # z = y_th is too narrow for a grid in ln z; there I = sqrt(pi) exp(y^2) (1 - exp(-2 y d)) / y
    # * (1 + 1/(2 y^2) + O(y^-4)) (the asymptotic series of Dawson's integral), exact in double
    far = y_th > 1e6
    yf = y_th[far]
    with np.errstate(over="ignore"):  # 2 y d = inf: expm1(-inf) = -1, as it should be
        s_val[far] = math.sqrt(math.pi) * -np.expm1(-2.0 * yf * d[far]) / yf * (1.0 + 0.5 / yf / yf)
    # far above threshold (y_th < -1e6) exp(-z^2) ~ 1 where the integrand lives (z ~ 1/|y|):
    # Frullani's integral ln(y_r/y_th) (the closed form's log ratio) minus 1/(4 y_th^2) - 1/(4 y_r^2)
    high = y_th < -1e6
    yh, yr = y_th[high], y_th[high] - d[high]
    s_val[high] = np.log1p(d[high] / -yh) - (0.25 / yh / yh - 0.25 / yr / yr)
    far |= high
    near = ~far
    if not np.any(near):
        return s_val, c
    s_near, _ = _siegert_trapezoid(y_th[near], d[near], c[near])
    s_val[near] = s_near
    return s_val, c


def _siegert_trapezoid(
    y_th: np.ndarray, d: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The trapezoid rule in s = ln z of :func:`_siegert_integral` (|y_th| <= 1e6)."""
    with np.errstate(divide="ignore"):
        z_hi = np.where(y_th > 0.0, y_th + 7.0, np.minimum(7.0, 40.0 / np.abs(y_th)))
    # lower bound of I: the last min(d, 1) of the u-interval, where erfcx(-u) (increasing in u) is
    # at least erfcx(-(y_th - m)); clipped at u = 6 (enough: the bound is only used below 6.5)
    m = np.minimum(d, 1.0)
    i_low = math.sqrt(math.pi) * m * erfcx(-np.minimum(y_th - m, 6.0))
    z_lo = 1e-14 * i_low / (2.0 * d)
    z_lo = np.where(y_th > 6.5, np.maximum(z_lo, y_th - 6.5), z_lo)
    z_lo = np.minimum(z_lo, 1e-2 * z_hi)
    s_lo, s_hi = np.log(z_lo), np.log(z_hi)
    h = (s_hi - s_lo) / (_NODES - 1)
    t = np.linspace(0.0, 1.0, _NODES)
    w = np.ones(_NODES)
    w[0] = w[-1] = 0.5
    s_val = np.empty_like(d)
    for a in range(0, d.size, _CHUNK):
        sl = slice(a, a + _CHUNK)
        z = np.exp(s_lo[sl, None] + (s_hi[sl] - s_lo[sl])[:, None] * t)
        yt = y_th[sl, None]
        # -z^2 + 2 y z - c, written -(z - y)^2 where c = y^2 (no cancellation of large terms)
        expo = np.where(yt > 0.0, -((z - yt) ** 2), -z * z + 2.0 * yt * z)
        g = np.exp(expo) * -np.expm1(-2.0 * d[sl, None] * z)
        s_val[sl] = (g @ w) * h[sl]
    return s_val, c


# --- rates ----------------------------------------------------------------------------------------
def _check_lif(tau_m: np.ndarray, V_th: np.ndarray, V_reset: np.ndarray, t_ref: np.ndarray) -> None:  # noqa: N803
    if np.any(~np.isfinite(tau_m)) or np.any(tau_m <= 0):
        raise ModelError("tau_m must be positive and finite")
    if np.any(~np.isfinite(t_ref)) or np.any(t_ref < 0):
        raise ModelError("t_ref must be non-negative and finite")
    if np.any(~np.isfinite(V_th)) or np.any(~np.isfinite(V_reset)):
        raise ModelError("V_th and V_reset must be finite")
    if np.any(V_reset >= V_th):
        raise ModelError("V_reset must lie below V_th")


def _check_mu_sigma(mu: np.ndarray, sigma: np.ndarray) -> None:
    if np.any(~np.isfinite(mu)):
        raise ProtocolError("mu (the free membrane potential) must be finite")
    if np.any(~np.isfinite(sigma)) or np.any(sigma < 0):
        raise ProtocolError("sigma must be non-negative and finite")


def lif_rate_closed_form(
    mu: Any,
    tau_m: Any,
    V_th: Any,
    V_reset: Any,
    t_ref: Any,  # noqa: N803
) -> np.ndarray:
    """Noise-free LIF rate in Hz: 0 for ``mu <= V_th``, else
    ``1 / (t_ref + tau_m * ln((mu - V_reset) / (mu - V_th)))``. SI inputs, broadcast."""
    mu, tau_m, V_th, V_reset, t_ref = np.broadcast_arrays(  # noqa: N806
        *(np.asarray(a, dtype=float) for a in (mu, tau_m, V_th, V_reset, t_ref))
    )
    out = np.zeros(mu.shape)
    above = mu > V_th
    # ln((mu - V_r)/(mu - V_th)) = log1p((V_th - V_r)/(mu - V_th)): exact also far above threshold
    log_ratio = np.log1p((V_th[above] - V_reset[above]) / (mu[above] - V_th[above]))
    out[above] = 1.0 / (t_ref[above] + tau_m[above] * log_ratio)
    return out


def siegert_rate(
    mu: Any,
    sigma: Any,
    tau_m: Any,
    V_th: Any,
    V_reset: Any,
    t_ref: Any,  # noqa: N803
) -> np.ndarray:
    """Siegert rate (Hz) of the white-noise-driven LIF, ``sigma > 0`` (free-membrane std, volts):

        1/rate = t_ref + tau_m * sqrt(pi) * int_{y_r}^{y_th} exp(u^2) (1 + erf(u)) du,
        y_th = (V_th - mu)/sigma_B,  y_r = (V_reset - mu)/sigma_B,  sigma_B = sqrt(2)*sigma

    (Brunel 2000, eq. 21, whose sigma is ``sigma_B``). Relative accuracy ~1e-12 in every regime,
    including far below threshold (rates down to ~1e-300 Hz) and sigma -> 0 (where it tends to
    :func:`lif_rate_closed_form`); rates below ~1e-308 Hz underflow to 0. SI inputs, broadcast.
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (mu, sigma, tau_m, V_th, V_reset, t_ref))
    )
    mu, sigma, tau_m, V_th, V_reset, t_ref = (a.ravel() for a in arrays)  # noqa: N806
    shape = arrays[0].shape
    if np.any(sigma <= 0):
        raise ProtocolError("siegert_rate needs sigma > 0 (use lif_rate for sigma = 0)")
    sigma_b = math.sqrt(2.0) * sigma
    with np.errstate(over="ignore"):
        y_th = (V_th - mu) / sigma_b
        y_r = (V_reset - mu) / sigma_b
    out = np.empty(mu.shape)
    finite = np.isfinite(y_th) & np.isfinite(y_r)
    # sigma so small (< ~1e-300 of the distances) that y overflows: the limit is the closed form
    out[~finite] = lif_rate_closed_form(
        mu[~finite], tau_m[~finite], V_th[~finite], V_reset[~finite], t_ref[~finite]
    )
    if np.any(finite):
        s_val, c = _siegert_integral(y_th[finite], y_r[finite])
        # 1/rate = t_ref + tau_m * S * exp(c)  =>  rate = exp(-c) / (t_ref*exp(-c) + tau_m*S)
        e = np.exp(-c)
        out[finite] = e / (t_ref[finite] * e + tau_m[finite] * s_val)
    return out.reshape(shape)


def refractory_steps(t_ref: Any, dt: float) -> Any:
    """Time steps for which Brian2 (2.1.3 and later) holds a neuron's state after a spike.

    Brian2's state updater runs ``not_refractory = timestep(t - lastspike, dt) >= timestep(t_ref,
    dt)`` before integrating, with ``timestep(t, dt) = int((t + 1e-3*dt)/dt)``, and the spike of
    step n (its ``lastspike = t_n``) is found on the state already advanced to ``t_n + dt``. So the
    updates of steps n+1 ... n+k-1 are skipped, k = timestep(t_ref, dt): 19 steps for t_ref = 2 ms
    at dt = 0.1 ms, not 20. (Checked against a Brian2 2.9 simulation: noise-free, the inter-spike
    interval is exactly ``refractory_steps + K`` steps, K the Euler steps from V_reset to V_th.)
    """
    # the same float64 operations as brian2.core.functions.timestep, then truncation to int64
    k = np.asarray((np.asarray(t_ref, dtype=float) + 1e-3 * dt) / dt).astype(np.int64)
    held = np.maximum(k - 1, 0)
    return int(held) if held.ndim == 0 else held


def lif_rate_euler(
    mu: Any,
    tau_m: Any,
    V_th: Any,
    V_reset: Any,
    t_ref: Any,
    dt: float,  # noqa: N803
) -> np.ndarray:
    """Exact noise-free rate (Hz) of the LIF integrated like Brian2 does: forward Euler at step dt,
    ``v[k+1] = v[k] + dt*(mu - v[k])/tau_m`` from ``v[0] = V_reset``, a spike at the first K with
    ``v[K] > V_th``, then :func:`refractory_steps` held steps: rate = 1 / ((K + held) * dt).

    ``v[k] - mu = (V_reset - mu) * (1 - dt/tau_m)**k``, so K = floor(x) + 1 with
    ``x = ln((mu - V_reset)/(mu - V_th)) / -ln(1 - dt/tau_m)``. (Where x is within rounding of an
    integer, Brian2's floating-point iteration may take one step more or less.) Needs dt < tau_m.
    """
    mu, tau_m, V_th, V_reset, t_ref = np.broadcast_arrays(  # noqa: N806
        *(np.asarray(a, dtype=float) for a in (mu, tau_m, V_th, V_reset, t_ref))
    )
    if np.any(dt >= tau_m):
        raise ProtocolError(f"dt = {dt} s must be shorter than tau_m for the Euler scheme")
    out = np.zeros(mu.shape)
    above = mu > V_th
    log_ratio = np.log1p((V_th[above] - V_reset[above]) / (mu[above] - V_th[above]))
    x = log_ratio / -np.log1p(-dt / tau_m[above])
    k = np.floor(x) + 1.0
    out[above] = 1.0 / ((k + refractory_steps(t_ref[above], dt)) * dt)
    return out


def lif_rate(
    mu: Any,
    sigma: Any,
    tau_m: Any,
    V_th: Any,  # noqa: N803
    V_reset: Any,  # noqa: N803
    t_ref: Any,
    *,
    dt: float | None = None,
) -> np.ndarray:
    """Stationary firing rate (Hz) of the LIF of DESIGN.md, vectorized.

    Parameters (SI floats or arrays, broadcast together)
    ----------
    mu : volts, ``E_L + R_m*I``: the asymptotic free membrane potential.
    sigma : volts, free-membrane standard deviation of the white noise (0: noise-free).
        NB Brunel (2000) and most Siegert-formula texts use ``sigma_B = sqrt(2)*sigma``.
    tau_m, t_ref : seconds. V_th, V_reset : volts.
    dt : seconds or None. None: continuous time (closed form for sigma = 0, Siegert formula for
        sigma > 0). A step: the prediction for Brian2's Euler integration at that step: slower
        near threshold, where crossings seen late dominate; faster far above, where the refractory
        period is one step short and the Euler leak's time constant shorter. sigma = 0: exact
        (:func:`lif_rate_euler`). sigma > 0: Euler-Maruyama's
        ``v[k+1] = v[k] + a*(mu - v[k]) + sigma*sqrt(2a)*N(0, 1)``, ``a = dt/tau_m``, is exactly an
        Ornstein-Uhlenbeck process with ``tau_e = -dt/ln(1 - a)`` and free-membrane std
        ``sigma_e = sigma/sqrt(1 - a/2)``, watched only every dt. So the prediction is the Siegert
        formula for (tau_e, sigma_e) with

        - the threshold raised by the expected overshoot of the walk beyond it,
          ``s * expected_overshoot(m/s)``, where ``s = sigma*sqrt(2a)`` is one step's noise and
          ``m = max(mu - V_th, 0)*a`` the drift per step at the threshold: 0.5826*s where noise
          carries the potential across (Broadie, Glasserman & Kou 1997), about m/2 (half a step
          late) where the mean drive does;
        - the refractory period Brian2 actually holds, :func:`refractory_steps` * dt (1.9 ms for
          2 ms at 0.1 ms).

        Checked against Brian2 2.9 (20-50 trials x 2 s per level; mean / largest relative error
        over levels above 5 Hz): dt = 0.1 ms, sigma 1-2 mV, 0.14-0.45 nA: within 0.2% / 1.6%
        (continuous formula -1.2% / 3.8%); 0.3-4 nA (up to 400 Hz): within 0.1% / 1.0%
        (continuous +1.1% / 2.0%); dt = 0.2 ms, 0.3-4 nA: +0.2% / 0.8% (continuous +2.5% / 5.1%);
        t_ref = 0, sigma = 4 mV, dt = 0.5 ms: +0.25% / 1.8% (continuous -6.5% / 7.6%); at the
        coarse dt = 0.5 ms, 0.2-2 nA: -1.0% / 3.5% (continuous +1.9% / 6.6%). The threshold shift
        alone (0.5826*s, no drift term, tau_m and sigma unchanged) was 2-3.4% off above 1 nA.

    Returns
    -------
    rate : ndarray of the broadcast shape, Hz.
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (mu, sigma, tau_m, V_th, V_reset, t_ref))
    )
    mu, sigma, tau_m, V_th, V_reset, t_ref = arrays  # noqa: N806
    _check_mu_sigma(mu, sigma)
    _check_lif(tau_m, V_th, V_reset, t_ref)
    if dt is not None:
        dt = float(dt)
        if not math.isfinite(dt) or dt <= 0:
            raise ProtocolError(f"dt must be positive and finite, got {dt}")
        if np.any(dt >= tau_m):
            raise ProtocolError(f"dt = {dt} s must be shorter than tau_m for the Euler scheme")
    out = np.empty(mu.shape)
    quiet = sigma == 0
    noisy = ~quiet
    if dt is None:
        out[quiet] = lif_rate_closed_form(mu[quiet], tau_m[quiet], V_th[quiet], V_reset[quiet],
                                          t_ref[quiet])  # fmt: skip
        out[noisy] = siegert_rate(mu[noisy], sigma[noisy], tau_m[noisy], V_th[noisy],
                                  V_reset[noisy], t_ref[noisy])  # fmt: skip
        return out
    out[quiet] = lif_rate_euler(mu[quiet], tau_m[quiet], V_th[quiet], V_reset[quiet],
                                t_ref[quiet], dt)  # fmt: skip
    if np.any(noisy):
        a = dt / tau_m[noisy]
        tau_e = -dt / np.log1p(-a)  # the OU process the Euler chain samples exactly
        sigma_e = sigma[noisy] / np.sqrt(1.0 - a / 2.0)
        step_std = sigma[noisy] * np.sqrt(2.0 * a)
        step_drift = np.maximum(mu[noisy] - V_th[noisy], 0.0) * a  # at the threshold
        theta = V_th[noisy] + step_std * expected_overshoot(step_drift / step_std)
        held = refractory_steps(t_ref[noisy], dt)
        out[noisy] = siegert_rate(mu[noisy], sigma_e, tau_e, theta, V_reset[noisy], held * dt)
    return out


# --- Poisson drive ----------------------------------------------------------------------------------
def poisson_diffusion(
    rate: Any, J: Any, n_inputs: Any, tau_m: Any
) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """Diffusion approximation of ``n_inputs`` Poisson trains at ``rate`` (Hz) each adding ``J``
    (volts) to v: returns ``(mu_shift, sigma)`` in volts, the shift of the free membrane potential
    ``J*n_inputs*rate*tau_m`` and the free-membrane standard deviation
    ``sqrt(J**2*n_inputs*rate*tau_m/2)`` (Campbell's theorem for exponentially decaying jumps).
    Combine with white noise as ``sqrt(sigma_white**2 + sigma**2)``. Valid for |J| << V_th - V_reset.
    """
    rate, J, n_inputs, tau_m = np.broadcast_arrays(  # noqa: N806
        *(np.asarray(a, dtype=float) for a in (rate, J, n_inputs, tau_m))
    )
    if np.any(~np.isfinite(rate)) or np.any(rate < 0):
        raise ProtocolError("input rates must be non-negative and finite")
    if np.any(n_inputs < 0):
        raise ModelError("n_inputs must not be negative")
    lam = n_inputs * rate * tau_m  # expected number of inputs within one membrane time constant
    return J * lam, np.sqrt(J * J * lam / 2.0)


# the jump of one Poisson input is a model parameter, optionally zero while refractory:
# weight "J", "-J_i", "J*int(not_refractory)" with target "v" (or on_pre "v += J*int(...)")
_WEIGHT = r"([+-]?)\s*([A-Za-z_]\w*)\s*(?:\*\s*int\s*\(\s*not_refractory\s*\)\s*)?"
_ON_PRE = re.compile(r"^\s*v\s*([+-])=\s*" + _WEIGHT + r";?\s*$")
_WEIGHT_RE = re.compile(r"^\s*" + _WEIGHT + r"$")


def _poisson_inputs(model: Model) -> list[tuple[float, float]]:
    """``[(J in volts, n_inputs), ...]`` from the model's ``[[drive.poisson]]`` tables, each either
    ``target = "v"`` with ``weight = "J*int(not_refractory)"`` or ``on_pre = "v += J"``."""
    specs = model.section("drive").get("poisson")
    if not specs:
        raise ModelError(f"model {model.name!r} defines no [[drive.poisson]] inputs")
    out = []
    for spec in specs:
        label = f"model {model.name!r}: poisson input {spec.get('name', '?')!r}"
        if "on_pre" in spec:
            m = _ON_PRE.match(str(spec["on_pre"]))
            sign = (
                (-1.0 if m.group(1) == "-" else 1.0) * (-1.0 if m.group(2) == "-" else 1.0)
                if m
                else 1.0
            )
            name = m.group(3) if m else None
        else:
            m = _WEIGHT_RE.match(str(spec.get("weight", ""))) if spec.get("target") == "v" else None
            sign = -1.0 if (m and m.group(1) == "-") else 1.0
            name = m.group(2) if m else None
        if name is None:
            raise ModelError(
                f"{label}: the diffusion approximation needs a jump of v by one voltage parameter "
                f"(target 'v', weight 'J' or 'J*int(not_refractory)')"
            )
        p = model.param(name)
        if p.dim != VOLTAGE:
            raise ModelError(f"{label}: jump {name!r} is not a voltage")
        n = float(spec.get("n_inputs", 1)) * float(spec.get("rate_scale", 1.0))
        out.append((sign * p.value, n))
    return out


# --- release ----------------------------------------------------------------------------------------
def tm_release_rate(nu: Any, U: Any, tau_rec: Any) -> np.ndarray:  # noqa: N803
    """Tsodyks-Markram (1997) steady state for Poisson (or regular) presynaptic spikes at ``nu`` (Hz):
    the fraction of the vesicle pool released per second, ``U*nu / (1 + U*nu*tau_rec)`` (1/s).

    Each spike releases U*x of the available fraction x, which recovers as dx/dt = (1 - x)/tau_rec;
    the mean available fraction is 1/(1 + U*nu*tau_rec) (exact in the mean for Poisson input).
    ``U`` dimensionless in (0, 1], ``tau_rec`` seconds; broadcast.
    """
    nu, U, tau_rec = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (nu, U, tau_rec)))  # noqa: N806
    if np.any(~np.isfinite(nu)) or np.any(nu < 0):
        raise ProtocolError("presynaptic rates must be non-negative and finite")
    if np.any(~(U > 0)) or np.any(U > 1):
        raise ModelError("U must lie in (0, 1]")
    if np.any(~np.isfinite(tau_rec)) or np.any(tau_rec < 0):
        raise ModelError("tau_rec must be non-negative and finite")
    return U * nu / (1.0 + U * nu * tau_rec)


# --- model-level wrappers -------------------------------------------------------------------------
DRIVES = ("current", "poisson")


def _model(model: Model | str, kind: str) -> Model:
    m = load_model(model, kind=kind) if isinstance(model, str) else model
    if not isinstance(m, Model):
        raise ModelError(f"expected a model or a model name, got {model!r}")
    if m.kind != kind:
        raise ModelError(f"model {m.name!r} is a {m.kind} model, expected a {kind} model")
    return m


def fi(
    model: Model | str,
    current: Any = None,
    sigma: Any = 0,
    *,
    rate: Any = None,
    drive: str = "current",
    bias: Any = 0,
    dt: Any = None,
    command: str | None = None,
) -> TransferCurve:
    """Predicted f-I curve (or rate-in -> rate-out curve) of a model with ``theory = "lif"``.

    Parameters
    ----------
    model : Model or model name (``"lif"``).
    current : amperes, shape (n,): Brian2 quantity array, list of strings (``["0.1 nA", ...]``) or
        range ``"0nA:0.5nA:51"``; the x axis for ``drive="current"``.
    sigma : volts, free-membrane standard deviation of the white noise (``2*mV``, ``"2 mV"``).
    rate : hertz, shape (n,): each Poisson input's rate, the x axis for ``drive="poisson"``
        (inputs from the model's ``[[drive.poisson]]`` tables, diffusion approximation).
    drive : ``"current"`` or ``"poisson"`` (as in :func:`biorate.measure_fi`).
    bias : amperes, a constant current added with ``drive="poisson"``.
    dt : seconds or None: None for continuous time, a step for the prediction of Brian2's Euler
        integration at that step (see :func:`lif_rate`).

    Returns
    -------
    TransferCurve, measure "fi", x in A (current) or Hz (poisson), y in Hz, y_sem None; protocol
    ``{"method": "siegert" | "closed_form" | "euler_exact", "sigma_V", "dt_s", "drive", ...}``.
    """
    model = _model(model, "neuron")
    if model.theory != "lif":
        raise ModelError(f"no analytic theory for model {model.name!r}")
    if drive not in DRIVES:
        raise ProtocolError(f"drive must be one of {', '.join(DRIVES)}, got {drive!r}")
    sigma_v = to_si(sigma, VOLTAGE, "sigma")
    if sigma_v < 0:
        raise ProtocolError(f"sigma must not be negative, got {sigma}")
    dt_s = None if dt is None else to_si(dt, TIME, "dt")
    if dt_s is not None and dt_s <= 0:
        raise ProtocolError(f"dt must be positive, got {dt}")
    if dt_s is not None:
        model.check_dt(dt_s)
    bias_a = to_si(bias, CURRENT, "bias")
    tau_m, r_m, e_l = model["tau_m"], model["R_m"], model["E_L"]
    if drive == "current":
        if current is None or rate is not None:
            raise ProtocolError("drive='current' takes current=..., not rate=...")
        x = to_si_array(current, CURRENT, "current")
        mu = e_l + r_m * x
        sig = np.full(x.shape, sigma_v)
        x_unit = "A"
    else:
        if rate is None or current is not None:
            raise ProtocolError("drive='poisson' takes rate=..., not current=...")
        x = to_si_array(rate, FREQUENCY, "rate")
        if np.any(x < 0):
            raise ProtocolError("rate must not be negative")
        mu = np.full(x.shape, e_l + r_m * bias_a)
        var = np.full(x.shape, sigma_v**2)
        for jump, n_inputs in _poisson_inputs(model):
            shift, s = poisson_diffusion(x, jump, n_inputs, tau_m)
            mu, var = mu + shift, var + s * s
        sig = np.sqrt(var)
        x_unit = "Hz"
    y = lif_rate(mu, sig, tau_m, model["V_th"], model["V_reset"], model["t_ref"], dt=dt_s)
    if np.any(sig > 0):
        method = "siegert"
    else:
        method = "closed_form" if dt_s is None else "euler_exact"
    protocol: dict[str, Any] = {"method": method, "sigma_V": sigma_v, "dt_s": dt_s, "drive": drive}
    if drive == "poisson":
        protocol["bias_A"] = bias_a
    if dt_s is not None:
        protocol["refractory_steps"] = refractory_steps(model["t_ref"], dt_s)
        if method == "siegert":
            protocol["dt_correction"] = (
                "Euler chain as OU (tau_e, sigma_e); threshold + step std * expected_overshoot; "
                "refractory refractory_steps*dt"
            )
    return TransferCurve(measure="fi", x=x, y=y, x_unit=x_unit, y_unit="Hz", y_sem=None,
                         model=model.describe(), protocol=protocol,
                         provenance=provenance(command))  # fmt: skip


def release(model: Model | str, rate: Any, *, command: str | None = None) -> TransferCurve:
    """Tsodyks-Markram steady-state release-rate curve of a synapse model with parameters ``U``
    (dimensionless) and ``tau_rec`` (seconds), e.g. ``models/synapses/tm_release.toml``.

    ``rate`` : hertz, shape (n,) (quantity array, strings, or ``"1Hz:100Hz:20"``). Returns a
    TransferCurve, measure "release", x in Hz, y the fraction of the pool released per second (1/s).
    """
    model = _model(model, "synapse")
    if "U" not in model.params or "tau_rec" not in model.params:
        raise ModelError(
            f"no Tsodyks-Markram theory for model {model.name!r} (needs U and tau_rec)"
        )
    x = to_si_array(rate, FREQUENCY, "rate")
    if np.any(x < 0):
        raise ProtocolError("rate must not be negative")
    y = tm_release_rate(x, model["U"], model["tau_rec"])
    return TransferCurve(measure="release", x=x, y=y, x_unit="Hz", y_unit="1/s", y_sem=None,
                         model=model.describe(), protocol={"method": "tsodyks_markram"},
                         provenance=provenance(command))  # fmt: skip
