import json

import numpy as np
import pytest

from biorate import TransferCurve
from biorate.errors import CurveFileError


def _curve(**kw):
    base = dict(measure="fi", x=np.linspace(0, 5e-10, 6), y=[0, 0, 3.5, 40.1, 80.2, 120.0],
                x_unit="A", y_unit="Hz", y_sem=[0, 0, 0.5, 1.1, 0.9, 1.2],
                cv=[np.nan, np.nan, 0.9, 0.3, 0.2, 0.1], series={"extra": ([1, 2, 3, 4, 5, 6], "M")},
                model={"name": "lif", "params": {"tau_m": "20 ms"}}, protocol={"seed": 1})  # fmt: skip
    base.update(kw)
    return TransferCurve(**base)


def test_json_round_trip_is_exact(tmp_path):
    c = _curve()
    c.save(tmp_path / "c.json")
    d = TransferCurve.load(tmp_path / "c.json")
    for name in ("x", "y", "y_sem", "cv"):
        np.testing.assert_array_equal(getattr(d, name), getattr(c, name))
    np.testing.assert_array_equal(d.series["extra"][0], c.series["extra"][0])
    assert d.series["extra"][1] == "M" and d.model == c.model and d.protocol == c.protocol
    raw = json.loads((tmp_path / "c.json").read_text())
    assert raw["kind"] == "transfer_curve" and raw["schema"] == 1 and raw["cv"][0] is None


def test_bad_curves_and_files(tmp_path):
    with pytest.raises(CurveFileError, match="field .y.: expected 6 entries, found 2"):
        _curve(y=[1, 2])
    with pytest.raises(
        CurveFileError, match="field 'x': entry 1: expected a finite number, found nan"
    ):
        _curve(x=[0, np.nan, 1, 2, 3, 4])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CurveFileError, match="not valid JSON"):
        TransferCurve.load(tmp_path / "bad.json")
    (tmp_path / "act.json").write_text('{"kind": "activation"}')
    with pytest.raises(CurveFileError, match="expected kind 'transfer_curve'"):
        TransferCurve.load(tmp_path / "act.json")
    with pytest.raises(CurveFileError, match="no such file"):
        TransferCurve.load(tmp_path / "missing.json")


def test_failed_write_keeps_existing_file(tmp_path):
    from biorate.io import atomic_write

    path = tmp_path / "c.json"
    _curve().save(path)
    before = path.read_text()

    def half_then_fail(f):
        f.write('{"kind": "transfer_cur')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]  # no temp file left behind
    assert TransferCurve.load(path).y[-1] == 120.0


def test_curve_axes_carry_their_unit_for_the_api():
    """DESIGN.md's API passes ``curve.x`` straight back: ``theory.fi(lif, current=curve.x)``."""
    from biorate.errors import UnitError
    from biorate.units import CURRENT, FREQUENCY, to_si_array

    c = _curve()
    np.testing.assert_array_equal(to_si_array(c.x, CURRENT, "current"), c.x)
    with pytest.raises(UnitError, match="expected a frequency"):
        to_si_array(c.x, FREQUENCY, "rate")
    # arithmetic gives plain numbers: curve.x * 1e9 is not amperes any more
    with pytest.raises(UnitError, match="bare number"):
        to_si_array(c.x * 1e9, CURRENT, "current")
    assert c.x[1:].unit == "A" and c.y.unit == "Hz"


def test_single_values_keep_their_unit_and_files_get_normal_permissions(tmp_path):
    import os

    from biorate.units import CURRENT, to_si

    c = _curve()
    assert to_si(c.x[2], CURRENT, "current") == pytest.approx(2e-10)
    assert [to_si(v, CURRENT) for v in c.x] == pytest.approx(list(np.asarray(c.x)))
    c.save(tmp_path / "c.json")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "c.json").stat().st_mode & 0o777 == 0o666 & ~umask
