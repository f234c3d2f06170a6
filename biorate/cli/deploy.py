"""``biorate deploy``: run a saved rate network as a Brian2 spiking network on a data set's test
images and report how much accuracy survives (see :mod:`biorate.deploy`)."""

from __future__ import annotations

import argparse
import sys

from ..deploy import METHODS, DeployError, activation_field, deploy, spiking_origin
from ..deploy.settings import presentation_times
from ..io import staged_outputs, write_json
from ..models import whole_steps
from ..units import integer
from .common import (
    JSON_REPORT,
    add_quiet,
    check_outputs,
    command_line,
    dataset_input,
    load_matching,
    seconds,
)

__all__ = ["add_parser", "run", "durations_up_to"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deploy",
        help="run a trained rate network as a spiking network (Brian2) and compare accuracies",
    )
    p.add_argument("network", help="network file written by 'biorate train' (.npz)")
    p.add_argument("--dataset", default="digits",
                   help="digits (default), xor, moons, idx:PATH, npz:PATH, csv:PATH or "
                        "csv:TRAIN,TEST; its test set is presented")  # fmt: skip
    p.add_argument("--duration", default=None,
                   help="longest presentation time per image (default 0.5s); shorter standard "
                        "times (50, 100, 200 ms) below it are read from the same run")  # fmt: skip
    p.add_argument("--durations", default=None,
                   help="explicit comma-separated presentation times, e.g. 50ms,100ms,1s "
                        "(instead of --duration; giving both is an error)")  # fmt: skip
    p.add_argument("--encoding", default="current", choices=["current", "poisson"],
                   help="inputs as constant currents (default) or Poisson spike trains")  # fmt: skip
    p.add_argument("--neurons-per-unit", type=integer, default=1,
                   help="spiking neurons standing for one rate unit (default 1)")  # fmt: skip
    p.add_argument("--images", type=integer, default=None,
                   help="present only the first N test images (default all)")  # fmt: skip
    p.add_argument("--tau-syn", default="5ms", help="synaptic time constant (default 5ms)")
    p.add_argument("--input-rate", default=None,
                   help="Poisson rate of an input of value 1 (--encoding poisson only; default 200Hz)")  # fmt: skip
    p.add_argument("--batch-size", type=integer, default=400,
                   help="images per Brian2 network (memory vs. speed; default 400)")  # fmt: skip
    p.add_argument("--seed", type=integer, default=0, help="seed of noise and Poisson inputs")
    p.add_argument("--target", default="auto", choices=["auto", "cython", "numpy"],
                   help="Brian2 code generation target (when the method is euler)")  # fmt: skip
    p.add_argument("--method", default="auto", choices=list(METHODS),
                   help="auto (default): exact for lif models, else euler; euler: Brian2 "
                        "integrates the model's equations; exact: the linear LIF integrated "
                        "exactly with spikes placed within the step (NumPy, nothing to compile; "
                        "lif models only)")  # fmt: skip
    p.add_argument("--dt", default=None,
                   help="time step (default: 1 ms with the exact method; with euler the step "
                        "of the activation's curve, 0.1 ms for the shipped ones); below the "
                        "refractory period")  # fmt: skip
    p.add_argument("--report", help="report JSON to write")
    p.add_argument("--plot", help="figure: accuracy vs time, a raster, rate vs spiking scatter")
    add_quiet(p)
    p.set_defaults(func=run)


def durations_up_to(longest_s: float, dt_s: float | None = None) -> list[float]:
    """The standard presentation times (50, 100, 200, 500 ms) below ``longest_s``, plus it;
    with ``dt_s``, only those that are whole steps of it (--dt 0.3 ms: not 50 ms)."""
    std = [t for t in (0.05, 0.1, 0.2, 0.5) if dt_s is None or whole_steps(t, dt_s)]
    return sorted({t for t in std if t < longest_s * (1 - 1e-9)} | {longest_s})


def run(args: argparse.Namespace) -> int:
    """Check every input and output first (one line and exit 2 on a bad one), then simulate.
    ``--quiet`` silences the progress bars only: the results always print (stdout)."""
    check_outputs([(args.report, "--report", JSON_REPORT), (args.plot, "--plot")],
                  inputs=[(args.network, "the input network"), dataset_input(args.dataset)])  # fmt: skip
    for name, value in (("--images", args.images), ("--batch-size", args.batch_size),
                        ("--neurons-per-unit", args.neurons_per_unit)):  # fmt: skip
        if value is not None and value < 1:
            raise DeployError(f"{name} must be >= 1, got {value}")
    if args.input_rate is not None and args.encoding != "poisson":
        raise DeployError("--input-rate is the Poisson rate of a pixel of value 1: it goes with "
                          "--encoding poisson")  # fmt: skip
    if args.durations is not None and args.duration:
        raise DeployError("give --duration (the longest time, with the standard ones below it) "
                          "or --durations (the exact list), not both")  # fmt: skip
    if args.durations is not None:
        durations = presentation_times([v.strip() for v in args.durations.split(",")])
    else:
        durations = durations_up_to(seconds(args.duration or "0.5s", "--duration"),
                                    seconds(args.dt, "--dt") if args.dt else None)  # fmt: skip
    net, data = load_matching(args.network, args.dataset, args.seed)
    # refuse a net without a spiking origin (or with an edited one) before any work
    origin = spiking_origin(net.activation_, activation_field(args.network))
    # the model file the network's neurons are built from is an input too (a --report or --plot
    # named like it replaced it, and every later deployment of the net failed)
    check_outputs([(args.report, "--report", JSON_REPORT), (args.plot, "--plot")],
                  inputs=[(origin.model.path, "the network's model file")])  # fmt: skip
    X, y = data.X_test, data.y_test
    if args.images is not None:
        X, y = X[: args.images], y[: args.images]
    # every other argument (times, rates, NaN/inf in the data, ...) is checked by deploy() before
    # its first simulation step; the report is exactly what deploy() returns
    rep = deploy(
        net, X, y, durations=[f"{float(d)!r} s" for d in durations], encoding=args.encoding,
        neurons_per_unit=args.neurons_per_unit, tau_syn=args.tau_syn,
        input_rate=args.input_rate or "200Hz", batch_size=args.batch_size, seed=args.seed,
        target=args.target, method=args.method, dt=args.dt, progress=not args.quiet, command=command_line(),
        dataset=data.name, network_file=args.network, train=(data.X_train, data.y_train),
    )  # fmt: skip
    if args.target != "auto" and rep["mapping"]["method"] == "exact":
        sys.stderr.write(f"biorate: warning: --target {args.target} applies to Brian2 (--method "
                         "euler); this net ran the exact scheme (NumPy), which compiles nothing\n")  # fmt: skip
    written = [p for p in (args.report, args.plot) if p]
    with staged_outputs() as out:  # both renamed into place once both are made
        if args.report:
            write_json(out.path(args.report), rep)
        if args.plot:
            from ..plotting.deploy import plot_deploy  # matplotlib: only when a figure is asked

            title = f"{args.network}: {rep['connectivity']} on {data.name}"
            plot_deploy(rep, out.path(args.plot), title)
    m = rep["mapping"]
    print(f"{args.network}: {net!r} on {data.name} ({rep['n_test']} test images, "
          f"{args.encoding} encoding; {m['method']} integration, dt {m['dt_s'] * 1e3:g} ms)")  # fmt: skip
    print(f"  rate network test accuracy {rep['rate_accuracy']:.4f}")
    for d, acc, agr in zip(rep["durations_s"], rep["spiking_accuracy"], rep["agreement"],
                           strict=True):  # fmt: skip
        und = round(rep["undecided"][rep["durations_s"].index(d)] * rep["n_test"])
        silent = (
            f" ({und} of {rep['n_test']} images undecided: no output neuron fired)" if und else ""
        )
        print(f"  spiking {d * 1e3:6.0f} ms: accuracy {acc:.4f}, agrees with rate net {agr:.4f}"
              f"{silent}")  # fmt: skip
    for pop in rep["populations"]:
        corr = pop["correlation"]
        print(f"  {pop['name']:>4}: rate correlation "
              f"{'n/a' if corr is None else f'{corr:.3f}'}, RMSE {pop['rmse_hz']:.1f} Hz")  # fmt: skip
    if rep["undecided"] and rep["undecided"][-1] == 1.0:
        sys.stderr.write(f"biorate: warning: no output neuron fired in {rep['durations_s'][-1] * 1e3:g} ms "
                         "for any image: every image is undecided and counted wrong (a longer "
                         "presentation, or a network whose output is driven above threshold)\n")  # fmt: skip
    if written:
        print("wrote " + ", ".join(str(w) for w in written))
    return 0
