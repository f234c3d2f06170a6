"""Synaptic release saturates: Tsodyks-Markram depression and calcium-driven release on Brian2.

What it shows (one figure, four panels):

A. Tsodyks-Markram depression (``tm_release``) for three utilisations U: the measured release rate
   (fraction of the vesicle pool released per second) against the presynaptic Poisson rate, with
   the steady state U*nu/(1 + U*nu*tau_rec) drawn as lines. It saturates at 1/tau_rec.
B. Calcium-driven release (``ca_release``): the release probability against presynaptic calcium,
   measured in a calcium clamp, is a Hill function (cooperativity n_H = 4, a sigmoid); the markers
   show the mean residual calcium that presynaptic trains of 10, 30 and 100 Hz build up.
C. The release rate of ``ca_release`` against presynaptic rate is sigmoidal: calcium accumulation
   facilitates release at low rates, the recovering vesicle pool caps it at high rates; the cap
   (dashed, 1/tau_rec) falls as recovery slows.
D. The mean transmitter concentration in the cleft saturates with the release rate and scales with
   the clearance time constant (dashed: C_pool * release rate * tau_clear): slower clearance by
   diffusion and uptake raises the saturated level, it does not change release.

This is the argument that a sigmoid activation in a rate network stands for: presynaptic calcium
acts through a cooperative (sigmoidal) release machinery whose output is bounded by vesicle
recovery and transmitter clearance.

References
----------
- Tsodyks M, Markram H (1997) The neural code between neocortical pyramidal neurons depends on
  neurotransmitter release probability. PNAS 94:719-723. doi:10.1073/pnas.94.2.719
- Dodge FA, Rahamimoff R (1967) Co-operative action of calcium ions in transmitter release at the
  neuromuscular junction. J Physiol 193:419-432. doi:10.1113/jphysiol.1967.sp008367
- Dittman JS, Kreitzer AC, Regehr WG (2000) Interplay between facilitation, depression, and
  residual calcium at three presynaptic terminals. J Neurosci 20:1374-1385.
  doi:10.1523/JNEUROSCI.20-04-01374.2000
- Clements JD et al. (1992) The time course of glutamate in the synaptic cleft. Science
  258:1498-1501. doi:10.1126/science.1359647

Usage: ``python examples/02_release_saturation.py [--quick] [--out DIR]`` (writes
``DIR/release_saturation.png``; ``--quick`` runs short, few-trial simulations on the NumPy target).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from brian2 import uM

import biorate as br
from biorate.plotting import save_figure
from biorate.spiking import measure_release, measure_release_probability


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short simulations (for tests)")
    parser.add_argument("--out", default=".", help="folder for the figure (default: here)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.quick:
        tm_kw = dict(duration="3 s", transient="2 s", trials=10, dt="1 ms")
        ca_kw = dict(duration="0.6 s", transient="0.4 s", trials=4, dt="0.5 ms")
        rates, target = np.array([2.0, 10, 30, 60, 100]), "numpy"
    else:
        tm_kw = dict(duration="20 s", transient="4 s", trials=20, dt="0.5 ms")
        ca_kw = dict(duration="10 s", transient="2 s", trials=10, dt="0.1 ms")
        rates, target = np.concatenate([np.arange(1, 20, 2.0), np.arange(20, 101, 10.0)]), "auto"
    common = dict(seed=args.seed, target=target, progress=not args.quick)
    rate = [f"{r} Hz" for r in rates]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    (ax_a, ax_b), (ax_c, ax_d) = axes

    # A: Tsodyks-Markram, measured against the steady-state theory
    tm = br.load_model("tm_release")
    fine = [f"{r} Hz" for r in np.linspace(rates.min(), rates.max(), 200)]
    for U, color in zip((0.2, 0.5, 0.8), ("C0", "C1", "C2"), strict=True):  # noqa: N806
        model = tm.with_params(U=U)
        curve = measure_release(model, rate=rate, **tm_kw, **common)
        theory = br.theory.release(model, rate=fine)
        ax_a.errorbar(curve.x, curve.y, yerr=curve.y_sem, fmt="o", ms=3.5, color=color,
                      label=f"U = {U:g} (Brian2)")  # fmt: skip
        ax_a.plot(theory.x, theory.y, "-", color=color, lw=1.2)
    ax_a.axhline(1 / tm["tau_rec"], color="0.5", ls="--", lw=1, label="1/tau_rec")
    ax_a.set(title="A  Tsodyks-Markram: measured (dots) vs steady state (lines)",
             xlabel="presynaptic rate (Hz)", ylabel="release rate (pool/s)")  # fmt: skip

    # B: release probability against calcium (calcium clamp) and the residual calcium of trains
    ca = br.load_model("ca_release")
    clamp = measure_release_probability(ca, calcium=np.linspace(0, 8, 161) * uM, target=target)
    ax_b.plot(clamp.x * 1e6, clamp.y, "k-", label="release probability (clamp)")
    ax_b.axvline(ca["K_d"] * 1e3, color="0.5", ls=":", lw=1, label="K_d")
    marks = measure_release(ca, rate=["10 Hz", "30 Hz", "100 Hz"], **ca_kw, **common)
    for c_m, r in zip(marks.series["mean_calcium"][0], (10, 30, 100), strict=True):
        ax_b.plot(c_m * 1e6, np.interp(c_m, clamp.x, clamp.y), "v", ms=8,
                  label=f"mean calcium at {r} Hz")  # fmt: skip
    ax_b.set(title="B  ca_release: Hill function of calcium", xlabel="calcium (uM)",
             ylabel="release probability")  # fmt: skip

    # C: release rate against presynaptic rate for three recovery time constants
    for tau_rec, color in zip(("250 ms", "500 ms", "1 s"), ("C3", "C4", "C5"), strict=True):
        model = ca.with_params(tau_rec=tau_rec)
        curve = measure_release(model, rate=rate, **ca_kw, **common)
        ax_c.errorbar(curve.x, curve.y, yerr=curve.y_sem, fmt="o-", ms=3, color=color,
                      label=f"tau_rec = {tau_rec}")  # fmt: skip
        ax_c.axhline(1 / model["tau_rec"], color=color, ls="--", lw=1)
    ax_c.set(title="C  ca_release: saturation set by vesicle recovery (dashed 1/tau_rec)",
             xlabel="presynaptic rate (Hz)", ylabel="release rate (pool/s)")  # fmt: skip

    # D: mean cleft concentration for three clearance time constants
    for tau_clear, color in zip(("0.6 ms", "1.2 ms", "2.4 ms"), ("C6", "C7", "C8"), strict=True):
        model = ca.with_params(tau_clear=tau_clear)
        curve = measure_release(model, rate=rate, **ca_kw, **common)
        cleft, unit = curve.series["mean_cleft"]
        assert unit == "M"
        ax_d.plot(curve.x, cleft * 1e6, "o-", ms=3, color=color, label=f"tau_clear = {tau_clear}")
        expected = (model["C_pool"] / 1000) * curve.y * model["tau_clear"]  # M
        ax_d.plot(curve.x, expected * 1e6, "--", color=color, lw=1)
    ax_d.set(title="D  mean cleft transmitter (dashed: C_pool x release x tau_clear)",
             xlabel="presynaptic rate (Hz)", ylabel="mean cleft concentration (uM)")  # fmt: skip

    for ax in axes.flat:
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
        ax.title.set_fontsize(9)
    fig.tight_layout()
    path = save_figure(fig, out / "release_saturation.png")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
