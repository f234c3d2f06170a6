"""The initial parameters of a rate network: weights of variance gain/fan-in (LeCun et al. 1998;
He et al. 2015 for rectifiers), biases where the activation is half-way between its bounds.
NumPy only."""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Graph

__all__ = ["initial_params", "midpoint"]


def midpoint(act: Any) -> float:
    """Pre-activation z where ``act`` is half-way between its bounds (bisection on [-50, 50]);
    0 when a bound is infinite or ``act`` does not cross the half-way level there."""
    lo, hi = (float(b) for b in act.bounds)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return 0.0
    level = 0.5 * (lo + hi)
    a, b = -50.0, 50.0
    ga, gb = (float(np.asarray(act(np.array([v])))[0]) - level for v in (a, b))
    if ga * gb >= 0:
        return 0.0
    for _ in range(60):  # 100 / 2^60: far below float64 resolution of z
        m = 0.5 * (a + b)
        gm = float(np.asarray(act(np.array([m])))[0]) - level
        if gm * ga > 0:
            a, ga = m, gm
        else:
            b = m
    z = 0.5 * (a + b)
    return 0.0 if abs(z) < 1e-12 else z


def initial_params(graph: Graph, act: Any, init_std: float | None,
                   seed: int | None) -> tuple[dict[str, np.ndarray], np.random.Generator]:  # fmt: skip
    """Fresh float64 parameters of ``graph`` and the generator that drew them (training goes on
    drawing from it): weights ~ N(0, std^2) with std = ``init_std`` or sqrt(gain/fan-in) (fan-in
    = all dense inputs of the target; gain = ``act.init_gain`` in every layer, as in He et al.
    2015 and PyTorch's kaiming_normal), learned skips ~ N(0, 1/size_source); biases 0 for the
    linear output and :func:`midpoint` for populations applying ``g``: 0 for sigmoid and tanh,
    1 for a fitted Hill curve (whose g(z) = z^n/(1+z^n) is flat near 0, so that units would
    otherwise start silent and never learn), 0 for unbounded ranges. Learned activation
    parameters (PReLU's slope, ...) start at the activation's value in every unit; a maxout
    population's dense projections and bias have k columns per unit (its pieces)."""
    sizes = graph.sizes
    bias0 = midpoint(act)
    rng = np.random.default_rng(seed)
    gain = act.init_gain
    params: dict[str, np.ndarray] = {}
    for d in range(1, len(sizes)):
        fan_in = sum(sizes[s] for s, _ in graph.dense_in[d])
        std = init_std if init_std is not None else np.sqrt(gain / fan_in)
        for s, key in graph.dense_in[d]:
            params[key] = rng.normal(0.0, std, (sizes[s], graph.width(d)))
        for s, key in graph.skip_in[d]:
            if key is not None:
                params[key] = rng.normal(0.0, 1 / np.sqrt(sizes[s]), (sizes[s], sizes[d]))
        params[graph.bias[d]] = np.full(graph.width(d), bias0 if graph.applies_g(d) else 0.0)
        for name, key in graph.act_params[d]:
            params[key] = np.full(sizes[d], float(act.params[name]))
    return params, rng
