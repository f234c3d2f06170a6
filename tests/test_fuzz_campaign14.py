"""Campaign 14's findings (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_a_sweep_into_a_latin1_folder_imports_brian2_on_its_worker(tmp_path):
    """A1: campaign 13's fix (Brian2 imported with the command line made encodable) missed the
    Dask worker's import: `sweep -o $'sw\\xe9'` failed every point with UnicodeEncodeError
    tracebacks from Brian2's logger, exit 1."""
    pytest.importorskip("brian2")
    pytest.importorskip("distributed")
    exe = str(Path(sys.executable).with_name("biorate"))
    name = os.fsdecode(b"sw\xe9")
    out = subprocess.run([exe, "sweep", str(ROOT / "examples" / "sweeps" / "tm_release_points.toml"),
                          "-o", name, "--quiet", "--workers", "1"], capture_output=True,
                         cwd=tmp_path, timeout=600)  # fmt: skip
    err = out.stderr.decode(errors="replace")
    assert out.returncode == 0, err
    assert "Traceback" not in err and "UnicodeEncodeError" not in err
    assert (tmp_path / name / "summary.json").exists()
