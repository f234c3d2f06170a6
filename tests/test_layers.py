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
