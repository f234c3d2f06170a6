"""``biorate fit CURVE.json --form auto -o ACT.json``: fit a transfer curve and export the fit as an
activation JSON (with an optional figure, bootstrap intervals and a full fit report)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import fitting
from ..activation import Activation
from ..curve import TransferCurve
from ..errors import CurveFileError, FitError
from ..forms import FORMS
from ..io import staged_outputs, write_json
from ..units import integer
from .common import ACTIVATION, JSON_REPORT, add_quiet, check_outputs, command_line

FORM_NAMES = ", ".join(FORMS)  # every registered form, in the registry's order (read, not listed)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="fit a transfer curve, export it as an activation")
    p.add_argument("curve", metavar="CURVE.json", help="transfer curve JSON (simulate / theory)")
    p.add_argument("--form", default="auto",
                   help=f"auto (every form, lowest --criterion wins) or one of {FORM_NAMES} "
                        "(default auto)")  # fmt: skip
    p.add_argument("--criterion", default=None, choices=list(fitting.CRITERIA),
                   help="what --form auto ranks the forms by: AIC, small-sample AICc, or BIC "
                        "(default aic)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, metavar="ACT.json",
                   help="output activation JSON")  # fmt: skip
    p.add_argument("--plot", default=None, metavar="FIT.png",
                   help="figure: data, fit, residuals, parameter table")  # fmt: skip
    p.add_argument("--plot-activation", default=None, metavar="ACT.png",
                   help="figure: how the network sees the activation, g(z) and g'(z)")  # fmt: skip
    p.add_argument("--bootstrap", type=integer, default=0, metavar="N",
                   help="residual-bootstrap resamples for 95%% percentile intervals (default 0)")  # fmt: skip
    p.add_argument("--seed", type=integer, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--name", default=None, help="activation name (default MODEL_FORM)")
    p.add_argument("--report", default=None, metavar="FIT.json",
                   help="also write the full fit (statistics, covariance, every form's AIC/AICc/BIC)")  # fmt: skip
    p.add_argument("--strict", action="store_true",
                   help="refuse a poor fit (exit code 2, nothing written) instead of warning")  # fmt: skip
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.bootstrap < 0:
        raise FitError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.bootstrap > fitting.MAX_BOOTSTRAP:
        raise FitError(f"--bootstrap {args.bootstrap}: each resample is a fit of its own; "
                       f"at most {fitting.MAX_BOOTSTRAP:,} (about 2 minutes)")  # fmt: skip
    if args.name is not None:  # an activation name's own checks, before the fit
        try:
            Activation("relu", name=args.name)
        except CurveFileError as exc:
            raise FitError(f"--name {str(exc).split(': ', 2)[-1]}") from None
    check_outputs([(args.output, "-o", ACTIVATION), (args.report, "--report", JSON_REPORT),
                   (args.plot, "--plot"),
                   (args.plot_activation, "--plot-activation")],
                  inputs=[(args.curve, "the input CURVE.json")])  # fmt: skip
    curve = TransferCurve.load(args.curve)
    result = fitting.fit(curve, args.form, bootstrap=args.bootstrap, seed=args.seed,
                 criterion=args.criterion)  # fmt: skip
    if not result.ok and args.strict:
        raise FitError(f"{args.curve}: poor {result.form} fit ({', '.join(result.flags)}); "
                       f"nothing written (drop --strict to keep it with a warning)")  # fmt: skip
    try:
        act = result.activation(name=args.name)
    except CurveFileError as exc:  # a fit whose scaling makes no usable activation (rare)
        raise FitError(f"{args.curve}: the {result.form} fit makes no usable activation: "
                       f"{str(exc).removeprefix('activation: ')}") from None  # fmt: skip
    print(result.report())  # the result: printed with --quiet too (it silences progress only)
    _write(args, result, act, curve)
    if not result.ok:
        sys.stderr.write(f"biorate: warning: poor {result.form} fit of {args.curve}: "
                         f"{'; '.join(result.warnings)}\n")  # fmt: skip
    written = [args.output, args.report, args.plot, args.plot_activation]
    print("wrote " + ", ".join(str(w) for w in written if w))
    return 0


def _write(args: argparse.Namespace, result: Any, act: Any, curve: Any) -> None:
    """Every output, made beside its path and renamed into place only once all are made."""
    with staged_outputs() as out:
        act.save(out.path(args.output))
        if args.report:
            report = result.to_dict()
            report["command"] = command_line()
            write_json(out.path(args.report), report)
        if args.plot:
            result.plot(out.path(args.plot))
        if args.plot_activation:
            from ..plotting.fit import plot_activation  # matplotlib only when a figure is asked

            plot_activation(act, out.path(args.plot_activation), curve=curve)
