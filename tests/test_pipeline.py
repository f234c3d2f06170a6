"""`biorate pipeline --quick` end to end into a temp folder: numbers present, finite, in range."""

import contextlib
import io
import json
import math

import pytest


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from biorate.cli import main

    out = tmp_path_factory.mktemp("pipeline")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["pipeline", "--quick", "--quiet", "--target", "numpy", "--out", str(out)]) == 0
    # --quiet silences progress, not where the result went: one line
    assert printed.getvalue().count("\n") == 1 and str(out / "report.md") in printed.getvalue()
    return out, json.loads((out / "report.json").read_text())


def test_report_files_and_stages(report):
    out, rep = report
    assert (out / "report.md").read_text().startswith("# biorate pipeline report")
    assert all(st["status"] == "ok" for st in rep["stages"].values())
    for name in ("fi_lif.json", "fi_lif_noise.json", "fi_lif.png", "fi_lif_noise.png"):
        assert (out / name).stat().st_size > 0


def test_fi_numbers_in_range(report):
    _, rep = report
    fi = rep["results"]["fi_curves"]
    for label in ("lif", "lif_noise"):
        r = fi[label]
        assert math.isfinite(r["mean_rel_err_continuous"]) and r["mean_rel_err_continuous"] < 0.06
        assert r["mean_rel_err_dt_corrected"] < 0.05
        # quick mode counts spikes for 0.5 s: rates are resolved to 2 Hz / trials
        assert r["max_abs_err_dt_corrected_low_Hz"] < 4.0
        # up to 4 nA (~400 Hz) the dt-corrected prediction holds too (full run: ~1%)
        assert r["max_rel_err_dt_corrected_above_50Hz"] < 0.05
        assert 350 < r["max_rate_Hz"] < 500  # 4 nA: near the refractory ceiling 1/t_ref = 500 Hz


def test_release_and_fit_numbers(report):
    out, rep = report
    tm = rep["results"]["release_curves"]["tm_release"]
    assert tm["max_rel_err_theory"] < 0.15  # quick mode: 20 trials x 5 s; the full run gets < 3%
    for name in ("tm_release", "ca_release"):
        assert rep["results"]["release_curves"][name]["saturation_slope_ratio"] < 0.1
    fits = rep["results"]["fits"]
    for curve in ("fi_lif", "fi_lif_noise", "release_tm_release", "release_ca_release"):
        assert fits[curve]["auto"]["r2"] > 0.98
        assert (out / f"act_{curve}_auto.json").exists()
    # same data: the tanh width is twice the sigmoid width, the other parameters agree
    sig, tanh = fits["fi_lif_noise"]["sigmoid"]["params"], fits["fi_lif_noise"]["tanh"]["params"]
    assert tanh["width"] == pytest.approx(2 * sig["width"], rel=1e-4)
    assert tanh["x_half"] == pytest.approx(sig["x_half"], rel=1e-4)
    # one status everywhere: the report's, as biorate fit prints it (fitting.fit_status)
    from biorate.fitting import fit_status

    md = (out / "report.md").read_text()
    for curve, by_form in fits.items():
        for form, f in by_form.items():
            assert f["status"] == fit_status(f["flags"])
            assert f"| {curve} | {f['form']} | {form} |" in md and f"| {f['status']} |" in md


def test_training_numbers(report):
    out, rep = report
    train = rep["results"]["training"]
    conns = {"feedforward", "residual", "feedback"}
    assert {r["connectivity"] for r in train.values()} == conns
    assert {"sigmoid", "tanh", "relu"} <= {r["activation"] for r in train.values()}
    assert any(r["activation"].startswith("lif_noise") for r in train.values())
    for key, r in train.items():
        assert 0.1 <= r["test_accuracy"] <= 1.0 and r["epochs"] == 8, key
        assert (out / f"net_{key}.npz").exists()
    # quick mode (8 epochs): tanh and relu nets already learn digits well
    assert train["feedforward_tanh"]["test_accuracy"] > 0.9
    assert train["feedforward_relu"]["test_accuracy"] > 0.9


def test_deploy_numbers(report):
    out, rep = report
    dep = rep["results"]["deploy"]
    assert {k.split("_")[0] for k in dep} == {"feedforward", "residual", "feedback"}
    for key, r in dep.items():
        assert r["n_images"] == 60
        assert all(0 <= a <= 1 for a in r["spiking_accuracy"].values())
        # the spiking net follows the rate net: hidden rates correlate, accuracy survives
        assert r["min_correlation"] > 0.9, key
        assert abs(r["gap_points"]) < 10, key
        assert (out / f"spiking_{key}.json").exists() and (out / f"deploy_{key}.png").exists()


def test_a_failing_stage_is_named_and_earlier_results_are_kept(tmp_path, monkeypatch):
    import biorate.pipeline as pl

    def good(ctx):
        (ctx.out / "good.txt").write_text("kept")
        return {"value": 1.0}

    def bad(ctx):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(pl, "STAGES", [("good_stage", good), ("bad_stage", bad), ("never", good)])
    with pytest.raises(pl.PipelineError, match="'bad_stage' failed: simulated failure"):
        pl.run_pipeline(tmp_path, quick=True, progress=False)
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["stages"]["good_stage"]["status"] == "ok"
    assert rep["stages"]["bad_stage"]["status"].startswith("failed")
    assert "never" not in rep["stages"] and rep["results"]["good_stage"] == {"value": 1.0}
    assert (tmp_path / "good.txt").read_text() == "kept"
    assert "bad_stage | failed" in (tmp_path / "report.md").read_text()


def test_training_in_one_process_gives_the_same_nets(report, tmp_path):
    """The training stage's worker processes change nothing: trained again here with another
    number of workers (1 when the fixture's run had one per CPU, else 2), every net's accuracies,
    epochs, first-layer gradient norm and saturation equal the fixture's exactly."""
    import shutil

    import biorate.pipeline as pl

    out, rep = report
    for f in out.glob("act_fi_lif_noise_*.json"):
        shutil.copy(f, tmp_path)
    from biorate.sweep.cluster import default_workers

    workers = 1 if default_workers() > 1 else 2
    ctx = pl.Context(out=tmp_path, quick=True, progress=False, target="numpy", seed=1,
                     workers=workers)  # fmt: skip
    got = json.loads(json.dumps(pl._stage_train(ctx)))
    want = rep["results"]["training"]
    assert list(got) == list(want)  # the same nets, in the report's order
    for key, r in got.items():
        for field in ("test_accuracy", "train_accuracy", "epochs", "stop_reason",
                      "first_layer_grad_norm", "saturated_fraction"):  # fmt: skip
            assert r[field] == want[key][field], (key, field)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_are_refused_before_any_work(tmp_path, workers, cli):
    import biorate.pipeline as pl

    with pytest.raises(pl.PipelineError, match="workers must be a whole number"):
        pl.run_pipeline(tmp_path / "o", quick=True, progress=False, workers=workers)
    assert not (tmp_path / "o").exists()
    if isinstance(workers, int) and not isinstance(workers, bool):
        code, out, err = cli("pipeline", "--quick", "--out", str(tmp_path / "c"), "--workers",
                             str(workers))  # fmt: skip
        assert code == 2 and len(err.strip().splitlines()) == 1 and "workers" in err, err
        assert not (tmp_path / "c").exists()
