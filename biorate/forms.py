"""Curve forms: the functions a transfer curve is fitted with.

Each form is a plain function whose signature names its parameters (``sigmoid(x, x_half, width,
r_max, r0)``, as in lmfit / ``scipy.optimize.curve_fit``), registered in :data:`FORMS` as a
:class:`Form` that adds, side by side, everything fitting and the network need:

- ``f(x, *p)``: the curve, ``x`` shape (n,) in the curve's x unit (SI), ``y`` in its y unit;
- ``dfdx(x, *p)``: the analytic derivative with respect to x (what backpropagation uses);
- ``jac(x, *p)``: the Jacobian with respect to the parameters, shape (n, k) (what ``curve_fit`` uses);
- ``guess(x, y)``: starting values from the data (``curve_fit`` would otherwise start at 1);
- ``bounds(x, y)``: parameter bounds scaled to the data;
- ``canonical(p, x)``: ``(x_offset, x_scale, y_scale)`` that turn the fitted curve into a well-scaled
  unit-free activation ``g(z) = (f(x_offset + x_scale*z) - r0) / y_scale`` (see
  :mod:`biorate.activation`).

Every form is ``f = r0 + h(x)``; ``h`` (the part above the baseline ``r0``) is computed directly so
that ``f - r0`` never loses precision to cancellation. All forms are written to be numerically
stable for any finite input: exponentials are taken of non-positive arguments only, clipped so that
they never underflow (no floating-point warnings even under ``np.errstate(all="raise")``).

Parameter names and units (``x`` = the curve's x unit, ``y`` = its y unit):

=================  ======================================================  =======================
form               equation                                                parameters
=================  ======================================================  =======================
sigmoid            r0 + r_max / (1 + exp(-(x - x_half)/width))             x_half, width [x];
                                                                           r_max, r0 [y]
tanh               r0 + r_max * 0.5 * (1 + tanh((x - x_half)/width))       as sigmoid
erf                r0 + r_max * 0.5 * (1 + erf((x - x_half)/width))        as sigmoid
hill               r0 + r_max * x^n / (x^n + x_half^n)   (x > 0; else r0)  x_half [x]; n [1];
                   (Naka & Rushton 1966, doi:10.1113/jphysiol.1966.sp007992)  r_max, r0 [y]
softplus           r0 + gain * width * log(1 + exp((x - x_th)/width))      x_th, width [x];
                                                                           gain [y/x]; r0 [y]
threshold_linear   r0 + gain * max(0, x - x_th)                            x_th [x]; gain [y/x];
                                                                           r0 [y]
lif                r0 + 1/(t_ref + tau*ln(1 + c/(x - x_th)))  (x > x_th;   x_th, c [x];
                   else r0): the noise-free leaky integrate-and-fire rate  tau, t_ref [1/y];
                   (Lapicque 1907; Burkitt 2006,                           r0 [y]
                   doi:10.1007/s00422-006-0068-6)
soft_lif           lif with x - x_th replaced by                           as lif; gamma [x]
                   gamma*ln(1 + exp((x - x_th)/gamma)) (Hunsberger &
                   Eliasmith 2015, arXiv:1510.08829)
=================  ======================================================  =======================

For the LIF of ``models/neurons/lif.toml`` driven by a current, ``lif`` is exact with x_th =
(V_th - E_L)/R_m (the rheobase), c = (V_th - V_reset)/R_m, tau = tau_m and t_ref the refractory
period (for a rate in Hz, tau and t_ref are in seconds). Both LIF forms saturate at r0 + 1/t_ref.
``soft_lif``'s gamma is the width over which noise (or any smoothing) rounds the threshold off; it is
how a noisy LIF's curve, which fires a little below rheobase, is followed with the same parameters.
Their ``tau`` is the time scale of the logarithm, a fitted number: it equals the membrane time
constant tau_m only for ``lif`` on a noise-free current-driven LIF. On a noisy curve it trades off
against c and gamma and lands far from tau_m (a soft_lif fit gave 0.103 s on a 20 ms neuron), so
reports and figures label soft_lif's as ``tau (effective, not tau_m)``
(:meth:`Form.label`, :meth:`Form.describe`); the name in files stays ``tau`` (schema 1).
``fit(..., "auto")`` tries the two LIF forms on firing-rate curves (``measure "fi"``) only: on a
release curve their tau and t_ref would be numbers without a meaning (name them to fit them anyway).

SciPy is needed only by the ``erf`` form (``scipy.special.erf``), imported when it is first used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .errors import FitError

__all__ = [
    "Form",
    "FORMS",
    "get_form",
    "logistic",
    "logistic_prime",
    "softplus_unit",
    "sigmoid",
    "tanh",
    "erf",
    "hill",
    "softplus",
    "threshold_linear",
    "lif",
    "soft_lif",
]

# exp(-600) = 2.6e-261: far above the smallest normal double (2.2e-308), so that exp(-a), and its
# product with any rate or 1/width a curve can have, never underflows (which would raise under
# np.errstate(all="raise")); anything smaller than 1e-261 is zero for every purpose here.
_EXP_CLIP = 600.0
_LN3 = float(np.log(3.0))


def _exp_neg(a: np.ndarray) -> np.ndarray:
    """exp(-a) for a >= 0, clipped so that it never underflows."""
    return np.exp(-np.minimum(a, _EXP_CLIP))


def logistic(u: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-u)), stable for any finite u (only exp of -|u| is taken)."""
    u = np.asarray(u, dtype=float)
    e = _exp_neg(np.abs(u))
    return np.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_prime(u: np.ndarray) -> np.ndarray:
    """d logistic / du = logistic(u) * (1 - logistic(u)) = e / (1 + e)^2 with e = exp(-|u|)."""
    e = _exp_neg(np.abs(np.asarray(u, dtype=float)))
    return e / (1.0 + e) ** 2


def softplus_unit(u: np.ndarray) -> np.ndarray:
    """log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)), stable for any finite u."""
    u = np.asarray(u, dtype=float)
    return np.maximum(u, 0.0) + np.log1p(_exp_neg(np.abs(u)))


def _erf(u: np.ndarray) -> np.ndarray:
    from scipy.special import erf as _scipy_erf

    # erf(±6) = ±1 to double precision; clipping keeps scipy's internal exp(-u^2) from underflowing
    return _scipy_erf(np.clip(u, -6.0, 6.0))


def _erfc(u: np.ndarray) -> np.ndarray:
    from scipy.special import erfc as _scipy_erfc

    # erfc(25) = 8e-274 (still a normal double), erfc(-25) = 2: the clip changes nothing visible
    return _scipy_erfc(np.clip(u, -25.0, 25.0))


def _gauss(u: np.ndarray) -> np.ndarray:
    """exp(-u^2), clipped so that it never underflows."""
    return _exp_neg(np.square(np.minimum(np.abs(u), 30.0)))  # 30^2 > _EXP_CLIP: same result


# --- the forms as plain functions -------------------------------------------------------------
# Each has the excess h = f - r0 (prefix _h_), its x-derivative (_d_) and its parameter Jacobian
# (_j_, columns in the order of the signature).


def sigmoid(x, x_half, width, r_max, r0):
    """Logistic curve: r0 + r_max / (1 + exp(-(x - x_half)/width))."""
    return r0 + _h_sigmoid(x, x_half, width, r_max)


def _h_sigmoid(x, x_half, width, r_max):
    return r_max * logistic((np.asarray(x, dtype=float) - x_half) / width)


def _d_sigmoid(x, x_half, width, r_max, r0=0.0):
    return r_max / width * logistic_prime((np.asarray(x, dtype=float) - x_half) / width)


def _j_sigmoid(x, x_half, width, r_max, r0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    dp = logistic_prime(u)
    return np.column_stack(
        [-r_max * dp / width, -r_max * dp * u / width, logistic(u), np.ones_like(u)]
    )


def tanh(x, x_half, width, r_max, r0):
    """Hyperbolic-tangent curve: r0 + r_max * 0.5 * (1 + tanh((x - x_half)/width)).

    The same family as :func:`sigmoid` with twice the width (0.5*(1 + tanh(u)) = logistic(2u)),
    which is also how it is computed: 1 + tanh(u) would cancel for u << 0.
    """
    return r0 + _h_tanh(x, x_half, width, r_max)


def _h_tanh(x, x_half, width, r_max):
    return r_max * logistic(2.0 * (np.asarray(x, dtype=float) - x_half) / width)


def _d_tanh(x, x_half, width, r_max, r0=0.0):
    return 2.0 * r_max / width * logistic_prime(2.0 * (np.asarray(x, dtype=float) - x_half) / width)


def _j_tanh(x, x_half, width, r_max, r0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    dp = logistic_prime(2.0 * u)
    return np.column_stack(
        [-2.0 * r_max * dp / width, -2.0 * r_max * dp * u / width, logistic(2.0 * u),
         np.ones_like(u)]
    )  # fmt: skip


def erf(x, x_half, width, r_max, r0):
    """Error-function (Gaussian cumulative) curve: r0 + r_max * 0.5 * (1 + erf((x - x_half)/width)).

    Computed as r_max * 0.5 * erfc(-(x - x_half)/width), which does not cancel for x << x_half.
    """
    return r0 + _h_erf(x, x_half, width, r_max)


def _h_erf(x, x_half, width, r_max):
    return r_max * 0.5 * _erfc(-(np.asarray(x, dtype=float) - x_half) / width)


def _d_erf(x, x_half, width, r_max, r0=0.0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    return r_max / (width * np.sqrt(np.pi)) * _gauss(u)


def _j_erf(x, x_half, width, r_max, r0):
    u = (np.asarray(x, dtype=float) - x_half) / width
    dh_du = r_max / np.sqrt(np.pi) * _gauss(u)
    return np.column_stack([-dh_du / width, -dh_du * u / width, 0.5 * _erfc(-u), np.ones_like(u)])


def _hill_v(x, x_half, n):
    """(v, positive) with v = n*log(x/x_half) where x > 0; x^n/(x^n + x_half^n) = logistic(v)."""
    x = np.asarray(x, dtype=float)
    pos = x > 0
    # log of a safe positive stand-in where x <= 0, so that no log(0) warning is raised
    v = n * np.log(np.where(pos, x, x_half) / x_half)
    return v, pos


def hill(x, x_half, n, r_max, r0):
    """Hill / Naka-Rushton curve: r0 + r_max * x^n / (x^n + x_half^n) for x > 0, r0 for x <= 0.

    Computed as r0 + r_max * logistic(n * log(x / x_half)), which neither overflows for large x
    nor for large n.
    """
    return r0 + _h_hill(x, x_half, n, r_max)


def _h_hill(x, x_half, n, r_max):
    v, pos = _hill_v(x, x_half, n)
    return np.where(pos, r_max * logistic(v), 0.0)


def _d_hill(x, x_half, n, r_max, r0=0.0):
    v, pos = _hill_v(x, x_half, n)
    x = np.asarray(x, dtype=float)
    # d/dx logistic(n log(x/c)) = logistic'(v) * n / x, evaluated in log space: logistic'(v) alone
    # may be tiny (x >> c) or x tiny (x << c), and their ratio must neither underflow nor overflow
    a = np.abs(v)
    log_lp = -a - 2.0 * np.log1p(_exp_neg(a))  # log(e / (1 + e)^2), e = exp(-|v|)
    expo = np.clip(log_lp - np.log(np.where(pos, x, 1.0)), -_EXP_CLIP, _EXP_CLIP)
    return np.where(pos, r_max * n * np.exp(expo), 0.0)


def _j_hill(x, x_half, n, r_max, r0):
    v, pos = _hill_v(x, x_half, n)
    dp = np.where(pos, logistic_prime(v), 0.0)
    log_ratio = np.where(pos, v / n, 0.0)
    return np.column_stack(
        [-r_max * dp * n / x_half, r_max * dp * log_ratio, np.where(pos, logistic(v), 0.0),
         np.ones_like(v)]
    )  # fmt: skip


def softplus(x, x_th, width, gain, r0):
    """Smoothed threshold-linear curve: r0 + gain * width * log(1 + exp((x - x_th)/width)).

    Far above ``x_th`` it is the line r0 + gain*(x - x_th); ``width`` is how sharply it bends.
    """
    return r0 + _h_softplus(x, x_th, width, gain)


def _h_softplus(x, x_th, width, gain):
    return gain * width * softplus_unit((np.asarray(x, dtype=float) - x_th) / width)


def _d_softplus(x, x_th, width, gain, r0=0.0):
    return gain * logistic((np.asarray(x, dtype=float) - x_th) / width)


def _j_softplus(x, x_th, width, gain, r0):
    u = (np.asarray(x, dtype=float) - x_th) / width
    s, sp = logistic(u), softplus_unit(u)
    return np.column_stack([-gain * s, gain * (sp - u * s), width * sp, np.ones_like(u)])


def threshold_linear(x, x_th, gain, r0):
    """Threshold-linear (rectified linear) curve: r0 + gain * max(0, x - x_th)."""
    return r0 + _h_threshold_linear(x, x_th, gain)


def _h_threshold_linear(x, x_th, gain):
    return gain * np.maximum(np.asarray(x, dtype=float) - x_th, 0.0)


def _d_threshold_linear(x, x_th, gain, r0=0.0):
    # the kink at x == x_th gets slope 0 (the one-sided derivative from below), like relu
    return np.where(np.asarray(x, dtype=float) > x_th, gain, 0.0)


def _j_threshold_linear(x, x_th, gain, r0):
    x = np.asarray(x, dtype=float)
    above = x > x_th
    return np.column_stack(
        [np.where(above, -gain, 0.0), np.maximum(x - x_th, 0.0), np.ones_like(x)]
    )


# --- LIF-shaped forms -------------------------------------------------------------------------
# The noise-free LIF rate above rheobase is 1/(t_ref + tau*L) with L = ln(1 + c/u), u = x - x_th.
# Everything is computed from ell = ln(u/c): L = ln(1 + exp(-ell)) = softplus_unit(-ell), which is
# exact for every u > 0 (u -> 0+: L = -ell grows like ln(c/u) without c/u ever overflowing;
# u >> c: L = c/u without cancellation). The x-derivative is infinite at threshold for ``lif``
# (slope ~ 1/(u ln^2(c/u))), so derivatives are assembled as logarithms and exponentiated once,
# clipped to [-_EXP_CLIP, _EXP_CLIP] as for ``hill``: no term on its own may overflow or underflow.
# soft_lif (Hunsberger & Eliasmith 2015, arXiv:1510.08829) replaces u by the softplus
# u_s = gamma*ln(1 + exp(u/gamma)) > 0, so ell = ln(gamma/c) + ln(softplus_unit(u/gamma)).

_V_CLIP = 1e250  # |u/gamma| beyond this changes no rate by a representable amount


def _softplus_pair(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(softplus_unit(v), softplus_unit(-v), e) from one exponential e = exp(-|v|) (clipped as by
    :func:`_exp_neg`): ln(1 + e^(+-v)) = max(+-v, 0) + ln(1 + e)."""
    e = _exp_neg(np.abs(v))
    l1p = np.log1p(e)
    return np.maximum(v, 0.0) + l1p, np.maximum(-v, 0.0) + l1p, e


def _log_dh(tau, t_ref, ell):
    """(ln(tau * logistic(-ell) / D^2), ln D, L) with L = softplus_unit(-ell) and D = t_ref + tau*L:
    the common factor of dh/dx, dh/dc and dh/dgamma (dh/dell = -tau * dL/dell / D^2, dL/dell =
    -logistic(-ell), and ln logistic(-ell) = -softplus_unit(ell))."""
    sp, L, _ = _softplus_pair(ell)
    log_d = np.log(t_ref + tau * L)
    return np.log(tau) - sp - 2.0 * log_d, log_d, L


def _exp_clipped(a: np.ndarray) -> np.ndarray:
    return np.exp(np.clip(a, -_EXP_CLIP, _EXP_CLIP))


def _lif_ell(x, x_th, c):
    """(ell, above, log_u) for the hard-threshold form: ell = ln(u/c) where u = x - x_th > 0."""
    u = np.asarray(x, dtype=float) - x_th
    above = u > 0
    log_u = np.log(np.where(above, u, 1.0))  # a safe stand-in below threshold: no log(0) warning
    return log_u - np.log(c), above, log_u


def lif(x, x_th, c, tau, t_ref, r0):
    """Noise-free LIF f-I curve: r0 + 1/(t_ref + tau*ln(1 + c/(x - x_th))) for x > x_th, else r0.

    For the LIF of ``models/neurons/lif.toml`` driven by a current x: x_th = (V_th - E_L)/R_m is
    the rheobase, c = (V_th - V_reset)/R_m, tau = tau_m and t_ref the refractory period; the rate
    saturates at r0 + 1/t_ref.
    """
    return r0 + _h_lif(x, x_th, c, tau, t_ref)


def _h_lif(x, x_th, c, tau, t_ref):
    ell, above, _ = _lif_ell(x, x_th, c)
    return np.where(above, 1.0 / (t_ref + tau * softplus_unit(-ell)), 0.0)


def _d_lif(x, x_th, c, tau, t_ref, r0=0.0):
    # dh/dx = tau * logistic(-ell) / (u * D^2)
    ell, above, log_u = _lif_ell(x, x_th, c)
    base, _, _ = _log_dh(tau, t_ref, ell)
    return np.where(above, _exp_clipped(base - log_u), 0.0)


def _jacobian(logs: list, signs: tuple, rows=None) -> np.ndarray:
    """The Jacobian of a LIF form from the logarithms of its columns' magnitudes (one clipped exp
    for all of them), with a last column of ones (d/dr0); rows outside ``rows`` are zero."""
    logs = [np.atleast_1d(a) for a in logs]  # a scalar x gives one row, as column_stack does
    J = np.zeros((logs[0].shape[0], len(logs) + 1))
    mag = _exp_clipped(np.stack(logs, axis=1)) * np.asarray(signs, dtype=float)
    if rows is None:
        J[:, :-1] = mag
    else:
        rows = np.atleast_1d(rows)
        J[rows, :-1] = mag[rows]
    J[:, -1] = 1.0
    return J


def _fj_lif(x, x_th, c, tau, t_ref, r0):
    """(value, parameter Jacobian) of :func:`lif` from shared intermediates (the same numbers as
    :func:`lif` and :func:`_j_lif`)."""
    ell, above, log_u = _lif_ell(x, x_th, c)
    base, log_d, L = _log_dh(tau, t_ref, ell)
    f = r0 + np.where(above, 1.0 / (t_ref + tau * L), 0.0)
    return f, _jacobian([
        base - log_u,  # d/dx_th = -dh/dx
        base - np.log(c),  # dell/dc = -1/c
        np.log(L) - 2.0 * log_d,  # d/dtau = -L/D^2
        -2.0 * log_d,  # d/dt_ref = -1/D^2
    ], (-1, -1, -1, -1), above)  # fmt: skip


def _j_lif(x, x_th, c, tau, t_ref, r0):
    return _fj_lif(x, x_th, c, tau, t_ref, r0)[1]


def _soft_v(x, x_th, gamma):
    """v = (x - x_th)/gamma, clipped to |v| <= _V_CLIP (u/gamma must not overflow)."""
    u = np.asarray(x, dtype=float) - x_th
    return np.clip(u, -_V_CLIP * gamma, _V_CLIP * gamma) / gamma


def _soft_ell(x, x_th, c, gamma):
    """(ell, v, log_sp, sp_neg, e) with ell = ln(u_s/c), u_s = gamma*softplus_unit(v), log_sp =
    ln(u_s/gamma), sp_neg = softplus_unit(-v) and e = exp(-|v|). ln(ln(1 + e^v)) is stable for any
    finite v: for v < -30, ln(1 + e^v) = e^v (1 - e^v/2 + ...) so its logarithm is v - e^v/2 to
    1e-26 (and the log of the clipped softplus would be wrong)."""
    v = _soft_v(x, x_th, gamma)
    sp, sp_neg, e = _softplus_pair(v)
    low = v < -30.0
    log_sp = np.where(low, v - 0.5 * e, np.log(np.where(low, 1.0, sp)))
    return np.log(gamma) + log_sp - np.log(c), v, log_sp, sp_neg, e


def soft_lif(x, x_th, c, tau, t_ref, gamma, r0):
    """Soft LIF (Hunsberger & Eliasmith 2015, arXiv:1510.08829): :func:`lif` with x - x_th replaced
    by the softplus gamma*ln(1 + exp((x - x_th)/gamma)), so it is smooth at threshold (gamma: the
    width of the smoothing, in x units), positive below it (decaying like gamma/(tau*(x_th - x)))
    and saturating at r0 + 1/t_ref; gamma -> 0 gives :func:`lif`."""
    return r0 + _h_soft_lif(x, x_th, c, tau, t_ref, gamma)


def _h_soft_lif(x, x_th, c, tau, t_ref, gamma):
    ell = _soft_ell(x, x_th, c, gamma)[0]
    return 1.0 / (t_ref + tau * softplus_unit(-ell))


def _log_dudx(log_sp, sp_neg, gamma):
    """ln(du_s/dx / u_s) = ln(logistic(v)) - ln(softplus_unit(v)) - ln(gamma), with ln(logistic(v))
    = -softplus_unit(-v). It tends to -ln(gamma) for v -> -inf, where logistic and softplus both
    tend to e^v: the two large terms are summed first, so that they cancel exactly there."""
    return (-sp_neg - log_sp) - np.log(gamma)


def _d_soft_lif(x, x_th, c, tau, t_ref, gamma, r0=0.0):
    ell, _, log_sp, sp_neg, _ = _soft_ell(x, x_th, c, gamma)
    base, _, _ = _log_dh(tau, t_ref, ell)
    return _exp_clipped(base + _log_dudx(log_sp, sp_neg, gamma))


def _fj_soft_lif(x, x_th, c, tau, t_ref, gamma, r0):
    """(value, parameter Jacobian) of :func:`soft_lif` from shared intermediates (the same numbers
    as :func:`soft_lif` and :func:`_j_soft_lif`)."""
    ell, v, log_sp, sp_neg, e = _soft_ell(x, x_th, c, gamma)
    base, log_d, L = _log_dh(tau, t_ref, ell)
    f = r0 + 1.0 / (t_ref + tau * L)
    log_g = np.log(gamma)
    # dell/dgamma = (1 - v*logistic(v)/sp(v)) / gamma with sp = softplus_unit. For v >= 0 it is
    # computed as (softplus(-v) + v*logistic(-v)) / (gamma*sp(v)), a sum of positive terms (1 - ...
    # would cancel); for v < 0 as ln(1 + |v|*ratio) with ratio = logistic(v)/sp(v) from logarithms
    # (it tends to 1; exp(v) on its own would be clipped at exp(-600) and wrong). With a = |v|:
    # softplus(-a) = ln(1 + e) and logistic(-a) = e/(1 + e).
    a = np.abs(v)
    ratio = np.exp(-sp_neg - log_sp)
    log_dell = np.where(
        v < 0, np.log1p(a * ratio), np.log(np.log1p(e) + a * e / (1.0 + e)) - log_sp
    )
    return f, _jacobian([
        base + _log_dudx(log_sp, sp_neg, gamma),  # d/dx_th = -dh/dx
        base - np.log(c),  # dell/dc = -1/c
        np.log(L) - 2.0 * log_d,  # d/dtau = -L/D^2
        -2.0 * log_d,  # d/dt_ref = -1/D^2
        base + log_dell - log_g,  # d/dgamma
    ], (-1, -1, -1, -1, 1))  # fmt: skip


def _j_soft_lif(x, x_th, c, tau, t_ref, gamma, r0):
    return _fj_soft_lif(x, x_th, c, tau, t_ref, gamma, r0)[1]


# --- starting values and bounds from the data -------------------------------------------------


def _data_scales(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float]:
    """(xmin, xmax, xr, ymin, yr): ranges used to scale guesses and bounds."""
    xmin, xmax = float(np.min(x)), float(np.max(x))
    ymin, ymax = float(np.min(y)), float(np.max(y))
    xr = xmax - xmin or (abs(xmax) or 1.0)
    yr = ymax - ymin or (abs(ymax) or 1.0)
    return xmin, xmax, xr, ymin, yr


def _direction(x: np.ndarray, y: np.ndarray) -> float:
    """+1 for an increasing curve, -1 for a decreasing one (sign of the x-y covariance)."""
    c = float(np.sum((x - x.mean()) * (y - y.mean())))
    return -1.0 if c < 0 else 1.0


def _x_at_fraction(x: np.ndarray, y: np.ndarray, q: float, sign: float) -> float:
    """The x at which the curve (oriented by ``sign``) first reaches fraction q of its range,
    interpolated linearly between samples (x sorted ascending)."""
    order = np.argsort(x)
    xs, ys = x[order], sign * y[order]
    lo, hi = ys.min(), ys.max()
    frac = (ys - lo) / (hi - lo) if hi > lo else np.zeros_like(ys)
    # running maximum makes noisy data monotone, so "first reaches" is well defined
    frac = np.maximum.accumulate(frac)
    i = int(np.searchsorted(frac, q))
    if i <= 0:
        return float(xs[0])
    if i >= xs.size:
        return float(xs[-1])
    f0, f1 = frac[i - 1], frac[i]
    t = 0.0 if f1 == f0 else (q - f0) / (f1 - f0)
    return float(xs[i - 1] + t * (xs[i] - xs[i - 1]))


def _guess_step(x, y, unit_width: float) -> dict[str, float]:
    """Guess for sigmoid-like forms; ``unit_width`` = (x75 - x25) / width for that form."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _, _, xr, ymin, yr = _data_scales(x, y)
    sign = _direction(x, y)
    x25, x50, x75 = (_x_at_fraction(x, y, q, sign) for q in (0.25, 0.5, 0.75))
    width = max((x75 - x25) / unit_width, 1e-2 * xr)
    r_max = sign * yr
    r0 = ymin if sign > 0 else ymin + yr
    return {"x_half": x50, "width": width, "r_max": r_max, "r0": r0}


def _bounds_step(x, y) -> dict[str, tuple[float, float]]:
    xmin, xmax, xr, ymin, yr = _data_scales(np.asarray(x, float), np.asarray(y, float))
    return {
        "x_half": (xmin - 10 * xr, xmax + 10 * xr),
        "width": (1e-4 * xr, 100 * xr),
        "r_max": (-100 * yr, 100 * yr),
        "r0": (ymin - 100 * yr, ymin + 101 * yr),
    }


def _guess_line(x, y) -> dict[str, float]:
    """Guess for threshold-like forms: a line through the upper half of the curve, its
    intersection with the baseline is the threshold."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xmin, xmax, xr, ymin, yr = _data_scales(x, y)
    sign = _direction(x, y)
    r0 = ymin if sign > 0 else ymin + yr
    upper = sign * (y - r0) >= 0.5 * yr
    if np.count_nonzero(upper) >= 2 and np.ptp(x[upper]) > 0:
        gain, intercept = np.polyfit(x[upper], y[upper], 1)
    else:
        gain, intercept = sign * yr / xr, r0 - sign * yr / xr * xmin
    gain = float(gain) if gain != 0 else sign * yr / xr
    x_th = float(np.clip((r0 - intercept) / gain, xmin - xr, xmax))
    return {"x_th": x_th, "gain": gain, "r0": r0}


def _bounds_line(x, y) -> dict[str, tuple[float, float]]:
    xmin, xmax, xr, ymin, yr = _data_scales(np.asarray(x, float), np.asarray(y, float))
    g = 1e3 * yr / xr
    return {
        "x_th": (xmin - 10 * xr, xmax + 10 * xr),
        "width": (1e-4 * xr, 100 * xr),
        "gain": (-g, g),
        "r0": (ymin - 100 * yr, ymin + 101 * yr),
    }


def _guess_softplus(x, y) -> dict[str, float]:
    g = _guess_line(x, y)
    _, _, xr, _, _ = _data_scales(np.asarray(x, float), np.asarray(y, float))
    return {"x_th": g["x_th"], "width": 0.05 * xr, "gain": g["gain"], "r0": g["r0"]}


def _guess_hill(x, y) -> dict[str, float]:
    x, y = np.asarray(x, float), np.asarray(y, float)
    g = _guess_step(x, y, 1.0)
    xmax = float(np.max(x))
    x_half = g["x_half"] if g["x_half"] > 0 else 0.5 * xmax
    return {"x_half": x_half, "n": 2.0, "r_max": g["r_max"], "r0": g["r0"]}


def _bounds_hill(x, y) -> dict[str, tuple[float, float]]:
    x = np.asarray(x, float)
    b = _bounds_step(x, y)
    xmax = float(np.max(x))
    if xmax <= 0:
        raise FitError("form 'hill' needs positive x values (it is defined for x > 0)")
    return {"x_half": (1e-6 * xmax, 100 * xmax), "n": (0.1, 50.0), "r_max": b["r_max"],
            "r0": b["r0"]}  # fmt: skip


def _guess_lif_core(x, y, gammas) -> dict[str, float]:
    """Guess x_th, c, tau, t_ref, gamma, r0 for an increasing LIF-like curve by a small grid search.
    r0 is the lowest rate; x_th is taken from where the curve leaves it; for each (x_th, gamma, c)
    on a grid (gamma = 0: the hard threshold), tau and t_ref come from the linear fit of
    1/(y - r0) = t_ref + tau*ln(1 + c/u) (u the distance above threshold; weights (y - r0)^2 make
    the residuals those of y, to first order; the 2x2 normal equations solved for the whole grid
    at once), and the set whose curve is closest to the data (least squares in y) wins. A grid
    rather than one guess, because c and tau trade off against each other: only a curve computed
    from all of them tells them apart."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _, _, xr, ymin, yr = _data_scales(x, y)
    r0 = ymin
    ypos = y - r0
    # 1/(y - r0) is well defined and not dominated by noise where the curve has risen 5 %
    wts = np.where(ypos > 0.05 * yr, ypos, 0.0)
    thresholds = {_x_at_fraction(x, y, q, 1.0) for q in (0.0, 0.01, 0.03, 0.1, 0.2)}
    thresholds |= {t - d * xr for t in list(thresholds) for d in (0.02, 0.1)}
    cs = xr * np.logspace(-2.5, 1.5, 17)  # strictly inside the bounds of c
    grid = [(x_th, gamma) for x_th in sorted(thresholds) for gamma in gammas]
    g_th = np.array([t for t, _ in grid])[:, None]
    g_gamma = np.array([g for _, g in grid])[:, None]
    soft = g_gamma > 0
    gs = np.where(soft, g_gamma, 1.0)
    u = np.where(soft, gs * softplus_unit((x - g_th) / gs), x - g_th)  # (grid, n)
    above = u > 0
    used = above & (wts > 0)
    L = np.log1p(cs[None, :, None] / np.where(above, u, 1.0)[:, None, :])  # (grid, c, n)
    w2 = np.where(used, wts**2, 0.0)[:, None, :]
    target = np.where(used, 1.0 / np.where(ypos > 0, ypos, 1.0), 0.0)[:, None, :]
    s0, t0 = w2.sum(axis=2), (w2 * target).sum(axis=2)
    s1, s2, t1 = (w2 * L).sum(axis=2), (w2 * L * L).sum(axis=2), (w2 * L * target).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        det = s0 * s2 - s1 * s1
        t_ref = (s2 * t0 - s1 * t1) / det
        tau = (s0 * t1 - s1 * t0) / det
        usable = np.isfinite(t_ref) & np.isfinite(tau) & (tau > 0)
        usable &= (used.sum(axis=1) >= 3)[:, None]
        # t_ref clipped at 0, and a start at t_ref = 0 would sit on the bound
        t_ref = np.maximum(np.maximum(np.nan_to_num(t_ref), 0.0), 0.05 / yr)
        h = np.where(above[:, None, :], 1.0 / (t_ref[..., None] + tau[..., None] * L), 0.0)
        sse = np.where(usable, np.sum((h - ypos) ** 2, axis=2), np.inf)
    if np.isfinite(sse).any():
        i, j = np.unravel_index(int(np.argmin(sse)), sse.shape)  # the first of equals
        x_th, gamma = grid[i]
        best = (x_th, float(cs[j]), float(tau[i, j]), float(t_ref[i, j]), gamma)
    else:  # not LIF-like: an order-of-magnitude start from the data's scales
        best = (_x_at_fraction(x, y, 0.05, 1.0), 0.3 * xr, 2.0 / yr, 0.5 / yr, 0.02 * xr)
    x_th, c, tau_, t_ref_, gamma = best
    return {"x_th": x_th, "c": c, "tau": tau_, "t_ref": t_ref_, "gamma": gamma, "r0": r0}


def _guess_lif(x, y) -> dict[str, float]:
    g = _guess_lif_core(x, y, [0.0])
    del g["gamma"]
    return g


def _guess_soft_lif(x, y) -> dict[str, float]:
    _, _, xr, _, _ = _data_scales(np.asarray(x, float), np.asarray(y, float))
    g = _guess_lif_core(x, y, xr * np.array([0.003, 0.01, 0.03, 0.1]))
    return {k: g[k] for k in ("x_th", "c", "tau", "t_ref", "gamma", "r0")}


def _bounds_lif(x, y) -> dict[str, tuple[float, float]]:
    xmin, xmax, xr, ymin, yr = _data_scales(np.asarray(x, float), np.asarray(y, float))
    return {
        "x_th": (xmin - 10 * xr, xmax + 10 * xr),
        # c -> 0 with tau*c fixed is a limit the LIF forms approach smoothly (1/(t_ref + tau*c/u):
        # a perfect integrator), which noisy curves can prefer: the fit would crawl along that
        # nearly flat valley. Below 1e-3 of the x range the difference is invisible at any
        # measured resolution, so the bound stops it there and flags at_bound:c (only tau*c known)
        "c": (1e-3 * xr, 1e3 * xr),
        "tau": (1e-6 / yr, 1e6 / yr),
        "t_ref": (0.0, 1e3 / yr),  # 0: no refractoriness, the rate grows without bound
        "gamma": (1e-6 * xr, 10 * xr),
        "r0": (ymin - 100 * yr, ymin + 101 * yr),
    }


# --- canonical scaling: how the network sees each fitted form ---------------------------------


def _canon_step(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # g(z) = logistic(z) for sigmoid, 0.5*(1+tanh z) for tanh, 0.5*(1+erf z) for erf
    return p["x_half"], p["width"], p["r_max"]


def _canon_hill(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # z = x / x_half, g(z) = z^n / (1 + z^n) for z > 0: no input -> no output, g(1) = 1/2
    return 0.0, p["x_half"], p["r_max"]


def _canon_softplus(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # g(z) = log(1 + exp(z)): the unit softplus
    return p["x_th"], p["width"], p["gain"] * p["width"]


def _canon_threshold_linear(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # g(z) = max(0, z), and z = 1 at the top of the measured input range (any scale would do for a
    # rectifier; this one keeps the measured range at z in about [-1, 1])
    span = float(np.max(x)) - p["x_th"] if x is not None and x.size else 0.0
    if not span > 0:
        span = abs(p["x_th"]) or 1.0
    return p["x_th"], span, p["gain"] * span


def _canon_lif(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # z = 0 at threshold and z = 1 where the rate is half its ceiling, g(z) = t_ref*(f - r0) in
    # [0, 1): y_scale = 1/t_ref, and t_ref + tau*ln(1 + c/u) = 2*t_ref at u = c/expm1(t_ref/tau).
    # For soft_lif that u is the softplus u_s, turned back into x - x_th by the inverse softplus
    # u = u_s + gamma*ln(1 - exp(-u_s/gamma)). Without refractoriness (t_ref = 0: no ceiling),
    # z = 1 at u = c and y_scale = the rate there; where soft_lif's half-way point is not above
    # threshold (gamma much wider than the rise), z = 1 at u = c with y_scale = 1/t_ref.
    x_th, c, tau, t_ref = p["x_th"], p["c"], p["tau"], p["t_ref"]
    if not t_ref > 0:
        form = FORMS["soft_lif" if "gamma" in p else "lif"]
        return x_th, c, float(form.excess(np.array([x_th + c]), p)[0])
    with np.errstate(over="ignore"):
        u_half = c / float(np.expm1(t_ref / tau))  # 0 if t_ref/tau is so large that expm1 overflows
    gamma = p.get("gamma")
    if gamma is not None and u_half > 0:
        u_half = u_half + gamma * float(np.log(-np.expm1(-u_half / gamma)))
    return x_th, (u_half if u_half > 0 else c), 1.0 / t_ref


def _lif_ceiling(p: dict) -> float:
    # the rate approaches 1/t_ref far above threshold; no ceiling without refractoriness
    return 1.0 / p["t_ref"] if p["t_ref"] > 0 else np.inf


@dataclass(frozen=True)
class Form:
    """A fitted-curve form: the function, its derivatives, guesses, bounds and canonical scaling.

    ``kinds`` gives each parameter's unit kind: ``"x"`` (the curve's x unit), ``"y"`` (its y unit),
    ``"y/x"``, ``"1/y"`` (seconds for a rate in Hz: the LIF forms' tau and t_ref) or ``"1"``
    (dimensionless).
    """

    name: str
    params: tuple[str, ...]
    kinds: tuple[str, ...]
    equation: str
    f: Callable[..., np.ndarray]
    h: Callable[..., np.ndarray]  # f - r0, from all parameters but r0
    dfdx: Callable[..., np.ndarray]
    jac: Callable[..., np.ndarray]
    _guess: Callable[[np.ndarray, np.ndarray], dict]
    _bounds: Callable[[np.ndarray, np.ndarray], dict]
    canonical: Callable[[dict, np.ndarray | None], tuple[float, float, float]]
    saturating: bool  # True: f runs from r0 to r0 + r_max (or the ceiling); False: unbounded above
    # the excess f - r0 approaches for x -> inf when that is not r_max (LIF forms: 1/t_ref)
    ceiling: Callable[[dict], float] | None = None
    # the curve measures whose ``fit(..., "auto")`` tries this form (None: every measure); the LIF
    # forms' tau and t_ref mean something only for a firing-rate curve (an f-I or rate-in curve)
    measures: tuple[str, ...] | None = None
    # value and parameter Jacobian at once, sharing their intermediates (None: from f and jac);
    # the bounded solver asks for both at every accepted point
    fj: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    # what a parameter is, where its name could mislead: {name: (display label, description)}
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def label(self, param: str) -> str:
        """How reports and figures name ``param`` (its name, unless that could mislead:
        soft_lif's ``tau`` is shown as ``tau (effective, not tau_m)``)."""
        return self.notes.get(param, (param, ""))[0]

    def describe(self, param: str) -> str:
        """What ``param`` is, in one sentence ('' for the self-explanatory ones)."""
        return self.notes.get(param, ("", ""))[1]

    def suits(self, measure: str) -> bool:
        """Whether ``auto`` tries this form on a curve of ``measure`` ("fi", "release", ...)."""
        return self.measures is None or measure in self.measures

    @property
    def k(self) -> int:
        """Number of parameters."""
        return len(self.params)

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Starting values ``{name: value}`` for data ``x``, ``y`` (shape (n,) each)."""
        return {k: float(v) for k, v in self._guess(x, y).items()}

    def bounds(self, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[float, float]]:
        """Bounds ``{name: (lower, upper)}`` scaled to the data."""
        b = self._bounds(x, y)
        return {k: (float(b[k][0]), float(b[k][1])) for k in self.params}

    def units(self, x_unit: str, y_unit: str) -> dict[str, str]:
        """Each parameter's unit for a curve in ``x_unit``, ``y_unit``."""
        inverse_y = "s" if y_unit == "Hz" else f"1/{y_unit}"  # tau, t_ref of an f-I curve
        table = {"x": x_unit, "y": y_unit, "y/x": f"{y_unit}/{x_unit}", "1": "1", "1/y": inverse_y}
        return {p: table[k] for p, k in zip(self.params, self.kinds, strict=True)}

    def excess(self, x: np.ndarray, p: dict) -> np.ndarray:
        """f(x) - r0, computed without cancellation."""
        return self.h(x, *(p[k] for k in self.params if k != "r0"))

    def value(self, x: np.ndarray, p: dict) -> np.ndarray:
        return self.f(x, *(p[k] for k in self.params))

    def derivative(self, x: np.ndarray, p: dict) -> np.ndarray:
        return self.dfdx(x, *(p[k] for k in self.params))

    def excess_range(self, p: dict) -> tuple[float, float]:
        """Range of f - r0 over all x: (0, r_max) for saturating forms, (0, ±inf) otherwise."""
        if self.ceiling is not None:
            top = self.ceiling(p)
        elif self.saturating:
            top = p["r_max"]
        else:
            top = np.inf if p["gain"] >= 0 else -np.inf
        return (min(0.0, top), max(0.0, top))

    def check_params(self, p: dict) -> str | None:
        """A message if ``p`` is not a valid parameter set for this form, else None."""
        if set(p) != set(self.params):
            return (f"form {self.name!r} takes parameters {', '.join(self.params)}; "
                    f"got {', '.join(sorted(p)) or 'none'}")  # fmt: skip
        for k in self.params:
            if not np.isfinite(p[k]):
                return f"form {self.name!r}: parameter {k} = {p[k]} is not finite"
        for k in ("width", "x_half" if self.name == "hill" else "", "n", "c", "tau", "gamma"):
            if k in p and not p[k] > 0:
                return f"form {self.name!r}: parameter {k} must be positive, got {p[k]}"
        if "t_ref" in p and not p["t_ref"] >= 0:
            return f"form {self.name!r}: parameter t_ref must not be negative, got {p['t_ref']}"
        return None


_TAU_LIF = ("time scale of the logarithm in 1/(t_ref + tau*ln(1 + c/(x - x_th))): the membrane "
            "time constant tau_m for a noise-free current-driven LIF, an effective fitted "
            "constant otherwise")  # fmt: skip
_TAU_SOFT = ("effective time scale of the logarithm in 1/(t_ref + tau*ln(1 + c/u)), fitted together "
             "with c and gamma: NOT the membrane time constant tau_m (e.g. 0.103 s fitted on a "
             "20 ms neuron); the name 'tau' is kept for schema-1 files")  # fmt: skip
_T_REF = "dead time that caps the rate at r0 + 1/t_ref (the refractory period for a LIF)"

FORMS: dict[str, Form] = {
    "sigmoid": Form(
        "sigmoid", ("x_half", "width", "r_max", "r0"), ("x", "x", "y", "y"),
        "r0 + r_max / (1 + exp(-(x - x_half)/width))", sigmoid, _h_sigmoid, _d_sigmoid,
        _j_sigmoid, lambda x, y: _guess_step(x, y, 2 * _LN3), _bounds_step, _canon_step, True,
    ),
    "tanh": Form(
        "tanh", ("x_half", "width", "r_max", "r0"), ("x", "x", "y", "y"),
        "r0 + r_max * 0.5 * (1 + tanh((x - x_half)/width))", tanh, _h_tanh, _d_tanh, _j_tanh,
        lambda x, y: _guess_step(x, y, _LN3), _bounds_step, _canon_step, True,
    ),
    "erf": Form(
        "erf", ("x_half", "width", "r_max", "r0"), ("x", "x", "y", "y"),
        "r0 + r_max * 0.5 * (1 + erf((x - x_half)/width))", erf, _h_erf, _d_erf, _j_erf,
        # 0.5*(1 + erf(u)) = 0.75 at u = 0.476936
        lambda x, y: _guess_step(x, y, 2 * 0.4769362762044699), _bounds_step, _canon_step, True,
    ),
    "hill": Form(
        "hill", ("x_half", "n", "r_max", "r0"), ("x", "1", "y", "y"),
        "r0 + r_max * x^n / (x^n + x_half^n)  (x > 0)", hill, _h_hill, _d_hill, _j_hill,
        _guess_hill, _bounds_hill, _canon_hill, True,
    ),
    "softplus": Form(
        "softplus", ("x_th", "width", "gain", "r0"), ("x", "x", "y/x", "y"),
        "r0 + gain * width * log(1 + exp((x - x_th)/width))", softplus, _h_softplus,
        _d_softplus, _j_softplus, _guess_softplus, _bounds_line, _canon_softplus, False,
    ),
    "threshold_linear": Form(
        "threshold_linear", ("x_th", "gain", "r0"), ("x", "y/x", "y"),
        "r0 + gain * max(0, x - x_th)", threshold_linear, _h_threshold_linear,
        _d_threshold_linear, _j_threshold_linear, _guess_line, _bounds_line,
        _canon_threshold_linear, False,
    ),
    "lif": Form(
        "lif", ("x_th", "c", "tau", "t_ref", "r0"), ("x", "x", "1/y", "1/y", "y"),
        "r0 + 1/(t_ref + tau*ln(1 + c/(x - x_th)))  (x > x_th; else r0)", lif, _h_lif, _d_lif,
        _j_lif, _guess_lif, _bounds_lif, _canon_lif, True, _lif_ceiling, ("fi",), _fj_lif,
        {"tau": ("tau", _TAU_LIF), "t_ref": ("t_ref", _T_REF)},
    ),
    "soft_lif": Form(
        "soft_lif", ("x_th", "c", "tau", "t_ref", "gamma", "r0"),
        ("x", "x", "1/y", "1/y", "x", "y"),
        "r0 + 1/(t_ref + tau*ln(1 + c/u)), u = gamma*ln(1 + exp((x - x_th)/gamma))", soft_lif,
        _h_soft_lif, _d_soft_lif, _j_soft_lif, _guess_soft_lif, _bounds_lif, _canon_lif, True,
        _lif_ceiling, ("fi",), _fj_soft_lif,
        {"tau": ("tau (effective, not tau_m)", _TAU_SOFT), "t_ref": ("t_ref", _T_REF)},
    ),
}  # fmt: skip


def get_form(name: str) -> Form:
    """The :class:`Form` called ``name``; an unknown name raises :class:`FitError`."""
    try:
        return FORMS[name]
    except (KeyError, TypeError):
        raise FitError(f"unknown form {name!r}; known forms: {', '.join(FORMS)}") from None
