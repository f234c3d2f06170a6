"""Campaign 8's findings (issue 18): the global --models option, the pipeline's workers and OUTDIR,
API arguments of the wrong kind, deployments whose rates or memory cannot be, training that blows
the weights up in its last step, formulas between the check's grid points, the LIF formulas'
inputs, and records whose results were edited with their types intact."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tests.test_fuzz_campaign7 import FORMULA, NEURON, _search


def test_the_models_option_reaches_every_command(tmp_path, cli):
    """F1: deploy, export nir and search ignored `biorate --models DIR` (unknown model)."""
    from biorate.network import RateNetwork

    pytest.importorskip("brian2")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "models", "neurons", "lif.toml")).read()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "mylif.toml").write_text(text.replace('name = "lif"', 'name = "mylif"'))
    code, _, err = cli("--models", tmp_path / "m", "simulate", "fi", "--model", "mylif",
                       "--current", "0nA:1nA:6", "--sigma", "1mV", "--duration", "0.2s",
                       "--trials", "1", "--target", "numpy", "-o", tmp_path / "c.json",
                       "--quiet")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("fit", tmp_path / "c.json", "--form", "sigmoid", "-o", tmp_path / "a.json")
    assert code == 0, err
    RateNetwork([2, 3, 2], activation=str(tmp_path / "a.json"), seed=0).initialize().save(
        tmp_path / "n.npz"
    )
    code, out, err = cli("--models", tmp_path / "m", "deploy", tmp_path / "n.npz", "--dataset",
                         "xor", "--images", "2", "--duration", "20ms", "--quiet")  # fmt: skip
    assert code == 0 and "exact integration" in out, err
    code, _, err = cli("deploy", tmp_path / "n.npz", "--dataset", "xor", "--images", "2",
                       "--duration", "20ms", "--quiet")  # fmt: skip
    assert code == 2 and "mylif" in err  # without the option the model is unknown
    assert "BIORATE_MODELS" not in os.environ or str(tmp_path) not in os.environ["BIORATE_MODELS"]


def test_api_arguments_of_the_wrong_kind_are_biorate_errors(tmp_path):
    """A3: arrays where one string belongs reached comparisons (ValueError), quantities where a
    list belongs reached iteration (TypeError), a path that is no path reached pathlib."""
    import biorate as br
    from biorate.errors import BiorateError

    b2 = pytest.importorskip("brian2")
    two = np.array(["auto", "numpy"])
    net = br.RateNetwork([2, 3, 2], activation="lif", seed=0).initialize()
    X = np.full((2, 2), 0.5)
    cases = [
        lambda: br.run_pipeline(None, quick=True),
        lambda: br.run_pipeline(3, quick=True),
        lambda: br.run_pipeline(tmp_path / "p", quick=True, target=two),
        lambda: br.theory.fi("lif", current="0nA:1nA:3", drive=np.array(["current", "poisson"])),
        lambda: br.deploy(net, X, durations=["20 ms"], encoding=two, progress=False),
        lambda: br.deploy(net, X, durations=["20 ms"], target=two, progress=False),
        lambda: br.deploy(
            net, X, durations=["20 ms"], encoding="poisson", input_rate="1e300 Hz", progress=False
        ),  # fmt: skip
        lambda: br.RateNetwork([2, 4, 2], connectivity=5 * b2.ms),
        lambda: br.RateNetwork([2, 4, 2], targets=5 * b2.ms),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(BiorateError):
            case()
        assert not (tmp_path / "p").exists(), i


def test_a_deployment_whose_spikes_cannot_fit_in_memory_is_refused():
    """B1: the exact scheme's recorded spikes grew by hundreds of bytes a step until the kernel
    killed the run (--duration 1e5s of a 2-8-2 net: ~40 GB)."""
    from biorate.deploy import DeployError, deploy
    from biorate.network import RateNetwork

    net = RateNetwork([2, 8, 2], activation="lif", seed=0).initialize()
    old = os.environ.get("BIORATE_MAX_SIM_SECONDS")
    os.environ["BIORATE_MAX_SIM_SECONDS"] = "1e9"  # the memory, not the time, refuses it here
    try:
        with pytest.raises(DeployError, match="spikes of 6 images .* need about .* of memory"):
            deploy(net, np.zeros((6, 2)), durations=["1e5 s"], progress=False)
    finally:
        os.environ.pop("BIORATE_MAX_SIM_SECONDS") if old is None else os.environ.update(
            BIORATE_MAX_SIM_SECONDS=old
        )


def test_a_last_step_that_blows_the_weights_up_is_divergence(tmp_path):
    """C4: fit(epochs=1) at lr 1e308 returned normally, and save() then replaced a good file
    with one that no command loads."""
    from biorate.errors import NetworkError
    from biorate.network import RateNetwork

    X = np.random.default_rng(0).uniform(0, 1, (40, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    good = RateNetwork([2, 4, 2], seed=0)
    good.fit(X, y, epochs=3)
    path = good.save(tmp_path / "net.npz")
    before = path.read_bytes()
    bad = RateNetwork([2, 4, 2], learning_rate=1e308, seed=0)
    with pytest.raises(NetworkError, match="diverged at epoch 1"):
        bad.fit(X, y, epochs=1)
    good.params_["W0_1"][0, 0] = 1e300  # whatever made it: save refuses what load would
    with pytest.raises(NetworkError, match="cannot save .* would not load"):
        good.save(path)
    assert path.read_bytes() == before


def test_the_pipeline_refuses_links_where_it_writes(tmp_path, cli):
    """D1: a link in OUTDIR named like a pipeline output (report.md -> a model file) had its
    target replaced."""
    (tmp_path / "out").mkdir()
    (tmp_path / "precious.txt").write_text("PRECIOUS")
    (tmp_path / "out" / "report.md").symlink_to(tmp_path / "precious.txt")
    code, _, err = cli("pipeline", "--quick", "--out", tmp_path / "out", "--workers", "1")
    assert code == 2 and "symbolic link" in err and len(err.splitlines()) == 1, err
    assert (tmp_path / "precious.txt").read_text() == "PRECIOUS"


@pytest.mark.parametrize("expression", [
    "x + 1000000 * sin(x * 314.1592653589793) * sin(x * 314.1592653589793)",
    "x + exp(1000 * sin(x * 314.1592653589793) * sin(x * 314.1592653589793))",
])  # fmt: skip
def test_a_formula_hiding_between_the_grid_points_is_refused(expression):
    """C2: zero with its slope at every point of a 0.01 grid, beyond every limit between them."""
    from biorate.forms.expression import check, parse

    assert check(parse(expression)) is not None


def test_the_lif_formulas_take_si_numbers_only():
    """C3: a Brian2 quantity's unit (and imaginary part) was dropped unseen, masked entries used,
    and sigma = 1e308 gave NaN; far below threshold the rate is 0, not NaN."""
    from biorate.errors import ProtocolError
    from biorate.theory import lif_rate

    b2 = pytest.importorskip("brian2")
    base = {"mu": np.array([-0.05, -0.04]), "sigma": 0.002, "tau_m": 0.02, "V_th": -0.05,
            "V_reset": -0.06, "t_ref": 0.002}  # fmt: skip
    for kw in [{"mu": 5j * b2.ms}, {"tau_m": 20 * b2.mV}, {"sigma": 1e308},
               {"mu": np.ma.masked_array([-0.05, 10.0], [0, 1])}]:  # fmt: skip
        with pytest.raises(ProtocolError):
            lif_rate(**{**base, **kw})
    far = lif_rate(np.array([-1e300, -1e160, 1e300]), 0.002, 0.02, -0.05, -0.06, 0.002)
    np.testing.assert_array_equal(far, [0.0, 0.0, 500.0])


def test_a_result_edited_with_its_type_intact_is_computed_again(tmp_path):
    """C1: records are sealed with a digest of their content: a score or a fitted parameter
    changed to another number of the right type no longer matches it."""
    from biorate.search import run_search

    for text, name, edit in [
        (
            FORMULA,
            "f",
            lambda r: r.update(scores=[s * 0.5 for s in r["scores"]], median=r["median"] * 0.5),
        ),  # fmt: skip
        (
            NEURON,
            "n",
            lambda r: r["activation"]["params"].update(tau=r["activation"]["params"]["tau"] * 2),
        ),  # fmt: skip
    ]:
        spec, out = _search(tmp_path, text, name)
        want = json.loads((out / "leaderboard.json").read_text())["rows"]
        path = next(p for p in sorted((out / "evals").glob("*.json"))
                    if json.loads(p.read_text())["status"] == "ok")  # fmt: skip
        record = json.loads(path.read_text())
        edit(record)
        path.write_text(json.dumps(record))
        result = run_search(spec, out, progress=False)
        assert result.computed == 1, name
        got = json.loads((out / "leaderboard.json").read_text())["rows"]
        assert [r["scores"] for r in got] == [r["scores"] for r in want]


def test_a_sweep_points_result_edited_with_its_type_intact_is_computed_again(tmp_path, cli):
    pytest.importorskip("distributed")
    from tests.test_fuzz_campaign6 import SPEC

    (tmp_path / "s.toml").write_text(SPEC)
    code, out, err = cli("sweep", tmp_path / "s.toml", "-o", tmp_path / "o", "--workers", "1",
                         "--quiet")  # fmt: skip
    assert code == 0, err
    path = sorted((tmp_path / "o" / "points").glob("*.json"))[0]
    record = json.loads(path.read_text())
    record["fits"]["sigmoid"]["r2"] = 0.5
    path.write_text(json.dumps(record))
    code, out, err = cli("sweep", tmp_path / "s.toml", "-o", tmp_path / "o", "--workers", "1",
                         "--quiet")  # fmt: skip
    assert code == 0 and "1 computed, 1 already done" in out, (out, err)
    assert json.loads(path.read_text())["fits"]["sigmoid"]["r2"] != 0.5
    shutil.rmtree(tmp_path / "o")


def test_outputs_naming_the_networks_model_file_are_refused(tmp_path, cli):
    """D2: deploy --report/--plot and export nir -o named like the model file the network's neurons
    come from replaced it (exit 0), and every later deployment of the net failed. (A model file
    is TOML, so the suffix rules refuse these names first, before the network is read.)"""
    from biorate.network import RateNetwork

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "models", "neurons", "lif.toml")).read()
    (tmp_path / "m").mkdir()
    model = tmp_path / "m" / "mylif.toml"
    model.write_text(text.replace('name = "lif"', 'name = "mylif"'))
    act = json.loads(open(os.path.join(root, "models", "activations", "lif.json")).read())
    act["source"]["model"]["name"] = "mylif"
    (tmp_path / "a.json").write_text(json.dumps(act))
    net = RateNetwork([2, 3, 2], activation=str(tmp_path / "a.json"), seed=0).initialize()
    net.save(tmp_path / "n.npz")
    for args in (["deploy", tmp_path / "n.npz", "--dataset", "xor", "--images", "2",
                  "--duration", "20ms", "--report", model],):  # fmt: skip
        code, _, err = cli("--models", tmp_path / "m", *args, "--quiet")
        assert code == 2 and ".toml names TOML" in err and len(err.splitlines()) == 1, err
        assert model.read_text().startswith(text.splitlines()[0])
    pytest.importorskip("nir")
    code, _, err = cli("--models", tmp_path / "m", "export", "nir", tmp_path / "n.npz", "-o", model)
    assert code == 2 and ".toml names TOML" in err, err
    assert model.read_text().startswith(text.splitlines()[0])


def test_a_lif_model_without_a_refractory_period_deploys_with_euler(tmp_path):
    """F2: t_ref = 0 made the default (exact) refuse every dt ("needs dt < t_ref = 0 s")."""
    from biorate.deploy import DeployError, deploy
    from biorate.network import RateNetwork

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "models", "neurons", "lif.toml")).read()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "lif0.toml").write_text(
        text.replace('name = "lif"', 'name = "lif0"').replace('t_ref = "2 ms"', 't_ref = "0 ms"')
    )
    act = json.loads(open(os.path.join(root, "models", "activations", "lif.json")).read())
    act["source"]["model"] = {"name": "lif0", "params": {}}
    (tmp_path / "a.json").write_text(json.dumps(act))
    old = os.environ.get("BIORATE_MODELS")
    os.environ["BIORATE_MODELS"] = str(tmp_path / "m")
    try:
        net = RateNetwork([2, 3, 2], activation=str(tmp_path / "a.json"), seed=0).initialize()
        rep = deploy(net, np.full((1, 2), 0.5), durations=["10 ms"], target="numpy",
                     progress=False)  # fmt: skip
        assert rep["mapping"]["method"] == "euler"
        with pytest.raises(DeployError, match="needs a refractory period"):
            deploy(net, np.full((1, 2), 0.5), durations=["10 ms"], method="exact", progress=False)
    finally:
        os.environ.pop("BIORATE_MODELS") if old is None else os.environ.update(BIORATE_MODELS=old)


def test_flags_callbacks_and_empty_paths_are_checked_before_any_work(tmp_path, monkeypatch):
    """A3 (rest), E4: progress=array reached an `if` (after work had started for a sweep and the
    pipeline), on_point=3 failed after the first point, and outdir="" wrote into the current
    folder."""
    import biorate as br
    from biorate.errors import BiorateError
    from biorate.search import run_search

    pytest.importorskip("distributed")
    from tests.test_fuzz_campaign6 import SPEC

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(SPEC)
    (tmp_path / "f.toml").write_text(FORMULA)
    flag = np.array([True, False])
    net = br.RateNetwork([2, 3, 2], activation="lif", seed=0).initialize()
    cases = [
        lambda: br.run_sweep(tmp_path / "s.toml", tmp_path / "o", progress=flag),
        lambda: br.run_sweep(tmp_path / "s.toml", tmp_path / "o", on_point=3),
        lambda: br.run_sweep(tmp_path / "s.toml", "", progress=False),
        lambda: run_search(tmp_path / "f.toml", tmp_path / "o", progress=flag),
        lambda: run_search(tmp_path / "f.toml", "", progress=False),
        lambda: br.run_pipeline(tmp_path / "o", quick=True, progress=flag),
        lambda: br.run_pipeline("", quick=True, progress=False),
        lambda: br.deploy(net, np.zeros((1, 2)), durations=["10 ms"], progress=flag),
        lambda: br.measure_fi("lif", current="0nA:1nA:3", duration="10 ms", progress=flag),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(BiorateError):
            case()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f.toml", "s.toml"], i
