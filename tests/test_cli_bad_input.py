"""Bad input refused up front (issue 12, sections 3-5): unwritable outputs, a pipeline --out that is a
file, sizes that cannot fit, dt at or above the refractory period, IDX labels outside the classes,
--version and Ctrl-C. Each gives exit code 2 (130 for Ctrl-C), one line on stderr, no traceback,
and leaves files already written alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from biorate.errors import DataError, ProtocolError

FAST = ["--duration", "50ms", "--transient", "0ms", "--trials", "1", "--target", "numpy",
        "--quiet"]  # fmt: skip


def one_line(err: str, *words: str) -> None:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture
def no_work(monkeypatch):
    """Every place where real work starts (a Brian2 run, a fit, training, the theory curves, the
    pipeline's stages, a sweep) fails the test if reached: a refusal must come before it. Each
    function is replaced wherever a biorate module holds it (``from x import f`` binds it there),
    after importing every module, so that no caller keeps the real one."""
    import importlib
    import pkgutil

    import biorate

    for info in pkgutil.walk_packages(biorate.__path__, "biorate."):
        importlib.import_module(info.name)
    import biorate.fitting
    import biorate.network
    import biorate.pipeline
    import biorate.spiking.brian
    import biorate.sweep
    import biorate.theory

    def reached(*args, **kwargs):
        raise AssertionError("real work started before the bad input was refused")

    work = [biorate.spiking.brian.run_network, biorate.fitting.fit, biorate.theory.fi,
            biorate.theory.release, biorate.pipeline.run_pipeline, biorate.sweep.run_sweep]  # fmt: skip
    for module in [m for name, m in sys.modules.items() if name.startswith("biorate.")]:
        for name, value in list(vars(module).items()):
            if any(value is f for f in work):
                monkeypatch.setattr(module, name, reached)
    monkeypatch.setattr(biorate.network.RateNetwork, "fit", reached)
    monkeypatch.setattr(biorate.network.RateNetwork, "evaluate", reached)


@pytest.fixture
def blocker(tmp_path) -> Path:
    """A regular file: a path under it cannot be written, even by root."""
    f = tmp_path / "file.txt"
    f.write_text("not a folder")
    return f


@pytest.fixture
def curve_file(tmp_path) -> Path:
    from biorate.curve import TransferCurve
    from biorate.forms import FORMS

    x = np.linspace(0.0, 5e-10, 30)
    y = FORMS["sigmoid"].value(x, {"x_half": 2.2e-10, "width": 3e-11, "r_max": 80.0, "r0": 2.0})
    y = y + np.random.default_rng(0).normal(0, 1.0, x.size)
    c = TransferCurve("fi", x, y, "A", "Hz", y_sem=np.full(x.size, 1.0), model={"name": "lif"})
    return c.save(tmp_path / "curve.json")


# --- A: outputs that cannot be written, refused before any computation -----------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "fi", "--current", "0nA:0.5nA:3", *FAST, "-o", "{bad}"],
        ["simulate", "fi", "--current", "0nA:0.5nA:3", *FAST, "-o", "{ok}", "--plot", "{bad}"],
        ["simulate", "release", "--rate", "1Hz:10Hz:2", *FAST, "-o", "{bad}"],
        ["simulate", "release-probability", "--calcium", "0uM:1uM:3", "-o", "{bad}"],
        ["theory", "fi", "--current", "0nA:0.5nA:3", "-o", "{bad}"],
        ["theory", "release", "-o", "{bad}"],
        ["fit", "{curve}", "-o", "{bad}"],
        ["fit", "{curve}", "-o", "{ok}", "--report", "{bad}"],
        ["fit", "{curve}", "-o", "{ok}", "--plot", "{bad}"],
        ["fit", "{curve}", "-o", "{ok}", "--plot-activation", "{bad}"],
        ["pipeline", "--quick", "--out", "{bad}"],
        ["evaluate", "{net}", "--dataset", "xor", "--report", "{bad}"],
    ],
)
def test_unwritable_output_refused_before_work(cli, tmp_path, blocker, curve_file, argv, no_work):
    from biorate.network import RateNetwork

    net = RateNetwork([2, 3, 2], seed=0).initialize().save(tmp_path / "net.npz")
    ok = tmp_path / "ok.json"
    ok.write_text("keep me")
    bad = blocker / "out.json"
    args = [a.format(bad=bad, ok=ok, curve=curve_file, net=net) for a in argv]
    code, out, err = cli(*args)
    assert code == 2
    one_line(err, "cannot", str(blocker), "not a folder")
    assert ok.read_text() == "keep me" and blocker.read_text() == "not a folder"


def test_output_folder_missing_or_a_folder(cli, tmp_path):
    code, _, err = cli("theory", "fi", "--current", "0nA:0.5nA:3", "-o", tmp_path / "no" / "x.json")
    assert code == 2
    one_line(err, "folder", "does not exist")
    code, _, err = cli("theory", "fi", "--current", "0nA:0.5nA:3", "-o", tmp_path)
    assert code == 2
    one_line(err, "is a folder")


def test_unwritable_system_folder(cli):
    """/proc (or /sys) takes no new file, not even from root: the probe notices."""
    target = next((d for d in ("/proc", "/sys") if os.path.isdir(d)), None)
    if target is None:
        pytest.skip("no /proc or /sys")
    code, _, err = cli("theory", "fi", "--current", "0nA:0.5nA:3", "-o", f"{target}/biorate.json")
    assert code == 2
    one_line(err, "not writable", target)


def test_sweep_output_checked_before_dask(cli, tmp_path, blocker, no_work):
    spec = Path(__file__).resolve().parents[1] / "examples" / "sweeps" / "lif_tau_sigma.toml"
    code, _, err = cli("sweep", spec, "-o", blocker / "sweep", "--quiet")
    assert code == 2
    one_line(err, "cannot create", "not a folder")
    code, _, err = cli("sweep", spec, "-o", tmp_path / "s", "--plot", blocker / "p.png", "--quiet")
    assert code == 2
    one_line(err, "--plot", "not a folder")
    assert not (tmp_path / "s").exists()


def test_check_writable_leaves_nothing(tmp_path):
    from biorate.cli.common import OutputError, check_writable

    check_writable(tmp_path / "a.json", "-o a.json")
    check_writable(tmp_path / "new" / "deeper", "--out", folder=True)
    check_writable(None)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match="not a folder"):
        (tmp_path / "f").write_text("")
        check_writable(tmp_path / "f", "--out", folder=True)


# --- B: pipeline --out an existing file -----------------------------------------------------


def test_pipeline_out_is_a_file(cli, tmp_path):
    f = tmp_path / "report.txt"
    f.write_text("mine")
    code, out, err = cli("pipeline", "--quick", "--out", f)
    assert code == 2
    one_line(err, "--out", str(f), "is a file, not a folder")
    assert f.read_text() == "mine"


def test_run_pipeline_api_out_is_a_file(tmp_path):
    from biorate.errors import OutputError
    from biorate.pipeline import run_pipeline

    f = tmp_path / "x"
    f.write_text("mine")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        run_pipeline(f, quick=True, progress=False)
    with pytest.raises(OutputError, match="cannot create"):
        run_pipeline(f / "sub", quick=True, progress=False)
    assert f.read_text() == "mine"


# --- C: sizes that cannot fit ---------------------------------------------------------------


@pytest.mark.parametrize("trials", ["100000000", "1000000000"])
def test_huge_trials_refused_with_estimate(cli, tmp_path, trials, no_work):
    out = tmp_path / "fi.json"
    out.write_text("keep me")
    code, _, err = cli("simulate", "fi", "--current", "0nA:0.5nA:51", "--trials", trials,
                       "--quiet", "-o", out)  # fmt: skip
    assert code == 2
    one_line(err, "measure_fi lif", "51 levels x", "of memory", "use fewer trials or levels")
    assert "TiB" in err or "GiB" in err
    assert out.read_text() == "keep me"
    code, _, err = cli("simulate", "release", "--trials", trials, "--quiet", "-o", out)
    assert code == 2
    one_line(err, "measure_release", "terminals", "of memory")


def test_size_check_in_api(monkeypatch):
    import biorate._memory as bio
    from biorate.spiking import measure_fi, protocol

    monkeypatch.setattr(bio, "available_memory", lambda: 10 * 2**20)  # 10 MiB free
    with pytest.raises(ProtocolError, match=r"need about .* of memory, more than the 10 MiB"):
        measure_fi("lif", current="0nA:0.5nA:51", trials=1000, target="numpy", progress=False)
    monkeypatch.setattr(bio, "available_memory", lambda: None)  # unknown: index limit only
    with pytest.raises(ProtocolError, match="limit of 2,147,483,647"):
        protocol.check_size(51, 10**8, "measure_fi lif")
    protocol.check_size(51, 10, "measure_fi lif")


# --- D: dt at or above the refractory period -----------------------------------------------


@pytest.mark.parametrize("dt", ["5ms", "2ms"])
def test_dt_not_below_refractory_refused(cli, tmp_path, dt):
    code, _, err = cli("simulate", "fi", "--current", "0nA:0.5nA:3", "--dt", dt, *FAST,
                       "-o", tmp_path / "fi.json")  # fmt: skip
    assert code == 2
    one_line(err, f"dt = {dt[:-2]} ms must be shorter than the refractory period t_ref = 2 ms",
             "use dt < 2 ms")  # fmt: skip
    code, _, err = cli("theory", "fi", "--current", "0nA:0.5nA:3", "--dt", dt,
                       "-o", tmp_path / "th.json")  # fmt: skip
    assert code == 2
    one_line(err, "refractory period")
    assert not (tmp_path / "fi.json").exists()


def test_dt_rule_api():
    from biorate.models import load_model
    from biorate.spiking import measure_fi

    lif = load_model("lif")
    assert lif.refractory_period() == pytest.approx(2e-3)
    lif.check_dt(1.9e-3)  # shorter: fine
    with pytest.raises(ProtocolError, match="refractory"):
        measure_fi(lif, current="0nA:0.5nA:3", dt="5 ms", duration="0.1 s", progress=False)
    # no refractory period (t_ref = 0): nothing to lose, any dt goes
    lif.with_params(t_ref="0 ms").check_dt(5e-3)


# --- E: IDX labels outside 0..n_classes-1 -------------------------------------------------


def _mnist(folder: Path, train_labels: np.ndarray, test_labels: np.ndarray) -> Path:
    from biorate.datasets import write_idx

    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, labels in (("train", train_labels), ("t10k", test_labels)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, size=(labels.size, 4, 4)).astype(np.uint8))  # fmt: skip
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels.astype(np.uint8))
    return folder


def test_idx_label_outside_classes_refused(cli, tmp_path):
    from biorate.datasets import load_dataset

    digits = np.arange(40) % 10
    train = digits.copy()
    train[7] = 200
    folder = _mnist(tmp_path / "m", train, digits[:20])
    with pytest.raises(DataError, match=r"label 200 \(1 image\) outside 0..9"):
        load_dataset(f"idx:{folder}")
    out = tmp_path / "net.npz"
    out.write_bytes(b"keep me")
    code, _, err = cli("train", "--dataset", f"idx:{folder}", "--epochs", "1", "--quiet",
                       "-o", out)  # fmt: skip
    assert code == 2
    one_line(err, "label 200", "outside 0..9", "n_classes = 10")
    assert out.read_bytes() == b"keep me"


def test_idx_test_label_unseen_in_training_refused(tmp_path):
    from biorate.datasets import load_dataset

    folder = _mnist(tmp_path / "m", np.arange(30) % 3, np.array([0, 1, 2, 5, 5]))
    with pytest.raises(DataError, match=r"t10k-labels.*label 5 \(2 images\) outside 0..2"):
        load_dataset(f"idx:{folder}")
    ok = _mnist(
        tmp_path / "ok", np.arange(30) % 3, np.array([0, 0, 2])
    )  # a test set may lack a class
    assert load_dataset(f"idx:{ok}").n_classes == 3


# --- F: --version and Ctrl-C ---------------------------------------------------------------


def test_version(cli):
    from biorate import __version__

    code, out, err = cli("--version")
    assert code == 0 and out.strip() == f"biorate {__version__}" and err == ""


def test_keyboard_interrupt_exits_130(cli, monkeypatch):
    from biorate.cli import models

    def interrupted(args):  # noqa: ANN001, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "run", interrupted)
    code, out, err = cli("models")
    assert code == 130
    one_line(err, "interrupted")


def test_sigint_in_a_real_process_exits_130(tmp_path):
    """Ctrl-C during a simulation, in a fresh interpreter as a user runs it."""
    cmd = [sys.executable, "-c", "from biorate.cli import main; raise SystemExit(main())",
           "simulate", "fi", "--current", "0nA:0.5nA:51", "--duration", "1000s", "--trials", "20",
           "--target", "numpy", "--quiet", "-o", str(tmp_path / "fi.json")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)  # importing Brian2 and starting the run
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    one_line(err, "interrupted")
    assert not (tmp_path / "fi.json").exists()


def test_available_memory_respects_a_containers_limit(tmp_path, monkeypatch):
    """In a container MemAvailable shows the host's memory; the cgroup's limit minus its usage is
    what an allocation can really get (past it the kernel kills the process without a message)."""
    import biorate._memory as bio

    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    monkeypatch.setattr(bio, "_CGROUP_FILES", ((str(limit), str(usage)),))
    limit.write_text(f"{2**30}\n")
    usage.write_text(f"{2**28}\n")
    assert bio.available_memory() == 3 * 2**28  # 1 GiB allowed, 256 MiB used
    limit.write_text("max\n")  # no limit: the machine's figure
    assert bio.available_memory() > 3 * 2**28 and bio._cgroup_room() is None
    usage.write_text("junk")
    assert bio._cgroup_room() is None
