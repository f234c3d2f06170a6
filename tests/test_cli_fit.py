"""``biorate fit``: writes the activation, report and figures; flags a poor fit; bad input gives one
line on stderr and exit code 2 with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biorate.activation import Activation
from biorate.cli import main
from biorate.curve import TransferCurve
from biorate.forms import FORMS

X = np.linspace(0.0, 5e-10, 40)
P = {"x_half": 2.2e-10, "width": 3e-11, "r_max": 80.0, "r0": 2.0}


@pytest.fixture
def curve_file(tmp_path):
    rng = np.random.default_rng(0)
    y = FORMS["sigmoid"].value(X, P) + rng.normal(0, 1.0, X.size)
    c = TransferCurve("fi", X, y, "A", "Hz", y_sem=np.full(X.size, 1.0), model={"name": "lif"})
    return c.save(tmp_path / "curve.json")


def test_fit_writes_activation_report_and_figures(curve_file, tmp_path, capsys):
    out, rep = tmp_path / "act.json", tmp_path / "fit.json"
    png, act_png = tmp_path / "fit.png", tmp_path / "act.png"
    rc = main(["fit", str(curve_file), "--form", "sigmoid", "-o", str(out), "--plot", str(png),
               "--plot-activation", str(act_png), "--report", str(rep), "--bootstrap", "30",
               "--name", "lif_fitted"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "fit: sigmoid" in text and "R² =" in text and "95% CI" in text
    act = Activation.load(out)
    assert act.name == "lif_fitted" and act.form == "sigmoid"
    assert act.params["x_half"] == pytest.approx(P["x_half"], rel=0.02)
    assert act.params["width"] == pytest.approx(P["width"], rel=0.1)
    z = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(act(z), 1 / (1 + np.exp(-z)), rtol=1e-12)
    report = json.loads(rep.read_text())
    assert report["kind"] == "fit" and report["bootstrap"] == 30 and report["ok"] is True
    assert png.read_bytes()[:4] == b"\x89PNG" and act_png.read_bytes()[:4] == b"\x89PNG"


def test_auto_lists_every_form(curve_file, tmp_path, capsys):
    assert main(["fit", str(curve_file), "-o", str(tmp_path / "a.json")]) == 0
    text = capsys.readouterr().out
    for name in FORMS:
        assert name in text
    assert Activation.load(tmp_path / "a.json").fit["selection"] == "auto"
    assert "lowest AIC wins" in text and "AICc" in text
    assert main(["fit", str(curve_file), "--criterion", "bic", "-o", str(tmp_path / "b.json")]) == 0
    assert "lowest BIC wins" in capsys.readouterr().out
    assert Activation.load(tmp_path / "b.json").fit["criterion"] == "bic"


def test_poor_fit_warns_and_strict_refuses(tmp_path, capsys):
    x = np.linspace(-1, 1, 30)
    c = TransferCurve("fi", x, 10 * x**2 + 1, "A", "Hz", y_sem=np.full(30, 0.1))
    path = c.save(tmp_path / "u.json")
    assert main(["fit", str(path), "--form", "sigmoid", "-o", str(tmp_path / "a.json")]) == 0
    captured = capsys.readouterr()
    assert "POOR FIT" in captured.out and "biorate: warning: poor sigmoid fit" in captured.err
    out = tmp_path / "strict.json"
    rc = main(["fit", str(path), "--form", "sigmoid", "-o", str(out), "--strict"])
    assert rc == 2 and not out.exists()
    assert "poor sigmoid fit" in capsys.readouterr().err
    act = Activation.load(tmp_path / "a.json")  # the kept poor fit records why
    assert not act.fit_ok and "low_r2" in act.fit_flags and act.fit["status"].startswith("FLAGGED")


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{oops", [], "not valid JSON"),
        (json.dumps({"kind": "activation", "schema": 1}), [], "expected kind 'transfer_curve'"),
        (None, ["--form", "wiggle"], "unknown form 'wiggle'"),
        (None, ["--bootstrap", "-3"], "--bootstrap must be >= 0"),
        (None, ["--form", "sigmoid", "--criterion", "bic"], "has nothing to rank"),
        ("flat", [], "y is constant"),
        ("few", ["--form", "sigmoid"], "needs at least 5 points"),
    ],
)
def test_bad_input_one_line_exit_2(curve_file, tmp_path, capsys, content, args, message):
    path = curve_file
    if content == "flat":
        path = TransferCurve("fi", X, np.full(X.size, 4.0), "A", "Hz").save(tmp_path / "f.json")
    elif content == "few":
        path = TransferCurve("fi", X[:4], [0.0, 1, 5, 6], "A", "Hz").save(tmp_path / "f.json")
    elif content is not None:
        path = tmp_path / "bad.json"
        path.write_text(content)
    out = tmp_path / "act.json"
    out.write_text("keep me")  # an existing output must survive a failed run
    rc = main(["fit", str(path), "-o", str(out), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("biorate: error:") and message in err and err.count("\n") == 1
    assert out.read_text() == "keep me"


def test_unknown_criterion_is_one_line_exit_2(curve_file, tmp_path, cli):
    code, out, err = cli("fit", curve_file, "--criterion", "r2", "-o", tmp_path / "a.json")
    assert code == 2 and "invalid choice: 'r2'" in err and err.count("\n") == 1
    assert not (tmp_path / "a.json").exists()


def test_one_fit_status_everywhere(tmp_path, cli):
    """A sigmoid fit of data whose scatter far exceeds its error bars (reduced χ² ~ 100, R² ~ 0.99):
    `biorate fit`, the activation JSON, the fit report and the pipeline's table say the same."""
    from biorate.fitting import fit, fit_status
    from biorate.pipeline import Context, _stage_fit

    rng = np.random.default_rng(1)
    y = FORMS["sigmoid"].value(X, P) + rng.normal(0, 1.0, X.size)
    c = TransferCurve("fi", X, y, "A", "Hz", y_sem=np.full(X.size, 0.1), model={"name": "lif"})
    path = c.save(tmp_path / "fi_lif.json")
    result = fit(c, "sigmoid")
    assert result.flags == ("high_redchi",) and result.ok and result.redchi > 30
    assert result.status == fit_status(result.flags) == "OK, WARNING: high_redchi"
    code, out, _ = cli("fit", path, "--form", "sigmoid", "-o", tmp_path / "a.json",
                       "--report", tmp_path / "r.json")  # fmt: skip
    assert code == 0 and "status: OK, WARNING: high_redchi" in out
    act = Activation.load(tmp_path / "a.json")
    assert act.fit["status"] == "OK, WARNING: high_redchi" and act.fit["flags"] == ["high_redchi"]
    assert act.fit["ok"] is True and act.fit_ok and act.fit_flags == ("high_redchi",)
    assert json.loads((tmp_path / "r.json").read_text())["status"] == result.status
    ctx = Context(out=tmp_path, quick=True, progress=False, target="numpy", seed=1)
    results = _stage_fit(ctx)
    assert results["fi_lif"]["sigmoid"]["status"] == result.status
    assert f"| {result.status} |" in ctx.sections[0]
    assert fit_status([]) == "OK"
    assert fit_status(["low_r2", "high_redchi"]) == "FLAGGED: low_r2, high_redchi"


def test_soft_lif_tau_is_labelled_not_tau_m(tmp_path, cli):
    """soft_lif's tau is an effective fitted constant: `biorate fit` and the figure label it so;
    the activation JSON keeps the name tau (schema 1) and reads back."""
    form = FORMS["soft_lif"]
    assert form.label(
        "tau"
    ) == "tau (effective, not tau_m)" and "NOT the membrane" in form.describe("tau")
    assert FORMS["lif"].label("tau") == "tau" and "tau_m" in FORMS["lif"].describe("tau")
    x = np.linspace(0.0, 4e-9, 60)
    p = {"x_th": 1.6e-10, "c": 7.5e-10, "tau": 0.1, "t_ref": 2e-3, "gamma": 3e-12, "r0": 0.0}
    y = form.value(x, p) + np.random.default_rng(0).normal(0, 0.5, x.size)
    c = TransferCurve("fi", x, y, "A", "Hz", y_sem=np.full(x.size, 0.5), model={"name": "lif"})
    path = c.save(tmp_path / "c.json")
    code, out, err = cli("fit", path, "--form", "soft_lif", "-o", tmp_path / "a.json",
                         "--plot", tmp_path / "f.png")  # fmt: skip
    assert code == 0, err
    assert "tau (effective, not tau_m) =" in out and "note: tau is the effective time scale" in out
    act = Activation.load(tmp_path / "a.json")
    assert act.params["tau"] > 0  # the name kept; its value trades off against c and gamma
    assert "tau (effective, not tau_m)=" in act.describe()
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
