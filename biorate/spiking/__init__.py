"""The spiking side: transfer curves measured on Brian2 (the only package, with ``biorate.deploy``,
that imports Brian2)."""

from .fi import measure_fi

__all__ = ["measure_fi"]
