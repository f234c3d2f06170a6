"""Campaign 9's findings (issue 18): figure names without a suffix, calcium levels a clamp cannot
integrate, and biorate's warnings once Brian2 is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("name", ["q.", "q.png.", ".png", "q"])
def test_a_figure_name_without_a_suffix_is_written_as_png(tmp_path, cli, name):
    """A1: "q." passed the format check (no suffix: PNG) but its staged temp file ".q.-TOKEN-part"
    read as the format "-TOKEN-part": a traceback after the command's work."""
    code, _, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:1nA:21", "--sigma",
                       "2mV", "-o", tmp_path / "c.json")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("fit", tmp_path / "c.json", "--form", "soft_lif", "-o", tmp_path / "a.json",
                       "--plot", tmp_path / name)  # fmt: skip
    assert code == 0, err
    assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in tmp_path.iterdir() if "part" in p.name]


def test_calcium_beyond_a_molar_is_refused(tmp_path, cli):
    """C1: from ~1e100 uM the clamp integrated to NaN and the curve was written with nulls."""
    pytest.importorskip("brian2")
    code, _, err = cli("simulate", "release-probability", "--model", "ca_release", "--calcium",
                       "0uM:1e100uM:3", "-o", tmp_path / "p.json", "--quiet")  # fmt: skip
    assert code == 2 and "calcium must lie in [0, 1 M]" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "p.json").exists()


def test_biorates_warnings_stay_one_line_when_the_command_imports_brian2(tmp_path):
    """E1: once Brian2 was imported by the command, its capture of Python's warnings printed
    biorate's as three lines with the source path ("WARNING ... [py.warnings]")."""
    args = [
        "biorate",
        "simulate",
        "fi",
        "--model",
        "lif",
        "--current",
        "1nA",
        "--duration",
        "0.05s",
        "--trials",
        "1",
        "--target",
        "numpy",
        "-o",
        str(tmp_path / "s.json"),
        "--quiet",
    ]
    script = f"import sys; sys.argv = {args!r}; from biorate.cli import main; sys.exit(main())"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)  # as the console script runs it  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines == ["biorate: warning: current has a single level (1 nA): the curve is one point, "
                     "too few to fit an activation"], out.stderr  # fmt: skip
