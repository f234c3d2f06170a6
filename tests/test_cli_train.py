"""``biorate train``: training until converged, why it stopped, divergence, flagged activations."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from biorate.activation import get_activation
from biorate.network import FlaggedActivationWarning, RateNetwork


def test_train_reports_why_it_stopped_and_prints_with_quiet(cli, tmp_path):
    out, rep = tmp_path / "net.npz", tmp_path / "r.json"
    code, stdout, err = cli("train", "--dataset", "moons", "--activation", "tanh", "--hidden",
                            "16", "--lr", "0.01", "--tol", "1e-3", "--patience", "5", "-o", out,
                            "--report", rep, "--quiet")  # fmt: skip
    assert code == 0 and err == "", err
    r = json.loads(rep.read_text())
    assert r["stop_reason"] == "converged" and r["epochs"] < 200
    # --quiet silences progress, not the result
    assert stdout.count("\n") == 1 and "converged" in stdout and "test accuracy" in stdout
    assert f"{r['epochs']} epochs" in stdout
    code, stdout, _ = cli("train", "--dataset", "moons", "--hidden", "4", "--epochs", "3",
                          "--patience", "0", "-o", out, "--quiet")  # fmt: skip
    assert code == 0 and "3 epochs (stopped at the --epochs cap 3" in stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "1e6"], "training diverged at epoch 1"),
        (["--hidden", ""], "give at least one hidden population size"),
        (["--patience", "-1"], "--patience must be >= 0"),
        (["--tol", "-1"], "tol must be >= 0"),
        (["--early-stopping"], "validation_fraction > 0"),
        (["--tol", "inf"], "tol must be a finite number"),
        (["--l2", "nan"], "l2 must be a finite number"),
        (["--derivative-offset", "nan"], "derivative_offset must be a finite number"),
        (["--init-std", "inf"], "init_std must be a positive number up to 100"),
        (["--lr", "inf"], "learning_rate must be a positive finite number"),
        (["--loss", "squared_error", "--targets", "nan,1"], "targets must be finite"),
        (["--hidden", "100000,100000,100000"], "GiB of memory to train, more than"),
        (["--plot", "t.xyz"], "matplotlib cannot write 'xyz' figures"),
        # one step, on all 300 XOR points: the loss before it is finite, the weights after not
        (
            [
                "--dataset",
                "xor",
                "--hidden",
                "4",
                "--dtype",
                "float32",
                "--lr",
                "1e39",
                "--batch-size",
                "1000",
                "--epochs",
                "1",
            ],
            "parameter W0_1 became NaN or inf",
        ),
    ],
)
def test_train_refuses_in_one_line_and_writes_nothing(cli, tmp_path, args, message):
    out = tmp_path / "net.npz"
    out.write_bytes(b"keep me")
    code, stdout, err = cli("train", *args, "--quiet", "-o", out, "--report", tmp_path / "r.json")
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert out.read_bytes() == b"keep me" and not (tmp_path / "r.json").exists()


def test_one_file_for_two_outputs_is_refused(cli, tmp_path):
    out = tmp_path / "net.npz"
    code, _, err = cli("train", "--dataset", "xor", "-o", out, "--report", out, "--quiet")
    assert code == 2 and "-o and --report name the same file" in err and not out.exists()


def test_unwritable_output_is_refused_before_training(cli, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(RateNetwork, "fit", lambda *a, **k: pytest.fail("trained anyway"))
    code, _, err = cli("train", "-o", tmp_path / "file" / "net.npz")
    assert code == 2 and err.count("\n") == 1 and "is a file, not a folder" in err, err


def test_flagged_activation_warns(cli, tmp_path):
    act = get_activation("lif").to_dict()
    act["fit"] = dict(act.get("fit") or {}, ok=False, flags=["high_redchi"])
    act["name"] = "poor_fit"
    path = tmp_path / "poor.json"
    path.write_text(json.dumps(act))
    net = RateNetwork([2, 3, 2], activation=str(path), seed=0)  # building or loading: silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.initialize().save(tmp_path / "poor.npz")
        RateNetwork.load(tmp_path / "poor.npz")
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.warns(FlaggedActivationWarning, match="flagged as poor \\(high_redchi\\)"):
        net.fit(X, y, epochs=1)  # training on it warns
    code, stdout, err = cli("train", "--dataset", "xor", "--hidden", "4", "--epochs", "1",
                            "--activation", path, "-o", tmp_path / "n.npz", "--quiet")  # fmt: skip
    assert code == 0
    assert err == "biorate: warning: activation 'poor_fit' comes from a fit flagged as poor " \
        "(high_redchi); the network learns with a curve its data do not support\n"  # fmt: skip
