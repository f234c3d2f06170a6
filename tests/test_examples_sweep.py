import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_example_07_quick(tmp_path, run_example):
    pytest.importorskip("distributed")
    args = ("--quick", "--out", tmp_path, "--target", "numpy", "--workers", "2")
    run_example("07_sweep.py", *args)
    assert (tmp_path / "07_sweep.png").stat().st_size > 20_000
    with open(tmp_path / "lif_tau_sigma_quick" / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    # the top rate falls as tau_m grows (slower charging to threshold), at each noise level
    for sigma in {r["sigma_V"] for r in rows}:
        r_max = [float(r["r_max_Hz"]) for r in sorted(rows, key=lambda r: float(r["tau_m_s"]))
                 if r["sigma_V"] == sigma]  # fmt: skip
        assert r_max[0] > r_max[1] > r_max[2]
    # a second run finds every point done
    proc = run_example("07_sweep.py", *args)
    assert "0 computed, 6 already done" in proc.stdout


def test_example_sweep_specs_are_valid():
    from biorate.sweep import load_spec

    specs = sorted((ROOT / "examples" / "sweeps").glob("*.toml"))
    assert len(specs) >= 2
    for path in specs:
        assert len(load_spec(path).points) >= 4
