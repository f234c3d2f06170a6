"""biorate search: the planted target, seeded determinism, resuming, the formula activation (JSON,
training, deploy's refusal) and the spec's and CLI's refusals."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biorate.activation import Activation
from biorate.errors import CurveFileError
from biorate.search import evolve, load_search_spec, run_search
from biorate.search.objective import evaluate_candidate
from biorate.search.run import eval_inputs, fitness

ROOT = Path(__file__).resolve().parents[1]
PLANTED = ROOT / "examples" / "searches" / "planted_swish.toml"
FORMULA = ROOT / "examples" / "searches" / "formula.toml"


def _spec(path: Path = PLANTED, **changes) -> dict:
    data = tomllib.loads(path.read_text())
    for key, value in changes.items():
        table, name = key.split("__")
        data.setdefault(table, {})[name] = value
    return data


def _swish_error(expression: str) -> float:
    z = np.linspace(-5, 5, 2001)
    return float(np.max(np.abs(Activation(form="formula", expression=expression)(z)
                               - Activation.builtin("swish")(z))))  # fmt: skip


def test_planted_swish_is_found_within_the_budget_over_seeds():
    """The distance objective to swish: over seeds 0-9 the search finds a formula equal to swish
    on a grid (max error < 1e-6 on 2001 points of [-5, 5]) within the example's budget of 1000
    evaluations. Measured: 9 of 10 seeds (27 of seeds 0-29: a success rate p = 0.9, so the count
    over 10 seeds has standard deviation sqrt(10 p (1 - p)) = 0.95), the last found at evaluation
    929; asserted: at least 6 of 10, three standard deviations below the measured 9 (a search that
    lost its way would find it for few seeds: without the sigmoid(a)*b unit, 4 of 10)."""
    found = []
    for seed in range(10):
        spec = load_search_spec(_spec(search__seed=seed))

        def evaluate(items, spec=spec):
            return [fitness(evaluate_candidate(eval_inputs(spec, str(e))), 0.0) for e in items]

        history = evolve(np.random.default_rng(seed), budget=spec.budget,
                         population=spec.population, sample=spec.sample, batch=spec.batch,
                         random=spec.space.random, mutate=spec.space.mutate, evaluate=evaluate,
                         fingerprint=spec.space.fingerprint)  # fmt: skip
        best = max(history, key=lambda c: c.fitness)
        found.append(_swish_error(best.key) < 1e-6)
    assert sum(found) >= 6, found


def test_planted_search_writes_its_outputs_and_resumes(tmp_path):
    """The example spec (budget 300) end to end, in this process: the best equals swish; a rerun reads
    every evaluation back; deleting some evaluations (a killed search) recomputes only those and
    gives the identical leaderboard."""
    out, spec = tmp_path / "planted", _spec(search__budget=300)
    first = run_search(spec, out, progress=False)
    assert first.computed == len(list((out / "evals").glob("*.json"))) > 250
    best = first.leaderboard[0]
    assert best["status"] == "ok" and _swish_error(best["expression"]) < 1e-6
    fits = [r["fitness"] for r in first.leaderboard if r["status"] == "ok"]
    assert fits == sorted(fits, reverse=True) and best["fitness"] == fits[0]
    act = Activation.load(out / "best.json")
    assert act.form == "formula" and act.expression == best["expression"]
    board = (out / "leaderboard.json").read_bytes()
    csv_text = (out / "leaderboard.csv").read_text()
    assert csv_text.splitlines()[0].startswith("rank,index,expression,complexity,status,fitness")
    assert any(",rejected," in line for line in csv_text.splitlines())  # with their reasons
    again = run_search(spec, out, progress=False)
    assert again.computed == 0 and again.reused == first.computed
    files = sorted((out / "evals").glob("*.json"))
    for f in files[::3]:
        f.unlink()
    resumed = run_search(spec, out, progress=False)
    assert resumed.computed == len(files[::3])
    assert (out / "leaderboard.json").read_bytes() == board


def test_same_seed_same_leaderboard_other_seed_another(tmp_path):
    small = _spec(search__budget=150, search__seed=3)
    a = run_search(small, tmp_path / "a", progress=False).leaderboard
    b = run_search(small, tmp_path / "b", progress=False).leaderboard
    c = run_search({**small, "search": {**small["search"], "seed": 4}}, tmp_path / "c",
                   progress=False).leaderboard  # fmt: skip
    assert a == b
    assert [r["expression"] for r in a] != [r["expression"] for r in c]


def test_accuracy_objective_on_dask_matches_in_process(tmp_path):
    """A tiny accuracy search (digits, 4 hidden units, 2 epochs): the same leaderboard on a local
    Dask cluster of 2 workers as in this process; validation accuracy per seed recorded."""
    pytest.importorskip("distributed")
    spec = _spec(FORMULA, search__budget=6, search__population=4, search__sample=2,
                 search__batch=2, objective__hidden=[4], objective__epochs=2, objective__seeds=2)  # fmt: skip
    local = run_search(spec, tmp_path / "local", workers=0, progress=False)
    dask = run_search(spec, tmp_path / "dask", workers=2, progress=False)
    strip = [{k: v for k, v in r.items()} for r in local.leaderboard]
    assert strip == dask.leaderboard
    ok = [r for r in local.leaderboard if r["status"] == "ok"]
    assert ok and all(len(r["scores"]) == 2 and 0 <= r["median"] <= 1 for r in ok)
    assert ok[0]["fitness"] == pytest.approx(ok[0]["median"] - 0.002 * ok[0]["complexity"])


def test_formula_activation_json_round_trip_and_training(tmp_path, cli):
    act = Activation(form="formula", expression="x*sigmoid(x)", name="found")
    assert act.expression == "x * sigmoid(x)" and not act.is_fitted
    assert act.bounds == (-np.inf, np.inf) and act.init_gain == 1.0
    path = act.save(tmp_path / "best.json")
    assert Activation.load(path) == act
    assert json.loads(path.read_text())["expression"] == "x * sigmoid(x)"
    assert "expression" not in Activation.builtin("relu").to_dict()  # other files unchanged
    code, out, err = cli("train", "--dataset", "xor", "--activation", path, "--hidden", "4",
                         "--epochs", "3", "--seed", "0", "-o", tmp_path / "net.npz", "--quiet")  # fmt: skip
    assert code == 0, err
    from biorate.network import RateNetwork

    net = RateNetwork.load(tmp_path / "net.npz")
    assert net.activation_ == act


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"form": "formula", "expression": "x +"}, "field 'expression': unexpected end"),
        ({"form": "formula"}, "field 'expression' is missing: a formula activation gives g"),
        ({"form": "formula", "expression": None}, "field 'expression' is missing: a formula"),
        ({"form": "formula", "expression": " "}, "field 'expression': expected a non-empty string"),
        ({"form": "formula", "expression": "exp(exp(x))"}, "overflow"),
        ({"form": "formula", "expression": "0.5"}, "constant"),
        ({"form": "formula", "expression": "x", "params": {"a": 1.0}}, "no parameters"),
        ({"form": "sigmoid", "expression": "x"}, "only a formula activation"),
        ({"form": "formula", "expression": 3}, "expected a string"),
        ({"form": "formula", "expression": "x", "bogus": 1}, "unknown field"),
    ],
)
def test_malformed_formula_activation_files_are_refused(tmp_path, changes, message):
    data = {**Activation.builtin("sigmoid").to_dict(), **changes}
    with pytest.raises(CurveFileError, match=message):
        Activation.from_dict(data, "act.json")


def test_deploy_refuses_a_formula_in_one_line(tmp_path, cli):
    from biorate.network import RateNetwork

    act = Activation(form="formula", expression="x * sigmoid(x)")
    net = RateNetwork([2, 3, 2], activation=act, seed=0).initialize()
    path = net.save(tmp_path / "formula.npz")
    code, out, err = cli("deploy", path, "--dataset", "xor", "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "is a formula" in err and "no spiking origin" in err


def test_to_torch_computes_the_formula():
    torch = pytest.importorskip("torch")
    act = Activation(form="formula", expression="tanh(x) * x")
    z = torch.linspace(-3, 3, 13, dtype=torch.float64, requires_grad=True)
    y = act.to_torch()(z)
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), act(z.detach().numpy()))
    np.testing.assert_array_equal(z.grad.numpy(), act.derivative(z.detach().numpy()))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"search__budget": 0}, "budget"),
        ({"search__space": "neurons"}, "space.*not one of formula, neuron"),
        ({"search__space": "neuron"}, r"a neuron search has a \[neuron\] table, not \[formula\]"),
        ({"search__bogus": 1}, "unknown field"),
        ({"formula__units": []}, "empty"),
        ({"formula__units": ["tanh", "gelu"]}, "unknown unit 'gelu'"),
        ({"objective__target": "foo(x)"}, "target"),
        ({"objective__metric": "l1"}, "metric"),
        ({"objective__z_range": [1.0, -1.0]}, "z_range"),
        ({"search__population": 2000}, "population"),
        ({"search__sample": 100}, "sample"),
    ],
)
def test_bad_specs_name_the_field(changes, message):
    from biorate.errors import BiorateError

    with pytest.raises(BiorateError, match=message):
        load_search_spec(_spec(**changes))


def test_bad_accuracy_specs(tmp_path):
    from biorate.errors import BiorateError

    for changes, message in [({"objective__dataset": "nope"}, "dataset"),
                             ({"objective__hidden": []}, "hidden"),
                             ({"objective__connectivity": "ring"}, "connectivity"),
                             ({"objective__target": "swish"}, "unknown field")]:  # fmt: skip
        with pytest.raises(BiorateError, match=message):
            load_search_spec(_spec(FORMULA, **changes))


def test_cli_runs_and_refuses_bad_input_in_one_line(tmp_path, cli):
    spec = tmp_path / "s.toml"
    spec.write_text(PLANTED.read_text().replace("budget = 1000", "budget = 60"))
    code, out, err = cli("search", spec, "-o", tmp_path / "out", "--quiet",
                         "--plot", tmp_path / "out" / "s.png")  # fmt: skip
    assert code == 0, err
    assert "search planted_swish: 60 candidates" in out and err == ""
    assert (tmp_path / "out" / "s.png").stat().st_size > 10_000
    bad = tmp_path / "bad.toml"
    for text, message in [(PLANTED.read_text().replace("budget = 1000", "budget = 0"), "budget"),
                          ('[search]\nspace = "formula"\nunknown = 1\n', "unknown"),
                          ("not toml [", "malformed TOML")]:  # fmt: skip
        bad.write_text(text)
        code, out, err = cli("search", bad, "-o", tmp_path / "out2")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "out2").exists()
    (tmp_path / "file").write_text("keep")
    code, _, err = cli("search", spec, "-o", tmp_path / "file")
    assert code == 2 and "not a folder" in err and (tmp_path / "file").read_text() == "keep"
    code, _, err = cli("search", spec, "-o", tmp_path / "out", "--plot", tmp_path / "x.nope")
    assert code == 2 and "cannot write 'nope'" in err
    code, _, err = cli("search", spec, "-o", tmp_path / "out", "--workers", "-1")
    assert code == 2 and "--workers" in err
    code, _, err = cli("search", spec, "-o", tmp_path / "out", "--workers", "1", "--scheduler",
                       "tcp://127.0.0.1:9")  # fmt: skip
    assert code == 2 and "not allowed with" in err


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, cli):
    pytest.importorskip("distributed")
    code, _, err = cli("search", PLANTED, "-o", tmp_path / "out", "--scheduler",
                       "tcp://127.0.0.1:9", "--connect-timeout", "0.5", "--quiet")  # fmt: skip
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


_VALUES = (st.none() | st.booleans() | st.integers(-(10**20), 10**20)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.lists(st.integers(-5, 5) | st.text(max_size=5), max_size=4)
           | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))  # fmt: skip
_KEYS = [f"{t}__{k}" for t, ks in {
    "search": ("space", "seed", "budget", "population", "sample", "batch", "workers", "x"),
    "objective": ("kind", "target", "metric", "z_range", "points", "complexity_penalty",
                  "dataset", "hidden", "epochs", "seeds", "validation_fraction"),
    "formula": ("max_depth", "units", "y")}.items() for k in ks]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_KEYS), _VALUES), min_size=1, max_size=3),
       st.sampled_from([PLANTED, FORMULA]))  # fmt: skip
def test_fuzzed_specs_load_or_raise_one_biorate_error(changes, base):
    """Any value in any field: the spec loads, or a BiorateError of one line naming the field."""
    from biorate.errors import BiorateError

    data = _spec(base)
    for key, value in changes:
        table, name = key.split("__")
        if value is None:
            data[table].pop(name, None)
        else:
            data[table][name] = value
    try:
        load_search_spec(data)
    except BiorateError as exc:
        assert "\n" not in str(exc)


def test_a_formula_expression_that_is_an_array_is_one_specific_error():
    """The missing-expression check compared an array element-wise (a bare ValueError)."""
    with pytest.raises(CurveFileError, match="expected a string"):
        Activation(form="formula", expression=np.array(["x", "y"]))
