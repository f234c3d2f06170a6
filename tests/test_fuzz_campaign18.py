"""Campaign 18's findings (issue 18), and the open points of the last review of the dt check."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import biorate as br

ROOT = Path(__file__).resolve().parents[1]
EQS = "dx/dt = -k*x/tau : 1\ndk/dt = 0/tau : 1"
PARAMS = {"tau": 0.02}


@pytest.mark.parametrize(("initial", "k"), [
    ({"x": "1", "k": "x"}, 1.0),  # k reads x after x is set
    ({"k": "x", "x": "1"}, 0.0),  # k reads x before: 0, as Brian2 starts every variable
    ({"k": "2", "x": "k*3"}, 2.0),
])  # fmt: skip
def test_initial_values_are_set_in_the_tables_order_as_brian2_sets_them(initial, k):
    """The review: the initial state was evaluated in the equations' order, not the table's, so
    an initial value reading another variable could see a value Brian2 had not set yet. Checked
    against Brian2's own NeuronGroup, set as biorate's simulations set it."""
    import brian2

    from biorate.models.stability import relaxation_rates

    group = brian2.NeuronGroup(1, EQS, namespace={"tau": PARAMS["tau"] * brian2.second},
                               codeobj_class=brian2.NumpyCodeObject)  # fmt: skip
    for var, expr in initial.items():
        setattr(group, var, expr)
    assert float(group.k[0]) == k
    brian2.Network(group).run(0 * brian2.ms)  # used (Brian2 warns of a group never run)
    rates = relaxation_rates(EQS, PARAMS, initial)
    assert rates["x"] == pytest.approx(k / PARAMS["tau"], rel=1e-6, abs=1e-9)
    assert rates["k"] == 0.0


def test_a_random_initial_state_is_checked_at_both_ends_and_unknown_values_are_not():
    """Campaign 18 D1: an initial value the check could not evaluate (``E_L + rand()*mV``) was
    taken as 0, where an exponential neuron's rate grows, so the check passed a leak of 20 us
    at dt = 0.1 ms (480 Hz at 0 nA). rand() and randn() are now tried at the middle and both
    ends of their range (the fastest rate counts); a value it cannot evaluate at all (a function
    it does not know) leaves what reads it unchecked, never taken as 0."""
    from biorate.models.stability import relaxation_rates, value_at_rest

    rates = relaxation_rates(EQS + "\ndy/dt = -y/tau : 1", PARAMS, {"k": "rand()", "x": "1"})
    assert rates == {"k": 0.0, "x": pytest.approx(50.0, rel=1e-5), "y": pytest.approx(50.0)}
    rates = relaxation_rates(EQS, PARAMS, {"k": "1 + randn()", "x": "1"})
    assert rates["x"] == pytest.approx(3 / PARAMS["tau"], rel=1e-6)  # randn() at +2
    unknown = relaxation_rates(EQS + "\ndy/dt = -y/tau : 1", PARAMS, {"k": "foo()", "x": "1"})
    assert unknown == {"y": pytest.approx(50.0, rel=1e-6)}  # k unknown, x's rate reads it
    assert value_at_rest("2*k", EQS, PARAMS, {"k": "foo()"}) is None
    assert value_at_rest("2*k", EQS, PARAMS, {"k": "rand()"}) == pytest.approx(1.0)
    assert value_at_rest("2*k", EQS, PARAMS, {"k": "3"}) == 6.0
    # rand() never reaches 0: the exponential-weight idiom -J*log(rand()) is a finite weight
    assert value_at_rest("-2*log(k)", EQS, PARAMS, {"k": "rand()"}) == pytest.approx(
        2 * 0.6931, rel=1e-4
    )
    assert value_at_rest("-log(rand())", EQS, PARAMS, {}) == pytest.approx(0.6931, rel=1e-4)
    assert value_at_rest("1/(k - k)", EQS, PARAMS, {"k": "rand()"}) == float("inf")


EIF = ("dv/dt = (g_L*(E_L - v) + g_L*D_T*exp((v - V_T)/D_T) + I)/C_m : volt (unless refractory)"
       "\nI : amp")  # fmt: skip
EIF_PARAMS = {"g_L": 10e-6, "E_L": -0.07, "D_T": 0.002, "V_T": -0.05, "C_m": 200e-12}


@pytest.mark.parametrize("equations", [
    EIF,
    EIF.replace("d" + "v/dt", "d v/dt"),  # Brian2 reads a space after d (campaign 18 F1)
    EIF.replace("+ I)/C_m", "+ I)/C_m*int(t >= 0*second and v < 1*volt)"),  # and/or (D3)
    EIF.replace("+ I)/C_m", "+ I)/C_m*(1 + 0*timestep(t, dt))"),  # Brian2's timestep() (D3)
])  # fmt: skip
def test_a_fast_leak_is_read_in_every_form_brian2_accepts(equations):
    """Campaign 18 D3, F1: a leak beside ``and``/``or`` or ``timestep()``, or written
    ``d v/dt``, was not read (and ``d v/dt`` refused as "not a variable"): 20 us at dt 0.1 ms
    ran at 480 Hz."""
    from biorate.models.stability import relaxation_rates

    for initial in ({"v": "E_L"}, {"v": "E_L + rand()*mV"}):
        rates = relaxation_rates(equations, {**EIF_PARAMS, "dt": 1e-4}, initial)
        assert rates["v"] == pytest.approx(EIF_PARAMS["g_L"] / EIF_PARAMS["C_m"], rel=0.01)


def test_lastspike_starts_where_brian2_starts_it():
    """Brian2 starts ``lastspike`` at -1e4 s; the check took -1e9 s, so a rate reading it (an
    adaptation decaying since the last spike) was evaluated elsewhere than the neuron is."""
    import brian2

    from biorate.models.stability import relaxation_rates

    group = brian2.NeuronGroup(1, "dv/dt = -v/(20*ms) : 1", threshold="v > 1", reset="v = 0",
                               refractory=0 * brian2.ms, codeobj_class=brian2.NumpyCodeObject)  # fmt: skip
    start = float(group.lastspike[0])
    brian2.Network(group).run(0 * brian2.ms)
    rates = relaxation_rates("dv/dt = -v*(1 - lastspike/1e4)/tau : 1", PARAMS, {})
    assert rates["v"] == pytest.approx((1 - start / 1e4) / PARAMS["tau"])
    assert start == -1e4


def test_a_neuron_search_box_fast_at_its_corners_but_not_inside_is_searched(tmp_path):
    """The review: the box check tried the corners only, so a model relaxing fast at both ends
    of a parameter and slowly between (1 + 1000*(k - 1)^2 times the leak's rate: 20 us at
    k = 0 and 2, 20 ms at k = 1) was refused though its middle runs; it is searched now, and
    refused when no point of the grid can run."""
    from biorate.search import load_search_spec

    lif = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = (
        lif.replace('name = "lif"', 'name = "bowl"')
        .replace('theory = "lif"\n', "")
        .replace(
            "dv/dt = (E_L - v + R_m*I)/tau_m",
            "dv/dt = ((E_L - v)*(1 + 1000*(k - 1)**2) + R_m*I)/tau_m",
        )
        .replace('J = "0.1 mV"', 'J = "0.1 mV"\nk = "1"')
    )
    (tmp_path / "bowl.toml").write_text(text)

    def spec(bounds):
        (tmp_path / "s.toml").write_text(
            'schema = 1\nname = "n"\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n'
            'population = 2\nsample = 2\n[objective]\nkind = "accuracy"\ndataset = "xor"\n'
            "hidden = [4]\nepochs = 1\nseeds = 1\n[neuron]\n"
            f'model = "{tmp_path / "bowl.toml"}"\n'
            'current = "0nA:4nA:11"\nform = "soft_lif"\ncurve = "measured"\n'
            f"[neuron.bounds]\n{bounds}\n"
        )
        return load_search_spec(tmp_path / "s.toml")

    spec('k = ["0", "2"]')
    with pytest.raises(br.BiorateError, match="at every point of a 5-level grid over the bounds"):
        spec('k = ["1.8", "2"]')


@pytest.mark.parametrize(("text", "shown"), [
    ("1 mV**x", "'mV**x'"), ("1 kA**200", "'kA**200'"), ("2 mV ** 1/2", "'mV ** 1/2'"),
])  # fmt: skip
def test_a_unit_written_with_pythons_power_is_quoted_as_written(text, shown):
    """The review: a unit with ``**`` was read as ``^`` and its error quoted the rewritten text
    (``'kA^200'`` for ``kA**200``), not what the user wrote."""
    from biorate.errors import UnitError
    from biorate.units import parse_quantity

    with pytest.raises(UnitError, match=re.escape(shown)):
        parse_quantity(text)
    assert parse_quantity("1 mS/cm**2") == parse_quantity("1 mS/cm^2")


@pytest.mark.parametrize(("text", "shown"), [
    ("1 S", "1 S"), ("3 uS", "3000 nS"), ("1e-15 S", "1 fS"), ("20 ms", "20 ms"),
    ("1e5 s", "100000 s"), ("5 A", "5 A"), ("0.5 nA", "0.5 nA"), ("-2 S", "-2 S"),
])  # fmt: skip
def test_a_quantity_far_from_its_usual_unit_is_shown_with_a_readable_prefix(text, shown):
    """Campaign 16 E2: a conductance of 1 S read "1000000000 nS" in messages. A value needing
    more than six digits (or below 1e-3) in its dimension's usual unit moves to another prefix
    (a time to seconds at most); the string still reads back to the same value."""
    from biorate.units import format_quantity, parse_quantity

    value, dim = parse_quantity(text)
    assert format_quantity(value, dim) == shown
    assert parse_quantity(shown)[0] == pytest.approx(value, rel=1e-12)


def _tm(tmp_path, name, edits, method="euler"):
    from biorate.models import Model

    text = (ROOT / "models" / "synapses" / "tm_release.toml").read_text()
    for old, new in {**edits, 'method = "exact"': f'method = "{method}"',
                     'theory = "tm_release"\n': ""}.items():  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    text = text.replace('name = "tm_release"', f'name = "{name}"')
    (tmp_path / f"{name}.toml").write_text(text)
    return Model.from_toml(tmp_path / f"{name}.toml")


def test_a_synapse_stepped_by_euler_is_held_to_its_relaxation_time(tmp_path):
    """Campaign 18 D4: a synapse's equations were never checked for relaxation: a recovery of
    20 us (named T_rec, so not held by the tau... rule) stepped by Euler at 0.1 ms wrote a
    curve of NaN with exit 0. Refused before the run, with the time constant it found."""
    from biorate.errors import ProtocolError

    m = _tm(tmp_path, "fastrec", {'tau_rec = "800 ms"': 'T_rec = "20 us"',
                                  "(1 - x)/tau_rec": "(1 - x)/T_rec"})  # fmt: skip
    with pytest.raises(ProtocolError, match=r"time constant of x .* 0\.02 ms"):
        br.measure_release(m, rate="1Hz:100Hz:4", duration="1 s", trials=1, progress=False,
                           target="numpy")  # fmt: skip
    assert m.relaxation_problem(1e-5) is None  # a step below 20 us is taken


def test_a_synapse_whose_state_diverges_writes_no_curve(tmp_path):
    """Campaign 18 D4: a curve of NaN came back with exit 0. A synapse whose resources grow
    without bound (dx/dt = x/T, no relaxation to check) is refused after its run."""
    from biorate.errors import ProtocolError

    m = _tm(tmp_path, "grow", {"(1 - x)/tau_rec": "x/T_grow + 0/tau_rec",
                               'tau_rec = "800 ms"': 'tau_rec = "800 ms"\nT_grow = "1 ms"'})  # fmt: skip
    with pytest.raises(ProtocolError, match="NaN or inf .* diverged"):
        br.measure_release(m, rate="1Hz:100Hz:2", duration="1 s", trials=1, progress=False,
                           target="numpy")  # fmt: skip


def test_deploy_refuses_presentation_times_that_are_not_whole_steps():
    """Campaign 18 D5: 50 ms and 50.4 ms at dt 1 ms both ran 50 steps and were reported as two
    different times (and 1.5 ms ran 2 steps). A time must be a whole number of steps."""
    from biorate.deploy import deploy
    from biorate.deploy.mapping import DeployError
    from biorate.network import RateNetwork

    net = RateNetwork([2, 3, 2], activation="lif_noise", seed=0)
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    net.fit(X, [1, 0], epochs=1)
    for durations in ("50ms,50.4ms", "1.5 ms"):
        with pytest.raises(DeployError, match="not a whole number of time steps .* e.g. 1 ms or 2 ms|"
                                              "not a whole number of time steps .* e.g. 50 ms or 51 ms"):  # fmt: skip
            deploy(net, X, [1, 0], durations=durations, method="exact", progress=False)
    with pytest.raises(DeployError, match=r"1000\.00005 s is not a whole number"):  # 1e6 steps
        deploy(net, X, [1, 0], durations="1000.00005 s", method="exact", progress=False)


@pytest.mark.parametrize(("t_ref", "dt"), [("2 ms", 1e-3), ("1.5 ms", 5e-4), ("0.6 ms", 2.5e-4),
                                           ("5 ms", 1e-3)])  # fmt: skip
def test_whole_millisecond_presentations_are_whole_steps_of_every_default_dt(t_ref, dt):
    """The review: the exact method's default step, half a t_ref under 2 ms, was 0.75 ms for
    t_ref = 1.5 ms, and every presentation of whole milliseconds was then refused. The default
    is at most half t_ref and divides 1 ms; 0.3 s at 0.1 ms (2999.9999999999995 steps in float)
    is a whole number of steps."""
    from biorate.deploy.mapping import SpikingOrigin
    from biorate.deploy.settings import check_settings, exact_default_dt
    from biorate.models import check_whole_steps

    origin = SpikingOrigin(br.load_model("lif").with_params(t_ref=t_ref), 1e-3, 1e-4, "x")
    assert exact_default_dt(origin) == pytest.approx(dt, rel=1e-12)
    for durations in ("50 ms", "200 ms", "0.5 s", "25 ms,100 ms"):
        s = check_settings(origin, durations=durations, encoding="current", neurons_per_unit=1,
                           tau_syn="5 ms", input_rate="100 Hz", transient=None, dt=None,
                           batch_size=100, method="exact")  # fmt: skip
        assert s.dt_s == pytest.approx(dt, rel=1e-12)
    check_whole_steps(0.3, 1e-4, "t")


@pytest.mark.parametrize("args", [
    (0.01, 0.002, -0.02), (float("nan"), 0.002, 0.02),
    (0.01, 0.002, None), (0.01, float("inf"), 0.02),
])  # fmt: skip
def test_siegert_rate_checks_its_arguments_as_lif_rate_does(args):
    """Campaign 18 D6: siegert_rate checked nothing: tau_m < 0 gave a negative rate, mu = NaN
    0 Hz, None or inf NaN; it refuses what lif_rate refuses."""
    mu, sigma, tau_m = args
    for rate in (br.theory.siegert_rate, br.theory.lif_rate):
        with pytest.raises(br.BiorateError):
            rate(mu, sigma, tau_m, 0.02, 0.01, 0.002)
    with pytest.raises(br.BiorateError, match=r"at most 1e\+06 s"):
        br.theory.tm_release_rate(10.0, 0.5, 1e308)


@pytest.mark.parametrize(("call", "match"), [
    (lambda m: m.relaxation_problem(None), "dt must be a positive number"),
    (lambda m: m.relaxation_problem("1 ms"), "dt must be a positive number"),
    (lambda m: m.relaxation_problem(np.array([1e-4, 2e-4])), "dt must be a positive number"),
    (lambda m: m.relaxation_problem(float("nan")), "dt must be a positive number"),
    (lambda m: m.relaxation_problem(0.0), "dt must be a positive number"),
    (lambda m: m.relaxation_problem(1e-4, True), "params must map names to finite numbers"),
    (lambda m: m.relaxation_problem(1e-4, {"tau_m": "x"}), "params must map names to finite numbers"),
    (lambda m: m.param(np.array(2.0)), "a parameter name is a string"),
    (lambda m: m.param(["tau_m"]), "a parameter name is a string"),
    (lambda m: br.Activation(form="sigmoid", expression=np.array([1, 2])), "only a formula"),
])  # fmt: skip
def test_odd_api_arguments_are_biorate_errors(call, match):
    """Campaign 18 A1-A3: TypeError/ValueError from relaxation_problem, param and Activation
    (67 of 6,510 API calls); and relaxation_problem(nan) said there was no problem."""
    with pytest.raises(br.BiorateError, match=match):
        call(br.load_model("lif"))


def test_messages_name_what_the_user_wrote(tmp_path, cli):
    """Campaign 18 E1, E3, E4: an empty file name (csv:a.csv, and --activation '') was said to
    name the same file as an existing -o; '&' in equations read "Brian2 rejected it: 'BitAnd'";
    'µ A' read "unknown unit 'u'" and tau_m = 1e308 s "inf ms"."""
    out = tmp_path / "o.npz"
    out.write_bytes(b"SENT")
    (tmp_path / "a.csv").write_text("x,label\n0,0\n1,1\n")
    code, _, err = cli("train", "--dataset", f"csv:{tmp_path / 'a.csv'},", "-o", out)
    assert code == 2 and "two files, neither name empty" in err and "same file" not in err
    code, _, err = cli("train", "--dataset", "xor", "--activation", "", "-o", out)
    assert code == 2 and "unknown activation ''" in err
    assert out.read_bytes() == b"SENT"
    code, _, err = cli("theory", "fi", "--current", "0nA:1 µ A:5", "-o", tmp_path / "t.json")
    assert code == 2 and "unknown unit 'µ'" in err
    code, _, err = cli("theory", "fi", "--current", "0nA:0.5nA:5", "--set", "tau_m=1e308 s",
                       "-o", tmp_path / "t.json")  # fmt: skip
    assert code == 2 and "tau_m = 1e+308 s" in err and "inf" not in err
    lif = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = lif.replace('name = "lif"', 'name = "bitand"').replace('theory = "lif"\n', "")
    text = text.replace(
        "(unless refractory)", "(unless refractory)\nk = int((t >= 0*ms) & (v < 0*mV)) : 1"
    )
    (tmp_path / "bitand.toml").write_text(text)
    code, _, err = cli("simulate", "fi", "--model", tmp_path / "bitand.toml", "--current",
                       "0nA:0.2nA:3", "--duration", "20ms", "--trials", "1", "--target", "numpy",
                       "-o", tmp_path / "b.json")  # fmt: skip
    assert code == 2 and "the operator & is not supported" in err and "BitAnd" not in err


def test_training_refuses_its_input_before_the_progress_bar(tmp_path, cli):
    """Campaign 18 E2: inputs of scale 1e7 and --epochs 1e9 were refused after train's progress
    bar had started (two lines on stderr): RateNetwork.check_fit runs fit's checks first."""
    from biorate.errors import DataError, NetworkError
    from biorate.network import RateNetwork

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "huge.npz", X_train=rng.random((50, 4)) * 1e7, y_train=np.arange(50) % 2,
             X_test=rng.random((10, 4)), y_test=np.arange(10) % 2)  # fmt: skip
    for args in (["--dataset", f"npz:{tmp_path / 'huge.npz'}"],
                 ["--dataset", "xor", "--epochs", "1000000000"]):  # fmt: skip
        code, _, err = cli("train", *args, "-o", tmp_path / "n.npz")
        assert code == 2 and err.count("\n") == 1 and "train:" not in err, err
    net = RateNetwork([4, 3, 2], seed=0)
    with pytest.raises(DataError, match="largest magnitude"):
        net.check_fit(rng.random((50, 4)) * 1e7, np.arange(50) % 2)
    with pytest.raises(NetworkError, match="epochs must be an integer"):
        net.check_fit(rng.random((50, 4)), np.arange(50) % 2, epochs=0)


def test_a_search_refuses_a_spiking_duration_that_is_not_whole_steps():
    """The review: spiking_duration = "100.05 ms" was accepted, then every candidate was trained
    and rejected by deploy's whole-step rule; the spec is refused when it is read."""
    from biorate.search import load_search_spec
    from biorate.sweep.values import SpecError

    spec = {"schema": 1, "name": "sp",
            "search": {"space": "neuron", "seed": 0, "budget": 2, "population": 2, "sample": 2},
            "objective": {"kind": "accuracy", "dataset": "digits", "hidden": [16], "epochs": 30,
                          "seeds": 2, "spiking_duration": "100.05 ms", "spiking_target": "numpy"},
            "neuron": {"model": "lif", "current": "0nA:2nA:41",
                       "bounds": {"tau_m": ["10 ms", "30 ms"]}}}  # fmt: skip
    with pytest.raises(SpecError, match="spiking_duration.*not a whole number of time steps"):
        load_search_spec(spec)
    spec["objective"]["spiking_duration"] = "100 ms"
    assert load_search_spec(spec).objective["spiking_duration_s"] == pytest.approx(0.1)
