"""Which evaluation records of a search are trusted: an ``evals/<hash>.json`` file read back is
reused only when it is this candidate's (its inputs hash to its name and are the candidate's) and
holds, each of its type and consistent with the candidate, what the leaderboard and ``best.json``
read; a file edited by hand or written by another program is computed again and replaced.

Checked: the status and its fields (a rejected record: a reason, no scores, no activation; an
accepted one: one finite score per objective seed, their median, with a spiking objective the
rate networks' scores as well); the complexity (the formula's node count; 0 for a neuron); and a
neuron's fitted activation, which becomes ``best.json``: it must read back as an activation and be
this neuron's (its source names the space's model with the candidate's parameters and noise). A
formula's record holds no activation. And every record is sealed with the digest of its content
when written (:func:`biorate.io.write_record`): a result edited by hand, even to a value of the
right type, no longer matches it (records from before 2026-12-01 have none and are checked by
their fields alone).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..activation import Activation
from ..errors import BiorateError
from ..forms.expression import parse
from ..io import record_intact
from ..models import load_model
from ..schema import finite_number
from ..sweep import content_hash
from ..units import to_si

__all__ = ["trusted"]

_REL = 1e-9  # a parameter read back from its unit string (format_quantity keeps 12 digits)


def _scores(v: Any, n: int) -> bool:
    return isinstance(v, list) and len(v) == n and all(map(finite_number, v))


def trusted(r: Mapping[str, Any], inputs: Mapping[str, Any], h: str) -> bool:
    """Whether the record ``r`` read from ``evals/<h>.json`` is the evaluation of ``inputs`` (the
    candidate's, hashing to ``h``) with every field the search reads well formed."""
    try:
        if not record_intact(r):  # a result edited by hand, even of the right type
            return False
        if (r.get("hash") != h or r.get("expression") != inputs["expression"]
                or not isinstance(r.get("inputs"), dict) or content_hash(r["inputs"]) != h):  # fmt: skip
            return False
        neuron = inputs.get("space") == "neuron"
        want = 0 if neuron else parse(inputs["expression"]).complexity
        if r.get("complexity") != want or isinstance(r.get("complexity"), bool):
            return False
        objective = inputs["objective"]
        n = 1 if objective.get("kind") == "distance" else len(objective["seeds"])
        spiking = "spiking_duration_s" in objective
        if r.get("status") == "rejected":
            return (isinstance(r.get("reason"), str) and r.get("median") is None
                    and r.get("scores") is None and r.get("rate_scores") is None
                    and r.get("activation") is None)  # fmt: skip
        if r.get("status") != "ok" or r.get("reason") is not None:
            return False
        scores = r.get("scores")
        if not (_scores(scores, n) and finite_number(r.get("median"))
                and r["median"] == float(np.median(scores))):  # fmt: skip
            return False
        if spiking != ("rate_scores" in r) or (spiking and not _scores(r["rate_scores"], n)):
            return False
        if not neuron:
            return r.get("activation") is None
        return _is_this_neurons(r.get("activation"), inputs)
    except (BiorateError, TypeError, ValueError, KeyError, AttributeError, RecursionError):
        return False


def _is_this_neurons(data: Any, inputs: Mapping[str, Any]) -> bool:
    """Whether ``data`` reads back as an activation fitted to the curve of this candidate: the
    space's model with the candidate's parameters (and free-membrane noise ``sigma``)."""
    if not isinstance(data, dict):
        return False
    act = Activation.from_dict(data)  # the activation file's own checks (finite numbers, ...)
    model = (act.source or {}).get("model") or {}
    if not act.is_fitted or model.get("name") != inputs["neuron"]["model"]:
        return False
    given = model.get("params") or {}
    spec = load_model(inputs["neuron"]["model"])
    for name, value in inputs["params"].items():
        if name == "sigma":  # the drive's noise, in the curve's protocol
            got = (act.source.get("protocol") or {}).get("sigma_V")
        elif name in given:
            got = to_si(given[name], spec.param(name).dim, name)
        else:
            return False
        if not finite_number(got) or not math.isclose(float(got), float(value), rel_tol=_REL,
                                                abs_tol=1e-300):  # fmt: skip
            return False
    return True
