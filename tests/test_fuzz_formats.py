"""Fuzzing the curve and activation file formats and the unit parser (issue 18): whatever a file or a
string holds, loading either gives valid content or raises the format's own BiorateError, with one
line naming the file and the field; never a TypeError, an OverflowError or a silent inf."""

import copy
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biorate import TransferCurve
from biorate.activation import Activation, shipped_activations_dir
from biorate.errors import CurveFileError, UnitError
from biorate.units import TIME, parse_quantity, parse_range, parse_unit, to_si, to_si_array

FUZZ = settings(derandomize=True, deadline=None, max_examples=250,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def _curve_dict() -> dict:
    c = TransferCurve(measure="fi", x=np.linspace(0, 5e-10, 4), y=[0, 3.5, 40.1, 80.2],
                      x_unit="A", y_unit="Hz", y_sem=[0, 0.5, 1.1, 0.9], cv=[np.nan, 0.9, 0.3, 0.2],
                      series={"extra": ([1, 2, 3, 4], "M")},
                      model={"name": "lif", "params": {"tau_m": "20 ms"}},
                      protocol={"seed": 1, "trials": 3, "duration_s": 1.0, "dt_s": 1e-4})  # fmt: skip
    return json.loads(json.dumps(c.to_dict()))


CURVE = _curve_dict()
ACTIVATIONS = [json.loads(p.read_text()) for p in sorted(shipped_activations_dir().glob("*.json"))]
ACTIVATIONS.append(Activation.builtin("leaky_relu", alpha=0.1).to_dict())

# JSON-like values, with the troublemakers of the issue: NaN, inf, 1e308, 400-digit integers,
# control characters, nesting
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.just(10**400), st.just(-(10**30)),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324]),
    st.text(max_size=12), st.sampled_from(["", "1", "NaN", "inf", "A", "Hz", "\x00\n", "ü"]),
)  # fmt: skip
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                          max_size=3),
    max_leaves=8,
)  # fmt: skip


def _paths(d: dict, prefix: tuple = ()) -> list[tuple]:
    """Every key path into the nested tables of ``d`` (lists are leaves)."""
    out = []
    for k, v in d.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out += _paths(v, (*prefix, k))
    return out


@st.composite
def mutated(draw, bases: list[dict]) -> dict:
    """A valid dict with one field replaced, deleted, nested, truncated, or junk added."""
    d = copy.deepcopy(draw(st.sampled_from(bases)))
    path = draw(st.sampled_from(_paths(d)))
    parent = d
    for k in path[:-1]:
        parent = parent[k]
    key, old = path[-1], parent[path[-1]]
    op = draw(st.sampled_from(["replace", "replace", "delete", "nest", "truncate", "junk"]))
    if op == "replace":
        parent[key] = draw(json_values)
    elif op == "delete":
        del parent[key]
    elif op == "nest":
        parent[key] = draw(st.sampled_from([[old], {"v": old}]))
    elif op == "truncate" and isinstance(old, list | str):
        parent[key] = old[: draw(st.integers(0, max(0, len(old) - 1)))]
    else:
        parent[draw(st.text(min_size=1, max_size=6))] = draw(json_values)
    return d


def _check_error(exc: Exception, where: str) -> None:
    msg = str(exc)
    assert msg.startswith(where) and "\n" not in msg and len(msg) < 600, msg


@FUZZ
@given(mutated([CURVE]))
def test_fuzzed_curve_dicts_load_or_raise_curve_file_error(d):
    try:
        c = TransferCurve.from_dict(d, "c.json")
    except CurveFileError as exc:
        _check_error(exc, "c.json: ")
        return
    assert c.x.size >= 1 and np.all(np.isfinite(c.x)) and c.y.shape == c.x.shape
    assert isinstance(c.x_unit, str) and isinstance(c.y_unit, str) and isinstance(c.measure, str)
    assert all(isinstance(t, dict) for t in (c.model, c.protocol, c.provenance))
    json.dumps(c.to_dict(), allow_nan=False)  # what loads can be saved again


@FUZZ
@given(mutated(ACTIVATIONS), st.floats(-1e6, 1e6))
def test_fuzzed_activation_dicts_load_or_raise_curve_file_error(d, z):
    try:
        a = Activation.from_dict(d, "a.json")
    except CurveFileError as exc:
        _check_error(exc, "a.json: ")
        return
    for v in (a.x_scale, a.x_offset, a.y_scale, *a.params.values()):
        assert math.isfinite(v) and abs(v) <= 1e100
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no NaN
        g, dg = a(np.array([z, 0.0])), a.derivative(np.array([z, 0.0]))
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(dg))
    assert isinstance(a.fit_flags, tuple) and isinstance(a.fit_ok, bool)


units_text = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\A[-+]?[0-9.e]{0,6}(nan|inf)? ?[a-zµΩ]{0,3}(\^-?[0-9]{1,4})?\Z"),
    st.sampled_from(["1 kA^200", "nan ms", "inf ms", "1e400 ms", "1 ms^99999999999", "\x00 ms",
                     "1 mV^-1000", "0nA:1nA:" + "9" * 5000, "1e308 A:-1e308 A:3", "1" * 5000]),
)  # fmt: skip


@FUZZ
@given(units_text)
def test_fuzzed_unit_strings_raise_only_unit_error(text):
    for parse in (parse_unit, parse_quantity, parse_range):
        try:
            out = parse(text, name="p")
        except UnitError as exc:
            assert str(exc).startswith("p: ") and "\n" not in str(exc), str(exc)
            continue
        values = np.atleast_1d(out[0])
        assert np.all(np.isfinite(values)), (text, out)
        if parse is parse_unit:
            assert values[0] > 0


@FUZZ
@given(st.one_of(units_text, json_values))
def test_fuzzed_quantities_raise_only_unit_error(value):
    for convert in (to_si, to_si_array):
        try:
            out = convert(value, TIME, "tau_m")
        except UnitError as exc:
            assert str(exc).startswith("tau_m: ") and "\n" not in str(exc), str(exc)
            continue
        assert np.all(np.isfinite(out))


# --- the families of the issue, one case each -------------------------------------------------


@pytest.mark.parametrize(
    "change, match",
    [({"y": 5}, "c.json: field 'y': expected a list of numbers, found a number"),
     ({"model": [1]}, "field 'model': expected a table, found a list"),
     ({"protocol": "x"}, "field 'protocol': expected a table"),
     ({"provenance": 3}, "field 'provenance': expected a table"),
     ({"series": [1]}, "field 'series': expected a table"),
     ({"x_unit": [1, 2]}, "field 'x_unit': expected a string, found a list"),
     ({"x": []}, "field 'x': expected at least 1"),
     ({"y": [1.0, 2.0]}, "field 'y': expected 4 entries, found 2"),
     ({"x": [0, None, 1, 2]}, "field 'x': entry 1"),
     ({"x": [0, 1, 2, 10**400]}, "too large for a float"),
     ({"schema": True}, "field 'schema'"),
     ({"schema": 2}, "schema 2 is not supported"),
     ({"protocol": {"trials": "3"}}, "protocol: field 'trials'"),
     ({"protocol": {"duration_s": -1}}, "protocol: field 'duration_s'"),
     ({"series": {"e": {"values": 5}}}, "series: e: field 'values'"),
     ({"comment": "typo"}, "unknown field")],
)  # fmt: skip
def test_curve_file_families(tmp_path, change, match):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({**CURVE, **change}))
    with pytest.raises(CurveFileError, match=match.replace("(", r"\(")) as exc:
        TransferCurve.load(p)
    assert str(exc.value).startswith(str(p))


LIF = ACTIVATIONS[1]


@pytest.mark.parametrize(
    "change, match",
    [({"y_scale": 1e308}, "field 'y_scale': 1e\\+308 is out of range: its magnitude must be at most 1e\\+100"),
     ({"x_scale": 1e-300}, "field 'x_scale': 1e-300 is out of range"),
     ({"x_scale": 0}, "field 'x_scale': 0 must be positive"),
     ({"x_offset": None}, "field 'x_offset': expected a finite number, found null"),
     ({"y_scale": "2"}, "field 'y_scale': expected a finite number, found '2'"),
     ({"y_scale": True}, "field 'y_scale': expected a finite number, found true/false"),
     ({"params": {**LIF["params"], "tau": -1.0}}, "parameter tau must be positive"),
     ({"params": {**LIF["params"], "tau": 10**400}}, "params: field 'tau': expected a finite number, found an integer too large"),
     ({"params": 5}, "field 'params': expected a table"),
     ({"fit": {"flags": 5}}, "fit: field 'flags'"),
     ({"fit": {"z_range": [0, "x"]}}, "fit: field 'z_range'"),
     ({"source": [1]}, "field 'source': expected a table"),
     ({"x_unit": [1, 2]}, "field 'x_unit': expected a string"),
     ({"form": 5}, "field 'form': expected a string"),
     ({"form": "wiggle"}, "unknown activation form 'wiggle'"),
     ({"schema": "1"}, "field 'schema'")],
)  # fmt: skip
def test_activation_file_families(tmp_path, change, match):
    p = tmp_path / "a.json"
    p.write_text(json.dumps({**LIF, **change}))
    with pytest.raises(CurveFileError, match=match) as exc:
        Activation.load(p)
    assert str(exc.value).startswith(str(p)) and str(exc.value).count(str(p)) == 1


def test_valid_files_load_exactly_as_written(tmp_path):
    for p in sorted(shipped_activations_dir().glob("*.json")):
        d, a = json.loads(p.read_text()), Activation.load(p)
        assert a.params == d["params"] and a.fit == d["fit"] and a.source == d["source"]
        assert (a.x_scale, a.x_offset, a.y_scale) == (d["x_scale"], d["x_offset"], d["y_scale"])
    p = tmp_path / "c.json"
    TransferCurve.from_dict(CURVE).save(p)
    c = TransferCurve.load(p)
    assert c.to_dict() == CURVE


@pytest.mark.parametrize(
    "text, match",
    [("1 kA^200", "tau_m: unit 'kA\\^200': exponent 200 is out of range"),
     ("nan ms", "tau_m: 'nan ms' is not a finite quantity"),
     ("inf ms", "tau_m: 'inf ms' is not a finite quantity"),
     ("1e400 ms", "tau_m: '1e400 ms' is not a finite quantity: it overflows a float"),
     ("", "tau_m: cannot parse quantity ''"),
     ("20 m\x00s", "tau_m: cannot parse unit"),
     ("1 ms^99999999999999999999", "exponent 999999999... is out of range"),
     ("0ms:1ms:" + "9" * 5000, "COUNT must be from 1 to 1,000,000"),
     ("1e308 s:-1e308 s:3", "its span overflows a float"),
     ("0 s:nan s:3", "contains NaN or inf")],
)  # fmt: skip
def test_unit_families_name_the_parameter(text, match):
    with pytest.raises(UnitError, match=match):
        to_si_array(text, TIME, "tau_m")


def test_huge_integers_and_non_strings_are_unit_errors():
    with pytest.raises(UnitError, match="tau_m: cannot read an integer too large"):
        to_si(10**5000, TIME, "tau_m")
    with pytest.raises(UnitError, match="expected a unit string, got a list"):
        parse_unit([1, 2])  # type: ignore[arg-type]
    assert parse_quantity("20 ms") == (0.02, TIME) and parse_unit("mol/l")[0] == 1000.0
