"""The spiking side: transfer curves measured on Brian2 (the only package, with ``biorate.deploy``,
that imports Brian2).

- :mod:`.protocol` (NumPy only, imported freely): protocol, size, seed and target checks, the
  drives and presynaptic patterns, the worker-safe Brian2 import;
- :mod:`.brian` (Brian2): quantities, group building, error mapping, code-generation target,
  seeded noise and the run;
- :mod:`.fi` (:func:`measure_fi`) and :mod:`.release` (:func:`measure_release`,
  :func:`measure_release_probability`): one Brian2 network and one run per curve.

``import biorate.spiking`` stays light: the measurements, and with them Brian2, are imported on
first use of their names (the lazy boundary that keeps ``import biorate`` fast).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["measure_fi", "measure_release", "measure_release_probability"]

# name -> submodule holding it, imported (with Brian2) on first use
_LAZY = {
    "measure_fi": ".fi",
    "measure_release": ".release",
    "measure_release_probability": ".release",
}


_SUBMODULES = ("fi", "release", "brian", "protocol")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:  # biorate.spiking.fi without importing it first, as before
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
