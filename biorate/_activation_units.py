"""The physical side of an :class:`~biorate.activation.Activation`: the map between a network's
unit-free z and g and a neuron's input x and rate y, the parameters' units and the one-line
description (mixed into ``Activation``, which documents the attributes it reads)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._activation_checks import real_array as _real
from .forms import FORMS

__all__ = ["PhysicalUnits"]


class PhysicalUnits:
    """Methods of :class:`~biorate.activation.Activation` in physical units (mixed in)."""

    form: str
    params: dict[str, float]
    x_scale: float
    x_offset: float
    y_scale: float
    x_unit: str
    y_unit: str
    name: str
    expression: str

    def __call__(self, z: np.ndarray, **learned: Any) -> np.ndarray:  # the Activation's g
        raise NotImplementedError

    def to_x(self, z: np.ndarray) -> np.ndarray:
        """Physical input x = x_offset + x_scale*z (``x_unit``, SI) for pre-activation ``z``."""
        return self.x_offset + self.x_scale * _real(z)

    def to_z(self, x: np.ndarray) -> np.ndarray:
        """Pre-activation z = (x - x_offset)/x_scale for physical input ``x`` (``x_unit``, SI)."""
        return (_real(x, "x") - self.x_offset) / self.x_scale

    def to_rate(self, g: np.ndarray) -> np.ndarray:
        """Physical output y = r0 + y_scale*g (``y_unit``, SI) for activation values ``g``."""
        return self.r0 + self.y_scale * _real(g, "g")

    def physical(self, x: np.ndarray) -> np.ndarray:
        """The curve in physical units: rate y (``y_unit``) for input x (``x_unit``), SI floats.

        For a fitted activation this is the fitted f(x) itself.
        """
        if self.is_fitted:
            return FORMS[self.form].value(_real(x, "x"), self.params)
        return self.to_rate(self(self.to_z(x)))

    def param_units(self) -> dict[str, str]:
        """Unit of each parameter (``{"x_half": "A", "r_max": "Hz", ...}``)."""
        if self.is_fitted:
            return FORMS[self.form].units(self.x_unit, self.y_unit)
        return {k: "1" for k in self.params}

    def describe(self) -> str:
        """One line: the form, and for a fitted one its parameters with units and the scaling."""
        if self.expression:
            return f"{self.name}: formula g(z) = {self.expression} (z written x)"
        if not self.is_fitted:
            extra = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
            return f"{self.name}: built-in {self.form}" + (f" ({extra})" if extra else "")
        units = self.param_units()
        label = FORMS[self.form].label
        ps = ", ".join(f"{label(k)}={v:.4g} {units[k]}" for k, v in self.params.items())
        return (f"{self.name}: fitted {self.form} ({ps}); x = {self.x_offset:.4g} + "
                f"{self.x_scale:.4g}*z {self.x_unit}, y = {self.r0:.4g} + {self.y_scale:.4g}*g "
                f"{self.y_unit}")  # fmt: skip
