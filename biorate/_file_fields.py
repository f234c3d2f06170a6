"""The fields every biorate file shares, checked: the top table of a file of some kind and schema,
free-form sub-tables (model, provenance, fit statistics) that must be JSON to be saved again, and the
``model`` and ``protocol`` tables of a curve (or of an activation's source). Re-exported by
:mod:`biorate.curve`."""

from __future__ import annotations

import math
from typing import Any

from .errors import CurveFileError, ModelError
from .models import DRIVES, parse_param
from .models.checks import check_names
from .schema import Fields, describe

__all__ = ["SCHEMA", "file_fields", "plain_table", "check_model", "check_protocol"]

SCHEMA = 1


def file_fields(d: Any, where: str, kind: str, what: str, allowed: tuple[str, ...]) -> Fields:
    """The top table of a file of ``kind`` (``what``: "a transfer curve"...) as :class:`Fields`,
    after checking that it is a table of that kind, of schema :data:`SCHEMA`, with only the
    ``allowed`` fields."""
    f = Fields(d, where, CurveFileError)
    if d.get("kind") != kind:
        raise CurveFileError(f"{where}: not {what} (kind = {_kind(d)})")
    f.unknown(allowed)
    schema = f.integer("schema")
    if schema != SCHEMA:
        raise CurveFileError(f"{where}: {what.split(' ', 1)[1]} schema {schema!r} is not "
                             f"supported (this biorate reads schema {SCHEMA})")  # fmt: skip
    return f


def plain_table(f: Fields, key: str) -> dict | None:
    """The free-form sub-table ``key`` (model, provenance, fit statistics...) as a dict, None when
    absent: a table whose keys are strings and whose values are JSON's (finite numbers, strings,
    true/false, null, lists, tables), so that what loads can be saved again."""
    if not f.has(key):
        return None
    table = f.table(key)
    stack: list[Any] = [table.data]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise f.fail(key, "table keys must be strings")
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, float) and not math.isfinite(v):
            raise f.fail(key, f"contains {v!r}: not a finite number")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**308:
            raise f.fail(key, "contains an integer too large for a float")
        elif not isinstance(v, str | int | float | bool) and v is not None:
            raise f.fail(key, f"contains {describe(v)}, not a JSON value")
    return dict(table.data)


def _kind(d: dict) -> str:
    kind = d.get("kind")
    if kind is None:
        return "missing"
    return repr(kind[:40]) if isinstance(kind, str) else describe(kind)


def check_model(f: Fields, key: str = "model") -> dict:
    """The ``model`` table of a curve (or of an activation's source): ``name`` a string, and
    ``params`` ``{name: "value unit"}`` as a model file writes them (a number for a dimensionless
    one), each a finite quantity in its physical domain (``tau_m = -5 ms`` is refused)."""
    model = f.table(key, {})
    name = model.text("name", None)
    if name is not None and not (name.isprintable() and len(name) <= 200):
        raise model.fail("name", f"{name[:40]!r} is not a printable name of at most 200 characters")
    params = model.table("params", None)
    try:
        if params is not None:  # names as a model file's (its equations are not in a curve)
            check_names(params.data, set(), params.where)
        for name, raw in (params.data if params is not None else {}).items():
            parse_param(name, raw, params.where)
    except ModelError as exc:
        raise f.error(str(exc)) from None
    return plain_table(f, key) or {}


# protocol fields that code reads back (fitting's SEM floor, theory predictions, plots), with their
# domains; others are kept as written
_PROTOCOL_NUMBERS = {"duration_s": (0.0, True), "transient_s": (0.0, False), "dt_s": (0.0, True),
                     "sigma_V": (0.0, False), "bias_A": (None, False)}  # fmt: skip
# the protocol's times lie within a model's (models.checks.MAX_TIME: 1e6 s); its drive is one of
# the model drives
_MAX_PROTOCOL_TIME = 1e6


def check_protocol(f: Fields) -> dict:
    """The ``protocol`` table of a curve (or of an activation's source): the fields code reads back
    in their domains, the others kept as written."""
    p = f.table("protocol", {})
    for key, (lo, lo_open) in _PROTOCOL_NUMBERS.items():
        hi = _MAX_PROTOCOL_TIME if key.endswith("_s") else None
        p.number(key, None, lo=lo, hi=hi, lo_open=lo_open)
    p.integer("trials", None, lo=1)
    seed = p.data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**32):  # fmt: skip
        raise p.fail("seed", f"expected a whole number in [0, 2**32) or null, found "
                             f"{describe(seed) if not isinstance(seed, int) else seed}")  # fmt: skip
    p.text("drive", None, choices=DRIVES)
    for key in ("pattern", "method"):
        p.text(key, None)
    return plain_table(f, "protocol") or {}
