"""The checks of an :class:`~biorate.activation.Activation`: one path for an activation file and for
one built in code. Each field is checked as :mod:`biorate.schema` checks a file's (a string where
a number belongs is refused, never converted), then the whole: the parameters against the form,
the units against the curve it was fitted to, and the domain in which a fitted activation is a
usable function of z for a network (:func:`check_shape`). Every refusal is a
:class:`~biorate.errors.CurveFileError` naming the field. NumPy only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._activation_builtins import BUILTINS, UnknownActivationError
from ._unit_convert import MaskedEntry, asarray_unmasked
from .curve import MEASURES, check_axes, check_model, check_protocol, plain_table, unit_field
from .errors import BiorateError, DataError
from .forms import FORMS
from .forms.expression import Expr, ExpressionError, check, parse
from .models import MAX_CURRENT
from .schema import Fields, describe
from .units import CURRENT, DIMENSIONLESS, Dim, dim_name, parse_unit

__all__ = ["MAX_MAGNITUDE", "MIN_SCALE", "WINDOW", "MAX_VALUE", "MIN_RISE", "MAX_SCALE_RATIO",
           "MAX_STEP_SHARE",
           "check_fields", "check_param_units", "check_shape"]  # fmt: skip

# the largest magnitude of a scale, offset or parameter, and the smallest of a scale: a network
# computes x_offset + x_scale*z and f'(x)*x_scale/y_scale for |z| up to 1e6, which must stay far
# from a float's 1.8e308 (SI values of currents, rates and times are within 1e-30..1e30)
MAX_MAGNITUDE = 1e100
MIN_SCALE = 1e-100

# A fitted activation must be a usable function of z: over z in [-WINDOW, WINDOW] (where a
# network's pre-activations live; a fit's scaling puts the curve's rise at z in [-1, 1]) and over
# the fitted inputs (fit.z_range), g(z) stays within ±MAX_VALUE and changes by at least MIN_RISE
# (not constant); and a saturating curve is seen at most MAX_SCALE_RATIO times coarser than its
# fit's scaling (x_scale against the form's own width), or g(z) is a step whose gradient is 0
# almost everywhere. A fit's own scaling passes all three for any parameters its bounds allow.
WINDOW = 10.0
MAX_VALUE = 1e6
MIN_RISE = 1e-6
MAX_SCALE_RATIO = 100.0
# the share of g's rise one step of z (0.01) may hold before g counts as a step (see _check_slope)
MAX_STEP_SHARE = 0.9
_PROBES = 2001
FORMULA = "formula"  # the form of an activation given by an expression (biorate.forms.expression)

# fields of ``fit`` that code reads back (flags, ok, z_range: network, deploy, plots)
_FIT_NUMBERS = ("r2", "rmse", "chi2", "redchi", "aic", "aicc", "bic")


def number(f: Fields, key: str) -> float:
    """A finite number of magnitude at most :data:`MAX_MAGNITUDE` (null is refused, not missing)."""
    if key in f.data and f.data[key] is None:
        raise f.fail(key, "expected a finite number, found null")
    v = f.number(key)
    if abs(v) > MAX_MAGNITUDE:
        raise f.fail(key, f"{v:g} is out of range: its magnitude must be at most "
                          f"{MAX_MAGNITUDE:g} (a network computing with it would overflow a float)")  # fmt: skip
    return v


def check_fields(f: Fields) -> dict[str, Any]:
    """Every field of an activation, checked: ``{form, params, fitted, x_scale, x_offset, y_scale,
    x_unit, y_unit, fit, source, name}`` (``fitted``: a form of :data:`~biorate.forms.FORMS` with
    its full parameter set, else a built-in)."""
    form = f.text("form")
    expression, formula = _formula(f, form)
    params, fitted = ({}, False) if formula else _params(f, form)
    out: dict[str, Any] = {"form": form, "params": params, "fitted": fitted,
                           "expression": expression, "formula": formula}  # fmt: skip
    for key in ("x_scale", "x_offset", "y_scale"):
        out[key] = number(f, key)
    if out["x_scale"] <= 0:
        raise f.fail("x_scale", f"{out['x_scale']:g} must be positive: it is the size of one "
                                "unit of z in the curve's x (a fit's width is positive)")  # fmt: skip
    for key in ("x_scale", "y_scale"):  # y_scale < 0: a fitted r_max < 0 (a falling curve)
        if out[key] == 0:
            raise f.fail(key, "must be non-zero")
        if abs(out[key]) < MIN_SCALE:
            raise f.fail(key, f"{out[key]:g} is out of range: its magnitude must be at least "
                              f"{MIN_SCALE:g}")  # fmt: skip
    dims = {}
    for key in ("x_unit", "y_unit"):
        out[key], _, dims[key] = unit_field(f, key, "1")
    if dims["x_unit"] == CURRENT:  # the rule for every current: within +-1 A (models.MAX_CURRENT)
        si = parse_unit(out["x_unit"])[0]
        for key in ("x_offset", "x_scale"):
            if abs(out[key] * si) > MAX_CURRENT:
                raise f.fail(key, f"{out[key]:g} {out['x_unit']} is beyond +-{MAX_CURRENT:g} A: a "
                                  "neuron's input current is nA; is the unit right?")  # fmt: skip
    out["fit"] = _fit(f)
    out["source"] = _source(f, dims)
    out["name"] = f.text("name", "", nonempty=False) or form
    if not out["name"].isprintable() or len(out["name"]) > 200:
        raise f.fail(
            "name", f"{out['name'][:40]!r} is not a printable name of at most 200 characters"
        )
    return out


def _formula(f: Fields, form: str) -> tuple[str, FormulaUnit | None]:
    """A ``"formula"`` activation's expression, parsed and checked as a search checks a candidate
    (:func:`biorate.forms.expression.check`), in canonical form; it takes no ``params``. Any other
    form has no expression."""
    if form != FORMULA:
        given = f.data.get("expression") if f.has("expression") else ""
        if not (isinstance(given, str) and given == ""):  # (an array's != is no truth value)
            raise f.fail("expression", f"only a formula activation (form {FORMULA!r}) has an "
                                       f"expression; this one's form is {form!r}")  # fmt: skip
        return "", None
    given = f.data.get("expression")
    if given is None or (isinstance(given, str) and given == ""):  # the constructor's default
        raise f.error(f"{f.where}: field 'expression' is missing: a formula activation gives g(z) "
                      'as an expression of x, e.g. "x * sigmoid(x)"')  # fmt: skip
    text = f.text("expression")
    try:
        expr = parse(text)
    except ExpressionError as exc:
        raise f.fail("expression", str(exc)) from None
    if reason := check(expr):
        raise f.fail("expression", f"{str(expr)[:80]} is no usable activation: {reason}")
    if f.table("params", {}).data:
        raise f.fail(
            "params", "a formula takes no parameters (its constants are in its expression)"
        )
    return str(expr), FormulaUnit(expr)


def _params(f: Fields, form_name: str) -> tuple[dict[str, float], bool]:
    table = f.table("params", {})
    for k in table.data:
        if not (isinstance(k, str) and k.isidentifier() and len(k) <= 40):
            raise f.fail("params", f"parameter name {str(k)[:40]!r} is not a name")
    values = {k: number(table, k) for k in table.data}
    form, builtin = FORMS.get(form_name), BUILTINS.get(form_name)
    if form is None and builtin is None:
        raise UnknownActivationError(
            f"unknown activation form {form_name!r}; built-ins: {', '.join(BUILTINS)}; "
            f"fitted forms: {', '.join(FORMS)}; or {FORMULA!r} with an expression"
        )
    if form is not None and set(values) == set(form.params):
        if problem := form.check_params(values):
            raise f.fail("params", problem)
        return values, True
    takes = (
        f"the built-in {form_name} takes {', '.join(builtin.defaults) or 'none'}" if builtin else ""
    )
    if builtin is not None and set(values) <= set(builtin.defaults):
        for k, (lo, hi) in builtin.domains.items():
            if k in values:
                table.number(k, lo=lo, hi=hi)
                if k in builtin.integers and not float(values[k]).is_integer():
                    raise f.fail("params", f"{k} = {values[k]!r} must be a whole number")
        return {**builtin.defaults, **values}, False
    if form is None:
        extra = sorted(set(values) - set(builtin.defaults))
        raise f.fail("params", f"unknown parameter(s) {', '.join(extra)}; {takes}")
    missing = [k for k in form.params if k not in values]
    extra = sorted(set(values) - set(form.params))
    problems = ([f"missing parameter(s) {', '.join(missing)}"] if missing else []) + (
        [f"unknown parameter(s) {', '.join(extra)}"] if extra else [])  # fmt: skip
    takes = f"a fitted {form_name} takes {', '.join(form.params)}" + (f"; {takes}" if takes else "")
    raise f.fail("params", f"{' and '.join(problems)}: {takes}")


def _fit(f: Fields) -> dict | None:
    if not f.has("fit"):
        return None
    fit = f.table("fit")
    for key in _FIT_NUMBERS:
        fit.number(key, None)
    fit.integer("n", None, lo=0)
    fit.flag("ok", None)
    fit.flag("weighted", None)
    fit.strings("flags", None)
    z = fit.numbers("z_range", None, length=2)
    if z is not None and np.max(np.abs(z)) > 1e6:
        raise fit.fail("z_range", f"{z.tolist()} is out of range: must lie within ±1e6")
    fit.table("stderr", None)
    return plain_table(f, "fit")


def _source(f: Fields, dims: dict[str, Dim]) -> dict | None:
    """The curve the activation was fitted to (measure, model, protocol, provenance), checked as
    a curve file's fields are; with a measure, the activation's units must suit that curve."""
    if not f.has("source"):
        return None
    src = f.table("source")
    if src.has("measure"):
        check_axes(f, src.text("measure", choices=MEASURES), dims)
    check_model(src)
    check_protocol(src)
    plain_table(src, "provenance")
    return plain_table(f, "source")


def check_param_units(f: Fields, act: Any) -> None:
    """A file's ``param_units`` (derived, so optional): each a unit of the dimension and size the
    form gives that parameter for the activation's x and y units (``x_half`` of an f-I curve in
    A: "nA" or "V" is refused; a built-in's parameters are unit-free, "1")."""
    if not f.has("param_units"):
        return
    table, params, x_unit, y_unit = f.table("param_units"), act.params, act.x_unit, act.y_unit
    form = FORMS[act.form] if act.is_fitted else None
    (xs, xd), (ys, yd) = parse_unit(x_unit), parse_unit(y_unit)
    kinds = dict(zip(form.params, form.kinds, strict=True)) if form else dict.fromkeys(params, "1")
    expect = {"x": (xs, xd), "y": (ys, yd), "1": (1.0, DIMENSIONLESS),
              "y/x": (ys / xs, tuple(a - b for a, b in zip(yd, xd, strict=True))),
              "1/y": (1 / ys, tuple(-a for a in yd))}  # fmt: skip
    if set(table.data) != set(params):
        raise f.fail("param_units", f"names {', '.join(sorted(map(str, table.data))) or 'none'}; "
                                    f"the parameters are {', '.join(params) or 'none'}")  # fmt: skip
    for name, kind in kinds.items():
        text, scale, dim = unit_field(table, name)
        want_scale, want_dim = expect[kind]
        if dim != want_dim or not np.isclose(scale, want_scale, rtol=1e-9, atol=0):
            unit = form.units(x_unit, y_unit)[name] if form else "1"  # (as the writer has it)
            raise table.fail(name, f"{text!r} does not match the parameter's unit {unit!r} ("
                                   f"{dim_name(want_dim)}, for x in {x_unit!r} and y in "
                                   f"{y_unit!r})")  # fmt: skip


def check_shape(f: Fields, act: Any) -> None:
    """Refuse a fitted activation that is no usable function of z (see :data:`WINDOW`): values
    beyond ±:data:`MAX_VALUE` (``y_scale`` far below the curve's rise), constant (``r_max = 0``,
    ``y_scale`` far above the rise, or ``x_offset``/``x_scale`` placing the window where the curve
    is flat) or a step (``x_scale`` more than :data:`MAX_SCALE_RATIO` times the curve's own
    width), naming the field at fault."""
    z_fit = (act.fit or {}).get("z_range")
    lo, hi = (min(-WINDOW, *z_fit), max(WINDOW, *z_fit)) if z_fit else (-WINDOW, WINDOW)
    z = np.linspace(lo, hi, _PROBES)
    with np.errstate(all="ignore"):
        g = act(z)
    span = f"z in [{lo:.3g}, {hi:.3g}]"
    c_off, c_scale, c_y = FORMS[act.form].canonical(act.params, None)
    xu, yu = act.x_unit, act.y_unit
    if not np.all(np.isfinite(g)) or np.max(np.abs(g)) > MAX_VALUE:
        top = np.max(np.abs(g))
        raise f.fail("y_scale", f"{act.y_scale:.3g} {yu} makes g(z) reach {top:.3g} over {span}, "
                                f"beyond ±{MAX_VALUE:g}: y_scale is the rate that g = 1 stands for, "
                                f"of the order of the curve's rise (a fit's: {c_y:.3g} {yu})")  # fmt: skip
    r0 = act.params.get("r0", 0.0)
    if abs(r0) > MAX_VALUE * abs(act.y_scale):
        raise f.fail("params", f"r0 = {r0:.3g} {yu} is {abs(r0 / act.y_scale):.3g} times y_scale "
                               f"({act.y_scale:.3g} {yu}): the rate y = r0 + y_scale*g a unit "
                               f"stands for must stay within ±{MAX_VALUE:g} y_scale, as g does "
                               f"(a fit's r0 is near the curve's lowest rate)")  # fmt: skip
    rise = float(np.max(g) - np.min(g))
    if rise < MIN_RISE:
        b_lo, b_hi = act.bounds
        if b_hi - b_lo < MIN_RISE:
            zero = [k for k in ("r_max", "gain") if act.params.get(k) == 0]
            if zero:
                raise f.fail("params", f"{zero[0]} = 0 makes the activation constant (g = 0)")
            raise f.fail("y_scale", f"{act.y_scale:.3g} {yu} is so far above the curve's whole "
                                    f"rise that g(z) changes by {b_hi - b_lo:.3g} at most: the "
                                    f"activation is constant (a fit's: {c_y:.3g} {yu})")  # fmt: skip
        key = "x_scale" if abs(act.x_scale) < 1e-3 * abs(c_scale) else "x_offset"
        x0, x1 = act.to_x(np.array([lo, hi]))
        raise f.fail(key, f"x_offset = {act.x_offset:.3g} {xu} and x_scale = {act.x_scale:.3g} {xu} "
                          f"put {span} at x in [{x0:.3g}, {x1:.3g}] {xu}, where the curve is "
                          f"flat (g changes by {rise:.3g}): the activation is constant there (a "
                          f"fit's: x_offset = {c_off:.3g} {xu}, x_scale = {c_scale:.3g} {xu})")  # fmt: skip
    _check_slope(f, act)
    form = FORMS[act.form]
    ratio = abs(act.x_scale / c_scale) if c_scale else 0.0
    if (form.saturating or form.ceiling is not None) and ratio > MAX_SCALE_RATIO:
        raise f.fail("x_scale", f"{act.x_scale:.3g} {xu} is {ratio:.3g} times the x range over "
                                f"which the curve rises ({c_scale:.3g} {xu}, a fit's x_scale): "
                                f"g(z) is a step, its whole rise within |z| < {2 / ratio:.2g}; "
                                f"x_scale may be at most {MAX_SCALE_RATIO:g} times that")  # fmt: skip


def _check_slope(f: Fields, act: Any) -> None:
    """Refuse a g(z) that is a step or has no usable slope, whatever parameter makes it so (Hill's
    n = 1e99, soft_lif's gamma = 1e-300, ...), from the function itself on z in [-WINDOW, WINDOW]
    (:data:`_PROBES` points, 0.01 apart): g' (analytic) must be finite and within ±MAX_VALUE, and
    no step of the grid may hold more than :data:`MAX_STEP_SHARE` of g's whole rise there (a
    sigmoid seen MAX_SCALE_RATIO times too coarsely holds 25 %; a step holds all of it)."""
    z = np.linspace(-WINDOW, WINDOW, _PROBES)
    with np.errstate(all="ignore"):
        g, dg = act(z), act.derivative(z)
    span = f"z in [{-WINDOW:g}, {WINDOW:g}]"
    bad = ~np.isfinite(dg) | (np.abs(dg) > MAX_VALUE)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise f.fail("params", f"g'(z) reaches {dg[i]:.3g} at z = {z[i]:.3g} (beyond ±{MAX_VALUE:g}):"
                               f" the parameters {_shown(act.params)} make the activation a step "
                               f"that no gradient can train through")  # fmt: skip
    rise = float(np.max(g) - np.min(g))
    jumps = np.abs(np.diff(g))
    i = int(np.argmax(jumps))
    if rise > 0 and jumps[i] > MAX_STEP_SHARE * rise:
        raise f.fail("params", f"g(z) changes by {jumps[i] / rise:.0%} of its whole rise over "
                               f"{span} between z = {z[i]:.3g} and {z[i + 1]:.3g}: the parameters "
                               f"{_shown(act.params)} make the activation a step (its gradient is "
                               f"0 almost everywhere)")  # fmt: skip


def _shown(params: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:.3g}" for k, v in params.items())


class FormulaUnit:
    """A formula as :class:`~biorate.activation.Activation` uses a built-in: value, derivative,
    range (unknown in general: (-inf, inf)) and initial weight gain (1, LeCun's)."""

    learned: tuple[str, ...] = ()  # nothing learned per unit, no pieces (see Activation.learned)
    param_grads: dict = {}  # (read only)

    def __init__(self, expr: Expr) -> None:
        self.expr = expr

    def fn(self, z: np.ndarray, **_: float) -> np.ndarray:
        return self.expr(z)

    def grad(self, z: np.ndarray, **_: float) -> np.ndarray:
        return self.expr.derivative(z)

    def pieces(self, params: dict) -> int:
        return 1

    def range(self, params: dict) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def init_gain(self, params: dict) -> float:
        return 1.0


def check_learned(name: str, allowed: tuple[str, ...], learned: dict, shape: tuple) -> dict:
    """Per-unit values of learned parameters (PReLU's ``alpha``, ...) given to an activation
    ``name`` for inputs of ``shape``: each a parameter it learns, finite real numbers (no strings,
    None, NaN) that broadcast against the inputs (one value per unit); :class:`DataError`
    naming the parameter otherwise."""
    if unknown := set(learned) - set(allowed):
        raise BiorateError(f"{name}: {', '.join(sorted(unknown))} is not a learned parameter "
                           f"(learned: {', '.join(allowed) or 'none'})")  # fmt: skip
    out = {}
    for key, value in learned.items():
        arr = real_array(value, key)
        if not np.all(np.isfinite(arr)):
            raise DataError(f"{name}: {key} holds NaN or inf")
        try:
            fits = np.broadcast_shapes(arr.shape, shape) == tuple(shape)
        except ValueError:
            fits = False
        if not fits:
            raise DataError(f"{name}: {key} has shape {arr.shape}, which does not broadcast "
                            f"to z's shape {tuple(shape)} (one value per unit)")  # fmt: skip
        out[key] = arr
    return out


def real_array(z: Any, what: str = "z") -> np.ndarray:
    """``z`` as a float array; :class:`DataError` for complex numbers (NumPy would drop the
    imaginary part with a warning) and for what is not numbers: None (NumPy makes it NaN),
    booleans, strings (``"1"`` is refused, never converted: the rule of the file fields) and
    objects, and masked values (it would compute on the hidden ones, or NumPy's NaN)."""
    if isinstance(z, np.ma.MaskedArray) and np.ma.count_masked(z):
        raise DataError(f"an activation takes numbers; {what} is a masked array with "
                        f"{np.ma.count_masked(z)} masked value(s): fill or drop them")  # fmt: skip
    try:
        arr = asarray_unmasked(np.ma.getdata(z) if isinstance(z, np.ma.MaskedArray) else z)
    except MaskedEntry:
        raise DataError(f"an activation takes numbers; {what} holds numpy.ma.masked") from None
    except (TypeError, ValueError):
        raise DataError(f"an activation takes numbers, got {describe(z)}") from None
    if np.iscomplexobj(arr):
        raise DataError(f"an activation takes real numbers; {what} is complex")
    if arr.dtype.kind not in "iuf":
        kind = {"b": "booleans", "U": "strings", "S": "bytes"}.get(arr.dtype.kind)
        shown = kind or (_first_odd(arr) if arr.dtype.kind == "O" else describe(z))
        raise DataError(f"an activation takes numbers, got {shown} (as {what})")
    return arr.astype(float, copy=False)


def _first_odd(arr: np.ndarray) -> str:
    """What an object array holds that is not a number (None, a string...)."""
    for v in arr.flat:
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.number):
            return "None" if v is None else describe(v)
    return "objects"
