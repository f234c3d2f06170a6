"""Campaign 6's findings (issue 18): sweep records edited by hand, a sweep's outputs against its
inputs, graphs whose output does not depend on the input, the pipeline's inputs and outputs."""

from __future__ import annotations

import json

import pytest

SPEC = """schema = 1
name = "t"
measure = "fi"
[model]
name = "lif"
[grid]
tau_m = ["10 ms", "20 ms"]
[protocol]
drive = "current"
current = "0nA:2nA:6"
duration = "100 ms"
transient = "0 ms"
trials = 1
dt = "0.1 ms"
seed = 1
target = "numpy"
[fit]
forms = ["sigmoid"]
"""

EDITS = [
    lambda d: d.pop("index"),
    lambda d: d.update(fits="x"),
    lambda d: d["fits"]["sigmoid"].update(stderr=None),
    lambda d: d["fits"]["sigmoid"].update(r2="good"),
    lambda d: d["fits"]["sigmoid"].update(params=[1, 2]),
    lambda d: d["fits"]["sigmoid"].update(flags=[1, 2]),
    lambda d: d["point"][next(iter(d["point"]))].update(value=float("nan")),
    lambda d: d["inputs"]["protocol"].update(seed="abc"),
    lambda d: d.update(status="done"),
    lambda d: d.pop("curve"),
    lambda d: d["curve"].update(y=5),
    lambda d: d.update(index="x"),
]


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    pytest.importorskip("distributed")
    from biorate.sweep import run_sweep

    tmp = tmp_path_factory.mktemp("sweep")
    (tmp / "s.toml").write_text(SPEC)
    run_sweep(tmp / "s.toml", tmp / "o", workers=1, progress=False)
    return tmp


@pytest.mark.parametrize("edit", EDITS)
def test_an_edited_point_record_is_not_trusted(sweep_dir, edit):
    """Such files counted as done and the summary then raised KeyError/TypeError/ArrowTypeError
    (exit 1): now they are computed again, as a search's evaluation files are."""
    from biorate.sweep import load_spec
    from biorate.sweep.run import _done

    spec = load_spec(sweep_dir / "s.toml")
    point = spec.points[0]
    path = sweep_dir / "o" / "points" / f"{point.hash}.json"
    original = path.read_text()
    assert _done(sweep_dir / "o", spec, point)  # the record as written is trusted
    try:
        data = json.loads(original)
        edit(data)
        path.write_text(json.dumps(data))
        assert not _done(sweep_dir / "o", spec, point)
    finally:
        path.write_text(original)


def test_an_edited_point_record_is_computed_again_through_the_cli(sweep_dir, cli):
    from biorate.sweep import load_spec

    spec = load_spec(sweep_dir / "s.toml")
    path = sweep_dir / "o" / "points" / f"{spec.points[0].hash}.json"
    original = json.loads(path.read_text())
    path.write_text(json.dumps({**original, "fits": {"sigmoid": {"r2": "good"}}}))
    code, out, err = cli("sweep", sweep_dir / "s.toml", "-o", sweep_dir / "o", "--workers", "1",
                         "--quiet")  # fmt: skip
    assert code == 0 and "1 computed, 1 already done" in out, (out, err)
    assert json.loads(path.read_text())["fits"] == original["fits"]


@pytest.mark.parametrize("where", ["sweep.json", "summary.csv", "summary.json"])
def test_a_sweep_never_replaces_its_spec(tmp_path, cli, where):
    """The spec inside OUTDIR under an output's name was replaced by that output (exit 0)."""
    (tmp_path / "o").mkdir()
    spec = tmp_path / "o" / where
    spec.write_text(SPEC)
    code, _, err = cli("sweep", spec, "-o", tmp_path / "o", "--workers", "1")
    assert code == 2 and "the spec and -o" in err and err.count("\n") == 1, err
    assert spec.read_text() == SPEC


def test_a_plot_symlinked_to_the_spec_is_refused(tmp_path, cli):
    (tmp_path / "s.toml").write_text(SPEC)
    (tmp_path / "p.png").symlink_to(tmp_path / "s.toml")
    code, _, err = cli("sweep", tmp_path / "s.toml", "-o", tmp_path / "o", "--plot",
                       tmp_path / "p.png")  # fmt: skip
    assert code == 2 and "the spec and --plot name the same file" in err, err
    assert (tmp_path / "s.toml").read_text() == SPEC and not (tmp_path / "o").exists()


def test_an_empty_output_folder_is_refused(tmp_path, cli):
    (tmp_path / "s.toml").write_text(SPEC)
    code, _, err = cli("sweep", tmp_path / "s.toml", "-o", "")
    assert code == 2 and "-o names no folder" in err, err
