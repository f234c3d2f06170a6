"""``biorate evaluate``: accuracy and loss of a saved rate network on a data set."""

from __future__ import annotations

import argparse

from ..io import write_json
from ..network.report import network_report
from .common import (
    JSON_REPORT,
    add_quiet,
    check_outputs,
    command_line,
    dataset_input,
    load_matching,
)
from .train import add_network_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a saved rate network on a data set")
    p.add_argument("network", help="network file written by 'biorate train' (.npz)")
    add_network_options(p)
    p.add_argument("--report", help="report JSON to write")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_outputs(
        [(args.report, "--report", JSON_REPORT)],
        inputs=[(args.network, "the input network"), dataset_input(args.dataset)],
    )
    net, data = load_matching(args.network, args.dataset, args.seed)
    rep = network_report(net, data, command_line())
    if args.report:
        write_json(args.report, rep)
    # a result, not progress: printed even with --quiet (DESIGN.md)
    print(f"{args.network}: {net!r} on {data.name}: train accuracy "
          f"{rep['train_accuracy']:.4f}, test accuracy {rep['test_accuracy']:.4f}")  # fmt: skip
    return 0
