"""Transfer-curve figures: the panels shown and the numbers drawn in the deviation panel."""

from __future__ import annotations

import numpy as np

from biorate.curve import TransferCurve
from biorate.plotting import plot_curve


def _curve(cv=None):  # noqa: ANN001, ANN202
    x = np.linspace(0, 1e-9, 11)
    y = np.array([0, 0, 5, 20, 40, 60, 80, 100, 120, 140, 160.0])
    return TransferCurve("fi", x, y, "A", "Hz", y_sem=np.full(11, 1.0), cv=cv,
                         model={"name": "lif"}, protocol={"trials": 3, "sigma_V": 0.0})  # fmt: skip


def test_deviation_panel_shows_sim_over_theory_minus_one(tmp_path):
    curve = _curve(cv=np.full(11, 1e-7))
    theory = TransferCurve("fi", curve.x, curve.y * 1.02, "A", "Hz")  # sim 2% below it
    fig = plot_curve(curve, [("theory", theory)])
    main, deviation, cv = fig.axes
    dev = deviation.lines[0].get_ydata()
    shown = theory.y > 0.02 * theory.y.max()  # levels where the theory is resolved
    np.testing.assert_allclose(dev[shown], 100 * (1 / 1.02 - 1), rtol=1e-12)
    assert np.all(np.isnan(dev[~shown]))
    assert cv.get_ylim() == (0.0, 0.1)  # a regular train's CV of 1e-7 is drawn as the 0 it is
    assert main.get_title().endswith("sigma = 0 mV")
    assert [len(plot_curve(curve).axes), len(plot_curve(_curve()).axes)] == [2, 1]
    path = plot_curve(curve, [("theory", theory)], path=tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG" and path is not None


def test_reference_levels_are_drawn_in_display_units():
    curve = TransferCurve("release", np.linspace(1, 100, 5), np.array([0.1, 1.5, 1.8, 1.9, 1.95]),
                          "Hz", "1/s", model={"name": "ca_release"})  # fmt: skip
    fig = plot_curve(curve, hlines=[("pool cap 1/tau_rec", 2.0)])
    (ax,) = fig.axes
    cap = [line for line in ax.lines if line.get_label() == "pool cap 1/tau_rec"]
    assert len(cap) == 1 and np.all(np.asarray(cap[0].get_ydata()) == 2.0)
    assert ax.get_ylabel() == "release rate, pool fraction (1/s)"
    assert ax.get_title() == "ca_release release rate curve"
