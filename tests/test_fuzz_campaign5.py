"""Campaign 5's findings (issue 18): evaluation files edited by hand, odd worker counts, TOML nested
thousands deep."""

from __future__ import annotations

import json

import pytest

from biorate.search import run_search

SPEC = {"schema": 1, "name": "t",
        "search": {"space": "formula", "seed": 0, "budget": 4, "population": 2, "sample": 2,
                   "batch": 2, "workers": 0},
        "objective": {"kind": "distance", "target": "swish"}}  # fmt: skip


@pytest.mark.parametrize("edit", [{"median": "abc"}, {"median": None}, {"median": [1]},
                                  {"median": float("nan")}, {"complexity": "x"},
                                  {"expression": "x + 1"}, {"status": None}, {"scores": "1"}])  # fmt: skip
def test_an_evaluation_file_edited_by_hand_is_computed_again(tmp_path, edit):
    """Such files made the leaderboard raise ValueError/TypeError/KeyError (exit 1); they are not
    trusted: the evaluation runs again and its file is replaced."""
    first = run_search(SPEC, tmp_path, progress=False)
    path = next((tmp_path / "evals").glob("*.json"))
    record = json.loads(path.read_text())
    if record["status"] != "ok":
        pytest.skip("the first file is a rejected candidate")
    path.write_text(json.dumps({**record, **edit}))
    again = run_search(SPEC, tmp_path, progress=False)
    assert again.computed == 1 and again.reused == first.computed - 1
    assert again.leaderboard == first.leaderboard
    assert json.loads(path.read_text())["median"] == record["median"]


@pytest.mark.parametrize("workers", ["99999999999999999999", "1025", "-1"])
def test_worker_counts_beyond_a_machine_are_refused(cli, tmp_path, workers):
    (tmp_path / "s.toml").write_text('schema = 1\n[search]\nspace = "formula"\nseed = 0\n'
                                     'budget = 2\n[objective]\nkind = "distance"\ntarget = "relu"\n')  # fmt: skip
    code, _, err = cli("search", tmp_path / "s.toml", "-o", tmp_path / "o", f"--workers={workers}")
    assert code == 2 and err.count("\n") == 1 and "workers" in err, err


def test_toml_nested_thousands_deep_is_one_line(cli, tmp_path):
    """tomllib recursed to a RecursionError (exit 1) on arrays nested 5,000 deep."""
    (tmp_path / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = cli("search", tmp_path / "deep.toml", "-o", tmp_path / "o")
    assert code == 2 and "nested too deeply to be a search spec" in err and err.count("\n") == 1
    code, _, err = cli("simulate", "fi", "--model", tmp_path / "deep.toml", "--current",
                       "0nA:1nA:3", "-o", tmp_path / "c.json")  # fmt: skip
    assert code == 2 and "nested too deeply to be a model file" in err, err


def test_a_search_whose_evaluations_cannot_finish_is_refused_before_it_starts(monkeypatch):
    """8 hidden layers of 4,096 units on digits ran past any timeout; the spec now names the work
    of one evaluation (9e13 operations) against its limit, which an environment variable raises."""
    from biorate.search import load_search_spec
    from biorate.sweep.values import SpecError

    spec = {**SPEC, "objective": {"kind": "accuracy", "dataset": "digits", "hidden": [4096] * 8,
                                  "epochs": 30, "seeds": 3}}  # fmt: skip
    with pytest.raises(SpecError, match=r"about 9.1e\+13 floating-point operations"):
        load_search_spec(spec)
    monkeypatch.setenv("BIORATE_MAX_EVAL_FLOPS", "1e15")
    assert load_search_spec(spec).objective["hidden"] == [4096] * 8


def test_a_search_whose_every_candidate_is_rejected_says_so(tmp_path, cli, monkeypatch):
    """It exited 0 with no best.json (and an earlier run's best.json beside the new leaderboard)."""
    import biorate.search.run as run

    def reject(inputs):
        return {"expression": inputs["expression"], "complexity": 1, "status": "rejected",
                "reason": "planted rejection", "scores": None, "median": None}  # fmt: skip

    monkeypatch.setattr(run, "evaluate_candidate", reject)
    (tmp_path / "s.toml").write_text(
        'schema = 1\n[search]\nspace = "formula"\nseed = 0\nbudget = 3\npopulation = 3\n'
        'workers = 0\n[objective]\nkind = "distance"\ntarget = "relu"\n'
    )
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "best.json").write_text("{}")  # an earlier search's
    code, _, err = cli("search", tmp_path / "s.toml", "-o", tmp_path / "o", "--quiet")
    assert code == 2 and "every candidate was rejected" in err and err.count("\n") == 1, err
    assert "the best.json there is an earlier search's" in err
    assert "planted rejection" in (tmp_path / "o" / "leaderboard.csv").read_text()


def test_a_float32_fixed_point_tolerance_below_its_rounding_is_refused():
    from biorate.errors import NetworkError
    from biorate.network import RateNetwork

    with pytest.raises(NetworkError, match="from 1e-06 \\(rounding noise of float32\\)"):
        RateNetwork([3, 4, 2], connectivity="feedback", training="fixed_point", dtype="float32",
                    fixed_point_tol=1e-9)  # fmt: skip
    RateNetwork([3, 4, 2], connectivity="feedback", training="fixed_point", dtype="float32")


def test_the_hash_covers_a_dataset_files_content(tmp_path):
    """An npz dataset changed under the same name: its evaluations are computed again."""
    import numpy as np

    from biorate.search import load_search_spec

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 4)), np.arange(60) % 2
    np.savez(tmp_path / "d.npz", X_train=X, y_train=y, X_test=X[:10], y_test=y[:10])
    spec = {**SPEC, "objective": {"kind": "accuracy", "dataset": f"npz:{tmp_path / 'd.npz'}",
                                  "hidden": [4], "epochs": 2, "seeds": 1}}  # fmt: skip
    first = load_search_spec(spec).objective["data_sha256"]
    np.savez(tmp_path / "d.npz", X_train=X[::-1], y_train=y, X_test=X[:10], y_test=y[:10])
    assert load_search_spec(spec).objective["data_sha256"] != first


def test_an_evals_folder_that_is_a_file_is_named(cli, tmp_path):
    """E1: OUTDIR/evals being a file was reported as 'cannot create output folder OUTDIR', the
    folder that exists; the message names OUTDIR/evals, and the file is left as it was."""
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "evals").write_text("mine")
    (tmp_path / "s.toml").write_text('schema = 1\n[search]\nspace = "formula"\nseed = 0\n'
                                     'budget = 2\n[objective]\nkind = "distance"\ntarget = "relu"\n')  # fmt: skip
    code, _, err = cli("search", tmp_path / "s.toml", "-o", tmp_path / "o", "--workers", "0")
    assert code == 2 and err.count("\n") == 1, err
    assert f"cannot create output folder {tmp_path / 'o' / 'evals'}" in err, err
    assert (tmp_path / "o" / "evals").read_text() == "mine"
