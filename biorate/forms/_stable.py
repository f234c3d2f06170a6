"""Numerically stable building blocks the forms share: logistic, softplus, clipped exponentials.

Every exponential is taken of a non-positive argument, clipped so that it never underflows: no
floating-point warnings even under ``np.errstate(all="raise")``. SciPy is imported only by
:func:`erfc` (the ``erf`` form), when it is first called, so that ``import biorate.forms`` stays
NumPy-only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["logistic", "logistic_prime", "softplus_unit"]

# exp(-600) = 2.6e-261: far above the smallest normal double (2.2e-308), so that exp(-a), and its
# product with any rate or 1/width a curve can have, never underflows (which would raise under
# np.errstate(all="raise")); anything smaller than 1e-261 is zero for every purpose here.
EXP_CLIP = 600.0


def exp_neg(a: np.ndarray) -> np.ndarray:
    """exp(-a) for a >= 0, clipped so that it never underflows."""
    return np.exp(-np.minimum(a, EXP_CLIP))


def exp_clipped(a: np.ndarray) -> np.ndarray:
    """exp(a) with a clipped to [-EXP_CLIP, EXP_CLIP]: neither underflows nor overflows."""
    return np.exp(np.clip(a, -EXP_CLIP, EXP_CLIP))


def logistic(u: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-u)), stable for any finite u (only exp of ``-|u|`` is taken)."""
    u = np.asarray(u, dtype=float)
    e = exp_neg(np.abs(u))
    return np.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_prime(u: np.ndarray) -> np.ndarray:
    """d logistic / du = logistic(u) * (1 - logistic(u)) = e / (1 + e)^2 with ``e = exp(-|u|)``."""
    e = exp_neg(np.abs(np.asarray(u, dtype=float)))
    return e / (1.0 + e) ** 2


def softplus_unit(u: np.ndarray) -> np.ndarray:
    """log(1 + exp(u)) = ``max(u, 0) + log1p(exp(-|u|))``, stable for any finite u."""
    u = np.asarray(u, dtype=float)
    return np.maximum(u, 0.0) + np.log1p(exp_neg(np.abs(u)))


def softplus_pair(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(softplus_unit(v), softplus_unit(-v), e) from one exponential e = exp(-|v|) (clipped as by
    :func:`exp_neg`): ln(1 + e^(+-v)) = max(+-v, 0) + ln(1 + e)."""
    e = exp_neg(np.abs(v))
    l1p = np.log1p(e)
    return np.maximum(v, 0.0) + l1p, np.maximum(-v, 0.0) + l1p, e


def erfc(u: np.ndarray) -> np.ndarray:
    """The complementary error function, from SciPy (imported here, on first use: the only SciPy
    a form needs)."""
    from scipy.special import erfc as _scipy_erfc

    # erfc(25) = 8e-274 (still a normal double), erfc(-25) = 2: the clip changes nothing visible
    return _scipy_erfc(np.clip(u, -25.0, 25.0))


def gauss(u: np.ndarray) -> np.ndarray:
    """exp(-u^2), clipped so that it never underflows."""
    return exp_neg(np.square(np.minimum(np.abs(u), 30.0)))  # 30^2 > EXP_CLIP: same result
