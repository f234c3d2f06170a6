"""Transfer-curve figures: the panels shown and the numbers drawn in the deviation panel."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_figures_leave_matplotlib_alone_and_draw_where_asked():
    """Figures are built without pyplot: the backend stays the user's and pyplot's list of open
    figures stays empty. Without ``ax`` a figure lays itself out (tight_layout moves the subplot
    margins off matplotlib's defaults); with ``ax`` it draws on the user's axes and returns their
    figure, leaving its layout alone."""
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from biorate.activation import get_activation
    from biorate.network import History
    from biorate.plotting import plot_activation, plot_history

    backend, before = matplotlib.get_backend(), plt.get_fignums()
    hist = History(loss=[1.0, 0.5], accuracy=[0.5, 0.8], grad_norm={"h1": [1.0, 0.5]},
                   saturated_fraction=[0.1, 0.2], dead_fraction=[0.0, 0.0])  # fmt: skip
    curve = _curve(cv=np.full(11, 0.5))
    theory = [("theory", TransferCurve("fi", curve.x, curve.y * 1.02, "A", "Hz"))]
    figs = {"curve": (plot_curve(curve, theory), 3), "history": (plot_history(hist), 4),
            "activation": (plot_activation(get_activation("sigmoid")), 2)}  # fmt: skip
    for name, (fig, panels) in figs.items():
        assert isinstance(fig, Figure) and len(fig.axes) >= panels, name
        assert fig.subplotpars.left != matplotlib.rcParams["figure.subplot.left"], name
    assert matplotlib.get_backend() == backend and plt.get_fignums() == before

    mine = Figure()
    axes = mine.subplots(1, 4)
    assert plot_history(hist, ax=axes) is mine
    assert [len(a.lines) for a in axes] == [
        1,
        1,
        1,
        2,
    ]  # train loss, accuracy, one norm, two fractions
    assert mine.subplotpars.left == matplotlib.rcParams["figure.subplot.left"]  # layout untouched
    mine = Figure()
    axes = mine.subplots(3, 1)
    assert plot_curve(curve, theory, ax=axes) is mine and len(axes[1].lines) == 2  # deviation + 0
    with pytest.raises(ValueError, match="draws 3 panel"):
        plot_curve(curve, theory, ax=axes[:2])
