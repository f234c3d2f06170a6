"""Parameter sweeps on Dask distributed: resumable, every point computed once, nothing lost.

- :mod:`.spec`: the sweep spec (measurement, model, grid, protocol, fit forms) read and validated
  into a :class:`SweepSpec` of :class:`SweepPoint` s, each named by a content hash; its values
  (:mod:`.values`) and protocol table (:mod:`.protocol`);
- :mod:`.run`: :func:`run_sweep` (the Dask client, resuming, writing each point as it arrives)
  and :func:`compute_point` (simulate -> fit -> activation, on a worker);
- :mod:`.summary`: :func:`read_points`, :func:`summary_table`, :func:`write_summary`.

The figure is :func:`biorate.plotting.sweep.plot_sweep`.
"""

from __future__ import annotations

from .run import DASK_MISSING, SweepResult, compute_point, default_workers, run_sweep
from .spec import SpecError, SweepPoint, SweepSpec, content_hash, load_spec, point_seed
from .summary import read_points, summary_table, write_summary

__all__ = [
    "run_sweep",
    "compute_point",
    "SweepResult",
    "load_spec",
    "SweepSpec",
    "SweepPoint",
    "SpecError",
    "summary_table",
    "read_points",
    "write_summary",
    "point_seed",
    "content_hash",
    "default_workers",
    "DASK_MISSING",
]
