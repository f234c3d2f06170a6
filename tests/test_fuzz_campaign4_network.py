"""Campaign 4's findings on the network side (issue 18): each a specific error, one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biorate.errors import NetworkError
from biorate.network import RateNetwork


def _xy(n=12, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.arange(n) % k


@pytest.mark.parametrize("y, match", [(np.full(12, 7), r"labels must lie in \[0, 1\]"),
                                      (np.arange(12) % 2 + 0.5, "must be integers"),
                                      (np.zeros(5, dtype=int), "one per row of X")])  # fmt: skip
def test_loss_and_grads_checks_its_labels_as_score_does(y, match):
    X, _ = _xy()
    net = RateNetwork([3, 4, 2], seed=0).initialize()
    with pytest.raises(Exception, match=match) as info:
        net.score(X, y)
    with pytest.raises(type(info.value), match=match):
        net.loss_and_grads(X, y)


@pytest.mark.parametrize("kw, match", [
    ({"fixed_point_tol": 1e-300}, "fixed_point_tol must be from 1e-16"),
    ({"fixed_point_max_iter": 10**12}, "fixed_point_max_iter must be at most 100,000"),
    ({"max_loop_gain": 1.0}, r"^max_loop_gain must be in \(0, 1\), got 1$"),
    ({"alpha": 1e-320}, r"alpha = dt/tau must be in \[1e-06, 1\]"),
])  # fmt: skip
def test_dynamics_that_cannot_finish_or_move_are_refused(kw, match):
    """A tolerance below rounding noise never converges (every solve ran 1e12 steps: a hang); an
    alpha of 1e-320 left the state at rest (chance accuracy reported as converged)."""
    with pytest.raises(NetworkError, match=match):
        RateNetwork([3, 4, 4, 2], connectivity="feedback", training="fixed_point", **kw)


def test_saved_values_that_cannot_finish_are_refused_on_load(tmp_path):
    X, y = _xy()
    net = RateNetwork([3, 4, 4, 2], connectivity="feedback", training="fixed_point", seed=0)
    net.fit(X, y, epochs=2)
    path = net.save(tmp_path / "n.npz")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arch = json.loads(str(arrays["architecture"][()]))
    for key, value, match in [("fixed_point_tol", 1e-300, "fixed_point_tol"),
                              ("fixed_point_max_iter", 10**12, "fixed_point_max_iter")]:  # fmt: skip
        bad = json.loads(json.dumps(arch))
        bad["args"][key] = value
        np.savez(tmp_path / "bad.npz", **{**arrays, "architecture": np.array(json.dumps(bad))})
        with pytest.raises(NetworkError, match=match):
            RateNetwork.load(tmp_path / "bad.npz")
    bad = json.loads(json.dumps(arch))
    bad["history"]["epochs"] = 10**12
    np.savez(tmp_path / "bad.npz", **{**arrays, "architecture": np.array(json.dumps(bad))})
    with pytest.raises(NetworkError, match="but the history records 2 epochs"):
        RateNetwork.load(tmp_path / "bad.npz")
    bad["history"] = {**arch["history"], "bogus": [1, 2]}
    np.savez(tmp_path / "bad.npz", **{**arrays, "architecture": np.array(json.dumps(bad))})
    with pytest.raises(NetworkError, match="bogus"):
        RateNetwork.load(tmp_path / "bad.npz")


def test_a_dict_connectivity_says_what_it_is():
    with pytest.raises(NetworkError, match="not a dict"):
        RateNetwork([3, 4, 2], connectivity={"populations": [3, 4, 2], "projections": []})


def test_a_graph_of_more_projections_than_can_train_is_refused_at_once():
    """40,400 projections trained at 57 s an epoch on xor (about 3 h for the default cap)."""
    projs = [(s, d) for d in range(1, 102) for s in range(102)]
    with pytest.raises(NetworkError, match="10,302 projections, more than 5,000"):
        RateNetwork([2] + [2] * 100 + [2], connectivity=projs)


def test_named_volumes_are_capped_too_and_old_small_alphas_still_load(tmp_path):
    """The projection cap applies to a named volume (120 layers: 14,521 projections); alpha and
    tol floors sit below what earlier versions wrote (alpha 5e-4: dt 0.1 ms, tau 200 ms; tol
    1e-15), and BPTT that cannot leave rest warns."""
    import warnings

    from biorate.errors import BiorateWarning

    with pytest.raises(NetworkError, match="14,521 projections, more than 5,000"):
        RateNetwork([2] + [2] * 120 + [2], connectivity="volume")
    X, y = _xy()
    net = RateNetwork([3, 4, 4, 2], connectivity="feedback", alpha=5e-4, fixed_point_tol=1e-15,
                      seed=0)  # fmt: skip
    with pytest.warns(BiorateWarning, match="moves at most 0.005 of the way"):
        net.fit(X, y, epochs=1)
    back = RateNetwork.load(net.save(tmp_path / "n.npz"))
    assert back.alpha == 5e-4 and back.fixed_point_tol == 1e-15
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ten steps at 0.5 reach 99.9 %: no warning
        RateNetwork([3, 4, 4, 2], connectivity="feedback", seed=0).fit(X, y, epochs=1)
