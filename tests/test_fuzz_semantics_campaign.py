"""Issue 18, what a second hostile campaign found (2026-11-30): commands that replaced their own
inputs, tracebacks, and model text that reached Brian2's internals. Each is refused with one line
and exit 2 (outputs untouched) or a BiorateError, before any work."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from test_cli_bad_input import _mnist, no_work, one_line  # noqa: F401  (fixture)

import biorate as br
from biorate.errors import BiorateError, FitError, ModelError, NetworkError
from biorate.models import load_model, shipped_models_dir
from biorate.network import RateNetwork

LIF = shipped_models_dir() / "neurons" / "lif.toml"


@pytest.mark.parametrize("command", [["simulate", "fi", "--target", "numpy"], ["theory", "fi"]])
def test_an_output_naming_the_model_file_is_refused(cli, tmp_path, command, no_work):  # noqa: F811
    """`theory fi --model my.toml -o my.toml` replaced the model with curve JSON (exit 0)."""
    model = tmp_path / "my.toml"
    shutil.copy(LIF, model)
    before = model.read_bytes()
    code, _, err = cli(*command, "--model", model, "--current", "0nA:1nA:3", "-o", model)
    assert code == 2
    one_line(err, "--model and -o name the same file")
    assert model.read_bytes() == before


def test_an_output_inside_the_idx_dataset_is_refused(cli, tmp_path, no_work):  # noqa: F811
    """`train --dataset idx:d -o d/train-images-idx3-ubyte` replaced the training images."""
    folder = _mnist(tmp_path / "d", np.arange(30) % 3, np.arange(10) % 3)
    images = folder / "train-images-idx3-ubyte"
    before = images.read_bytes()
    code, _, err = cli("train", "--dataset", f"idx:{folder}", "--quiet", "-o", images)
    assert code == 2
    one_line(err, "name the same file")
    assert images.read_bytes() == before


def test_a_sweep_figure_in_a_missing_subfolder_of_outdir_is_refused(cli, tmp_path, no_work):  # noqa: F811
    spec = shipped_models_dir().parent / "examples" / "sweeps" / "lif_tau_sigma.toml"
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("old")
    code, _, err = cli("sweep", spec, "-o", out, "--plot", out / "nodir" / "p.png", "--quiet")
    assert code == 2
    one_line(err, "no folder", "nodir")
    assert (out / "summary.csv").read_text() == "old"


@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_sweep_connect_timeout_must_be_positive_and_finite(cli, tmp_path, value, no_work):  # noqa: F811
    spec = shipped_models_dir().parent / "examples" / "sweeps" / "lif_tau_sigma.toml"
    code, _, err = cli("sweep", spec, "-o", tmp_path / "o", f"--connect-timeout={value}")
    assert code == 2
    one_line(err, "--connect-timeout")


def test_sweep_api_connect_timeout_is_checked(tmp_path):
    spec = shipped_models_dir().parent / "examples" / "sweeps" / "lif_tau_sigma.toml"
    for bad in (math.nan, math.inf, 0, "5"):
        with pytest.raises(BiorateError, match="connect_timeout"):
            br.run_sweep(spec, tmp_path / "o", connect_timeout=bad, progress=False)


def test_fit_seed_outside_its_range_is_a_fit_error():
    """`fit --bootstrap 5 --seed=-1` was NumPy's ValueError traceback."""
    curve = br.theory.fi("lif", current="0nA:1nA:21")
    for seed in (-1, 2**32, 1.5):
        with pytest.raises(FitError, match="seed must be an integer"):
            br.fit(curve, "sigmoid", bootstrap=3, seed=seed)


def test_a_saved_network_with_absurd_weights_is_refused(tmp_path):
    """Weights of 1e300 loaded, and evaluate wrote a loss of 6e299 (or crashed on JSON)."""
    net = RateNetwork([2, 3, 2], seed=0).initialize()
    key = next(k for k in net.params_ if k.startswith("W"))
    good = net.save(tmp_path / "good.npz")
    with np.load(good) as f:  # such a file (save() refuses to write one, campaign 8)
        arrays = dict(f)
    arrays[f"param.{key}"][0, 0] = 1e300
    path = tmp_path / "n.npz"
    np.savez(path, **arrays)
    with pytest.raises(NetworkError, match="beyond 1e\\+06 in magnitude"):
        RateNetwork.load(path)
    net.params_[key][0, 0] = 1e300
    with pytest.raises(NetworkError, match="cannot save"):
        net.save(tmp_path / "m.npz")


def _model_text(change: tuple[str, str]) -> str:
    text = LIF.read_text()
    assert change[0] in text
    return text.replace(*change, 1)


@pytest.mark.parametrize(
    ("change", "says"),
    [(('reset = "v = V_reset"', 'reset = """v = V_reset\n_spikespace = 0"""'), "'_spikespace'"),
     (('weight = "J*int(not_refractory)"', 'weight = "J)*0 + (0*mV"'), "unbalanced parentheses"),
     (('weight = "J*int(not_refractory)"', 'weight = "J*biorate_rate*second"'), "'biorate_rate'"),
     (('name = "lif"', 'name = "a\\nb"'), "not a printable name")],
)  # fmt: skip
def test_model_text_cannot_reach_internals_or_break_out(tmp_path, change, says):
    """A reset writing Brian2's `_spikespace` changed the curve (exit 0); a Poisson weight
    closing the parentheses it is wrapped in set every rate to 0; a name with a newline split
    `biorate models`'s listing."""
    path = tmp_path / "lif.toml"  # a model file is named as its model
    path.write_text(_model_text(change))
    with pytest.raises(ModelError, match=says):
        load_model(path)


def test_the_shipped_models_keep_loading():
    for path in sorted(shipped_models_dir().rglob("*.toml")):
        load_model(path)


def test_training_and_state_work_is_bounded():
    """`fit(epochs=10**9)` and `states(steps=10**9)` ran past any limit; `l2=1e300` trained."""
    from biorate.network.rate_network import MAX_EPOCHS, MAX_STEPS

    X, y = np.random.default_rng(0).uniform(0, 1, (8, 2)), np.arange(8) % 2
    net = RateNetwork([2, 3, 2], connectivity="feedback", seed=0, patience=None)
    with pytest.raises(NetworkError, match="epochs must be an integer from 1 to 100,000"):
        net.fit(X, y, epochs=MAX_EPOCHS + 1)
    with pytest.raises(NetworkError, match="callback must be callable"):
        net.fit(X, y, epochs=1, callback=5)
    net.fit(X, y, epochs=1)
    for steps, match in ((MAX_STEPS + 1, "steps must be from 1"), (-5, "steps must be from 1"),
                         ("a", "steps")):  # fmt: skip
        with pytest.raises(NetworkError, match=match):
            net.states(X, steps=steps)
    with pytest.raises(BiorateError, match="complex"):
        net.states(X + 1j)
    with pytest.raises(BiorateError, match="NaN"):
        net.states(np.full((2, 2), np.nan))
    with pytest.raises(NetworkError, match="l2 must be in"):
        RateNetwork([2, 3, 2], l2=1e300)


def test_paths_and_lists_that_used_to_slip_through(tmp_path):
    """`TransferCurve.load(5)` and `read_idx(5)` were TypeErrors; `-o newdir/` wrote a file named
    newdir; `0nA,1nA,` (a stray comma) was read as two levels."""
    from biorate.curve import TransferCurve
    from biorate.datasets import read_idx
    from biorate.errors import CurveFileError, DataError, OutputError, UnitError
    from biorate.io import check_writable
    from biorate.units import parse_range

    with pytest.raises(CurveFileError, match="expected a file path"):
        TransferCurve.load(5)
    with pytest.raises(DataError, match="expected a file path"):
        read_idx(5)
    with pytest.raises(OutputError, match="a file name is needed"):
        check_writable(f"{tmp_path}/newdir/", "-o")
    with pytest.raises(UnitError, match="an empty entry"):
        parse_range("0nA,1nA,")


def test_deploy_settings_that_used_to_run(tmp_path, cli, no_work):  # noqa: F811
    """Repeated durations ran twice; tau_syn below dt gave NaN currents and an accuracy; an
    --input-rate with current encoding was ignored; `--durations ''` fell back to 0.5 s."""
    from biorate.deploy.settings import presentation_times

    with pytest.raises(BiorateError, match="repeat"):
        presentation_times("50ms,50ms")
    net = tmp_path / "n.npz"
    net.write_bytes(b"x")
    for extra, says in ((["--input-rate", "1e9Hz"], "goes with --encoding poisson"),
                        (["--durations", ""], "duration"),
                        (["--durations", "50ms,50ms"], "repeat")):  # fmt: skip
        code, _, err = cli("deploy", net, *extra, "--quiet")
        assert code == 2, (extra, err)
        one_line(err, says)


def test_pipeline_seed_and_target_are_checked_before_its_folder_is_made(tmp_path, cli):
    out = tmp_path / "out"
    code, _, err = cli("pipeline", "--out", out, "--seed=-1", "--quiet")
    assert code == 2
    one_line(err, "seed must be an integer")
    assert not out.exists()


def test_a_negative_x_scale_is_refused():
    """x_scale is the size of one unit of z in the curve's x; -1 mirrored the activation."""
    from biorate.activation import Activation
    from biorate.errors import CurveFileError

    with pytest.raises(CurveFileError, match="field 'x_scale': -1 must be positive"):
        Activation("tanh", x_scale=-1.0)


@pytest.mark.parametrize(
    ("edit", "says"),
    [(lambda h: h["loss"].append(0.1), "entries, but the history has"),
     (lambda h: h.__setitem__("accuracy", [-5.0] * len(h["accuracy"])), "expected fractions in"),
     (lambda h: h.__setitem__("stop_reason", "done\x1b\n"), "stop_reason"),
     (lambda h: h.__setitem__("best_epoch", 10**9), "beyond the"),
     (lambda h: h.__setitem__("loss", [-1.0] * len(h["loss"])), "a loss is >= 0")],
)  # fmt: skip
def test_a_saved_history_must_be_one_record_per_epoch(tmp_path, edit, says):
    """Hand-edited histories (lists of other lengths, accuracies of -5, a stop reason with a
    newline, best_epoch 1e9) loaded and reached the evaluate and deploy reports."""
    import json

    X, y = np.random.default_rng(0).uniform(0, 1, (8, 2)), np.arange(8) % 2
    net = RateNetwork([2, 3, 2], seed=0)
    net.fit(X, y, epochs=3)
    with np.load(net.save(tmp_path / "n.npz")) as f:
        arrays = dict(f)
    arch = json.loads(str(arrays["architecture"][()]))
    edit(arch["history"])
    np.savez(tmp_path / "e.npz", **dict(arrays, architecture=np.array(json.dumps(arch))))
    RateNetwork.load(tmp_path / "n.npz")  # the file as saved loads
    with pytest.raises(NetworkError, match=says):
        RateNetwork.load(tmp_path / "e.npz")


@pytest.mark.parametrize(
    ("model", "change", "says"),
    [("tm_release", {"U": "-0.5"}, "release probability"),
     ("tm_release", {"U": "1.5"}, "release probability"),
     ("ca_release", {"n_H": "-4"}, "Hill coefficient"),
     ("ca_release", {"K_d": "0 uM"}, "dissociation constant")],
)  # fmt: skip
def test_synapse_parameters_have_their_domains(model, change, says):
    """`--set U=-0.5` wrote release rates of -20,488 /s; n_H = -4 and K_d = 0 wrote NaN points."""
    with pytest.raises(ModelError, match=says):
        load_model(model).with_params(**change)


def test_release_probability_checks_dt_as_release_does():
    """`simulate release-probability --dt 1e5s` ran; `simulate release` refused it."""
    from biorate.errors import ProtocolError

    with pytest.raises(ProtocolError, match="must be shorter than the time constant"):
        br.measure_release_probability("ca_release", calcium="0uM:10uM:3", dt="1e5 s",
                                       target="numpy")  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_idx_images_that_are_not_uint8_must_lie_in_0_1(tmp_path, dtype):
    """float32/int32 IDX images loaded as features up to 3.8e30 / 2.1e9 and trained (exit 0)."""
    from biorate.datasets import load_dataset, write_idx
    from biorate.errors import DataError

    folder = _mnist(tmp_path / "m", np.arange(30) % 3, np.arange(10) % 3)
    big = np.full((30, 4, 4), 1000, dtype)
    write_idx(folder / "train-images-idx3-ubyte", big)
    with pytest.raises(DataError, match="pixels must lie in \\[0, 1\\]"):
        load_dataset(f"idx:{folder}")
    write_idx(folder / "train-images-idx3-ubyte", (big > 0).astype(dtype))  # 0/1 images load
    assert load_dataset(f"idx:{folder}").X_train.max() == 1.0


def test_an_activation_takes_real_numbers():
    """`g("abc")` was NumPy's ValueError; complex z lost its imaginary part with a warning."""
    from biorate.activation import get_activation
    from biorate.errors import DataError

    g = get_activation("lif_noise")
    for bad, says in (("abc", "takes numbers"), (np.array([1 + 1j]), "complex")):
        for call in (g, g.derivative):
            with pytest.raises(DataError, match=says):
                call(bad)
    assert np.isfinite(g(np.array([0.0, 1.0]))).all()


def test_a_form_is_fitted_only_to_the_curves_it_describes():
    """`fit --form lif` on a release curve reported status OK with a membrane tau and t_ref."""
    curve = br.theory.release("tm_release", rate="1Hz:100Hz:20")
    for form in ("lif", "soft_lif"):
        with pytest.raises(FitError, match="describes fi curves"):
            br.fit(curve, form)
    assert br.fit(curve, "sigmoid").form == "sigmoid"


def test_run_sweep_refuses_a_spec_that_is_neither_a_path_nor_a_dict(tmp_path):
    with pytest.raises(BiorateError, match="TOML file path or a dict"):
        br.run_sweep([1, 2], tmp_path / "o", progress=False)


def test_potentials_currents_and_noise_have_magnitudes_a_neuron_can_have():
    """`--set E_L=1e30V`, `--sigma 1e30V` and `--bias 1e30nA` gave curves of 500 Hz or noise."""
    from biorate.errors import ProtocolError

    with pytest.raises(ModelError, match="within \\+-10 V"):
        load_model("lif").with_params(E_L="1e30 V")
    with pytest.raises(ProtocolError, match="sigma must lie in"):
        br.theory.fi("lif", current="0nA:1nA:3", sigma="1e30 V")
    with pytest.raises(ProtocolError, match="bias must lie within"):
        br.theory.fi("lif", drive="poisson", rate="1Hz:10Hz:3", bias="1e30 nA")


def test_a_fit_refuses_curves_too_large_to_fit_and_names_missing_sems():
    """A 300,000-point curve ran past a minute in `fit --form auto`; an all-null y_sem said
    'y_sem contains NaN or inf' without saying where."""
    from biorate.curve import TransferCurve
    from biorate.fitting.select import MAX_FIT_POINTS

    n = MAX_FIT_POINTS + 1
    x = np.linspace(0, 1e-9, n)
    big = TransferCurve("fi", x, 100 * x / 1e-9, "A", "Hz")
    with pytest.raises(FitError, match="at most 10,000"):
        br.fit(big, "auto")
    x = np.linspace(0, 1e-9, 10)
    sem = np.full(10, np.nan)
    c = TransferCurve("fi", x, 100 * x / 1e-9, "A", "Hz", y_sem=sem)
    with pytest.raises(FitError, match="y_sem is missing \\(null\\), NaN or inf at 10 of 10"):
        br.fit(c, "sigmoid")


def test_a_deployment_that_cannot_finish_is_refused_before_brian2_runs(monkeypatch):
    """`deploy --duration 1e6s` ran past any limit: deploy had memory checks but no estimate."""
    import biorate.spiking.brian

    def reached(*args, **kwargs):
        raise AssertionError("Brian2 ran before the estimate refused the work")

    monkeypatch.setattr(biorate.spiking.brian, "run_network", reached)
    net = RateNetwork([4, 3, 2], activation="lif", seed=0).initialize()
    X, y = np.random.default_rng(0).uniform(0, 1, (5, 4)), np.arange(5) % 2
    with pytest.raises(NetworkError, match=r"deploy: 5 images x 5 neurons x 1e\+10 time steps"):
        br.deploy(net, X, y, durations=["1e6 s"], target="numpy", method="euler", progress=False)


def test_a_network_file_with_fields_biorate_does_not_write_is_refused(tmp_path):
    """Unknown top-level fields of the architecture were ignored without a message."""
    import json

    net = RateNetwork([2, 3, 2], seed=0).initialize()
    with np.load(net.save(tmp_path / "n.npz")) as f:
        arrays = dict(f)
    arch = json.loads(str(arrays["architecture"][()]))
    arch["weights_override"] = [1, 2]
    np.savez(tmp_path / "e.npz", **dict(arrays, architecture=np.array(json.dumps(arch))))
    with pytest.raises(NetworkError, match="unknown field\\(s\\) 'weights_override'"):
        RateNetwork.load(tmp_path / "e.npz")


@pytest.mark.parametrize(
    ("protocol", "says"),
    [({"drive": "bogus"}, "field 'drive'"),
     ({"seed": -5}, "field 'seed'"),
     ({"duration_s": 1e300}, "field 'duration_s'")],
)  # fmt: skip
def test_a_curves_protocol_fields_have_their_domains(tmp_path, protocol, says):
    """A curve file's protocol drive "bogus", seed -5 and duration_s 1e300 were kept as written."""
    from biorate.curve import TransferCurve
    from biorate.errors import CurveFileError

    curve = br.theory.fi("lif", current="0nA:1nA:5")
    d = curve.to_dict()
    d["protocol"] = {**d["protocol"], **protocol}
    import json

    (tmp_path / "c.json").write_text(json.dumps(d))
    with pytest.raises(CurveFileError, match=says):
        TransferCurve.load(tmp_path / "c.json")


def test_a_model_whose_state_diverges_is_refused_not_measured_as_500_hz(tmp_path, cli):
    """A state variable growing as exp(t/ms) wrote a curve of 500 Hz everywhere (exit 0) after
    Brian2's invalid_values warning; now one line, exit 2, and nothing written."""
    text = LIF.read_text()
    text = text.replace('name = "lif"', 'name = "div"').replace('theory = "lif"\n', "")
    text = text.replace(
        "*xi : volt (unless refractory)",
        "*xi + w*mV/ms : volt (unless refractory)\ndw/dt = w/ms : 1",
    )
    text = text.replace('initial = { v = "E_L" }', 'initial = { v = "E_L", w = "1" }')
    model = tmp_path / "div.toml"
    model.write_text(text)
    out = tmp_path / "c.json"
    code, _, err = cli("simulate", "fi", "--model", model, "--current", "0nA:0.5nA:3",
                       "--duration", "0.2s", "--transient", "0s", "--trials", "1",
                       "--target", "numpy", "-o", out, "--quiet")  # fmt: skip
    assert code == 2
    one_line(err, "variable w is NaN, inf or beyond 1e50 in 3 of 3 neurons")
    assert not out.exists()
