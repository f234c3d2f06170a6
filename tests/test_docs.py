"""The API reference (docs/api): it builds with warnings as errors, every public module has its page,
every top-level name is linked, and every example is on the examples page (with the figures kept in
docs/). The build takes ~6 s and runs no simulation."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import biorate

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"


def _conf_public_modules() -> list[str]:
    """conf.py's PUBLIC_MODULES, read without executing conf.py."""
    tree = ast.parse((API / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PUBLIC_MODULES" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError("docs/api/conf.py defines no PUBLIC_MODULES")


def _toctree_entries(rst: str) -> list[str]:
    entries, inside = [], False
    for line in rst.splitlines():
        if line.startswith(".. toctree::"):
            inside = True
        elif inside and line and not line.startswith(" "):
            inside = False
        elif inside and line.strip() and not line.strip().startswith(":"):
            entries.append(line.strip())
    return entries


def test_every_public_module_has_a_page_in_the_index():
    modules = _conf_public_modules()
    # the public subpackages and modules: biorate's own, less the private (_x), the CLI, the
    # plotting helpers, the schema checks and the activation-regeneration script
    on_disk = {
        "biorate." + (p.stem if p.suffix == ".py" else p.name)
        for p in (ROOT / "biorate").iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file())
    }
    not_documented = {
        "biorate.cli",
        "biorate.plotting",
        "biorate.schema",
        "biorate.activation_regen",
    }
    assert set(modules) == {"biorate"} | (on_disk - not_documented)
    entries = _toctree_entries((API / "index.rst").read_text(encoding="utf-8"))
    assert [e for e in entries if e.startswith("modules/")] == [f"modules/{m}" for m in modules]
    for m in modules:
        page = (API / "modules" / f"{m}.rst").read_text(encoding="utf-8")
        assert f".. automodule:: {m}\n" in page


def test_top_level_page_names_every_public_name():
    page = (API / "modules" / "biorate.rst").read_text(encoding="utf-8")
    for name in biorate.__all__:
        assert f"``{name}``" in page, name


def test_examples_page_lists_every_example():
    page = (API / "examples.rst").read_text(encoding="utf-8")
    for script in sorted((ROOT / "examples").glob("*.py")):
        assert f".. include:: ../../examples/{script.name}\n" in page, script.name
    for figure in re.findall(r"\.\. figure:: \.\./(\S+)", page):
        assert (ROOT / "docs" / figure).is_file(), figure


def test_docs_build_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    out = tmp_path / "html"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    cmd += ["-d", str(tmp_path / "doctrees"), str(API), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not re.search(r"WARNING|ERROR", proc.stderr), proc.stderr

    network = (out / "modules" / "biorate.network.html").read_text(encoding="utf-8")
    assert 'id="biorate.network.RateNetwork"' in network
    assert 'id="biorate.network.RateNetwork.fit"' in network
    curve = (out / "modules" / "biorate.curve.html").read_text(encoding="utf-8")
    assert 'id="biorate.curve.TransferCurve"' in curve
    # numpydoc rendered a Parameters section
    assert "Parameters" in (out / "modules" / "biorate.theory.html").read_text(encoding="utf-8")
    top = (out / "modules" / "biorate.html").read_text(encoding="utf-8")
    assert 'href="biorate.network.html#biorate.network.RateNetwork"' in top
    assert 'href="biorate.curve.html#biorate.curve.TransferCurve"' in top
    examples = (out / "examples.html").read_text(encoding="utf-8")
    assert "What it shows" in examples  # the examples' docstrings
    assert "vanishing_gradients.png" in examples
    assert (out / "_images" / "vanishing_gradients.png").is_file()
