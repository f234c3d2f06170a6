"""Campaign 16's findings (issue 18)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import biorate as br
from biorate.errors import DataError, OutputError, ProtocolError

ROOT = Path(__file__).resolve().parents[1]
COND = (ROOT / "models" / "neurons" / "cond_lif.toml").read_text()
LEAK = "dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m"
NOISE = " + sigma*sqrt(2*g_L/C_m)*xi : volt (unless refractory)"


def _cond(tmp_path, name, line=None, extra=""):
    from biorate.models import Model

    text = COND.replace('name = "cond_lif"', f'name = "{name}"')
    if line is not None:
        assert LEAK + NOISE in text
        text = text.replace(LEAK + NOISE, line)
    text = text.replace("initial = {", f"{extra}\ninitial = {{") if extra else text
    (tmp_path / f"{name}.toml").write_text(text)
    return Model.from_toml(tmp_path / f"{name}.toml")


@pytest.mark.parametrize("line", [
    "dv/dt = ((E_L - v)*g_L + g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m" + NOISE,
    "dv/dt = (g_L*E_L - g_L*v + g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m" + NOISE,
    "dv/dt = g_L/C_m*(E_L - v) + (g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m" + NOISE,
    "dv/dt = (E_L - v)/(C_m/g_L) + (g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m" + NOISE,
    "dv/dt = (I_L + g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m" + NOISE + "\nI_L = g_L*(E_L - v) : amp",
])  # fmt: skip
def test_a_leak_holds_dt_however_it_is_written(tmp_path, line):
    """C1: the dt check saw a leak written `g*(...)` only: (E_L - v)*g_L, g_L*E_L - g_L*v,
    g_L/C_m*(E_L - v), (E_L - v)/(C_m/g_L) or a subexpression ran cond_lif at g_L = 10 uS (C_m/g_L
    = 20 us, dt 0.1 ms) with exit 0 at ~475 Hz for every current. The rate -d(dv/dt)/dv is read
    from the equations however written."""
    from biorate.models.stability import relaxation_rates

    m = _cond(tmp_path, "spelt", line)
    m.check_dt(1e-4)  # 10 nS: 20 ms
    eqs = m.section("neuron")["equations"]
    rates = relaxation_rates(eqs, {k: p.value for k, p in m.params.items()}, {"v": "E_L"})
    assert rates["g_e"] == pytest.approx(1 / 5e-3) and rates["g_i"] == pytest.approx(1 / 10e-3)
    assert rates["v"] == pytest.approx(10e-9 / 200e-12, rel=1e-6)  # g_L/C_m = 50 /s
    with pytest.raises(ProtocolError, match=r"time constant of v at the initial state of model "
                                            r"'spelt', 0\.02 ms"):  # fmt: skip
        m.with_params(g_L="10 uS").check_dt(1e-4)


@pytest.mark.parametrize(("method", "refused"), [
    ("euler", True), ("heun", True), ("milstein", True), ("rk4", True),
    ("exponential_euler", False), ("exact", False),
])  # fmt: skip
def test_every_explicit_method_holds_dt(tmp_path, method, refused):
    """C2: the C/g check held for Euler only; Heun and Milstein (which Brian2 accepts for the
    noise term) ran g_L = 10 uS at ~475 Hz (dt*g/C = 5 is unstable for them too)."""
    m = _cond(tmp_path, f"m_{method}", extra=f'method = "{method}"').with_params(g_L="10 uS")
    if refused:
        with pytest.raises(ProtocolError, match="time constant of v"):
            m.check_dt(1e-4)
    else:
        m.check_dt(1e-4)


HH = '''schema = 1
name = "hh"
kind = "neuron"
description = "Traub-Miles HH (Brian2's COBAHH example neuron)"
reference = "Traub & Miles (1991)"
[parameters]
Cm = "200 pF"
gl = "10 nS"
g_na = "20 uS"
g_kd = "6 uS"
El = "-65 mV"
EK = "-90 mV"
ENa = "50 mV"
VT = "-63 mV"
[neuron]
equations = """
dv/dt = (gl*(El - v) - g_na*(m*m*m)*h*(v - ENa) - g_kd*(n*n*n*n)*(v - EK) + I)/Cm : volt
dm/dt = 0.32*(mV**-1)*4*mV/exprel((13.*mV-v+VT)/(4*mV))/ms*(1-m)-0.28*(mV**-1)*5*mV/exprel((v-VT-40.*mV)/(5*mV))/ms*m : 1
dn/dt = 0.032*(mV**-1)*5*mV/exprel((15.*mV-v+VT)/(5*mV))/ms*(1.-n)-.5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h)-4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
I : amp
"""
threshold = "v > -20*mV"
refractory = "v > -20*mV"
initial = { v = "El" }
[drive]
current = "I"
'''


def test_a_gated_conductance_in_parentheses_is_not_a_leak(tmp_path):
    """F1: Brian2's COBAHH neuron, written as its example writes it (g_na*(m*m*m)*h*(v - ENa)),
    was refused at dt = 0.01 ms ("Cm/g_na = 0.01 ms"): the gates count at their initial values,
    so at rest v relaxes at gl/Cm; the gates' own rates are read too (alpha + beta at rest)."""
    from biorate.models import Model
    from biorate.models.stability import explicit_method, relaxation_rates

    (tmp_path / "hh.toml").write_text(HH)
    m = Model.from_toml(tmp_path / "hh.toml")
    for dt in (5e-6, 1e-5, 2e-5):
        m.check_dt(dt)
    eqs = m.section("neuron")["equations"]
    assert explicit_method(m.section("neuron").get("method"))
    rates = relaxation_rates(eqs, {k: p.value for k, p in m.params.items()}, {"v": "El"})
    assert rates["v"] == pytest.approx(10e-9 / 200e-12, rel=1e-6)
    v, vt = -65.0, -63.0  # the gate m at rest: alpha + beta (per ms), as the equation reads
    alpha = 0.32 * (13 - v + vt) / (np.exp((13 - v + vt) / 4) - 1)
    beta = 0.28 * (v - vt - 40) / (np.exp((v - vt - 40) / 5) - 1)
    assert rates["m"] == pytest.approx((alpha + beta) * 1e3, rel=1e-5)


def test_a_model_naming_no_method_is_stepped_by_euler_and_checked(tmp_path):
    """The review: a first version took a model naming no method for one Brian2 integrates
    exactly when linear; biorate names Euler then, so a linear leak without noise at g_L = 10 uS
    (C_m/g_L = 20 us) must be refused as the noisy one is. Exact and GSL's adaptive methods are
    not limited by a time constant."""
    from biorate.models.stability import explicit_method

    line = (
        "dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m : volt (unless refractory)"
    )
    m = _cond(tmp_path, "quiet", line).with_params(g_L="10 uS")
    with pytest.raises(ProtocolError, match=r"time constant of v .* 0\.02 ms"):
        m.check_dt(1e-4)
    assert explicit_method(None) and explicit_method("euler") and explicit_method(" Heun ")
    for exact in ("exact", "linear", "exponential_euler", "gsl", "gsl_rkf45"):
        assert not explicit_method(exact)
        _cond(tmp_path, "x", line, extra=f'method = "{exact}"').with_params(g_L="10 uS").check_dt(
            1e-4
        )


@pytest.mark.parametrize(("equations", "rates"), [
    ("dv/dt = (g*(E - v)\n + I)/C : volt\nI : amp", {"v": 50.0}),  # an expression over two lines
    ("dx/dt = -x/tau + k*sign(x) : 1", {}),  # a step at the initial state: no rate, not refused
    ("dx/dt = -x/tau + k*(x >= 0) : 1", {}),
    ("dx/dt = -x/tau + abs(x)/tau : 1", {}),  # a kink
    ("dx/dt = -s1/tau : 1\n" + "\n".join(f"s{i} = (" + " + ".join([f"s{i + 1}"] * 10) + ")/10 : 1"
                                         for i in range(1, 9)) + "\ns9 = x : 1", {"x": 50.0}),
    ("dx/dt = -s/tau : 1\ns = s : 1", {}),  # a subexpression that needs itself
])  # fmt: skip
def test_relaxation_rates_of_unusual_equations(equations, rates):
    """The review: equations over several lines were not read; a step or kink at the initial
    state gave a rate of 1e12 (refused at any dt); subexpressions fanning out 10-fold 8 levels
    deep were evaluated 1e8 times (minutes); each case here is read or left out at once."""
    from biorate.models.stability import relaxation_rates

    got = relaxation_rates(equations, {"g": 10e-9, "C": 200e-12, "E": -0.07, "tau": 0.02,
                                       "k": -1.0}, {})  # fmt: skip
    assert got.keys() == rates.keys()
    for k, v in rates.items():
        assert got[k] == pytest.approx(v, rel=1e-6)


def test_a_sweep_checks_relaxation_per_point_with_all_its_values(tmp_path):
    """The review: each swept value was checked with the model's other values, so g_L = 5-10 uS
    beside C_m = 10-20 nF (every point's C_m/g_L >= 1 ms) was refused for g_L = 5 uS at the
    default C_m = 200 pF. Each point is checked with its own values, and a bad one is named."""
    from biorate.sweep import load_spec

    def spec(c_m):
        (tmp_path / "s.toml").write_text(
            'schema = 1\nname = "g"\nmeasure = "fi"\n[model]\nname = "cond_lif"\n[grid]\n'
            f'g_L = ["5 uS", "10 uS"]\nC_m = {c_m}\n[protocol]\ndrive = "current"\n'
            'current = "0nA:1nA:6"\nduration = "100 ms"\ntrials = 1\nseed = 1\n'
            '[fit]\nforms = ["sigmoid"]\n'
        )
        return load_spec(tmp_path / "s.toml")

    spec('["10 nF", "20 nF"]')
    with pytest.raises(ProtocolError, match=r"grid points with g_L = 5000 nS, C_m = 200 pF: dt "
                                            r"= 0\.1 ms must be shorter than the time constant"):  # fmt: skip
        spec('["10 nF", "200 pF"]')


def test_a_neuron_search_box_is_refused_only_when_no_corner_can_run(tmp_path):
    """A search's bounds: g_L in [5 uS, 10 uS] is searchable beside C_m in [10 nF, 20 nF]; alone
    (C_m at 200 pF: C_m/g_L 20-40 us, below dt) every candidate would fail, so it is refused."""
    from biorate.search import load_search_spec

    def spec(bounds):
        (tmp_path / "s.toml").write_text(
            'schema = 1\nname = "n"\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n'
            'population = 2\nsample = 2\n[objective]\nkind = "accuracy"\ndataset = "xor"\n'
            'hidden = [4]\nepochs = 1\nseeds = 1\n[neuron]\nmodel = "cond_lif"\n'
            'current = "0nA:4nA:11"\nform = "soft_lif"\ncurve = "measured"\n'
            f"[neuron.bounds]\n{bounds}\n"
        )
        return load_search_spec(tmp_path / "s.toml")

    spec('g_L = ["5 uS", "10 uS"]\nC_m = ["10 nF", "20 nF"]')
    with pytest.raises(
        br.BiorateError, match="at every point of a 5-level grid over the bounds, dt = 0.1 ms must"
    ):
        spec('g_L = ["5 uS", "10 uS"]')


def test_a_pgf_figure_without_a_tex_system_is_refused_before_work(monkeypatch, tmp_path):
    """A1: --plot p.pgf passed the format check, and matplotlib's PGF backend, which needs a TeX
    system, failed after all the work with a 108-line traceback."""
    pytest.importorskip("matplotlib")
    from biorate._figure_formats import check_figure_format

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OutputError, match=r"p\.pgf: matplotlib writes PGF figures with a "
                                          r"TeX system \(xelatex\), which is not installed"):  # fmt: skip
        check_figure_format(tmp_path / "p.pgf", "--plot")
    check_figure_format(tmp_path / "p.pdf", "--plot")


@pytest.mark.skipif(shutil.which("latex") is not None, reason="needs a machine without LaTeX")
def test_a_figure_matplotlib_cannot_draw_is_one_line(monkeypatch, tmp_path, cli):
    """A matplotlibrc asking for text.usetex without LaTeX: one line naming the figure, exit 2,
    the other outputs left as they were."""
    pytest.importorskip("matplotlib")
    import matplotlib

    br.theory.fi("lif", current="0nA:1nA:21").save(tmp_path / "c.json")
    (tmp_path / "a.json").write_text('{"old": 1}')
    monkeypatch.setitem(matplotlib.rcParams, "text.usetex", True)
    code, _, err = cli("fit", tmp_path / "c.json", "-o", tmp_path / "a.json", "--quiet", "--plot",
                       tmp_path / "p.png")  # fmt: skip
    assert code == 2 and err.count("\n") == 1, err
    assert "matplotlib is set to draw text with TeX (text.usetex in a matplotlibrc)" in err
    assert (tmp_path / "a.json").read_text() == '{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "c.json"]


def test_masked_labels_inside_a_list_are_refused():
    """A2: labels [np.ma.array(1, mask=True), 0] (what indexing a masked array of labels
    gives) raised NumPy's MaskError from fit and score."""
    net = br.RateNetwork([2, 4, 2], seed=0)
    X = [[0.0, 1.0], [1.0, 0.0]]
    with pytest.raises(DataError, match="labels y holds numpy.ma.masked"):
        net.fit(X, [np.ma.array(1, mask=True), 0], epochs=1)
    net.fit(X, [1, 0], epochs=1)
    with pytest.raises(DataError, match="labels y holds numpy.ma.masked"):
        net.score(X, [np.ma.array(1, mask=True), 0])


def test_a_deployment_of_a_tiny_step_is_refused_for_its_time(tmp_path):
    """B1: deploy --method euler --dt 1ns started ~1e8 Brian2 steps an image (over an hour:
    each step costs Brian2's per-step overhead once per population, ~60 us for a 2-4-2 net, not
    the ~30 us of one group that the estimate assumed), where simulate fi refuses such a run."""
    from biorate.deploy import deploy
    from biorate.deploy.mapping import DeployError

    net = br.RateNetwork([2, 4, 2], activation="lif_noise", seed=0)
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    net.fit(X, [1, 0], epochs=1)
    with pytest.raises(DeployError, match=r"deploy: 2 images x 6 neurons x 1e\+08 time steps "
                                          r"\(t_max/dt\) is estimated at 6\.02e\+03 s"):  # fmt: skip
        deploy(net, X, [1, 0], durations="100 ms", method="euler", dt="1 ns", target="numpy",
               progress=False)  # fmt: skip


def test_a_unitless_parameters_search_bounds_are_read_whole(tmp_path):
    """F2: neuron-search bounds for a dimensionless parameter written [0.5, 2] (or [1.0, 2.0],
    [10, 20]) were refused with "cannot parse unit '5'": the unit shown was cut out of the number."""
    from biorate.search import load_search_spec

    text = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = text.replace('name = "lif"', 'name = "glif"').replace("R_m*I", "R_m*I*gain")
    text = text.replace('theory = "lif"\n', "")
    text = text.replace("[neuron]", "gain = 1.0\n\n[neuron]", 1)
    (tmp_path / "glif.toml").write_text(text)
    for bounds, lo, hi in (("[0.5, 2]", 0.5, 2.0), ("[1.0, 2.0]", 1.0, 2.0), ("[10, 20]", 10.0, 20.0),
                           ('["0.5", "2"]', 0.5, 2.0)):  # fmt: skip
        (tmp_path / "s.toml").write_text(
            'schema = 1\nname = "n"\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n'
            'population = 2\nsample = 2\n[objective]\nkind = "accuracy"\ndataset = "xor"\n'
            f'hidden = [4]\nepochs = 1\nseeds = 1\n[neuron]\nmodel = "{tmp_path / "glif.toml"}"\n'
            f'current = "0nA:4nA:11"\nform = "soft_lif"\n[neuron.bounds]\ngain = {bounds}\n'
        )
        spec = load_search_spec(tmp_path / "s.toml")
        assert spec.space.units == ("1",) and spec.space.bounds == (("gain", lo, hi),), bounds


def test_an_api_script_with_a_closed_stream_measures_with_brian2(tmp_path):
    """F3: a script started with its standard output or error closed could not measure on the
    default target ("'NoneType' object has no attribute 'flush'", Brian2's compiler check); the
    command line had a fix of its own."""
    import subprocess
    import sys

    pytest.importorskip("brian2")
    script = tmp_path / "m.py"
    script.write_text(  # (campaign 17: a progress bar, and deploy's build, met None too)
        "import sys, numpy as np, biorate as br\n"
        "c = br.measure_fi('lif', '0nA:1nA:3', duration='50 ms', trials=1, progress=True)\n"
        "net = br.RateNetwork([2, 3, 2], activation='lif_noise', seed=0)\n"
        "X = np.array([[0.0, 1.0], [1.0, 0.0]])\n"
        "net.fit(X, [1, 0], epochs=1)\n"
        "r = br.deploy(net, X, [1, 0], durations='30 ms', method='euler', progress=False)\n"
        f"open({str(tmp_path / 'out.txt')!r}, 'w').write(repr([float(v) for v in c.y]))\n"
    )
    for fd in (1, 2):
        (tmp_path / "out.txt").unlink(missing_ok=True)
        proc = subprocess.run([sys.executable, str(script)], timeout=600,
                              **({"stdout": subprocess.DEVNULL} if fd == 2 else {}),
                              pass_fds=(), close_fds=True,
                              preexec_fn=lambda fd=fd: __import__("os").close(fd))  # fmt: skip
        assert proc.returncode == 0
        assert (tmp_path / "out.txt").read_text().startswith("[0.0, ")


def test_error_lines_show_a_latin1_byte_as_figure_titles_do(cli):
    """E3: a non-UTF-8 argument was shown as a lone surrogate ('li\\udce9') in error lines,
    while figure titles and Brian2's log show '\\xe9'."""
    import os

    code, _, err = cli("simulate", "fi", "--model", os.fsdecode(b"li\xe9"), "-o", "x.json")
    assert code == 2 and "unknown model 'li\\xe9'" in err, err


def test_a_noisy_models_refusal_suggests_no_method_brian2_rejects():
    """E1: the dt refusal suggested method = "exponential_euler", which Brian2 rejects for a model
    with noise (cond_lif): such a model is told to take a smaller dt only."""
    from biorate.models import load_model

    with pytest.raises(ProtocolError) as info:
        load_model("cond_lif").with_params(g_L="10 uS").check_dt(1e-4)
    assert str(info.value).endswith("use dt < 0.02 ms")


def test_a_postscript_figure_prints_no_raw_backend_line(tmp_path, cli):
    """E5: --plot p.eps printed matplotlib's raw "The PostScript backend does not support
    transparency" line."""
    pytest.importorskip("matplotlib")
    br.theory.fi("lif", current="0nA:1nA:21").save(tmp_path / "c.json")
    code, _, err = cli("fit", tmp_path / "c.json", "-o", tmp_path / "a.json", "--quiet", "--plot",
                       tmp_path / "p.eps")  # fmt: skip
    assert code == 0 and err == "", err
    assert (tmp_path / "p.eps").read_bytes()[:4] == b"%!PS"


def test_training_with_a_poisson_recorded_current_activation_warns(tmp_path, cli):
    """E6: an f-I activation in amperes whose source records drive = "poisson" trained without a
    word; deploy refuses it ("measured with drive 'poisson'"). train now says so first."""
    import json

    act = json.loads((ROOT / "models" / "activations" / "lif.json").read_text())
    act["source"].setdefault("protocol", {})["drive"] = "poisson"
    (tmp_path / "a.json").write_text(json.dumps(act))
    code, _, err = cli("train", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--quiet",
                       "--activation", tmp_path / "a.json", "-o", tmp_path / "n.npz")  # fmt: skip
    assert code == 0, err
    assert err.startswith("biorate: warning: deploy will refuse the network this trains:")
    assert "poisson" in err


# --- campaign 17 ---


@pytest.mark.parametrize("term", ["int(not_refractory)", "(1 + 0*i)", "N/N", "(dt/dt)",
                                  "(2*arcsin(1)/pi)"])  # fmt: skip
def test_brian2s_own_names_do_not_hide_a_leak(tmp_path, term):
    """Campaign 17 C2: a leak beside one of Brian2's own names (not_refractory, i, N, dt) or a
    function the check did not know (arcsin) was not checked: g_L = 10 uS ran at ~470 Hz."""
    line = f"dv/dt = (g_L*(E_L - v)*{term} + g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m" + NOISE
    m = _cond(tmp_path, "named", line)
    m.check_dt(1e-4)
    with pytest.raises(ProtocolError, match=r"time constant of v .* 0\.02 ms"):
        m.with_params(g_L="10 uS").check_dt(1e-4)


@pytest.mark.parametrize(("weight", "value"), [
    ("J*int(not_refractory)", 1e-4), ("J*log(0*(v/v))", "nan"), ("J*(v/v)*1e300*1e300", "inf"),
    ("J*exp(1000*(v/v))", "inf"), ("J*sqrt(-1*(v/v))", "nan"), ("J*(v/v)/0", "inf"),
    ("J*rand()", 5e-5),  # at rand() = 0.5 (campaign 18: rand() tried over its range)
])  # fmt: skip
def test_a_poisson_weight_is_evaluated_at_rest_on_every_target(tmp_path, weight, value):
    """Campaign 17 C3: a weight Brian2 folds into inf/NaN was refused on the numpy target only;
    on Cython the compile error scrolled by and the run went on, exit 0 with an all-zero curve.
    The weight is evaluated at the model's initial state before anything is built."""
    from biorate.models import Model
    from biorate.models.stability import value_at_rest

    lif = Model.from_toml(ROOT / "models" / "neurons" / "lif.toml")
    n = lif.section("neuron")
    got = value_at_rest(weight, n["equations"], {k: p.value for k, p in lif.params.items()},
                        n["initial"])  # fmt: skip
    if value is None or isinstance(value, float):
        assert got == value or got == pytest.approx(value)
        return
    assert str(got) == value
    text = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = text.replace('weight = "J*int(not_refractory)"', f'weight = "{weight}"')
    (tmp_path / "w.toml").write_text(text.replace('name = "lif"', 'name = "w"'))
    with pytest.raises(ProtocolError, match=r"weight .* is not a finite number at the model's "
                                            r"initial state"):  # fmt: skip
        br.measure_fi(Model.from_toml(tmp_path / "w.toml"), drive="poisson", rate="0Hz:50Hz:2",
                      duration="20 ms", trials=1, progress=False)  # fmt: skip


def test_a_masked_layer_size_is_refused():
    """Campaign 17 C4: a masked 0-d array as a layer size built a layer of its hidden value."""
    from biorate.errors import NetworkError

    for sizes in ([2, np.ma.array(4, mask=True), 2], [2, np.ma.masked, 2]):
        with pytest.raises(NetworkError, match="masked values are not sizes"):
            br.RateNetwork(sizes)
    assert br.RateNetwork([2, np.ma.array(4, mask=False), 2]).sizes == [2, 4, 2]


def test_units_written_with_pythons_power_are_read():
    """Campaign 17 F3: 'mS/cm**2', 'ms**-1' (Brian2's spelling, which a model's equations take)
    were refused as parameter units; '^' was the only spelling."""
    from biorate.units import parse_quantity

    for text, caret in (("0.1 mS/cm**2", "0.1 mS/cm^2"), ("0.03 ms**-1", "0.03 ms^-1"),
                        ("0.7 nS*mV**-1", "0.7 nS*mV^-1"), ("20000 um ** 2", "20000 um^2")):  # fmt: skip
        assert parse_quantity(text) == parse_quantity(caret)


def test_an_initial_value_written_as_a_quantity_is_taken(tmp_path):
    """Campaign 17 E3: `initial = { v = "-69 mV" }` (a parameter's spelling) got Brian2's
    "invalid syntax"; code (`-69*mV`, `E_L`) worked. Both are taken; the check reads it too."""
    from biorate.models import Model
    from biorate.models.stability import relaxation_rates

    pytest.importorskip("brian2")
    text = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = text.replace('initial = { v = "E_L" }', 'initial = { v = "-69 mV" }')
    (tmp_path / "q.toml").write_text(text.replace('name = "lif"', 'name = "q"'))
    m = Model.from_toml(tmp_path / "q.toml")
    curve = br.measure_fi(m, current="0nA:1nA:3", duration="50 ms", trials=1, target="numpy",
                          progress=False)  # fmt: skip
    assert list(curve.y) == list(br.measure_fi("lif", current="0nA:1nA:3", duration="50 ms",
                                               trials=1, target="numpy", progress=False).y)  # fmt: skip
    n = m.section("neuron")
    assert relaxation_rates(n["equations"], {k: p.value for k, p in m.params.items()},
                            n["initial"])["v"] == pytest.approx(50.0)  # fmt: skip


def test_subexpressions_used_many_times_are_evaluated_once_each():
    """Campaign 17 B1: 16 subexpressions, each using the one before three times, kept the check
    busy for minutes (3**16 evaluations); each is evaluated once per state."""
    from biorate.models.stability import relaxation_rates

    eqs = (
        "dv/dt = -s1/tau : 1\n"
        + "\n".join(f"s{k} = (s{k + 1} + s{k + 1} + s{k + 1})/3 : 1" for k in range(1, 17))
        + "\ns17 = v : 1"
    )
    assert relaxation_rates(eqs, {"tau": 0.02}, {})["v"] == pytest.approx(50.0)


def test_an_idx_folder_through_a_loop_of_links_is_named(tmp_path):
    """Campaign 17 E4: `idx:` naming a loop of symbolic links said "no such folder"."""
    import os

    from biorate.datasets import load_dataset

    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(DataError, match="its path goes through a loop of symbolic links"):
        load_dataset(f"idx:{tmp_path / 'loop'}")
