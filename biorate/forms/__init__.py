"""Curve forms: the functions a transfer curve is fitted with.

Each form is a plain function whose signature names its parameters (``sigmoid(x, x_half, width,
r_max, r0)``, as in lmfit / ``scipy.optimize.curve_fit``), described by one :class:`Form` (defined
beside the function, in the module of its family: ``sigmoid`` (sigmoid, tanh, erf), ``hill``,
``threshold`` (softplus, threshold_linear), ``lif`` (lif, soft_lif)) that adds everything fitting
and the network need, and registered in :data:`FORMS`:

- ``f(x, *p)``: the curve, ``x`` shape (n,) in the curve's x unit (SI), ``y`` in its y unit;
- ``dfdx(x, *p)``: the analytic derivative with respect to x (what backpropagation uses);
- ``jac(x, *p)``: the Jacobian with respect to the parameters, shape (n, k) (what ``curve_fit`` uses);
- ``guess(x, y)``: starting values from the data (``curve_fit`` would otherwise start at 1);
- ``bounds(x, y)``: parameter bounds scaled to the data;
- ``canonical(p, x)``: ``(x_offset, x_scale, y_scale)`` that turn the fitted curve into a well-scaled
  unit-free activation ``g(z) = (f(x_offset + x_scale*z) - r0) / y_scale`` (see
  :mod:`biorate.activation`);
- ``solver``: the hints :mod:`biorate.fitting` searches the form's cost by
  (:class:`~biorate.forms.form.SolverHints`). Adding a form means adding one Form here; fitting
  reads nothing else.

Every form is ``f = r0 + h(x)``; ``h`` (the part above the baseline ``r0``) is computed directly so
that ``f - r0`` never loses precision to cancellation. All forms are written to be numerically
stable for any finite input: exponentials are taken of non-positive arguments only, clipped so that
they never underflow (no floating-point warnings even under ``np.errstate(all="raise")``).

Parameter names and units (``x`` = the curve's x unit, ``y`` = its y unit):

=================  ======================================================  =======================
form               equation                                                parameters
=================  ======================================================  =======================
sigmoid            r0 + r_max / (1 + exp(-(x - x_half)/width))             x_half, width [x];
                                                                           r_max, r0 [y]
tanh               r0 + r_max * 0.5 * (1 + tanh((x - x_half)/width))       as sigmoid
erf                r0 + r_max * 0.5 * (1 + erf((x - x_half)/width))        as sigmoid
hill               r0 + r_max * x^n / (x^n + x_half^n)   (x > 0; else r0)  x_half [x]; n [1];
                   (Naka & Rushton 1966,                                   r_max, r0 [y]
                   doi:10.1113/jphysiol.1966.sp007992)
softplus           r0 + gain * width * log(1 + exp((x - x_th)/width))      x_th, width [x];
                                                                           gain [y/x]; r0 [y]
threshold_linear   r0 + gain * max(0, x - x_th)                            x_th [x]; gain [y/x];
                                                                           r0 [y]
lif                r0 + 1/(t_ref + tau*ln(1 + c/(x - x_th)))  (x > x_th;   x_th, c [x];
                   else r0): the noise-free leaky integrate-and-fire rate  tau, t_ref [1/y];
                   (Lapicque 1907; Burkitt 2006,                           r0 [y]
                   doi:10.1007/s00422-006-0068-6)
soft_lif           lif with x - x_th replaced by                           as lif; gamma [x]
                   gamma*ln(1 + exp((x - x_th)/gamma)) (Hunsberger &
                   Eliasmith 2015, arXiv:1510.08829)
=================  ======================================================  =======================

For the LIF of ``models/neurons/lif.toml`` driven by a current, ``lif`` is exact with x_th =
(V_th - E_L)/R_m (the rheobase), c = (V_th - V_reset)/R_m, tau = tau_m and t_ref the refractory
period (for a rate in Hz, tau and t_ref are in seconds). Both LIF forms saturate at r0 + 1/t_ref.
``soft_lif``'s gamma is the width over which noise (or any smoothing) rounds the threshold off; it is
how a noisy LIF's curve, which fires a little below rheobase, is followed with the same parameters.
Their ``tau`` is the time scale of the logarithm, a fitted number: it equals the membrane time
constant tau_m only for ``lif`` on a noise-free current-driven LIF. On a noisy curve it trades off
against c and gamma and lands far from tau_m (a soft_lif fit gave 0.103 s on a 20 ms neuron), so
reports and figures label soft_lif's as ``tau (effective, not tau_m)``
(:meth:`Form.label`, :meth:`Form.describe`); the name in files stays ``tau`` (schema 1).
``fit(..., "auto")`` tries the two LIF forms on firing-rate curves (``measure "fi"``) only: on a
release curve their tau and t_ref would be numbers without a meaning (name them to fit them anyway).

SciPy is needed only by the ``erf`` form (``scipy.special.erfc``), imported when it is first
evaluated: ``import biorate.forms`` loads NumPy alone.
"""

from __future__ import annotations

from ..errors import FitError
from ._stable import logistic, logistic_prime, softplus_unit
from .form import Form, SolverHints, Start
from .hill import HILL, hill
from .lif import LIF, SOFT_LIF, lif, soft_lif
from .sigmoid import ERF, SIGMOID, TANH, erf, sigmoid, tanh
from .threshold import SOFTPLUS, THRESHOLD_LINEAR, softplus, threshold_linear

__all__ = [
    "Form",
    "SolverHints",
    "Start",
    "FORMS",
    "get_form",
    "logistic",
    "logistic_prime",
    "softplus_unit",
    "sigmoid",
    "tanh",
    "erf",
    "hill",
    "softplus",
    "threshold_linear",
    "lif",
    "soft_lif",
]

# the registry, in the order ``auto`` tries the forms (and breaks an exact tie: sigmoid before tanh)
FORMS: dict[str, Form] = {
    form.name: form
    for form in (SIGMOID, TANH, ERF, HILL, SOFTPLUS, THRESHOLD_LINEAR, LIF, SOFT_LIF)
}


def get_form(name: str) -> Form:
    """The :class:`Form` called ``name``; an unknown name raises :class:`FitError`."""
    try:
        return FORMS[name]
    except (KeyError, TypeError):
        raise FitError(f"unknown form {name!r}; known forms: {', '.join(FORMS)}") from None
