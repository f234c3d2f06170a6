"""The Siegert integral ``sqrt(pi) * int_{y_r}^{y_th} exp(u^2) (1 + erf(u)) du`` to full relative
accuracy in every regime (far below threshold, far above, vanishing noise), as ``S*exp(c)`` so that
rates down to 1e-300 Hz keep their digits. :func:`biorate.theory.siegert_rate` turns it into a rate.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx

__all__ = ["siegert_integral"]

# Trapezoid nodes per rate in the Siegert integral (log-spaced in z, see siegert_integral): the
# tests show < 1e-12 relative error against a 30-digit mpmath reference over the regimes that
# matter (N = 200 already gives ~1e-5 in the worst case).
_NODES = 400
_CHUNK = 2048  # rates integrated at once (memory: _CHUNK * _NODES floats per temporary)


def siegert_integral(y_th: np.ndarray, y_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    """The trapezoid rule in s = ln z of :func:`siegert_integral` (|y_th| <= 1e6)."""
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
