"""Campaign 4's findings on files, options and deploy settings (issue 18): one line, exit 2 (or
one specific BiorateError from the API), nothing written, no input replaced."""

from __future__ import annotations

import json

import numpy as np
import pytest

import biorate as br
from biorate.errors import BiorateError, DataError, OutputError
from biorate.network import RateNetwork
from biorate.units import parse_unit


def _one_line(code, err):
    return code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_csv_header_beyond_the_csv_field_limit_is_one_line(cli, tmp_path):
    (tmp_path / "h.csv").write_text("a" * 140_000 + ",label\n" + "0.3,1\n0.1,0\n" * 5)
    code, _, err = cli("train", "--dataset", f"csv:{tmp_path / 'h.csv'}", "--hidden", "4",
                       "--epochs", "1", "--quiet", "-o", tmp_path / "n.npz")  # fmt: skip
    assert _one_line(code, err) and "cannot read the header row" in err, err
    # a header line of more than a million characters is not read whole (a 2 GB file with no
    # newline took 34 s before failing)
    (tmp_path / "long.csv").write_text("a," * 600_000 + "label\n0.1,1\n")
    with pytest.raises(DataError, match="header row is longer than 1,000,000 characters"):
        br.load_dataset(f"csv:{tmp_path / 'long.csv'}")


def test_paths_with_a_nul_character_are_refused_by_every_reader_and_writer(tmp_path):
    net = RateNetwork([2, 3, 2], seed=0).initialize()
    for call in (lambda: br.TransferCurve.load("a\x00b.json"),
                 lambda: RateNetwork.load("a\x00b.npz"),
                 lambda: br.load_dataset("npz:a\x00b"),
                 lambda: br.load_dataset("csv:a\x00b"),
                 lambda: net.save(tmp_path / "a\x00b.npz")):  # fmt: skip
        with pytest.raises(BiorateError, match="a path cannot contain a NUL character"):
            call()
    with pytest.raises(OutputError, match="NUL"):
        net.save(str(tmp_path / "x\x00.npz"))


@pytest.mark.parametrize("option", ["-o", "--report"])
def test_a_graph_file_is_never_an_output(cli, tmp_path, option):
    g = tmp_path / "g.toml"
    text = "populations = [2, 4, 2]\n[[projections]]\nsource = 0\ntarget = 1\n" \
           "[[projections]]\nsource = 1\ntarget = 2\n"  # fmt: skip
    g.write_text(text)
    outs = {"-o": tmp_path / "n.npz", option: g}
    code, _, err = cli("train", "--dataset", "xor", "--epochs", "1", "--quiet", "--connectivity",
                       g, *[str(a) for kv in outs.items() for a in kv])  # fmt: skip
    assert _one_line(code, err) and f"--connectivity and {option} name the same file" in err, err
    assert g.read_text() == text


@pytest.mark.parametrize("labels, shown", [((-1, 0), "label -1"), ((0, 2), "label 2")])
def test_labels_outside_the_classes_are_named_before_the_class_count(tmp_path, labels, shown):
    """{-1, 0} and {0, 2} were reported as 'the training labels hold one class (0)'."""
    y = np.array([labels[i % 2] for i in range(20)])
    X = np.random.default_rng(0).random((20, 3))
    np.savez(tmp_path / "d.npz", X_train=X, y_train=y, X_test=X[:4], y_test=y[:4])
    with pytest.raises(DataError, match=f"{shown} .* outside 0..0"):
        br.load_dataset(f"npz:{tmp_path / 'd.npz'}")


@pytest.mark.parametrize("args", [["--lr", "５e-3"], ["--alpha", "０.５"], ["--hidden", "６４"],
                                  ["--tol", "1_0"]])  # fmt: skip
def test_numbers_of_the_cli_are_ascii(cli, tmp_path, args):
    """Python's float() and int() take full-width digits and underscores; the README says options
    take ASCII digits (as the quantities and the other counts do)."""
    code, _, err = cli("train", "--dataset", "xor", "--epochs", "1", "--quiet", *args,
                       "-o", tmp_path / "n.npz")  # fmt: skip
    assert _one_line(code, err), err
    assert not (tmp_path / "n.npz").exists()


def test_curve_currents_beyond_one_ampere_are_refused(tmp_path):
    curve = br.theory.fi("lif", current="0nA:1nA:5")
    d = curve.to_dict()
    d["x"] = [v * 1e12 for v in d["x"]]  # up to 1000 A
    (tmp_path / "c.json").write_text(json.dumps(d))
    with pytest.raises(
        BiorateError, match=r"field .x.: entry 1: 250 A: .* must be >= -1 A and <= 1 A"
    ):
        br.TransferCurve.load(tmp_path / "c.json")


@pytest.mark.parametrize("args, match", [(["--dt", "1e-20s"], "at least 1 ns"),
                                         (["--tau-syn", "1e30s"], "longer than 1 s")])  # fmt: skip
def test_deploy_and_nir_steps_and_synapses_in_their_domains(cli, tmp_path, args, match):
    from network_helpers import lif_activation

    net = RateNetwork([64, 6, 10], activation=lif_activation(), seed=0).initialize()
    path = net.save(tmp_path / "n.npz")
    cmds = [["export", "nir", path, "-o", tmp_path / "n.nir"]]
    if args[0] == "--tau-syn":  # deploy's CLI takes the curve's step; its API takes dt
        cmds.append(["deploy", path, "--dataset", "digits", "--quiet"])
    for cmd in cmds:
        code, _, err = cli(*cmd, *args)
        assert _one_line(code, err) and match in err, (cmd, err)
    assert not (tmp_path / "n.nir").exists()
    kw = {"dt": "1e-20 s"} if args[0] == "--dt" else {"tau_syn": "1e30 s"}
    with pytest.raises(BiorateError, match=match):
        br.deploy(net, np.zeros((1, 64)), progress=False, **kw)


@pytest.mark.parametrize("key", ["x_offset", "x_scale"])
def test_activation_currents_beyond_one_ampere_are_refused(key):
    d = br.get_activation("lif_noise").to_dict()
    d[key] = 405.0  # a fit of a curve in kiloamperes (campaign 4, C3)
    with pytest.raises(BiorateError, match=f"field '{key}': 405 A is beyond"):
        br.Activation.from_dict(d)


@pytest.mark.parametrize("unit, top, ok", [("pA", 500.0, True), ("nA", 1.5, True),
                                           ("pA", 5e12, False), ("A", 2.0, False)])  # fmt: skip
def test_the_one_ampere_rule_reads_the_curves_unit(unit, top, ok):
    """The rule is on the current, not on the number: 500 pA and 1.5 nA are currents a neuron
    takes (a first version compared the numbers with 1 and refused both)."""
    x, y = np.linspace(0.0, top, 11), np.linspace(0.0, 50.0, 11)
    if ok:  # and the curve holds SI values, as files do (campaign 6, F2): amperes
        curve = br.TransferCurve("fi", x, y, unit, "Hz")
        assert curve.x_unit == "A" and curve.x[-1] == pytest.approx(top * parse_unit(unit)[0])
    else:
        with pytest.raises(BiorateError, match=f"must be >= -[0-9e+.]+ {unit} and <= "):
            br.TransferCurve("fi", x, y, unit, "Hz")


def test_the_one_ampere_rule_reads_the_activations_unit():
    """A fit of a pA curve gives an activation in A (the curve is SI once read); an activation
    file written in pA is read in pA, its scales well within 1 A, and refused beyond it."""
    x = np.linspace(0.0, 500.0, 41)
    curve = br.TransferCurve("fi", x, 80 / (1 + np.exp(-(x - 250) / 40)), "pA", "Hz")
    act = br.fit(curve, "sigmoid").activation()
    assert act.x_unit == "A" and act.x_offset == pytest.approx(250e-12, rel=1e-3)
    assert br.Activation.from_dict(act.to_dict()) == act
    params = act.to_dict()["params"] | {"x_half": 250.0, "width": 40.0}  # the same curve in pA
    units = act.to_dict()["param_units"] | {"x_half": "pA", "width": "pA"}
    d = act.to_dict() | {"x_unit": "pA", "x_offset": 250.0, "x_scale": 40.0, "params": params,
                         "param_units": units}  # fmt: skip
    assert br.Activation.from_dict(d).x_offset == 250.0
    with pytest.raises(BiorateError, match="2e\\+12 pA is beyond \\+-1 A"):
        br.Activation.from_dict(d | {"x_offset": 2e12})


def test_deploy_memory_check_counts_every_routed_pair(monkeypatch):
    """The build connects every pair of populations a skip or a volume joins; the memory check
    counted a chain's pairs only (4.6x too few for a 10-layer residual net, 9x for a volume)."""
    from network_helpers import lif_activation

    import biorate._memory
    from biorate.deploy import DeployError, effective_weights

    net = RateNetwork([64, *[64] * 10, 10], activation=lif_activation(), connectivity="volume",
                      seed=0).initialize()  # fmt: skip
    chain = sum(a * b for a, b in zip(net.sizes[1:], net.sizes[2:], strict=False))
    built = sum(w.size for (q, _), w in effective_weights(net).items() if q > 0)
    assert built > 8 * chain
    # memory for the chain's synapses of 20 images, not for the volume's
    monkeypatch.setattr(biorate._memory, "available_memory", lambda: 20 * 3 * chain * 100)
    with pytest.raises(DeployError, match="synapses"):
        br.deploy(
            net,
            np.zeros((20, 64)),
            durations="10 ms",
            target="numpy",
            method="euler",
            progress=False,
        )
