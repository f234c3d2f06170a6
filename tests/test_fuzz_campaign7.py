"""Campaign 7's findings (issue 18): a search's evaluation records edited by hand, records written
through symlinks, unbounded work (a whole search, the exact deployment at a tiny step), API
arguments of the wrong type, complex quantities, a formula step between grid points, control
characters in error lines, and the bounds of a seed and a fixed-point tolerance."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

FORMULA = """schema = 1
name = "d"
[search]
space = "formula"
seed = 0
budget = 30
population = 10
sample = 3
batch = 5
workers = 0
[objective]
kind = "distance"
target = "swish"
points = 51
[formula]
max_depth = 3
"""

NEURON = """schema = 1
name = "n"
[search]
space = "neuron"
seed = 0
budget = 2
population = 2
sample = 2
batch = 2
workers = 0
[objective]
kind = "accuracy"
dataset = "xor"
hidden = [4]
epochs = 2
seeds = 1
[neuron]
model = "lif"
current = "0nA:4nA:21"
[neuron.bounds]
tau_m = ["5 ms", "50 ms"]
sigma = ["0 mV", "4 mV"]
"""


def _search(tmp, text, name):
    from biorate.search import run_search

    (tmp / f"{name}.toml").write_text(text)
    run_search(tmp / f"{name}.toml", tmp / name, progress=False)
    return tmp / f"{name}.toml", tmp / name


@pytest.fixture(scope="module")
def searches(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("searches")
    return {"formula": _search(tmp, FORMULA, "formula"), "neuron": _search(tmp, NEURON, "neuron")}


EDITS = {
    "formula": [
        ("rejected", lambda r: r.update(scores=5)),
        ("rejected", lambda r: r.update(scores=[float("nan")])),
        ("rejected", lambda r: r.update(rate_scores="ab")),
        ("ok", lambda r: r.update(rate_scores="abc")),
        ("ok", lambda r: r.update(scores="abc")),
        ("ok", lambda r: r.update(activation={})),
        ("ok", lambda r: r.update(median=r["median"] + 1.0)),
        ("ok", lambda r: r.update(complexity=r["complexity"] + 1)),
        ("ok", lambda r: r.update(status="rejected", reason="x", median=None, scores=5)),
    ],
    "neuron": [
        ("ok", lambda r: r["activation"]["params"].update(tau=float("nan"))),
        ("ok", lambda r: r["activation"].update(kind="x")),
        ("ok", lambda r: r["activation"]["source"]["model"].update(name="nosuch")),
        ("ok", lambda r: r["activation"]["source"]["model"]["params"].update(tau_m="99 ms")),
        ("ok", lambda r: r["activation"]["source"]["protocol"].update(sigma_V=0.123)),
        ("ok", lambda r: r.update(activation=json.load(open(_shipped("lif"))))),
        ("ok", lambda r: r.pop("activation")),
    ],
}


def _shipped(name):
    from pathlib import Path

    import biorate

    return Path(biorate.__file__).parents[1] / "models" / "activations" / f"{name}.json"


@pytest.mark.parametrize(("space", "case"), [(s, i) for s in EDITS for i in range(len(EDITS[s]))])
def test_an_edited_evaluation_record_is_computed_again(searches, space, case, tmp_path):
    """A1, A2, C1: records edited with their hash intact were reused (a traceback, or best.json
    another activation than the leaderboard names): now each is computed again and replaced, and
    the rerun ends as the untouched search did."""
    import shutil

    from biorate.search import run_search

    status, edit = EDITS[space][case]
    spec, out = searches[space]
    copy = tmp_path / "o"
    shutil.copytree(out, copy)
    paths = sorted((copy / "evals").glob("*.json"))
    chosen = next(p for p in paths if json.loads(p.read_text())["status"] == status)
    record = json.loads(chosen.read_text())
    edit(record)
    chosen.write_text(json.dumps(record))
    result = run_search(spec, copy, progress=False)
    assert result.computed == 1 and result.reused == len(paths) - 1
    assert _same_rows(copy, out)
    best, want = (json.loads((d / "best.json").read_text()) for d in (copy, out))
    assert best["params"] == want["params"]
    for key in ("model", "protocol"):  # (the provenance's time stamp is the rerun's)
        assert (best.get("source") or {}).get(key) == (want.get("source") or {}).get(key)


def _same_rows(a, b):
    """The leaderboards' rows equal but for the run's timing fields."""
    ra, rb = (json.loads((x / "leaderboard.json").read_text())["rows"] for x in (a, b))
    keep = (
        "rank",
        "expression",
        "status",
        "reason",
        "fitness",
        "median",
        "scores",
        "complexity",
        "hash",
    )
    return [{k: r.get(k) for k in keep} for r in ra] == [{k: r.get(k) for k in keep} for r in rb]


def test_an_untouched_search_reuses_every_record(searches):
    from biorate.search import run_search

    for spec, out in searches.values():
        result = run_search(spec, out, progress=False)
        assert result.computed == 0 and result.reused > 0


def test_records_are_not_written_through_symlinks_and_no_input_lies_among_them(searches, tmp_path,
                                                                               cli):  # fmt: skip
    """D1: a record that was a symlink to the spec replaced the spec (exit 0); a spec kept as a
    record and run from there was replaced too."""
    import shutil

    spec, out = searches["formula"]
    copy = tmp_path / "o"
    shutil.copytree(out, copy)
    kept = tmp_path / "spec.toml"
    shutil.copy(spec, kept)
    record = sorted((copy / "evals").glob("*.json"))[0]
    record.unlink()
    record.symlink_to(kept)
    code, _, err = cli("search", kept, "-o", copy, "--quiet")
    assert code == 0, err
    assert kept.read_text() == FORMULA and not record.is_symlink()
    inside = copy / "evals" / record.name
    shutil.copy(kept, inside)
    code, _, err = cli("search", inside, "-o", copy, "--quiet")
    assert code == 2 and "whose files the command writes" in err and len(err.splitlines()) == 1
    assert inside.read_text() == FORMULA


def test_a_search_whose_total_work_cannot_finish_is_refused(tmp_path, cli):
    """B1: each evaluation was bounded, never budget x evaluation (a digits search of ~140 days
    started)."""
    text = (NEURON.replace('space = "neuron"', 'space = "formula"').split("[neuron]")[0]
            .replace("budget = 2", "budget = 100000").replace('dataset = "xor"', 'dataset = "digits"')
            .replace("hidden = [4]", "hidden = [512, 512]").replace("epochs = 2", "epochs = 200")
            .replace("seeds = 1", "seeds = 3"))  # fmt: skip
    (tmp_path / "s.toml").write_text(text + "[formula]\nmax_depth = 3\n")
    code, _, err = cli("search", tmp_path / "s.toml", "-o", tmp_path / "o", "--quiet")
    assert code == 2 and "field 'budget'" in err and "BIORATE_MAX_SEARCH_FLOPS" in err, err
    assert not (tmp_path / "o").exists()


def test_the_exact_scheme_is_estimated_at_its_own_speed(tmp_path):
    """B2: a 1 ns step was estimated at Brian2-Cython's 4 us a step (~2,000 s) and ran for hours."""
    from biorate.deploy import DeployError, deploy
    from biorate.network import RateNetwork

    net = RateNetwork([2, 8, 2], activation="lif", seed=0).initialize()
    with pytest.raises(DeployError, match="exact scheme .NumPy.*longer dt"):
        deploy(net, np.zeros((6, 2)), durations=["500 ms"], dt="1 ns", progress=False)


def test_timeouts_and_api_arguments_of_the_wrong_type_are_biorate_errors(tmp_path, cli):
    """A3, A4."""
    from biorate.errors import BiorateError
    from biorate.network import RateNetwork
    from biorate.search import run_search
    from biorate.theory.lif import lif_rate

    (tmp_path / "s.toml").write_text(FORMULA)
    for command in ("search", "sweep"):
        code, _, err = cli(command, tmp_path / "s.toml", "-o", tmp_path / "o", "--scheduler",
                           "tcp://127.0.0.1:1", "--connect-timeout", "1e300")  # fmt: skip
        assert code == 2 and "--connect-timeout" in err and len(err.splitlines()) == 1, err
    spec = tmp_path / "s.toml"
    cases = [
        lambda: RateNetwork([2, 4, 2], training=np.array(["bptt", "x"])),
        lambda: RateNetwork([2, 4, 2], optimizer=["adam"]),
        lambda: run_search(spec, 3, progress=False),
        lambda: run_search(spec, None, progress=False),
        lambda: run_search(spec, tmp_path / "a", progress=False, plot=3),
        lambda: run_search(spec, tmp_path / "b", progress=False, plot="x.xyz"),
        lambda: run_search(spec, tmp_path / "c", scheduler=5, progress=False),
        lambda: run_search(spec, tmp_path / "d", client="x", progress=False),
        lambda: run_search(spec, tmp_path / "e", connect_timeout=1e300, progress=False),
        lambda: lif_rate("a", 0.002, 0.02, -0.05, -0.06, 0.002),
        lambda: lif_rate(np.zeros(3), np.zeros(2), 0.02, -0.05, -0.06, 0.002),
        lambda: RateNetwork([2, 4, 2], seed=2**64),
        lambda: RateNetwork([2, 4, 2], seed=1e300),
        lambda: RateNetwork([2, 4, 2], connectivity="feedback", fixed_point_tol=1.0),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(BiorateError):
            case()
        assert not any((tmp_path / n).exists() for n in "abcde"), i  # refused before the search


def test_complex_quantities_and_unordered_levels_are_refused():
    """C3: complex values lost their imaginary part (theory.fi([1j, 2j]) drew x = y = 0)."""
    import biorate as br
    from biorate.errors import ProtocolError, UnitError

    b2 = pytest.importorskip("brian2")
    for kw in [{"current": np.array([1j, 2j])}, {"current": np.array([0.5j, 1j]) * b2.nA},
               {"current": "0nA:1nA:3", "sigma": 2j * b2.mV}]:  # fmt: skip
        with pytest.raises(UnitError, match="complex"):
            br.theory.fi("lif", **kw)
    with pytest.raises(UnitError, match="complex"):
        br.theory.release("tm_release", rate=np.array([1j, 2j]) * b2.Hz)
    for current, msg in [("1nA,0nA", "must increase"), (np.array([0, 0, 1]) * b2.nA, "repeats")]:
        with pytest.raises(ProtocolError, match=msg):
            br.theory.fi("lif", current=current)


@pytest.mark.parametrize(("expression", "accepted"), [
    ("sigmoid(x * 1000000)", False),  # its edge on a grid point
    ("sigmoid(x * 1000000 + 5000)", False),  # between grid points (was called "constant")
    ("tanh(x * 1000)", True),  # steep (g' 1000), still resolved
    ("max(x, 0)", True), ("sqrt(|x|)", True), ("x ^ 3", True), ("exp(x)", True),
    ("sin(x * 100)", True),
])  # fmt: skip
def test_a_step_narrower_than_the_checks_grid_is_refused(expression, accepted):
    """C2: a step whose edge sat on the check's grid passed (and trained, exit 0)."""
    from biorate.forms.expression import check, parse

    reason = check(parse(expression))
    assert (reason is None) == accepted, reason
    if not accepted:
        assert reason.startswith("unresolved:")


def test_control_characters_in_error_lines_are_escaped(tmp_path, cli):
    """E1: a file name holding an escape sequence reached the terminal raw."""
    code, _, err = cli("fit", "\x1b[31mred.json", "-o", tmp_path / "a.json")
    assert code == 2 and "\x1b" not in err and "\\x1b[31mred.json" in err, err
    old = os.environ.get("BIORATE_MODELS")
    os.environ["BIORATE_MODELS"] = "/tmp/\x1b[2J"
    try:
        code, _, err = cli("models")
    finally:
        os.environ.pop("BIORATE_MODELS") if old is None else os.environ.update(BIORATE_MODELS=old)
    assert code == 2 and "\x1b" not in err and "\\x1b[2J" in err, err


def test_networks_saved_before_the_new_bounds_still_load(tmp_path):
    """(Review of the E3 fix.) A file saved with fixed_point_tol 0.05 or seed 2**40, valid when it
    was written, loads with the value brought within today's bounds and a warning."""
    from biorate.errors import BiorateWarning
    from biorate.network import RateNetwork

    net = RateNetwork([2, 3, 2], connectivity="feedback", seed=1).initialize()
    path = net.save(tmp_path / "n.npz")
    with np.load(path) as f:
        arrays = dict(f)
    arch = json.loads(str(arrays["architecture"]))
    arch["args"].update(fixed_point_tol=0.05, seed=2**40 + 7)
    arrays["architecture"] = np.array(json.dumps(arch))
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.warns(BiorateWarning) as record:
        old = RateNetwork.load(tmp_path / "old.npz")
    assert old.fixed_point_tol == 0.01 and old.seed == 7
    assert len(record) == 2
    for name, value in old.params_.items():
        np.testing.assert_array_equal(value, net.params_[name])
