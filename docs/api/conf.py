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
    "biorate.search",
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

nitpicky = False  # numpydoc types are prose ("volts", "SI float"), not references


def _numpydoc_except_modules(app, what, name, obj, options, lines):
    """numpydoc for functions, classes and methods; a module's docstring stays plain
    reStructuredText, whose own sections ("The mapping (derivation)", ...) are not numpydoc's."""
    if what != "module":
        from numpydoc.numpydoc import mangle_docstrings

        mangle_docstrings(app, what, name, obj, options, lines)


def _numpydoc_signature_except_modules(app, what, name, obj, options, sig, retann):
    """numpydoc's signature hook, skipped for modules (``biorate.deploy`` is a callable module)."""
    if what != "module":
        from numpydoc.numpydoc import mangle_signature

        return mangle_signature(app, what, name, obj, options, sig, retann)
    return None


def setup(app):
    from numpydoc.numpydoc import mangle_docstrings, mangle_signature

    wrapped = {
        "autodoc-process-docstring": (mangle_docstrings, _numpydoc_except_modules),
        "autodoc-process-signature": (mangle_signature, _numpydoc_signature_except_modules),
    }
    for event, (original, wrapper) in wrapped.items():
        for listener in list(app.events.listeners[event]):
            if listener.handler is original:
                app.disconnect(listener.id)
        app.connect(event, wrapper)
    app.connect("missing-reference", _resolve_top_level)


def _top_level_target(name: str) -> list[str]:
    """Where a top-level name (``biorate.RateNetwork``) is documented: on its module's page."""
    if name not in biorate.__all__ or name == "__version__":
        return []
    module = biorate._LAZY.get(name) or getattr(getattr(biorate, name), "__module__", "")
    return [f"{module}.{biorate._RENAMED.get(name, name)}", module]


def _resolve_top_level(app, env, node, contnode):
    """A reference to ``biorate.NAME`` or to a bare ``NAME`` of ``biorate.__all__`` that Sphinx
    did not find (the top-level docstring's table of contents, the exceptions in Raises sections)
    resolves to the object on its module's page."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if target.startswith("biorate.") and target.count(".") == 1:
        name = target.split(".", 1)[1]
    elif "." not in target:  # e.g. ``UnitError`` in a Raises section of any module
        name = target
    else:
        return None
    domain = env.get_domain("py")
    for candidate in _top_level_target(name):
        ref = node.deepcopy()
        ref["reftarget"] = candidate
        ref["py:module"] = None
        found = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], candidate, ref, contnode
        )
        if found is None and node["reftype"] != "obj":
            found = domain.resolve_xref(
                env, node["refdoc"], app.builder, "obj", candidate, ref, contnode
            )
        if found is not None:
            return found
    return None
