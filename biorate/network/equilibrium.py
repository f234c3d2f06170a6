"""Training at the fixed point: recurrent backpropagation (Almeida 1987, Pineda 1987,
doi:10.1103/PhysRevLett.59.2229), i.e. implicit differentiation of the equilibrium as in deep
equilibrium models (Bai, Kolter & Koltun 2019, arXiv:1909.01377).

A graph with feedback runs the rate dynamics of :mod:`biorate.network.dynamics`; its steady
state ``h*`` (every population above the input) solves

    h*_p = Phi_p(h*) = g(b_p + sum_s h*_s W_sp) + sum_skip h*_s P_sp,

which does not depend on ``alpha``. A spiking network settles there, so this is what a
deployment shows. :func:`solve` runs the dynamics' own step (:func:`dynamics.step`, populations
in index order, the leak ``alpha``) from rest until every sample's residual
``max |h(t) - h(t-1)| / alpha`` (= ``|Phi(h) - h|`` at that step) is below ``tol``, or ``max_iter``
steps; it records per sample the steps taken, the final residual and the contraction factor of
the iteration (the ratio of the last two residuals).

The loss ``L(h*_out)`` has the gradient ``dL/dtheta = lambda^T dPhi/dtheta`` where the adjoint
solves ``lambda = J^T lambda + dL/dh*`` (``J = dPhi/dh`` at ``h*``). :func:`adjoint` solves it by
the transpose of the forward iteration (populations in reverse order, the same ``alpha``): its
iteration matrix has the spectrum of the forward one, so it converges exactly when the
dynamics do, at the same rate, and an acyclic graph needs one sweep. Memory is that of one
state, whatever the number of steps (BPTT keeps every step).

The safeguard (:func:`loop_gain`, :func:`shrink_feedback`): the fixed point is unique near
``h*`` and reachable from rest when the iteration contracts there. For the linearised step
``1 - alpha + alpha*mu`` (``mu`` an eigenvalue of ``J``), so the measured contraction factor
``rho`` of a batch gives the loop gain ``mu = (rho - 1 + alpha)/alpha`` along the slowest mode.
After every optimizer step during training, if a batch had a sample that did not converge or a
gain above ``max_loop_gain`` (default 0.9), every feedback matrix (dense ``s -> d`` with
``s >= d``; every cycle contains one) is scaled by ``max_loop_gain / gain``, by at most
``MAX_SHRINK`` (0.9) at once, repeated after later steps while needed: a projection onto "the
loop contracts", as spectral-norm bounds are in other recurrent nets. It is a local guarantee
measured on the data, not a global bound on every input. (Halving the feedback at once when one
sample of a batch did not converge, as a first version did, threw a converged net (training
loss 0.006) back to loss 1.7 in one step on digits.)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import BiorateWarning, caller_stacklevel
from . import dynamics
from .graph import Graph

__all__ = ["MAX_SHRINK", "solve", "adjoint", "gradients", "loop_gain", "shrink_feedback"]

MAX_SHRINK = 0.9  # the safeguard scales the feedback by no less than this after one step

Params = dict[str, np.ndarray]


def solve(graph: Graph, params: Params, act: Any, x: np.ndarray, alpha: float, tol: float,
          max_iter: int, dtype: Any) -> dict:  # fmt: skip
    """Run the dynamics from rest to the fixed point. Returns a cache shaped like
    :func:`dynamics.forward`'s with one step (``cache["h"][-1]`` the state, ``cache["z"][-1]``,
    ``cache["g"][-1]``) plus ``cache["fp"]``: per sample ``iterations`` (the first step whose
    residual was <= tol; ``max_iter`` when none), ``residual`` (of the returned state),
    ``contraction`` (residual ratio of the last steps) and ``converged`` (bool).

    A sample stops at the step where it converged (its state, currents and ``g`` of that step
    are returned): only the samples still moving are stepped on, so a batch costs the sum of
    its samples' steps, not its slowest sample's steps times the batch (on digits the slowest
    took 6.5x the mean)."""
    n = x.shape[0]
    h = dynamics._initial_state(graph, x, 2, dtype)
    iterations = np.full(n, max_iter, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    contraction = np.zeros(n)
    residual = np.full(n, np.inf)
    L = len(graph.sizes)
    z: list[Any] = [None] * L  # the returned currents and g, filled per sample as it stops
    g: list[Any] = [None] * L
    idx = np.arange(n)  # the samples still moving; ha, xa their states and inputs
    ha, xa = h, x
    r_prev = np.full(n, np.inf)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for it in range(1, max_iter + 1):
            h_new, z_a, g_a = dynamics.step(graph, params, act, xa, ha, alpha, dtype)
            if z[1] is None:
                z = [None] + [np.zeros((n,) + a.shape[1:], dtype=a.dtype) for a in z_a[1:]]
                g = [None] + [np.zeros((n,) + a.shape[1:], dtype=a.dtype) for a in g_a[1:]]
            r = np.max([np.abs(a - b).max(axis=1) for a, b in
                        zip(h_new[1:], ha[1:], strict=True)], axis=0) / alpha  # fmt: skip
            contraction[idx] = np.where(r_prev > 0, r / r_prev, 0.0)
            residual[idx] = r
            stop = r <= tol
            last = it == max_iter
            if stop.any() or last:
                done = np.ones_like(stop) if last else stop
                rows = idx[done]
                for p in range(1, L):
                    h[p][rows] = h_new[p][done]
                    z[p][rows] = z_a[p][done]
                    g[p][rows] = g_a[p][done]
                iterations[idx[stop]] = it
                converged[idx[stop]] = True
                keep = ~done
                idx, r_prev = idx[keep], r[keep]
                if not idx.size:
                    break
                xa = x[idx]
                ha = [xa] + [a[keep] for a in h_new[1:]]
            else:
                ha, r_prev = h_new, r
    return {"h": [None, h], "z": [None, z], "g": [None, g],
            "fp": {"iterations": iterations, "residual": np.nan_to_num(residual, nan=np.inf),
                   "contraction": np.nan_to_num(contraction, nan=np.inf),
                   "converged": converged & np.isfinite(residual)}}  # fmt: skip


def warn_unconverged(fp: dict, tol: float, max_iter: int) -> None:
    """Warn (one line, :class:`~biorate.errors.BiorateWarning`) when samples of a prediction did
    not reach their fixed point: their outputs are the last iterate, not the equilibrium a
    spiking deployment settles to."""
    bad = ~np.asarray(fp["converged"])
    if bad.any():
        worst = float(np.max(fp["residual"][bad]))
        warnings.warn(f"{int(bad.sum())} of {bad.size} sample(s) did not reach the fixed point "
                      f"within {max_iter} steps (residual up to {worst:.3g} > tol {tol:g}); their "
                      "outputs are the last iterate (raise fixed_point_max_iter)",
                      BiorateWarning, stacklevel=caller_stacklevel())  # fmt: skip


def _derivatives(graph: Graph, params: Params, act: Any, z: list, dtype: Any) -> list:
    """g'(z_p) per population (:func:`dynamics.derivative`); None where g is not applied."""
    gp: list[Any] = [None] * len(graph.sizes)
    for p in range(1, len(graph.sizes)):
        if graph.applies_g(p):
            gp[p] = dynamics.derivative(graph, params, act, p, z[p], dtype)
    return gp


def adjoint(graph: Graph, params: Params, gp: list, dy: np.ndarray, alpha: float, tol: float,
            max_iter: int) -> tuple[list, dict]:  # fmt: skip
    """Solve ``lambda = J^T lambda + v`` (``v`` = ``dy`` on the output, 0 elsewhere) at the fixed
    point whose derivatives are ``gp``, by the transposed iteration (see the module doc).
    Returns ``(lambda, info)``: lambda per population (entry 0 None) and ``{"iterations",
    "residual", "converged"}`` for the batch."""
    L, out = len(graph.sizes), graph.output
    n = dy.shape[0]
    lam: list[Any] = [None] + [np.zeros((n, s), dy.dtype) for s in graph.sizes[1:]]
    fb: list[Any] = [None] + [np.zeros((n, s), dy.dtype) for s in graph.sizes[1:]]
    r = np.inf
    it = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for it in range(1, max_iter + 1):  # noqa: B007 - read after the loop (steps taken)
            cur: list[Any] = [None] + [np.zeros((n, s), dy.dtype) for s in graph.sizes[1:]]
            fb_new: list[Any] = [None] + [np.zeros((n, s), dy.dtype) for s in graph.sizes[1:]]
            new: list[Any] = [None] * L
            for p in range(L - 1, 0, -1):
                target = cur[p] + fb[p]
                if p == out:
                    target = target + dy
                new[p] = target if alpha == 1.0 else (1 - alpha) * lam[p] + alpha * target
                for s, key in graph.skip_in[p]:
                    if s:
                        cur[s] += new[p] if key is None else new[p] @ params[key].T
                dz = new[p] if gp[p] is None else dynamics.pieces_out(graph, p, new[p]) * gp[p]
                for s, key in graph.dense_in[p]:
                    if s:
                        (cur if s < p else fb_new)[s] += dz @ params[key].T
            r = max(float(np.abs(a - b).max()) for a, b in zip(new[1:], lam[1:], strict=True))
            r /= alpha
            lam, fb = new, fb_new
            if r <= tol:
                break
    return lam, {"iterations": it, "residual": r if np.isfinite(r) else np.inf,
                 "converged": bool(r <= tol)}  # fmt: skip


def gradients(graph: Graph, params: Params, act: Any, h: list, z: list, gp: list,
              lam: list) -> Params:  # fmt: skip
    """``lambda^T dPhi/dtheta`` at the fixed point ``h`` (input currents ``z``): the parameters'
    gradients."""
    grads: Params = {}
    for p in range(1, len(graph.sizes)):
        dz = lam[p] if gp[p] is None else dynamics.pieces_out(graph, p, lam[p]) * gp[p]
        if graph.act_params[p]:
            dynamics.learned_grads(graph, params, act, p, z[p], lam[p], grads)
        grads[graph.bias[p]] = dz.sum(axis=0)
        for s, key in graph.dense_in[p]:
            grads[key] = grads[key] + h[s].T @ dz if key in grads else h[s].T @ dz
        for s, key in graph.skip_in[p]:
            if key is not None:
                v = h[s].T @ lam[p]
                grads[key] = grads[key] + v if key in grads else v
    for k, v in params.items():
        if k not in grads:
            grads[k] = np.zeros_like(v)
    return grads


def backward(graph: Graph, params: Params, act: Any, cache: dict, dy: np.ndarray, alpha: float,
             offset: float, tol: float, max_iter: int, dtype: Any) -> Params:  # fmt: skip
    """Gradients of the loss given ``dy = dL/dh*_out`` by implicit differentiation. Adds
    ``cache["gp"]`` (g'(z*) per population, without the offset, for the diagnostics) and
    ``cache["fp"]["adjoint"]`` (the adjoint solve's iterations, residual, converged)."""
    h, z = cache["h"][-1], cache["z"][-1]
    exact = _derivatives(graph, params, act, z, dtype)
    cache["gp"] = [
        None if g is None else dynamics.per_unit(graph, p, g) for p, g in enumerate(exact)
    ]
    gp = exact if not offset else [None if g is None else dynamics.with_offset(graph, p, g, offset)
                                   for p, g in enumerate(exact)]  # fmt: skip
    lam, info = adjoint(graph, params, gp, dy, alpha, tol, max_iter)
    cache["fp"]["adjoint"] = info
    return gradients(graph, params, act, h, z, gp, lam)


def loop_gain(fp: dict, alpha: float) -> float:
    """The batch's largest loop gain ``mu = (rho - 1 + alpha)/alpha`` from the measured
    contraction factors ``rho`` (inf when a sample did not converge)."""
    if not np.all(fp["converged"]):
        return float("inf")
    rho = float(np.max(fp["contraction"])) if fp["contraction"].size else 0.0
    return max(0.0, (rho - 1 + alpha) / alpha)


def shrink_feedback(graph: Graph, params: Params, gain: float, max_gain: float) -> float:
    """Scale every feedback matrix in place by ``max_gain/gain`` (at least :data:`MAX_SHRINK`)
    when ``gain`` exceeds ``max_gain``; returns the factor applied (1.0: none)."""
    if not gain > max_gain:
        return 1.0
    factor = max(MAX_SHRINK, max_gain / gain) if np.isfinite(gain) else MAX_SHRINK
    for p in graph.projections:
        if p.feedback:
            params[p.key(graph.sizes)] *= factor
    return factor
