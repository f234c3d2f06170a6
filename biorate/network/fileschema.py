"""The fields of a saved network (``.npz``, schema 1), checked one by one.

:mod:`biorate.network.persist` reads the archive; this module says what each part must hold:

- ``args`` (the constructor arguments): the JSON type of each (``sizes`` whole numbers >= 1,
  ``l2`` a finite number, ``early_stopping`` true/false, ...); unknown arguments are refused. Their
  domains (``alpha`` in (0, 1], an unknown loss, ...) are the constructor's own checks.
- ``history``: lists of finite numbers (``null`` where a value was not measured), ``grad_norm`` a
  table of such lists, ``best_epoch`` a whole number, ``stop_reason`` a string.
- ``projections``/``populations``: exactly the graph the arguments build (a projection to a
  population that does not exist, or a cycle in a feedforward net, is refused, not ignored).
- ``param.<name>``: exactly the arrays of the graph the arguments describe, each of real numbers
  (complex values are never silently made real), of its shape, finite in the network's dtype; the
  size an entry claims is checked before it is read, so a compressed entry cannot expand past it.

Every error is a :class:`~biorate.errors.NetworkError` naming the file and the field.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import NetworkError
from ..io import format_bytes
from ..schema import Fields, describe
from .graph import NAMED
from .train import History

__all__ = ["ARGUMENTS", "arguments", "history", "graph", "parameters"]

# the largest parameter magnitude a saved network may hold: trained weights are O(1-100); 1e6
# already drives every unit to a bound, while 1e300 overflows the loss
MAX_PARAMETER = 1e6

_NUMBERS = ("momentum", "l2", "validation_fraction", "tol", "derivative_offset", "alpha",
            "fixed_point_tol", "max_loop_gain")  # fmt: skip
_OPTIONAL_NUMBERS = ("learning_rate", "init_std")
_TEXTS = ("loss", "optimizer", "dtype", "training")
ARGUMENTS = ("sizes", "activation", "connectivity", "batch_size", "steps", "patience", "seed",
             "fixed_point_max_iter",
             "early_stopping", "targets", *_NUMBERS, *_OPTIONAL_NUMBERS, *_TEXTS)  # fmt: skip
_HEADER_SLACK = 64 * 1024  # an .npy header and alignment, generously


def _sizes(f: Fields) -> list:
    sizes = f.numbers("sizes", min_length=2)
    if not all(s == int(s) and s >= 1 for s in sizes):
        bad = next(s for s in sizes if not (s == int(s) and s >= 1))
        raise f.fail("sizes", f"expected whole numbers >= 1 (population sizes), found {bad:g}")
    return list(f.raw("sizes"))


def _one_of_types(f: Fields, key: str, what: str, *types: type) -> Any:
    v = f.raw(key)
    if not isinstance(v, types):
        raise f.fail(key, f"expected {what}, found {describe(v)}")
    return v


def arguments(f: Fields) -> dict[str, Any]:
    """The constructor arguments of table ``args``, each of the JSON type it must have."""
    f.unknown(ARGUMENTS)
    out: dict[str, Any] = {"sizes": _sizes(f)}  # the one required argument
    for key in f.data:
        if key == "sizes":
            continue
        if key == "activation":
            out[key] = _one_of_types(f, key, "a name or an activation table", str, dict)
        elif key == "connectivity":
            out[key] = _one_of_types(f, key, "a name or a list of projections", str, list)
            if isinstance(out[key], str) and out[key] not in NAMED:  # never a path to read
                raise f.fail(key, f"expected one of {', '.join(NAMED)} or a list of "
                             f"projections, found {_brief(out[key])}")  # fmt: skip
        elif key in ("steps", "fixed_point_max_iter"):
            out[key] = f.integer(key, lo=None if key == "steps" else 1)
        elif key == "batch_size":  # None: the default of the graph's kind
            out[key] = f.integer(key, None, lo=1)
        elif key in ("patience", "seed"):
            out[key] = f.integer(key, None, lo=0 if key == "seed" else None)
        elif key == "early_stopping":
            out[key] = f.flag(key)
        elif key == "targets":
            out[key] = tuple(f.numbers(key, length=2).tolist())
        elif key in _OPTIONAL_NUMBERS:
            out[key] = f.number(key, None)
        elif key in _NUMBERS:
            out[key] = f.number(key)
        else:
            out[key] = f.text(key)
    return out


def history(arch: Fields) -> History | None:
    """The training history (``None`` when the file has none), as it was saved."""
    if not arch.has("history"):
        return None
    h = arch.table("history")
    h.unknown((*History.__dataclass_fields__, "epochs"))
    out: dict[str, Any] = {}
    for key in History.__dataclass_fields__:
        if not h.has(key):
            continue
        if key == "grad_norm":
            g = h.table(key)
            for pop in g.data:
                g.numbers(pop, nulls=True)
            out[key] = {pop: list(v) for pop, v in g.data.items()}
        elif key == "best_epoch":
            out[key] = h.integer(key, None, lo=0)
        elif key == "stop_reason":
            out[key] = h.text(key, None, choices=STOP_REASONS)
        else:
            h.numbers(key, nulls=True)
            out[key] = list(h.raw(key))
    _consistent(h, out)
    stated = h.integer("epochs", None, lo=0)
    if stated is not None and stated != len(out.get("loss", [])):
        raise h.fail("epochs", f"{stated}, but the history records {len(out.get('loss', []))} "
                               "epochs (one entry per epoch)")  # fmt: skip
    return History(**out)


# how a training can end (network.train): the cap, the stopping rule, or early stopping
STOP_REASONS = ("max_epochs", "converged", "early_stopping")
# per-epoch series that are fractions (accuracies, saturated/dead/unconverged fractions)
_FRACTIONS = ("accuracy", "val_accuracy", "saturated_fraction", "dead_fraction",
              "fp_unconverged")  # fmt: skip


def _consistent(h: Fields, out: dict[str, Any]) -> None:
    """A history is one record per epoch: every per-epoch list as long as ``loss``, fractions in
    [0, 1], losses >= 0 and ``best_epoch`` within the epochs run."""
    epochs = len(out.get("loss", []))
    series = {k: v for k, v in out.items() if isinstance(v, list)}
    series.update({f"grad_norm.{p}": v for p, v in out.get("grad_norm", {}).items()})
    for key, values in series.items():
        if values and len(values) != epochs:
            raise h.fail(key, f"{len(values)} entries, but the history has {epochs} epochs "
                              "(one entry per epoch)")  # fmt: skip
        numbers = [v for v in values if v is not None]
        if key in _FRACTIONS and any(not 0 <= v <= 1 for v in numbers):
            raise h.fail(key, "expected fractions in [0, 1]")
        if key in ("loss", "val_loss") and any(v < 0 for v in numbers):
            raise h.fail(key, "a loss is >= 0")
    best = out.get("best_epoch")
    if best is not None and best > epochs:
        raise h.fail("best_epoch", f"{best} is beyond the {epochs} epochs the history records")


def graph(arch: Fields, projections: list, populations: list[str]) -> None:
    """The stored ``projections`` and ``populations`` (when present) must be those of the graph
    the arguments build: ``projections`` (dicts) and ``populations`` (names) of the network."""
    if arch.has("populations") and arch.raw("populations") != populations:
        raise arch.fail("populations", f"expected {populations} (the graph the arguments build), "
                        f"found {_brief(arch.raw('populations'))}")  # fmt: skip
    if not arch.has("projections"):
        return
    stored = arch.raw("projections")
    if not isinstance(stored, list):
        raise arch.fail("projections", f"expected a list of projections, found {describe(stored)}")
    n = len(populations)
    for i, item in enumerate(stored):
        ok = isinstance(item, dict) and set(item) == {"source", "target", "kind"}
        ends = [item.get(k) for k in ("source", "target")] if ok else []
        if not ok or not all(isinstance(e, int) and not isinstance(e, bool) for e in ends):
            raise arch.fail("projections", f"entry {i}: expected {{source, target, kind}} with "
                            f"whole-number populations, found {_brief(item)}")  # fmt: skip
        if not all(0 <= e < n for e in ends):
            raise arch.fail("projections", f"entry {i} ({ends[0]}->{ends[1]}): no population "
                            f"{next(e for e in ends if not 0 <= e < n)} (populations 0..{n - 1})")  # fmt: skip
    if stored != projections:
        extra = [p for p in stored if p not in projections]
        missing = [p for p in projections if p not in stored]
        diff = (f"{_arrow(extra[0])} is not in it" if extra else
                f"{_arrow(missing[0])} is missing" if missing else "the order differs")  # fmt: skip
        raise arch.fail("projections", f"they differ from the graph the arguments build "
                        f"(args.connectivity): {diff}")  # fmt: skip


def _arrow(p: dict) -> str:
    kind = "feedback " if p["kind"] == "dense" and p["source"] >= p["target"] else ""
    return f"{kind}{p['kind']} projection {p['source']}->{p['target']}"


def _brief(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def parameters(archive: Any, ref: dict[str, np.ndarray], dtype: Any, where: str) -> dict:
    """The arrays ``param.<name>`` of ``archive`` for every parameter of ``ref`` (the freshly
    initialised parameters of the graph: names and shapes), as ``dtype``."""
    expected = {f"param.{k}" for k in ref} | {"architecture"}
    extra = sorted(set(archive.files) - expected)
    if extra:
        raise NetworkError(f"{where}: array {extra[0]!r} does not belong to the graph the "
                           f"architecture describes (its arrays: "
                           f"{', '.join(sorted(expected - {'architecture'}))})")  # fmt: skip
    return {k: _parameter(archive, f"param.{k}", v.shape, np.dtype(dtype), where)
            for k, v in ref.items()}  # fmt: skip


def _parameter(archive: Any, name: str, shape: tuple, dtype: np.dtype, where: str) -> np.ndarray:
    """One array, checked: present, no larger than its shape needs, real, of that shape, finite."""
    if name not in archive.files:
        raise NetworkError(f"{where}: parameter {name[6:]} missing or of wrong shape: no array "
                           f"{name!r}; the architecture's graph needs shape {shape}")  # fmt: skip
    size = archive.zip.getinfo(f"{name}.npy").file_size
    most = int(np.prod(shape, dtype=object)) * 16 + _HEADER_SLACK  # complex128 at most
    if size > most:
        raise NetworkError(f"{where}: array {name!r} holds {format_bytes(size)}; shape {shape} "
                           "needs far less")  # fmt: skip
    try:
        a = archive[name]
    except Exception as exc:  # object arrays (no pickle), corrupt npy data
        raise NetworkError(f"{where}: array {name!r} cannot be read "
                           f"({type(exc).__name__}: {str(exc)[:200]})") from None  # fmt: skip
    if a.dtype.kind == "c":
        raise NetworkError(f"{where}: array {name!r} holds complex numbers; a network's "
                           "parameters are real (an imaginary part is never dropped silently)")  # fmt: skip
    if a.dtype.kind not in "fiu":
        raise NetworkError(f"{where}: array {name!r}: expected real numbers, found {describe(a)}")
    if a.shape != shape:
        raise NetworkError(f"{where}: parameter {name[6:]} missing or of wrong shape: array "
                           f"{name!r} has shape {a.shape}; the architecture's graph needs "
                           f"{shape}")  # fmt: skip
    with np.errstate(over="ignore", invalid="ignore"):
        out = a.astype(dtype)
    if not np.all(np.isfinite(out)):
        raise NetworkError(f"{where}: parameter {name[6:]} contains NaN or inf (array {name!r}"
                           + (f" as {dtype})" if np.all(np.isfinite(a)) else ")"))  # fmt: skip
    big = float(np.max(np.abs(out))) if out.size else 0.0
    if big > MAX_PARAMETER:
        raise NetworkError(f"{where}: parameter {name[6:]} holds {big:.3g}, beyond "
                           f"{MAX_PARAMETER:g} in magnitude: no trained network has such weights, "
                           "and its currents overflow")  # fmt: skip
    return out
