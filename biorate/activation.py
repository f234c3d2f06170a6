"""Activation functions for rate networks: built-in ones and ones fitted to transfer curves.

An :class:`Activation` is data, not code: a form name plus numbers, saved as the activation JSON of
DESIGN.md. What a network computes is the unit-free

    g(z) = (f(x_offset + x_scale * z) - r0) / y_scale

where ``f`` is the fitted curve (a form of :mod:`biorate.forms`, input ``x`` in ``x_unit``, output
in ``y_unit``, both SI) and ``r0`` its baseline. So a network unit with pre-activation ``z`` stands
for a neuron receiving ``x = x_offset + x_scale*z`` (e.g. amperes) and firing at
``y = r0 + y_scale*g(z)`` (e.g. Hz): :meth:`Activation.to_x` and :meth:`Activation.to_rate` map
back for deployment. A fit chooses the scaling so that g is well scaled (see
:meth:`biorate.fitting.Fit.activation`): a fitted sigmoid is seen as exactly the logistic.

Built-ins (``get_activation("sigmoid")``) are the textbook unit-free functions of z, with
``params`` empty or holding their parameters' defaults (``leaky_relu`` has ``{"alpha": 0.01}``):

=============  ===================================  ============
name           g(z)                                 range
=============  ===================================  ============
sigmoid        1 / (1 + exp(-z))                    (0, 1)
tanh           tanh(z)                              (-1, 1)
relu           max(0, z)                            [0, inf)
leaky_relu     z if z > 0 else alpha*z              (-inf, inf)
softplus       log(1 + exp(z))                      (0, inf)
elu            z if z > 0 else alpha*(exp(z) - 1)   (-alpha, inf)
gelu           z * Phi(z) (tanh form)               (-0.170, inf)
swish          z / (1 + exp(-beta z))               (-0.278/beta, inf)
prelu          leaky_relu, alpha learned per unit   (-inf, inf)
swish_learned  swish, beta learned per unit         (-inf, inf)
maxout         the largest of k pieces z_1..z_k     (-inf, inf)
=============  ===================================  ============

A network learns prelu's and swish_learned's parameter for every unit, starting from the value
in ``params`` (:attr:`Activation.learned`, :meth:`Activation.param_derivative`); a maxout unit
receives k input currents (its projections have k columns per unit) and ``g`` is the identity
on each (:attr:`Activation.pieces`).

An activation whose ``params`` are the full parameter set of a :mod:`biorate.forms` form (e.g.
``x_half, width, r_max, r0`` for ``"sigmoid"``) is that fitted curve seen through the scaling. A
fitted ``tanh`` therefore gives g(z) = 0.5*(1 + tanh z) in (0, 1) (a rate is never negative), while
the built-in ``tanh`` is tanh(z) in (-1, 1).

Value and derivative are vectorized and stable for any finite z (``|z| = 1e6`` included): no overflow,
no NaN, no floating-point warnings. This module needs NumPy only (the fitted ``erf`` form imports
``scipy.special`` when first evaluated).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ._activation_builtins import BUILTINS, UnknownActivationError
from ._activation_checks import (
    MAX_MAGNITUDE,
    MIN_SCALE,
    check_fields,
    check_learned,
    check_param_units,
    check_shape,
)
from ._activation_checks import real_array as _real
from ._activation_units import PhysicalUnits
from .curve import file_fields
from .errors import BiorateError, CurveFileError
from .forms import FORMS
from .io import JsonFile, is_loop, path_is, read_json
from .models import model_dirs, shipped_models_dir
from .schema import Fields

__all__ = [
    "Activation",
    "UnknownActivationError",
    "BUILTINS",
    "SCHEMA",
    "get_activation",
    "list_activations",
    "shipped_activations_dir",
    "MAX_MAGNITUDE",
    "MIN_SCALE",
    "TorchMissingError",
]

SCHEMA = 1

# the fields of an activation file (anything else is refused: a typo must not pass silently)
_FIELDS = ("kind", "schema", "name", "form", "params", "param_units", "x_unit", "y_unit", "x_scale",
           "x_offset", "y_scale", "fit", "source", "expression")  # fmt: skip
# the attributes of an Activation, each checked by biorate._activation_checks
_ATTRS = ("form", "params", "x_scale", "x_offset", "y_scale", "x_unit", "y_unit", "fit", "source",
          "name", "expression")  # fmt: skip


def shipped_activations_dir() -> Path:
    """The folder of shipped fitted activations (``models/activations``)."""
    return shipped_models_dir() / "activations"


def _activation_dirs() -> list[Path]:
    return [d / "activations" for d in model_dirs()]


def list_activations() -> list[str]:
    """Names accepted by :func:`get_activation`: built-ins, then shipped/user fitted ones."""
    names = list(BUILTINS)
    for d in _activation_dirs():
        if d.is_dir():
            names += sorted(p.stem for p in d.glob("*.json") if p.stem not in names)
    return names


class TorchMissingError(BiorateError, ImportError):
    """:meth:`Activation.to_torch` without PyTorch installed (``pip install biorate[torch]``)."""


@dataclass(frozen=True)
class Activation(PhysicalUnits, JsonFile):
    """A unit-free activation ``g(z)`` and its map back to physical units.

    Attributes
    ----------
    form : a built-in name (:data:`BUILTINS`) or a form of :data:`biorate.forms.FORMS`.
    params : the form's parameters, SI floats (units: see :meth:`param_units`); empty for a built-in.
    x_scale, x_offset : input x = x_offset + x_scale*z, in ``x_unit`` (SI).
    y_scale : output rate y = r0 + y_scale*g(z), in ``y_unit`` (SI).
    x_unit, y_unit : unit names (``"A"``, ``"Hz"``, ...); ``"1"`` for a built-in.
    fit : fit statistics (r2, rmse, aic, bic, stderr, ...), or None.
    source : where the curve came from (measure, model, protocol, provenance), or None.
    name : a short label for reports (defaults to ``form``).
    expression : for ``form="formula"`` only: g(z) written in the grammar of
        :mod:`biorate.forms.expression` with z as ``x`` (``"x * sigmoid(x)"``), kept in its
        canonical form; a formula is unit free, as a built-in is, and has no spiking origin.
    """

    KIND: ClassVar[str] = "activation"

    form: str
    params: dict[str, float] = field(default_factory=dict)
    x_scale: float = 1.0
    x_offset: float = 0.0
    y_scale: float = 1.0
    x_unit: str = "1"
    y_unit: str = "1"
    fit: dict | None = None
    source: dict | None = None
    name: str = ""
    expression: str = ""

    def __post_init__(self) -> None:
        """Every check of an activation file (:meth:`from_dict`) applies to one built in code too
        (:mod:`biorate._activation_checks`): a malformed value raises :class:`CurveFileError`
        naming the field (``x_scale="1"`` is refused, not converted), an unknown form
        :class:`UnknownActivationError`. A fitted activation must also be a usable function of z:
        not constant, not a step, its values within ±1e6 (:func:`_activation_checks.check_shape`)."""
        f = Fields({k: getattr(self, k) for k in _ATTRS}, "activation", CurveFileError)
        checked = check_fields(f)
        object.__setattr__(self, "_fitted", checked.pop("fitted"))
        object.__setattr__(self, "_formula", checked.pop("formula"))
        for attr, value in checked.items():
            object.__setattr__(self, attr, value)
        if self.is_fitted:
            check_shape(f, self)

    # --- what the network uses --------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """True for a fitted curve (a :mod:`biorate.forms` form), False for a built-in."""
        return bool(self._fitted)  # type: ignore[attr-defined]

    @property
    def fit_flags(self) -> tuple[str, ...]:
        """The flags of the fit this activation came from, as recorded in its JSON (``fit.flags``:
        ``low_r2``, ``high_redchi``, ``at_bound:<param>``, ...); () for a built-in or a clean fit."""
        return tuple((self.fit or {}).get("flags") or ())

    @property
    def fit_ok(self) -> bool:
        """False when the fit was flagged poor (``fit.ok`` in its JSON; a ``high_redchi`` warning
        alone keeps it True, see :func:`biorate.fitting.fit_status`); True for a built-in."""
        return bool((self.fit or {}).get("ok", True))

    @property
    def _unit(self) -> Any:
        """A built-in's value, derivative and range, or a formula's (``FormulaUnit``)."""
        return self._formula or BUILTINS[self.form]  # type: ignore[attr-defined]

    @property
    def r0(self) -> float:
        """Baseline rate of a fitted curve (``y_unit``); 0 for a built-in."""
        return self.params.get("r0", 0.0) if self.is_fitted else 0.0

    def __call__(self, z: np.ndarray, **learned: np.ndarray) -> np.ndarray:
        """g(z), elementwise; ``z`` any shape, unit-free. Returns a float array of that shape.

        ``learned`` overrides parameters of :attr:`learned` with per-unit values (arrays that
        broadcast against ``z``, e.g. one slope per unit of a PReLU population)."""
        z = _real(z)
        if not self.is_fitted:
            b = self._unit
            return np.asarray(b.fn(z, **self._with(learned, z)), dtype=float)
        form = FORMS[self.form]
        return form.excess(self.x_offset + self.x_scale * z, self.params) / self.y_scale

    def derivative(self, z: np.ndarray, **learned: np.ndarray) -> np.ndarray:
        """g'(z) = f'(x) * x_scale / y_scale, analytic, elementwise; same shape as ``z``
        (``learned`` as for :meth:`__call__`)."""
        z = _real(z)
        if not self.is_fitted:
            b = self._unit
            return np.asarray(b.grad(z, **self._with(learned, z)), dtype=float)
        form = FORMS[self.form]
        dfdx = form.derivative(self.x_offset + self.x_scale * z, self.params)
        return dfdx * (self.x_scale / self.y_scale)

    @property
    def learned(self) -> tuple[str, ...]:
        """Parameters a network learns per unit, starting from this activation's values: PReLU's
        ``alpha``, ``swish_learned``'s ``beta``; () for every other activation."""
        return self._unit.learned if not self.is_fitted else ()

    @property
    def pieces(self) -> int:
        """How many pre-activations a unit takes the maximum of: maxout's ``k``, else 1."""
        return self._unit.pieces(self.params) if not self.is_fitted else 1

    def param_derivative(self, name: str, z: np.ndarray, **learned: np.ndarray) -> np.ndarray:
        """dg/d(name) at ``z``, elementwise, for a parameter of :attr:`learned`."""
        if name not in self.learned:
            raise BiorateError(f"{self.name}: {name!r} is not a learned parameter "
                               f"(learned: {', '.join(self.learned) or 'none'})")  # fmt: skip
        z = _real(z)
        grad = self._unit.param_grads[name]
        return np.asarray(grad(z, **self._with(learned, z)), dtype=float)

    def _with(self, learned: dict, z: np.ndarray) -> dict:
        """The parameters with per-unit learned values in place of the stored ones, each checked
        (:func:`~biorate._activation_checks.check_learned`)."""
        if not learned:
            return self.params
        return {**self.params, **check_learned(self.name, self.learned, learned, z.shape)}

    @property
    def bounds(self) -> tuple[float, float]:
        """Range (lower, upper) of g over all z, for saturation diagnostics (may be infinite)."""
        if not self.is_fitted:
            return self._unit.range(self.params)
        lo, hi = FORMS[self.form].excess_range(self.params)
        a, b = lo / self.y_scale, hi / self.y_scale
        return (min(a, b), max(a, b))

    @property
    def init_gain(self) -> float:
        """Gain of the initial weight variance, ``gain / fan-in``: 2/(1 + a^2) for the rectifiers
        relu (a = 0) and leaky_relu (He et al. 2015), 1 otherwise (LeCun et al. 1998), fitted
        activations included (their slope is normalised by ``x_scale`` and ``y_scale``)."""
        return float(self._unit.init_gain(self.params)) if not self.is_fitted else 1.0

    def to_torch(self, dtype: Any = None) -> Any:
        """This activation as a parameter-free ``torch.nn.Module`` computing g(z) elementwise.

        Forward is :meth:`__call__` and backward multiplies by the analytic :meth:`derivative`
        (a ``torch.autograd.Function``; :mod:`biorate._torch`), both in float64 through NumPy on
        the CPU: at float64 the values are this activation's own, bit for bit. Supported: any
        device (the tensor is copied to the CPU and back: exact, but a host round trip per call
        on a GPU); any floating dtype (float16 and bfloat16 too), integers; the output has
        ``dtype`` if given (a floating ``torch.dtype``), else the input's, the gradient the
        input's. Not supported: double backward (second derivatives raise a RuntimeError),
        ``torch.compile`` graphs (a graph break), TorchScript and ``torch.func`` transforms.
        Kinks (relu at 0, lif at threshold) take :meth:`derivative`'s convention there.

        Needs PyTorch (``pip install biorate[torch]``); without it :class:`TorchMissingError`.
        Units whose parameters a network learns (prelu, swish_learned) or whose maximum it takes
        over pieces (maxout) are not one fixed elementwise function: :class:`BiorateError`.
        """
        if self.learned or self.pieces > 1:
            what = (f"learns its {', '.join(self.learned)} per unit" if self.learned
                    else "takes the maximum over pieces of its projection")  # fmt: skip
            raise BiorateError(f"{self.name}: to_torch gives one fixed elementwise function, but "
                               f"{self.form} {what} in a network (torch.nn has PReLU; build "
                               "maxout or a learned swish from its layers)")  # fmt: skip
        try:
            from ._torch import ActivationModule
        except ModuleNotFoundError as exc:
            if exc.name != "torch":
                raise
            raise TorchMissingError(
                "Activation.to_torch needs PyTorch, which is not installed: pip install biorate[torch]"
            ) from None
        return ActivationModule(self, dtype)

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The activation JSON of DESIGN.md (plus ``name`` and ``param_units``)."""
        return {
            "kind": "activation",
            "schema": SCHEMA,
            "name": self.name,
            "form": self.form,
            "params": dict(self.params),
            "param_units": self.param_units(),
            "x_unit": self.x_unit,
            "y_unit": self.y_unit,
            "x_scale": self.x_scale,
            "x_offset": self.x_offset,
            "y_scale": self.y_scale,
            "fit": self.fit,
            "source": self.source,
        } | ({"expression": self.expression} if self.expression else {})

    @classmethod
    def from_dict(cls, d: dict, where: str = "activation") -> Activation:
        """Inverse of :meth:`to_dict`, checked field by field (by the constructor's checks, and
        ``param_units`` against the form's): a malformed dict raises :class:`CurveFileError`
        naming ``where`` (the file) and the field. An absent scale or unit takes its default."""
        f = file_fields(d, where, cls.KIND, "an activation", _FIELDS)
        try:
            act = cls(**{"form": None, **{k: d[k] for k in _ATTRS if k in d}})
        except (CurveFileError, UnknownActivationError) as exc:  # the checks of one built in code
            raise CurveFileError(f"{where}: {str(exc).removeprefix('activation: ')}") from None
        check_param_units(f, act)
        return act

    @classmethod
    def load(cls, path: str | os.PathLike) -> Activation:
        """Read a file written by :meth:`save`; errors name the file and the field."""
        return cls.from_dict(read_json(path, kind=cls.KIND), str(path))

    @classmethod
    def builtin(cls, name: str, **params: float) -> Activation:
        """A built-in activation (``Activation.builtin("leaky_relu", alpha=0.1)``)."""
        if name not in BUILTINS:
            raise UnknownActivationError(
                f"unknown built-in activation {name!r}; built-ins: {', '.join(BUILTINS)}"
            )
        return cls(form=name, params=params)


def get_activation(spec: str | os.PathLike | Activation) -> Activation:
    """An :class:`Activation` from a built-in name (``"sigmoid"``), a path to an activation JSON, or
    the name of a fitted activation in ``models/activations/`` (``"lif_noise"``; user folders named
    by ``$BIORATE_MODELS`` are searched first, as for models).

    Raises :class:`UnknownActivationError` (a :class:`FitError`) for an unknown name, and
    :class:`CurveFileError` for a malformed file.
    """
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str | os.PathLike):
        raise UnknownActivationError(
            f"activation must be a name, a path or an Activation, got {type(spec).__name__}"
        )
    text = os.fspath(spec)
    path = Path(text)
    if text.endswith(".npz"):  # a network file read as JSON gave a UTF-8 decode error
        raise UnknownActivationError(f"{text} is a network file (.npz), not an activation JSON; "
                                     "give the activation JSON the network was trained with, or "
                                     "its name (biorate fit -o writes one)")  # fmt: skip
    if text.endswith(".json") or os.sep in text or (os.altsep and os.altsep in text):
        if not os.path.lexists(text):  # a folder, FIFO, device or loop: the reader says which
            raise UnknownActivationError(f"activation file {text} does not exist")
        return Activation.load(path)
    if text in BUILTINS:
        return Activation.builtin(text)
    for d in _activation_dirs():
        candidate = d / f"{text}.json"
        if path_is(candidate, "file"):
            return Activation.load(candidate)
    if path_is(path, "file") or is_loop(path):  # (a loop: the reader says so)
        return Activation.load(path)
    raise UnknownActivationError(
        f"unknown activation {text!r}; choose one of {', '.join(list_activations())} "
        f"or give the path to an activation JSON"
    )
