"""The spiking side: transfer curves measured on Brian2 (the only package, with ``biorate.deploy``,
that imports Brian2)."""

from .fi import measure_fi
from .release import measure_release, measure_release_probability

__all__ = ["measure_fi", "measure_release", "measure_release_probability"]
