"""Examples 04 and 05 in their --quick modes: they run, print their table and write a figure."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_04_quick(tmp_path, run_example):
    proc = run_example("04_train_with_fitted_activation.py", "--quick", "--out", tmp_path)
    assert proc.stdout.count("test accuracy") == 6
    assert (tmp_path / "04_train_with_fitted_activation.png").stat().st_size > 20_000


def test_example_05_quick(tmp_path):
    ex = load_example("05_vanishing_gradients")
    out, rows = ex.main(["--quick", "--out", str(tmp_path), "--depth", "12"])
    assert out.stat().st_size > 20_000
    (row,) = rows  # quick: sigmoid only
    assert row["activation"] == "sigmoid" and row["depth"] == 12
    assert row["ratio"] > 10  # the identity path keeps the first layer's gradient alive
    assert row["residual"]["test_accuracy"] > row["feedforward"]["test_accuracy"]
