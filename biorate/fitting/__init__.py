"""Fit a transfer curve with a form of :mod:`biorate.forms` and export it as an activation.

``fit(curve, form="auto")`` does weighted least squares (Levenberg-Marquardt with the forms'
analytic Jacobians: MINPACK's through SciPy, redone with bounds by
:func:`biorate.fitting.lsq.box_lm` when it leaves them, from a few starts where a form's cost has
several minima) and returns a
:class:`Fit` with the parameters, their standard errors and covariance, R², RMSE, reduced
chi-square, AIC and BIC, optional bootstrap confidence intervals, and flags for a poor fit.
``fit.activation()`` turns it into an :class:`~biorate.activation.Activation` a rate network can
use.

Statistics (``n`` points, ``k`` parameters, model values ``f_i``):

- weights: ``sigma_i = max(y_sem_i, floor)``. The floor keeps a silent level (SEM 0: every trial
  gave no spike) from getting infinite weight: it is the largest of 10 % of the median positive
  SEM, 0.1 % of the curve's range, and, for a measured f-I curve whose protocol is known, the rate
  resolution of one spike in all trials, ``1 / (trials * duration)`` (duration: the measured
  window, after the transient). A curve without SEMs (a theory curve, or a noise-free simulation whose trials all agree) is fitted
  unweighted (``sigma_i = 1`` in y units).
- ``chi2 = sum(((y_i - f_i)/sigma_i)^2)``, ``redchi = chi2 / (n - k)``.
- standard errors: the square roots of the covariance diagonal, ``cov = (J^T J)^-1`` with ``J`` the
  weighted Jacobian at the optimum. Weighted fits treat the SEMs as absolute but scale ``cov`` by
  ``redchi`` when ``redchi > 1`` (the Birge ratio: scatter beyond the SEMs, or a form that misses
  structure, widens the errors, never narrows them); unweighted fits always scale by ``redchi``.
- ``R² = 1 - sum((y - f)^2) / sum((y - mean(y))^2)`` and ``RMSE = sqrt(mean((y - f)^2))`` are
  unweighted, in y units.
- ``AIC = n ln(chi2/n) + 2k`` and ``BIC = n ln(chi2/n) + k ln(n)`` (the Gaussian likelihood with the
  scale of the errors fitted, as lmfit reports them), compared only between fits of the same data.
- ``bootstrap=N``: residual bootstrap (the standardized residuals, centred and scaled by
  sqrt(n/(n-k)) so that they carry the variance of the errors, resampled with replacement onto
  the best fit, each resample refitted) and 2.5/97.5 percentile intervals.

A poor fit is never silent: ``Fit.flags`` lists ``not_converged``, ``low_r2`` (R² < 0.95),
``at_bound:<param>`` (a parameter stopped at its bound: the data do not determine it),
``singular_covariance``, ``negative_rate`` (the fitted curve of a firing or release rate falls
below 0 somewhere over the data's x range by more than noise: 5 median SEMs or 1 % of the y range)
and ``high_redchi`` (redchi > 3 for a weighted fit; a warning that keeps ``ok``); ``Fit.ok`` is
False for all but the last, and :meth:`Fit.report` prints each with a reason.

The package follows the steps: :mod:`~biorate.fitting.select` (:func:`fit`: checks, ``auto``
selection, bootstrap), :mod:`~biorate.fitting.form_fit` (:func:`fit_form`: one form, step by
step), :mod:`~biorate.fitting.solve` (Levenberg-Marquardt, starts and threshold walk, driven by each
form's :class:`~biorate.forms.form.SolverHints`), :mod:`~biorate.fitting.lsq` (:func:`box_lm`),
:mod:`~biorate.fitting.stats` (weights, goodness, covariance, flags) and
:mod:`~biorate.fitting.result` (:class:`Fit`).
"""

from __future__ import annotations

from .form_fit import fit_form
from .result import CRITERIA, SCHEMA, Fit, fit_ok, fit_status, format_criterion
from .select import AIC_STRONG, MAX_BOOTSTRAP, fit, load_fit_curve
from .select import _select as _select  # read by tests, as before the split
from .solve import _TOL as _TOL  # read by benchmarks/fit.py
from .stats import R2_MIN, REDCHI_MAX, sem_floor

__all__ = [
    "MAX_BOOTSTRAP",
    "Fit",
    "fit",
    "fit_form",
    "fit_status",
    "fit_ok",
    "sem_floor",
    "CRITERIA",
    "R2_MIN",
    "REDCHI_MAX",
    "SCHEMA",
    "AIC_STRONG",
    "format_criterion",
    "load_fit_curve",
]
