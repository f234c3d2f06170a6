"""A network on disk: one ``.npz`` (no pickle) holding every parameter as ``param.<name>`` and the
architecture JSON (``kind: rate_network``, schema 1: constructor arguments, projections,
populations, provenance and the training history).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NetworkError
from ..io import atomic_write, jsonable, provenance
from .train import History

__all__ = ["SCHEMA", "architecture", "save", "load"]

SCHEMA = 1


def _upgrade_args(args: dict) -> dict:
    """Constructor arguments saved by an earlier version, in today's terms (same schema 1):
    ``early_stopping`` without a validation set monitored the training loss (today's default
    stopping: off), and a ``patience`` below 1 meant no stopping (today's ``None``)."""
    if args.get("early_stopping") and not args.get("validation_fraction"):
        args["early_stopping"] = False
    patience = args.get("patience")
    if isinstance(patience, int | float) and not isinstance(patience, bool) and patience < 1:
        args["patience"] = None
    return args


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
    """Write ``net``'s parameters and architecture JSON to ``path``, atomically."""
    arrays = {f"param.{k}": v for k, v in net.params_.items()}
    arrays["architecture"] = np.array(json.dumps(architecture(net), allow_nan=False))
    return atomic_write(path, lambda f: np.savez(f, **arrays), binary=True)


def _read(path: Path) -> tuple[dict, dict]:
    """The arrays and the architecture JSON of a network file; every failure a NetworkError."""
    if not path.is_file():
        raise NetworkError(f"{path}: no such network file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # every .npz is a zip archive
        raise NetworkError(f"{path}: not a biorate network file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        arch = json.loads(str(arrays.pop("architecture")[()]))
    except NetworkError:
        raise
    except Exception as exc:  # zip, npy header, JSON: all mean "corrupt file"
        raise NetworkError(f"{path}: not a readable biorate network file "
                           f"({type(exc).__name__}: {exc})") from None  # fmt: skip
    if not isinstance(arch, dict) or arch.get("kind") != "rate_network":
        raise NetworkError(f"{path}: not a rate network file (kind {arch.get('kind')!r})")
    if arch.get("schema") != SCHEMA:
        raise NetworkError(f"{path}: network schema {arch.get('schema')} is not supported")
    return arrays, arch


def load(cls: Any, path: str | Path) -> Any:
    """Read a network written by :func:`save` as an instance of ``cls`` (the network class)."""
    path = Path(path)
    arrays, arch = _read(path)
    try:
        args = _upgrade_args(dict(arch["args"]))
        net = cls(**args)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, NetworkError):
            raise NetworkError(f"{path}: {exc}") from None
        raise NetworkError(f"{path}: malformed architecture ({exc})") from None
    params = {}
    ref = net.initialize().params_
    for k, v in ref.items():
        a = arrays.get(f"param.{k}")
        if a is None or a.shape != v.shape:
            raise NetworkError(f"{path}: parameter {k} missing or of wrong shape")
        if not np.all(np.isfinite(a)):
            raise NetworkError(f"{path}: parameter {k} contains NaN or inf")
        params[k] = a.astype(net.dtype)
    net.params_ = params
    hist = arch.get("history")
    if isinstance(hist, dict):
        fields = set(History.__dataclass_fields__)
        net.history_ = History(**{k: v for k, v in hist.items() if k in fields})
    return net
