"""Example 03 runs in its short mode and writes its figure and a loadable activation."""

import numpy as np

from biorate.activation import Activation


def test_example_03_quick(tmp_path, run_example):
    proc = run_example(
        "03_fit_and_export.py", "--quick", "--out", str(tmp_path), "--target", "numpy"
    )
    assert (tmp_path / "03_fit_and_export.png").stat().st_size > 20_000
    act = Activation.load(tmp_path / "03_lif_noise_sigmoid.json")
    z = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(act(z), 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert 1e-10 < act.params["x_half"] < 4e-10  # the onset lies inside the measured 0-0.5 nA
    assert "model selection" in proc.stdout and "bootstrap resamples" in proc.stdout
