"""The :class:`Form`: one family of curves and everything fitting and the network need to know.

A Form carries, side by side (as lmfit's models carry their own hints and ``guess()``):

- ``f(x, *p)``: the curve, ``x`` shape (n,) in the curve's x unit (SI), ``y`` in its y unit;
- ``h(x, *p)``: the excess f - r0, from all parameters but r0, computed without cancellation;
- ``dfdx(x, *p)``: the analytic derivative with respect to x (what backpropagation uses);
- ``jac(x, *p)``: the Jacobian with respect to the parameters, shape (n, k) (what the solvers use),
  and optionally ``fj``, value and Jacobian at once;
- ``guess_fn(x, y)``, ``bounds_fn(x, y)``: starting values and bounds scaled to the data;
- ``canonical(p, x)``: ``(x_offset, x_scale, y_scale)`` that turn the fitted curve into a well-
  scaled unit-free activation ``g(z) = (f(x_offset + x_scale*z) - r0) / y_scale``;
- ``solver``: :class:`SolverHints`, how :mod:`biorate.fitting` should search this form's cost (which
  parameters to solve for as logarithms, which bounds stand for limits, which extra starts to try,
  whether the threshold is a kink or a cusp). Fitting reads only these: adding a form means adding
  one Form, never editing the solver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..units import divide_units

__all__ = ["Form", "SolverHints", "Start"]


@dataclass(frozen=True)
class Start:
    """An extra starting point: the guess with one parameter moved. ``op`` is ``"shift"`` (by
    ``value`` times the x range of the data), ``"scale"`` (times ``value``) or ``"set"`` (to
    ``value``)."""

    param: str
    op: str
    value: float

    def apply(self, p0: np.ndarray, i: int, x_range: float) -> np.ndarray:
        """A copy of ``p0`` with its parameter ``i`` (this start's ``param``) moved."""
        p = p0.copy()
        if self.op == "shift":
            p[i] += self.value * x_range
        elif self.op == "scale":
            p[i] *= self.value
        else:
            p[i] = self.value
        return p


@dataclass(frozen=True, kw_only=True)
class SolverHints:
    """How the solvers of :mod:`biorate.fitting` treat a form.

    - ``log_params``: positive parameters solved for as their logarithms (the LIF forms' c and tau
      trade off along the curved valley tau*c = const, and soft_lif's gamma runs towards 0 on a hard
      threshold; in logs the valley is straight and the solvers walk it in a few steps);
    - ``limit_params``: parameters whose bounds stand for limits a curve can reach, not for a fit
      gone astray (c -> 0: a perfect integrator; gamma -> 0: the hard threshold). A form with any
      goes straight to the bounded solver (the unbounded one would run past the bound and be
      thrown away);
    - ``reachable_lower``: parameters whose lower bound is such a limit that the form reaches
      smoothly, so that a fit resting on it still looks good (soft_lif's gamma: the lif form);
    - ``starts``: the extra starts tried after the guess, in this order, when a fit looks stuck;
    - ``kink``: the value has a corner at x_th, so its cost has a local minimum between each pair
      of data points: the threshold starts are tried however good the first fit looks;
    - ``cusp``: the rate rises with infinite slope at x_th, so no gradient step crosses a data
      point: the fit walks across them, interval by interval;
    - ``threshold``: the name of that threshold parameter (x_th above), which the walk moves.
    """

    log_params: tuple[str, ...] = ()
    limit_params: tuple[str, ...] = ()
    reachable_lower: tuple[str, ...] = ()
    starts: tuple[Start, ...] = ()
    kink: bool = False
    cusp: bool = False
    threshold: str = "x_th"


@dataclass(frozen=True, kw_only=True)
class Form:
    """A fitted-curve form: the function, its derivatives, guesses, bounds, canonical scaling and
    solver hints (see the module docstring).

    ``kinds`` gives each parameter's unit kind: ``"x"`` (the curve's x unit), ``"y"`` (its y unit),
    ``"y/x"``, ``"1/y"`` (seconds for a rate in Hz: the LIF forms' tau and t_ref) or ``"1"``
    (dimensionless). ``positive`` and ``nonnegative`` name the parameters a valid set must have
    > 0 and >= 0 (:meth:`check_params`).
    """

    name: str
    params: tuple[str, ...]
    kinds: tuple[str, ...]
    equation: str
    f: Callable[..., np.ndarray]
    h: Callable[..., np.ndarray]  # f - r0, from all parameters but r0
    dfdx: Callable[..., np.ndarray]
    jac: Callable[..., np.ndarray]
    guess_fn: Callable[[np.ndarray, np.ndarray], dict]
    bounds_fn: Callable[[np.ndarray, np.ndarray], dict]
    canonical: Callable[[dict, np.ndarray | None], tuple[float, float, float]]
    saturating: bool  # True: f runs from r0 to r0 + r_max (or the ceiling); False: unbounded above
    # the excess f - r0 approaches for x -> inf when that is not r_max (LIF forms: 1/t_ref)
    ceiling: Callable[[dict], float] | None = None
    # the curve measures whose ``fit(..., "auto")`` tries this form (None: every measure); the LIF
    # forms' tau and t_ref mean something only for a firing-rate curve (an f-I or rate-in curve)
    measures: tuple[str, ...] | None = None
    # value and parameter Jacobian at once, sharing their intermediates (None: from f and jac);
    # the bounded solver asks for both at every accepted point
    fj: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    # what a parameter is, where its name could mislead: {name: (display label, description)}
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)
    positive: tuple[str, ...] = ()
    nonnegative: tuple[str, ...] = ()
    solver: SolverHints = field(default_factory=SolverHints)

    def __post_init__(self) -> None:
        """A form's hints may name only its own parameters (caught when the form is defined)."""
        s = self.solver
        named = {*s.log_params, *s.limit_params, *s.reachable_lower, *(st.param for st in s.starts),
                 *self.positive, *self.nonnegative, *([s.threshold] if s.kink or s.cusp else [])}  # fmt: skip
        if unknown := sorted(named - set(self.params)):
            raise ValueError(f"form {self.name!r}: its hints name {unknown}, not parameters of it")

    def label(self, param: str) -> str:
        """How reports and figures name ``param`` (its name, unless that could mislead:
        soft_lif's ``tau`` is shown as ``tau (effective, not tau_m)``)."""
        return self.notes.get(param, (param, ""))[0]

    def describe(self, param: str) -> str:
        """What ``param`` is, in one sentence ('' for the self-explanatory ones)."""
        return self.notes.get(param, ("", ""))[1]

    def suits(self, measure: str) -> bool:
        """Whether ``auto`` tries this form on a curve of ``measure`` ("fi", "release", ...)."""
        return self.measures is None or measure in self.measures

    @property
    def k(self) -> int:
        """Number of parameters."""
        return len(self.params)

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Starting values ``{name: value}`` for data ``x``, ``y`` (shape (n,) each)."""
        return {k: float(v) for k, v in self.guess_fn(x, y).items()}

    def bounds(self, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[float, float]]:
        """Bounds ``{name: (lower, upper)}`` scaled to the data."""
        b = self.bounds_fn(x, y)
        return {k: (float(b[k][0]), float(b[k][1])) for k in self.params}

    def units(self, x_unit: str, y_unit: str) -> dict[str, str]:
        """Each parameter's unit for a curve in ``x_unit``, ``y_unit``."""
        inverse_y = "s" if y_unit == "Hz" else divide_units("1", y_unit)  # tau, t_ref of f-I
        table = {"x": x_unit, "y": y_unit, "y/x": divide_units(y_unit, x_unit), "1": "1",
                 "1/y": inverse_y}  # fmt: skip
        return {p: table[k] for p, k in zip(self.params, self.kinds, strict=True)}

    def excess(self, x: np.ndarray, p: dict) -> np.ndarray:
        """f(x) - r0, computed without cancellation."""
        return self.h(x, *(p[k] for k in self.params if k != "r0"))

    def value(self, x: np.ndarray, p: dict) -> np.ndarray:
        return self.f(x, *(p[k] for k in self.params))

    def derivative(self, x: np.ndarray, p: dict) -> np.ndarray:
        return self.dfdx(x, *(p[k] for k in self.params))

    def excess_range(self, p: dict) -> tuple[float, float]:
        """Range of f - r0 over all x: (0, r_max) for saturating forms, (0, ±inf) otherwise."""
        if self.ceiling is not None:
            top = self.ceiling(p)
        elif self.saturating:
            top = p["r_max"]
        else:
            top = np.inf if p["gain"] >= 0 else -np.inf
        return (min(0.0, top), max(0.0, top))

    def check_params(self, p: dict) -> str | None:
        """A message if ``p`` is not a valid parameter set for this form, else None."""
        if set(p) != set(self.params):
            return (f"form {self.name!r} takes parameters {', '.join(self.params)}; "
                    f"got {', '.join(sorted(p)) or 'none'}")  # fmt: skip
        for k in self.params:
            if not np.isfinite(p[k]):
                return f"form {self.name!r}: parameter {k} = {p[k]} is not finite"
        for k in self.positive:
            if not p[k] > 0:
                return f"form {self.name!r}: parameter {k} must be positive, got {p[k]}"
        for k in self.nonnegative:
            if not p[k] >= 0:
                return f"form {self.name!r}: parameter {k} must not be negative, got {p[k]}"
        return None
