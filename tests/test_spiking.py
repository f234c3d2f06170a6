"""measure_fi on Brian2 (NumPy target): reproducibility, one network per curve, statistics, errors."""

import numpy as np
import pytest
from brian2 import Hz, ms, mV, nA, second

import biorate as br
from biorate.errors import BiorateWarning, ModelError, ProtocolError, UnitError

FAST = dict(duration=0.5 * second, transient=50 * ms, target="numpy", progress=False)


def test_same_seed_same_curve_other_seed_other_spikes():
    kw = dict(current=np.linspace(0.15, 0.4, 6) * nA, sigma=3 * mV, trials=3, **FAST)
    a = br.measure_fi("lif", seed=7, **kw)
    b = br.measure_fi("lif", seed=7, **kw)
    c = br.measure_fi("lif", seed=8, **kw)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.cv, b.cv)
    assert not np.array_equal(a.y, c.y)
    assert a.protocol["seed"] == 7 and a.protocol["trials"] == 3


def test_one_network_one_run_per_curve(monkeypatch):
    import brian2

    calls = []
    original = brian2.Network.run

    def counting_run(self, *args, **kwargs):
        calls.append(sorted(obj.name for obj in self.objects))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(brian2.Network, "run", counting_run)
    curve = br.measure_fi("lif", current=np.linspace(0, 0.5, 11) * nA, trials=4, seed=1, **FAST)
    assert len(calls) == 1
    assert "biorate_fi_neurons" in calls[0]  # fixed names: no recompilation for a second curve
    assert len(curve) == 11 and curve.y_sem.shape == (11,)


def test_rates_statistics_and_noise_free_determinism():
    curve = br.measure_fi("lif", current=[0, 0.1, 0.3, 0.5] * nA, trials=3, seed=1, **FAST)
    # below rheobase (V_th - E_L)/R_m = 0.2 nA a noise-free LIF never fires
    assert curve.y[0] == 0 and curve.y[1] == 0
    # noise-free trials are identical: the SEM is 0 and the ISI CV ~ 0 (regular firing)
    np.testing.assert_array_equal(curve.y_sem, 0)
    assert curve.cv[3] < 0.02
    assert curve.y[3] > curve.y[2] > 0
    assert curve.x_unit == "A" and curve.y_unit == "Hz" and curve.measure == "fi"


def test_noise_gives_irregular_subthreshold_firing():
    """20 trials per level (with 4, the CV below rheobase was 0.73 +- 0.13 over seeds 0-11 and came
    within 0.02 of the 0.5 bound). Measured with 20 trials over seeds 0-9: rate below rheobase
    11.0 +- 0.7 Hz, CV 0.77 +- 0.06 below and 0.252 +- 0.005 above threshold, so each bound sits
    more than 3 stds away. Reproduce: this call for seed in range(10)."""
    curve = br.measure_fi("lif", current=[0.15, 0.45] * nA, sigma=4 * mV, trials=20, seed=2, **FAST)
    assert curve.y[0] > 0.5  # fluctuation-driven spikes below rheobase
    assert curve.cv[0] > 0.5 > curve.cv[1]  # Poisson-like below, regular above threshold
    assert np.all(curve.y_sem > 0)


def test_poisson_drive_rate_in_rate_out():
    """Measured over seeds 0-11: lif's rates 37.3 +- 1.0, 70.6 +- 0.9, 99.3 +- 1.1 Hz at 12, 16,
    20 Hz input (steps of 30 Hz against ~1 Hz spread); cond_lif with 10 trials over seeds 0-9: 28.7
    +- 3.5 Hz at 20 Hz and 25.2 +- 5.0 Hz more at 60 Hz (with 2 trials the step was 32 +- 18 Hz and
    negative for seed 2). Reproduce: these calls for seed in range(12)."""
    curve = br.measure_fi(
        "lif", rate=[0, 12, 16, 20] * Hz, drive="poisson", trials=3, seed=3, **FAST
    )
    assert curve.x_unit == "Hz" and curve.protocol["drive"] == "poisson"
    assert curve.y[0] == 0
    assert np.all(np.diff(curve.y) > 0)
    cond = br.measure_fi(
        "cond_lif", rate=[0, 20, 60] * Hz, drive="poisson", trials=10, seed=3, **FAST
    )
    assert cond.y[0] == 0 and cond.y[2] > cond.y[1] > 0


def test_adaptation_lowers_the_rate():
    kw = dict(current=[0.4] * nA, trials=1, seed=1, **FAST)
    with pytest.warns(BiorateWarning, match=r"current has a single level \(0.4 nA\)"):
        plain = br.measure_fi("lif", **kw)
        adaptive = br.measure_fi("adaptive_lif", **kw)
    assert 0 < adaptive.y[0] < 0.8 * plain.y[0]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [(dict(current=[0.1] * nA, duration=0 * second), ProtocolError, "duration must be positive"),
     (dict(current=[0.1] * nA, trials=0), ProtocolError, "trials"),
     (dict(current=[0.1] * mV), UnitError, "expected a current"),
     (dict(current=[np.nan] * nA), UnitError, "NaN"),
     (dict(current=[0.1] * nA, sigma=-1 * mV), ProtocolError, "sigma"),
     (dict(rate=[-1] * Hz, drive="poisson"), ProtocolError, "negative"),
     (dict(current=[0.1] * nA, drive="telepathy"), ProtocolError, "drive"),
     (dict(current=[0.1] * nA, dt=0 * ms), ProtocolError, "dt"),
     (dict(current=[0.1] * nA, target="fortran"), ProtocolError, "target")],
)  # fmt: skip
def test_bad_input_raises_specific_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        br.measure_fi("lif", **{**FAST, **kwargs})


def test_broken_model_equations_give_model_error(tmp_path):
    bad = (
        br.load_model("lif")
        .path.read_text()
        .replace("(E_L - v + R_m*I)/tau_m", "(E_L - v + R_m*I)")
    )  # fmt: skip  (volt/second != volt)
    (tmp_path / "broken.toml").write_text(bad.replace('name = "lif"', 'name = "broken"'))
    with pytest.raises(ModelError, match="broken"):
        br.measure_fi(br.load_model(tmp_path / "broken.toml"), current=[0.1] * nA, **FAST)


def test_simulate_cli_writes_json_and_plot(cli, tmp_path):
    out, png = tmp_path / "fi.json", tmp_path / "fi.png"
    code, _, err = cli("simulate", "fi", "--current", "0nA:0.4nA:5", "--duration", "300ms",
                       "--trials", "2", "--seed", "1", "--target", "numpy", "--quiet",
                       "-o", out, "--plot", png)  # fmt: skip
    assert code == 0, err
    curve = br.TransferCurve.load(out)
    assert curve.y.size == 5 and curve.protocol["seed"] == 1
    assert curve.provenance["command"].startswith("biorate ")
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, match",
    [(["--model", "nosuch"], "unknown model 'nosuch'"),
     (["--set", "tau_m=5mV"], "expected a time"),
     (["--set", "foo=1ms"], "no parameter 'foo'"),
     (["--duration=-1s"], "duration must be positive"),
     (["--trials", "0"], "trials"),
     (["--current", "0nA:nan:5"], "NaN")],
)  # fmt: skip
def test_simulate_cli_bad_input_exit_2_one_line_nothing_written(cli, tmp_path, args, match):
    out = tmp_path / "fi.json"
    out.write_text("precious")
    base = ["simulate", "fi", "--current", "0nA:0.4nA:5", "--target", "numpy", "--quiet", "-o", out]
    code, _, err = cli(*base, *args)
    assert code == 2
    assert match in err and len(err.strip().splitlines()) == 1
    assert out.read_text() == "precious"


def test_fast_normals_are_seeded_standard_normals_and_restored():
    from biorate.spiking.brian import fast_normals

    original = np.random.randn
    with fast_normals(5):
        a = np.random.randn(200_000)  # noqa: NPY002 (the function Brian2 calls)
    with fast_normals(5):
        b = np.random.randn(200_000)  # noqa: NPY002
    assert np.random.randn is original
    np.testing.assert_array_equal(a, b)
    # standard normal: mean 0 +- 4 SE, variance 1 +- 4 SE (SE of the variance ~ sqrt(2/n))
    assert abs(a.mean()) < 4 / np.sqrt(a.size) and abs(a.var() - 1) < 4 * np.sqrt(2 / a.size)


@pytest.mark.parametrize("command", ["simulate", "theory"])
@pytest.mark.parametrize(
    "args, match",
    [(["--drive", "poisson"], "--drive poisson needs --rate"),
     (["--current", "0nA:1nA:3", "--rate", "1Hz:5Hz:3"], "--rate goes with --drive poisson"),
     (["--drive", "poisson", "--rate", "1Hz:5Hz:3", "--current", "0nA:1nA:3"], "--current goes with")],
)  # fmt: skip
def test_fi_commands_check_their_axis_alike(cli, tmp_path, command, args, match):
    code, _, err = cli(command, "fi", *args, "-o", tmp_path / "x.json")
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.json").exists()
    code, _, err = cli(command, "fi", "-o", tmp_path / "x.json")  # current drive, no --current
    assert code == 2 and "--drive current needs --current" in err
