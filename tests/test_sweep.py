"""Parameter sweeps on Dask: specs validated up front, points hashed by content, a sweep killed
part-way (client cancelled, or a worker process killed) and resumed gives every point exactly once
with the numbers of an uninterrupted run; the CLI's bad input gives one line and exit code 2.

One LocalCluster (2 single-threaded worker processes) serves the whole module; the reference sweep
runs through the CLI on it (``--scheduler``). Brian2 runs on the NumPy target (a spec field).
"""

from __future__ import annotations

import copy
import csv
import json
import os
import signal
import sys

import numpy as np
import pytest

from biorate.errors import (
    BiorateError,
    FitError,
    ProtocolError,
    UnitError,
    UnknownParameterError,
)
from biorate.sweep import SpecError, load_spec, point_seed, run_sweep


# Dask is an optional extra: only the tests that run a sweep on a cluster need it (they take the
# `cluster` fixture, or are marked); the spec checks and single points run without it
def _has_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


needs_dask = pytest.mark.skipif(not _has_dask(), reason="needs Dask distributed (biorate[sweep])")

SPEC = {
    "schema": 1,
    "name": "test",
    "measure": "fi",
    "model": {"name": "lif"},
    "grid": {"tau_m": "10ms:30ms:3", "sigma": ["1 mV", "4 mV"]},
    "protocol": {"drive": "current", "current": "0nA:0.5nA:9", "duration": "0.25 s",
                 "transient": "50 ms", "trials": 2, "dt": "0.1 ms", "seed": 7,
                 "target": "numpy"},
    "fit": {"forms": ["sigmoid"]},
}  # fmt: skip
N_POINTS = 6


def spec_with(**changes):
    """SPEC with ``section__key=value`` (or top-level ``key=value``) changed; None deletes."""
    s = copy.deepcopy(SPEC)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        target, k = (s[section], name) if name else (s, section)
        if value is None:
            target.pop(k, None)
        else:
            target[k] = value
    return s


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None, silence_logs=40)  # fmt: skip
    client = distributed.Client(c, set_as_default=False)
    yield c, client
    client.close()
    c.close()


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory):
    """An uninterrupted sweep, run by the CLI on the module's cluster, with a plot."""
    from biorate.cli import main

    out = tmp_path_factory.mktemp("ref")
    spec = out / "spec.toml"
    spec.write_text(_toml(SPEC))
    code = main(["sweep", str(spec), "-o", str(out / "run"), "--scheduler",
                 cluster[0].scheduler_address, "--plot", str(out / "sweep.png"), "--quiet"])  # fmt: skip
    assert code == 0
    return out


def _toml(spec: dict) -> str:
    lines = []
    for k, v in spec.items():
        if not isinstance(v, dict):
            lines.append(f"{k} = {json.dumps(v)}")
    for k, v in spec.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {json.dumps(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def _files(outdir) -> dict[str, dict]:
    folder = outdir / "points"
    return {f.stem: json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))}


def _numbers(rec: dict) -> dict:
    """What must agree between runs: the measured curve and every fit's numbers."""
    c = rec["curve"]
    fits = {k: (f["params"], f["stderr"], f["r2"], f["aic"]) for k, f in rec["fits"].items()}
    acts = {k: (a["x_offset"], a["x_scale"], a["y_scale"]) for k, a in rec["activations"].items()}
    return {"x": c["x"], "y": c["y"], "y_sem": c["y_sem"], "cv": c["cv"], "seed":
            c["protocol"]["seed"], "fits": fits, "acts": acts}  # fmt: skip


def _assert_same_as_reference(outdir, reference):
    ref = _files(reference / "run")
    got = _files(outdir)
    assert sorted(got) == sorted(ref) and len(got) == N_POINTS
    for h, rec in got.items():
        assert rec["hash"] == h and rec["status"] == "ok"
        assert _numbers(rec) == _numbers(ref[h]), f"point {rec['point']} differs"


# --- specs (no cluster) ----------------------------------------------------------------------


def test_spec_points_seeds_and_hashes():
    spec = load_spec(SPEC)
    assert len(spec) == N_POINTS
    # grid order: the last axis varies fastest; values in SI
    assert [tuple(p.values.values()) for p in spec.points][:3] == [
        (0.01, 0.001), (0.01, 0.004), (0.02, 0.001)]  # fmt: skip
    assert len({p.seed for p in spec.points}) == N_POINTS
    assert len({p.hash for p in spec.points}) == N_POINTS
    # the point's model carries its tau_m; its protocol its sigma and its own seed
    p = spec.points[3]
    assert p.inputs["model"]["params"]["tau_m"][0] == pytest.approx(0.02)
    assert p.inputs["protocol"]["sigma_V"] == 0.004 and p.inputs["protocol"]["seed"] == p.seed
    assert p.seed == point_seed(7, {"tau_m": 0.02, "sigma": 0.004})
    # seeds and hashes depend on a point's values, not on the grid's order or the spec's name
    again = load_spec(spec_with(name="other", grid__sigma=["4 mV", "1 mV"]))
    assert {p.hash: p.seed for p in again.points} == {p.hash: p.seed for p in spec.points}
    # ...but on everything that changes the result
    for changed in (spec_with(protocol__duration="0.3 s"), spec_with(protocol__seed=8),
                    spec_with(fit__forms=["tanh"]), spec_with(protocol__target="cython"),
                    spec_with(model={"name": "lif", "set": {"V_th": "-52 mV"}})):  # fmt: skip
        assert not {p.hash for p in load_spec(changed).points} & {p.hash for p in spec.points}


def test_explicit_points_and_release_spec():
    spec = load_spec(spec_with(grid=None, points=[{"tau_m": "15 ms", "sigma": "2 mV"},
                                                  {"tau_m": "25 ms", "sigma": "0 mV"}]))  # fmt: skip
    assert [dict(p.values) for p in spec.points] == [{"tau_m": 0.015, "sigma": 0.002},
                                                     {"tau_m": 0.025, "sigma": 0.0}]  # fmt: skip
    rel = load_spec({"measure": "release", "model": {"name": "tm_release"},
                     "grid": {"U": [0.2, 0.5], "tau_rec": "200ms:800ms:3"},
                     "protocol": {"rate": "1Hz:50Hz:8", "seed": 1}, "fit": {"form": "auto"}})  # fmt: skip
    assert len(rel) == 6 and rel.forms == ("auto",)
    assert rel.points[0].inputs["protocol"]["x_unit"] == "Hz"


BAD = [
    (spec_with(grid={"tau_x": "10ms:20ms:2"}), UnknownParameterError, "cannot sweep 'tau_x'"),
    (spec_with(grid={"tau_m": "10mV:20mV:2"}), UnitError, "grid.tau_m: expected a time"),
    (spec_with(grid={"tau_m": [10, 20]}), UnitError, "bare numbers"),
    (spec_with(grid={}), SpecError, "grid] is empty"),
    (spec_with(grid={"tau_m": []}), SpecError, "grid.tau_m: empty list"),
    (spec_with(grid={"tau_m": "10ms:20ms:0"}), UnitError, "COUNT must be from 1 to"),
    (spec_with(grid={"tau_m": ["10 ms", "10 ms"]}), SpecError, "repeated values"),
    (spec_with(points=[{"tau_m": "10 ms"}]), SpecError, "exactly one of"),
    (spec_with(grid=None, points=[]), SpecError, "points]] is empty"),
    (
        spec_with(grid=None, points=[{"tau_m": "10 ms"}, {"sigma": "1 mV"}]),
        SpecError,
        "same parameters",
    ),
    (spec_with(grid=None, points=[{"tau_m": "10 ms"}, {"tau_m": "10 ms"}]), SpecError, "repeats"),
    (spec_with(protocol__duration="-1 s"), ProtocolError, "duration must be positive"),
    (spec_with(protocol__trials=0), ProtocolError, "trials must be an integer"),
    (spec_with(protocol__seed=None), ProtocolError, "seed is required"),
    (spec_with(protocol__current=None), ProtocolError, "protocol.current .* is required"),
    (spec_with(protocol__current="0.1nA:0.1nA:3"), ProtocolError, "repeats the level 0.1 nA"),
    (spec_with(protocol__current=["0.1nA"]), ProtocolError, "two distinct levels"),
    (spec_with(protocol__current="0nA:0.5nA:4"), ProtocolError, "needs more than 4 levels"),
    (spec_with(protocol__durration="1 s"), SpecError, "unknown key 'durration'"),
    (spec_with(protocol__target="gpu"), ProtocolError, "target must be one of"),
    (
        spec_with(protocol__bias="0.1 nA"),
        ProtocolError,
        "protocol.bias is the constant current added to drive='poisson'",
    ),
    (spec_with(protocol__sigma="-1 mV"), ProtocolError, "protocol.sigma must lie in \\[0, 10 V\\]"),
    (spec_with(fit__forms=["sigmoidal"]), FitError, "sigmoidal"),
    (spec_with(measure="isi"), SpecError, "measure must be one of"),
    (spec_with(model={"name": "lif", "set": {"tau_x": "1 ms"}}), UnknownParameterError, "tau_x"),
    (spec_with(colour="red"), SpecError, "unknown key 'colour'"),
]


@pytest.mark.parametrize("bad,error,match", BAD, ids=[b[2][:24] for b in BAD])
def test_bad_spec_raises_and_writes_nothing(tmp_path, bad, error, match):
    with pytest.raises(error, match=match):
        load_spec(bad)
    with pytest.raises(error, match=match):
        run_sweep(bad, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_bad_input_one_line_exit_2(cli, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(_toml(spec_with(grid={"tau_m": "10mV:20mV:2"})))
    code, out, err = cli("sweep", spec, "-o", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1 and "grid.tau_m: expected a time" in err
    good = tmp_path / "good.toml"
    good.write_text(_toml(SPEC))
    code, out, err = cli("sweep", good, "-o", tmp_path / "out", "--workers", "0")
    assert code == 2 and "workers must be an integer from 1 to 1,024" in err
    code, out, err = cli("sweep", tmp_path / "missing.toml", "-o", tmp_path / "out")
    assert code == 2 and "no such sweep spec" in err
    assert not (tmp_path / "out").exists()


@needs_dask
def test_cli_unreachable_scheduler_one_line_exit_2(cli, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(_toml(SPEC))
    code, out, err = cli("sweep", good, "-o", tmp_path / "out", "--scheduler", "127.0.0.1:9",
                         "--connect-timeout", "1")  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "cannot reach the Dask scheduler" in err
    code, out, err = cli("sweep", good, "-o", tmp_path / "out", "--scheduler", "nowhere")
    assert code == 2 and "not HOST:PORT" in err
    assert not (tmp_path / "out").exists()


def test_missing_dask_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(BiorateError, match=r'pip install "biorate\[sweep\]"'):
        run_sweep(SPEC, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


# --- on the cluster ----------------------------------------------------------------------------


def test_parquet_summary_holds_the_json_rows_and_units(reference):
    pq = pytest.importorskip("pyarrow.parquet")  # in the [test] extra; optional for users
    summary = json.loads((reference / "run" / "summary.json").read_text())
    table = pq.read_table(reference / "run" / "summary.parquet")
    assert table.num_rows == N_POINTS
    assert table.to_pylist() == summary["rows"]  # the same numbers, None where JSON has null
    assert json.loads(table.schema.metadata[b"units"]) == summary["units"]


def test_reference_sweep_files_summary_and_physics(reference):
    from biorate import theory
    from biorate.models import load_model

    files = _files(reference / "run")
    assert len(files) == N_POINTS
    with open(reference / "run" / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == N_POINTS
    assert {"tau_m_s", "sigma_V", "x_half_A", "x_half_stderr_A", "width_A", "r_max_Hz", "r2",
            "aic", "flags"} <= set(rows[0])  # fmt: skip
    summary = json.loads((reference / "run" / "summary.json").read_text())
    assert summary["units"]["x_half_A"] == "A" and summary["units"]["tau_m_s"] == "s"
    for row in rows:  # the table holds exactly the numbers of the point files
        fit = files[row["point"]]["fits"]["sigmoid"]
        assert float(row["x_half_A"]) == fit["params"]["x_half"]
        assert float(row["width_stderr_A"]) == fit["stderr"]["width"]
        assert float(row["r2"]) == fit["r2"] > 0.9
    assert (reference / "sweep.png").stat().st_size > 20_000
    # the swept values reached the simulation: each point's curve agrees with the dt-corrected
    # Siegert rate of its own tau_m and sigma (0.25 s x 2 trials: ~10 % counting noise at 50 Hz)
    lif = load_model("lif")
    for rec in files.values():
        c = rec["curve"]
        tau, sigma = rec["point"]["tau_m"]["text"], rec["point"]["sigma"]["text"]
        pred = theory.fi(lif.with_params(tau_m=tau), current=[f"{x} A" for x in c["x"]],
                         sigma=sigma, dt="0.1 ms")  # fmt: skip
        y, sem = np.array(c["y"]), np.array(c["y_sem"])
        top = slice(-4, None)  # firing well above threshold
        assert np.all(np.abs(y[top] - pred.y[top]) <= 4 * sem[top] + 0.12 * pred.y[top]), (
            rec["point"],
            y,
            pred.y,
        )


def test_client_cancelled_then_resumed_equals_uninterrupted(cluster, reference, tmp_path):
    class Stop(Exception):
        pass

    def stop_after_two(point, record):
        if len(list((tmp_path / "out" / "points").glob("*.json"))) >= 2:
            raise Stop

    with pytest.raises(Stop):
        run_sweep(SPEC, tmp_path / "out", client=cluster[1], progress=False,
                  on_point=stop_after_two)  # fmt: skip
    first = set(_files(tmp_path / "out"))
    # 2 when the stop came first; another worker may finish its point before the client stops
    assert 2 <= len(first) < N_POINTS
    for name in ("summary.csv", "summary.json", "summary.parquet"):  # the sweep is not complete
        assert not (tmp_path / "out" / name).exists()
    second = run_sweep(SPEC, tmp_path / "out", client=cluster[1], progress=False)
    # every point computed exactly once over the two runs
    assert set(second.skipped) == first
    assert len(second.computed) == N_POINTS - len(first) and not set(second.computed) & first
    assert second.complete and not second.errors
    _assert_same_as_reference(tmp_path / "out", reference)
    assert (tmp_path / "out" / "summary.csv").read_text() == (
        reference / "run" / "summary.csv").read_text()  # fmt: skip


def test_worker_killed_midway_loses_nothing(cluster, reference, tmp_path):
    client = cluster[1]
    pids = client.run(os.getpid)  # worker address -> pid
    killed = []

    def kill_a_busy_worker(point, record):
        if killed:
            return
        busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
        os.kill(pids[busy[0]], signal.SIGKILL)  # its task is rescheduled; the nanny restarts it
        killed.append(busy[0])

    result = run_sweep(SPEC, tmp_path / "out", client=client, progress=False,
                       on_point=kill_a_busy_worker)  # fmt: skip
    assert killed and result.complete and not result.errors
    assert killed[0] not in client.run(os.getpid)  # a new worker process took its place
    assert len(result.computed) == N_POINTS and not result.skipped
    _assert_same_as_reference(tmp_path / "out", reference)


def test_rerun_skips_everything(cluster, reference, cli):
    spec = reference / "spec.toml"
    before = {f.name: f.stat().st_mtime_ns for f in (reference / "run" / "points").iterdir()}
    code, out, err = cli("sweep", spec, "-o", reference / "run", "--scheduler",
                         cluster[0].scheduler_address)  # fmt: skip
    assert code == 0, err
    assert f"{N_POINTS} points, 0 computed, {N_POINTS} already done" in out
    after = {f.name: f.stat().st_mtime_ns for f in (reference / "run" / "points").iterdir()}
    assert after == before


# --- single points, in-process (what each worker runs) -------------------------------------


def test_release_point_follows_tsodyks_markram():
    """A release sweep point carries its U and tau_rec into the simulation: the measured release
    rate matches U*nu/(1 + U*nu*tau_rec) of that point."""
    from biorate.sweep import compute_point

    spec = load_spec({"measure": "release", "model": {"name": "tm_release"},
                      "grid": {"U": [0.2, 0.6], "tau_rec": ["0.5 s"]},
                      "protocol": {"rate": "2Hz:30Hz:5", "duration": "2 s", "transient": "1 s",
                                   "trials": 3, "seed": 3, "target": "numpy"}})  # fmt: skip
    assert spec.forms == ("sigmoid",)  # [fit] is optional
    for p in spec.points:
        rec = compute_point(p.inputs)
        assert rec["status"] == "ok", rec.get("error")
        nu = np.array(rec["curve"]["x"])
        u, tau = p.values["U"], p.values["tau_rec"]
        theory = u * nu / (1 + u * nu * tau)
        y, sem = np.array(rec["curve"]["y"]), np.array(rec["curve"]["y_sem"])
        assert np.all(np.abs(y - theory) <= 4 * sem + 0.05 * theory), (p.values, y, theory)


def test_rejected_point_is_recorded_not_raised(tmp_path):
    """A point whose fit is impossible (a neuron that never fires) is written with its error and
    counted as done, so a rerun does not retry it forever; the summary row names the error."""
    from biorate.sweep import compute_point, summary_table

    spec = load_spec(spec_with(grid={"V_th": ["0 mV"]}, protocol__duration="0.1 s",
                               protocol__current="0nA:0.1nA:5"))  # fmt: skip
    rec = compute_point(spec.points[0].inputs)
    assert rec["status"] == "fit_failed" and "y is all zero" in rec["error"]
    assert rec["curve"]["y"] == [0.0] * 5
    rec.update(hash=spec.points[0].hash, index=0,
               point={"V_th": {"value": 0.0, "unit": "V", "text": "0 mV"}})  # fmt: skip
    (row,) = summary_table(spec, [rec])["rows"]
    assert row["V_th_V"] == 0.0 and row["status"] == "fit_failed" and "all zero" in row["error"]
    assert row.get("x_half_A") is None and row["r2"] is None


def test_summary_columns_unique_with_hill_exponent_n():
    """The Hill form's exponent ``n`` keeps its column beside the fit's number of points."""
    from biorate.curve import TransferCurve
    from biorate.fitting import fit
    from biorate.sweep import summary_table

    spec = load_spec({"measure": "release", "model": {"name": "tm_release"},
                      "grid": {"U": [0.5]}, "protocol": {"rate": "1Hz:60Hz:12", "seed": 1},
                      "fit": {"forms": ["hill"]}})  # fmt: skip
    x = np.linspace(1, 60, 12)
    y = 0.5 * x / (1 + 0.5 * x * 0.8)  # Tsodyks-Markram: a Hill curve with n = 1
    f = fit(TransferCurve(measure="release", x=x, y=y, x_unit="Hz", y_unit="1/s"), "hill")
    rec = {"hash": spec.points[0].hash, "index": 0, "status": "ok", "inputs": spec.points[0].inputs,
           "point": {"U": {"value": 0.5, "unit": "1", "text": "0.5"}},
           "curve": {"y_unit": "1/s"}, "fits": {"hill": f.to_dict()}}  # fmt: skip
    table = summary_table(spec, [rec])
    assert len(set(table["columns"])) == len(table["columns"])
    (row,) = table["rows"]
    assert row["n"] == pytest.approx(1.0, abs=1e-6) and row["n_points"] == 12
    assert row["x_half_Hz"] == pytest.approx(1 / (0.5 * 0.8), rel=1e-6)
    assert row["r_max_per_s"] == pytest.approx(1 / 0.8, rel=1e-6) and row["U"] == 0.5


# --- damaged output and failing points (documented in biorate/sweep.py and cli/sweep.py) -----


def test_corrupt_point_file_is_recomputed(cluster, reference, tmp_path, cli):
    """A point file that does not parse (a disk error, a hand edit) counts as missing: the rerun
    computes that point again, overwrites the file atomically, exits 0 and the results equal an
    uninterrupted run's."""
    import shutil

    out = tmp_path / "run"
    shutil.copytree(reference / "run", out)
    victim = sorted((out / "points").glob("*.json"))[0]
    victim.write_text('{"kind": "sweep_point", "trunc')
    stray = out / "points" / "notes.json"  # a file of no point is left alone
    stray.write_text("not json")
    code, stdout, err = cli("sweep", reference / "spec.toml", "-o", out, "--scheduler",
                            cluster[0].scheduler_address)  # fmt: skip
    assert code == 0, err
    assert f"{N_POINTS} points, 1 computed, {N_POINTS - 1} already done" in stdout
    assert stray.read_text() == "not json"
    stray.unlink()
    _assert_same_as_reference(out, reference)
    assert (out / "summary.csv").read_text() == (reference / "run" / "summary.csv").read_text()


def _diverging_model(folder) -> str:
    """The shipped lif plus a variable w growing as exp(k*t/ms): with k = 1 its state diverges in a
    run of 0.2 s (measure_fi refuses the run), with k = 0 it is a constant drive. Only a
    simulation can tell, so a spec with both values passes the up-front checks."""
    from biorate.models import shipped_models_dir

    text = (shipped_models_dir() / "neurons" / "lif.toml").read_text()
    text = text.replace('name = "lif"', 'name = "div"').replace('theory = "lif"\n', "")
    text = text.replace('J = "0.1 mV"', 'J = "0.1 mV"\nk = 0')
    text = text.replace("*xi : volt (unless refractory)",
                        "*xi + w*mV/ms : volt (unless refractory)\ndw/dt = k*w/ms : 1")  # fmt: skip
    text = text.replace('initial = { v = "E_L" }', 'initial = { v = "E_L", w = "1" }')
    (folder / "div.toml").write_text(text)
    return "div.toml"


def test_failing_point_recorded_warned_exit_0_not_retried(cluster, tmp_path, cli):
    """A point whose simulation is rejected (here its state diverges: k = 1; a static error such
    as t_ref below dt is refused before any point runs) is written with status "failed" and its
    error, the sweep completes (summary written, the row names the error), the CLI warns on
    stderr and exits 0; a rerun does not retry it."""
    spec = tmp_path / "spec.toml"
    spec.write_text(_toml(spec_with(model={"name": _diverging_model(tmp_path)},
                                    grid={"k": [0, 1]}, protocol__duration="0.2 s",
                                    protocol__transient="0 s",
                                    protocol__current="0nA:0.5nA:6")))  # fmt: skip
    argv = ["sweep", spec, "-o", tmp_path / "out", "--scheduler", cluster[0].scheduler_address]
    code, stdout, err = cli(*argv)
    assert code == 0, err
    assert (
        "biorate: warning: 1 of 2 points failed (their simulation or fit; recorded with the "
        "error in the summary)" in err
    )
    assert "Traceback" not in err
    recs = {r["point"]["k"]["value"]: r for r in _files(tmp_path / "out").values()}
    bad = recs[1.0]
    assert bad["status"] == "failed" and "ProtocolError" in bad["error"]
    assert "diverged" in bad["error"] and "curve" not in bad
    assert recs[0.0]["status"] in ("ok", "fit_failed")
    with open(tmp_path / "out" / "summary.csv") as f:
        rows = {float(r["k"]): r for r in csv.DictReader(f)}
    assert rows[1.0]["status"] == "failed" and "diverged" in rows[1.0]["error"]
    code, stdout, err = cli(*argv)
    assert code == 0 and "2 points, 0 computed, 2 already done" in stdout
