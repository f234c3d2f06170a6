"""A sweep's results as one table: one row per (point, form) with the swept values, the fitted
parameters and the fit's quality, in SI with each column's unit; written as ``summary.csv``,
``summary.json`` and (with pyarrow) ``summary.parquet``."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from ..io import atomic_write, read_json, write_json
from .spec import SCHEMA, SweepSpec

__all__ = ["read_points", "summary_table", "write_summary"]


def read_points(spec: SweepSpec, outdir: str | os.PathLike) -> list[dict]:
    """The point records of ``spec`` found under ``outdir``, in grid order (missing ones skipped)."""
    out = []
    for p in spec.points:
        path = Path(outdir) / "points" / f"{p.hash}.json"
        if path.is_file():
            out.append(read_json(path, kind="sweep_point"))
    return out


def _col(name: str, unit: str) -> str:
    """Column name with its SI unit, as the protocol keys of DESIGN.md (``duration_s``)."""
    if unit in ("", "1"):
        return name
    return f"{name}_{unit.replace('1/', 'per_').replace('/', '_per_').replace('*', '').replace('^', '')}"


# fit-quality columns of the summary -> keys of Fit.to_dict()
_QUALITY = {"r2": "r2", "rmse": "rmse", "redchi": "redchi", "aic": "aic", "aicc": "aicc",
            "bic": "bic", "n_points": "n", "ok": "ok"}  # fmt: skip


def summary_table(spec: SweepSpec, records: list[dict]) -> dict:
    """One row per (point, form): the swept values, the point's seed and status, the fitted
    parameters with standard errors, and the fit's quality (R², RMSE, reduced χ², AIC, AICc, BIC, ok,
    flags, n_points). Returns ``{"kind": "sweep_summary", "columns", "units", "rows", "axes", "params"}``:
    values are SI floats with each column's unit in ``units``; ``axes`` and ``params`` describe
    the swept and fitted columns (``{"column", "name", "unit"}``, params also ``"stderr"`` and
    ``"forms"``)."""
    columns: list[str] = ["point", "index"]
    units: dict[str, str] = {}
    axes = []
    for a in spec.axes:
        c = _col(a.name, a.si_unit)
        columns.append(c)
        units[c] = a.si_unit
        axes.append({"column": c, "name": a.name, "unit": a.si_unit})
    columns += ["seed", "status", "form", "fitted_form"]
    rows = []
    params: dict[str, dict] = {}
    reserved = set(columns) | set(_QUALITY) | {"flags", "error"}
    for rec in records:
        base = {"point": rec["hash"], "index": rec["index"],
                "seed": rec["inputs"]["protocol"]["seed"], "status": rec["status"]}  # fmt: skip
        for a in spec.axes:
            base[_col(a.name, a.si_unit)] = rec["point"][a.name]["value"]
        for form in spec.forms:
            row = dict(base, form=form)
            f = (rec.get("fits") or {}).get(form)
            if f is None or "error" in f:
                row["error"] = (f or {}).get("error") or rec.get("error")
                rows.append(row)
                continue
            row["fitted_form"] = f["form"]
            for p, v in f["params"].items():
                u = f["param_units"][p]
                c, e = _col(p, u), _col(f"{p}_stderr", u)
                if c in reserved or e in reserved:  # e.g. a swept parameter named like a fit's
                    c, e = "fit_" + c, "fit_" + e
                row[c], row[e] = v, f["stderr"].get(p)
                units[c] = units[e] = u
                info = params.setdefault(c, {"column": c, "name": p, "unit": u, "stderr": e,
                                             "forms": []})  # fmt: skip
                if form not in info["forms"]:
                    info["forms"].append(form)
            for k, key in _QUALITY.items():
                row[k] = f.get(key)
            row["flags"] = ";".join(f.get("flags") or [])
            units["rmse"] = rec["curve"]["y_unit"]
            rows.append(row)
    for info in params.values():
        columns += [info["column"], info["stderr"]]
    columns += [*_QUALITY, "flags", "error"]
    rows = [{c: r.get(c) for c in columns} for r in rows]
    return {"kind": "sweep_summary", "schema": SCHEMA, "name": spec.name, "measure": spec.measure,
            "model": spec.model.name, "forms": list(spec.forms), "axes": axes,
            "params": list(params.values()), "columns": columns, "units": units,
            "rows": rows}  # fmt: skip


def write_summary(summary: dict, outdir: str | os.PathLike) -> list[Path]:
    """``summary.csv`` and ``summary.json`` (and ``summary.parquet`` if pyarrow is importable),
    each written atomically. Returns the paths."""
    outdir = Path(outdir)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=summary["columns"], lineterminator="\n")
    writer.writeheader()
    for row in summary["rows"]:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    text = buf.getvalue()
    paths = [atomic_write(outdir / "summary.csv", lambda f: f.write(text)),
             write_json(outdir / "summary.json", summary)]  # fmt: skip
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return paths
    table = pa.Table.from_pylist(summary["rows"])
    table = table.replace_schema_metadata({"units": json.dumps(summary["units"])})
    paths.append(atomic_write(outdir / "summary.parquet", lambda f: pq.write_table(table, f),
                              binary=True))  # fmt: skip
    return paths


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return v
