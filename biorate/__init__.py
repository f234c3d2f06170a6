"""biorate: bridge spiking (Brian2) and rate models of neurons.

What a user types, as a table of contents:

- models: :func:`load_model`, :func:`list_models`, :class:`Model`
- spiking side (Brian2, imported lazily): :func:`measure_fi`, :func:`measure_release`
- theory (SciPy): ``biorate.theory`` (analytic LIF rate, Siegert formula, Tsodyks-Markram)
- shared data type: :class:`TransferCurve`
- fitting (SciPy): :func:`fit` -> :class:`Fit` -> :class:`Activation` (:func:`get_activation`)
- rate networks (NumPy): :class:`RateNetwork`, :func:`load_dataset`
- back to spikes (Brian2): :func:`deploy`; the main job: :func:`run_pipeline`; sweeps: :func:`run_sweep`
- errors: :class:`BiorateError` and its subclasses
"""

from __future__ import annotations

import importlib
from typing import Any

from . import _moved
from ._version import __version__
from .curve import TransferCurve
from .errors import (
    BiorateError,
    CurveFileError,
    DataError,
    FitError,
    ModelError,
    NetworkError,
    ProtocolError,
    UnitError,
    UnknownModelError,
    UnknownParameterError,
)
from .models import Model, list_models, load_model

_moved.install()  # old module paths (biorate.plots, ...) with a DeprecationWarning

# name -> module: imported on first use so that `import biorate` stays fast (Brian2, SciPy)
_LAZY = {
    "measure_fi": "biorate.spiking",
    "measure_release": "biorate.spiking",
    "measure_release_probability": "biorate.spiking",
    "theory": "biorate.theory",
    "fit": "biorate.fitting",
    "Fit": "biorate.fitting",
    "Activation": "biorate.activation",
    "get_activation": "biorate.activation",
    "RateNetwork": "biorate.network",
    "load_dataset": "biorate.datasets",
    "deploy": "biorate.deploy",
    "run_pipeline": "biorate.pipeline",
    "run_sweep": "biorate.sweep",
    "load_sweep_spec": "biorate.sweep",
}

_RENAMED = {"load_sweep_spec": "load_spec"}

__all__ = [
    "__version__",
    "TransferCurve",
    "Model",
    "load_model",
    "list_models",
    "BiorateError",
    "CurveFileError",
    "DataError",
    "FitError",
    "ModelError",
    "NetworkError",
    "ProtocolError",
    "UnitError",
    "UnknownModelError",
    "UnknownParameterError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        attr = _RENAMED.get(name, name)
        value = module if module.__name__.endswith("." + name) else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'biorate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
