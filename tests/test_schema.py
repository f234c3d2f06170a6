"""The field checks every file format uses (biorate.schema): each wrong type, non-finite or
out-of-range value is the format's own error naming the file and the field; anything else a file
can hold never escapes as another exception (hypothesis over JSON-like values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biorate.errors import BiorateError, CurveFileError
from biorate.schema import Fields, describe

# what json.loads / tomllib can produce, plus NumPy scalars and huge integers
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                     st.integers(min_value=10**300, max_value=10**400),
                     st.floats(allow_nan=True).map(np.float64))  # fmt: skip
_VALUES = st.recursive(_SCALARS, lambda kids: st.lists(kids, max_size=4)
                       | st.dictionaries(st.text(max_size=5), kids, max_size=4), max_leaves=12)  # fmt: skip


def test_each_kind_of_field_is_checked_and_named():
    f = Fields({"x": [1, 2.5, None], "n": 3.0, "unit": "Hz", "t": {"a": 1}, "b": True,
                "big": 10**400, "neg": -1, "s": 5}, "c.json", CurveFileError)  # fmt: skip
    np.testing.assert_array_equal(f.numbers("x", nulls=True), [1, 2.5, np.nan])
    assert f.integer("n", lo=1) == 3 and isinstance(f.integer("n"), int)
    assert f.text("unit", choices=["Hz", "A"]) == "Hz" and f.flag("b") is True
    assert f.table("t").integer("a") == 1 and f.number("missing", default=None) is None
    assert f.table("none", default={}).number("a", default=2.0) == 2.0
    cases = {
        lambda: f.numbers("x"): "c.json: field 'x': entry 2: expected a finite number, found null",
        lambda: f.numbers("s"): "c.json: field 's': expected a list of numbers, found a number",
        lambda: f.number("big"): "expected a finite number, found an integer too large for a float",
        lambda: f.number("neg", lo=0, lo_open=True): "field 'neg': -1 is out of range: must be > 0",
        lambda: f.integer("n", hi=2): "field 'n': 3 is out of range: must be <= 2",
        lambda: f.text("unit", choices=["A"]): "field 'unit': 'Hz' is not one of A",
        lambda: f.text("s"): "expected a string, found a number",
        lambda: f.table("x"): "field 'x': expected a table, found a list",
        lambda: f.table("t").text("a"): "c.json: t: field 'a': expected a string, found a number",
        lambda: f.flag("n"): "expected true or false, found a number",
        lambda: f.number("nope"): "c.json: field 'nope' is missing",
        lambda: f.unknown(["x"]): "unknown field(s) 'b', 'big'",
        lambda: Fields([1], "c.json", CurveFileError): "c.json: expected a table of fields, found a list",
    }  # fmt: skip
    for call, message in cases.items():
        with pytest.raises(CurveFileError) as info:
            call()
        assert message in str(info.value)
    with pytest.raises(CurveFileError, match="3.5"):
        Fields({"n": 3.5}, "f", CurveFileError).integer("n")


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_no_value_escapes_as_another_exception(value):
    f = Fields({"v": value}, "fuzz.json", CurveFileError)
    for get in (f.numbers, f.number, f.integer, f.text, f.flag, f.table, f.strings):
        try:
            out = get("v")
        except CurveFileError as exc:
            assert str(exc).startswith("fuzz.json: ") and len(str(exc)) < 300
            continue
        if get is f.numbers:
            assert out.dtype == float and out.ndim == 1 and np.all(np.isfinite(out))
        elif get is f.number:
            assert math.isfinite(out)
        elif get is f.integer:
            assert type(out) is int
    assert isinstance(describe(value), str)


def test_the_error_is_a_biorate_error_by_default():
    with pytest.raises(BiorateError, match="where: field 'a' is missing"):
        Fields({}, "where").number("a")
