"""Campaign 6's findings (issue 18): sweep records edited by hand, a sweep's outputs against its
inputs, graphs whose output does not depend on the input, the pipeline's inputs and outputs."""

from __future__ import annotations

import json

import numpy as np
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
    lambda d: d.update(fits="x"),
    lambda d: d["fits"]["sigmoid"].update(stderr=None),
    lambda d: d["fits"]["sigmoid"].update(r2="good"),
    lambda d: d["fits"]["sigmoid"].update(params=[1, 2]),
    lambda d: d["fits"]["sigmoid"].update(flags=[1, 2]),
    lambda d: d["inputs"]["protocol"].update(seed="abc"),
    lambda d: d.update(status="done"),
    lambda d: d.pop("curve"),
    lambda d: d["curve"].update(y=5),
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
    from biorate.sweep.records import _done

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


def test_a_records_index_and_values_come_from_the_spec(sweep_dir, cli):
    """A grid extended or reordered keeps a point's hash and moves its index: the record is
    reused (not computed again) and the summary takes the index and values from this spec, so an
    edited index or value is harmless."""
    from biorate.io import write_record
    from biorate.sweep import load_spec

    spec = load_spec(sweep_dir / "s.toml")
    path = sweep_dir / "o" / "points" / f"{spec.points[0].hash}.json"
    original = json.loads(path.read_text())
    name = next(iter(original["point"]))
    # as another grid's run wrote it (sealed: an edit by hand would break its digest)
    write_record(path, {**original, "index": "x",
                        "point": {name: {**original["point"][name], "value": 5.0}}})  # fmt: skip
    try:
        code, out, err = cli("sweep", sweep_dir / "s.toml", "-o", sweep_dir / "o", "--workers",
                             "1", "--quiet")  # fmt: skip
        assert code == 0 and "0 computed, 2 already done" in out, (out, err)
        rows = json.loads((sweep_dir / "o" / "summary.json").read_text())["rows"]
        assert [r["index"] for r in rows] == [0, 1] and rows[0]["tau_m_s"] == 0.01
    finally:
        path.write_text(json.dumps(original))


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


def test_the_pipelines_deploy_stage_runs_the_nets_this_run_trained(tmp_path, monkeypatch):
    """C4: it deployed every net_*_lif_noise_*.npz in OUTDIR, an earlier run's included, and
    reported them as this run's."""
    from pathlib import Path

    import biorate.pipeline as pl

    ctx = pl.Context(out=tmp_path, quick=True, progress=False, target="numpy", seed=0)
    ctx.report = {"results": {"training": {"feedforward_lif_noise_soft_lif": {},
                                           "feedforward_sigmoid": {}}}}  # fmt: skip
    (tmp_path / "net_volume_lif_noise_old.npz").write_bytes(b"stale")
    loaded = []
    monkeypatch.setattr(pl.RateNetwork, "load",
                        staticmethod(lambda p: loaded.append(Path(p).name) or "net"))  # fmt: skip
    report = {"spiking_accuracy": [0.9, 0.9, 0.9], "rate_accuracy": 0.9,
              "populations": [{"output": False, "correlation": 0.99}],
              "mapping": {"method": "exact", "dt_s": 1e-3}}  # fmt: skip
    monkeypatch.setattr(pl, "deploy", lambda *a, **k: report)
    monkeypatch.setattr(pl, "plot_deploy", lambda *a, **k: None)
    results = pl._stage_deploy(ctx)
    assert loaded == ["net_feedforward_lif_noise_soft_lif.npz"]
    assert list(results) == ["feedforward_lif_noise_soft_lif"]


def test_the_pipeline_reads_models_from_the_models_option(tmp_path, cli):
    """C3: `biorate --models DIR pipeline` ignored DIR (the shipped lif ran, exit 0); a broken
    DIR/lif.toml now fails the first stage as $BIORATE_MODELS does. And --out '' is refused."""
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "lif.toml").write_text('schema = 1\nname = "lif"\nkind = "neuron"\n')
    code, _, err = cli("--models", tmp_path / "md", "pipeline", "--quick", "--quiet", "--target",
                       "numpy", "--out", tmp_path / "o")  # fmt: skip
    assert code == 2 and "stage 'fi_curves' failed" in err and "lif.toml" in err, err
    code, _, err = cli("--models", tmp_path / "missing", "pipeline", "--out", tmp_path / "p")
    assert code == 2 and "missing" in err and not (tmp_path / "p").exists(), err
    code, _, err = cli("pipeline", "--out", "")
    assert code == 2 and "--out names no folder" in err, err
    import os

    assert "BIORATE_MODELS" not in os.environ or str(tmp_path) not in os.environ["BIORATE_MODELS"]


def test_a_graph_whose_output_does_not_depend_on_the_input_is_refused():
    """C1: such a graph trained to chance, 'converged', exit 0. A hidden population off every
    input-to-output path is wasted, not wrong: a warning (a net saved that way still loads)."""
    import warnings

    from biorate.errors import BiorateWarning, NetworkError
    from biorate.network import RateNetwork

    with pytest.raises(NetworkError, match="output population 3 is not reachable from the input"):
        RateNetwork([2, 8, 8, 2], connectivity=[(0, 1), (2, 2), (2, 3)])
    for projections, match in (([(0, 1), (1, 3), (2, 2), (2, 3)], "population 2 is not reachable"),
                               ([(0, 1), (0, 2), (1, 3)], "population 2 has no path to the output")):  # fmt: skip
        with pytest.warns(BiorateWarning, match=match):
            RateNetwork([2, 8, 8, 2], connectivity=projections)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RateNetwork([2, 8, 8, 2], connectivity=[(0, 1), (1, 2), (2, 3), (3, 1)])  # feedback: fine


def test_a_sweep_whose_every_fit_failed_exits_2_with_the_summary_kept(tmp_path, cli):
    """C5: every point's fit failed (a silent neuron) and the sweep exited 0 without a word (and
    2 with --plot); now it says so and exits 2, as a search whose every candidate was rejected."""
    pytest.importorskip("distributed")
    (tmp_path / "s.toml").write_text(SPEC.replace('"0nA:2nA:6"', '"0nA:0.1nA:6"'))
    code, out, err = cli("sweep", tmp_path / "s.toml", "-o", tmp_path / "o", "--workers", "1",
                         "--quiet")  # fmt: skip
    assert code == 2 and "every point failed (its simulation or fit)" in err, (out, err)
    assert (tmp_path / "o" / "summary.csv").read_text().count("fit_failed") == 2


@pytest.mark.parametrize("command", [["theory", "fi"], ["simulate", "fi", "--trials", "1",
                                                         "--duration", "0.1s", "--target", "numpy"]])  # fmt: skip
def test_a_model_given_by_name_is_never_replaced(tmp_path, cli, command):
    """D1: `--models md ... --model mylif -o md/mylif.toml` replaced the model file (exit 0); a
    path was refused, a name was not resolved."""
    import biorate as br

    (tmp_path / "md").mkdir()
    text = br.load_model("lif").path.read_text().replace('name = "lif"', 'name = "mylif"')
    (tmp_path / "md" / "mylif.toml").write_text(text)
    code, _, err = cli("--models", tmp_path / "md", *command, "--model", "mylif", "--current",
                       "0nA:1nA:5", "-o", tmp_path / "md" / "mylif.toml")  # fmt: skip
    assert code == 2 and "--model mylif and -o name the same file" in err, err
    assert (tmp_path / "md" / "mylif.toml").read_text() == text


def test_a_model_files_name_is_its_file_name(tmp_path, cli):
    """C2: md/mine.toml saying name = "lif" was listed as lif (the shipped one "shadowed", with
    the shipped parameters shown), loaded as "mine", and its curves' source named lif: deploy
    would rebuild the shipped lif (and a name no file has could not be deployed at all). A
    model's name is its file's name."""
    import biorate as br
    from biorate.errors import ModelError

    text = br.load_model("lif").path.read_text().replace('tau_m = "20 ms"', 'tau_m = "5 ms"')
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "mine.toml").write_text(text)
    with pytest.raises(ModelError, match="'lif' is not the file's name 'mine'"):
        br.load_model(tmp_path / "md" / "mine.toml")
    listed = {m["path"]: m for m in br.list_models(tmp_path / "md")}
    assert listed[str(tmp_path / "md" / "mine.toml")]["description"].startswith("INVALID")
    assert not [m for m in listed.values() if m["shadowed"] and m["name"] == "lif"]
    code, _, err = cli("--models", tmp_path / "md", "simulate", "fi", "--model", "mine",
                       "--current", "0nA:1nA:3", "-o", tmp_path / "c.json")  # fmt: skip
    assert code == 2 and "name it 'mine'" in err, err
    (tmp_path / "md" / "mine.toml").write_text(text.replace('name = "lif"', 'name = "mine"'))
    assert br.load_model(tmp_path / "md" / "mine.toml").name == "mine"


def test_api_model_arguments_of_the_wrong_type_are_biorate_errors():
    """A3: these raised TypeError (and check_dt accepted NaN, check_drive a junk drive)."""
    import biorate as br

    lif = br.load_model("lif")
    for call in (lambda: br.load_model("lif", models_dir=3), lambda: br.list_models(3),
                 lambda: lif.check_dt("0.1 ms"), lambda: lif.check_dt(float("nan")),
                 lambda: lif.check_drive("junk", 0.0, 0.0)):  # fmt: skip
        with pytest.raises(br.BiorateError):
            call()
    lif.check_dt(1e-4)  # a valid step passes


def test_a_curve_in_nanoamperes_is_read_in_si_and_its_fit_deploys():
    """F2: a curve file with x in nA fitted and trained, then deploy and export refused it after
    the training ('needs x in A'): files hold SI values, so such a file is converted as it is
    read, and its fit is an activation in A that deploy accepts."""
    import biorate as br
    from biorate.deploy.mapping import spiking_origin

    curve = br.theory.fi("lif", current="0nA:4nA:41", sigma="2 mV")
    d = curve.to_dict() | {"x": [v * 1e9 for v in curve.x], "x_unit": "nA"}
    again = br.TransferCurve.from_dict(d)
    assert again.x_unit == "A" and np.allclose(again.x, curve.x, rtol=1e-15, atol=0)
    act = br.fit(again, "soft_lif").activation()
    assert act.x_unit == "A"
    assert spiking_origin(act).model.name == "lif"
    d = curve.to_dict() | {"y": [v / 1e3 for v in curve.y], "y_unit": "kHz"}
    assert br.TransferCurve.from_dict(d).y_unit == "Hz"


def test_local_workers_leave_ctrl_c_to_this_process():
    """A2: a terminal's Ctrl-C reaches the process group, and the workers printed 30-100 lines of
    tracebacks; they now start with SIGINT ignored, and this process keeps its own handler."""
    pytest.importorskip("distributed")
    import signal

    from biorate.sweep.cluster import connect_cluster

    before = signal.getsignal(signal.SIGINT)
    client, cluster = connect_cluster(None, 1, 5.0)
    try:
        assert signal.getsignal(signal.SIGINT) is before
        seen = client.run(lambda: int(signal.getsignal(signal.SIGINT) == signal.SIG_IGN))
        assert list(seen.values()) == [1]
    finally:
        client.close()
        cluster.close()


def test_a_deployment_whose_output_never_fires_says_so(tmp_path, cli):
    """E6: accuracy 0.0 was reported without saying that the output population was silent."""
    from biorate.network import RateNetwork

    net = RateNetwork([64, 8, 10], activation="lif_noise", seed=0).initialize()
    net.params_[net.graph_.bias[-1]][:] = -50.0  # every output unit far below its threshold
    path = net.save(tmp_path / "net.npz")
    code, out, err = cli("deploy", path, "--images", "3", "--duration", "20ms", "--target",
                         "numpy", "--method", "euler", "--quiet")  # fmt: skip
    assert code == 0, err
    assert "3 of 3 images undecided: no output neuron fired" in out
    assert "biorate: warning: no output neuron fired in 20 ms for any image" in err


def test_a_long_population_name_is_refused_in_one_short_line(tmp_path, cli):
    """E1: a 100,000-character name was printed whole in the error (3,000+ characters)."""
    long = "p" * 100_000
    (tmp_path / "g.toml").write_text(f'populations = [2, {{name = "{long}", size = 4}}, 2]\n')
    code, _, err = cli("train", "--dataset", "xor", "--connectivity", tmp_path / "g.toml",
                       "-o", tmp_path / "n.npz")  # fmt: skip
    assert code == 2 and len(err) < 400 and "at most 200 characters" in err, err[:300]


def test_a_network_file_given_as_an_activation_is_named_as_such(tmp_path, cli):
    """E4: `train --activation net.npz` said "cannot read ('utf-8' codec can't decode ...)"."""
    from biorate.network import RateNetwork

    RateNetwork([2, 3, 2], activation="sigmoid", seed=0).initialize().save(tmp_path / "n.npz")
    code, _, err = cli("train", "--dataset", "xor", "--activation", tmp_path / "n.npz", "-o",
                       tmp_path / "m.npz")  # fmt: skip
    assert code == 2 and "is a network file (.npz), not an activation JSON" in err, err


def test_a_boolean_is_no_quantity():
    """Review: `transient = false` in a search's [neuron] table read as 0 s (False is a zero)."""
    from biorate.errors import UnitError
    from biorate.units import TIME, to_si, to_si_array

    for value in (False, True, np.bool_(True)):
        with pytest.raises(UnitError, match="expected a quantity"):
            to_si(value, TIME, "transient")
    with pytest.raises(UnitError, match="expected a quantity"):
        to_si_array(False, TIME, "current")
    assert to_si(0, TIME, "transient") == 0.0  # a zero is a zero in any unit


def test_a_graph_files_unreachable_output_is_named_by_its_names(tmp_path, cli):
    (tmp_path / "g.toml").write_text(
        'populations = [2, {name = "mid", size = 8}, {name = "loop", size = 8}, 2]\n'
        '[[projections]]\nsource = "in"\ntarget = "mid"\n[[projections]]\nsource = "loop"\n'
        'target = "loop"\n[[projections]]\nsource = "loop"\ntarget = "out"\n'
    )
    code, _, err = cli("train", "--dataset", "xor", "--connectivity", tmp_path / "g.toml", "-o",
                       tmp_path / "n.npz")  # fmt: skip
    assert code == 2 and err.count("\n") == 1, err
    assert "the output population 3 ('out') is not reachable from the input" in err, err
