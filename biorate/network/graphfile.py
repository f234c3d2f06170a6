"""A graph file: a network's connectivity as data (TOML or JSON), accepted wherever a
connectivity name is (``RateNetwork(..., connectivity="graph.toml")``,
``biorate train --connectivity graph.toml``).

The file lists populations (optional) and projections::

    populations = [64, 64, 64, 10]        # sizes, input first; or tables {name = "in", size = 64}
    acyclic = false                       # optional: true refuses any cycle (feedback)

    [[projections]]
    source = "in"                         # an index or a name: in, h1, h2, ..., out
    target = "h1"                         #   (or the names the populations table gives)
    kind = "dense"                        # "dense" (default) or "skip"

    [[projections]]
    source = "h2"
    target = "h1"                         # a dense projection to an earlier (or the same)
                                          # population is feedback

    [[projections]]
    source = "h1"
    target = "h2"
    kind = "skip"
    matrix = "identity"                   # optional for a skip: "identity" needs equal sizes,
                                          # "learned" unequal ones (P); omitted: from the sizes

The JSON form is the same object (``{"populations": [...], "projections": [{...}]}``). When
``populations`` is given its sizes must be the network's; ``biorate train`` takes its hidden
sizes from the file when ``--hidden`` is not given. Every problem is a
:class:`~biorate.errors.NetworkError` naming the file and the entry: an unknown key, a projection
to or from a population that does not exist, a skip that does not go forward or an identity skip
between different sizes, a population without a dense input, a projection listed twice, a cycle
in a file that says ``acyclic = true``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import NetworkError
from ..io import path_is, read_json, read_toml
from ..schema import short

__all__ = ["SUFFIXES", "looks_like_graph_file", "read_graph_file", "graph_file_sizes"]

SUFFIXES = (".toml", ".json")
_KEYS = ("kind", "populations", "projections", "acyclic", "description")
_PROJECTION_KEYS = ("source", "target", "kind", "matrix")
_MAX_BYTES = 4 * 2**20  # a graph of a few thousand projections is well under this


def looks_like_graph_file(value: Any) -> bool:
    """Whether a connectivity string names a graph file (suffix .toml/.json, or an existing
    file)."""
    path = Path(value)
    return path.suffix.lower() in SUFFIXES or path_is(path, "file")


def _load(path: Path) -> dict:
    if path.suffix.lower() == ".json":
        data = read_json(path, error=NetworkError, max_bytes=_MAX_BYTES)
    else:
        data = read_toml(path, "graph file", NetworkError, max_bytes=_MAX_BYTES)
    return data


def _populations(path: Path, data: dict) -> tuple[list[int] | None, list[str] | None]:
    """Sizes and names the file gives (None where it gives none)."""
    if "populations" not in data:
        return None, None
    pops = data["populations"]
    if not isinstance(pops, list) or len(pops) < 2:
        raise NetworkError(f"{path}: populations: expected a list of >= 2 population sizes "
                           f"(input first, output last), found {short(pops)}")  # fmt: skip
    sizes, names = [], []
    for i, item in enumerate(pops):
        name = None
        if isinstance(item, dict):
            unknown = sorted(set(item) - {"name", "size"})
            if unknown:
                raise NetworkError(f"{path}: populations[{i}]: unknown key {unknown[0]!r} "
                                   "(expected name, size)")  # fmt: skip
            name, item = item.get("name"), item.get("size")
            if name is not None and not (isinstance(name, str) and name):
                raise NetworkError(f"{path}: populations[{i}]: name must be a non-empty string")
            if name is not None and (len(name) > 200 or not name.isprintable()):
                raise NetworkError(f"{path}: populations[{i}]: name {short(name)} must be printable "
                                   "and at most 200 characters (it names the population in "
                                   "reports and errors)")  # fmt: skip
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise NetworkError(f"{path}: populations[{i}]: size must be a whole number >= 1, "
                               f"found {short(item)}")  # fmt: skip
        sizes.append(item)
        names.append(name)
    default = _default_names(len(sizes))
    names = [n or d for n, d in zip(names, default, strict=True)]
    if len(set(names)) != len(names):
        raise NetworkError(f"{path}: populations: names must differ, found {names}")
    return sizes, names


def _default_names(n: int) -> list[str]:
    return ["in"] + [f"h{i}" for i in range(1, n - 1)] + ["out"]


def graph_file_sizes(path: str | os.PathLike) -> list[int] | None:
    """The population sizes a graph file lists (None when it lists none)."""
    path = Path(path)
    return _populations(path, _load(path))[0]


def read_graph_file(path: str | os.PathLike, sizes: Sequence[int]) -> list[dict]:
    """The projections of a graph file as ``{"source", "target", "kind"}`` dicts with population
    indices, checked against the network's ``sizes`` (the rest of the checks are
    :func:`~biorate.network.graph.build_projections`' own, to which the caller hands them)."""
    from .graph import build_projections, feedback_cycle  # graph imports this module lazily

    path = Path(path)
    data = _load(path)
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise NetworkError(f"{path}: unknown key {unknown[0]!r} (a graph file has "
                           f"{', '.join(_KEYS)})")  # fmt: skip
    if data.get("kind", "graph") != "graph":
        raise NetworkError(f"{path}: kind must be 'graph', found {short(data.get('kind'))}")
    file_sizes, names = _populations(path, data)
    sizes = list(sizes)
    if file_sizes is not None and file_sizes != sizes:
        raise NetworkError(f"{path}: populations: the file lists sizes {file_sizes} but the "
                           f"network has sizes {sizes}")  # fmt: skip
    names = names or _default_names(len(sizes))
    index = {n: i for i, n in enumerate(names)}
    projs = data.get("projections")
    if not isinstance(projs, list) or not projs:
        raise NetworkError(f"{path}: projections: expected a non-empty list of tables "
                           "{source, target, kind}")  # fmt: skip
    out = []
    for i, item in enumerate(projs):
        where = f"{path}: projections[{i}]"
        if not isinstance(item, dict):
            raise NetworkError(f"{where}: expected a table {{source, target, kind}}, "
                               f"found {short(item)}")  # fmt: skip
        bad = sorted(set(item) - set(_PROJECTION_KEYS))
        if bad:
            raise NetworkError(f"{where}: unknown key {bad[0]!r} (expected "
                               f"{', '.join(_PROJECTION_KEYS)})")  # fmt: skip
        ends = [_population(where, key, item.get(key), index, len(sizes))
                for key in ("source", "target")]  # fmt: skip
        kind = item.get("kind", "dense")
        if kind not in ("dense", "skip"):
            raise NetworkError(f"{where}: kind must be 'dense' or 'skip', found {short(kind)}")
        s, d = ends
        label = f"{names[s]} -> {names[d]}"
        if d == 0:
            raise NetworkError(f"{where} ({label}): the input population {names[0]} cannot be "
                               "a target")  # fmt: skip
        if "matrix" in item:
            if kind != "skip":
                raise NetworkError(f"{where} ({label}): 'matrix' applies to skip projections")
            matrix = item["matrix"]
            if matrix not in ("identity", "learned"):
                raise NetworkError(f"{where} ({label}): matrix must be 'identity' or "
                                   f"'learned', found {short(matrix)}")  # fmt: skip
            if matrix == "identity" and sizes[s] != sizes[d]:
                raise NetworkError(f"{where} ({label}): an identity skip needs equal sizes, "
                                   f"but {names[s]} has {sizes[s]} units and {names[d]} "
                                   f"{sizes[d]}; say matrix = 'learned'")  # fmt: skip
            if matrix == "learned" and sizes[s] == sizes[d]:
                raise NetworkError(f"{where} ({label}): a skip between populations of equal "
                                   f"size ({sizes[s]}) is the identity; a learned matrix "
                                   "is used only between different sizes")  # fmt: skip
        if kind == "skip" and s >= d:
            raise NetworkError(f"{where} ({label}): a skip must go forward (to a later "
                               "population); use kind = 'dense' for feedback")  # fmt: skip
        out.append({"source": s, "target": d, "kind": kind})
    acyclic = data.get("acyclic", False)
    if not isinstance(acyclic, bool):
        raise NetworkError(f"{path}: acyclic must be true or false, found {short(acyclic)}")
    try:
        checked = build_projections(sizes, out, names)
    except NetworkError as exc:
        raise NetworkError(f"{path}: {exc}") from None
    if acyclic and (cycle := feedback_cycle(checked)) is not None:
        raise NetworkError(f"{path}: acyclic = true, but the projections form the cycle "
                           f"{' -> '.join(names[p] for p in cycle)}")  # fmt: skip
    return out


def _population(where: str, key: str, value: Any, index: dict[str, int], n: int) -> int:
    """A population named by its index or its name."""
    if value is None:
        raise NetworkError(f"{where}: missing {key!r}")
    if isinstance(value, str):
        if value not in index:
            raise NetworkError(f"{where}: {key} {short(value)} is not a population (the "
                               f"populations are {short(', '.join(index), 300)})")  # fmt: skip
        return index[value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise NetworkError(f"{where}: {key} must be a population name or index, found "
                           f"{short(value)}")  # fmt: skip
    if not 0 <= value < n:
        raise NetworkError(f"{where}: {key} {value} is not a population (the network has "
                           f"populations 0..{n - 1})")  # fmt: skip
    return value
