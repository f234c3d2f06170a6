"""Firing-rate transfer curves of spiking neurons beside their theory.

What it shows
-------------
Left: the f-I curve of a current-based leaky integrate-and-fire (LIF) neuron, measured on Brian2
for three noise levels, each beside its analytic prediction: the closed-form noise-free rate and the
Siegert formula for white-noise input (Siegert 1951; Brunel 2000). Noise smooths the hard threshold
into a sigmoid-like onset -- the "firing-rate saturation" that a sigmoid activation stands for --
and the refractory period bounds the rate from above.
Middle: rate in -> rate out. The same LIF driven by 1000 Poisson inputs (diffusion approximation
beside it), and a conductance-based LIF with excitatory and inhibitory Poisson inputs whose rate
saturates because conductances pull the membrane towards their reversal potentials (Kuhn, Aertsen
& Rotter 2004).
Right: the adaptive LIF's f-I curve, flattened by its spike-triggered adaptation current
(Benda & Herz 2003).

Citations
---------
Siegert (1951) Phys. Rev. 81:617, doi:10.1103/PhysRev.81.617.
Brunel (2000) J. Comput. Neurosci. 8:183-208, doi:10.1023/A:1008925309027.
Kuhn, Aertsen & Rotter (2004) J. Neurosci. 24:2345-2356, doi:10.1523/JNEUROSCI.3349-03.2004.
Benda & Herz (2003) Neural Comput. 15:2523-2564, doi:10.1162/089976603322385063.

Run:  python examples/01_fi_curves.py [--quick] [--out DIR] [--target numpy|cython|auto]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import biorate as br
from biorate.plotting import save_figure


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short simulations (for tests)")
    ap.add_argument("--out", default=".", help="folder for the figure")
    ap.add_argument("--target", default="auto", choices=["auto", "numpy", "cython"])
    args = ap.parse_args(argv)
    n, duration, trials = (11, "0.5 s", 3) if args.quick else (41, "2 s", 10)
    common = dict(
        duration=duration, trials=trials, seed=1, target=args.target, progress=not args.quick
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    lif = br.load_model("lif")
    fine = [f"{c} nA" for c in np.linspace(0, 0.5, 200)]
    for sigma, color in (("0 mV", "k"), ("2 mV", "C0"), ("5 mV", "C1")):
        curve = br.measure_fi(lif, current=f"0nA:0.5nA:{n}", sigma=sigma, **common)
        th = br.theory.fi(lif, current=fine, sigma=sigma)
        axes[0].errorbar(curve.x * 1e9, curve.y, curve.y_sem, fmt="o", ms=3, color=color,
                         label=f"Brian2, sigma = {sigma}")  # fmt: skip
        axes[0].plot(th.x * 1e9, th.y, "-", color=color, lw=1, alpha=0.8)
    axes[0].set(xlabel="injected current (nA)", ylabel="firing rate (Hz)",
                title="LIF f-I curve (lines: theory)")  # fmt: skip

    rates = f"0Hz:30Hz:{n}"
    curve = br.measure_fi(lif, rate=rates, drive="poisson", **common)
    th = br.theory.fi(lif, drive="poisson", rate=[f"{r} Hz" for r in np.linspace(0, 30, 200)])
    axes[1].errorbar(curve.x, curve.y, curve.y_sem, fmt="o", ms=3, color="C0",
                     label="LIF, 1000 inputs x 0.1 mV")  # fmt: skip
    axes[1].plot(th.x, th.y, "-", color="C0", lw=1, label="diffusion approximation")
    cond = br.measure_fi("cond_lif", rate=f"0Hz:100Hz:{n}", drive="poisson", **common)
    axes[1].errorbar(cond.x, cond.y, cond.y_sem, fmt="s-", ms=3, color="C3",
                     label="conductance LIF, 800 exc + 200 inh")  # fmt: skip
    axes[1].set(xlabel="rate of each Poisson input (Hz)", ylabel="output rate (Hz)",
                title="rate in -> rate out")  # fmt: skip

    for name, color in (("lif", "k"), ("adaptive_lif", "C2")):
        curve = br.measure_fi(
            name, current=f"0nA:0.5nA:{n}", sigma="2 mV", transient="500 ms", **common
        )
        axes[2].errorbar(
            curve.x * 1e9, curve.y, curve.y_sem, fmt="o-", ms=3, color=color, label=name
        )
    axes[2].set(xlabel="injected current (nA)", ylabel="firing rate (Hz)",
                title="spike-triggered adaptation, sigma = 2 mV")  # fmt: skip
    for ax in axes:
        ax.legend(frameon=False, fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(args.out) / "01_fi_curves.png"
    save_figure(fig, out)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
