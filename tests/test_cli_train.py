"""``biorate train``: training until converged, why it stopped, divergence, flagged activations."""

from __future__ import annotations

import json

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
    ],
)
def test_train_refuses_in_one_line_and_writes_nothing(cli, tmp_path, args, message):
    out = tmp_path / "net.npz"
    out.write_bytes(b"keep me")
    code, stdout, err = cli("train", *args, "--quiet", "-o", out, "--report", tmp_path / "r.json")
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert out.read_bytes() == b"keep me" and not (tmp_path / "r.json").exists()


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
    with pytest.warns(FlaggedActivationWarning, match="flagged as poor \\(high_redchi\\)"):
        RateNetwork([4, 5, 3], activation=str(path))
    code, stdout, err = cli("train", "--dataset", "xor", "--hidden", "4", "--epochs", "1",
                            "--activation", path, "-o", tmp_path / "n.npz", "--quiet")  # fmt: skip
    assert code == 0
    assert err == "biorate: warning: activation 'poor_fit' comes from a fit flagged as poor " \
        "(high_redchi); the network learns with a curve its data do not support\n"  # fmt: skip
