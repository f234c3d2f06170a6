"""The LIF forms: lif, the noise-free leaky integrate-and-fire rate (Lapicque 1907; Burkitt 2006,
doi:10.1007/s00422-006-0068-6), and soft_lif, the same with the threshold smoothed by a softplus
(Hunsberger & Eliasmith 2015, arXiv:1510.08829).

For the LIF of ``models/neurons/lif.toml`` driven by a current, ``lif`` is exact with x_th =
(V_th - E_L)/R_m (the rheobase), c = (V_th - V_reset)/R_m, tau = tau_m and t_ref the refractory
period (for a rate in Hz, tau and t_ref are in seconds). Both saturate at r0 + 1/t_ref. Their
``tau`` is a fitted time scale: it equals tau_m only for ``lif`` on a noise-free current-driven LIF
(see the forms' ``notes``). ``auto`` tries them on firing-rate curves (``measure "fi"``) only.
"""

from __future__ import annotations

import numpy as np

from ._data import data_scales, x_at_fraction
from ._stable import exp_clipped, softplus_pair, softplus_unit
from .form import Form, SolverHints, Start

__all__ = ["lif", "soft_lif", "LIF", "SOFT_LIF"]

# The noise-free LIF rate above rheobase is 1/(t_ref + tau*L) with L = ln(1 + c/u), u = x - x_th.
# Everything is computed from ell = ln(u/c): L = ln(1 + exp(-ell)) = softplus_unit(-ell), which is
# exact for every u > 0 (u -> 0+: L = -ell grows like ln(c/u) without c/u ever overflowing;
# u >> c: L = c/u without cancellation). The x-derivative is infinite at threshold for ``lif``
# (slope ~ 1/(u ln^2(c/u))), so derivatives are assembled as logarithms and exponentiated once,
# clipped to [-EXP_CLIP, EXP_CLIP] as for ``hill``: no term on its own may overflow or underflow.
# soft_lif (Hunsberger & Eliasmith 2015, arXiv:1510.08829) replaces u by the softplus
# u_s = gamma*ln(1 + exp(u/gamma)) > 0, so ell = ln(gamma/c) + ln(softplus_unit(u/gamma)).

_V_CLIP = 1e250  # |u/gamma| beyond this changes no rate by a representable amount

# --- shared by both: the common factor, the Jacobian, guess, bounds, scaling ----------------


def _log_dh(tau, t_ref, ell):
    """(ln(tau * logistic(-ell) / D^2), ln D, L) with L = softplus_unit(-ell) and D = t_ref + tau*L:
    the common factor of dh/dx, dh/dc and dh/dgamma (dh/dell = -tau * dL/dell / D^2, dL/dell =
    -logistic(-ell), and ln logistic(-ell) = -softplus_unit(ell))."""
    sp, L, _ = softplus_pair(ell)
    log_d = np.log(t_ref + tau * L)
    return np.log(tau) - sp - 2.0 * log_d, log_d, L


def _jacobian(logs: list, signs: tuple, rows=None) -> np.ndarray:
    """The Jacobian of a LIF form from the logarithms of its columns' magnitudes (one clipped exp
    for all of them), with a last column of ones (d/dr0); rows outside ``rows`` are zero."""
    logs = [np.atleast_1d(a) for a in logs]  # a scalar x gives one row, as column_stack does
    J = np.zeros((logs[0].shape[0], len(logs) + 1))
    mag = exp_clipped(np.stack(logs, axis=1)) * np.asarray(signs, dtype=float)
    if rows is None:
        J[:, :-1] = mag
    else:
        rows = np.atleast_1d(rows)
        J[rows, :-1] = mag[rows]
    J[:, -1] = 1.0
    return J


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
    _, _, xr, ymin, yr = data_scales(x, y)
    r0 = ymin
    ypos = y - r0
    # 1/(y - r0) is well defined and not dominated by noise where the curve has risen 5 %
    wts = np.where(ypos > 0.05 * yr, ypos, 0.0)
    thresholds = {x_at_fraction(x, y, q, 1.0) for q in (0.0, 0.01, 0.03, 0.1, 0.2)}
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
    w2 = np.where(used, wts**2, 0.0)[:, None, :]
    target = np.where(used, 1.0 / np.where(ypos > 0, ypos, 1.0), 0.0)[:, None, :]
    s0, t0 = w2.sum(axis=2), (w2 * target).sum(axis=2)
    # (u of a subnormal current: c/u is inf and the sums NaN, a start the checks below skip)
    with np.errstate(over="ignore", invalid="ignore"):
        L = np.log1p(cs[None, :, None] / np.where(above, u, 1.0)[:, None, :])  # (grid, c, n)
        s1, s2 = (w2 * L).sum(axis=2), (w2 * L * L).sum(axis=2)
        t1 = (w2 * L * target).sum(axis=2)
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
        best = (x_at_fraction(x, y, 0.05, 1.0), 0.3 * xr, 2.0 / yr, 0.5 / yr, 0.02 * xr)
    x_th, c, tau_, t_ref_, gamma = best
    return {"x_th": x_th, "c": c, "tau": tau_, "t_ref": t_ref_, "gamma": gamma, "r0": r0}


def _bounds_lif(x, y) -> dict[str, tuple[float, float]]:
    xmin, xmax, xr, ymin, yr = data_scales(np.asarray(x, float), np.asarray(y, float))
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


def _canon_lif(p: dict, x: np.ndarray | None) -> tuple[float, float, float]:
    # z = 0 at threshold and z = 1 where the rate is half its ceiling, g(z) = t_ref*(f - r0) in
    # [0, 1): y_scale = 1/t_ref, and t_ref + tau*ln(1 + c/u) = 2*t_ref at u = c/expm1(t_ref/tau).
    # For soft_lif that u is the softplus u_s, turned back into x - x_th by the inverse softplus
    # u = u_s + gamma*ln(1 - exp(-u_s/gamma)). Without refractoriness (t_ref = 0: no ceiling),
    # z = 1 at u = c and y_scale = the rate there; where soft_lif's half-way point is not above
    # threshold (gamma much wider than the rise), z = 1 at u = c with y_scale = 1/t_ref.
    x_th, c, tau, t_ref = p["x_th"], p["c"], p["tau"], p["t_ref"]
    if not t_ref > 0:
        form = SOFT_LIF if "gamma" in p else LIF
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


_TAU_LIF = ("time scale of the logarithm in 1/(t_ref + tau*ln(1 + c/(x - x_th))): the membrane "
            "time constant tau_m for a noise-free current-driven LIF, an effective fitted "
            "constant otherwise")  # fmt: skip
_TAU_SOFT = ("effective time scale of the logarithm in 1/(t_ref + tau*ln(1 + c/u)), fitted together "
             "with c and gamma: NOT the membrane time constant tau_m (e.g. 0.103 s fitted on a "
             "20 ms neuron); the name 'tau' is kept for schema-1 files")  # fmt: skip
_T_REF = "dead time that caps the rate at r0 + 1/t_ref (the refractory period for a LIF)"

# --- lif --------------------------------------------------------------------------------------------


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
    return np.where(above, exp_clipped(base - log_u), 0.0)


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


def _guess_lif(x, y) -> dict[str, float]:
    g = _guess_lif_core(x, y, [0.0])
    del g["gamma"]
    return g


# the rate rises with infinite slope at threshold: each data point the threshold would cross is a
# cusp of the cost that no gradient step crosses, so the fit walks across them (``cusp``), after a
# start 3 % of the x range lower
LIF = Form(
    name="lif", params=("x_th", "c", "tau", "t_ref", "r0"), kinds=("x", "x", "1/y", "1/y", "y"),
    equation="r0 + 1/(t_ref + tau*ln(1 + c/(x - x_th)))  (x > x_th; else r0)",
    f=lif, h=_h_lif, dfdx=_d_lif, jac=_j_lif, fj=_fj_lif, guess_fn=_guess_lif,
    bounds_fn=_bounds_lif, canonical=_canon_lif, saturating=True, ceiling=_lif_ceiling,
    measures=("fi",), notes={"tau": ("tau", _TAU_LIF), "t_ref": ("t_ref", _T_REF)},
    positive=("c", "tau"), nonnegative=("t_ref",),
    solver=SolverHints(log_params=("c", "tau"), limit_params=("c",),
                       starts=(Start("x_th", "shift", -0.03),), kink=True, cusp=True),
)  # fmt: skip

# --- soft_lif ---------------------------------------------------------------------------------------


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
    sp, sp_neg, e = softplus_pair(v)
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
    return exp_clipped(base + _log_dudx(log_sp, sp_neg, gamma))


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


def _guess_soft_lif(x, y) -> dict[str, float]:
    _, _, xr, _, _ = data_scales(np.asarray(x, float), np.asarray(y, float))
    g = _guess_lif_core(x, y, xr * np.array([0.003, 0.01, 0.03, 0.1]))
    return {k: g[k] for k in ("x_th", "c", "tau", "t_ref", "gamma", "r0")}


# gamma -> 0 is the lif form, a limit soft_lif reaches smoothly (a fit may rest on its bound);
# c and tau trade off along a valley, so one start begins further up it
SOFT_LIF = Form(
    name="soft_lif", params=("x_th", "c", "tau", "t_ref", "gamma", "r0"),
    kinds=("x", "x", "1/y", "1/y", "x", "y"),
    equation="r0 + 1/(t_ref + tau*ln(1 + c/u)), u = gamma*ln(1 + exp((x - x_th)/gamma))",
    f=soft_lif, h=_h_soft_lif, dfdx=_d_soft_lif, jac=_j_soft_lif, fj=_fj_soft_lif,
    guess_fn=_guess_soft_lif, bounds_fn=_bounds_lif, canonical=_canon_lif, saturating=True,
    ceiling=_lif_ceiling, measures=("fi",),
    notes={"tau": ("tau (effective, not tau_m)", _TAU_SOFT), "t_ref": ("t_ref", _T_REF)},
    positive=("c", "tau", "gamma"), nonnegative=("t_ref",),
    solver=SolverHints(
        log_params=("c", "tau", "gamma"), limit_params=("c", "gamma"), reachable_lower=("gamma",),
        starts=(Start("gamma", "scale", 4.0), Start("gamma", "scale", 0.25),
                Start("c", "scale", 5.0)),
    ),
)  # fmt: skip
