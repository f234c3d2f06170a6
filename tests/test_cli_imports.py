"""What a command imports: Brian2 without pylab's namespace (matplotlib.pyplot is ~0.5 s of
Brian2's import, issue 17's f-I CLI start-up), and the process's imports as they were after it."""

import subprocess
import sys

SCRIPT = """
import sys
from biorate.cli import main
out = sys.argv[1]
sys.argv = ["biorate", "simulate", "fi", "--current", "0nA:0.4nA:3", "--trials", "1",
            "--duration", "20ms", "--transient", "0ms", "--target", "numpy", "--quiet", "-o", out]
code = main()  # as the console script calls it
print(code, "brian2" in sys.modules, "matplotlib.pyplot" in sys.modules, "pylab" in sys.modules)
import pylab  # blocked only while the command ran
print("pylab", pylab.__name__)
"""

IN_PROCESS = """
import sys
from biorate.cli import main
main(["simulate", "fi", "--current", "0nA:0.4nA:3", "--trials", "1", "--duration", "20ms",
      "--transient", "0ms", "--target", "numpy", "--quiet", "-o", sys.argv[1]])
import brian2
print(hasattr(brian2, "plot"))
"""


def test_a_command_imports_brian2_without_pyplot(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "fi.json")],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "0 True False False", out.stdout
    assert lines[-1] == "pylab pylab"
    assert (tmp_path / "fi.json").stat().st_size > 0


def test_main_called_with_arguments_keeps_brian2s_namespace(tmp_path):
    """A caller of main(ARGS) in its own process (a notebook, a script) that later runs
    `from brian2 import *` gets Brian2's pylab names as a plain `import brian2` gives them."""
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(tmp_path / "fi.json")],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"
