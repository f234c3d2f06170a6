"""``--quiet`` silences progress and notes only: every command still prints its result (and a
command's stderr stays empty on success)."""

from __future__ import annotations

import numpy as np

from biorate.curve import TransferCurve


def test_fit_quiet_prints_the_fit_and_where_it_went(cli, tmp_path):
    x = np.linspace(0, 1e-9, 21)
    y = 80 / (1 + np.exp(-(x - 0.5e-9) / 0.1e-9)) + np.random.default_rng(0).normal(0, 1, 21)
    src = TransferCurve(measure="fi", x=x, y=y, x_unit="A", y_unit="Hz",
                        y_sem=np.ones(21)).save(tmp_path / "c.json")  # fmt: skip
    out = tmp_path / "act.json"
    code, stdout, err = cli("fit", src, "--form", "sigmoid", "-o", out, "--quiet")
    assert code == 0 and err == "", err
    assert "sigmoid" in stdout and "status: OK" in stdout and f"wrote {out}" in stdout


def test_simulate_quiet_says_what_it_wrote(cli, tmp_path):
    out = tmp_path / "fi.json"
    code, stdout, err = cli("simulate", "fi", "--current", "0nA:0.4nA:3", "--duration", "0.2s",
                            "--trials", "1", "--target", "numpy", "--quiet", "-o", out)  # fmt: skip
    assert code == 0 and err == "" and stdout == f"wrote {out}\n"
