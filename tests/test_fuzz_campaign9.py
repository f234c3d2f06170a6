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


def test_api_options_of_the_wrong_kind_are_biorate_errors(tmp_path):
    """A2: fit(form=array), fit(forms=3/True/array/{}), load_dataset(array) and
    measure_release(pattern=array) raised TypeError/ValueError; forms=0 or {} meant "not given"."""
    import numpy as np

    import biorate as br
    from biorate.errors import BiorateError

    curve = br.theory.fi("lif", current="0nA:1nA:21", sigma="2 mV")
    cases = [
        lambda: br.fit(curve, form=np.array(["sigmoid", "tanh"])),
        lambda: br.fit(curve, forms=3),
        lambda: br.fit(curve, forms=True),
        lambda: br.fit(curve, forms=np.array(["sigmoid", "tanh"])),
        lambda: br.fit(curve, forms=0),
        lambda: br.fit(curve, forms={}),
        lambda: br.fit(curve, forms=[]),
        lambda: br.load_dataset(np.array(["xor", "moons"])),
        lambda: br.measure_release("tm_release", "1Hz:5Hz:2", pattern=np.array(["a", "b"])),
    ]
    for case in cases:
        with pytest.raises(BiorateError):
            case()
    assert br.fit(curve, forms=["sigmoid", "tanh"]).form in ("sigmoid", "tanh")


@pytest.mark.parametrize("command", ["simulate", "theory"])
def test_poisson_input_rates_above_a_megahertz_are_refused(tmp_path, cli, command):
    """C1, E2: simulate fi --drive poisson gave 0 Hz from ~3e10 Hz inputs (Cython), exit 0; the
    theory refused 1e12 Hz with a line about sigma, which the user had not given."""
    code, _, err = cli(command, "fi", "--model", "lif", "--drive", "poisson", "--rate",
                       "0Hz:1e12Hz:3", "-o", tmp_path / "c.json", "--quiet")  # fmt: skip
    assert code == 2 and "rate must be at most 1e+06 Hz" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c.json").exists()


def test_a_newline_in_a_path_is_shown_escaped(tmp_path, cli):
    """E3: a newline in a path was shown as a space: the line named another file."""
    code, _, err = cli("fit", tmp_path / "no\nsuch.json", "-o", tmp_path / "o.json")
    assert code == 2 and "no\\nsuch.json" in err and len(err.splitlines()) == 1, err
