"""The neuron space with measured curves (issue 15): a candidate of a model no theory describes
(``adaptive_lif``) is scored by its f-I curve measured on Brian2 and fitted as ``biorate fit``
does, so the best one deploys as that neuron."""

from __future__ import annotations

import numpy as np
import pytest

import biorate as br
from biorate.search import load_search_spec, run_search
from biorate.search.neuron import neuron_activation

# a short, cheap measurement (numpy target: no compilation in the test run)
PROTOCOL = {"duration": "300 ms", "transient": "100 ms", "trials": 2, "dt": "0.1 ms",
            "seed": 3, "target": "numpy"}  # fmt: skip


def _spec(**neuron):
    return {"schema": 1, "name": "nm",
            "search": {"space": "neuron", "seed": 0, "budget": 3, "population": 2, "sample": 2,
                       "batch": 2, "workers": 0},
            "objective": {"kind": "accuracy", "dataset": "xor", "hidden": [6], "epochs": 4,
                          "seeds": 2},
            "neuron": {"model": "adaptive_lif", "current": "0nA:2nA:21", **PROTOCOL,
                       "bounds": {"tau_m": ["5 ms", "40 ms"], "sigma": ["0.5 mV", "3 mV"]},
                       **neuron}}  # fmt: skip


def test_a_model_without_theory_is_measured_by_default_and_its_protocol_is_kept():
    spec = load_search_spec(_spec())
    sp = spec.space
    assert sp.curve == "measured"
    described = sp.describe()
    assert described["protocol"] == {"duration_s": 0.3, "transient_s": 0.1, "trials": 2,
                                     "dt_s": 1e-4, "seed": 3, "target": "numpy"}  # fmt: skip
    # lif keeps its theory curve unless asked, and then its description is unchanged (hashes of
    # earlier searches stay valid)
    lif = load_search_spec(_spec(model="lif", **dict.fromkeys(PROTOCOL)))  # fields null = absent
    assert lif.space.curve == "theory" and "protocol" not in lif.space.describe()
    assert load_search_spec(_spec(model="lif", curve="measured")).space.curve == "measured"


def test_a_measured_candidates_activation_is_its_fitted_brian2_curve():
    """The same numbers as measuring the neuron with measure_fi (same seed) and fitting it."""
    params = {"tau_m": 0.02, "sigma": 0.002}
    sp = load_search_spec(_spec()).space
    act = neuron_activation("adaptive_lif", params, "0nA:2nA:21", "soft_lif",
                            protocol=sp.describe()["protocol"])  # fmt: skip
    neuron = br.load_model("adaptive_lif").with_params(tau_m="20 ms")
    curve = br.measure_fi(neuron, current="0nA:2nA:21", sigma="2 mV", duration="300 ms",
                          transient="100 ms", trials=2, dt="0.1 ms", seed=3, target="numpy",
                          progress=False)  # fmt: skip
    direct = br.fit(curve, form="soft_lif")
    assert [act.params[k] for k in direct.params] == [direct.params[k] for k in direct.params]
    assert act.source["model"]["name"] == "adaptive_lif"
    assert act.source["model"]["params"]["tau_m"] == "20 ms"
    from biorate.deploy.mapping import spiking_origin

    origin = spiking_origin(act)  # deploy builds this neuron, with this noise
    assert origin.model.name == "adaptive_lif" and origin.sigma_v == pytest.approx(0.002)


def test_a_measured_neuron_search_runs_resumes_and_its_best_deploys(tmp_path):
    a = run_search(_spec(), tmp_path / "a", progress=False)
    assert a.computed == 3 and all(r["status"] == "ok" for r in a.leaderboard)
    again = run_search(_spec(), tmp_path / "a", progress=False)
    assert again.computed == 0 and again.reused == 3
    # another measurement seed is another evaluation (the protocol is in the hash)
    other = run_search(_spec(seed=4), tmp_path / "a", progress=False)
    assert other.computed == 3
    best = br.Activation.load(tmp_path / "a" / "best.json")
    assert best.source["model"]["name"] == "adaptive_lif"
    net = br.RateNetwork([2, 3, 2], activation=best, seed=0).initialize()
    report = br.deploy(net, np.array([[0.2, 0.8]]), durations="20 ms", target="numpy", method="euler",
                       progress=False)  # fmt: skip
    assert report["n_images"] == 1 and [p["name"] for p in report["populations"]] == ["h1", "out"]


@pytest.mark.parametrize("over, match", [
    ({"curve": "theory"}, "has no theory curve"),
    ({"curve": "spline"}, "not one of theory, measured"),
    ({"model": "lif", "curve": "theory", "trials": 3}, "a theory curve is not simulated"),
    ({"dt": "0 ms"}, "dt"),
    ({"duration": "5 mV"}, "duration"),
    ({"trials": 0}, "trials"),
    ({"target": "gpu"}, "not one of auto"),
    ({"seed": -1}, "seed"),
    ({"dt": "1 ms", "bounds": {"t_ref": ["0.5 ms", "3 ms"]}}, "t_ref"),
    ({"trials": 100_000, "duration": "1000 s"}, "each candidate's curve"),
])  # fmt: skip
def test_bad_measurement_fields_are_one_specific_error(over, match):
    with pytest.raises(Exception, match=match) as info:
        load_search_spec(_spec(**over))
    assert isinstance(info.value, br.BiorateError) and "\n" not in str(info.value)


def test_bad_measurement_through_the_cli(cli, tmp_path):
    (tmp_path / "s.toml").write_text(
        'schema = 1\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n[objective]\n'
        'kind = "accuracy"\n[neuron]\nmodel = "adaptive_lif"\ndt = "5 ms"\n'
        '[neuron.bounds]\ntau_m = ["5 ms", "20 ms"]\n'
    )
    code, _, err = cli("search", tmp_path / "s.toml", "-o", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1 and "dt" in err, err
    assert not (tmp_path / "out").exists()


# --- release synapses: the curve is the release rate against the presynaptic rate ----------------
def _synapse_spec(**neuron):
    spec = _spec()
    spec["neuron"] = {"model": "tm_release",
                      "bounds": {"U": ["0.1", "0.9"], "tau_rec": ["50 ms", "1 s"]}, **neuron}  # fmt: skip
    return spec


def test_a_synapse_candidates_activation_is_its_fitted_release_curve():
    """Theory (Tsodyks-Markram, the default for tm_release) and measured (Brian2) alike: the same
    numbers as computing the curve directly and fitting it (hill, the default form for a
    synapse)."""
    params = {"U": 0.3, "tau_rec": 0.2}
    syn = br.load_model("tm_release").with_params(U=0.3, tau_rec="200 ms")
    act = neuron_activation("tm_release", params, "1Hz:100Hz:100", "hill")
    direct = br.fit(br.theory.release(syn, rate="1Hz:100Hz:100"), form="hill")
    assert [act.params[k] for k in direct.params] == [direct.params[k] for k in direct.params]
    sp = load_search_spec(_synapse_spec(curve="measured", rate="2Hz:50Hz:12", duration="2 s",
                                        transient="200 ms", trials=2, seed=5,
                                        target="numpy")).space  # fmt: skip
    assert sp.axis == "rate" and sp.form == "hill" and sp.describe()["rate"] == "2Hz:50Hz:12"
    measured = neuron_activation("tm_release", params, "2Hz:50Hz:12", "hill",
                                 protocol=sp.describe()["protocol"])  # fmt: skip
    curve = br.measure_release(syn, rate="2Hz:50Hz:12", duration="2 s", transient="200 ms",
                               trials=2, seed=5, target="numpy", progress=False)  # fmt: skip
    direct = br.fit(curve, form="hill")
    assert [measured.params[k] for k in direct.params] == [direct.params[k] for k in direct.params]
    assert measured.source["measure"] == "release"


def test_a_synapse_search_runs_and_deploy_refuses_its_best_in_one_line(tmp_path):
    """A synapse's activation trains but is no neuron's: deploy says so."""
    result = run_search(_synapse_spec(), tmp_path, progress=False)
    assert all(r["status"] == "ok" for r in result.leaderboard)
    best = br.Activation.load(tmp_path / "best.json")
    assert best.source["model"]["name"] == "tm_release" and best.x_unit == "Hz"
    net = br.RateNetwork([2, 3, 2], activation=best, seed=0).initialize()
    from biorate.deploy.mapping import DeployError

    with pytest.raises(DeployError, match="f-I curve against injected current") as info:
        br.deploy(
            net,
            np.array([[0.2, 0.8]]),
            durations="20 ms",
            target="numpy",
            method="euler",
            progress=False,
        )
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("over, match", [
    ({"current": "0nA:1nA:20"}, "unknown field"),
    ({"rate": "0nA:1nA:20"}, "not a rate range"),
    ({"rate": "-5Hz:10Hz:20"}, ">= 0"),
    ({"curve": "measured", "rate": "0Hz:10Hz:20"}, "positive"),
    ({"curve": "measured", "rate": "10Hz:2000Hz:20"}, "too high for dt"),
    ({"curve": "measured", "pattern": "burst"}, "not one of poisson"),
    ({"bounds": {"sigma": ["1 mV", "2 mV"]}}, "not a parameter of tm_release"),
])  # fmt: skip
def test_bad_synapse_specs_are_one_specific_error(over, match):
    with pytest.raises(br.BiorateError, match=match):
        load_search_spec(_synapse_spec(**over))
    with pytest.raises(br.BiorateError, match="pattern is a synapse's"):
        load_search_spec(_spec(pattern="poisson"))


def test_a_null_seed_is_the_default_not_a_random_one():
    """seed = null drew a fresh seed at every load, so a resumed search reused nothing."""
    a = load_search_spec(_spec(seed=None)).space.describe()["protocol"]["seed"]
    assert a == load_search_spec(_spec(seed=None)).space.describe()["protocol"]["seed"] == 0


def test_a_sigma_bound_on_a_model_without_a_noise_variable_is_refused_first(tmp_path):
    """It was accepted, then every candidate was rejected after its simulation."""
    text = (br.load_model("lif").path.read_text().replace('noise = "sigma"', "")
            .replace('name = "lif"', 'name = "quiet"'))  # fmt: skip
    (tmp_path / "quiet.toml").write_text(text)
    with pytest.raises(br.BiorateError, match="noise"):
        load_search_spec(_spec(model=str(tmp_path / "quiet.toml"), curve="measured",
                               bounds={"sigma": ["1 mV", "2 mV"]}))  # fmt: skip
