"""Tests for biorate.deploy: the rate -> spiking mapping (exact algebra), tie rule, refusals, and
Brian2 runs on tiny networks (NumPy target) whose spiking rates are compared with the rate
network's predictions under tolerances derived from spike-count statistics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from biorate.activation import Activation, get_activation
from biorate.deploy import (
    DeployError,
    activity_summands,
    decide,
    deploy,
    effective_weights,
    rate_states,
    spiking_origin,
    synaptic_mapping,
)
from biorate.errors import BiorateError, NetworkError
from biorate.network import Projection, RateNetwork


def _act() -> Activation:
    """The shipped noisy-LIF activation (fitted from Brian2 runs of models/neurons/lif.toml)."""
    return get_activation("lif_noise")


def _random_net(sizes, connectivity, seed=0, **kw) -> RateNetwork:
    net = RateNetwork(sizes, activation=_act(), connectivity=connectivity, seed=seed, **kw)
    net.initialize()
    rng = np.random.default_rng(seed + 1)
    for k in net.params_:
        net.params_[k] = rng.normal(0.0, 0.5, net.params_[k].shape)
    return net


GRAPHS = {
    "feedforward": ([5, 4, 4, 3], "feedforward"),
    "residual": ([5, 4, 4, 4, 3], "residual"),
    "feedback": ([5, 4, 4, 3], "feedback"),
    # a learned skip (sizes differ), a skip from the input, and a skip chain 1 -> 2 -> 3
    "skips": (
        [5, 4, 6, 6, 3],
        [(0, 1), (1, 2), (2, 3), (3, 4), (1, 2, "skip"), (2, 3, "skip"), (0, 3, "skip")],
    ),  # fmt: skip
}


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_rate_states_reproduce_forward(graph):
    sizes, conn = GRAPHS[graph]
    net = _random_net(sizes, conn, steps=4)
    X = np.random.default_rng(3).uniform(0, 1, (7, sizes[0]))
    z, h = rate_states(net, X)
    np.testing.assert_allclose(h[-1], net.forward(X), rtol=1e-12, atol=1e-12)
    assert z[0] is None and len(z) == len(sizes)


@pytest.mark.parametrize("graph", ["feedforward", "residual", "skips"])
def test_effective_weights_route_skips_exactly(graph):
    """Acyclic graphs: z_d = b_d + x E_0d + sum_q g(z_q) E_qd must equal the rate network's z_d,
    i.e. the skip summands are routed to every downstream projection (the step where conversion
    toolboxes lose accuracy)."""
    sizes, conn = GRAPHS[graph]
    net = _random_net(sizes, conn)
    X = np.random.default_rng(4).uniform(0, 1, (6, sizes[0]))
    z, _ = rate_states(net, X)
    E = effective_weights(net)
    g = [X] + [net.activation_(z[p]) for p in range(1, len(sizes))]
    for d in range(1, len(sizes)):
        zd = net.params_[f"b{d}"] + sum(g[q] @ M for (q, dd), M in E.items() if dd == d)
        np.testing.assert_allclose(zd, z[d], rtol=1e-10, atol=1e-10)
    if graph == "skips":  # h3 = g3 + g2 + (g1 P12 ... ) + x: four summands reach population 4
        assert {q for (q, d) in E if d == 4} == {0, 1, 2, 3}
        assert set(activity_summands(net)[3]) == {0, 1, 2, 3}


def test_mapping_turns_rates_into_the_fitted_input_current():
    """Round trip through physical units: with every neuron firing at r = r0 + y_scale*g(z), the
    bias plus the mean synaptic current sum_j q_jk r_j plus the input current is exactly
    x_offset + x_scale*z for every unit (residual graph, so skips are included)."""
    sizes, conn = GRAPHS["skips"]
    net = _random_net(sizes, conn)
    act = net.activation_
    X = np.random.default_rng(5).uniform(0, 1, (4, sizes[0]))
    z, _ = rate_states(net, X)
    m = synaptic_mapping(act, net)
    rates = [None] + [act.to_rate(act(z[p])) for p in range(1, len(sizes))]
    for d in range(1, len(sizes)):
        current = m["bias"][d] + X @ m["input"].get(d, np.zeros((sizes[0], sizes[d])))
        current = current + sum(rates[q] @ Q for (q, dd), Q in m["charge"].items() if dd == d)
        np.testing.assert_allclose(current, act.to_x(z[d]), rtol=1e-9, atol=1e-20)
    # charges are coulombs: x_scale (A) / y_scale (Hz) per unit weight
    (q, d), Q = next(iter(m["charge"].items()))
    W = effective_weights(net)[(q, d)]
    np.testing.assert_allclose(Q, W * act.x_scale / act.y_scale)


def test_decide_breaks_ties_by_first_spike_and_marks_silence():
    counts = np.array([[3, 5, 1], [4, 4, 0], [4, 4, 0], [0, 0, 0], [2, 0, 2]])
    first = np.array([[0.1, 0.2, 0.3], [0.05, 0.01, np.inf], [0.01, 0.05, np.inf],
                      [np.inf] * 3, [0.3, np.inf, 0.2]])  # fmt: skip
    np.testing.assert_array_equal(decide(counts, first), [1, 1, 0, -1, 2])


def test_builtin_activation_is_refused_with_the_reason(tmp_path, cli):
    net = RateNetwork([2, 3, 2], activation="relu", seed=0).initialize()
    with pytest.raises(DeployError, match="no spiking origin"):
        deploy(net, np.zeros((1, 2)), target="numpy", progress=False)
    assert issubclass(DeployError, NetworkError)
    path = net.save(tmp_path / "relu.npz")
    code, out, err = cli("deploy", path, "--dataset", "xor", "--quiet")
    assert code == 2 and "no spiking origin" in err and len(err.strip().splitlines()) == 1


def test_activation_without_a_current_driven_fi_curve_is_refused():
    act = _act()
    poisson = Activation(**{**_source_kwargs(act), "source": {**act.source, "protocol": {
        **act.source["protocol"], "drive": "poisson"}}})  # fmt: skip
    with pytest.raises(DeployError, match="drive='current'"):
        spiking_origin(poisson)
    with pytest.raises(DeployError, match="no source model"):
        spiking_origin(Activation(**{**_source_kwargs(act), "source": None}))
    unknown = {**act.source, "model": {"name": "no_such_neuron", "params": {}}}
    with pytest.raises(DeployError, match="cannot be loaded"):
        spiking_origin(Activation(**{**_source_kwargs(act), "source": unknown}))
    origin = spiking_origin(act)
    assert origin.model.name == "lif" and origin.sigma_v == pytest.approx(2e-3)


def _source_kwargs(act: Activation) -> dict:
    return {k: getattr(act, k) for k in ("form", "params", "x_scale", "x_offset", "y_scale",
                                         "x_unit", "y_unit", "fit", "source", "name")}  # fmt: skip


def test_corrupt_network_file_gives_one_line(tmp_path, cli):
    bad = tmp_path / "net.npz"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    code, out, err = cli("deploy", bad, "--quiet")
    assert code == 2 and err.startswith("biorate: error:") and len(err.strip().splitlines()) == 1


def test_bad_arguments_are_refused():
    net = _random_net([3, 2, 2], "feedforward")
    X = np.full((1, 3), 0.5)
    for kw, msg in [({"encoding": "morse"}, "encoding"), ({"neurons_per_unit": 0}, "neurons"),
                    ({"durations": ["-5 ms"]}, "positive"), ({"durations": [0.1]}, "unit"),
                    ({"transient": "1 s", "durations": ["100 ms"]}, "transient")]:  # fmt: skip
        with pytest.raises(BiorateError, match=msg):
            deploy(net, X, target="numpy", progress=False, **kw)


def _z_at_rate(act: Activation, rate_hz: float) -> float:
    """Pre-activation z at which the fitted curve predicts ``rate_hz`` (bisection; g increases)."""
    lo, hi = act.fit["z_range"]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if act.to_rate(act(mid)) < rate_hz else (lo, mid)
    return 0.5 * (lo + hi)


def _tiny_net(seed=1) -> RateNetwork:
    """[4, 20, 3] with weights and biases chosen so that the hidden units fire at about 0-150 Hz,
    inside the range of currents the activation was fitted on (a test of the mapping, not of the
    fit's extrapolation), whatever the scaling of the shipped activation."""
    rng = np.random.default_rng(seed)
    net = RateNetwork([4, 20, 3], activation=_act(), seed=0).initialize()
    act = net.activation_
    z0, z1 = _z_at_rate(act, 5.0), _z_at_rate(act, 120.0)  # design unit u: 0 -> 5 Hz, 1 -> 120 Hz
    net.params_["W0_1"] = (z1 - z0) * rng.uniform(-0.1, 0.3, (4, 20))
    net.params_["b1"] = z0 + (z1 - z0) * rng.uniform(0.0, 0.4, 20)
    # output: spread of about z1 - z0 around the 40 Hz point
    X = rng.uniform(0, 1, (50, 4))
    g1 = act(net.params_["b1"] + X @ net.params_["W0_1"])
    W = rng.normal(0.0, 1.0, (20, 3))
    W *= (z1 - z0) / np.std(g1 @ W)
    net.params_["W1_2"] = W
    net.params_["b2"] = _z_at_rate(act, 40.0) - (g1 @ W).mean(axis=0)
    return net


def test_tiny_net_spiking_rates_match_the_rate_prediction():
    """Hidden neurons receive exactly the constant current + white noise of the protocol the
    activation was fitted on, so their rates must match r0 + y_scale*g(z) up to

    - counting noise: a renewal process's count over a window W has variance CV^2 * r * W with
      CV <= 1 for the noisy LIF (Poisson-like below threshold, more regular above), so the rate's
      standard deviation is at most sqrt(r/W); we allow 4 of those per neuron (200 neurons: a
      Gaussian 4-sigma excursion has probability ~1e-2 in all, and the seed is fixed), and
      4*sqrt(sum r / W)/N for the mean over all N neurons;
    - the fit's own error, the activation's recorded RMSE (Hz), twice per neuron and once for the
      mean (the fit's residuals are systematic in x, not averaged away).
    """
    net = _tiny_net()
    act = net.activation_
    X = np.random.default_rng(2).uniform(0, 1, (10, 4))
    z, _ = rate_states(net, X)
    lo, hi = act.fit["z_range"]
    assert lo <= z[1].min() and z[1].max() <= hi  # designed inside the fitted range
    assert act.to_rate(act(z[1])).max() < 200  # and at moderate rates
    W = 0.5  # measuring window (s), after a 100 ms transient
    rep = deploy(net, X, None, durations=["600 ms"], transient="100 ms", target="numpy",
                 progress=False, seed=3)  # fmt: skip
    s = rep["samples"]["scatter"]["h1"]
    pred, spk = np.array(s["predicted_hz"]), np.array(s["spiking_hz"])
    assert pred.size == 10 * 20
    np.testing.assert_allclose(pred, act.to_rate(act(z[1])).ravel(), rtol=1e-3, atol=1e-3)
    rmse = act.fit["rmse"]
    tol = 4 * np.sqrt(np.maximum(pred, 1.0) / W) + 2 * rmse
    assert np.all(np.abs(spk - pred) <= tol), np.max(np.abs(spk - pred) - tol)
    assert abs(spk.mean() - pred.mean()) <= 4 * np.sqrt(pred.clip(1).sum() / W) / pred.size + rmse
    h1 = rep["populations"][0]
    assert h1["correlation"] > 0.98 and h1["rmse_hz"] < 2 * rmse + np.sqrt(pred.mean() / W)
    # the output population is driven by synapses: their shot noise adds input variance to the
    # white noise the curve was fitted with (raising rates near threshold), so only the ordering
    # is required to survive: correlated with the prediction (30 points; measured ~0.83)
    assert rep["populations"][1]["correlation"] > 0.7


def test_neurons_per_unit_and_poisson_encoding_keep_the_mean_current():
    """With 3 neurons per unit each synapse carries 1/3 of the charge, and Poisson inputs deliver
    the same mean current as constant ones: hidden rates still track the prediction."""
    net = _tiny_net()
    X = np.random.default_rng(2).uniform(0, 1, (4, 4))
    for kw in ({"neurons_per_unit": 3}, {"encoding": "poisson", "input_rate": "400 Hz"}):
        rep = deploy(net, X, None, durations=["400 ms"], transient="100 ms", target="numpy",
                     progress=False, seed=4, **kw)  # fmt: skip
        s = rep["samples"]["scatter"]["h1"]
        pred, spk = np.array(s["predicted_hz"]), np.array(s["spiking_hz"])
        assert rep["populations"][0]["neurons_per_image"] == 20 * kw.get("neurons_per_unit", 1)
        assert rep["populations"][0]["correlation"] > 0.95, kw
        # mean over 80 units: counting noise ~sqrt(60/0.3/80) ~ 1.6 Hz; Poisson input shot noise
        # adds input variance (raising rates near threshold), allow 5 Hz + the fit RMSE
        assert abs(spk.mean() - pred.mean()) < 5 + net.activation_.fit["rmse"], kw


def test_trained_digits_net_keeps_its_accuracy_as_spikes(tmp_path, cli):
    """A small feedforward net trained on digits with the fitted LIF activation: on 60 test
    images the spiking decisions at 200 ms mostly agree with the rate network's (>= 90 %, i.e. at
    most 6 images differ), and the CLI writes the report and the figure."""
    from biorate.datasets import load_dataset

    data = load_dataset("digits")
    net = RateNetwork([64, 32, 10], activation="lif_noise", seed=0)
    net.fit(data.X_train, data.y_train, epochs=15)
    path = net.save(tmp_path / "net.npz")
    report, fig = tmp_path / "spiking.json", tmp_path / "deploy.png"
    code, out, err = cli("deploy", path, "--duration", "200ms", "--images", "60", "--target",
                         "numpy", "--report", report, "--plot", fig, "--quiet")  # fmt: skip
    assert code == 0, err
    rep = json.loads(report.read_text())
    assert rep["durations_s"] == [0.05, 0.1, 0.2]
    assert rep["n_test"] == 60 and rep["test_accuracy"] == rep["spiking_accuracy"][-1]
    assert rep["rate_test_accuracy"] == pytest.approx(
        net.evaluate(data.X_test[:60], data.y_test[:60])["accuracy"]
    )
    assert rep["agreement"][-1] >= 0.9
    assert rep["test_accuracy"] >= rep["rate_test_accuracy"] - 0.1
    assert rep["populations"][0]["correlation"] > 0.9
    assert rep["mapping"]["model"]["name"] == "lif" and rep["mapping"]["sigma_V"] == 0.002
    assert rep["provenance"]["command"].startswith("biorate ")  # sys.argv of this process
    assert fig.stat().st_size > 20_000


def test_residual_and_feedback_nets_deploy():
    """Both graphs run and report finite numbers (their accuracy is reported, not required);
    the feedback report includes the rate dynamics' fixed point."""
    X = np.random.default_rng(6).uniform(0, 1, (3, 5))
    y = np.array([0, 1, 2])
    for graph in ("residual", "feedback"):
        sizes, conn = GRAPHS[graph]
        net = _random_net(sizes, conn)
        for k in net.params_:
            net.params_[k] *= 0.3  # keep the feedback loop tame
        rep = deploy(net, X, y, durations=["60 ms", "120 ms"], target="numpy", progress=False)
        assert len(rep["spiking_accuracy"]) == 2
        assert all(math.isfinite(p["rmse_hz"]) for p in rep["populations"])
        assert (rep["rate_fixed_point"] is not None) == (graph == "feedback")
        json.dumps(rep, allow_nan=False)


def test_projection_reading_the_linear_output_is_refused():
    net = RateNetwork([3, 2, 2], activation=_act(), seed=0,
                      connectivity=[Projection(0, 1), Projection(1, 2), Projection(2, 1)])  # fmt: skip
    net.initialize()
    with pytest.raises(DeployError, match="linear"):
        deploy(net, np.zeros((1, 3)), target="numpy", progress=False)


def test_skip_into_the_output_is_refused_not_silently_dropped():
    # output spike counts follow the output's own input current; a skip adding to its activity
    # (h_out = z_out + h_1 P) would change the rate net's answer but never reach the neurons
    net = _random_net([3, 2, 2], [Projection(0, 1), Projection(1, 2), Projection(1, 2, "skip")])
    with pytest.raises(DeployError, match="skip projection adds to the output"):
        activity_summands(net)


def test_presentation_times_as_quantity_arrays_and_strings():
    from brian2 import ms

    from biorate.deploy import _durations

    assert _durations([50, 100] * ms) == pytest.approx([0.05, 0.1])
    assert _durations("100 ms,50ms") == pytest.approx([0.05, 0.1])
    assert _durations(["200 ms", 0.5 * ms * 1000]) == pytest.approx([0.2, 0.5])
    with pytest.raises(BiorateError):
        _durations([0, 10] * ms)
