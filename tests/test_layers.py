"""The package's layers (DESIGN.md, "Layout") hold: import-linter's contracts in pyproject.toml.

A layer imports only from the layers below it; Brian2 is imported only in spiking/ and deploy/,
SciPy only in theory/ and fitting/, matplotlib only in plotting/ (and the CLI's figure-format check);
the network needs NumPy alone."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True))")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", run.stdout), run.stdout[-2000:]


def test_a_broken_layer_is_caught(tmp_path):
    """The contract can fail: a copy of the package where the network imports the CLI breaks it."""
    shutil.copytree(ROOT / "biorate", tmp_path / "biorate")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    net = next((tmp_path / "biorate").glob("network*"))
    target = net / "__init__.py" if net.is_dir() else net
    target.write_text(target.read_text() + "\nfrom biorate.cli import main  # noqa\n")
    code = ("import sys; sys.path.insert(0, '.'); from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True))")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0
    assert "biorate.network" in run.stdout and "biorate.cli" in run.stdout, run.stdout[-2000:]


def test_old_module_paths_still_import_with_a_deprecation_warning():
    """Scripts written for the flat layout (the examples imported biorate.plots) keep working for
    a while: the old path gives the new module and a DeprecationWarning naming it."""
    code = ("import warnings, biorate; warnings.simplefilter('error'); "
            "from biorate._moved import MOVED\n"
            "import importlib\n"
            "for old, new in MOVED.items():\n"
            "    try:\n"
            "        importlib.import_module(old)\n"
            "    except DeprecationWarning as w:\n"
            "        assert new in str(w), w\n"
            "    else:\n"
            "        raise SystemExit(old + ' gave no warning')\n"
            "warnings.simplefilter('ignore')\n"
            "for old, new in MOVED.items():\n"
            "    assert importlib.import_module(old) is importlib.import_module(new), old\n"
            "from biorate.plots import plot_curve, save_figure\n"
            "print('ok')")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "ok", run.stdout + run.stderr[-2000:]


def test_moved_figure_names_keep_returning_the_saved_path(tmp_path):
    """biorate.deploy.plot_deploy and biorate.sweep.plot_sweep returned the saved file's path,
    and still do; biorate.plotting's functions return the figure."""
    import numpy as np

    from biorate.deploy import plot_deploy
    from biorate.sweep import plot_sweep

    report = {"durations_s": [0.05, 0.1], "spiking_accuracy": [0.9, 0.95], "rate_accuracy": 0.96,
              "n_images": 100, "connectivity": "feedforward",
              "mapping": {"activation": "lif_noise", "encoding": "current"},
              "populations": [{"name": "h1", "neurons_per_image": 3, "correlation": 0.9}],
              "samples": {"raster_label": 1, "raster": {"h1": {"i": [0], "t_s": [0.01]}},
                          "scatter": {"h1": {"predicted_hz": [1.0, 2.0], "spiking_hz": [1.1, 2.1]}}}}  # fmt: skip
    assert plot_deploy(report, tmp_path / "d.png") == tmp_path / "d.png"
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    summary = {"name": "s", "measure": "fi", "model": "lif", "forms": ["sigmoid"],
               "axes": [{"name": "tau_m", "column": "tau_m_s", "unit": "s"}],
               "params": [{"name": "width", "column": "sigmoid_width", "unit": "A",
                           "stderr": None, "forms": ["sigmoid"]}],
               "rows": [{"form": "sigmoid", "r2": 0.99, "tau_m_s": t, "sigmoid_width": 1e-10}
                        for t in np.linspace(0.01, 0.03, 3)]}  # fmt: skip
    assert plot_sweep(summary, tmp_path / "s.png") == tmp_path / "s.png"
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
