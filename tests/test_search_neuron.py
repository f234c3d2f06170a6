"""The neuron space of ``biorate search`` (issue 15): candidates are parameters of a spiking model,
their activations its fitted theory curves, so the best one deploys as it stands."""

from __future__ import annotations

import numpy as np
import pytest

import biorate as br
from biorate.search import load_search_spec, run_search
from biorate.search.neuron import NeuronSpace, neuron_activation
from biorate.sweep.values import SpecError


def _spec(**over):
    spec = {"schema": 1, "name": "nq",
            "search": {"space": "neuron", "seed": 0, "budget": 6, "population": 4, "sample": 2,
                       "batch": 2, "workers": 0},
            "objective": {"kind": "accuracy", "dataset": "xor", "hidden": [8], "epochs": 5,
                          "seeds": 2},
            "neuron": {"model": "lif", "current": "0nA:2nA:41",
                       "bounds": {"tau_m": ["5 ms", "50 ms"], "sigma": ["0 mV", "4 mV"]}}}  # fmt: skip
    for key, value in over.items():
        section, _, field = key.partition("__")
        if field:
            spec[section] = {**spec[section], field: value}
        else:
            spec[section] = value
    return spec


SPACE = NeuronSpace("lif", (("tau_m", 5e-3, 50e-3), ("t_ref", 5e-4, 5e-3), ("V_th", -0.055, -0.045),
                            ("sigma", 0.0, 0.004)), ("ms", "ms", "mV", "mV"), "0nA:4nA:161",
                    "soft_lif")  # fmt: skip


def test_candidates_lie_within_their_bounds_and_read_back_from_their_string():
    rng = np.random.default_rng(0)
    cands = [SPACE.random(rng) for _ in range(50)]
    cands += [SPACE.mutate(c, rng) for c in cands]
    for c in cands:
        for (name, lo, hi), (n, v) in zip(SPACE.bounds, c.values, strict=True):
            assert n == name and lo <= v <= hi
        assert SPACE.parse(str(c)) == c  # the string is the canonical key
    # time constants are drawn log-uniformly: as many below the geometric mean as above (25 of 50
    # expected, standard deviation 3.5; a uniform draw would put 12 below); bounds 3.1 std out
    taus = np.array([c.params["tau_m"] for c in cands[:50]])
    assert 14 <= np.sum(taus < np.sqrt(5e-3 * 50e-3)) <= 36
    # a mutation changes one parameter
    c = cands[0]
    child = SPACE.mutate(c, np.random.default_rng(1))
    assert sum(a != b for a, b in zip(c.values, child.values, strict=True)) <= 1
    assert [str(SPACE.random(np.random.default_rng(5))) for _ in range(2)] == [
        str(SPACE.random(np.random.default_rng(5)))
    ] * 2


def test_a_candidates_activation_is_its_fitted_theory_curve():
    params = {"tau_m": 0.015, "t_ref": 0.003, "V_th": -0.052, "sigma": 0.002}
    act = neuron_activation("lif", params, "0nA:4nA:161", "soft_lif")
    lif = br.load_model("lif").with_params(tau_m="15 ms", t_ref="3 ms", V_th="-52 mV")
    direct = br.fit(br.theory.fi(lif, current="0nA:4nA:161", sigma="2 mV"), form="soft_lif")
    np.testing.assert_allclose([act.params[k] for k in direct.params],
                               [direct.params[k] for k in direct.params], rtol=1e-12)  # fmt: skip
    # it records the neuron it came from, so deploy can build it
    from biorate.deploy.mapping import spiking_origin

    origin = spiking_origin(act)
    assert origin.model.param("tau_m").value == pytest.approx(0.015)
    assert origin.sigma_v == pytest.approx(0.002)


def test_a_neuron_search_runs_resumes_and_its_best_deploys(tmp_path):
    a = run_search(_spec(), tmp_path / "a", progress=False, plot=tmp_path / "a.png")
    assert a.computed == 6 and all(r["complexity"] == 0 for r in a.leaderboard)
    assert (tmp_path / "a.png").stat().st_size > 10_000  # the fitted curves and their slopes
    again = run_search(_spec(), tmp_path / "a", progress=False)
    assert again.computed == 0 and again.reused == 6
    assert [r["expression"] for r in again.leaderboard] == [r["expression"] for r in a.leaderboard]
    b = run_search(_spec(), tmp_path / "b", progress=False)
    assert [(r["expression"], r["fitness"]) for r in b.leaderboard] == [
        (r["expression"], r["fitness"]) for r in a.leaderboard
    ]
    best = br.Activation.load(tmp_path / "a" / "best.json")
    assert best.is_fitted and best.form == "soft_lif"
    assert best.source["model"]["name"] == "lif"
    net = br.RateNetwork([2, 4, 2], activation=best, seed=0).initialize()
    report = br.deploy(net, np.array([[0.2, 0.8]]), durations="20 ms", target="numpy", method="euler",
                       progress=False)  # fmt: skip
    assert report["durations_s"] == [0.02] and report["n_images"] == 1
    assert [p["name"] for p in report["populations"]] == ["h1", "out"]


@pytest.mark.parametrize("over, match", [
    ({"neuron__bounds": {"tau_x": ["1 ms", "2 ms"]}}, "not a parameter of lif"),
    ({"neuron__bounds": {"tau_m": ["5 mV", "50 mV"]}}, "not both in the unit of tau_m"),
    ({"neuron__bounds": {"tau_m": ["50 ms", "5 ms"]}}, "must be below high"),
    ({"neuron__bounds": {"tau_m": ["-5 ms", "5 ms"]}}, "tau_m"),
    ({"neuron__bounds": {"tau_m": ["5 ms"]}}, r"expected \[low, high\]"),
    ({"neuron__bounds": {}}, "name 1 to 8 parameters"),
    ({"neuron__model": "adaptive_lif", "neuron__curve": "theory"}, "has no theory curve"),
    ({"neuron__current": "0Hz:5Hz:20"}, "not a current range"),
    ({"neuron__current": "0nA:5A:20"}, "1 A"),
    ({"neuron__form": "bogus"}, "form"),
    ({"objective__kind": "distance"}, "scores its activations by accuracy"),
    ({"formula": {"max_depth": 3}}, "not \\[formula\\]"),
])  # fmt: skip
def test_bad_neuron_specs_are_one_specific_error(over, match):
    with pytest.raises(SpecError, match=match):
        load_search_spec(_spec(**over))


def test_bad_neuron_spec_through_the_cli(cli, tmp_path):
    (tmp_path / "s.toml").write_text(
        'schema = 1\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n[objective]\n'
        'kind = "accuracy"\n[neuron.bounds]\ntau_m = ["5 ms", "5 nA"]\n'
    )
    code, _, err = cli("search", tmp_path / "s.toml", "-o", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1 and "tau_m" in err, err
    assert not (tmp_path / "out").exists()
