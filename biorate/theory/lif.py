"""The leaky integrate-and-fire rate: noise-free closed form, Siegert formula for white-noise drive,
the exact noise-free rate of Brian2's Euler scheme, and the dt-corrected noisy prediction.

Model (DESIGN.md, ``models/neurons/lif.toml``)::

    dv/dt = (E_L - v + R_m*I)/tau_m + sigma*sqrt(2/tau_m)*xi,   spike when v > V_th, then
    v = V_reset for t_ref.

``mu = E_L + R_m*I`` is the potential the free membrane (no threshold) relaxes to and ``sigma`` its
stationary standard deviation. Brunel (2000) writes the same noise as ``sigma_B*sqrt(tau_m)*xi/tau_m``
with free-membrane standard deviation ``sigma_B/sqrt(2)``, so ``sigma_B = sqrt(2)*sigma`` here.
Everything here takes and returns SI floats (volts, seconds, hertz) and broadcasts NumPy arrays.

References: Siegert (1951) Phys. Rev. 81:617; Brunel (2000) J. Comput. Neurosci. 8:183-208,
doi:10.1023/A:1008925309027; Broadie, Glasserman & Kou (1997) Math. Finance 7:325-349,
doi:10.1111/1467-9965.00035.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ModelError, ProtocolError
from ..schema import finite_number, is_real
from .overshoot import expected_overshoot
from .siegert import siegert_integral

__all__ = ["lif_rate", "lif_rate_closed_form", "lif_rate_euler", "siegert_rate", "refractory_steps"]


def _check_lif(tau_m: np.ndarray, V_th: np.ndarray, V_reset: np.ndarray, t_ref: np.ndarray) -> None:  # noqa: N803
    if np.any(~np.isfinite(tau_m)) or np.any(tau_m <= 0):
        raise ModelError("tau_m must be positive and finite")
    if np.any(~np.isfinite(t_ref)) or np.any(t_ref < 0):
        raise ModelError("t_ref must be non-negative and finite")
    if np.any(~np.isfinite(V_th)) or np.any(~np.isfinite(V_reset)):
        raise ModelError("V_th and V_reset must be finite")
    if np.any(V_reset >= V_th):
        raise ModelError("V_reset must lie below V_th")


def si_arrays(**named: Any) -> list[np.ndarray]:
    """The named SI inputs as float arrays broadcast together; a value that is not a number (a
    string, an object) or shapes that do not broadcast are a :class:`ProtocolError` naming them."""
    arrays = []
    for name, value in named.items():
        bad = f"{name} must be a number or an array of numbers (SI units), got {value!r}"[:200]
        if type(value).__module__.startswith("brian2"):  # its unit would be dropped unseen
            raise ProtocolError(f"{name}: these formulas take SI numbers, not Brian2 quantities "
                                f"(got {value!r}"[:160] + "); give float(q/unit) in SI, or use "
                                "theory.fi, which reads quantities")  # fmt: skip
        if np.ma.is_masked(value):
            raise ProtocolError(f"{name} has masked entries: give the values themselves")
        try:
            raw = np.asarray(value)
            if np.iscomplexobj(raw) or raw.dtype.kind in "bUSOmM" and not _numbers_only(raw):
                raise TypeError  # (True, "0.02", times and dates: not SI numbers)
            arrays.append(np.asarray(raw, dtype=float))
        except (TypeError, ValueError, OverflowError):
            raise ProtocolError(bad) from None
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(named, arrays, strict=True))
        raise ProtocolError(f"the inputs do not broadcast together: {shapes}") from None


def _numbers_only(raw: np.ndarray) -> bool:
    """Whether an object array holds real numbers only (not bools or strings)."""
    return raw.dtype.kind == "O" and all(is_real(v) for v in raw.ravel().tolist())


def _check_mu_sigma(mu: np.ndarray, sigma: np.ndarray) -> None:
    """mu finite, sigma within a membrane's range: at most 10 V, as every protocol takes it (the
    Siegert integral's scale overflows long before sigma = 1e308)."""
    if np.any(~np.isfinite(mu)):
        raise ProtocolError("mu (the free membrane potential) must be finite")
    if np.any(~np.isfinite(sigma)) or np.any(sigma < 0) or np.any(sigma > 10.0):
        raise ProtocolError("sigma must be non-negative, finite and at most 10 V (SI units: "
                            "volts)")  # fmt: skip


def lif_rate_closed_form(
    mu: Any,
    tau_m: Any,
    V_th: Any,
    V_reset: Any,
    t_ref: Any,  # noqa: N803
) -> np.ndarray:
    """Noise-free LIF rate in Hz: 0 for ``mu <= V_th``, else
    ``1 / (t_ref + tau_m * ln((mu - V_reset) / (mu - V_th)))``. SI inputs, broadcast."""
    mu, tau_m, V_th, V_reset, t_ref = si_arrays(  # noqa: N806
        mu=mu, tau_m=tau_m, V_th=V_th, V_reset=V_reset, t_ref=t_ref
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
    arrays = si_arrays(mu=mu, sigma=sigma, tau_m=tau_m, V_th=V_th, V_reset=V_reset, t_ref=t_ref)
    mu, sigma, tau_m, V_th, V_reset, t_ref = (a.ravel() for a in arrays)  # noqa: N806
    shape = arrays[0].shape
    _check_mu_sigma(mu, sigma)  # (as lif_rate: a NaN mu gave 0 Hz, tau_m < 0 a negative rate)
    _check_lif(tau_m, V_th, V_reset, t_ref)
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
        s_val, c = siegert_integral(y_th[finite], y_r[finite])
        # 1/rate = t_ref + tau_m * S * exp(c)  =>  rate = exp(-c) / (t_ref*exp(-c) + tau_m*S)
        e = np.exp(-c)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = e / (t_ref[finite] * e + tau_m[finite] * s_val)
        # exp(-c) = 0 (c = y_th^2 overflows, mu some 1e150 sigma below threshold): the rate
        # underflows to 0, and 0/0 or 0/inf must not make it NaN
        out[finite] = np.where(e == 0.0, 0.0, rate)
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
    mu, tau_m, V_th, V_reset, t_ref = si_arrays(  # noqa: N806
        mu=mu, tau_m=tau_m, V_th=V_th, V_reset=V_reset, t_ref=t_ref
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

    The parameters are SI floats or arrays, broadcast together.

    Parameters
    ----------
    mu : volts
        ``E_L + R_m*I``: the asymptotic free membrane potential.
    sigma : volts
        Free-membrane standard deviation of the white noise (0: noise-free).
        NB Brunel (2000) and most Siegert-formula texts use ``sigma_B = sqrt(2)*sigma``.
    tau_m, t_ref : seconds
    V_th, V_reset : volts
    dt : seconds or None
        None: continuous time (closed form for sigma = 0, Siegert formula for
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
    arrays = si_arrays(mu=mu, sigma=sigma, tau_m=tau_m, V_th=V_th, V_reset=V_reset, t_ref=t_ref)
    mu, sigma, tau_m, V_th, V_reset, t_ref = arrays  # noqa: N806
    _check_mu_sigma(mu, sigma)
    _check_lif(tau_m, V_th, V_reset, t_ref)
    if dt is not None:
        if not finite_number(dt):
            raise ProtocolError(f"dt must be a finite number of seconds or None, got {dt!r}"[:200])
        dt = float(dt)
        if dt <= 0:
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
