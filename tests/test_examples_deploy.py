"""The deploy example runs in its short mode and writes its figure and summary."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_example_06_quick(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "06_deploy_spiking.py"), "--quick", "--out",
         str(tmp_path), "--target", "numpy"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "06_deploy_spiking.png").stat().st_size > 20_000
    summary = json.loads((tmp_path / "06_deploy_spiking.json").read_text())
    assert set(summary) == {"feedforward", "residual", "feedback"}
    ff = summary["feedforward"]
    assert len(ff["spiking_accuracy"]) == 3 and ff["durations_s"][-1] == 0.2
    # the feedforward net, run as spikes for 200 ms, keeps most of its accuracy on 40 images
    assert ff["spiking_accuracy"][-1] >= ff["rate_accuracy"] - 0.1
