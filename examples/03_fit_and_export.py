"""Fit a measured f-I curve and export it as an activation function for a rate network.

What it shows
-------------
A leaky integrate-and-fire neuron with white-noise input (sigma = 2 mV) is measured on Brian2
(``biorate.measure_fi``: mean rate and SEM over trials), then fitted with every form of
``biorate.forms`` by weighted least squares, the best chosen by AIC (Akaike 1974).
Left: the data with SEM error bars, the chosen fit and a sigmoid fit, beside the Siegert prediction
(Siegert 1951; Brunel 2000), with the weighted residuals below.
Middle: model selection, every form's AIC relative to the best (ΔAIC > 10: no support).
Right: how the network sees the exported sigmoid activation. The fit's scaling turns the curve into
the unit-free g(z) = (f(x_offset + x_scale*z) - r0)/y_scale, for a sigmoid exactly the logistic, with
its derivative g'(z) (what backpropagation uses); the top axis maps z back to injected current and
the right axis g back to firing rate, as deployment to spiking neurons does. The shaded band is the
measured range: outside it the activation extrapolates.
The sigmoid's parameters carry standard errors from the covariance and, with ``--bootstrap``,
percentile intervals from a residual bootstrap (Efron 1979). The activation is written as JSON.

Citations
---------
Akaike (1974) IEEE Trans. Autom. Control 19:716-723, doi:10.1109/TAC.1974.1100705.
Efron (1979) Ann. Stat. 7:1-26, doi:10.1214/aos/1176344552.
Siegert (1951) Phys. Rev. 81:617, doi:10.1103/PhysRev.81.617.
Brunel (2000) J. Comput. Neurosci. 8:183-208, doi:10.1023/A:1008925309027.
Naka & Rushton (1966) J. Physiol. 185:536-555, doi:10.1113/jphysiol.1966.sp007992 (the hill form).

Run:  python examples/03_fit_and_export.py [--quick] [--out DIR] [--bootstrap N]
      [--target numpy|cython|auto]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import biorate as br
from biorate.fitting import fit
from biorate.plotting import save_figure


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short simulation (for tests)")
    ap.add_argument("--out", default=".", help="folder for the figure and the activation JSON")
    ap.add_argument("--bootstrap", type=int, default=None,
                    help="bootstrap resamples (default 500, 50 with --quick)")  # fmt: skip
    ap.add_argument("--target", default="auto", choices=["auto", "numpy", "cython"])
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_boot = args.bootstrap if args.bootstrap is not None else (50 if args.quick else 500)

    lif = br.load_model("lif")
    current = "0nA:0.5nA:26" if args.quick else "0nA:0.5nA:51"
    curve = br.measure_fi(lif, current=current, sigma="2 mV",
                          duration="0.4 s" if args.quick else "2 s", trials=4 if args.quick else 10,
                          seed=1, target=args.target, progress=False)  # fmt: skip
    theory = br.theory.fi(lif, current=current, sigma="2 mV")  # same levels as the measurement

    best = fit(curve, "auto")
    sig = fit(curve, "sigmoid", bootstrap=n_boot, seed=0)
    print(best.report())
    print()
    print(sig.report())
    act = sig.activation(name="lif_noise_sigmoid")
    act_path = act.save(out / "03_lif_noise_sigmoid.json")
    print(f"\n{act.describe()}\nwrote {act_path}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(15, 4.8))
    grid = fig.add_gridspec(2, 3, height_ratios=[3, 1], width_ratios=[1.2, 0.8, 1.2],
                            hspace=0.08, wspace=0.3)  # fmt: skip
    ax, axr = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
    xx = np.linspace(curve.x.min(), curve.x.max(), 400)
    ax.errorbar(curve.x * 1e9, curve.y, yerr=curve.y_sem, fmt="o", ms=3, color="k", ecolor="0.5",
                capsize=2, label="Brian2, mean ± SEM")  # fmt: skip
    ax.plot(theory.x * 1e9, theory.y, color="0.6", lw=3, alpha=0.6, label="Siegert theory")
    ax.plot(xx * 1e9, best.predict(xx), color="C3", lw=1.8, label=f"{best.form} (best AIC)")
    ax.plot(xx * 1e9, sig.predict(xx), color="C0", lw=1.5, ls="--",
            label=f"sigmoid (ΔAIC {sig.aic - best.aic:.1f})")  # fmt: skip
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title("LIF, σ = 2 mV: data, fits, theory", fontsize=10)
    ax.legend(fontsize=8)
    ax.tick_params(labelbottom=False)
    for r, color, marker in ((best, "C3", "o"), (sig, "C0", "x")):
        axr.plot(curve.x * 1e9, r.residuals() / r.sigma, marker, ms=3, color=color)
    axr.axhline(0, color="k", lw=0.8)
    axr.set_ylabel("resid. / σ")
    axr.set_xlabel("injected current (nA)")

    axa = fig.add_subplot(grid[:, 1])
    cands = sorted((c for c in best.candidates if c.get("aic") is not None),
                   key=lambda c: c["aic"])  # fmt: skip
    delta = [c["aic"] - best.aic for c in cands]
    axa.barh([c["form"] for c in cands], delta, color=["C3" if c["form"] == best.form else "0.6"
                                                       for c in cands])  # fmt: skip
    axa.axvline(10, color="k", ls=":", lw=0.8)
    axa.invert_yaxis()
    axa.set_xlabel("ΔAIC (relative to the best)")
    axa.set_title("model selection", fontsize=10)

    axg = fig.add_subplot(grid[:, 2])
    z = np.linspace(-8, 8, 400)
    axg.plot(z, act(z), color="C0", lw=2, label="g(z) = logistic(z)")
    axg.plot(z, act.derivative(z), color="C1", ls="--", label="g'(z)")
    lo, hi = act.fit["z_range"]
    axg.axvspan(max(lo, z[0]), min(hi, z[-1]), color="0.92", zorder=0, label="measured range")
    axg.set_xlabel("pre-activation z (unit-free)")
    axg.set_ylabel("g(z)")
    p, e = sig.params, sig.stderr
    ci = sig.ci or {k: (np.nan, np.nan) for k in p}
    axg.set_title("network view of the exported sigmoid", fontsize=10)
    axg.text(0.02, 0.97, "\n".join([
        f"x_half = {p['x_half'] * 1e9:.4f} ± {e['x_half'] * 1e9:.4f} nA",
        f"   95% CI [{ci['x_half'][0] * 1e9:.4f}, {ci['x_half'][1] * 1e9:.4f}]",
        f"width = {p['width'] * 1e9:.4f} ± {e['width'] * 1e9:.4f} nA",
        f"r_max = {p['r_max']:.2f} ± {e['r_max']:.2f} Hz",
        f"r0 = {p['r0']:.2f} ± {e['r0']:.2f} Hz",
        f"R² = {sig.r2:.4f}, red. χ² = {sig.redchi:.2g}",
    ]), transform=axg.transAxes, fontsize=7.5, family="monospace", va="top")  # fmt: skip
    axg.legend(fontsize=8, loc="center right")
    top = axg.secondary_xaxis("top", functions=(lambda q: act.to_x(q) * 1e9,
                                                lambda c: act.to_z(np.asarray(c) * 1e-9)))  # fmt: skip
    top.set_xlabel("current x = x_half + width·z (nA)", fontsize=8)
    right = axg.secondary_yaxis("right", functions=(lambda g: act.to_rate(g),
                                                    lambda y: (np.asarray(y) - act.r0) / act.y_scale))  # fmt: skip
    right.set_ylabel("rate y = r0 + r_max·g (Hz)", fontsize=8)
    fig.subplots_adjust(left=0.05, right=0.95, top=0.86, bottom=0.11)
    path = save_figure(fig, out / "03_fit_and_export.png")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
