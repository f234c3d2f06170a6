"""Units with learned parameters (issue 15, sources 003/004): PReLU (a slope per unit), swish
with a learned beta per unit, and maxout (k linear pieces whose weights live in the projection).

Their gradients, parameters included, are checked by finite differences with every other
built-in in tests/test_network.py (feedforward, residual, feedback by BPTT; three losses) and
tests/test_feedback_volume.py (at the fixed point). Here: the forward pass by hand, the
parameters' shapes, starting values, weight decay, persistence and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import max_relative_error, numerical_grads

from biorate.activation import Activation, get_activation
from biorate.errors import BiorateError, CurveFileError
from biorate.network import RateNetwork


def _data(seed=0, n=7, d=4, k=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n)


def _perturbed(net, seed=1):
    net.initialize()
    rng = np.random.default_rng(seed)
    for k in net.params_:
        net.params_[k] = net.params_[k] + rng.normal(0, 0.2, net.params_[k].shape)
    return net


def test_param_derivatives_match_finite_differences():
    """dg/dalpha (PReLU) and dg/dbeta (swish) against central differences, per unit values
    broadcast along the last axis: measured max error 4e-10 (eps 1e-6)."""
    z = np.linspace(-4, 4, 41).reshape(-1, 1) + np.array([0.0, 0.013, -0.021])
    for name, p, values in [("prelu", "alpha", [0.0, 0.25, 0.7]),
                            ("swish_learned", "beta", [0.5, 1.0, 2.5])]:  # fmt: skip
        act = get_activation(name)
        v = np.array(values)
        eps = 1e-6
        num = (act(z, **{p: v + eps}) - act(z, **{p: v - eps})) / (2 * eps)
        np.testing.assert_allclose(act.param_derivative(p, z, **{p: v}), num, atol=1e-8)
        # the per-unit values are used, not the stored one
        assert not np.allclose(act(z, **{p: v}), act(z))
    with pytest.raises(BiorateError, match="'beta' is not a learned parameter"):
        get_activation("prelu").param_derivative("beta", z)
    with pytest.raises(BiorateError, match="not a learned parameter"):
        get_activation("swish")(z, beta=np.ones(3))  # swish's beta is fixed


def test_prelu_net_by_hand_and_its_slopes():
    X, y = _data()
    net = RateNetwork([4, 5, 3], activation="prelu", seed=0).initialize()
    p = net.params_
    np.testing.assert_array_equal(p["alpha1"], np.full(5, 0.25))  # He et al. 2015 start at 0.25
    assert "alpha2" not in p  # the linear output applies no g
    assert net.graph_.parameter_count() == sum(v.size for v in p.values()) == 5 * 5 + 3 * 6 + 5
    p["alpha1"] = np.array([0.0, 0.1, 0.2, 0.5, 1.0])
    z = X @ p["W0_1"] + p["b1"]
    h = np.where(z > 0, z, p["alpha1"] * z)
    np.testing.assert_allclose(net.forward(X), h @ p["W1_2"] + p["b2"], rtol=1e-13)
    # no weight decay on the slopes (He et al. 2015): l2 changes the weights' gradients only
    g0 = net.loss_and_grads(X, y)[1]
    decayed = RateNetwork([4, 5, 3], activation="prelu", seed=0, l2=0.5)
    decayed.params_ = p
    g1 = decayed.loss_and_grads(X, y)[1]
    np.testing.assert_array_equal(g1["alpha1"], g0["alpha1"])
    np.testing.assert_allclose(g1["W0_1"] - g0["W0_1"], (0.5 - 1e-4) * p["W0_1"], rtol=1e-12)


def test_maxout_net_by_hand_and_its_pieces():
    X, y = _data()
    net = _perturbed(RateNetwork([4, 5, 6, 3], activation=Activation.builtin("maxout", k=3),
                                 seed=0))  # fmt: skip
    p = net.params_
    assert p["W0_1"].shape == (4, 15) and p["b1"].shape == (15,)  # k columns per unit
    assert p["W1_2"].shape == (5, 18) and p["W2_3"].shape == (6, 3)  # the output: one per class
    h1 = (X @ p["W0_1"] + p["b1"]).reshape(-1, 5, 3).max(axis=2)
    h2 = (h1 @ p["W1_2"] + p["b2"]).reshape(-1, 6, 3).max(axis=2)
    np.testing.assert_allclose(net.forward(X), h2 @ p["W2_3"] + p["b3"], rtol=1e-13)
    # gradients reach only the largest piece of each unit: every entry by finite differences
    _, grads, _ = net.loss_and_grads(X, y, offset=0.0)
    assert max_relative_error(grads, numerical_grads(net, X, y, net.params_)) < 1e-6
    # a maxout unit is never dead: its largest piece passes gradient
    hist = RateNetwork([4, 5, 3], activation="maxout", seed=0).fit(X, y, epochs=2)
    assert hist.dead_fraction == [0.0, 0.0]


@pytest.mark.parametrize("k, match", [(2.5, "must be a whole number"), (1.0, "out of range"),
                                      (40.0, "out of range")])  # fmt: skip
def test_maxout_pieces_are_a_whole_number_from_2_to_16(k, match):
    with pytest.raises(CurveFileError, match=match):
        Activation.builtin("maxout", k=k)


@pytest.mark.parametrize("name", ["prelu", "swish_learned", "maxout"])
def test_learned_units_train_save_and_load(tmp_path, name):
    from biorate.datasets import load_dataset

    d = load_dataset("xor")
    net = RateNetwork([2, 6, 6, 2], activation=name, connectivity="residual", seed=2, batch_size=32)
    net.fit(d.X_train, d.y_train, epochs=5)
    learned = [k for k in net.params_ if k.startswith(("alpha", "beta"))]
    assert len(learned) == (2 if name != "maxout" else 0)
    start = float(
        get_activation(name).params.get("alpha", get_activation(name).params.get("beta", 0))
    )
    for k in learned:  # every unit's parameter moved from where it started
        assert np.all(net.params_[k] != start), k
    back = RateNetwork.load(net.save(tmp_path / "net.npz"))
    np.testing.assert_array_equal(back.forward(d.X_test), net.forward(d.X_test))
    for k, v in net.params_.items():
        np.testing.assert_array_equal(back.params_[k], v)


def test_learned_units_are_refused_by_deploy_with_the_reason(tmp_path, cli):
    """A learned slope or a max over pieces is not a curve a spiking neuron was measured on."""
    for name in ("prelu", "maxout", "swish_learned"):
        path = RateNetwork([2, 3, 2], activation=name, seed=0).initialize().save(tmp_path / "n.npz")
        code, out, err = cli("deploy", path, "--dataset", "xor", "--quiet")
        assert code == 2 and "no spiking origin" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value, match", [(np.zeros(5), r"alpha has shape \(5,\), which does not "
                                           r"broadcast to z's shape \(3, 4\)"),
                                          (np.zeros((3, 1, 4)), "does not broadcast to z's shape"),
                                          ([0.1, "x", 0.2, 0.3], "takes numbers, got strings"),
                                          (None, "takes numbers, got None"),
                                          (np.full(4, np.nan), "alpha holds NaN or inf")])  # fmt: skip
def test_per_unit_values_are_checked(value, match):
    """Campaign 4 (A3): a wrong shape or type gave NumPy's ValueError/UFuncTypeError/TypeError,
    NaN passed silently."""
    from biorate.errors import DataError

    act = get_activation("prelu")
    z = np.zeros((3, 4))
    for call in (act, act.derivative, lambda z, **kw: act.param_derivative("alpha", z, **kw)):
        with pytest.raises(DataError, match=match):
            call(z, alpha=value)
