"""Analytic transfer curves (SciPy and NumPy, never Brian2), one module per piece of theory:

- :mod:`.lif`: the leaky integrate-and-fire rate: noise-free closed form, Siegert formula for
  white-noise drive, the exact noise-free rate of Brian2's Euler scheme and a dt-corrected noisy
  prediction (built on :mod:`.siegert`, the Siegert integral, and :mod:`.overshoot`, the expected
  overshoot of a random walk over the threshold);
- :mod:`.poisson`: the diffusion approximation of Poisson drive;
- :mod:`.tsodyks_markram`: the Tsodyks-Markram steady-state release rate;
- :mod:`.curves`: model-level wrappers that take a model and quantities with units and return a
  :class:`~biorate.curve.TransferCurve` (:func:`fi`, :func:`release`), and the theory curves to
  draw beside a measured curve (:func:`fi_predictions`, :func:`release_predictions`).

The rate functions take and return SI floats (volts, seconds, amperes, hertz) and broadcast NumPy
arrays. References: Siegert (1951) Phys. Rev. 81:617; Brunel (2000) J. Comput. Neurosci.
8:183-208; Broadie, Glasserman & Kou (1997) Math. Finance 7:325-349; Siegmund (1985) Sequential
Analysis; Chang & Peres (1997) Ann. Probab. 25:787-802; Tsodyks & Markram (1997) PNAS 94:719-723.
"""

from __future__ import annotations

from .curves import (
    DRIVES,
    PREDICTION_LEVELS,
    fi,
    fi_predictions,
    has_release_theory,
    release,
    release_predictions,
)
from .lif import lif_rate, lif_rate_closed_form, lif_rate_euler, refractory_steps, siegert_rate
from .overshoot import BGK_BETA, expected_overshoot
from .poisson import poisson_diffusion
from .tsodyks_markram import tm_release_rate

__all__ = [
    "BGK_BETA",
    "expected_overshoot",
    "lif_rate",
    "lif_rate_closed_form",
    "lif_rate_euler",
    "siegert_rate",
    "refractory_steps",
    "poisson_diffusion",
    "tm_release_rate",
    "fi",
    "release",
    "fi_predictions",
    "release_predictions",
    "has_release_theory",
    "PREDICTION_LEVELS",
    "DRIVES",
]
