import numpy as np
import pytest
from brian2 import Hz, ms, mV, nA

from biorate.errors import UnitError
from biorate.units import (
    CURRENT,
    FREQUENCY,
    RESISTANCE,
    TIME,
    VOLTAGE,
    format_quantity,
    parse_quantity,
    parse_range,
    parse_unit,
    to_si,
    to_si_array,
)  # fmt: skip


@pytest.mark.parametrize(
    "text, value, dim",
    [("20 ms", 0.02, TIME), ("-70mV", -0.07, VOLTAGE), ("100 Mohm", 1e8, RESISTANCE),
     ("0.5 nA", 5e-10, CURRENT), ("3 kHz", 3000.0, FREQUENCY), ("2e-3 s", 2e-3, TIME),
     ("1 msecond", 1e-3, TIME), ("5 µA", 5e-6, CURRENT)],
)  # fmt: skip
def test_parse_quantity(text, value, dim):
    v, d = parse_quantity(text)
    assert v == pytest.approx(value, rel=1e-12)
    assert d == dim


def test_compound_units():
    assert parse_unit("1/s") == (1.0, FREQUENCY)
    scale, dim = parse_unit("mV/ms")
    assert scale == pytest.approx(1.0) and dim == (2, 1, -4, -1, 0, 0, 0)
    assert parse_unit("uM")[0] == pytest.approx(1e-3)  # micromolar in mol/m^3


def test_brian2_quantities_convert_exactly():
    assert to_si(20 * ms, TIME) == pytest.approx(0.02)
    np.testing.assert_allclose(to_si_array(np.array([1, 2]) * nA, CURRENT), [1e-9, 2e-9])
    with pytest.raises(UnitError, match="expected a time"):
        to_si(5 * mV, TIME, "tau_m")


def test_wrong_unit_and_bare_numbers_are_refused():
    with pytest.raises(UnitError, match="tau_m: expected a time, got '5 mV'"):
        to_si("5 mV", TIME, "tau_m")
    with pytest.raises(UnitError, match="bare number"):
        to_si(5, TIME, "tau_m")
    assert to_si(0, VOLTAGE, "sigma") == 0.0  # zero is zero in any unit
    with pytest.raises(UnitError, match="unknown unit"):
        parse_quantity("3 parsecs")
    with pytest.raises(UnitError, match="NaN"):
        to_si_array([np.nan, 1.0] * Hz, FREQUENCY, "rate")


def test_ranges():
    x, dim = parse_range("0nA:0.5nA:51")
    assert dim == CURRENT and x.size == 51 and x[-1] == pytest.approx(5e-10)
    x, dim = parse_range("0:20Hz:3")
    np.testing.assert_allclose(x, [0, 10, 20])
    assert dim == FREQUENCY
    x, _ = parse_range("1 Hz, 2 Hz")
    np.testing.assert_allclose(x, [1, 2])
    for bad in ["0nA:nan:5", "0nA:1nA", "0nA:1mV:3", "0nA:1nA:x", "0nA:1nA:0"]:
        with pytest.raises(UnitError):
            parse_range(bad)


@pytest.mark.parametrize(
    "value, dim", [(0.02, TIME), (-0.0525, VOLTAGE), (1.5e8, RESISTANCE), (3e-10, CURRENT)]
)
def test_format_round_trip(value, dim):
    text = format_quantity(value, dim)
    assert parse_quantity(text) == (pytest.approx(value, rel=1e-12), dim)


def test_lists_of_brian2_quantities_and_concentrations():
    from brian2 import uM

    from biorate.units import CONCENTRATION, si_unit

    np.testing.assert_allclose(to_si_array([3 * uM, 5 * uM], CONCENTRATION), [3e-3, 5e-3])
    with pytest.raises(UnitError, match="mixed dimensions"):
        to_si_array([3 * uM, 5 * mV], CONCENTRATION)
    # SI values of concentrations are mol/m^3 = mM: the unit written beside them must say so
    assert parse_unit(si_unit(CONCENTRATION)) == (1.0, CONCENTRATION)


def test_range_count_is_capped_before_allocating():
    from biorate.units import MAX_RANGE_COUNT, parse_range

    x, _ = parse_range(f"0nA:1nA:{MAX_RANGE_COUNT}")
    assert x.size == MAX_RANGE_COUNT and x[-1] == 1e-9
    for count in (MAX_RANGE_COUNT + 1, 10**11, 0):
        with pytest.raises(UnitError, match="COUNT must be from 1 to 1,000,000"):
            parse_range(f"0nA:1nA:{count}")


@pytest.mark.parametrize(
    "num, den",
    [("Hz", "nA"), ("Hz", "nA/cm^2"), ("1", "1/s"), ("1", "Hz"), ("mM", "1/s*nA"), ("1", "1")],
)
def test_divide_units_is_the_quotient(num, den):
    """divide_units(a, b) parses to a's scale/dimension divided by b's (Form.units wrote
    "1/1/s" for the inverse of "1/s", which reads as 1/s)."""
    from biorate.units import divide_units

    (sa, da), (sb, db) = parse_unit(num), parse_unit(den)
    s, d = parse_unit(divide_units(num, den))
    assert d == tuple(a - b for a, b in zip(da, db, strict=True))
    assert s == pytest.approx(sa / sb, rel=1e-12)
