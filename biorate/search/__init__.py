"""Machine search for activation functions (issue 15): regularized evolution over formulas, or
over the parameters of a spiking neuron (or a release synapse) whose fitted curve is the
activation.

- :mod:`.spec`: the search spec (space, strategy, objective) read and validated into a
  :class:`SearchSpec`;
- :mod:`.space`: the formula space: random formulas and mutations over the grammar of
  :mod:`biorate.forms.expression`;
- :mod:`.neuron`: the neuron space (candidates, and :func:`~.neuron.neuron_activation`: a
  candidate's curve, theory or measured, fitted as ``biorate fit`` does), its ``[neuron]`` table
  read by :mod:`.neuron_spec`;
- :mod:`.strategy`: :func:`evolve`, regularized evolution in reproducible batches;
- :mod:`.objective`: :func:`evaluate_candidate`, the task that scores one candidate (validation
  accuracy of a network, its spiking accuracy with ``spiking_duration``, or the distance to a
  target function);
- :mod:`.run`: :func:`run_search` (on the sweep machinery: Dask, content-hash files, resuming).

The figure is :func:`biorate.plotting.search.plot_search`.
"""

from __future__ import annotations

from .objective import evaluate_candidate
from .run import SearchResult, run_search
from .space import FormulaSpace
from .spec import SearchSpec, load_search_spec
from .strategy import Candidate, evolve

__all__ = ["run_search", "SearchResult", "load_search_spec", "SearchSpec", "FormulaSpace",
           "evolve", "Candidate", "evaluate_candidate"]  # fmt: skip
