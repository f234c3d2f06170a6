"""NIR export (biorate.deploy.nir, ``biorate export nir``): nir.read gives back deploy's parameters;
feedforward, residual and feedback graphs; refusals in one line with exit 2; snnTorch runs it."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import lif_activation

from biorate.cli import main
from biorate.datasets import load_dataset
from biorate.deploy import synaptic_mapping
from biorate.deploy.nir import to_nir, write_nir
from biorate.network import RateNetwork

nir = pytest.importorskip(
    "nir", reason="NIR export needs the nir package (pip install biorate[nir])"
)

LIF = {"tau_m": 0.02, "R_m": 1e8, "E_L": -0.07, "V_th": -0.05, "V_reset": -0.06, "t_ref": 0.002}


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits")


def _net(data, connectivity="feedforward", hidden=(16,), epochs=3, name="lif"):
    net = RateNetwork([64, *hidden, 10], activation=lif_activation(name),
                      connectivity=connectivity, seed=0)  # fmt: skip
    net.fit(data.X_train[:200], data.y_train[:200], epochs=epochs)
    return net


@pytest.fixture(scope="module")
def ff_net(data):
    return _net(data)


def _read_back(graph, tmp_path):
    path = tmp_path / "net.nir"
    write_nir(graph, path)
    return nir.read(path)


def test_round_trip_physical(ff_net, tmp_path):
    g = _read_back(to_nir(ff_net, tau_syn="5 ms"), tmp_path)
    m = synaptic_mapping(ff_net.activation_, ff_net)
    assert set(g.nodes) == {"input", "h1", "out", "output", "w_0_1", "w_1_2"}
    assert sorted(g.edges) == sorted([("input", "w_0_1"), ("w_0_1", "h1"), ("h1", "w_1_2"),
                                      ("w_1_2", "out"), ("out", "output")])  # fmt: skip
    np.testing.assert_array_equal(g.nodes["w_0_1"].weight, m["input"][1].T)  # amperes per x
    np.testing.assert_array_equal(g.nodes["w_1_2"].weight, m["charge"][(1, 2)].T)  # coulombs
    np.testing.assert_array_equal(g.nodes["w_0_1"].bias, m["bias"][1])  # amperes
    np.testing.assert_array_equal(g.nodes["w_1_2"].bias, m["bias"][2])
    for pop, n in (("h1", 16), ("out", 10)):
        node = g.nodes[pop]
        assert isinstance(node, nir.CubaLIF) and node.v_threshold.shape == (n,)
        np.testing.assert_array_equal(node.tau_syn, 0.005)
        np.testing.assert_array_equal(node.tau_mem, LIF["tau_m"])
        np.testing.assert_array_equal(node.r, LIF["R_m"])
        np.testing.assert_array_equal(node.v_leak, LIF["E_L"])
        np.testing.assert_array_equal(node.v_threshold, LIF["V_th"])
        np.testing.assert_array_equal(node.v_reset, LIF["V_reset"])
        np.testing.assert_array_equal(node.w_in, 1.0)
        assert float(node.metadata["t_ref_s"]) == LIF["t_ref"]
    assert float(g.metadata["t_ref_s"]) == LIF["t_ref"] and float(g.metadata["dt_s"]) == 1e-4


def test_normalized_form_is_the_same_dynamics(ff_net, tmp_path):
    """v' = (v - V_reset)*tau_m/(dt*R_m): r*I and the bias (with the leak folded in) agree."""
    dt, tau_syn = 1e-4, 0.005
    g = _read_back(to_nir(ff_net, dt="0.1 ms", form="normalized"), tmp_path)
    m = synaptic_mapping(ff_net.activation_, ff_net)
    k = LIF["tau_m"] / (dt * LIF["R_m"])
    node = g.nodes["h1"]
    np.testing.assert_allclose(node.r, LIF["tau_m"] / dt)
    np.testing.assert_allclose(node.w_in, tau_syn / dt)
    np.testing.assert_array_equal(node.v_leak, 0.0)
    np.testing.assert_array_equal(node.v_reset, 0.0)
    np.testing.assert_allclose(node.v_threshold, (LIF["V_th"] - LIF["V_reset"]) * k)
    w_in = tau_syn / dt
    np.testing.assert_allclose(g.nodes["w_1_2"].weight * w_in, m["charge"][(1, 2)].T, rtol=1e-12)
    leak = (LIF["E_L"] - LIF["V_reset"]) / LIF["R_m"]
    np.testing.assert_allclose(g.nodes["w_0_1"].bias * w_in, m["bias"][1] + leak, rtol=1e-12)


@pytest.mark.parametrize("connectivity", ["residual", "feedback"])
def test_residual_and_feedback_graphs(data, connectivity, tmp_path):
    net = _net(data, connectivity, hidden=(12, 12), epochs=1)
    g = _read_back(to_nir(net), tmp_path)
    m = synaptic_mapping(net.activation_, net)
    names = net.population_names
    for (q, d), Q in m["charge"].items():
        key = f"w_{q}_{d}"
        np.testing.assert_array_equal(g.nodes[key].weight, Q.T)
        assert (names[q], key) in g.edges and (key, names[d]) in g.edges
    backward = [(q, d) for q, d in m["charge"] if q >= d]
    assert bool(backward) == (connectivity == "feedback")  # a cycle: a later population feeds back


def test_cli_export_writes_and_refuses(ff_net, data, tmp_path, capsys):
    net_path = tmp_path / "net.npz"
    ff_net.save(net_path)
    out = tmp_path / "net.nir"
    assert main(["export", "nir", str(net_path), "-o", str(out)]) == 0
    assert isinstance(nir.read(out).nodes["h1"], nir.CubaLIF)
    relu = RateNetwork([64, 8, 10], activation="relu", seed=0)
    relu.fit(data.X_train[:50], data.y_train[:50], epochs=1)
    relu.save(tmp_path / "relu.npz")
    keep = tmp_path / "keep.nir"
    keep.write_bytes(b"precious")
    capsys.readouterr()
    bad = [
        ["export", "nir", str(tmp_path / "relu.npz"), "-o", str(keep)],  # no spiking origin
        ["export", "nir", str(net_path), "-o", str(tmp_path / "no" / "x.nir")],  # unwritable
        ["export", "nir", str(tmp_path / "missing.npz"), "-o", str(keep)],
        ["export", "nir", str(net_path), "-o", str(net_path)],  # would replace its input
        ["export", "nir", str(net_path), "-o", str(keep), "--tau-syn", "5"],  # no unit
    ]
    for argv in bad:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("biorate: error: ") and err.count("\n") == 1, (argv, err)
    assert keep.read_bytes() == b"precious"
    assert net_path.stat().st_size > 0


def test_snntorch_runs_the_export(data):
    """A small version of benchmarks/nir_export.py: snnTorch's NIR import on 60 test images, 100 ms."""
    pytest.importorskip("snntorch", reason="the consumer check needs snntorch")
    pytest.importorskip("nirtorch", reason="snntorch's NIR import needs nirtorch")
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location(
        "bench_nir", pathlib.Path(__file__).parents[1] / "benchmarks" / "nir_export.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    net = _net(data, hidden=(32,), epochs=20)
    X, y = data.X_test[:60], data.y_test[:60]
    rate = float(np.mean(net.predict(X) == y))
    pred = bench.snntorch_predict(to_nir(net, form="normalized"), X, steps=1000)
    assert np.mean(pred == y) >= rate - 0.15, (np.mean(pred == y), rate)


def test_a_neuron_other_than_the_lif_is_refused(data):
    """An activation fitted to the adaptive LIF (its source model and parameters as a curve of
    it records them): deploy could build it, NIR's CubaLIF cannot express its adaptation current."""
    from biorate.activation import Activation
    from biorate.deploy import DeployError
    from biorate.models import load_model

    d = lif_activation().to_dict()
    model = load_model("adaptive_lif")
    d["source"]["model"] = {"name": "adaptive_lif", "params": model.params_strings()}
    net = RateNetwork([64, 8, 10], activation=Activation.from_dict(d), seed=0)
    net.fit(data.X_train[:100], data.y_train[:100], epochs=1)
    with pytest.raises(DeployError, match="'adaptive_lif' is not the current-based LIF"):
        to_nir(net)
