"""``biorate theory fi|release``: analytic transfer curves, saved as the same JSON as a measurement."""

from __future__ import annotations

import argparse

from ..models import DRIVES
from ..spiking.protocol import levels, note_single_level
from ..units import CURRENT, FREQUENCY
from .common import (
    CURVE,
    add_quiet,
    check_outputs,
    command_line,
    fi_axis,
    model_from_args,
    model_input,
)
from .simulate import bias_option


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="change a model parameter (repeatable), e.g. tau_m=15ms",
    )
    p.add_argument("-o", "--output", required=True, help="output curve (JSON; CSV for .csv)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "theory", help="analytic transfer curve (LIF rate, Siegert, Tsodyks-Markram)"
    )
    s = p.add_subparsers(dest="measure", metavar="MEASURE", required=True, parser_class=type(p))

    fi = s.add_parser("fi", help="LIF firing rate: closed form, Siegert formula, or dt-corrected")
    fi.add_argument("--model", default="lif", help="neuron model name or .toml path (default lif)")
    fi.add_argument("--drive", default="current", choices=list(DRIVES),
                    help="current: injected current plus white noise (x axis --current); "
                         "poisson: the model's Poisson inputs at --rate (diffusion approximation)")  # fmt: skip
    fi.add_argument(
        "--current", default=None, help="START:STOP:COUNT, e.g. 0nA:0.5nA:51 (drive current)"
    )
    fi.add_argument(
        "--rate", default=None, help="rate per Poisson input, e.g. 0Hz:30Hz:31 (drive poisson)"
    )
    fi.add_argument(
        "--sigma", default="0mV", help="free-membrane noise std, e.g. 2mV (default 0mV)"
    )
    fi.add_argument("--bias", default=None,
                    help="constant current with --drive poisson (default 0nA)")  # fmt: skip
    fi.add_argument(
        "--dt",
        default=None,
        help="predict Brian2's Euler integration at this step, e.g. 0.1ms (default: continuous)",
    )
    _common(fi)
    add_quiet(fi)  # nothing to silence (no progress), accepted as every command accepts it
    fi.set_defaults(func=run_fi)

    rel = s.add_parser("release", help="Tsodyks-Markram steady-state release rate")
    rel.add_argument("--model", default="tm_release", help="synapse model name or .toml path")
    rel.add_argument("--rate", default="1Hz:100Hz:20", help="presynaptic rates, START:STOP:COUNT")
    _common(rel)
    add_quiet(rel)
    rel.set_defaults(func=run_release)


def run_fi(args: argparse.Namespace) -> int:
    from ..theory import fi  # SciPy: imported by the command that needs it

    check_outputs([(args.output, "-o", CURVE)], inputs=[model_input(args)])
    model = model_from_args(args, "neuron")
    axis = fi_axis(args)
    bias = bias_option(args)
    name, dim = ("current", CURRENT) if args.drive == "current" else ("rate", FREQUENCY)
    x = levels(axis[name], dim, name)  # each level once, increasing (as measure_fi has them)
    curve = fi(
        model,
        **axis,
        sigma=args.sigma, drive=args.drive, bias=bias, dt=args.dt, command=command_line(),
    )  # fmt: skip
    note_single_level(x, dim, name)
    curve.save(args.output)
    print(f"wrote {args.output}")
    return 0


def run_release(args: argparse.Namespace) -> int:
    from ..theory import release  # SciPy: imported by the command that needs it

    check_outputs([(args.output, "-o", CURVE)], inputs=[model_input(args)])
    model = model_from_args(args, "synapse")
    x = levels(args.rate, FREQUENCY, "rate")
    curve = release(model, args.rate, command=command_line())
    note_single_level(x, FREQUENCY, "rate")
    curve.save(args.output)
    print(f"wrote {args.output}")
    return 0
