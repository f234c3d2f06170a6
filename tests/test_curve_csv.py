"""Transfer curves as CSV (issue 16, section 1): written by the ``.csv`` suffix with units in the
header, read back to the same curve at full float precision, and every malformed CSV refused with
one line (the curve checks of a JSON file apply after parsing)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from biorate.curve import TransferCurve
from biorate.errors import CurveFileError


def release_curve() -> TransferCurve:
    rng = np.random.default_rng(7)
    x = np.linspace(0.0, 50.0, 9)
    y = 0.5 * x / (1 + 0.5 * x * 0.8) + rng.normal(0, 1e-3, x.size)
    cv = rng.uniform(0.1, 1.0, x.size)
    cv[0] = np.nan  # undefined: an empty cell in CSV, null in JSON
    return TransferCurve("release", x, np.abs(y), "Hz", "1/s", y_sem=rng.uniform(0, 0.01, x.size),
                         cv=cv, series={"cleft": (rng.uniform(0, 1e-3, x.size), "mol/m^3")},
                         model={"name": "tm_release", "params": {"U": 0.5, "tau_rec": "800 ms"}},
                         protocol={"duration_s": 2.0, "trials": 3, "seed": 1},
                         provenance={"command": "made, in a test", "created": "now"})  # fmt: skip


def same(a: TransferCurve, b: TransferCurve) -> None:
    assert a.to_dict() == b.to_dict()  # every field, values to the last bit (NaN as null)
    for k in ("x", "y", "y_sem", "cv"):
        assert [repr(float(v)) for v in getattr(a, k)] == [repr(float(v)) for v in getattr(b, k)]
    assert (a.measure, a.x_unit, a.y_unit) == (b.measure, b.x_unit, b.y_unit)


def test_round_trip_json_csv(tmp_path):
    curve = release_curve()
    curve.save(tmp_path / "c.json")
    from_json = TransferCurve.load(tmp_path / "c.json")
    from_json.save(tmp_path / "c.csv")
    same(TransferCurve.load(tmp_path / "c.csv"), curve)
    text = (tmp_path / "c.csv").read_text()
    assert "x [Hz],y [1/s],y_sem [1/s],cv,cleft [mol/m^3]\n" in text
    assert '# measure: "release"\n' in text and "\n0.0," in text
    assert text.splitlines()[-9].split(",")[3] == ""  # the undefined CV


def test_csv_is_read_by_numpy_and_csv_readers(tmp_path):
    curve = release_curve()
    curve.save(tmp_path / "c.CSV")  # the suffix in any case
    lines = (tmp_path / "c.CSV").read_text().splitlines()
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert [float(r["x [Hz]"]) for r in rows] == list(curve.x)
    assert [float(r["y [1/s]"]) for r in rows] == list(curve.y)
    data = np.loadtxt(tmp_path / "c.CSV", delimiter=",", comments="#", skiprows=7, usecols=(0, 1))
    assert np.array_equal(data[:, 1], curve.y)


def test_cli_simulate_theory_fit_csv(cli, tmp_path):
    """theory fi -o fi.csv and simulate release -o r.csv write CSV; fit reads it back."""
    code, out, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:0.5nA:21",
                         "--sigma", "2mV", "-o", tmp_path / "th.csv")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:0.5nA:21",
                       "--sigma", "2mV", "-o", tmp_path / "th.json")  # fmt: skip
    a, b = TransferCurve.load(tmp_path / "th.csv"), TransferCurve.load(tmp_path / "th.json")
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and a.x_unit == "A"
    assert (tmp_path / "th.csv").read_text().count("\nx [A],y [Hz]\n") == 1
    code, out, err = cli("fit", tmp_path / "th.csv", "--form", "sigmoid",
                         "-o", tmp_path / "act.json")  # fmt: skip
    assert code == 0, err
    act = json.loads((tmp_path / "act.json").read_text())
    assert act["x_unit"] == "A" and act["fit"]["r2"] > 0.9
    code, _, err = cli("simulate", "release", "--model", "tm_release", "--rate", "1Hz:40Hz:3",
                       "--duration", "1s", "--trials", "1", "--seed", "1", "--target", "numpy",
                       "--quiet", "-o", tmp_path / "r.csv")  # fmt: skip
    assert code == 0, err
    r = TransferCurve.load(tmp_path / "r.csv")
    assert r.measure == "release" and r.x_unit == "Hz" and len(r) == 3


GOOD = '# measure: "fi"\nx [A],y [Hz],y_sem [Hz]\n0.0,0.0,0.0\n1e-10,10.5,0.5\n'
BAD = {
    "no header": ('# measure: "fi"\n0.0,0.0\n1e-10,10\n', "header cell '0.0'"),
    "empty": ('# measure: "fi"\n', "no header row"),
    "no y column": ('# measure: "fi"\nx [A],rate [Hz]\n0,1\n', "no 'y' column"),
    "no unit": ('# measure: "fi"\nx,y [Hz]\n0,1\n', "unit in brackets"),
    "text": (GOOD + "2e-10,fast,0.1\n", "line 5, column 'y [Hz]': 'fast' is not a number"),
    "nan": (GOOD + "2e-10,nan,0.1\n", "'nan' is not a number"),
    "arabic digits": (GOOD + "2e-10,\u0665\u0660,0.1\n", "is not a number"),
    "short row": (GOOD + "2e-10,3\n", "line 5 has 2 cells"),
    "wrong units": (GOOD.replace("y [Hz],y_sem [Hz]", "y [A],y_sem [A]"), "unit of current"),
    "unknown unit": (GOOD.replace("x [A]", "x [furlong]"), "x_unit"),
    "sem unit": (GOOD.replace("y_sem [Hz]", "y_sem [kHz]"), "y_sem is in y's unit"),
    "no measure": (GOOD.split("\n", 1)[1], "measure"),
    "bad meta": ('# measure "fi"\n' + GOOD, "line 1: expected '# FIELD: JSON value'"),
    "bad json": (GOOD.replace('"fi"', "fi"), "line 1: measure: not a JSON value"),
    "negative rate": (GOOD + "2e-10,-80,0.1\n", "a firing rate must be >= 0"),
    "x undefined": (GOOD + ",3,0.1\n", "x"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_csv_refused(cli, tmp_path, case):
    text, words = BAD[case]
    path = tmp_path / "c.csv"
    path.write_text(text)
    with pytest.raises(CurveFileError, match=None) as info:
        TransferCurve.load(path)
    assert str(path) in str(info.value) and words in str(info.value), str(info.value)
    code, _, err = cli("fit", path, "--form", "sigmoid", "-o", tmp_path / "act.json")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert words in err, err


def test_good_csv_and_series_name_clash(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(GOOD)
    c = TransferCurve.load(path)
    assert list(c.y) == [0.0, 10.5] and c.x_unit == "A" and c.provenance == {}
    clash = TransferCurve("fi", [0.0, 1.0], [0.0, 2.0], "A", "Hz", series={"cv": ([1, 2], "1")})
    with pytest.raises(CurveFileError, match="column 'cv' already"):
        clash.save(tmp_path / "clash.csv")
    assert not (tmp_path / "clash.csv").exists()
