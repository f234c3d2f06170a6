"""Model-level theory: a model file in, a :class:`~biorate.curve.TransferCurve` out (the same data
type as a measurement), and the theory curves to draw beside a measured curve.

:func:`fi` predicts a neuron model's f-I (or rate-in -> rate-out) curve from :mod:`~biorate.theory.lif` and
:mod:`.poisson`; :func:`release` a synapse model's release-rate curve from :mod:`.tsodyks_markram`.
Inputs are Brian2 quantities, :class:`~biorate.units.UnitArray` values or strings with units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..curve import TransferCurve
from ..errors import ModelError
from ..io import provenance
from ..models import DRIVES, Model, check_dt, fi_axis, fi_drive, load_model
from ..models.protocol import check_input_rates, levels
from ..units import CURRENT, FREQUENCY, TIME, VOLTAGE, UnitArray
from .lif import lif_rate, refractory_steps
from .poisson import poisson_diffusion, poisson_inputs
from .tsodyks_markram import tm_release_rate

__all__ = ["DRIVES", "fi", "release", "fi_predictions", "release_predictions"]

# levels of a theory curve drawn beside a measured one (smooth at any measured spacing)
PREDICTION_LEVELS = 400


def _model(model: Model | str, kind: str) -> Model:
    m = load_model(model, kind=kind) if isinstance(model, str) else model
    if not isinstance(m, Model):
        raise ModelError(f"expected a model or a model name, got {model!r}")
    if m.kind != kind:
        raise ModelError(f"model {m.name!r} is a {m.kind} model, expected a {kind} model")
    return m


def _fi_settings(model: Model, drive: str, sigma: Any, dt: Any, bias: Any) -> tuple:
    """``(sigma_v, dt_s, bias_a)`` in SI, checked (in this order: the errors a user sees first)."""
    if model.theory != "lif":
        raise ModelError(f"no analytic theory for model {model.name!r}")
    sigma_v, bias_a = fi_drive(drive, sigma, bias)
    dt_s = None if dt is None else check_dt(dt)
    if dt_s is not None:
        model.check_dt(dt_s)
    return sigma_v, dt_s, bias_a


def _current_drive(model: Model, current: Any, rate: Any, sigma_v: float) -> tuple:
    """x (A), the free membrane potential mu and its std for an injected current."""
    x = levels(*fi_axis("current", current, rate))  # each once, increasing, within +-1 A
    mu = model["E_L"] + model["R_m"] * x
    return x, mu, np.full(x.shape, sigma_v), "A"


def _poisson_drive(model: Model, current: Any, rate: Any, sigma_v: float, bias_a: float) -> tuple:
    """x (Hz), mu and its std for the model's Poisson inputs at ``rate`` plus a bias current."""
    x = levels(*fi_axis("poisson", current, rate))
    check_input_rates(x, model=model)
    mu = np.full(x.shape, model["E_L"] + model["R_m"] * bias_a)
    var = np.full(x.shape, sigma_v**2)
    for jump, n_inputs in poisson_inputs(model):
        shift, s = poisson_diffusion(x, jump, n_inputs, model["tau_m"])
        mu, var = mu + shift, var + s * s
    return x, mu, np.sqrt(var), "Hz"


def fi(
    model: Model | str,
    current: Any = None,
    sigma: Any = 0,
    *,
    rate: Any = None,
    drive: str = "current",
    bias: Any = 0,
    dt: Any = None,
    command: str | None = None,
) -> TransferCurve:
    """Predicted f-I curve (or rate-in -> rate-out curve) of a model with ``theory = "lif"``.

    Parameters
    ----------
    model : Model or model name (``"lif"``).
    current : amperes, shape (n,): Brian2 quantity array, list of strings (``["0.1 nA", ...]``) or
        range ``"0nA:0.5nA:51"``; the x axis for ``drive="current"``.
    sigma : volts, free-membrane standard deviation of the white noise (``2*mV``, ``"2 mV"``).
    rate : hertz, shape (n,): each Poisson input's rate, the x axis for ``drive="poisson"``
        (inputs from the model's ``[[drive.poisson]]`` tables, diffusion approximation).
    drive : ``"current"`` or ``"poisson"`` (as in :func:`biorate.measure_fi`).
    bias : amperes, a constant current added with ``drive="poisson"``.
    dt : seconds or None: None for continuous time, a step for the prediction of Brian2's Euler
        integration at that step (see :func:`lif_rate`).

    Returns
    -------
    TransferCurve, measure "fi", x in A (current) or Hz (poisson), y in Hz, y_sem None; protocol
    ``{"method": "siegert" | "closed_form" | "euler_exact", "sigma_V", "dt_s", "drive", ...}``.
    """
    model = _model(model, "neuron")
    sigma_v, dt_s, bias_a = _fi_settings(model, drive, sigma, dt, bias)
    if drive == "current":
        x, mu, sig, x_unit = _current_drive(model, current, rate, sigma_v)
    else:
        x, mu, sig, x_unit = _poisson_drive(model, current, rate, sigma_v, bias_a)
    y = lif_rate(mu, sig, model["tau_m"], model["V_th"], model["V_reset"], model["t_ref"], dt=dt_s)
    if np.any(sig > 0):
        method = "siegert"
    else:
        method = "closed_form" if dt_s is None else "euler_exact"
    protocol: dict[str, Any] = {"method": method, "sigma_V": sigma_v, "dt_s": dt_s, "drive": drive}
    if drive == "poisson":
        protocol["bias_A"] = bias_a
    if dt_s is not None:
        protocol["refractory_steps"] = refractory_steps(model["t_ref"], dt_s)
        if method == "siegert":
            protocol["dt_correction"] = (
                "Euler chain as OU (tau_e, sigma_e); threshold + step std * expected_overshoot; "
                "refractory refractory_steps*dt"
            )
    return TransferCurve(measure="fi", x=x, y=y, x_unit=x_unit, y_unit="Hz", y_sem=None,
                         model=model.describe(), protocol=protocol,
                         provenance=provenance(command))  # fmt: skip


def release(model: Model | str, rate: Any, *, command: str | None = None) -> TransferCurve:
    """Tsodyks-Markram steady-state release-rate curve of a synapse model with parameters ``U``
    (dimensionless) and ``tau_rec`` (seconds), e.g. ``models/synapses/tm_release.toml``.

    ``rate`` : hertz, shape (n,) (quantity array, strings, or ``"1Hz:100Hz:20"``). Returns a
    TransferCurve, measure "release", x in Hz, y the fraction of the pool released per second (1/s).
    """
    model = _model(model, "synapse")
    if not has_release_theory(model):
        raise ModelError(
            f"no Tsodyks-Markram theory for model {model.name!r} (needs U and tau_rec)"
        )
    x = levels(rate, FREQUENCY, "rate")
    check_input_rates(x)
    y = tm_release_rate(x, model["U"], model["tau_rec"])
    return TransferCurve(measure="release", x=x, y=y, x_unit="Hz", y_unit="1/s", y_sem=None,
                         model=model.describe(), protocol={"method": "tsodyks_markram"},
                         provenance=provenance(command))  # fmt: skip


def has_release_theory(model: Model) -> bool:
    """Whether :func:`release` can predict this synapse model (it has ``U`` and ``tau_rec``)."""
    return "U" in model.params and "tau_rec" in model.params


def fi_predictions(model: Model, curve: TransferCurve) -> list[tuple[str, TransferCurve]]:
    """Theory curves to draw beside a measured f-I ``curve`` of ``model``: continuous time and
    corrected for the curve's time step, each on :data:`PREDICTION_LEVELS` levels spanning the
    measured ones, with the curve's drive, noise and bias. ``[]`` for a model without theory."""
    if model.theory != "lif":
        return []
    p = curve.protocol
    x = np.linspace(curve.x.min(), curve.x.max(), PREDICTION_LEVELS)
    kw: dict[str, Any] = {"sigma": UnitArray(p["sigma_V"], VOLTAGE)}
    if p["drive"] == "current":
        kw["current"] = UnitArray(x, CURRENT)
    else:
        kw.update(drive="poisson", rate=UnitArray(x, FREQUENCY),
                  bias=UnitArray(p.get("bias_A") or 0, CURRENT))  # fmt: skip
    label = "Siegert" if p["sigma_V"] > 0 else "closed form"
    return [(f"theory ({label})", fi(model, **kw)),
            (f"theory, dt = {p['dt_s'] * 1e3:g} ms", fi(model, dt=UnitArray(p["dt_s"], TIME), **kw))]  # fmt: skip


def release_predictions(
    model: Model, curve: TransferCurve, pattern: str = "poisson"
) -> list[tuple[str, TransferCurve]]:
    """The Tsodyks-Markram steady state at a measured release ``curve``'s rates, to draw beside
    it; ``[]`` unless the model has ``U`` and ``tau_rec`` and the trains were Poisson."""
    if not has_release_theory(model) or pattern != "poisson":
        return []
    return [("Tsodyks-Markram steady state", release(model, rate=UnitArray(curve.x, FREQUENCY)))]
