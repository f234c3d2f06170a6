"""Feedback that survives as spikes (issue 14): fixed-point training (implicit differentiation of
the rate dynamics' equilibrium), the ``volume`` connectivity, graph files, the saved graph checked
on load, and both deployed to Brian2 (NumPy target, tiny nets)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict

import numpy as np
import pytest
from network_helpers import max_relative_error, numerical_grads

from biorate.errors import NetworkError
from biorate.network import Projection, RateNetwork, build_projections, dynamics, equilibrium
from biorate.network.graph import feedback_cycle

X4 = np.random.default_rng(3).uniform(0, 1, (6, 4))
Y4 = np.array([0, 1, 2, 0, 1, 2])
CUSTOM = [(0, 1), (1, 2), (2, 3), (3, 4), (2, 2), (3, 1), (1, 3, "skip"), (0, 2, "skip")]


def _net(connectivity, sizes=(4, 5, 5, 5, 3), activation="sigmoid", scale=0.8, seed=0, **kw):
    """A float64 net with random weights of std ``scale`` and a tight fixed point."""
    kw = {"training": "fixed_point", "fixed_point_tol": 1e-13, "fixed_point_max_iter": 5000,
          "l2": 0.0} | kw  # fmt: skip
    net = RateNetwork(list(sizes), activation=activation, connectivity=connectivity, seed=seed,
                      **kw)  # fmt: skip
    net.initialize()
    rng = np.random.default_rng(seed + 10)
    for k in net.params_:
        net.params_[k] = rng.normal(0.0, scale, net.params_[k].shape)
    return net


# ----------------------------------------------------------------------------- the fixed point
def _directional_errors(net, X, y, params, grads, eps=1e-5, directions=2):
    """Per parameter array and random direction d (restricted to that array): the relative
    difference between <grad, d> and the central difference (L(p + eps d) - L(p - eps d))/2eps."""
    rng = np.random.default_rng(0)
    errors = {}
    for k, w in params.items():
        for i in range(directions):
            d = rng.normal(size=w.shape)
            w += eps * d
            lp = net.loss_and_grads(X, y, params, offset=0.0)[0]
            w -= 2 * eps * d
            lm = net.loss_and_grads(X, y, params, offset=0.0)[0]
            w += eps * d
            num, ana = (lp - lm) / (2 * eps), float(np.vdot(grads[k], d))
            errors[f"{k}/{i}"] = abs(num - ana) / max(abs(num), abs(ana), 1e-12)
    return errors


@pytest.mark.parametrize("connectivity", ["feedback", "volume", "custom"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "prelu", "swish_learned", "maxout"])
def test_fixed_point_gradients_match_finite_differences(connectivity, activation):
    """Implicit gradients at the fixed point against central differences of the loss at the
    fixed point (eps 1e-5), along two random directions per parameter array: measured largest
    relative error 7e-10 to 2e-7 over the fifteen cases (sigmoid, tanh, and the units with
    learned parameters, PReLU's slopes and swish's betas included, and maxout's pieces;
    feedback, volume and a graph with a self-loop, a long feedback projection and skips; 50-345
    steps to the fixed point, as many for the adjoint). A wrong gradient is off by 1e-2 or
    more."""
    conn = CUSTOM if connectivity == "custom" else connectivity
    # maxout's identity pieces are unbounded: weights of std 0.5 give the volume a loop gain
    # above 1 (no fixed point), 0.3 a contracting one
    scale = 0.3 if activation == "maxout" else 0.5
    net = _net(conn, sizes=(3, 4, 4, 4, 3), activation=activation, scale=scale)
    params = {k: v.copy() for k, v in net.params_.items()}
    X = X4[:, :3]
    _, grads, cache = net.loss_and_grads(X, Y4, params, offset=0.0)
    assert cache["fp"]["converged"].all() and cache["fp"]["adjoint"]["converged"]
    assert cache["fp"]["iterations"].max() > 10  # a real loop, not one sweep
    errors = _directional_errors(net, X, Y4, params, grads)
    assert max(errors.values()) < 1e-5, errors


def test_fixed_point_gradients_match_finite_differences_entry_by_entry():
    """Every parameter entry of a small feedback net with a self-loop and skips (sigmoid):
    measured max relative error 1.3e-9."""
    net = _net([(0, 1), (1, 2), (2, 3), (2, 2), (2, 1), (0, 2, "skip")], sizes=(3, 3, 3, 3),
               scale=0.7)  # fmt: skip
    params = {k: v.copy() for k, v in net.params_.items()}
    X = X4[:, :3]
    _, grads, cache = net.loss_and_grads(X, Y4, params, offset=0.0)
    assert cache["fp"]["iterations"].max() > 10
    assert max_relative_error(grads, numerical_grads(net, X, Y4, params)) < 1e-6


def test_fixed_point_is_a_fixed_point_of_the_dynamics_and_bptt_tends_to_its_gradient():
    """The solved state satisfies h = Phi(h) and equals the dynamics run for 3000 steps; BPTT
    through 3000 steps gives the implicit gradient (relative difference below 1e-8)."""
    net = _net("feedback", scale=0.8)
    cache = net._forward(X4, net.params_)
    h = cache["h"][-1]
    h_again, _, _ = dynamics.step(net.graph_, net.params_, net.activation_, X4, h, 1.0, np.float64)
    assert max(np.abs(a - b).max() for a, b in zip(h[1:], h_again[1:], strict=True)) < 1e-12
    _, h_long = dynamics.settle(net.graph_, net.params_, net.activation_, X4, 3000, 0.5,
                                np.float64)  # fmt: skip
    assert max(np.abs(a - b).max() for a, b in zip(h[1:], h_long[1:], strict=True)) < 1e-12
    _, g_fp, _ = net.loss_and_grads(X4, Y4, offset=0.0)
    bptt = RateNetwork(net.sizes, activation="sigmoid", connectivity="feedback", steps=3000,
                       l2=0.0, seed=0)  # fmt: skip
    _, g_bptt, _ = bptt.loss_and_grads(X4, Y4, net.params_, offset=0.0)
    assert max_relative_error(g_fp, g_bptt) < 1e-8


def test_acyclic_graphs_train_the_same_either_way():
    """Fixed-point training of an acyclic graph is its one sweep: identical parameters."""
    data = (np.random.default_rng(0).uniform(0, 1, (40, 4)), np.arange(40) % 3)
    nets = [RateNetwork([4, 6, 6, 3], connectivity="residual", seed=2, training=t)
            for t in ("bptt", "fixed_point")]  # fmt: skip
    for net in nets:
        net.fit(*data, epochs=3)
    for k, v in nets[0].params_.items():
        np.testing.assert_array_equal(v, nets[1].params_[k])
    assert nets[1].history_.fp_iterations == []


def test_a_loop_that_does_not_converge_is_reported_and_the_safeguard_shrinks_it():
    """tanh feedback weights of std 6 make the dynamics oscillate: the solve stops at max_iter
    (never hangs) and reports it; the safeguard shrinks the feedback, and training reaches a
    contracting loop whose measured loop gain stays below max_loop_gain."""
    kw = {"activation": "tanh", "scale": 6.0, "seed": 1}
    net = _net("feedback", fixed_point_tol=1e-8, fixed_point_max_iter=200, batch_size=10, **kw)
    cache = net._forward(X4, net.params_)
    fp = cache["fp"]
    assert not fp["converged"].all() and fp["iterations"].max() == 200
    assert equilibrium.loop_gain(fp, 0.5) == np.inf
    W21 = net.params_["W2_1"].copy()
    assert net._after_step(cache) == equilibrium.MAX_SHRINK == 0.9
    np.testing.assert_allclose(net.params_["W2_1"], 0.9 * W21)
    np.testing.assert_array_equal(net.params_["W1_2"], _net("feedback", **kw).params_["W1_2"])
    X = np.random.default_rng(1).uniform(0, 1, (60, 4))
    y = np.arange(60) % 3
    hist = net.fit(X, y, epochs=8, warm_start=True)  # 48 steps; converged after 38 (0.9^19)
    assert sum(hist.fp_rescaled) >= 1 and hist.fp_unconverged[-1] == 0.0
    cache = net._forward(X, net.params_)
    assert cache["fp"]["converged"].all()
    assert equilibrium.loop_gain(cache["fp"], 0.5) <= 0.9 + 0.05
    assert len(hist.fp_iterations) == hist.epochs and hist.fp_adjoint_iterations[-1] >= 1


def test_a_prediction_that_misses_its_fixed_point_warns_once():
    """Outputs of samples that did not converge are the last iterate, not the equilibrium a
    spiking net settles to: predict, score and states say so in one line; a converged net and
    training itself (its history counts them) stay silent."""
    import warnings

    from biorate.errors import BiorateWarning

    kw = {"activation": "tanh", "scale": 6.0, "seed": 1}
    net = _net("feedback", fixed_point_tol=1e-8, fixed_point_max_iter=200, **kw)
    with pytest.warns(BiorateWarning, match=r"6 of 6 sample\(s\) did not reach the fixed point "
                                            r"within 200 steps") as rec:  # fmt: skip
        net.predict(X4)
    assert len(rec) == 1 and "\n" not in str(rec[0].message)
    assert rec[0].filename == __file__  # the user's line, not biorate's (caller_stacklevel)
    with pytest.warns(BiorateWarning, match="did not reach the fixed point"):
        net.states(X4)
    calm = _net("volume", scale=0.8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calm.predict(X4)
        calm.states(X4)
        X = np.random.default_rng(1).uniform(0, 1, (60, 4))
        net.fit(X, np.arange(60) % 3, epochs=2, warm_start=True)  # unconverged at first: silent


def test_fixed_point_net_predicts_and_reports_at_its_fixed_point():
    net = _net("volume", scale=0.8)
    z, h = net.states(X4)
    _, h300 = net.states(X4, steps=3000)
    np.testing.assert_allclose(h[-1], h300[-1], atol=1e-10)
    np.testing.assert_allclose(net.forward(X4), h[-1], atol=1e-12)
    assert "training='fixed_point'" in repr(net)
    with pytest.raises(NetworkError, match="training must be"):
        RateNetwork([4, 5, 3], connectivity="feedback", training="equilibrium")
    with pytest.raises(NetworkError, match="max_loop_gain"):
        RateNetwork([4, 5, 3], connectivity="feedback", max_loop_gain=1.5)


# ----------------------------------------------------------------------------- volume
def test_volume_projections():
    sizes = [4, 5, 6, 7, 3]
    projs = build_projections(sizes, "volume")
    fwd = {(p.source, p.target) for p in projs if not p.feedback}
    fb = {(p.source, p.target) for p in projs if p.feedback}
    assert fwd == {(s, d) for d in range(1, 5) for s in range(d)}
    assert fb == {(2, 1), (3, 1), (3, 2)}  # from later hidden populations only, never the output
    assert all(p.kind == "dense" for p in projs) and len(projs) == 13
    assert feedback_cycle(projs) is not None
    assert feedback_cycle(build_projections([4, 5, 3], "volume")) is None  # one hidden: acyclic
    net = RateNetwork(sizes, connectivity="volume", seed=0).initialize()
    assert net.has_feedback and net.params_["W0_3"].shape == (4, 7)
    assert net.graph_.parameter_count() == sum(sizes[s] * sizes[d] for s, d in fwd | fb) + 21


# ----------------------------------------------------------------------------- graph files
GRAPH_TOML = """
populations = [4, 5, 5, 3]
[[projections]]
source = "in"
target = "h1"
[[projections]]
source = "h1"
target = "h2"
[[projections]]
source = "h2"
target = "out"
[[projections]]
source = "h2"
target = "h1"
[[projections]]
source = 1
target = 2
kind = "skip"
matrix = "identity"
"""


def test_graph_file_toml_and_json_build_the_same_network(tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text(GRAPH_TOML)
    expected = [Projection(0, 1), Projection(1, 2), Projection(2, 3), Projection(2, 1),
                Projection(1, 2, "skip")]  # fmt: skip
    assert build_projections([4, 5, 5, 3], str(toml)) == expected
    js = tmp_path / "g.json"
    js.write_text(json.dumps({"populations": [{"name": "x", "size": 4}, 5, 5, 3],
                              "projections": [{"source": "x", "target": 1}, [1, 2]][:1]
                              + [asdict(p) for p in expected[1:]]}))  # fmt: skip
    assert build_projections([4, 5, 5, 3], js) == expected
    net = RateNetwork([4, 5, 5, 3], connectivity=str(toml), seed=0).initialize()
    assert net.projections == expected and net.has_feedback
    # saved as its projections, not as a path that may move
    path = net.save(tmp_path / "n.npz")
    toml.unlink()
    back = RateNetwork.load(path)
    assert back.projections == expected and isinstance(back.connectivity, list)


@pytest.mark.parametrize("text, sizes, match", [
    ("[[projections]]\nsource = 'h1'\ntarget = 'h7'\n", [4, 5, 3], "'h7' is not a population"),
    ("[[projections]]\nsource = 0\ntarget = 7\n", [4, 5, 3], "target 7 is not a population"),
    ("populations = [4, 6, 3]\n[[projections]]\nsource = 0\ntarget = 1\n", [4, 5, 3],
     r"lists sizes \[4, 6, 3\] but the network has sizes \[4, 5, 3\]"),
    ("[[projections]]\nsource=0\ntarget=1\n[[projections]]\nsource=1\ntarget=2\n"
     "[[projections]]\nsource=1\ntarget=2\nkind='skip'\nmatrix='identity'\n", [4, 5, 3],
     "identity skip needs equal sizes"),
    ("acyclic = true\n[[projections]]\nsource=0\ntarget=1\n[[projections]]\nsource=1\ntarget=2\n"
     "[[projections]]\nsource=2\ntarget=2\n", [4, 5, 5], r"cycle h1 -> h2 -> h2|cycle out -> out"),
    ("[[projections]]\nsource=0\ntarget=1\n[[projections]]\nsource=2\ntarget=1\nkind='skip'\n",
     [4, 5, 3], "skip must go forward"),
    ("[[projections]]\nsource=0\ntarget=1\n", [4, 5, 3], "population 2 has no dense input"),
    ("[[projections]]\nsource=0\ntarget=1\nweight=3\n", [4, 5, 3], "unknown key 'weight'"),
    ("layers = 3\n", [4, 5, 3], "unknown key 'layers'"),
    ("[[projections]]\nsource=0\ntarget=0\n", [4, 5, 3], "input population in cannot be a target"),
    ("[[projections\n", [4, 5, 3], "malformed TOML"),
])  # fmt: skip
def test_bad_graph_files_are_refused_with_a_clear_error(tmp_path, text, sizes, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(NetworkError, match=match) as err:
        RateNetwork(sizes, connectivity=str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_unknown_connectivity_names_the_choices(tmp_path):
    with pytest.raises(NetworkError, match="volume or a graph file"):
        RateNetwork([4, 5, 3], connectivity="spherical")
    with pytest.raises(NetworkError, match="no such graph file"):
        RateNetwork([4, 5, 3], connectivity=str(tmp_path / "missing.toml"))


# ----------------------------------------------------------------------------- saved files
def _rewrite(path, out, change):
    with zipfile.ZipFile(path) as z:
        arrays = {n[:-4]: np.load(z.open(n)) for n in z.namelist()}
    arch = json.loads(str(arrays["architecture"][()]))
    change(arch)
    arrays["architecture"] = np.array(json.dumps(arch))
    np.savez(out, **arrays)
    return out


def test_saved_graph_is_cross_checked_on_load(tmp_path):
    net = RateNetwork([4, 5, 5, 3], seed=0).initialize()
    path = net.save(tmp_path / "ff.npz")
    cases = {
        "to7": (lambda a: a["projections"].append({"source": 1, "target": 7, "kind": "dense"}),
                "no population 7"),
        "cycle": (lambda a: a["projections"].append({"source": 2, "target": 1, "kind": "dense"}),
                  "feedback dense projection 2->1 is not in it"),
        "missing": (lambda a: a["projections"].pop(), "dense projection 2->3 is missing"),
        "pops": (lambda a: a.__setitem__("populations", ["in", "h1", "out"]), "populations"),
        "path": (lambda a: a["args"].__setitem__("connectivity", "/etc/graph.toml"),
                 "expected one of feedforward"),
    }  # fmt: skip
    for name, (change, match) in cases.items():
        bad = _rewrite(path, tmp_path / f"{name}.npz", change)
        with pytest.raises(NetworkError, match=match) as err:
            RateNetwork.load(bad)
        assert str(bad) in str(err.value), name


def test_fixed_point_net_round_trips(tmp_path):
    net = _net("volume", fixed_point_tol=1e-9)
    X = np.random.default_rng(4).uniform(0, 1, (30, 4))
    net.fit(X, np.arange(30) % 3, epochs=2, warm_start=True)
    back = RateNetwork.load(net.save(tmp_path / "v.npz"))
    assert back.training == "fixed_point" and back.fixed_point_tol == 1e-9
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    assert back.history_.fp_iterations == net.history_.fp_iterations


# ----------------------------------------------------------------------------- the CLI
def test_cli_trains_volume_and_graph_files_at_the_fixed_point(tmp_path, cli):
    graph = tmp_path / "g.toml"
    graph.write_text(GRAPH_TOML.replace("[4, 5, 5, 3]", "[2, 5, 5, 2]"))
    code, out, err = cli("train", "--dataset", "xor", "--connectivity", str(graph), "--training",
                         "fixed_point", "--epochs", "2", "-o", tmp_path / "g.npz", "--report",
                         tmp_path / "g.json", "--quiet")  # fmt: skip
    assert code == 0, err
    net = RateNetwork.load(tmp_path / "g.npz")
    assert net.sizes == [2, 5, 5, 2] and net.training == "fixed_point"  # sizes from the file
    rep = json.loads((tmp_path / "g.json").read_text())
    assert len(rep["history"]["fp_iterations"]) == 2
    code, out, err = cli("train", "--dataset", "xor", "--connectivity", "volume", "--hidden",
                         "4,4", "--epochs", "1", "-o", tmp_path / "v.npz", "--quiet")  # fmt: skip
    assert code == 0, err
    assert RateNetwork.load(tmp_path / "v.npz").connectivity == "volume"


def test_cli_bad_graph_file_is_one_line_and_exit_2(tmp_path, cli):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[projections]]\nsource = 'h1'\ntarget = 'h9'\n")
    for conn, match in ((bad, "'h9' is not a population"), ("spherical", "unknown connectivity")):
        code, out, err = cli("train", "--dataset", "xor", "--connectivity", conn, "--epochs",
                             "1", "-o", tmp_path / "n.npz")  # fmt: skip
        assert code == 2 and len(err.strip().splitlines()) == 1 and match in err, err
    code, out, err = cli("train", "--dataset", "xor", "--training", "nope", "-o",
                         tmp_path / "n.npz")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "n.npz").exists()


# ----------------------------------------------------------------------------- deployment
def test_volume_and_fixed_point_nets_deploy_with_feedback_as_synapses():
    """Tiny lif_noise nets (NumPy target): every dense projection, feedback included, becomes
    synapses; the rate states compared with the spikes are the fixed point; the spiking
    network's hidden rates follow that fixed point (correlation > 0.9)."""
    from biorate.deploy import deploy, synaptic_mapping

    X = np.random.default_rng(6).uniform(0, 1, (3, 4))
    y = np.array([0, 1, 2])
    for conn in ("volume", "feedback"):
        net = _net(conn, activation="lif_noise", scale=1.0, fixed_point_tol=1e-9)
        mapping = synaptic_mapping(net.activation_, net)
        routed = set(mapping["charge"]) | {(0, d) for d in mapping["input"]}
        assert routed == {(p.source, p.target) for p in net.projections}
        _, h = net.states(X)
        _, h_long = net.states(X, steps=2000)
        np.testing.assert_allclose(h[1], h_long[1], atol=1e-7)
        rep = deploy(net, X, y, durations=["150 ms"], transient="50 ms", target="numpy", method="euler",
                     progress=False)  # fmt: skip
        assert rep["rate_fixed_point"]["converged"]
        assert rep["rate_fixed_point"]["agreement_with_trained"] == 1.0
        assert rep["mapping"]["rate_training"] == "fixed_point"
        assert rep["mapping"]["rate_steps"] is None and rep["connectivity"] == conn
        corr = [p["correlation"] for p in rep["populations"] if p["correlation"] is not None]
        assert len(corr) >= 2 and min(corr) > 0.9, rep["populations"]  # None: a silent one
