"""Module paths of earlier releases, kept importable for a while with a DeprecationWarning.

The redesign into subpackages moved some modules that scripts import directly (the examples used
``biorate.plots.save_figure``). Importing an old path gives the new module and a warning naming
it; the old paths go in a later release.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

MOVED = {
    "biorate.plots": "biorate.plotting",
    "biorate.fitplot": "biorate.plotting.fit",
    "biorate.sweep_spec": "biorate.sweep.spec",
    "biorate.losses": "biorate.network.losses",
    "biorate.optim": "biorate.network.optim",
    "biorate._lsq": "biorate.fitting.lsq",
}


class _Finder:
    """A meta path finder and loader (the protocols, without importlib.abc's import cost)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        return importlib.machinery.ModuleSpec(name, self) if name in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; the old path goes in a later release",
                      DeprecationWarning, stacklevel=2)  # fmt: skip
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:  # the new module is already executed
        pass


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (called by ``biorate/__init__``)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
