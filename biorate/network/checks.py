"""Checks of what a user hands a network: constructor arguments, the activation, and data.

Every check raises :class:`~biorate.errors.NetworkError` (arguments) or
:class:`~biorate.errors.DataError` (data) with a message that names the value.
"""

from __future__ import annotations

import math
import operator
import warnings
from typing import Any

import numpy as np

from .._unit_convert import MaskedEntry, asarray_unmasked
from ..activation import Activation, get_activation
from ..errors import BiorateError, BiorateWarning, DataError, NetworkError
from ..schema import is_real, short

__all__ = ["FlaggedActivationWarning", "whole", "integer", "real", "flag", "pair", "choice", "TRAINING_MODES",
           "population_sizes", "resolve_activation",
           "warn_if_flagged", "check_numbers", "estimate_memory", "check_dynamics", "check_X", "check_y",
           "plain_array", "MAX_INPUT", "MIN_INPUT"]  # fmt: skip


class FlaggedActivationWarning(BiorateWarning):
    """A network is built on an activation exported from a fit flagged as poor."""


def whole(v: Any, name: str) -> int:
    """An integer given as an int or a whole float (64, 64.0); a bool, 2.5 or NaN is refused."""
    if isinstance(v, bool | np.bool_):
        raise NetworkError(f"{name} must be whole numbers, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        pass
    if isinstance(v, float | np.floating) and math.isfinite(v) and float(v).is_integer():
        return int(v)
    raise NetworkError(f"{name} must be whole numbers, got {v!r}")


def integer(v: Any, name: str, lo: int | None = None, *, none: bool = False) -> int | None:
    """A whole number (``None`` too with ``none``) >= ``lo``: 2.5, ``"3"`` and ``True`` are refused,
    never truncated."""
    if v is None and none:
        return None
    try:
        n = whole(v, name)
    except NetworkError:
        raise NetworkError(f"{name} must be a whole number{'' if lo is None else f' >= {lo}'}"
                           f"{' or None' if none else ''}, got {v!r}") from None  # fmt: skip
    if lo is not None and n < lo:
        raise NetworkError(f"{name} must be >= {lo}{' or None' if none else ''}, got {n}")
    return n


def real(v: Any, name: str, *, none: bool = False) -> float | None:
    """A real number as a float (``None`` too with ``none``); a string, bool or list is refused."""
    if v is None and none:
        return None
    if not is_real(v):
        raise NetworkError(f"{name} must be a number{' or None' if none else ''}, got {v!r}")
    try:
        return float(v)
    except OverflowError:  # an int beyond float's range
        raise NetworkError(f"{name} must be a finite number, got a huge integer") from None


def flag(v: Any, name: str) -> bool:
    """True or False (NumPy's bools too); ``"yes"`` or 1 are refused."""
    if not isinstance(v, bool | np.bool_):
        raise NetworkError(f"{name} must be True or False, got {v!r}")
    return bool(v)


TRAINING_MODES = ("bptt", "fixed_point")


def choice(v: Any, name: str, choices: tuple[str, ...]) -> str:
    """``v`` when it is one of the strings ``choices``, else :class:`NetworkError` (an array or a
    list is refused by name here, not by a comparison or a lookup that cannot take it)."""
    if not isinstance(v, str) or v not in choices:
        raise NetworkError(f"unknown {name} {short(v)}: {name} must be one of "
                           f"{', '.join(map(repr, choices))}")  # fmt: skip
    return v


def pair(v: Any, name: str) -> tuple[float, float]:
    """Two real numbers, e.g. ``targets=(0.15, 0.85)``."""
    if (
        isinstance(v, str | bytes)
        or not hasattr(v, "__len__")
        or getattr(v, "ndim", 1) != 1
        or len(v) != 2
    ):
        raise NetworkError(f"{name} must be two numbers (low, high), got {short(v)}")
    return real(v[0], name), real(v[1], name)  # type: ignore[return-value]


def population_sizes(sizes: Any) -> list[int]:
    """``sizes`` as a list of >= 2 positive integers."""
    try:  # a 0-d array has __iter__ but cannot be iterated
        items = None if isinstance(sizes, str | bytes) else list(sizes)
    except TypeError:
        items = None
    if items is None:
        raise NetworkError(f"sizes must list population sizes, e.g. [64, 64, 10], got {sizes!r}")
    if any(
        s is np.ma.masked or (isinstance(s, np.ma.MaskedArray) and np.ma.getmaskarray(s).any())
        for s in items
    ):  # fmt: skip  (a masked size would build a layer of its hidden value)
        raise NetworkError(f"sizes must list population sizes; masked values are not sizes, got "
                           f"{short(items)}")  # fmt: skip
    out = [whole(s, "sizes") for s in items]
    if len(out) < 2 or any(s < 1 for s in out):
        raise NetworkError(f"sizes must list >= 2 positive population sizes, got {items}")
    return out


def resolve_activation(spec: Any) -> Any:
    """An object with ``__call__``, ``derivative`` and ``bounds`` is used as is; names, paths and
    dicts go through :mod:`biorate.activation`."""
    if callable(spec) and hasattr(spec, "derivative") and hasattr(spec, "bounds"):
        return spec
    try:
        if isinstance(spec, dict):
            return Activation.from_dict(spec)
        return get_activation(spec)
    except NetworkError:
        raise
    except BiorateError as exc:
        raise NetworkError(str(exc)) from exc


def warn_if_still(net: Any) -> None:
    """Warn when BPTT unrolls too few steps of too slow dynamics for the state to move: from rest
    it reaches at most ``1 - (1 - alpha)^steps`` of its target (under 10 %: the output barely
    responds, and training fits noise)."""
    if net.has_feedback and net.training == "bptt":
        reach = 1.0 - (1.0 - net.alpha) ** net.steps
        if reach < 0.1:
            warnings.warn(f"with alpha = {net.alpha:g} and steps = {net.steps} the state moves at "
                          f"most {reach:.2g} of the way from rest to its target: raise steps or "
                          "alpha (or train at the fixed point)", BiorateWarning, stacklevel=3)  # fmt: skip


def warn_if_flagged(act: Any) -> None:
    """Warn (:class:`FlaggedActivationWarning`) when training starts on an activation that records
    a fit flagged as poor (``Activation.fit_ok`` false, as the fit report and ``biorate fit`` call
    it)."""
    if getattr(act, "fit_ok", True) is not False:
        return
    flags = ", ".join(getattr(act, "fit_flags", ())) or "flagged"
    warnings.warn(f"activation {getattr(act, 'name', act)!r} comes from a fit flagged as poor "
                  f"({flags}); the network learns with a curve its data do not support",
                  FlaggedActivationWarning, stacklevel=3)  # fmt: skip


# the largest initial weight std and derivative offset accepted: far beyond any useful value
# (LeCun's 1/sqrt(fan-in) is ~0.1, the naive 1.0, Fahlman's offset 0.1), far below overflow
MAX_INIT_STD = 100.0
MAX_DERIVATIVE_OFFSET = 10.0
MAX_L2 = 10.0


def check_numbers(net: Any) -> None:
    """Batch size, validation fraction, finite coefficients, patience, tol, init_std."""
    if net.training_batch_size < 1:
        raise NetworkError(f"batch_size must be >= 1, got {net.training_batch_size}")
    if not 0 <= net.validation_fraction < 1:
        raise NetworkError(f"validation_fraction must be in [0, 1), got {net.validation_fraction}")
    for name in ("l2", "derivative_offset", "tol", "momentum", "alpha"):
        if not math.isfinite(getattr(net, name)):
            raise NetworkError(f"{name} must be a finite number, got {getattr(net, name)}")
    if not all(math.isfinite(t) for t in net.targets):
        raise NetworkError(f"targets must be finite numbers, got {net.targets}")
    if net.l2 < 0 or net.derivative_offset < 0:
        raise NetworkError("l2 and derivative_offset must be >= 0")
    if net.l2 > MAX_L2:
        raise NetworkError(f"l2 must be in [0, {MAX_L2:g}], got {net.l2:g} (a penalty that "
                           "large only shrinks the weights to 0; 1e-4 is the default)")  # fmt: skip
    if net.patience is not None and net.patience < 1:
        raise NetworkError(f"patience must be >= 1 epoch or None, got {net.patience}")
    if not net.tol >= 0:
        raise NetworkError(f"tol must be >= 0, got {net.tol}")
    if net.early_stopping and net.validation_fraction == 0:
        raise NetworkError("early_stopping monitors a validation set: "
                           "set validation_fraction > 0 (scikit-learn uses 0.1)")  # fmt: skip
    if net.init_std is not None and not 0 < net.init_std <= MAX_INIT_STD:
        raise NetworkError(f"init_std must be a positive number up to {MAX_INIT_STD:g} or None, "
                           f"got {net.init_std:g} (weights of that scale saturate every unit and "
                           "overflow; 1.0 is already the naive choice)")  # fmt: skip
    if net.derivative_offset > MAX_DERIVATIVE_OFFSET:
        raise NetworkError(f"derivative_offset must be in [0, {MAX_DERIVATIVE_OFFSET:g}], got "
                           f"{net.derivative_offset:g} (Fahlman's offset is 0.1: an offset "
                           "far above g' is a different gradient, not a mitigation)")  # fmt: skip
    if not 0 <= net.momentum < 1:
        raise NetworkError(f"momentum must be in [0, 1), got {net.momentum:g}")


# the smallest alpha = dt/tau of the rate dynamics: below it (1 - alpha)*h rounds to h in float32
# and the state never leaves rest (alpha = 1e-320 trained to chance and reported "converged"); a
# fixed point does not depend on alpha, BPTT's state moves by at most alpha*steps (fit warns when
# that is small)
MIN_ALPHA = 1e-6
# the fixed point's tolerance floor: a residual below ~1e-16 (float64 eps times the state's scale)
# is rounding noise, so a smaller tol could never be met and every solve would run max_iter steps
MIN_FIXED_POINT_TOL = 1e-16
MIN_FIXED_POINT_TOL_32 = 1e-6  # float32: eps 1.2e-7 (the default tol, 1e-6, is this floor)


# the most time steps T a network may name (an acyclic graph does not use them, but keeps them in
# its file; a graph with feedback unrolled this far is refused by its memory estimate first)
MAX_STEPS = 1_000_000


def check_dynamics(net: Any, has_feedback: bool) -> None:
    """Time steps and alpha (in their domains for every graph: an acyclic one does not use them
    but keeps them in its file), and targets that suit the loss."""
    used = "" if has_feedback else " (used by graphs with feedback)"
    if net.steps < 1:
        raise NetworkError(f"a graph with feedback needs steps >= 1 (T), got {net.steps}"
                           if has_feedback else f"steps must be >= 1 (T){used}, got {net.steps}")  # fmt: skip
    if net.steps > MAX_STEPS:
        raise NetworkError(f"steps (T) must be at most {MAX_STEPS:,}{used}, got {net.steps}"[:200])
    if not MIN_ALPHA <= net.alpha <= 1:
        raise NetworkError(f"alpha = dt/tau must be in [{MIN_ALPHA:g}, 1]{used}, got "
                           f"{net.alpha:g} (below it the state rounds back to rest at every "
                           "step)")  # fmt: skip
    lo, hi = net.targets
    if not lo < hi:
        raise NetworkError(f"targets (low, high) need low < high, got {net.targets}: the "
                           "target of the true class must exceed the others'")  # fmt: skip
    if net.loss == "softmax_ce" and (lo, hi) != (0.0, 1.0):
        raise NetworkError("targets apply to sigmoid_ce and squared_error; softmax_ce needs (0, 1)")
    if net.loss == "sigmoid_ce" and not 0 <= lo < hi <= 1:
        raise NetworkError(
            f"sigmoid_ce targets must satisfy 0 <= low < high <= 1, got {net.targets}"
        )


MAX_FIXED_POINT_TOL = 1e-2


def check_training(net: Any, max_steps: int) -> None:
    """The fixed point's convergence test (tolerance, steps, loop gain); the training mode is
    checked with the other string options (:func:`choice`)."""
    floor = MIN_FIXED_POINT_TOL if net.dtype == "float64" else MIN_FIXED_POINT_TOL_32
    if not floor <= net.fixed_point_tol <= MAX_FIXED_POINT_TOL:
        raise NetworkError(f"fixed_point_tol must be from {floor:g} (rounding noise of "
                           f"{net.dtype}) to {MAX_FIXED_POINT_TOL:g} (activities are fractions of "
                           f"the top rate: a looser test takes a state far from the fixed point "
                           f"for it), got {net.fixed_point_tol:g}")  # fmt: skip
    if net.fixed_point_max_iter > max_steps:
        raise NetworkError(f"fixed_point_max_iter must be at most {max_steps:,}, got "
                           f"{net.fixed_point_max_iter:,}")  # fmt: skip
    if not 0 < net.max_loop_gain < 1:
        raise NetworkError(f"max_loop_gain must be in (0, 1), got {net.max_loop_gain:g}")


def estimate_memory(net: Any, rows: int = 0) -> tuple[int, str, str]:
    """Bytes a network needs, what needs them and how to need less: its parameters about six times
    (value, gradient, two Adam moments, step, a temporary), its ``k x k`` target table, and with
    ``rows`` samples in a batch the states the dynamics keep for backpropagation through time:
    activity, input current, g(z) and the adjoint of each population at each of ``steps + 1``
    times."""
    n = net.graph_.parameter_count()
    item = np.dtype(net.dtype).itemsize
    need = (6 * n + net.sizes[-1] ** 2) * item
    what, advice = f"sizes {net.sizes}: {n:,} parameters", "use smaller populations"
    if rows:
        steps = net.time_steps[0]
        need += 4 * (steps + 1) * rows * sum(net.sizes) * item
        shown = f"{steps:,}" if steps < 10**15 else f"{float(steps):.3g}"
        what += f" and {shown} time step(s) of {rows:,} sample(s)"
        advice += ", fewer steps" if steps > 1 else ""
        advice += " or a smaller batch_size"
    return need, what, advice


# the window of an input's largest magnitude: a network's weights start at ~1/sqrt(fan-in) and
# its activations rise over |z| ~ 1, so inputs of 1e30 (or 1e-310, which float32 flushes to 0)
# train on saturated or constant units, and deploy would inject currents of that scale
MAX_INPUT = 1e6
MIN_INPUT = 1e-6


def plain_array(v: Any, name: str) -> np.ndarray:
    """``v`` as a plain real ndarray, not converted: a masked array with masked entries (the mask
    would be ignored), strings (``"1"`` would be parsed) and complex numbers (the imaginary part
    would be dropped) are refused."""
    if isinstance(v, np.ma.MaskedArray):
        hidden = int(np.ma.count_masked(v))
        if hidden:
            raise DataError(f"{name} is a masked array with {hidden} masked value(s): a network "
                            "ignores a mask and would use the hidden values; fill or drop them")  # fmt: skip
        v = np.ma.getdata(v)
    try:
        a = asarray_unmasked(v)
    except MaskedEntry:
        raise DataError(
            f"{name} holds numpy.ma.masked: a network takes numbers; fill or drop the masked values"
        ) from None
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array: {exc}") from None
    if np.iscomplexobj(a):
        raise DataError(f"{name} is complex: a network takes real inputs (NumPy would drop the "
                        "imaginary part)")  # fmt: skip
    if a.dtype.kind in "USV" or (
        a.dtype.kind == "O" and any(isinstance(e, str | bytes) for e in a.flat)
    ):
        raise DataError(f"{name} holds strings: a network takes numbers, and a string where a "
                        "number belongs is refused, never converted")  # fmt: skip
    if a.dtype.kind in "mM":  # (NumPy reads them as counts of days or milliseconds)
        raise DataError(f"{name} holds dates or durations ({a.dtype}): a network takes real "
                        "numbers; convert them to the numbers you mean")  # fmt: skip
    return a


def check_X(X: Any, n_features: int, dtype: np.dtype) -> np.ndarray:
    """``X`` as a finite ``(n_samples >= 1, n_features)`` array of ``dtype`` whose largest
    magnitude is 0 or within ``[MIN_INPUT, MAX_INPUT]`` (see :func:`plain_array` for what is
    refused rather than converted)."""
    a = plain_array(X, "X")
    if a.dtype.kind not in "biuf":
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DataError(f"X must be a numeric array: {exc}") from None
    if a.ndim != 2 or a.shape[1] != n_features:
        raise DataError(f"X has shape {a.shape}; this network expects (n_samples, {n_features})")
    if a.shape[0] == 0:
        raise DataError("X has no samples")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise DataError("X contains NaN or infinite values")
    big = max(-float(a.min()), float(a.max()))
    if big > MAX_INPUT or 0 < big < MIN_INPUT:
        raise DataError(f"X's largest magnitude is {big:.3g}, outside [{MIN_INPUT:g}, "
                        f"{MAX_INPUT:g}]: a network learns from inputs of scale ~1; "
                        "standardise or rescale them")  # fmt: skip
    return np.asarray(a, dtype=dtype)


def check_y(y: Any, n: int, k: int) -> np.ndarray:
    """``y`` as ``n`` integer labels in ``[0, k)`` (int64)."""
    y = plain_array(y, "labels y")
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"y has shape {y.shape}; expected ({n},) labels, one per row of X")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError("labels y must be integers")
    elif y.dtype.kind not in "iu":
        raise DataError(f"labels y must be integers, got dtype {y.dtype}")
    if y.size and (float(np.max(y)) >= k or float(np.min(y)) < 0):  # (before a cast to int64:
        # 1e308 or 2**64 would wrap to a value the user never gave, with NumPy's warning)
        raise DataError(f"labels must lie in [0, {k - 1}] (output size {k}); got range "
                        f"[{float(np.min(y)):g}, {float(np.max(y)):g}]")  # fmt: skip
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= k:
        raise DataError(f"labels must lie in [0, {k - 1}] (output size {k}); "
                        f"got range [{y.min()}, {y.max()}]")  # fmt: skip
    return y
