"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._figure_formats import check_figure_format
from .._user_data import csv_files
from ..errors import BiorateError, DataError, OutputError, ProtocolError, UnknownParameterError
from ..io import check_writable
from ..models import load_model
from ..units import TIME, to_si

__all__ = ["parse_set", "command_line", "add_quiet", "seconds", "model_from_args", "fi_axis",
           "OutputError", "check_writable", "check_outputs", "check_figure_format", "check_suffix",
           "Format", "JSON_REPORT", "CURVE", "NETWORK", "ACTIVATION", "NIR"]  # fmt: skip


# what an output option writes, for :func:`check_suffix`: (in words, the suffixes that name it)
Format = tuple[str, tuple[str, ...]]
JSON_REPORT: Format = ("a report as JSON", (".json",))
CURVE: Format = ("a curve as JSON (CSV for .csv)", (".json", ".csv"))
NETWORK: Format = ("a network as NumPy's .npz", (".npz",))
ACTIVATION: Format = ("an activation as JSON", (".json",))
NIR: Format = ("NIR, an HDF5 file", (".nir", ".h5", ".hdf5"))


def check_outputs(outputs: Sequence[tuple[Any, str] | tuple[Any, str, Format]],
                  inputs: Sequence[tuple[Any, str]] = ()) -> None:  # fmt: skip
    """:func:`check_writable` on each ``(path, option)`` given, :func:`check_figure_format` on the
    figures (the options named ``--plot...``), :func:`check_suffix` on those given with the
    :data:`Format` they write (``(path, option, CURVE)``), and refuse two options naming the same
    file (the later write would replace the earlier one) or an output that is one of the
    command's ``inputs`` (``fit c.json -o c.json`` would replace the curve it reads)."""
    seen: dict[Path, str] = {}
    for p, what in inputs:  # a folder input (an IDX dataset) is every file in it
        for one in p if isinstance(p, list | tuple) else [p]:  # csv:TRAIN,TEST: two files
            path = Path(one) if isinstance(one, str | os.PathLike) and str(one).strip() else None
            if path is not None and path.is_dir():
                seen.update({f.resolve(): f"{what} ({f.name})"
                             for f in path.iterdir() if f.is_file()})  # fmt: skip
            elif path is not None and path.is_file():
                seen[path.resolve()] = what
    for path, what, *_ in outputs:
        if path is None:
            continue
        check_writable(path, f"{what} {path}")
        if what.startswith("--plot"):
            check_figure_format(path, what)
        key = Path(os.path.realpath(path))  # (never raises: Path.resolve does for a loop)
        if key in seen:
            raise OutputError(f"{seen[key]} and {what} name the same file {path}")
        seen[key] = what
    for path, what, *fmt in outputs:
        if fmt:
            check_suffix(path, what, *fmt[0])


# suffixes that name a format, and which: an output whose suffix names another format than the
# one written (``fit -o act.csv`` wrote JSON, ``export nir -o net.json`` HDF5) is refused; the
# figure formats matplotlib writes besides PNG, PDF and SVG name figures
_FIGURES = ("jpg", "jpeg", "gif", "tif", "tiff", "webp", "avif", "eps", "ps", "svgz", "pgf", "raw",
            "rgba")  # fmt: skip
_FORMATS = {".json": "JSON", ".csv": "CSV", ".npz": "NumPy's .npz", ".nir": "NIR (HDF5)",
            ".h5": "HDF5", ".hdf5": "HDF5", ".toml": "TOML", ".md": "Markdown", ".txt": "text",
            ".parquet": "Parquet", ".png": "PNG", ".pdf": "PDF", ".svg": "SVG",
            **{f".{f}": f"a figure ({f.upper()})" for f in _FIGURES}}  # fmt: skip


def check_suffix(path: Any, option: str, writes: str, suffixes: Sequence[str]) -> None:
    """Refuse (:class:`OutputError`, before any work) an output ``path`` whose suffix names a
    format other than what the command ``writes`` (one of ``suffixes``); no suffix, or one that
    names no format, is taken as given."""
    if path is None:
        return
    suffix = Path(path).suffix.lower()
    if suffix in _FORMATS and suffix not in suffixes:
        raise OutputError(f"{option} {path}: the suffix {suffix} names {_FORMATS[suffix]}, but "
                          f"this writes {writes}: name it {' or '.join(suffixes)}")  # fmt: skip


def check_outdir(output: Any, plot: Any, command: str) -> None:
    """A command's output folder (``-o``: named, writable) and its ``--plot`` (a format matplotlib
    writes, in OUTDIR, in an existing sub-folder of it, or anywhere writable: the command makes
    OUTDIR only), before any work."""
    if not str(output).strip():
        raise OutputError(f"-o names no folder (an empty path); give the {command}'s output folder")
    check_writable(output, f"-o {output}", folder=True)
    check_figure_format(plot, "--plot")
    if not plot:
        return
    plot_dir, outdir = Path(os.path.realpath(plot)).parent, Path(os.path.realpath(output))
    if plot_dir == outdir:
        return
    if outdir in plot_dir.parents and not plot_dir.is_dir():
        raise OutputError(f"--plot {plot}: no folder {plot_dir} (the {command} makes OUTDIR only; "
                          "put the figure in OUTDIR or an existing folder)")  # fmt: skip
    check_writable(plot, f"--plot {plot}")


def check_outdir_outputs(output: Any, names: Sequence[str], plot: Any,
                         inputs: Sequence[tuple[Any, str]], records: str = "") -> None:  # fmt: skip
    """No file a command writes into OUTDIR (``names``) or ``--plot`` is one of its ``inputs``
    (:func:`check_outputs`); outputs in an OUTDIR the command will make cannot be anything yet.
    ``records``: a sub-folder of OUTDIR whose every file the command may write (a sweep's
    ``points``, a search's ``evals``): no input may lie in it."""
    out = Path(output)
    if records:
        folder = os.path.realpath(out / records)
        for path, what in inputs:
            if path is not None and os.path.dirname(os.path.realpath(path)) == folder:
                raise OutputError(f"{what} {path} lies in {out / records}, whose files the "
                                  f"command writes; keep it outside that folder")  # fmt: skip
    outputs = [(out / name, f"-o {output} ({name})") for name in names]
    if plot:
        outputs.append((Path(plot), "--plot"))
    check_outputs([(p, w) for p, w in outputs if p.parent.is_dir()], inputs=inputs)


def parse_set(items: list[str] | None) -> dict[str, str]:
    """``["tau_m=15ms", "V_th=-52 mV"]`` -> ``{"tau_m": "15ms", ...}`` for ``Model.with_params``."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UnknownParameterError(f"--set {item!r}: expected NAME=VALUE, e.g. tau_m=15ms")
        out[name.strip()] = value.strip()
    return out


def command_line() -> str:
    return "biorate " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress output")


def seconds(value: Any, name: str) -> float:
    """A positive time in seconds from ``"2s"`` / ``"500 ms"``."""
    t = to_si(value, TIME, name)
    if t <= 0:
        raise ProtocolError(f"{name} must be positive, got {value}")
    return t


def model_input(args: argparse.Namespace) -> tuple[Any, str]:
    """The file ``--model`` reads, as an input of :func:`check_outputs`: a path as given, a name
    resolved where it is found (``--models``, ``$BIORATE_MODELS``, the shipped models), so that
    ``-o DIR/NAME.toml`` cannot replace the model it names."""
    try:
        path = load_model(args.model, args.models).path
    except BiorateError:  # the load that follows says what is wrong
        return args.model, "--model"
    return (path if path is not None else args.model), f"--model {args.model}"


def model_from_args(args: argparse.Namespace, kind: str) -> Any:
    """The ``--model`` (searched in ``--models`` too) with the ``--set NAME=VALUE`` changes."""
    return load_model(args.model, args.models, kind=kind).with_params(**parse_set(args.set))


def fi_axis(args: argparse.Namespace) -> dict[str, Any]:
    """``{"current": ..., "rate": ...}`` for an f-I command: the x axis its ``--drive`` takes, the
    other one ``None``; a missing or mismatched axis option is a one-line error."""
    if args.drive == "current":
        if not args.current:
            raise ProtocolError(
                "--drive current needs --current START:STOP:COUNT, e.g. 0nA:0.5nA:51"
            )
        if args.rate:
            raise ProtocolError(
                "--rate goes with --drive poisson; use --current for --drive current"
            )
        return {"current": args.current, "rate": None}
    if not args.rate:
        raise ProtocolError("--drive poisson needs --rate START:STOP:COUNT, e.g. 0Hz:20Hz:21")
    if args.current:
        raise ProtocolError("--current goes with --drive current; use --bias with --drive poisson")
    return {"current": None, "rate": args.rate}


def load_matching(path: str, dataset: str, seed: int) -> tuple[Any, Any]:
    """The network at ``path`` and ``dataset`` (loaded with ``seed``), refused with one line when
    the dataset is not the kind the network was trained on: other features, or another number
    of classes (counted from the dataset's training labels; a 3-class net scored on a 2-class
    set would read as an accuracy of the wrong task)."""
    from ..datasets import load_dataset
    from ..network import RateNetwork

    net = RateNetwork.load(path)
    data = load_dataset(dataset, seed=seed)
    if data.n_features != net.sizes[0] or data.n_classes != net.sizes[-1]:
        raise DataError(f"{path} takes {net.sizes[0]} features and {net.sizes[-1]} classes; "
                        f"dataset {data.name} has {data.n_features} and {data.n_classes}")  # fmt: skip
    return net, data


def dataset_input(spec: str) -> tuple[Any, str]:
    """The files a ``--dataset`` reads, as an input of :func:`check_outputs` (none may be
    overwritten by an output): the folder of ``idx:PATH``, the file of ``npz:PATH`` or
    ``csv:PATH``, both files of ``csv:TRAIN,TEST``; nothing for built-in sets."""
    spec = str(spec)
    kind, _, rest = spec.partition(":")
    if kind not in ("idx", "npz", "csv") or not rest:
        return None, "--dataset"
    if kind == "csv" and len(csv_files(rest)) > 1:
        return tuple(csv_files(rest)), f"--dataset {spec}"
    return rest, f"--dataset {spec}"
