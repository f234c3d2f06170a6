"""The README's promises: it opens with exactly two commands, and its Python API example runs
(shortened protocol) with results that make sense."""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_exactly_two_commands():
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert (
        block and README.index("```bash") < README.index("\n\n", README.index("# biorate") + 10) + 2
    )
    lines = [ln for ln in block.group(1).splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "biorate pipeline" in lines[0] and "pip install" in lines[0]
    assert "pytest" in lines[1] and ".[test]" in lines[1]


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    code = re.search(r"## Python API\n\n```python\n(.*?)```", README, re.S).group(1)
    # shorten the protocol: 0.5 s, 3 trials, NumPy target, 2 epochs on digits, 10 images as spikes
    code = (code.replace("duration=2*second, trials=10, seed=1",
                         "duration=0.5*second, trials=3, seed=1, target='numpy', progress=False")
            .replace("net.fit(X_train, y_train)", "net.fit(X_train, y_train, epochs=2)")
            .replace('br.deploy(net, X_test, y_test, durations=["50 ms", "200 ms"])',
                     'br.deploy(net, X_test[:10], y_test[:10], durations=["50 ms", "100 ms"], '
                     'progress=False)')
            .replace('br.deploy(net, X_test, y_test, method="euler")',
                     'br.deploy(net, X_test[:10], y_test[:10], durations=["50 ms"], '
                     'method="euler", target="numpy", progress=False)'))  # fmt: skip
    assert "target='numpy'" in code and "epochs=2" in code and 'target="numpy"' in code
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, "README", "exec"), ns)  # noqa: S102
    curve, pred, fit, net = ns["curve"], ns["pred"], ns["fit"], ns["net"]
    firing = pred.y > 20
    # 3 trials x 0.5 s: within 4 SEM of the Siegert rate, plus 3% for the Euler bias at dt = 0.1 ms
    err = np.abs(curve.y - pred.y)[firing]
    assert np.all(err < 4 * curve.y_sem[firing] + 0.03 * pred.y[firing])
    assert fit.r2 > 0.98
    assert (tmp_path / "lif_fitted.json").exists()
    assert net.evaluate(ns["X_test"], ns["y_test"])["accuracy"] > 0.5
    assert net.history_.stop_reason == "max_epochs" and net.history_.epochs == 2
    rep, ref = ns["rep"], ns["ref"]  # the default: the fitted lif integrated exactly at 1 ms
    assert rep["n_test"] == 10 and 0 <= rep["test_accuracy"] <= 1
    assert rep["mapping"]["method"] == "exact" and rep["mapping"]["dt_s"] == 1e-3
    assert ref["n_test"] == 10 and ref["mapping"]["method"] == "euler"
    assert ref["mapping"]["dt_s"] == pytest.approx(1e-4)
    assert ref["rate_test_accuracy"] == rep["rate_test_accuracy"]
    assert (
        rep["rate_test_accuracy"] == net.evaluate(ns["X_test"][:10], ns["y_test"][:10])["accuracy"]
    )


def test_readme_figures_exist():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert len(images) >= 6
    for rel in images:
        assert (ROOT / rel).stat().st_size > 10_000, rel
