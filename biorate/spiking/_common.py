"""Old home of the shared Brian2 measurement code, kept so that ``biorate.spiking._common`` still
imports (``biorate.deploy`` takes its Brian2 helpers from here). New code imports from
:mod:`biorate.spiking.protocol` (NumPy only) and :mod:`biorate.spiking.brian` (Brian2)."""

from __future__ import annotations

from .brian import (
    BRIAN_ERRORS,
    codegen_target,
    fast_normals,
    namespace,
    neuron_group,
    quantity,
    rejected,
    run_network,
)
from .protocol import (
    BYTES_PER_NEURON,
    MAX_NEURONS,
    TARGETS,
    check_protocol,
    check_size,
    import_brian2,
    pooled_cv,
    resolve_seed,
)

__all__ = [
    "BRIAN_ERRORS",
    "BYTES_PER_NEURON",
    "MAX_NEURONS",
    "TARGETS",
    "check_protocol",
    "check_size",
    "codegen_target",
    "fast_normals",
    "import_brian2",
    "namespace",
    "neuron_group",
    "pooled_cv",
    "quantity",
    "rejected",
    "resolve_seed",
    "run_network",
]
