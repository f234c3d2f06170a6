"""Sphinx configuration for biorate's API reference (built from the docstrings).

Build: ``python -m sphinx -W --keep-going -b html docs/api docs/api/_build/html``.
Nothing here runs Brian2: autodoc imports the modules (Brian2 is imported by ``biorate.spiking``
and ``biorate.deploy``) but no simulation runs; the examples page shows the examples' docstrings and
the figures already in ``docs/``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import biorate  # noqa: E402

project = "biorate"
author = "biorate contributors"
release = biorate.__version__
version = release

extensions = ["sphinx.ext.autodoc", "numpydoc"]

# The public modules, one page each (tests/test_docs.py checks that index.rst lists them all).
PUBLIC_MODULES = [
    "biorate",
    "biorate.units",
    "biorate.curve",
    "biorate.activation",
    "biorate.forms",
    "biorate.fitting",
    "biorate.theory",
    "biorate.spiking",
    "biorate.network",
    "biorate.deploy",
    "biorate.sweep",
    "biorate.datasets",
    "biorate.models",
    "biorate.io",
    "biorate.errors",
    "biorate.pipeline",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []
html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"biorate {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_default_options = {"members": True, "show-inheritance": True}

numpydoc_show_class_members = False  # autodoc's :members: lists them (no autosummary tables)
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

suppress_warnings: list[str] = []


def _numpydoc_except_modules(app, what, name, obj, options, lines):
    """numpydoc for functions, classes and methods; a module's docstring stays plain
    reStructuredText, whose own sections ("The mapping (derivation)", ...) are not numpydoc's."""
    if what != "module":
        from numpydoc.numpydoc import mangle_docstrings

        mangle_docstrings(app, what, name, obj, options, lines)


def setup(app):
    from numpydoc.numpydoc import mangle_docstrings

    event = "autodoc-process-docstring"
    for listener in list(app.events.listeners[event]):
        if listener.handler is mangle_docstrings:
            app.disconnect(listener.id)
    app.connect(event, _numpydoc_except_modules)
