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

import os
from pathlib import Path

from .run import DASK_MISSING, SweepResult, compute_point, default_workers, run_sweep
from .spec import SpecError, SweepPoint, SweepSpec, content_hash, load_spec, point_seed
from .summary import read_points, summary_table, write_summary


def plot_sweep(summary: dict, path: str | os.PathLike, form: str | None = None) -> Path:
    """The sweep figure saved to ``path``, whose path is returned, as this name always did;
    :func:`biorate.plotting.plot_sweep` draws it (with ``ax=``) and returns the figure."""
    from ..plotting.sweep import plot_sweep as draw  # matplotlib: only when a figure is drawn

    draw(summary, path, form)
    return Path(path)


__all__ = [
    "plot_sweep",
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
