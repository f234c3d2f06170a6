"""The main job, end to end on the embedded defaults: ``biorate pipeline [--out DIR] [--quick]``.

Each stage writes its files under DIR as soon as it finishes and records its numbers and timing in
``report.json``/``report.md``; a failing stage is reported by name and what earlier stages wrote
is kept.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import theory
from ._pipeline_training import train_one, worker_init
from .activation import Activation, get_activation
from .curve import TransferCurve
from .datasets import load_dataset
from .deploy import deploy
from .errors import BiorateError, BiorateWarning
from .fitting import fit
from .forms import get_form
from .io import LOOP, atomic_write, check_writable, is_loop, jsonable, provenance, write_json
from .models import load_model
from .network import CONNECTIVITIES, RateNetwork
from .plotting.curve import plot_curve
from .plotting.deploy import plot_deploy
from .schema import boolean, is_integer
from .spiking import measure_fi, measure_release
from .spiking.protocol import check_target, resolve_seed
from .sweep.cluster import MAX_WORKERS, sigint_ignored
from .units import TIME, UnitArray

__all__ = ["run_pipeline", "PipelineError", "STAGES"]


class PipelineError(BiorateError):
    """A pipeline stage failed; earlier stages' files are kept."""


@dataclass
class Context:
    out: Path
    quick: bool
    progress: bool
    target: str
    seed: int
    workers: int = 1
    report: dict = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)

    def log(self, msg: str) -> None:
        if self.progress:
            print(msg, flush=True)


def _stage_fi(ctx: Context) -> dict:
    """lif f-I curves without and with noise over 0-4 nA (onset to saturation: the range a trained
    digits net drives, and that of the shipped activations), beside the closed form and Siegert."""

    lif = load_model("lif")
    n, duration, trials = (41, "0.5 s", 4) if ctx.quick else (161, "2 s", 10)
    current = f"0nA:4nA:{n}"
    results: dict[str, Any] = {}
    lines = ["## 1. LIF transfer curves (Brian2) against theory", "",
             f"Current 0-4 nA in {n} levels, dt = 0.1 ms (Euler). Errors of the simulated mean rate "
             "against the continuous-time prediction (closed form / Siegert) and the prediction "
             "corrected for the time step (see README).", "",
             "| curve | levels x trials | duration | max abs err vs dt-corrected, I <= 0.5 nA (Hz) "
             "| max rel err vs dt-corrected, > 50 Hz | mean rel err vs dt-corrected "
             "| mean rel err vs continuous | top rate (Hz) | sim time (s) |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for label, sigma in (("lif", "0 mV"), ("lif_noise", "2 mV")):
        t0 = time.perf_counter()
        curve = measure_fi(lif, current=current, sigma=sigma, duration=duration, trials=trials,
                           seed=ctx.seed, target=ctx.target, progress=ctx.progress,
                           command="biorate pipeline")  # fmt: skip
        elapsed = time.perf_counter() - t0
        curve.save(ctx.out / f"fi_{label}.json")
        cont = theory.fi(lif, current=curve.x, sigma=sigma)
        corr = theory.fi(
            lif, current=curve.x, sigma=sigma, dt=UnitArray(curve.protocol["dt_s"], TIME)
        )
        firing = cont.y > 5.0  # relative errors where the rate is resolved
        fast = cont.y > 50.0  # where a short run resolves it to a few percent

        def rel_errs(pred: Any, y: np.ndarray = curve.y, mask: np.ndarray = firing) -> np.ndarray:
            return np.abs(y[mask] - pred.y[mask]) / pred.y[mask]

        def rel_err(pred: Any) -> float:
            return float(np.mean(rel_errs(pred)))

        low = curve.x <= 0.5e-9 + 1e-15
        abs_low = float(np.max(np.abs(curve.y[low] - corr.y[low])))
        errs_fast = rel_errs(corr, mask=fast)
        max_fast = float(errs_fast.max()) if errs_fast.size else float("nan")
        plot_curve(curve, theory.fi_predictions(lif, curve), path=ctx.out / f"fi_{label}.png")
        results[label] = {"sigma": sigma, "levels": int(curve.x.size), "trials": trials,
                          "max_abs_err_dt_corrected_low_Hz": abs_low,
                          "max_rel_err_dt_corrected_above_50Hz": max_fast,
                          "mean_rel_err_dt_corrected": rel_err(corr),
                          "mean_rel_err_continuous": rel_err(cont), "seconds": elapsed,
                          "max_rate_Hz": float(curve.y.max())}  # fmt: skip
        lines.append(f"| {label} (sigma = {sigma}) | {n} x {trials} | {duration} | {abs_low:.2f} "
                     f"| {100 * max_fast:.2f}% "
                     f"| {100 * rel_err(corr):.2f}% | {100 * rel_err(cont):.2f}% "
                     f"| {curve.y.max():.0f} | {elapsed:.1f} |")  # fmt: skip
    lines += ["", "![lif](fi_lif.png) ![lif with noise](fi_lif_noise.png)", ""]
    ctx.sections.append("\n".join(lines))
    return results


def _stage_release(ctx: Context) -> dict:
    """Release-rate curves of the depressing (tm_release) and calcium-driven (ca_release) synapses."""
    n, duration, trials = (10, "5 s", 20) if ctx.quick else (20, "20 s", 20)
    rate = f"1Hz:100Hz:{n}"
    results: dict[str, Any] = {}
    lines = ["## 2. Synaptic release saturation (Brian2)", "",
             "| synapse | rates x trials | duration | max rel err vs Tsodyks-Markram | max abs err / SEM "
             "| release rate at 100 Hz (1/s) | slope at 100 Hz / max slope | sim time (s) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in ("tm_release", "ca_release"):
        model = load_model(name)
        t0 = time.perf_counter()
        curve = measure_release(model, rate=rate, duration=duration, trials=trials, seed=ctx.seed,
                                target=ctx.target, progress=ctx.progress,
                                command="biorate pipeline")  # fmt: skip
        elapsed = time.perf_counter() - t0
        curve.save(ctx.out / f"release_{name}.json")
        th = theory.release_predictions(model, curve)
        rel_err = err_sem = None
        if th:
            pred = th[0][1]
            rel_err = float(np.max(np.abs(curve.y - pred.y) / pred.y))
            # the largest relative error sits at the lowest rate, where spikes are fewest
            err_sem = float(np.max(np.abs(curve.y - pred.y) / curve.y_sem))
        slope = np.gradient(curve.y, curve.x)
        sat = float(slope[-1] / slope.max()) if slope.max() > 0 else float("nan")
        cap = [("pool cap 1/tau_rec", 1.0 / model["tau_rec"])] if "tau_rec" in model.params else []
        plot_curve(curve, th, path=ctx.out / f"release_{name}.png", hlines=cap)
        results[name] = {"max_rel_err_theory": rel_err, "max_err_over_sem": err_sem,
                         "release_rate_top": float(curve.y[-1]),
                         "saturation_slope_ratio": sat, "seconds": elapsed}  # fmt: skip
        err = "n/a" if rel_err is None else f"{100 * rel_err:.2f}%"
        sem_txt = "n/a" if err_sem is None else f"{err_sem:.2f}"
        lines.append(f"| {name} | {n} x {trials} | {duration} | {err} | {sem_txt} | {curve.y[-1]:.3f} "
                     f"| {sat:.3f} | {elapsed:.1f} |")  # fmt: skip
    lines += ["", "![tm_release](release_tm_release.png) ![ca_release](release_ca_release.png)", ""]
    ctx.sections.append("\n".join(lines))
    return results


FIT_CURVES = ("fi_lif", "fi_lif_noise", "release_tm_release", "release_ca_release")


def _stage_fit(ctx: Context) -> dict:
    """Fit every curve with auto (lowest AIC; the LIF forms on f-I curves only), sigmoid and tanh;
    export the activations."""

    results: dict[str, Any] = {}
    lines = ["## 3. Fits and exported activations", "",
             "| curve | form | chosen by | R² | RMSE | AIC | parameters (± stderr) | status |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in FIT_CURVES:
        path = ctx.out / f"{name}.json"
        if not path.exists():
            continue
        curve = TransferCurve.load(path)
        results[name] = {}
        for form in ("auto", "sigmoid", "tanh"):
            f = fit(curve, form=form)
            act = f.activation(name=f"{name}_{form}")
            act.save(ctx.out / f"act_{name}_{form}.json")
            if form == "auto":
                f.plot(ctx.out / f"fit_{name}.png")
            results[name][form] = {"form": f.form, "params": f.params, "stderr": f.stderr, "r2": f.r2,
                                   "rmse": f.rmse, "aic": f.aic, "aicc": f.aicc, "bic": f.bic, "ok": f.ok,
                                   "status": f.status, "flags": list(f.flags)}  # fmt: skip
            params = ", ".join(
                f"{get_form(f.form).label(k)} = {v:.4g} ± {f.stderr.get(k, float('nan')):.2g}"
                for k, v in f.params.items()
            )
            lines.append(f"| {name} | {f.form} | {form} | {f.r2:.4f} | {f.rmse:.3g} | {f.aic:.1f} "
                         f"| {params} | {f.status} |")  # fmt: skip
    lines += ["", "Parameters are in SI units (x: A or Hz; rates: Hz or 1/s).", "",
              "![fit lif noise](fit_fi_lif_noise.png) ![fit tm](fit_release_tm_release.png)", ""]  # fmt: skip
    ctx.sections.append("\n".join(lines))
    return results


def _training_activations(ctx: Context) -> dict[str, Any]:
    """The fitted activations of stage 3 (noisy lif, auto and sigmoid forms) and the standard ones."""
    acts: dict[str, Any] = {}
    for form in ("auto", "sigmoid"):
        path = ctx.out / f"act_fi_lif_noise_{form}.json"
        if path.exists():
            act = Activation.load(path)
            if (act.fit or {}).get("ok", True):  # a flagged (poor) fit is reported, not trained on
                acts[f"lif_noise_{act.form}"] = act
    for name in ("sigmoid", "tanh", "relu"):
        acts[name] = get_activation(name)
    return acts


def _run_jobs(ctx: Context, jobs: list[tuple]) -> dict[str, dict]:
    """Every training job, in ``ctx.workers`` processes (in this one when it is 1); a line per
    finished net. Results are keyed by the job's key (the report keeps the jobs' order)."""
    results: dict[str, dict] = {}

    def done(key: str, row: dict) -> None:
        results[key] = row
        ctx.log(f"  trained {len(results)}/{len(jobs)}: {key} test accuracy "
                f"{row['test_accuracy']:.4f} ({row['epochs']} epochs, {row['seconds']:.1f} s)")  # fmt: skip

    workers = min(ctx.workers, len(jobs))  # (the report's text says the same number)
    if workers <= 1:
        for job in jobs:
            done(job[0], train_one(job))
        return results
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # spawn: a fresh interpreter per worker (forking a process that has run Brian2 and holds
    # threads is not safe); the longest jobs (feedback) first, so that the workers finish together
    order = sorted(jobs, key=lambda j: j[3] in ("feedforward", "residual"))
    before = set(multiprocessing.active_children())
    with sigint_ignored():  # the workers start with it ignored, imports included
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=worker_init)  # fmt: skip
    try:
        with sigint_ignored():  # each submit may start a worker (spawned on demand)
            futures = {pool.submit(train_one, job): job[0] for job in order}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
    except BrokenProcessPool:
        raise PipelineError("a training worker process died (killed, e.g. out of memory) or "
                            "could not start (a script that calls run_pipeline with workers > 1 "
                            "needs `if __name__ == \"__main__\":`, as multiprocessing does); "
                            "workers=1 (--workers 1) trains in this process") from None  # fmt: skip
    finally:  # on an error or Ctrl-C the running jobs are stopped at once, not waited for
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in set(multiprocessing.active_children()) - before:
            proc.terminate()
            proc.join(5)
    return results


def _stage_train(ctx: Context) -> dict:
    """Train feedforward, residual and feedback nets on digits with fitted and standard activations
    (the nets are independent: ``ctx.workers`` processes train them side by side)."""
    epochs = 8 if ctx.quick else 200  # the cap; the default training stops once converged
    hidden = [64, 64]
    lines = ["## 4. Rate networks on digits (NumPy)", "",
             f"Hidden layers {hidden}, Adam 5e-3 and batch 256 (1e-3 and 32 with feedback), trained until converged (the training loss "
             f"improved by < 1e-4 for 10 epochs; cap {epochs} epochs), seed {ctx.seed}; digits split "
             "1437 train / 360 test (stratified, fixed). A network sees a fitted activation through "
             "its unit-free g(z) (see README): a fitted sigmoid is exactly the standard logistic, so "
             "its rows equal the standard sigmoid's (likewise a fitted threshold-linear and relu); "
             "flagged (poor) fits are not trained on. Seconds are each net's own training time "
             "({at_once}).", "",
             "| activation | connectivity | test accuracy | train accuracy | epochs | first-layer grad "
             "norm (epoch 1) | saturated units (last epoch) | seconds |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    jobs = [(f"{conn}_{act_name}", act_name, act, conn, hidden, epochs, ctx.seed, str(ctx.out))
            for act_name, act in _training_activations(ctx).items()
            for conn in CONNECTIVITIES]  # fmt: skip
    n = min(ctx.workers, len(jobs))
    lines[2] = lines[2].replace("{at_once}", f"{n} nets trained at a time, one per process"
                                if n > 1 else "one net at a time")  # fmt: skip
    done = _run_jobs(ctx, jobs)
    results = {job[0]: done[job[0]] for job in jobs}
    for r in results.values():
        sat = r["saturated_fraction"]
        sat_txt = "n/a" if sat is None else f"{sat:.3f}"
        lines.append(f"| {r['activation']} | {r['connectivity']} | {r['test_accuracy']:.4f} "
                     f"| {r['train_accuracy']:.4f} | {r['epochs']} | {r['first_layer_grad_norm']:.3g} "
                     f"| {sat_txt} | {r['seconds']:.1f} |")  # fmt: skip
    lines.append("")
    ctx.sections.append("\n".join(lines))
    return results


def _stage_deploy(ctx: Context) -> dict:
    """Run the fitted-activation nets of stage 4 as Brian2 spiking networks on the digits test set."""
    data = load_dataset("digits")
    n_images = 60 if ctx.quick else data.X_test.shape[0]
    durations = (
        ["50 ms", "100 ms", "200 ms"] if ctx.quick else ["50 ms", "100 ms", "200 ms", "500 ms"]
    )
    X, y = data.X_test[:n_images], data.y_test[:n_images]
    results: dict[str, Any] = {}
    lines = ["## 5. Back to spikes: the trained nets as LIF spiking networks", "",
             f"{n_images} test images, current encoding; each rate unit is one neuron of the model "
             "the activation was fitted from, with that curve's noise. deploy's default method: "
             "the linear LIF integrated exactly over 1 ms steps, spikes placed within the step "
             "(NumPy; `--method euler` has Brian2 integrate the model at the curve's 0.1 ms step, "
             "README \"Exact integration at 1 ms\").", "",
             "| net | rate accuracy | spiking accuracy " + " / ".join(durations) + " | gap at "
             f"{durations[-1]} (points) | hidden rate-spike correlation | seconds |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    # the nets the training stage of this run wrote (never other files of that name in OUTDIR)
    trained = ctx.report["results"].get("training", {})
    nets = [ctx.out / f"net_{key}.npz" for key in sorted(trained) if "_lif_noise_" in f"_{key}"]
    if not nets:  # every fit of the noisy lif's curve was flagged: no activation a neuron realises
        warnings.warn("the pipeline deployed nothing: no net was trained with a lif_noise "
                      "activation (every fit of its curve was flagged; see report.md, section 3)",
                      BiorateWarning, stacklevel=2)  # fmt: skip
        lines += ["", "Nothing to deploy: no net was trained with a fitted lif_noise activation (every "
                  "fit of its curve was flagged as poor; see section 3).", ""]  # fmt: skip
    for path in nets:
        key = path.stem.removeprefix("net_")
        if key.endswith("_sigmoid") and len(nets) > 3:
            continue  # a logistic up to scaling: deploy the auto fit's nets
        net = RateNetwork.load(path)
        t0 = time.perf_counter()
        rep = deploy(net, X, y, durations=durations, seed=ctx.seed, target=ctx.target,
                     progress=ctx.progress, command="biorate pipeline", dataset="digits",
                     network_file=str(path))  # fmt: skip
        elapsed = time.perf_counter() - t0
        write_json(ctx.out / f"spiking_{key}.json", jsonable(rep))
        plot_deploy(rep, ctx.out / f"deploy_{key}.png", title=key)
        acc = [float(a) for a in rep["spiking_accuracy"]]
        rate = float(rep["rate_accuracy"])
        corr = [p["correlation"] for p in rep["populations"] if not p["output"]]
        corr = [c for c in corr if c is not None]
        results[key] = {"rate_accuracy": rate, "spiking_accuracy": dict(zip(durations, acc, strict=True)),
                        "gap_points": 100 * (rate - acc[-1]), "min_correlation": min(corr) if corr else None,
                        "n_images": n_images, "method": rep["mapping"]["method"],
                        "dt_s": rep["mapping"]["dt_s"], "seconds": elapsed}  # fmt: skip
        m = rep["mapping"]
        ctx.log(f"  deployed {key}: rate {rate:.4f}, spiking {acc[-1]:.4f} at {durations[-1]} "
                f"({m['method']} integration, dt {m['dt_s'] * 1e3:g} ms; {elapsed:.1f} s)")  # fmt: skip
        lines.append(f"| {key} | {rate:.4f} | " + " / ".join(f"{a:.4f}" for a in acc)
                     + f" | {100 * (rate - acc[-1]):+.1f} | {min(corr) if corr else float('nan'):.3f} "
                     f"| {elapsed:.1f} |")  # fmt: skip
    lines.append("")
    if results:
        lines += [f"![deploy](deploy_{next(iter(results))}.png)", ""]
    ctx.sections.append("\n".join(lines))
    return results


STAGES: list[tuple[str, Callable[[Context], dict]]] = [
    ("fi_curves", _stage_fi),
    ("release_curves", _stage_release),
    ("fits", _stage_fit),
    ("training", _stage_train),
    ("deploy", _stage_deploy),
]


def _write_reports(ctx: Context) -> None:
    write_json(ctx.out / "report.json", ctx.report)
    head = ["# biorate pipeline report", "",
            f"Mode: {'quick' if ctx.quick else 'full'}; seed {ctx.seed}; "
            f"created {ctx.report['provenance']['created']} with biorate "
            f"{ctx.report['provenance']['biorate']} / Brian2 {ctx.report['provenance']['brian2']}.", "",
            "| stage | status | seconds |", "|---|---|---|"]  # fmt: skip
    for name, st in ctx.report["stages"].items():
        head.append(f"| {name} | {st['status']} | {st.get('seconds', 0):.1f} |")
    for name, _ in STAGES:  # a report written while the run goes on says what is still to come
        if name not in ctx.report["stages"]:
            head.append(f"| {name} | not run | |")
    text = "\n".join(head + [""] + ctx.sections) + "\n"
    atomic_write(ctx.out / "report.md", lambda f: f.write(text))


def _check_no_links(out: Path) -> None:
    """Refuse an OUTDIR holding symbolic links where the pipeline writes its files (reports, curves,
    activations, networks, figures): a write would go through the link and replace its target,
    which may be anything (a model file, an input). Checked before any work."""
    if not out.is_dir():
        return
    for entry in sorted(out.iterdir()):
        if entry.is_symlink() and entry.suffix in (".json", ".md", ".npz", ".png"):
            raise PipelineError(f"{entry} is a symbolic link (to {os.readlink(entry)}); the "
                                "pipeline writes its files in this folder and would replace the "
                                "link's target: remove the link or choose another folder")  # fmt: skip


def run_pipeline(out: str | os.PathLike = "biorate_out", *, quick: bool = False, progress: bool = True,
                 target: str = "auto", seed: int = 1, workers: int | None = None) -> dict:  # fmt: skip
    """Run every stage into ``out``; returns the report dict (also written as report.json/.md).
    ``workers``: processes that train the rate nets side by side (None or 1: here, one after the
    other; ``biorate pipeline`` takes one per CPU). The results do not depend on it. With more
    than one, the workers start as fresh interpreters (multiprocessing's spawn), so a script that
    calls this needs ``if __name__ == "__main__":`` around the call."""
    if out is None:
        raise PipelineError("out must name the pipeline's output folder (a path), got None")
    check_writable(out, f"the pipeline's output folder {out}", folder=True)  # (a path at all)
    boolean(quick, "quick", PipelineError)
    boolean(progress, "progress", PipelineError)
    out = Path(out)
    if workers is None:
        workers = 1
    elif not is_integer(workers) or not 1 <= workers <= MAX_WORKERS:
        raise PipelineError(f"workers must be a whole number from 1 to {MAX_WORKERS:,} (or None: "
                            f"one), got {workers!r}"[:200])  # fmt: skip
    if workers > 1 and getattr(multiprocessing.current_process(), "_inheriting", False):
        # a spawned worker re-running the caller's script (no ``__main__`` guard): stop before
        # any stage runs again in it (multiprocessing's own check for this is private too)
        raise PipelineError("run_pipeline was called while a worker process started: guard "
                            "the script's call with `if __name__ == \"__main__\":`")  # fmt: skip
    _check_no_links(out)
    check_target(target)  # the seed and target before the folder is made (every stage uses them)
    resolve_seed(seed)
    if (out / "report.json").is_file():  # (after every check: a refusal stays one line)
        warnings.warn(f"{out} holds the report of an earlier run: this run replaces its files "
                      "stage by stage (a run stopped midway leaves both runs' files, its report "
                      "saying which stages ran); another --out keeps the earlier run whole",
                      BiorateWarning, stacklevel=2)  # fmt: skip
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = LOOP if is_loop(out) else exc.strerror or type(exc).__name__
        raise PipelineError(f"cannot create the pipeline's output folder {out}: {why}") from None
    if target == "auto":
        # a fresh machine compiles every new Brian2 network with Cython (~20 s each): worth it for
        # the full run's long simulations, not for --quick's short ones
        target = "numpy" if quick else "auto"
    ctx = Context(
        out=out, quick=quick, progress=progress, target=target, seed=seed, workers=int(workers)
    )
    ctx.report = {"kind": "pipeline_report", "schema": 1, "quick": quick, "seed": seed,
                  "provenance": provenance("biorate pipeline"), "stages": {}, "results": {}}  # fmt: skip
    t_all = time.perf_counter()
    for i, (name, stage) in enumerate(STAGES, 1):
        ctx.log(f"[{i}/{len(STAGES)}] {name} ...")
        t0 = time.perf_counter()
        try:
            ctx.report["results"][name] = stage(ctx)
        except Exception as exc:
            ctx.report["stages"][name] = {
                "status": f"failed: {exc}",
                "seconds": time.perf_counter() - t0,
            }
            kept = f"earlier results kept in {out}"
            try:
                _write_reports(ctx)
            except (BiorateError, OSError) as write_exc:  # the stage's failure is the news
                kept = f"and the report could not be written either: {write_exc}"
            raise PipelineError(f"pipeline stage {name!r} failed: {' '.join(str(exc).split())[:300]} "
                                f"({' '.join(kept.split())[:300]})") from exc  # fmt: skip
        ctx.report["stages"][name] = {"status": "ok", "seconds": time.perf_counter() - t0}
        _write_reports(ctx)
        ctx.log(f"[{i}/{len(STAGES)}] {name} done in {time.perf_counter() - t0:.1f} s")
    ctx.report["total_seconds"] = time.perf_counter() - t_all
    _write_reports(ctx)
    ctx.log(f"pipeline finished in {ctx.report['total_seconds']:.1f} s: {out / 'report.md'}")
    return json.loads(json.dumps(ctx.report))
