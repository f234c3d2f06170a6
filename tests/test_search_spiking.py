"""The neuron space's spiking objective (issue 15): with ``spiking_duration`` every seed's trained
network is deployed on the validation images, and its spiking accuracy is the score."""

from __future__ import annotations

import json

import numpy as np
import pytest

import biorate as br
from biorate.search import load_search_spec, run_search
from biorate.search.objective import validation_split
from biorate.sweep.values import SpecError


def _spec(**objective):
    return {"schema": 1, "name": "sp",
            "search": {"space": "neuron", "seed": 0, "budget": 2, "population": 2, "sample": 2,
                       "batch": 2, "workers": 0},
            "objective": {"kind": "accuracy", "dataset": "digits", "hidden": [16], "epochs": 30,
                          "seeds": 2, "spiking_duration": "100 ms", "spiking_target": "numpy",
                          **objective},
            "neuron": {"model": "lif", "current": "0nA:2nA:41",
                       "bounds": {"tau_m": ["10 ms", "30 ms"], "sigma": ["1 mV", "3 mV"]}}}  # fmt: skip


def test_the_scores_are_the_deployed_networks_spiking_accuracies(tmp_path):
    """Each score equals training that seed's network and deploying it by hand (same seed); the
    rate networks' accuracies are kept beside them, and the median is the spiking scores'. (Digits,
    64-16-10, 30 epochs: rate 0.87-0.89, spiking at 100 ms 0.87-0.90.)"""
    result = run_search(_spec(), tmp_path, progress=False)
    row = result.leaderboard[0]
    assert row["status"] == "ok" and row["median"] == float(np.median(row["scores"]))
    act = br.Activation.from_dict(row["activation"])
    X, y, Xv, yv = validation_split("digits", 0.2)
    for seed, score, rate in zip((0, 1), row["scores"], row["rate_scores"], strict=True):
        net = br.RateNetwork([64, 16, 10], act, seed=seed)
        net.fit(X, y, epochs=30)
        assert net.score(Xv, yv) == rate
        rep = br.deploy(net, Xv, yv, durations="100 ms", seed=seed, target="numpy", method="euler",
                        progress=False)  # fmt: skip
        assert rep["spiking_accuracy"][0] == score > 0.5
    header = (tmp_path / "leaderboard.csv").read_text().splitlines()[0].split(",")
    assert header[6:9] == ["median", "rate_median", "score_0"]
    # the evaluation files hold both and are trusted when read back
    again = run_search(_spec(), tmp_path, progress=False)
    assert again.computed == 0 and again.leaderboard == result.leaderboard
    record = json.loads(next((tmp_path / "evals").glob("*.json")).read_text())
    assert len(record["rate_scores"]) == 2


def test_without_a_spiking_duration_nothing_changes():
    spec = _spec()
    del spec["objective"]["spiking_duration"], spec["objective"]["spiking_target"]
    objective = load_search_spec(spec).objective
    assert not any(k.startswith("spiking") for k in objective)  # hashes of earlier searches hold


@pytest.mark.parametrize("over, match", [
    ({"spiking_duration": "5 mV"}, "a presentation time"),
    ({"spiking_duration": "0 ms"}, "a presentation time"),
    ({"spiking_duration": "11 s"}, "up to 10 s"),
    ({"spiking_duration": "bogus"}, "spiking_duration"),
    ({"spiking_target": "gpu"}, "not one of auto"),
])  # fmt: skip
def test_bad_spiking_objectives_are_one_specific_error(over, match):
    with pytest.raises(SpecError, match=match):
        load_search_spec(_spec(**over))


def test_a_formula_search_has_no_spiking_objective():
    spec = {"schema": 1, "name": "f", "search": {"space": "formula", "seed": 0, "budget": 2},
            "objective": {"kind": "accuracy", "dataset": "xor", "spiking_duration": "100 ms"}}  # fmt: skip
    with pytest.raises(SpecError, match="only a neuron search can score spiking accuracy"):
        load_search_spec(spec)


def test_the_spiking_objective_runs_on_dask_workers(tmp_path):
    """On a worker's thread Brian2's import installed a SIGINT handler and raised ValueError,
    rejecting every candidate (the tests ran in this process only): same scores either way."""
    pytest.importorskip("distributed")
    spec = _spec(hidden=[8], epochs=3, seeds=1, spiking_duration="20 ms")
    spec["search"] |= {"budget": 1, "population": 1, "sample": 1, "batch": 1}
    here = run_search(spec, tmp_path / "a", progress=False)
    spec["search"]["workers"] = 1
    there = run_search(spec, tmp_path / "b", progress=False)
    assert [r["status"] for r in there.leaderboard] == ["ok"], there.leaderboard[0]["reason"]
    assert there.leaderboard[0]["scores"] == here.leaderboard[0]["scores"]


@pytest.mark.parametrize("over, match", [
    ({"spiking_duration": "0.05 ms"}, "from one time step"),
    ({"spiking_duration": "10 s", "hidden": [4096] * 3, "seeds": 1},
     "field .spiking_duration.: 287 validation images x 12,298 neurons .* estimated at"),
])  # fmt: skip
def test_a_spiking_objective_deploy_would_refuse_is_refused_first(over, match):
    with pytest.raises(SpecError, match=match):
        load_search_spec(_spec(**over))


def test_a_synapse_search_has_no_spiking_objective():
    spec = _spec()
    spec["neuron"] = {"model": "tm_release", "bounds": {"U": ["0.1", "0.9"]}}
    with pytest.raises(SpecError, match="is a synapse: its activation does not deploy"):
        load_search_spec(spec)
    del spec["objective"]["spiking_duration"]  # the field given is the one named
    with pytest.raises(SpecError, match="field 'spiking_target'"):
        load_search_spec(spec)
