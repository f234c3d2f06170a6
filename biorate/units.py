"""Physical units without Brian2: parse ``"20 ms"``, accept Brian2 quantities, keep SI floats inside.

biorate stores every number in SI base units and names the unit beside it (DESIGN.md: "never a bare
float whose unit is a guess"). This module is deliberately light (NumPy only) so that the theory,
fitting and network modules can check units without importing the simulator.

A dimension is a 7-tuple of integer exponents in Brian2's order
``(metre, kilogram, second, ampere, kelvin, mole, candela)``, so a Brian2 ``Quantity`` converts
exactly: its SI value is ``np.asarray(q)`` and its dimension ``q.dim._dims``.
"""

from __future__ import annotations

from . import _unit_convert, _unit_parse
from ._unit_convert import *  # noqa: F403 - UnitArray, to_si, to_si_array: re-exported
from ._unit_parse import *  # noqa: F403 - the names of _unit_parse.__all__, re-exported
from ._unit_parse import AMOUNT, LENGTH, MASS, MAX_EXPONENT  # noqa: F401 - importable as before
from .errors import UnitError  # noqa: F401 - importable from here as before the split

__all__ = [*_unit_convert.__all__, *_unit_parse.__all__]
