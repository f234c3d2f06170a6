"""What a command imports: Brian2 without pylab's namespace (matplotlib.pyplot is ~0.5 s of
Brian2's import, issue 17's f-I CLI start-up), and the process's imports as they were after it."""

import subprocess
import sys

SCRIPT = """
import sys
from biorate.cli import main
code = main(["simulate", "fi", "--current", "0nA:0.4nA:3", "--trials", "1", "--duration",
             "20ms", "--transient", "0ms", "--target", "numpy", "--quiet", "-o", sys.argv[1]])
print(code, "brian2" in sys.modules, "matplotlib.pyplot" in sys.modules, "pylab" in sys.modules)
import pylab  # blocked only while the command ran
print("pylab", pylab.__name__)
"""


def test_a_command_imports_brian2_without_pyplot(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "fi.json")],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "0 True False False", out.stdout
    assert lines[-1] == "pylab pylab"
    assert (tmp_path / "fi.json").stat().st_size > 0
