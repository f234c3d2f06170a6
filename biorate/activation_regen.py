"""Regenerate the shipped fitted activations, ``models/activations/*.json``, in one command:

    python -m biorate.activation_regen [--out DIR] [--curves DIR] [--only NAME ...] [--quick]

Each recipe simulates a shipped model on Brian2 (:func:`biorate.measure_fi`,
:func:`biorate.measure_release`), fits the curve with ``form="auto"`` (lowest AIC among every form of
:mod:`biorate.forms`) and writes the activation JSON, whose ``source`` records the model, the
protocol (seed included) and the versions. The seeds are fixed, so a rerun with the same Brian2 and
NumPy reproduces the files. ``--quick`` uses short runs (for testing the command, not for shipping).

==============  =============================================================================
name            curve
==============  =============================================================================
lif             lif f-I curve without noise, 0-4 nA in 161 steps, 2 s x 10 trials
lif_noise       the same with free-membrane noise sigma = 2 mV
tm_release      tm_release release rate against presynaptic Poisson rate, 1-100 Hz in 20 steps,
                20 s x 10 trials
ca_release      the same for ca_release
==============  =============================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .activation import shipped_activations_dir
from .errors import BiorateError, FitError
from .fitting import fit
from .spiking import measure_fi, measure_release

__all__ = ["RECIPES", "regenerate", "main"]


# f-I curves span 0-4 nA: threshold (0.2 nA), the rise, and saturation towards 1/t_ref (rates up to
# ~400 Hz of the ~510 Hz ceiling), which is what a trained network drives. Measured on the digits
# networks of tests/test_network_digits.py (feedforward, residual, feedback; lif_noise): 99.5 % of
# the hidden pre-activations map to currents below 2.4-3.7 nA, the largest to 4.7 nA; a 0-0.5 nA
# curve covered z only up to about 0.3 there. Steps of 0.025 nA resolve the rounded threshold of
# the noisy curve (with coarser steps soft_lif's c and tau, which trade off against each other on
# a noisy curve, can slide to c -> 0 along a nearly flat valley).
_FI_CURRENT, _FI_CURRENT_QUICK = "0nA:4nA:161", "0nA:4nA:41"


def _fi(sigma: str) -> Callable[[bool], Any]:
    def make(quick: bool) -> Any:
        return measure_fi("lif", current=_FI_CURRENT_QUICK if quick else _FI_CURRENT,
                          sigma=sigma, duration="0.5 s" if quick else "2 s", trials=3 if quick
                          else 10, seed=1, progress=False,
                          command="python -m biorate.activation_regen")  # fmt: skip

    return make


def _release(model: str) -> Callable[[bool], Any]:
    def make(quick: bool) -> Any:
        return measure_release(model, rate="1Hz:100Hz:20" if not quick else "1Hz:100Hz:10",
                               duration="2 s" if quick else "20 s", transient="2 s",
                               trials=3 if quick else 10, seed=1, progress=False,
                               command="python -m biorate.activation_regen")  # fmt: skip

    return make


# name -> (what it is, how to make its curve)
RECIPES: dict[str, tuple[str, Callable[[bool], Any]]] = {
    "lif": ("lif f-I curve, no noise", _fi("0 mV")),
    "lif_noise": ("lif f-I curve, sigma = 2 mV", _fi("2 mV")),
    "tm_release": ("tm_release release rate vs presynaptic rate", _release("tm_release")),
    "ca_release": ("ca_release release rate vs presynaptic rate", _release("ca_release")),
}


def regenerate(out: str | os.PathLike | None = None, *, only: Sequence[str] | None = None,
               curves: str | os.PathLike | None = None, quick: bool = False,
               log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """Simulate, fit and write each recipe's activation to ``out`` (default: the shipped
    ``models/activations``). Returns ``{name: Fit}``. ``curves``: also save each curve there."""

    out = Path(out) if out is not None else shipped_activations_dir()
    out.mkdir(parents=True, exist_ok=True)
    names = list(only) if only else list(RECIPES)
    for name in names:
        if name not in RECIPES:
            raise FitError(f"unknown recipe {name!r}; recipes: {', '.join(RECIPES)}")
    results = {}
    for name in names:
        what, make = RECIPES[name]
        log(f"[{name}] simulating: {what}")
        curve = make(quick)
        if curves is not None:
            Path(curves).mkdir(parents=True, exist_ok=True)
            curve.save(Path(curves) / f"{name}_curve.json")
        result = fit(curve, "auto")
        act = result.activation(name=name)
        act.save(out / f"{name}.json")
        log(result.report())
        log(f"[{name}] wrote {out / f'{name}.json'}")
        results[name] = result
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m biorate.activation_regen",
                                description="Regenerate models/activations/*.json")  # fmt: skip
    p.add_argument("--out", default=None, help="output folder (default: the shipped one)")
    p.add_argument("--curves", default=None, help="also save the simulated curves here")
    p.add_argument("--only", nargs="+", default=None, choices=list(RECIPES), metavar="NAME",
                   help=f"recipes to run (default all: {', '.join(RECIPES)})")  # fmt: skip
    p.add_argument("--quick", action="store_true", help="short runs, for testing the command")
    args = p.parse_args(argv)
    try:
        regenerate(args.out, only=args.only, curves=args.curves, quick=args.quick)
    except BiorateError as exc:
        sys.stderr.write(f"biorate: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
