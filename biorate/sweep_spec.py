"""Old home of sweep specifications, kept so that ``biorate.sweep_spec`` still imports (and
``biorate.load_sweep_spec`` still resolves); the code lives in :mod:`biorate.sweep.spec`."""

from __future__ import annotations

from .sweep.spec import (
    SCHEMA,
    Axis,
    SpecError,
    SweepPoint,
    SweepSpec,
    content_hash,
    load_spec,
    model_from_payload,
    point_seed,
)

__all__ = [
    "SCHEMA",
    "Axis",
    "SpecError",
    "SweepPoint",
    "SweepSpec",
    "content_hash",
    "load_spec",
    "model_from_payload",
    "point_seed",
]
