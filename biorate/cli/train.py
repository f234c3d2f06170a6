"""``biorate train``: train a rate network on a data set, save it as ``.npz``, optionally write a
report JSON and a figure of the training history."""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from ..activation import BUILTINS
from ..datasets import load_dataset
from ..errors import BiorateError, BiorateWarning, NetworkError
from ..io import staged_outputs, write_json
from ..network import RateNetwork
from ..network.graph import NAMED
from ..network.graphfile import graph_file_sizes, looks_like_graph_file
from ..network.report import network_report
from ..units import integer, number
from .common import JSON_REPORT, NETWORK, add_quiet, check_outputs, command_line, dataset_input

__all__ = ["add_parser", "run", "parse_hidden"]


def parse_hidden(text: str) -> list[int]:
    """``"64,64"`` -> ``[64, 64]``; an empty list is refused (a net without hidden units would
    train silently as a linear classifier)."""
    if not text.strip():
        raise NetworkError(
            f"--hidden {text!r}: give at least one hidden population size, e.g. 64,64"
        )
    try:
        sizes = [integer(v) for v in text.split(",")]
    except ValueError:
        raise NetworkError(
            f"--hidden {text!r}: expected comma-separated sizes, e.g. 64,64"
        ) from None
    if any(s < 1 for s in sizes):
        raise NetworkError(f"--hidden {text!r}: sizes must be positive")
    return sizes


def _pair(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise NetworkError(f"--targets {text!r}: expected LOW,HIGH, e.g. 0.15,0.85") from None
    return lo, hi


def add_network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        default="digits",
        help="digits (default), xor, moons, idx:PATH (folder of MNIST-style IDX files), npz:PATH "
        "(arrays X_train, y_train, X_test, y_test) or csv:PATH / csv:TRAIN,TEST (a 'label' column)",
    )
    p.add_argument(
        "--seed", type=integer, default=0, help="seed of initialisation, shuffling, toy data"
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a rate network (feedforward, residual, feedback, volume or a graph file)",
    )
    add_network_options(p)
    p.add_argument(
        "--activation",
        default="sigmoid",
        help=f"built-in name ({', '.join(BUILTINS)}), a shipped fitted activation name, or ACT.json",
    )
    p.add_argument(
        "--connectivity",
        default="feedforward",
        help="feedforward, residual, feedback, volume (all forward projections plus feedback "
        "from every later hidden population) or a graph file (.toml/.json)",
    )
    p.add_argument(
        "--hidden",
        default=None,
        help="hidden population sizes, e.g. 64,64 (default 64,64, or a graph file's populations)",
    )
    p.add_argument(
        "--training",
        default="bptt",
        help="bptt (T --steps from rest) or fixed_point (train the fixed point a spiking "
        "network settles to); a graph without feedback has one sweep, the same either way",
    )
    p.add_argument(
        "--epochs",
        type=integer,
        default=200,
        help="cap on epochs: training stops earlier once converged (see --patience, --tol)",
    )
    p.add_argument("--loss", default="softmax_ce", help="softmax_ce, sigmoid_ce or squared_error")
    p.add_argument("--optimizer", default="adam", help="adam or sgd (with --momentum)")
    p.add_argument(
        "--lr",
        type=number,
        default=None,
        help="learning rate (default: adam 5e-3, 1e-3 with feedback; sgd 0.1)",
    )
    p.add_argument("--momentum", type=number, default=0.9)
    p.add_argument(
        "--batch-size",
        type=integer,
        default=None,
        help="minibatch size (default: 256, 32 with feedback)",
    )
    p.add_argument(
        "--l2",
        type=number,
        default=1e-4,
        help="weight decay: l2/2 * sum W^2 added to each minibatch's mean loss (scikit-learn's alpha is divided by the batch size)",
    )
    p.add_argument("--validation-fraction", type=number, default=0.0)
    p.add_argument(
        "--early-stopping",
        action="store_true",
        help="monitor the validation loss (needs --validation-fraction) and keep the best epoch",
    )
    p.add_argument(
        "--patience",
        type=integer,
        default=10,
        help="stop once the monitored loss has not improved by --tol for this many epochs "
        "(0: run all --epochs)",
    )
    p.add_argument("--tol", type=number, default=1e-4, help="improvement that resets --patience")
    p.add_argument("--dtype", default="float64", help="float64 or float32")
    p.add_argument(
        "--init-std",
        type=number,
        default=None,
        help="fixed initial weight std (default 1/sqrt(fan-in))",
    )
    p.add_argument(
        "--targets",
        type=_pair_arg,
        default=(0.0, 1.0),
        help="LOW,HIGH targets for sigmoid_ce/squared_error, e.g. 0.15,0.85",
    )
    p.add_argument(
        "--derivative-offset",
        type=number,
        default=0.0,
        help="constant added to g' when backpropagating (Fahlman: 0.1)",
    )
    p.add_argument("--steps", type=integer, default=10, help="time steps T (feedback graphs)")
    p.add_argument("--alpha", type=number, default=0.5, help="dt/tau of the rate dynamics")
    p.add_argument("-o", "--output", required=True, help="network file to write (.npz)")
    p.add_argument("--report", help="report JSON to write")
    p.add_argument("--plot", help="figure of loss, accuracy and gradient norms (.png, .pdf, ...)")
    add_quiet(p)
    p.set_defaults(func=run)


def _pair_arg(text: str) -> tuple[float, float]:
    try:
        return _pair(text)
    except NetworkError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def stop_message(net: Any, cap: int) -> str:
    """Why training stopped, in words (from ``history_.stop_reason``)."""
    reason = net.history_.stop_reason
    if reason == "max_epochs":
        return f"stopped at the --epochs cap {cap} before converging"
    loss = "validation" if reason == "early_stopping" else "training"
    return (f"converged: {loss} loss improved by less than {net.tol:g} "
            f"for {net.patience} epochs")  # fmt: skip


def _network(args: argparse.Namespace, data: Any) -> RateNetwork:
    """The RateNetwork the options describe."""
    return RateNetwork(
            [data.n_features, *_hidden(args), data.n_classes],
            activation=args.activation, connectivity=args.connectivity, loss=args.loss,
            optimizer=args.optimizer, learning_rate=args.lr, momentum=args.momentum,
            batch_size=args.batch_size, l2=args.l2, validation_fraction=args.validation_fraction,
            early_stopping=args.early_stopping, patience=args.patience or None, tol=args.tol,
            dtype=args.dtype, init_std=args.init_std, targets=args.targets,
            derivative_offset=args.derivative_offset, steps=args.steps, alpha=args.alpha,
            seed=args.seed, training=args.training,
        )  # fmt: skip


def _note_undeployable_source(net: RateNetwork, name: str) -> None:
    """Warn, before training, when the activation was fitted to an f-I curve against current
    (one deploy takes) but its recorded source does not hold here (its model cannot be found,
    or takes other parameters or values: ``V_th = "-1e308"``; a Poisson drive recorded for a
    curve in amperes): deploy will refuse the network,
    with this reason. Training itself needs only the curve, so it goes on."""
    from ..deploy.mapping import spiking_origin  # (NumPy only: the rate-to-spiking mapping)

    act = net.activation_
    src = getattr(act, "source", None)
    if not isinstance(src, dict) or src.get("measure") != "fi" or act.x_unit != "A":
        return
    try:
        spiking_origin(act, f"--activation {name}")
    except BiorateError as exc:
        warnings.warn(f"deploy will refuse the network this trains: {exc}", BiorateWarning,
                      stacklevel=2)  # fmt: skip


def _hidden(args: argparse.Namespace) -> list[int]:
    """``--hidden``, else the hidden sizes a graph file lists, else 64,64."""
    if args.hidden is not None:
        return parse_hidden(args.hidden)
    if args.connectivity not in NAMED and looks_like_graph_file(args.connectivity):
        sizes = graph_file_sizes(args.connectivity)
        if sizes is not None:
            return sizes[1:-1]
    return [64, 64]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm  # the command's progress bar: not imported for --help

    if args.patience < 0:
        raise NetworkError(f"--patience must be >= 0, got {args.patience}")
    check_outputs([(args.output, "-o", NETWORK), (args.report, "--report", JSON_REPORT),
                   (args.plot, "--plot")],
                  inputs=[(args.activation, "--activation"), dataset_input(args.dataset),
                          (args.connectivity, "--connectivity")])  # fmt: skip
    data = load_dataset(args.dataset, seed=args.seed)
    net = _network(args, data)
    _note_undeployable_source(net, args.activation)
    net.check_fit(data.X_train, data.y_train, args.epochs)  # refused before the progress bar
    with tqdm(total=args.epochs, disable=args.quiet, desc="train", unit="epoch") as bar:

        def progress(epoch: int, rec: dict) -> None:
            post = {"loss": f"{rec['loss']:.4f}", "acc": f"{rec['accuracy']:.3f}"}
            if "val_accuracy" in rec:
                post["val_acc"] = f"{rec['val_accuracy']:.3f}"
            bar.set_postfix(post)
            bar.update(1)

        hist = net.fit(data.X_train, data.y_train, epochs=args.epochs, callback=progress)
    rep = network_report(net, data, command_line())
    with staged_outputs() as out:  # all renamed into place once every one is made
        net.save(out.path(args.output))
        if args.report:
            write_json(out.path(args.report), rep)
        if args.plot:
            from ..plotting.training import plot_history  # matplotlib: only when asked for

            plot_history(hist, out.path(args.plot), f"{net!r} on {data.name}")
    print(f"{args.output}: {net!r}, {hist.epochs} epochs ({stop_message(net, args.epochs)}); "
          f"train accuracy {rep['train_accuracy']:.4f}, "
          f"test accuracy {rep['test_accuracy']:.4f}")  # fmt: skip
    return 0
