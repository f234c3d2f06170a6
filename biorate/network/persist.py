"""A network on disk: one ``.npz`` (no pickle) holding every parameter as ``param.<name>`` and the
architecture JSON (``kind: rate_network``, schema 1: constructor arguments, projections,
populations, provenance and the training history).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .._readers import _unique_keys, _Unreadable
from ..errors import BiorateWarning, NetworkError, caller_stacklevel
from ..io import (
    atomic_write,
    format_bytes,
    jsonable,
    open_npz,
    provenance,
)
from ..schema import Fields, describe, short
from . import fileschema
from .checks import MAX_FIXED_POINT_TOL
from .graph import NAMED

__all__ = ["SCHEMA", "get_params", "architecture", "save", "load"]

SCHEMA = 1
_MAX_JSON = 256 * 2**20  # an architecture JSON (history included) is a few MB at most


def _upgrade_args(args: dict) -> dict:
    """Constructor arguments saved by an earlier version, in today's terms (same schema 1):
    ``early_stopping`` without a validation set monitored the training loss (today's default
    stopping: off), a ``patience`` below 1 meant no stopping (today's ``None``), and a
    ``fixed_point_tol`` above today's bound or a seed of 2**32 or more are brought within the
    bounds, with a warning."""
    if args.get("early_stopping") and not args.get("validation_fraction"):
        args["early_stopping"] = False
    patience = args.get("patience")
    if isinstance(patience, int | float) and not isinstance(patience, bool) and patience < 1:
        args["patience"] = None
    # bounds added later (2026-11-30): a looser fixed-point test, a seed beyond NumPy's 32 bits
    tol = args.get("fixed_point_tol")
    if isinstance(tol, int | float) and not isinstance(tol, bool) and tol > MAX_FIXED_POINT_TOL:
        warnings.warn(f"this network was saved with fixed_point_tol {tol:g}; it is loaded with "
                      f"{MAX_FIXED_POINT_TOL:g}, the loosest test accepted today",
                      BiorateWarning, stacklevel=caller_stacklevel())  # fmt: skip
        args["fixed_point_tol"] = MAX_FIXED_POINT_TOL
    seed = args.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 2**32:
        warnings.warn(f"this network was saved with seed {seed}; it is loaded with seed "
                      f"{seed % 2**32} (seeds are 0..2**32-1 today; only further training reads "
                      "it)", BiorateWarning, stacklevel=caller_stacklevel())  # fmt: skip
        args["seed"] = seed % 2**32
    return args


def get_params(net: Any) -> dict[str, Any]:
    """A network's constructor arguments (scikit-learn style), JSON-able except ``activation``;
    a connectivity that is no name is written as its projection list."""
    named = isinstance(net.connectivity, str) and net.connectivity in NAMED
    return {"sizes": list(net.sizes), "activation": net.activation,
            "connectivity": net.connectivity if named else [asdict(p) for p in net.projections],
            "loss": net.loss, "optimizer": net.optimizer, "learning_rate": net.learning_rate,
            "momentum": net.momentum, "batch_size": net.batch_size, "l2": net.l2,
            "validation_fraction": net.validation_fraction, "early_stopping": net.early_stopping,
            "patience": net.patience, "tol": net.tol, "dtype": net.dtype,
            "init_std": net.init_std, "targets": list(net.targets),
            "derivative_offset": net.derivative_offset, "steps": net.steps, "alpha": net.alpha,
            "seed": net.seed, "training": net.training, "fixed_point_tol": net.fixed_point_tol,
            "fixed_point_max_iter": net.fixed_point_max_iter,
            "max_loop_gain": net.max_loop_gain}  # fmt: skip


def architecture(net: Any) -> dict:
    """The JSON stored inside a saved ``.npz``: arguments, projections and the activation."""
    args = net.get_params()
    act = net.activation_.to_dict() if hasattr(net.activation_, "to_dict") else None
    if act is None:
        raise NetworkError("the activation has no to_dict(); it cannot be saved")
    args["activation"] = act
    return {"kind": "rate_network", "schema": SCHEMA, "args": args,
            "projections": [asdict(p) for p in net.projections],
            "populations": net.population_names, "provenance": provenance(),
            "history": jsonable(net.history_.to_dict()) if hasattr(net, "history_")
            else None}  # fmt: skip


def save(net: Any, path: str | Path) -> Path:
    """Write ``net``'s parameters and architecture JSON to ``path``, atomically; parameters that
    a network file cannot hold (NaN, inf, beyond :data:`~biorate.network.fileschema.MAX_PARAMETER`:
    :meth:`load` would refuse the file) are refused before anything is written."""
    for k, v in net.params_.items():
        big = float(np.max(np.abs(v))) if v.size else 0.0
        if not big <= fileschema.MAX_PARAMETER:
            raise NetworkError(f"cannot save {path}: parameter {k} holds {big:.3g}, beyond "
                               f"{fileschema.MAX_PARAMETER:g} in magnitude (a diverged network?); "
                               "the file would not load")  # fmt: skip
    arrays = {f"param.{k}": v for k, v in net.params_.items()}
    arrays["architecture"] = np.array(json.dumps(architecture(net), allow_nan=False))
    return atomic_write(path, lambda f: np.savez(f, **arrays), binary=True)


def _read(path: Path) -> tuple[Any, Fields]:
    """The open archive and its architecture JSON (checked as a table); every failure a
    NetworkError naming ``path``."""
    archive = open_npz(path, NetworkError, str(path), "biorate network file")
    try:
        return archive, _architecture(archive, path)
    except BaseException:
        archive.close()
        raise


def _architecture(archive: Any, path: Path) -> Fields:
    """The ``architecture`` entry: one JSON string of kind ``rate_network``, schema 1."""
    if "architecture" not in archive.files:
        raise NetworkError(f"{path}: not a readable biorate network file (no 'architecture' entry)")
    size = archive.zip.getinfo("architecture.npy").file_size
    if size > _MAX_JSON:
        raise NetworkError(f"{path}: entry 'architecture' holds {format_bytes(size)}; an "
                           f"architecture JSON is at most {format_bytes(_MAX_JSON)}")  # fmt: skip
    try:
        text = archive["architecture"]
        if text.dtype.kind != "U" or text.ndim != 0:
            raise NetworkError(f"{path}: entry 'architecture': expected one JSON string, found "
                               f"{describe(text)}")  # fmt: skip
        arch = json.loads(str(text[()]), object_pairs_hook=_unique_keys)
    except NetworkError:
        raise
    except _Unreadable as exc:  # JSON that parses but cannot be taken (a key given twice)
        raise NetworkError(f"{path}: entry 'architecture': {exc}") from None
    except Exception as exc:  # zip, npy header, JSON, deep nesting: all mean "corrupt file"
        raise NetworkError(f"{path}: not a readable biorate network file "
                           f"({type(exc).__name__}: {str(exc)[:200]})") from None  # fmt: skip
    f = Fields(arch, f"{path}: malformed architecture", NetworkError)
    if f.raw("kind", None) != "rate_network":
        raise NetworkError(
            f"{path}: not a rate network file (kind {short(f.raw('kind', None), 40)})"
        )
    if f.raw("schema", None) != SCHEMA:
        raise NetworkError(f"{path}: network schema {short(f.raw('schema', None), 40)} is not "
                           f"supported (this biorate reads schema {SCHEMA})")  # fmt: skip
    f.unknown(ARCHITECTURE_FIELDS)
    return f


# the fields architecture() writes: a file with others was not written by biorate
ARCHITECTURE_FIELDS = ("kind", "schema", "args", "projections", "populations", "provenance",
                       "history")  # fmt: skip


def load(cls: Any, path: str | Path) -> Any:
    """Read a network written by :func:`save` as an instance of ``cls`` (the network class):
    every field of the architecture and every array is checked against the graph it describes
    (:mod:`biorate.network.fileschema`); errors are :class:`NetworkError` naming ``path`` and the
    field."""
    if not isinstance(path, str | os.PathLike):
        raise NetworkError(f"a network file is named by a path, got {type(path).__name__}")
    path = Path(path)
    archive, arch = _read(path)
    with archive:
        args = _upgrade_args(fileschema.arguments(arch.table("args")))
        history = fileschema.history(arch)
        try:
            net = cls(**args)
        except NetworkError as exc:
            raise NetworkError(f"{path}: malformed architecture: args: {exc}") from None
        fileschema.graph(arch, [asdict(p) for p in net.projections], net.population_names)
        ref = net.initialize().params_
        net.params_ = fileschema.parameters(archive, ref, net.dtype, str(path))
    if history is not None:
        net.history_ = history
    return net
