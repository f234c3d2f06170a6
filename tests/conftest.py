"""Shared test fixtures: the CLI called in-process, the examples run as scripts, matplotlib on Agg.
(Tests that simulate pass ``target="numpy"`` themselves: no ~20 s compile per new code object.)"""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def cli(capsys):
    """Run ``biorate ARGS...`` in-process; returns (exit code, stdout, stderr)."""
    from biorate.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 2
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def run_example():
    """Run ``examples/SCRIPT.py ARGS...`` in a fresh interpreter, as a user would; assert it exits 0
    and return the completed process (stdout, stderr as text)."""
    import subprocess
    import sys
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"

    def run(script: str, *args: object) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(examples / script), *(str(a) for a in args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc

    return run
