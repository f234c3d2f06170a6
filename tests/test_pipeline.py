"""`biorate pipeline --quick` end to end into a temp folder: numbers present, finite, in range."""

import json
import math

import pytest


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from biorate.cli import main

    out = tmp_path_factory.mktemp("pipeline")
    assert main(["pipeline", "--quick", "--quiet", "--target", "numpy", "--out", str(out)]) == 0
    return out, json.loads((out / "report.json").read_text())


def test_report_files_and_stages(report):
    out, rep = report
    assert (out / "report.md").read_text().startswith("# biorate pipeline report")
    assert all(st["status"] == "ok" for st in rep["stages"].values())
    for name in ("fi_lif.json", "fi_lif_noise.json", "fi_lif.png", "fi_lif_noise.png"):
        assert (out / name).stat().st_size > 0


def test_fi_numbers_in_range(report):
    _, rep = report
    fi = rep["results"]["fi_curves"]
    for label in ("lif", "lif_noise"):
        r = fi[label]
        assert math.isfinite(r["mean_rel_err_continuous"]) and r["mean_rel_err_continuous"] < 0.06
        # quick mode counts spikes for 0.5 s: rates are resolved to 2 Hz / trials
        assert r["max_abs_err_dt_corrected_Hz"] < 4.0
        assert 120 < r["max_rate_Hz"] < 140  # closed form at 0.5 nA: 129 Hz
