"""Campaign 11's findings (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import biorate as br
from biorate.errors import BiorateError, DataError, ModelError, NetworkError


def test_an_npz_dataset_with_a_0d_feature_array_is_refused(tmp_path):
    """A1: X_train as a 0-d array reached X.shape[0] before its shape was checked (IndexError)."""
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "d.npz", X_train=np.array(1.5), y_train=np.arange(20) % 2,
             X_test=rng.random((6, 2)), y_test=np.arange(6) % 2)  # fmt: skip
    with pytest.raises(DataError, match=r"X_train has shape \(\)"):
        br.load_dataset(f"npz:{tmp_path / 'd.npz'}")


def test_api_names_too_long_for_the_system_are_refused_as_biorate_errors():
    """A2: a name over 255 bytes where a folder, file or built-in name may stand raised the
    system's OSError (ENAMETOOLONG) from a path lookup; score(X, None) and load_model(kind=array)
    raised NumPy's errors."""
    long = "9" * 300
    calls = [lambda: br.load_model("lif", models_dir=long), lambda: br.list_models(long),
             lambda: br.get_activation(long),
             lambda: br.RateNetwork([2, 3, 2], activation=long),
             lambda: br.RateNetwork([2, 3, 2], connectivity=long)]  # fmt: skip
    for call in calls:
        with pytest.raises(BiorateError):
            call()
    net = br.RateNetwork([2, 3, 2], seed=0)
    X = np.random.default_rng(1).random((8, 2))
    net.fit(X, np.arange(8) % 2, epochs=1)
    with pytest.raises(DataError, match="labels y are needed"):
        net.score(X, None)
    with pytest.raises(ModelError, match="kind must be one of"):
        br.load_model("lif", kind=np.array(["neuron", "x"]))


def test_a_curve_made_from_arrays_is_checked_at_once_with_the_lists_messages():
    """B1: a TransferCurve made from arrays was checked a point at a time in Python (1e7 points:
    13 s and 0.8 GB of objects). The array path gives the same values and the same refusals."""
    x = np.linspace(0, 1e-9, 50)
    y = np.linspace(0, 100, 50)
    a = br.TransferCurve("fi", x, y, "A", "Hz")
    b = br.TransferCurve("fi", x.tolist(), y.tolist(), "A", "Hz")
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    for bad in (np.inf, -np.inf):
        yb = y.copy()
        yb[7] = bad
        messages = []
        for value in (yb, yb.tolist()):
            with pytest.raises(BiorateError, match="entry 7") as info:
                br.TransferCurve("fi", x, value, "A", "Hz")
            messages.append(str(info.value))
        assert messages[0] == messages[1]
    ints = br.TransferCurve("fi", x, np.arange(50), "A", "Hz")  # integer rates: floats
    assert ints.y.dtype == float and ints.y[3] == 3.0
    with pytest.raises(BiorateError):  # bool and complex arrays are no numbers
        br.TransferCurve("fi", x, np.ones(50, dtype=bool), "A", "Hz")
    with pytest.raises(BiorateError):
        br.TransferCurve("fi", x, y.astype(complex), "A", "Hz")


@pytest.mark.parametrize("kw", [dict(steps=-5), dict(steps=10**100), dict(alpha=-1.0),
                                dict(alpha=1e100)])  # fmt: skip
def test_steps_and_alpha_have_domains_without_feedback_too(kw):
    """C1: steps and alpha were checked only for graphs with feedback; a feedforward net took
    steps -5 or alpha 1e100 and wrote them into its file."""
    for conn in ("feedforward", "residual", "feedback"):
        with pytest.raises(NetworkError, match="steps|alpha"):
            br.RateNetwork([2, 3, 2], connectivity=conn, **kw)


def test_a_large_simulation_is_estimated_at_the_large_group_speed(tmp_path, cli):
    """B2: the time limit's estimate used the small-group speed (8e7 neuron-steps/s on NumPy);
    at 6e6 neurons a neuron-step costs ~4x more, so `--trials 20000000` (60 million neurons,
    ~6 h here) was accepted as 2,250 s. Above LARGE_GROUP neurons a network is estimated at the
    large-group speed (measured: benchmarks in protocol.py's comment)."""
    from biorate.spiking.protocol import LARGE_GROUP, SIM_SPEED, SIM_SPEED_LARGE, estimate_seconds

    for target in ("numpy", "cython"):
        small = estimate_seconds(LARGE_GROUP, 1000, target)
        assert small == pytest.approx(1000 * SIM_SPEED[target][0] + 1e8 / SIM_SPEED[target][1])
        big = estimate_seconds(6e6, 1000, target)
        assert big == pytest.approx(1000 * SIM_SPEED[target][0] + 6e9 / SIM_SPEED_LARGE[target])
        # the same neurons split over networks run one after another: small groups again
        assert estimate_seconds(6e6, 1000, target, networks=60) < big
    code, _, err = cli("simulate", "fi", "--model", "lif", "--current", "0nA:1nA:3", "--duration",
                       "100ms", "--trials", "20000000", "--target", "numpy", "--quiet", "-o",
                       tmp_path / "s.json")  # fmt: skip
    assert code == 2 and "is estimated at 7.2e+03 s" in err, err


def test_a_value_of_thousands_of_characters_is_shown_by_its_ends(tmp_path, cli):
    """E1: a 5,000-character option value was echoed whole in the one-line error (argparse's
    choices and integer errors, 'unknown dataset')."""
    long = "9" * 5000
    code, _, err = cli("train", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--quiet",
                       "-o", tmp_path / "n.npz")  # fmt: skip
    assert code == 0, err
    for args in (["train", "--dataset", "xor", "-o", tmp_path / "m.npz", "--epochs", long],
                 ["evaluate", tmp_path / "n.npz", "--dataset", long]):  # fmt: skip
        code, _, err = cli(*args)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert len(err) < 400 and "characters)..." in err, err


def test_a_curve_where_no_neuron_spiked_says_so(tmp_path, cli):
    """E2: a window far shorter than one interspike interval gave an all-zero curve, exit 0,
    without a word (the rate resolution, 1/(duration x trials), was 1000 Hz)."""
    pytest.importorskip("brian2")
    code, _, err = cli("simulate", "fi", "--model", "lif", "--current", "0nA:1nA:3", "--duration",
                       "1ms", "--trials", "1", "--target", "numpy", "--quiet", "-o",
                       tmp_path / "z.json")  # fmt: skip
    assert code == 0 and "no neuron spiked" in err and "1e+03 per second" in err, err


def test_a_sweep_spec_schema_must_be_a_whole_number_not_true(tmp_path):
    """C2: schema = true passed the sweep spec's check (True == 1 in Python), which search specs,
    model files and curve files refuse; 1.0 is the whole number 1, as Fields.integer reads it."""
    from biorate.sweep import SpecError, load_spec

    text = (Path(__file__).parent.parent / "examples" / "sweeps" / "lif_tau_sigma.toml").read_text()
    (tmp_path / "s.toml").write_text(text.replace("schema = 1", "schema = true", 1))
    with pytest.raises(SpecError, match="schema"):
        load_spec(tmp_path / "s.toml")
    (tmp_path / "s.toml").write_text(text.replace("schema = 1", "schema = 1.0", 1))
    load_spec(tmp_path / "s.toml")


def test_float16_labels_and_subnormal_currents_raise_no_numpy_warnings(tmp_path, recwarn):
    """E3: float16 labels (2**62 cast to float16 in the labels' check) and a curve holding a
    subnormal current (a division in the lif form's start grid) printed NumPy's two-line
    RuntimeWarnings on runs that exit 0."""
    from biorate._user_data import _labels as user_labels  # noqa: F401 (the npz path's check)
    from biorate.datasets import _labels

    assert _labels(np.array([0, 1, 2], dtype=np.float16), "y").tolist() == [0, 1, 2]
    x = np.linspace(0, 1e-9, 21)
    x[1] = 1e-320
    y = np.where(x > 2e-10, 300 * (x - 2e-10) / 8e-10, 0.0)
    br.fit(br.TransferCurve("fi", x, y, "A", "Hz"), "lif")
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], \
        [str(w.message) for w in recwarn]  # fmt: skip


def test_pipeline_workers_are_bounded_as_sweeps_are(tmp_path):
    """C3: pipeline --workers took any whole number (1e20), clamped silently; sweep and search
    refuse above 1,024."""
    import biorate.pipeline as pl

    with pytest.raises(pl.PipelineError, match="from 1 to 1,024"):
        pl.run_pipeline(tmp_path / "o", quick=True, progress=False, workers=10**20)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("weight", "ok"), [("J*1e300", False), ("-J*1e6", False),
                                            ("J*1e200*1e200", False), ("J**1e20", True),
                                            ("J*int(0.5)*1e6", True),
                                            ("J*int(not_refractory)", True), ("2*J", True),
                                            ("J*v/mV", True)])  # fmt: skip
def test_a_poisson_weight_is_held_to_its_dimensions_domain(tmp_path, weight, ok):
    """C4: a weight expression of 1e296 V per input spike ("J*1e300") simulated with exit 0 and
    a curve saturated at 1/t_ref (parameters are held within +-10 V, expressions were not). An
    expression of parameters is evaluated when the model loads; one that reads a state
    variable (v) is left to Brian2."""
    from biorate.models import Model, shipped_models_dir

    text = (shipped_models_dir() / "neurons" / "lif.toml").read_text()
    text = text.replace('weight = "J*int(not_refractory)"', f'weight = "{weight}"')
    path = tmp_path / "w.toml"
    path.write_text(text.replace('name = "lif"', 'name = "w"').replace('theory = "lif"\n', ""))
    if ok:
        Model.from_toml(path)
    else:
        with pytest.raises(ModelError, match="per input spike"):
            Model.from_toml(path)


def test_a_written_name_with_control_characters_is_shown_escaped(tmp_path, cli):
    """E4: "wrote NAME" printed a name's control characters raw (an escape sequence ran in the
    terminal), where error lines escape them."""
    code, out, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:1nA:3", "-o",
                         tmp_path / "ok\x1b[31m\x07.json")  # fmt: skip
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "ok\\x1b[31m\\x07.json" in out
    assert (tmp_path / "ok\x1b[31m\x07.json").exists()


def test_review_closed_stdout_masked_arrays_and_long_csv_names(tmp_path):
    """The review of these fixes: a command with its standard output closed printed through the
    escaping proxy into None (a traceback; print skips a closed stdout); a masked array's hidden
    values were read where the list path made them null; csv:TRAIN,TEST with names of 200
    characters each raised the system's ENAMETOOLONG."""
    import subprocess
    import sys

    script = ("import sys; sys.stdout.close(); sys.stdout = None; sys.argv = ['biorate', 'models']"
              "\nfrom biorate.cli import main\nsys.exit(main())\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    c = br.TransferCurve("fi", [0.0, 1e-9, 2e-9], np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
                         "A", "Hz")  # fmt: skip
    assert np.isnan(c.y[1]) and c.y[0] == 1.0 and not isinstance(c.y, np.ma.MaskedArray)
    rows = "a,b,label\n" + "".join(f"{i % 3},{i % 5},{i % 2}\n" for i in range(40))
    train, test = tmp_path / ("t" * 200 + ".csv"), tmp_path / ("s" * 200 + ".csv")
    train.write_text(rows)
    test.write_text(rows)
    d = br.load_dataset(f"csv:{train},{test}")
    assert d.X_train.shape == (40, 2) and d.X_test.shape == (40, 2)


def test_campaign12_dates_as_features_and_labels_beyond_int64(tmp_path):
    """Campaign 12: datetime64/timedelta64 feature arrays were taken as numbers (days since
    1970) by predict and fit, where an npz dataset refuses them; float labels beyond int64 (1e308,
    2**64) were cast first, with NumPy's warning, and reported as a range the user never gave."""
    net = br.RateNetwork([2, 3, 2], seed=0)
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-09")).reshape(4, 2)
    with pytest.raises(DataError, match="dates or durations"):
        net.fit(dates, np.array([0, 1, 0, 1]), epochs=1)
    X = np.random.default_rng(1).random((4, 2))
    net.fit(X, np.array([0, 1, 0, 1]), epochs=1)
    with pytest.raises(DataError, match="dates or durations"):
        net.predict(X.astype("timedelta64[ms]"))
    import warnings

    for y in (np.array([1e308, 0, 1, 0]), np.array([2.0**64, 0, 1, 0]),
              np.full(4, np.iinfo(np.uint64).max, np.uint64)):  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(DataError, match=r"got range \[.*e\+(308|19)\]"):
                net.score(X, y)


def test_campaign13_a_latin1_argument_reaches_brian2s_logger_encodable(tmp_path):
    """Campaign 13 A1: an argument that is not UTF-8 (a Latin-1 file name, held as surrogate
    escapes) ended every command that imports Brian2 in a traceback: its logger copies the
    command line into a file as UTF-8 on import. It is shown escaped there now."""
    import os
    import subprocess
    import sys

    pytest.importorskip("brian2")
    exe = str(Path(sys.executable).with_name("biorate"))
    name = os.fsdecode(b"caf\xe9.json")
    out = subprocess.run([exe, "simulate", "fi", "--model", "lif", "--current", "0nA:1nA:3",
                          "--duration", "50ms", "--trials", "1", "--target", "numpy", "--quiet",
                          "-o", name], capture_output=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    assert (tmp_path / name).exists()


def _poisson_curve(tmp_path, cli, weight, name="s"):
    """Code, y (or None) and stderr of a short Poisson-driven f-I run of lif with ``weight``."""
    from biorate.models import shipped_models_dir

    text = (shipped_models_dir() / "neurons" / "lif.toml").read_text()
    text = text.replace('weight = "J*int(not_refractory)"', f'weight = "{weight}"')
    (tmp_path / "w.toml").write_text(text.replace('name = "lif"', 'name = "w"')
                                     .replace('theory = "lif"\n', ""))  # fmt: skip
    out = tmp_path / f"{name}.json"
    code, _, err = cli("simulate", "fi", "--model", tmp_path / "w.toml", "--drive", "poisson",
                       "--rate", "0Hz:400Hz:3", "--duration", "100ms", "--transient", "0ms",
                       "--trials", "2", "--target", "numpy", "--seed", "3", "--quiet", "-o",
                       out)  # fmt: skip
    return code, (json.loads(out.read_text())["y"] if code == 0 else None), err


@pytest.mark.parametrize("weight", ["J*int(t >= 0*ms)", "J*True", "J*(v/v)", "J + 0*J",
                                    "J*int(v < 100*mV)"])  # fmt: skip
def test_campaign13_poisson_weights_with_comparisons_run(tmp_path, cli, weight):
    """Campaign 13 F1: a run-time record of each input's largest |weight| written as
    ``abs(weight)`` made Brian2 refuse weights that hold a comparison or a constant. The weight
    is now taken into a temporary first; weights equal to J give J's curve, spike for spike,
    with the same seed, and J's curve is the one biorate gave before the change (b87147e, numpy
    and cython alike: [0, 410, 460] Hz). (A weight that draws random numbers, J*rand(), draws
    them for every neuron each step now, refractory or not: its curve for a seed differs from
    earlier versions', as any other draw would.)"""
    pytest.importorskip("brian2")
    code, y, err = _poisson_curve(tmp_path, cli, weight)
    assert code == 0, err
    code, y_j, err = _poisson_curve(tmp_path, cli, "J", "j")
    assert code == 0, err
    assert y == y_j == [0.0, 410.0, 460.0]


def test_a_gated_poisson_weight_gives_the_curve_it_gave_before(tmp_path, cli):
    """J*int(t > 10*ms) at seed 3 gave [0, 365, 410] Hz before the weight became a temporary
    (b87147e, numpy and cython)."""
    pytest.importorskip("brian2")
    code, y, err = _poisson_curve(tmp_path, cli, "J*int(t > 10*ms)")
    assert code == 0, err
    assert y == [0.0, 365.0, 410.0]


@pytest.mark.parametrize("weight", ["J*0", "J*1e-400", "J*int(i == -1)", "0*mV"])
def test_campaign13_poisson_weights_of_zero_run_silent(tmp_path, cli, weight):
    """Weights that SymPy reduces to 0 ran (Brian2 indexed the temporary as an array where
    it had become a float): they run, and the neuron, never pushed, stays silent."""
    pytest.importorskip("brian2")
    code, y, err = _poisson_curve(tmp_path, cli, weight)
    assert code == 0, err
    assert y == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("weight", "size"), [("1e300*mV", "1e+300 mV"),
                                              ("J*True*1e300", "1e+299 mV"),
                                              ("J*exp(700)", "1.01423205474e+303 mV"),
                                              ("J*(v/v)*1e300", "1e+299 mV"),
                                              ("20*volt*int(t > 50*ms)", "20000 mV")])  # fmt: skip
def test_campaign12_a_poisson_weight_the_loader_cannot_read_is_measured(
    tmp_path, cli, weight, size
):
    """Campaign 12 C2: a weight the model's checks cannot evaluate (a unit name, a function,
    state) bypassed the +-10 V domain and saturated the curve with exit 0. The largest |weight|
    of each input is recorded during the run and held to the same domain, in one line."""
    pytest.importorskip("brian2")
    code, _, err = _poisson_curve(tmp_path, cli, weight)
    assert code == 2
    assert f"makes a jump of {size} per input spike" in err and "+-10 V" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "s.json").exists()


def test_a_poisson_weight_in_the_wrong_unit_is_named(tmp_path, cli):
    pytest.importorskip("brian2")
    code, _, err = _poisson_curve(tmp_path, cli, "3*nA")
    assert code == 2
    assert "poisson[0]: weight '3*nA' is in A, but its target v is in V" in err


def test_campaign13_a_list_holding_the_masked_constant_is_refused_without_numpys_warning():
    """Campaign 13 E1: ``[np.ma.masked, 2e-10]`` went through np.asarray first, which printed
    NumPy's two-line "converting a masked element to nan" before biorate's own error."""
    import warnings

    net = br.RateNetwork([2, 3, 2], seed=0)
    net.initialize()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(br.UnitError, match="current: masked values are not quantities"):
            br.theory.fi("lif", current=[np.ma.masked, 2e-10])
        with pytest.raises(DataError, match="X holds numpy.ma.masked"):
            net.predict([[np.ma.masked, 1.0]])
        assert net.predict([[0.5, 1.0]]).shape == (1,)  # the plain list still reads


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_campaign13_unusable_standard_streams_keep_the_exit_code(tmp_path):
    """Campaign 13 E2: stdout on a full device said "No space left on device" without naming
    it (the output file itself was written); an error line that could not reach a closed or
    full stderr turned exit 2 into 1."""
    import subprocess
    import sys

    exe = str(Path(sys.executable).with_name("biorate"))
    good = [exe, "theory", "fi", "--model", "lif", "--current", "0nA:1nA:5", "-o", "e.json"]
    with open("/dev/full", "w") as full:
        out = subprocess.run(good, stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                             timeout=120)  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip() == "biorate: error: the standard output: No space left on device"
    assert json.loads((tmp_path / "e.json").read_text())["kind"] == "transfer_curve"
    bad = [exe, "theory", "fi", "--model", "lif", "--current", "nan", "-o", "c.json"]
    with open("/dev/full", "w") as full:
        out = subprocess.run(bad, stderr=full, cwd=tmp_path, timeout=120)
    assert out.returncode == 2
    out = subprocess.run(bad, stderr=subprocess.DEVNULL, cwd=tmp_path, timeout=120,
                         preexec_fn=lambda: __import__("os").close(2))  # fmt: skip
    assert out.returncode == 2 and not (tmp_path / "c.json").exists()
