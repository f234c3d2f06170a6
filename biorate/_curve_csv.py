"""Transfer curves as CSV (:meth:`biorate.curve.TransferCurve.save` and ``load`` by the
``.csv`` suffix): the text of a curve's dict, and the dict of a CSV file, which
:meth:`~biorate.curve.TransferCurve.from_dict` then checks as it checks a JSON file."""

from __future__ import annotations

import csv
import json
import os
import re
from io import StringIO
from pathlib import Path
from typing import Any

from ._readers import MAX_JSON_BYTES, _unique_keys, check_regular_input, check_size
from .errors import CurveFileError
from .io import CSV_NUMBER

__all__ = ["is_csv", "curve_csv", "read_curve_csv"]


# --- CSV -----------------------------------------------------------------------------------------
# A curve as CSV: '#' lines first, each "# FIELD: JSON value" for the JSON file's fields that are not
# columns (kind, schema, measure, model, protocol, provenance), then a header row naming each column
# with its unit in brackets ("x [A]", "y [Hz]", "y_sem [Hz]", "cv", "NAME [unit]" per series), then
# one row per level: numbers written by repr (full float precision), an empty cell for an undefined
# value (null in JSON). Reading gives back the JSON file's dict, checked by from_dict as a JSON is.
_CSV_META = ("kind", "schema", "measure", "model", "protocol", "provenance")
_CSV_COLUMNS = ("x", "y", "y_sem", "cv")
_CSV_HEAD = re.compile(r"^(?P<name>.*?)\s*(?:\[(?P<unit>[^\[\]]*)\])?$")


def is_csv(path: Any) -> bool:
    """Whether a curve file is CSV: by its suffix (``.csv``, any case)."""
    return isinstance(path, str | os.PathLike) and Path(path).suffix.lower() == ".csv"


def curve_csv(d: dict) -> str:
    """The CSV text of a curve's dict (:meth:`TransferCurve.to_dict`)."""
    out = StringIO()
    for key in _CSV_META:
        out.write(f"# {key}: {json.dumps(d[key], allow_nan=False)}\n")
    cols = [(f"x [{d['x_unit']}]", d["x"]), (f"y [{d['y_unit']}]", d["y"])]
    if d.get("y_sem") is not None:
        cols.append((f"y_sem [{d['y_unit']}]", d["y_sem"]))
    if d.get("cv") is not None:
        cols.append(("cv", d["cv"]))
    for name, s in d.get("series", {}).items():
        if name in _CSV_COLUMNS:
            raise CurveFileError(f"series {name!r}: a CSV curve has a column {name!r} already; "
                                 "rename the series or save as JSON")  # fmt: skip
        cols.append((f"{name} [{s['unit']}]", s["values"]))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c for c, _ in cols])
    for row in zip(*(v for _, v in cols), strict=True):
        writer.writerow(["" if v is None else repr(float(v)) for v in row])
    return out.getvalue()


def read_curve_csv(path: str | os.PathLike, kind: str, schema: int) -> dict:
    """The dict of a curve CSV (see :func:`curve_csv`): the '#' fields parsed as JSON, each column
    a list of numbers (None for an empty cell), units from the header; ``kind`` and ``schema``
    where no '#' line gives them. Malformed text is a
    :class:`CurveFileError` naming the file, line and column; the values are checked afterwards by
    :meth:`TransferCurve.from_dict`."""
    check_regular_input(path, CurveFileError)
    check_size(path, MAX_JSON_BYTES, "CSV curve file", CurveFileError)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CurveFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CurveFileError(f"{path}: cannot read ({exc})") from None
    lines = text.splitlines()
    d: dict[str, Any] = {}
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        key, sep, value = lines[n][1:].partition(":")
        key = key.strip()
        if not sep or key not in _CSV_META or key in d:
            raise CurveFileError(f"{path}: line {n + 1}: expected '# FIELD: JSON value' with FIELD "
                                 f"one of {', '.join(_CSV_META)}, each once")  # fmt: skip
        try:
            d[key] = json.loads(value, object_pairs_hook=_unique_keys)
        except (ValueError, RecursionError) as exc:
            raise CurveFileError(f"{path}: line {n + 1}: {key}: not a JSON value "
                                 f"({' '.join(str(exc).split())[:120]})") from None  # fmt: skip
        n += 1
    d.setdefault("kind", kind)
    d.setdefault("schema", schema)
    try:
        rows = [r for r in csv.reader(lines[n:]) if r]
    except csv.Error as exc:
        raise CurveFileError(f"{path}: not a readable CSV ({exc})") from None
    if not rows:
        raise CurveFileError(f"{path}: no header row (expected e.g. 'x [A],y [Hz],y_sem [Hz]')")
    columns: dict[str, tuple[str, str | None, list]] = {}
    for cell in rows[0]:
        m = _CSV_HEAD.match(cell.strip())
        assert m is not None  # the pattern matches any text
        name, unit = m["name"], m["unit"]
        if not name or name in columns or (unit is None and name not in ("cv",)):
            raise CurveFileError(f"{path}: header cell {cell[:40]!r}: expected a column name and "
                                 "its unit in brackets, each name once (e.g. 'x [A]', 'y [Hz]')")  # fmt: skip
        columns[name] = (cell, unit, [])
    for name in ("x", "y"):
        if name not in columns:
            raise CurveFileError(f"{path}: no {name!r} column in the header row (found "
                                 f"{','.join(rows[0])[:60]}); expected e.g. 'x [A],y [Hz]'")  # fmt: skip
    for i, row in enumerate(rows[1:]):
        line = n + 2 + i
        if len(row) != len(columns):
            raise CurveFileError(f"{path}: line {line} has {len(row)} cells; the header names "
                                 f"{len(columns)} columns")  # fmt: skip
        for (cell, _, values), v in zip(columns.values(), row, strict=True):
            v = v.strip()
            if v and not CSV_NUMBER.fullmatch(v):
                raise CurveFileError(f"{path}: line {line}, column {cell!r}: {v[:30]!r} is not a "
                                     "number (an undefined value is an empty cell)")  # fmt: skip
            values.append(float(v) if v else None)
    x_cell, d["x_unit"], d["x"] = columns.pop("x")
    y_cell, d["y_unit"], d["y"] = columns.pop("y")
    if "y_sem" in columns:
        cell, unit, d["y_sem"] = columns.pop("y_sem")
        if unit != d["y_unit"]:
            raise CurveFileError(f"{path}: column {cell!r}: y_sem is in y's unit "
                                 f"({d['y_unit']!r}, from {y_cell!r})")  # fmt: skip
    if "cv" in columns:
        cell, unit, d["cv"] = columns.pop("cv")
        if unit not in (None, "1", ""):
            raise CurveFileError(f"{path}: column {cell!r}: a CV has no unit")
    d["series"] = {name: {"values": v, "unit": u} for name, (_, u, v) in columns.items()}
    if not d["series"]:
        del d["series"]
    return d
