"""Which point records of a sweep are trusted: a ``points/<hash>.json`` file read back is reused
only when it is this point's (its inputs hash to its name) and holds, each of its type, what the
summary reads, and its content matches the digest it was sealed with when written
(:func:`biorate.io.write_record`); a file edited by hand or written by another program is
computed again."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..curve import TransferCurve
from ..errors import BiorateError, CurveFileError
from ..io import read_json, record_intact
from ..schema import finite_number
from .spec import SweepPoint, SweepSpec, content_hash

__all__: list[str] = []


def _done(outdir: Path, spec: SweepSpec, point: SweepPoint) -> bool:
    """Whether ``point`` has a trusted record: written atomically, so whole, but a file edited by
    hand (or another program's) is not trusted (:func:`_well_formed`): it is computed again and
    replaced, so that the summary never meets a field of the wrong type."""
    path = outdir / "points" / f"{point.hash}.json"
    if not path.is_file():
        return False
    try:
        data = read_json(path, kind="sweep_point")
    except CurveFileError:
        return False
    return _well_formed(data, spec, point)


def _well_formed(r: Mapping[str, Any], spec: SweepSpec, point: SweepPoint) -> bool:
    """This point's record (its inputs hash to its name), with what
    :func:`~biorate.sweep.summary.summary_table` reads, each of its type: a status, and unless the
    simulation failed, a curve that reads back and one fit (or its error) per form with finite
    numbers. Its grid index and values are not compared: a grid extended or reordered keeps the
    hash of a point and moves its index (the summary takes both from the spec)."""
    try:
        if not record_intact(r):  # a result edited by hand, even of the right type
            return False
        if (r.get("hash") != point.hash or not isinstance(r.get("inputs"), dict)
                or content_hash(r["inputs"]) != point.hash):  # fmt: skip
            return False
        if r.get("status") == "failed":
            return isinstance(r.get("error"), str)
        fits = r.get("fits")
        if r.get("status") not in ("ok", "fit_failed") or not isinstance(fits, dict):
            return False
        TransferCurve.from_dict(r.get("curve"))  # the curve file's own checks
        return set(fits) == set(spec.forms) and all(map(_fit_well_formed, fits.values()))
    except (BiorateError, TypeError, ValueError, KeyError, AttributeError):
        return False


def _fit_well_formed(f: Any) -> bool:
    """A fit's summary as the summary reads it, or ``{"error": "..."}``."""
    if not isinstance(f, dict):
        return False
    if "error" in f:
        return isinstance(f["error"], str)
    p, u, e, flags = f.get("params"), f.get("param_units"), f.get("stderr"), f.get("flags", [])
    return (isinstance(f.get("form"), str) and isinstance(p, dict) and bool(p)
            and all(finite_number(v) for v in p.values()) and isinstance(u, dict) and set(u) == set(p)
            and all(isinstance(v, str) for v in u.values()) and isinstance(e, dict)
            and all(v is None or finite_number(v) for v in e.values())
            and all(f.get(k) is None or finite_number(f[k]) for k in ("r2", "rmse", "redchi", "aic",
                                                                 "aicc", "bic"))
            and (f.get("n") is None or (isinstance(f["n"], int) and not isinstance(f["n"], bool)))
            and (f.get("ok") is None or isinstance(f["ok"], bool))
            and isinstance(flags, list) and all(isinstance(x, str) for x in flags))  # fmt: skip
