"""The deploy example runs in its short mode and writes its figure and summary."""

import json


def test_example_06_quick(tmp_path, run_example):
    run_example("06_deploy_spiking.py", "--quick", "--out", str(tmp_path), "--target", "numpy")
    assert (tmp_path / "06_deploy_spiking.png").stat().st_size > 20_000
    summary = json.loads((tmp_path / "06_deploy_spiking.json").read_text())
    assert set(summary) == {"feedforward", "residual", "feedback"}
    ff = summary["feedforward"]
    assert len(ff["spiking_accuracy"]) == 3 and ff["durations_s"][-1] == 0.2
    # the feedforward net, run as spikes for 200 ms, keeps most of its accuracy on 40 images
    assert ff["spiking_accuracy"][-1] >= ff["rate_accuracy"] - 0.1
