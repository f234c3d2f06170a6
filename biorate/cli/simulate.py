"""``biorate simulate fi|release``: measure a transfer curve on Brian2 and save it (JSON, or CSV by
the .csv suffix)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import spiking
from ..errors import ProtocolError
from ..io import staged_outputs
from ..models import DRIVES
from ..units import integer
from .common import (
    CURVE,
    add_quiet,
    check_outputs,
    command_line,
    fi_axis,
    model_from_args,
    model_input,
)


def _check_outputs(args: argparse.Namespace) -> None:
    check_outputs([(args.output, "-o", CURVE), (args.plot, "--plot")],
                  inputs=[model_input(args)])  # fmt: skip


def _write(args: argparse.Namespace, curve: Any, draw: Callable[[Path], Any] | None) -> None:
    """The curve and (with --plot) its figure, ``draw(path)``: renamed into place together, once
    both are made; then the one line that says so."""
    with staged_outputs() as out:
        curve.save(out.path(args.output))
        if args.plot:
            draw(out.path(args.plot))
    print(f"wrote {args.output}" + (f" and {args.plot}" if args.plot else ""))


def bias_option(args: argparse.Namespace) -> str:
    """``--bias``, which only ``--drive poisson`` takes (a current added to the Poisson drive): with
    ``--drive current`` it would be ignored, so it is refused."""
    if args.bias is None:
        return "0nA"
    if args.drive == "current":
        raise ProtocolError("--bias goes with --drive poisson; with --drive current shift the "
                            "--current levels instead")  # fmt: skip
    return args.bias


def _protocol_args(p: argparse.ArgumentParser, duration: str, transient: str = "200ms") -> None:
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="change a model parameter (repeatable), e.g. tau_m=15ms",
    )
    p.add_argument(
        "--duration",
        default=duration,
        help=f"measured time per trial after the transient (default {duration})",
    )
    p.add_argument(
        "--transient",
        default=transient,
        help=f"time simulated first and discarded (default {transient})",
    )
    p.add_argument(
        "--trials", type=integer, default=10, help="independent trials per level (default 10)"
    )
    p.add_argument("--dt", default="0.1ms", help="integration time step (default 0.1ms)")
    p.add_argument(
        "--seed", type=integer, default=None, help="random seed (default: drawn and recorded)"
    )
    p.add_argument(
        "--target",
        default="auto",
        choices=["auto", "cython", "numpy"],
        help="Brian2 code generation target",
    )
    p.add_argument("-o", "--output", required=True, help="output curve (JSON; CSV for .csv)")
    p.add_argument(
        "--plot", default=None, metavar="PNG", help="also draw the curve with its theory"
    )
    add_quiet(p)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="measure a transfer curve on Brian2")
    s = p.add_subparsers(dest="measure", metavar="MEASURE", required=True, parser_class=type(p))

    fi = s.add_parser("fi", help="firing rate against injected current or input rate")
    fi.add_argument("--model", default="lif", help="neuron model name or .toml path (default lif)")
    fi.add_argument("--drive", default="current", choices=list(DRIVES),
                    help="current: injected current plus white noise (x axis --current); "
                         "poisson: the model's Poisson inputs at --rate")  # fmt: skip
    fi.add_argument(
        "--current", default=None, help="START:STOP:COUNT, e.g. 0nA:0.5nA:51 (drive current)"
    )
    fi.add_argument(
        "--rate",
        default=None,
        help="input rate per Poisson input, e.g. 0Hz:20Hz:21 (drive poisson)",
    )
    fi.add_argument(
        "--sigma", default="0mV", help="free-membrane noise std, e.g. 2mV (default 0mV)"
    )
    fi.add_argument("--bias", default=None,
                    help="constant current with --drive poisson (default 0nA)")  # fmt: skip
    _protocol_args(fi, "2s")
    fi.set_defaults(func=run_fi)

    rel = s.add_parser("release", help="synaptic release rate against presynaptic rate")
    rel.add_argument("--model", default="tm_release", help="synapse model name or .toml path")
    rel.add_argument("--rate", default="1Hz:100Hz:20", help="presynaptic rates, START:STOP:COUNT")
    rel.add_argument(
        "--pattern",
        default="poisson",
        choices=["poisson", "regular"],
        help="presynaptic spike pattern",
    )
    _protocol_args(rel, "20s", transient="2s")
    rel.set_defaults(func=run_release)

    prob = s.add_parser(
        "release-probability", help="release probability against clamped presynaptic calcium"
    )
    prob.add_argument("--model", default="ca_release", help="synapse model with a calcium variable")
    prob.add_argument("--calcium", default="0uM:10uM:41", help="calcium levels, START:STOP:COUNT")
    prob.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="change a model parameter"
    )
    prob.add_argument("--dt", default="0.1ms", help="time step (default 0.1ms)")
    prob.add_argument("--target", default="auto", choices=["auto", "cython", "numpy"],
                      help="Brian2 code generation target")  # fmt: skip
    prob.add_argument("-o", "--output", required=True, help="output curve (JSON; CSV for .csv)")
    prob.add_argument("--plot", default=None, metavar="PNG", help="also draw the curve")
    add_quiet(prob)
    prob.set_defaults(func=run_release_probability)


def run_fi(args: argparse.Namespace) -> int:
    _check_outputs(args)
    model = model_from_args(args, "neuron")
    axis = fi_axis(args)
    curve = spiking.measure_fi(
        model,
        **axis,
        drive=args.drive, sigma=args.sigma, bias=bias_option(args), duration=args.duration,
        transient=args.transient, trials=args.trials, dt=args.dt, seed=args.seed,
        target=args.target, progress=not args.quiet, command=command_line(),
    )  # fmt: skip

    def draw(path: Path) -> None:
        from ..plotting.curve import plot_curve  # matplotlib, SciPy: only when a figure is asked
        from ..theory import fi_predictions

        plot_curve(curve, fi_predictions(model, curve), path=path)

    _write(args, curve, draw)
    return 0


def run_release(args: argparse.Namespace) -> int:
    _check_outputs(args)
    model = model_from_args(args, "synapse")
    curve = spiking.measure_release(
        model, rate=args.rate, pattern=args.pattern, duration=args.duration, transient=args.transient,
        trials=args.trials, dt=args.dt, seed=args.seed, target=args.target,
        progress=not args.quiet, command=command_line(),
    )  # fmt: skip

    def draw(path: Path) -> None:
        from ..plotting.curve import plot_curve  # matplotlib, SciPy: only when a figure is asked
        from ..theory import release_predictions

        plot_curve(curve, release_predictions(model, curve, args.pattern), path=path)

    _write(args, curve, draw)
    return 0


def run_release_probability(args: argparse.Namespace) -> int:
    _check_outputs(args)
    model = model_from_args(args, "synapse")
    curve = spiking.measure_release_probability(
        model, calcium=args.calcium, dt=args.dt, target=args.target, command=command_line()
    )

    def draw(path: Path) -> None:
        from ..plotting.curve import plot_curve  # matplotlib: only when a figure is asked

        plot_curve(curve, path=path)

    _write(args, curve, draw)
    return 0
