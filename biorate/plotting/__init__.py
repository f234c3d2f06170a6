"""Every figure biorate draws: data in, an optional ``ax=``, the figure out.

Figures never set matplotlib's backend and never refit or resimulate: they draw what a result
already holds. Each lives beside its kind of data:

- :func:`plot_curve` (``plotting.curve``): a transfer curve beside its theory, deviation, ISI CV
- :func:`plot_fit`, :func:`plot_activation` (``plotting.fit``): a fit and its runners-up; an
  activation with its derivative
- :func:`plot_history` (``plotting.training``): loss, accuracy, gradient norms, saturation
- :func:`plot_deploy` (``plotting.deploy``): spiking against rate accuracy over presentation time
- :func:`plot_sweep` (``plotting.sweep``): fitted parameters against swept model parameters
- :func:`save_figure`: atomic save, format from the suffix
"""

from __future__ import annotations

import importlib
from typing import Any

from ._figure import axes_grid, display_unit, save_figure

_LAZY = {"plot_curve": "curve", "plot_fit": "fit", "plot_activation": "fit",
         "plot_history": "training", "plot_deploy": "deploy", "plot_sweep": "sweep"}  # fmt: skip

__all__ = ["display_unit", "axes_grid", "save_figure", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
