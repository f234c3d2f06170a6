import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_example_01_quick(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "01_fi_curves.py"), "--quick", "--out", str(tmp_path),
         "--target", "numpy"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "01_fi_curves.png").stat().st_size > 20_000
