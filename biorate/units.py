"""Physical units without Brian2: parse ``"20 ms"``, accept Brian2 quantities, keep SI floats inside.

biorate stores every number in SI base units and names the unit beside it (DESIGN.md: "never a bare
float whose unit is a guess"). This module is deliberately light (NumPy only) so that the theory,
fitting and network modules can check units without importing the simulator.

A dimension is a 7-tuple of integer exponents in Brian2's order
``(metre, kilogram, second, ampere, kelvin, mole, candela)``, so a Brian2 ``Quantity`` converts
exactly: its SI value is ``np.asarray(q)`` and its dimension ``q.dim._dims``.
"""

from __future__ import annotations

from ._unit_convert import UnitArray, to_si, to_si_array
from ._unit_parse import (
    CAPACITANCE,
    CHARGE,
    CONCENTRATION,
    CONDUCTANCE,
    CURRENT,
    DIMENSIONLESS,
    FREQUENCY,
    MAX_RANGE_COUNT,
    RESISTANCE,
    TIME,
    VOLTAGE,
    Dim,
    dim_name,
    divide_units,
    format_quantity,
    integer,
    parse_quantity,
    parse_range,
    parse_unit,
    si_unit,
    unit_scale,
)

__all__ = [
    "UnitArray",
    "Dim",
    "DIMENSIONLESS",
    "TIME",
    "FREQUENCY",
    "VOLTAGE",
    "CURRENT",
    "RESISTANCE",
    "CONDUCTANCE",
    "CAPACITANCE",
    "CONCENTRATION",
    "CHARGE",
    "MAX_RANGE_COUNT",
    "parse_unit",
    "divide_units",
    "parse_quantity",
    "to_si",
    "to_si_array",
    "parse_range",
    "integer",
    "format_quantity",
    "dim_name",
    "si_unit",
    "unit_scale",
]
