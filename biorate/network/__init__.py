"""Rate-coded networks (NumPy only): populations plus projections, one engine for every
connectivity.

- :mod:`~biorate.network.graph`: :class:`Projection`, :func:`build_projections`,
  :data:`CONNECTIVITIES` and the :class:`Graph` that indexes them
- :mod:`~biorate.network.graphfile`: a connectivity as a graph file (TOML or JSON)
- :mod:`~biorate.network.dynamics`: THE forward pass and its backward pass (BPTT), used by
  training and by deployment (:mod:`biorate.deploy`) alike
- :mod:`~biorate.network.equilibrium`: training at the fixed point (implicit differentiation,
  convergence diagnostics, the loop-gain safeguard)
- :mod:`~biorate.network.train`: the minibatch loop, stopping, :class:`History`, divergence checks
- :mod:`~biorate.network.persist`: the ``.npz`` file (schema 1)
- :mod:`~biorate.network.losses`, :mod:`~biorate.network.optim`: losses with their links, SGD/Adam
- :mod:`~biorate.network.checks`: argument and data checks
- :mod:`~biorate.network.report`: the report of a trained network on a data set
- :mod:`~biorate.network.rate_network`: :class:`RateNetwork`, the scikit-learn style facade
"""

from __future__ import annotations

from .checks import FlaggedActivationWarning
from .graph import CONNECTIVITIES, NAMED, Graph, Projection, build_projections
from .rate_network import RateNetwork, midpoint
from .train import DIVERGENCE_FACTOR, History

__all__ = [
    "RateNetwork",
    "FlaggedActivationWarning",
    "Projection",
    "History",
    "Graph",
    "build_projections",
    "midpoint",
    "CONNECTIVITIES",
    "NAMED",
    "DIVERGENCE_FACTOR",
]
