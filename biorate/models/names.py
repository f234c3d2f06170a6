"""Parameter names a model may use: identifiers that Brian2 would not silently resolve to
something else (:func:`check_names`), with Brian2's reserved names, functions and constants."""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ModelError

__all__ = [
    "check_names",
    "IDENT",
    "IDENT_RULE",
    "BRIAN_FUNCTIONS",
    "BRIAN_CONSTANTS",
    "brian2_unit_names",
]

IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
IDENT_RULE = "a letter, then letters, digits or _"
# Names Brian2 resolves before (or instead of) a namespace entry: a parameter so named would be
# ignored with a warning, or change what the equations mean. Brian2 2.9's lists
# (brian2.equations.equations.check_identifier_reserved, brian2.equations.refractory,
# brian2.core.functions.DEFAULT_FUNCTIONS/DEFAULT_CONSTANTS; tests/test_fuzz_semantics_models.py
# checks that these cover them).
_SPECIAL = {
    "t": "the simulation time", "dt": "the time step", "t_in_timesteps": "the time in steps",
    "xi": "white noise", "i": "the neuron index", "N": "the number of neurons",
    "lastspike": "the last spike time", "not_refractory": "the refractory state",
    "refractory": "the refractory period", "refractory_until": "the refractory state",
}  # fmt: skip
BRIAN_FUNCTIONS = frozenset(
    "abs arccos arcsin arctan ceil clip cos cosh exp expm1 exprel floor int log log10 log1p "
    "poisson rand randn sign sin sinh sqrt tan tanh timestep".split()
)
BRIAN_CONSTANTS = frozenset({"e", "pi", "inf"})


@functools.cache
def brian2_unit_names() -> frozenset[str]:
    """The names of Brian2's units (``mV``, ``ms``, ``Hz``, ... about 1,700), from the list
    shipped with biorate (``_data/brian2_units.txt``: the model checks need no Brian2)."""
    text = (Path(__file__).resolve().parent.parent / "_data" / "brian2_units.txt").read_text(
        encoding="utf-8"
    )
    return frozenset(ln for ln in text.split("\n") if ln and not ln.startswith("#"))


def _reserved(name: str) -> str | None:
    """Why Brian2 (or biorate) reserves ``name``, or None."""
    if keyword.iskeyword(name):
        return "a Python keyword"
    if name in _SPECIAL:
        return f"Brian2's name for {_SPECIAL[name]}"
    if name.startswith("xi_"):
        return "Brian2's name for a white noise"
    if name in BRIAN_FUNCTIONS:
        return "a Brian2 function"
    if name in BRIAN_CONSTANTS:
        return "a Brian2 constant"
    if name.endswith(("_pre", "_post")):
        return "Brian2's suffix for pre- and postsynaptic variables"
    if name.startswith("biorate_"):
        return "the prefix of biorate's own variables"
    if name in brian2_unit_names():
        return "the name of a Brian2 unit (the equations' units would resolve to it)"
    return None


def check_names(params: Mapping[str, Any], variables: set[str], where: str) -> None:
    """Refuse a parameter whose name is not an identifier, is reserved (:func:`_reserved`), or is
    one of the model's own equation ``variables`` (Brian2 would use the variable and silently
    ignore the parameter)."""
    for name in params:
        if not (isinstance(name, str) and IDENT.match(name)):
            raise ModelError(f"{where}: [parameters]: {str(name)[:40]!r} is not a valid name "
                             f"({IDENT_RULE})")  # fmt: skip
        why = _reserved(name)
        if why is None and name in variables:
            why = "a variable of the model's equations, which Brian2 would use instead"
        if why is not None:
            raise ModelError(f"{where}: [parameters]: parameter {name!r} is {why}; "
                             "rename the parameter")  # fmt: skip
