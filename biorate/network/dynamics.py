"""The rate dynamics, once: the forward pass and its backward pass (BPTT), used by training and by
deployment alike.

Every population above the input follows discretised rate dynamics

    z_p(t) = b_p + sum_{s<p} h_s(t) W_sp + sum_{s>=p} h_s(t-1) W_sp
    u_p(t) = g(z_p(t)) + sum_skip h_s(t) P_sp
    h_p(t) = (1 - alpha) h_p(t-1) + alpha u_p(t),      h_p(0) = 0,  h_0(t) = x,

with ``alpha = dt/tau`` (unit free). Populations update in index order within a step, so forward
projections see the current step and feedback projections the previous one. An acyclic graph is
the special case ``steps = 1, alpha = 1``: one sweep, which is also the fixed point of its rate
dynamics. A graph with feedback is unrolled over ``steps`` time steps and trained by
backpropagation through time (Werbos 1990, doi:10.1109/5.58337); the output is ``h_out(steps)``.
A linear output population (``Graph.linear_output``) passes ``z`` on instead of ``g(z)``.

Everything here is a function of the graph (:class:`~biorate.network.graph.Graph`), the
parameters (a dict name -> array), the activation ``act`` (``act(z)`` and ``act.derivative(z)``)
and the inputs; ``dtype`` is the floating type of the states. One step's forward
(:func:`step`) stands beside its backward (:func:`step_backward`); :func:`forward` and
:func:`backward` unroll them over time, and :func:`settle` runs the dynamics keeping only the last
state. :func:`activity_summands` and :func:`effective_weights` write the skip and dense rules as
matrices (what a deployment needs to route spikes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Graph

__all__ = ["step", "step_backward", "forward", "backward", "settle", "activity_summands",
           "effective_weights", "learned", "derivative", "pieces_out", "per_unit", "learned_grads", "with_offset"]  # fmt: skip

Params = dict[str, np.ndarray]


# ----------------------------------------------------------------------------- one step
def learned(graph: Graph, params: Params, p: int) -> dict[str, np.ndarray]:
    """Population ``p``'s learned activation parameters, by the activation's names (``{}`` for
    activations without any)."""
    return {name: params[key] for name, key in graph.act_params[p]}


def _g(graph: Graph, params: Params, act: Any, p: int, z: np.ndarray, dtype: Any) -> np.ndarray:
    """g(z) of population ``p`` (z itself where g is not applied); a maxout unit's output is the
    largest of its k pieces (columns ``k*j .. k*j + k - 1`` of ``z`` for unit j)."""
    if not graph.applies_g(p):
        return z
    g = np.asarray(act(z, **learned(graph, params, p)), dtype=dtype)
    k = graph.pieces[p]
    return g if k == 1 else g.reshape(g.shape[0], -1, k).max(axis=2)


def derivative(graph: Graph, params: Params, act: Any, p: int, z: np.ndarray,
               dtype: Any) -> np.ndarray:  # fmt: skip
    """dg/dz of population ``p``, shaped like ``z``: elementwise g'(z), and for maxout g'(z) on
    the largest piece of each unit and 0 on the others (ties: the first)."""
    gp = np.asarray(act.derivative(z, **learned(graph, params, p)), dtype=dtype)
    k = graph.pieces[p]
    if k == 1:
        return gp
    g = np.asarray(act(z, **learned(graph, params, p))).reshape(z.shape[0], -1, k)
    mask = np.zeros(g.shape, dtype=dtype)
    np.put_along_axis(mask, g.argmax(axis=2)[..., None], 1.0, axis=2)
    return gp * mask.reshape(z.shape)


def with_offset(graph: Graph, p: int, gp: np.ndarray, offset: float) -> np.ndarray:
    """g' plus Fahlman's offset: on every unit, and for maxout on the winning piece only (the
    others pass no gradient whatever the offset)."""
    if graph.pieces[p] == 1:
        return gp + offset
    return gp + offset * (gp != 0)


def pieces_out(graph: Graph, p: int, d: np.ndarray) -> np.ndarray:
    """An adjoint of population ``p``'s units spread over its maxout pieces (``d`` itself when
    k = 1), to be multiplied by :func:`derivative`."""
    k = graph.pieces[p]
    return d if k == 1 else np.repeat(d, k, axis=1)


def per_unit(graph: Graph, p: int, gp: np.ndarray) -> np.ndarray:
    """:func:`derivative` per unit (for the diagnostics): a maxout unit's is that of its
    largest piece."""
    k = graph.pieces[p]
    return gp if k == 1 else gp.reshape(gp.shape[0], -1, k).sum(axis=2)


def learned_grads(graph: Graph, params: Params, act: Any, p: int, z: np.ndarray, du: np.ndarray,
                  grads: Params) -> None:  # fmt: skip
    """Accumulate the gradients of population ``p``'s learned activation parameters given the
    adjoint ``du`` of its g(z)."""
    theta = learned(graph, params, p)
    for name, key in graph.act_params[p]:
        pd = np.asarray(act.param_derivative(name, z, **theta), dtype=du.dtype)
        _acc(grads, key, (du * pd).sum(axis=0))


def step(graph: Graph, params: Params, act: Any, x: np.ndarray, h_prev: list, alpha: float,
         dtype: Any) -> tuple[list, list, list]:  # fmt: skip
    """One time step from the activities ``h_prev`` (a list over populations; ``h_prev[p]`` may
    be None where it is never read: an acyclic sweep with ``alpha = 1``).

    Returns ``(h, z, g)``: per population its activity, input current and ``g(z)`` (before skips
    and leak); entry 0 of ``z`` and ``g`` is None, ``h[0]`` is ``x``.
    """
    L = len(graph.sizes)
    h: list[Any] = [x] + [None] * (L - 1)
    z_t: list[Any] = [None] * L
    g_t: list[Any] = [None] * L
    for p in range(1, L):
        z = params[graph.bias[p]]
        for s, key in graph.dense_in[p]:
            # forward projections read this step's activity, feedback the previous step's
            z = z + (h[s] if s < p else h_prev[s]) @ params[key]
        u = g_t[p] = _g(graph, params, act, p, z, dtype)
        for s, key in graph.skip_in[p]:
            u = u + (h[s] if key is None else h[s] @ params[key])
        h[p] = u if alpha == 1.0 else (1 - alpha) * h_prev[p] + alpha * u
        z_t[p] = z
    return h, z_t, g_t


def _add(dh: list, t: int, p: int, v: np.ndarray) -> None:
    """Accumulate into the adjoint of h_p(t); the input and the initial state are constants."""
    if p == 0 or t == 0:
        return
    dh[t][p] = v if dh[t][p] is None else dh[t][p] + v


def _acc(grads: Params, key: str, v: np.ndarray) -> None:
    grads[key] = v if key not in grads else grads[key] + v


def step_backward(graph: Graph, params: Params, act: Any, cache: dict, t: int, dh: list,
                  grads: Params, alpha: float, offset: float, dtype: Any) -> None:  # fmt: skip
    """The backward of :func:`step` at time ``t``: from the adjoints ``dh[t][p]`` of its
    activities, accumulate the parameters' gradients into ``grads`` and the adjoints of the
    activities it read into ``dh[t]`` (lower populations) and ``dh[t - 1]`` (leak, feedback).

    Populations go in reverse index order: every contribution to ``dh[t][p]`` comes from a
    population processed earlier in this sweep (later step, or same step and higher index).
    ``cache["gp"][p]`` receives g'(z_p(t)) at the last step (for the diagnostics).
    """
    hs, zs, T = cache["h"], cache["z"], len(cache["h"]) - 1
    for p in range(len(graph.sizes) - 1, 0, -1):
        d = dh[t][p]
        if d is None:
            continue
        if alpha == 1.0:
            du = d
        else:
            du = alpha * d
            _add(dh, t - 1, p, (1 - alpha) * d)  # leak: h_p(t) = (1-a) h_p(t-1) + ...
        for s, key in graph.skip_in[p]:
            if key is None:
                _add(dh, t, s, du)
            else:
                _acc(grads, key, hs[t][s].T @ du)
                _add(dh, t, s, du @ params[key].T)
        if not graph.applies_g(p):
            dz = du
        else:
            gp = derivative(graph, params, act, p, zs[t][p], dtype)
            if t == T:
                cache["gp"][p] = per_unit(graph, p, gp)
            if graph.act_params[p]:
                learned_grads(graph, params, act, p, zs[t][p], du, grads)
            dz = pieces_out(graph, p, du)
            dz = dz * with_offset(graph, p, gp, offset) if offset else dz * gp
        _acc(grads, graph.bias[p], dz.sum(axis=0))
        for s, key in graph.dense_in[p]:
            ts = t if s < p else t - 1
            _acc(grads, key, hs[ts][s].T @ dz)
            _add(dh, ts, s, dz @ params[key].T)


# ----------------------------------------------------------------------------- unrolled in time
def _initial_state(graph: Graph, x: np.ndarray, steps: int, dtype: Any) -> list:
    """h(0) = 0; an acyclic sweep never reads the previous step, so it skips the zeros."""
    n, L = x.shape[0], len(graph.sizes)
    if steps > 1 or graph.has_feedback:
        return [x] + [np.zeros((n, s), dtype) for s in graph.sizes[1:]]
    return [x] + [None] * (L - 1)


def forward(graph: Graph, params: Params, act: Any, x: np.ndarray, steps: int, alpha: float,
            dtype: Any) -> dict:  # fmt: skip
    """Run ``steps`` steps from rest; returns the cache ``{"h": [t][p], "z": [t][p],
    "g": [t][p]}`` that :func:`backward` reads (t = 0 is the initial state). The output is
    ``cache["h"][-1][-1]``."""
    h_prev = _initial_state(graph, x, steps, dtype)
    hs, zs, gs = [h_prev], [None], [None]
    for _ in range(steps):
        h, z_t, g_t = step(graph, params, act, x, h_prev, alpha, dtype)
        hs.append(h)
        zs.append(z_t)
        gs.append(g_t)
        h_prev = h
    return {"h": hs, "z": zs, "g": gs}


def backward(graph: Graph, params: Params, act: Any, cache: dict, dy: np.ndarray, alpha: float,
             offset: float, dtype: Any) -> Params:  # fmt: skip
    """Gradients of the loss given ``dy = dL/dh_out(T)``, by backpropagation through time.

    ``offset`` is added to g' (Fahlman 1988; 0 gives the exact gradient). Adds ``cache["gp"]``:
    per population g'(z_p(T)) (for the diagnostics; None where g is not applied).
    """
    L, T = len(graph.sizes), len(cache["h"]) - 1
    grads: Params = {}
    cache["gp"] = [None] * L
    # dh[t][p]: adjoint of h_p(t)
    dh: list[list[Any]] = [[None] * L for _ in range(T + 1)]
    dh[T][L - 1] = dy
    for t in range(T, 0, -1):
        step_backward(graph, params, act, cache, t, dh, grads, alpha, offset, dtype)
    for k, v in params.items():  # parameters the loss does not reach (e.g. dead paths)
        if k not in grads:
            grads[k] = np.zeros_like(v)
    return grads


def settle(graph: Graph, params: Params, act: Any, x: np.ndarray, steps: int, alpha: float,
           dtype: Any) -> tuple[list, list]:  # fmt: skip
    """Run ``steps`` steps from rest keeping only the current state (no cache for BPTT): returns
    ``(z, h)`` at the last step, lists over populations (``z[0]`` is None, ``h[0]`` is ``x``)."""
    h_prev = _initial_state(graph, x, steps, dtype)
    z_t: list[Any] = [None] * len(graph.sizes)
    for _ in range(steps):
        h_prev, z_t, _ = step(graph, params, act, x, h_prev, alpha, dtype)
    return z_t, h_prev


# ----------------------------------------------------------------------------- as matrices
def activity_summands(graph: Graph, params: Params) -> list[dict[int, np.ndarray]]:
    """Each population's activity as a sum over the populations that apply g: ``h_p = sum_q
    g_q A[p][q]`` (``g_0`` is the input ``x``). Without skips ``A[p] = {p: I}``; a skip
    ``s -> p`` adds every summand of ``h_s`` (times ``P_sp`` or the identity)."""
    sizes = graph.sizes
    A: list[dict[int, np.ndarray]] = [{0: np.eye(sizes[0])}]
    for p in range(1, len(sizes)):
        terms: dict[int, np.ndarray] = {p: np.eye(sizes[p])}
        for s, key in graph.skip_in[p]:
            for q, M in A[s].items():
                add = M if key is None else M @ params[key]
                terms[q] = terms[q] + add if q in terms else add
        A.append(terms)
    return A


def effective_weights(graph: Graph, params: Params,
                      A: list[dict[int, np.ndarray]]) -> dict[tuple[int, int], np.ndarray]:  # fmt: skip
    """``{(q, d): E_qd}``: the matrix (size_q, size_d) from population (or input) ``q``'s ``g``
    to the input current of population ``d``: ``E_qd = sum over dense s -> d of A_qs W_sd``
    (``A`` from :func:`activity_summands`), in projection order."""
    E: dict[tuple[int, int], np.ndarray] = {}
    for proj in graph.projections:
        if proj.kind != "dense":
            continue
        W = params[proj.key(graph.sizes)].astype(float)
        for q, M in A[proj.source].items():
            key = (q, proj.target)
            E[key] = E[key] + M @ W if key in E else M @ W
    return E
