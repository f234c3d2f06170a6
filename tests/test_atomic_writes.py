"""Every file biorate writes is written atomically (a temp file beside it, then a rename): a write
that fails part-way leaves the previous file whole and no temp file behind. Checked for networks
(.npz), figures (PNG through the plotting functions) and sweep summaries (CSV, JSON, Parquet), with
the failure injected two ways: inside the format's own writer (NumPy, matplotlib, pyarrow) after
it has written some bytes, and as a disk that fills up after 100 bytes whatever writes."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import biorate.io as bio
from biorate.errors import BiorateError, OutputError
from biorate.io import WriteError

# ---------------------------------------------------------------------------- the writers


def _net(seed: int) -> Any:
    from biorate.network import RateNetwork

    return RateNetwork([3, 4, 2], activation="sigmoid", seed=seed).initialize()


def _write_npz(path: Path, version: int) -> None:
    _net(version).save(path)


def _write_curve_png(path: Path, version: int) -> None:
    from biorate.curve import TransferCurve
    from biorate.plotting import plot_curve

    x = np.linspace(0, 1e-9, 5)
    curve = TransferCurve(measure="fi", x=x, y=(version + 1) * 100 * x / 1e-9, x_unit="A",
                          y_unit="Hz")  # fmt: skip
    plot_curve(curve, path=path)


def _write_deploy_png(path: Path, version: int) -> None:
    from biorate.deploy import plot_deploy

    report = {
        "durations_s": [0.05, 0.1], "spiking_accuracy": [0.5, 0.6 + 0.1 * version],
        "rate_accuracy": 0.7, "agreement": [0.8, 0.9], "connectivity": "feedforward",
        "mapping": {"activation": "lif_noise", "encoding": "current"},
        "populations": [{"name": "h1", "neurons_per_image": 3, "correlation": 0.9}],
        "samples": {"raster_label": 1,
                    "raster": {"h1": {"i": [0, 1, 2], "t_s": [0.01, 0.02, 0.03]}},
                    "scatter": {"h1": {"predicted_hz": [1.0, 2.0], "spiking_hz": [1.5, 2.5]}}},
    }  # fmt: skip
    plot_deploy(report, path)


def _summary(version: int) -> dict:
    return {"kind": "sweep_summary", "schema": 1, "name": "t", "columns": ["x", "r2", "flags"],
            "units": {"x": "A"},
            "rows": [{"x": float(i), "r2": 0.9 + version / 100, "flags": ""}
                     for i in range(20)]}  # fmt: skip


def _write_summary(name: str) -> Callable[[Path, int], None]:
    def write(path: Path, version: int) -> None:
        from biorate.sweep import write_summary

        written = write_summary(_summary(version), path.parent)
        assert path in written

    return write


# write_summary writes summary.csv, summary.json, summary.parquet in that order
NTH = {"summary.json": 2, "summary.parquet": 3}

WRITERS = {
    "net.npz": _write_npz,
    "curve.png": _write_curve_png,
    "deploy.png": _write_deploy_png,
    "summary.csv": _write_summary("summary.csv"),
    "summary.json": _write_summary("summary.json"),
    "summary.parquet": _write_summary("summary.parquet"),
}

# ---------------------------------------------------------------------------- the failures


class _DiskFull:
    """A file object that takes ``limit`` bytes (or characters) and then fails like a full disk."""

    def __init__(self, f: Any, limit: int) -> None:
        self._f, self._left = f, limit

    def write(self, data: Any) -> int:
        if len(data) > self._left:
            self._f.write(data[: self._left])
            self._f.flush()
            self._left = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._left -= len(data)
        return self._f.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> _DiskFull:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._f.close()


class _OsWithFullDisk:
    """``os`` for :mod:`biorate.io`, except that the ``nth`` file it opens (1-based) fills up after
    ``limit`` bytes."""

    def __init__(self, limit: int, nth: int = 1) -> None:
        self.limit, self.nth = limit, nth
        self.opened = 0

    def fdopen(self, *args: Any, **kwargs: Any) -> Any:
        self.opened += 1
        f = os.fdopen(*args, **kwargs)
        return _DiskFull(f, self.limit) if self.opened == self.nth else f

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def _partial_then_fail(exc: BaseException) -> Callable[..., None]:
    """A replacement for a format's writer: writes some bytes to the file it was given (or
    opened), then raises ``exc``."""

    def writer(*args: Any, **kwargs: Any) -> None:
        f = next(a for a in args if hasattr(a, "write"))
        f.write(b"PK\x03\x04 partial" * 10)
        f.flush()
        raise exc

    return writer


def _inject_in_format_writer(monkeypatch: pytest.MonkeyPatch, name: str, exc: BaseException):
    import matplotlib.figure

    if name.endswith(".npz"):
        monkeypatch.setattr(np, "savez", _partial_then_fail(exc))
    elif name.endswith(".png"):
        bad = _partial_then_fail(exc)
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, f, **kw: bad(f))
    elif name.endswith(".parquet"):
        import pyarrow.parquet as pq

        monkeypatch.setattr(pq, "write_table", lambda table, f, **kw: _partial_then_fail(exc)(f))
    else:  # CSV and JSON are written with f.write itself: fail it
        monkeypatch.setattr(bio, "os", _OsWithFullDisk(limit=30, nth=NTH.get(name, 1)))


# ---------------------------------------------------------------------------- the tests


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _check_untouched(folder: Path, before: dict[str, bytes]) -> None:
    after = _snapshot(folder)
    assert sorted(after) == sorted(before), "a temp file was left behind"
    for name, data in before.items():
        assert after[name] == data, f"{name} changed"


def _check_untouched_but_earlier(folder: Path, before: dict[str, bytes], name: str) -> None:
    """Like :func:`_check_untouched`, except that summary files written before ``name`` (CSV,
    then JSON) are new and whole: each file is old or new, never half-written or missing."""
    if name not in NTH:
        return _check_untouched(folder, before)
    after = _snapshot(folder)
    assert sorted(after) == sorted(before), "a temp file was left behind"
    assert after[name] == before[name]
    assert after["summary.csv"] != before["summary.csv"]  # written before the failure: new
    assert after["summary.csv"].count(b"\n") == 21  # and whole


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_disk_that_fills_up_leaves_the_old_file_whole(tmp_path, monkeypatch, name):
    path = tmp_path / name
    WRITERS[name](path, 0)
    before = _snapshot(tmp_path)
    assert before[name]  # the old file exists and is not empty
    full = _OsWithFullDisk(limit=100, nth=NTH.get(name, 1))
    monkeypatch.setattr(bio, "os", full)
    with pytest.raises(WriteError, match=f"cannot write .*{name}.*No space left") as info:
        WRITERS[name](path, 1)
    assert full.opened == NTH.get(name, 1) and info.value.errno == errno.ENOSPC
    assert isinstance(info.value, OSError) and isinstance(info.value, BiorateError)
    _check_untouched_but_earlier(tmp_path, before, name)
    monkeypatch.undo()
    WRITERS[name](path, 1)  # and a write that works replaces the file
    assert path.read_bytes() != before[name]


@pytest.mark.parametrize("exc", [RuntimeError("writer broke"), KeyboardInterrupt()],
                         ids=["error", "interrupt"])  # fmt: skip
@pytest.mark.parametrize("name", list(WRITERS))
def test_a_writer_failing_midway_leaves_the_old_file_whole(tmp_path, monkeypatch, name, exc):
    path = tmp_path / name
    WRITERS[name](path, 0)
    before = _snapshot(tmp_path)
    _inject_in_format_writer(monkeypatch, name, exc)
    expected = type(exc) if name.endswith((".npz", ".png", ".parquet")) else WriteError
    if name.endswith(".png") and isinstance(exc, RuntimeError):  # matplotlib's, said in one line
        expected = OutputError
    with pytest.raises(expected):
        WRITERS[name](path, 1)
    monkeypatch.undo()
    _check_untouched_but_earlier(tmp_path, before, name)


def test_a_folder_that_refuses_files_is_one_clear_error(tmp_path, monkeypatch):
    """mkstemp failing (no permission, read-only file system) is a WriteError naming the path."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(bio.tempfile, "mkstemp", refuse)
    with pytest.raises(WriteError, match="cannot write .*out.json: Permission denied"):
        bio.write_json(tmp_path / "out.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path, monkeypatch, cli):
    """A failed write at the end of a command is one line and exit 2, not a traceback."""
    from biorate.curve import TransferCurve

    x = np.linspace(0, 1e-9, 8)
    curve = TransferCurve(measure="fi", x=x, y=100 * (x / 1e-9) ** 2, x_unit="A", y_unit="Hz")
    src = curve.save(tmp_path / "c.json")
    out = tmp_path / "act.json"
    out.write_text("old")
    monkeypatch.setattr(bio, "os", _OsWithFullDisk(limit=10))
    code, _, err = cli("fit", src, "--form", "sigmoid", "-o", out, "--quiet")
    assert code == 2 and err.startswith("biorate: error: cannot write"), err
    assert len(err.strip().splitlines()) == 1
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "act.json", "c.json"]  # fmt: skip


# ---------------------------------------------------------------------------- a command's outputs


def _curve_file(tmp_path: Path) -> Path:
    from biorate.curve import TransferCurve
    from biorate.forms import FORMS

    x = np.linspace(0.0, 5e-10, 20)
    y = FORMS["sigmoid"].value(x, {"x_half": 2.2e-10, "width": 3e-11, "r_max": 80.0, "r0": 2.0})
    curve = TransferCurve("fi", x, y, "A", "Hz", y_sem=np.full(x.size, 1.0), model={"name": "lif"})
    return curve.save(tmp_path / "curve.json")


def test_staged_outputs_all_or_nothing(tmp_path):
    old, new = tmp_path / "a.json", tmp_path / "b.png"
    old.write_text("old")
    with pytest.raises(RuntimeError), bio.staged_outputs() as out:
        out.path(old).write_text("new")
        out.path(new).write_text("new")
        raise RuntimeError("the second output failed")
    assert old.read_text() == "old" and not new.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temp file left
    with bio.staged_outputs() as out:
        staged = out.path(new)
        assert staged.suffix == ".png" and staged.parent == tmp_path  # a figure keeps its format
        staged.write_text("png")
    assert new.read_text() == "png"


def test_fit_failing_at_its_figure_keeps_the_old_activation(tmp_path, monkeypatch, cli):
    """fit -o a.json --plot p.png: a figure that fails after the activation was made leaves the
    a.json already there byte-identical (the outputs are renamed into place together)."""
    import biorate.plotting.fit

    act = tmp_path / "a.json"
    act.write_bytes(b"previous activation")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise WriteError("cannot write p.png: No space left on device")

    monkeypatch.setattr(biorate.plotting.fit, "plot_activation", broken)
    code, out, err = cli("fit", _curve_file(tmp_path), "--form", "sigmoid", "-o", act,
                         "--plot-activation", tmp_path / "p.png", "--quiet")  # fmt: skip
    assert code == 2 and err == "biorate: error: cannot write p.png: No space left on device\n"
    assert act.read_bytes() == b"previous activation"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "curve.json"]


def test_warnings_of_a_refused_command_are_dropped(tmp_path, monkeypatch, cli):
    """A RuntimeWarning raised while checking input does not precede the one error line; a
    command that succeeds still shows its warnings."""
    import warnings

    import biorate.cli.fit as fit_cli

    def noisy_load(path: Any) -> None:
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        raise BiorateError(f"{path}: bad curve")

    monkeypatch.setattr(fit_cli.TransferCurve, "load", staticmethod(noisy_load))
    code, _, err = cli("fit", tmp_path / "c.json", "-o", tmp_path / "a.json")
    assert code == 2 and err == f"biorate: error: {tmp_path / 'c.json'}: bad curve\n"


def test_special_files_are_neither_read_nor_replaced(tmp_path, cli):
    """A FIFO (or a device such as /dev/zero) given as an input is refused instead of blocking or
    being read forever; as an output it is refused instead of being replaced by a regular file (a
    rename over /dev/null, as root, replaced the device). A symlink as an output is written
    through: the link stays a link."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = cli("fit", fifo, "-o", tmp_path / "a.json")
    assert (
        code == 2
        and err
        == f"biorate: error: {fifo}: not a regular file (a device, FIFO or socket); give a file\n"
    )
    code, _, err = cli("theory", "fi", "--current", "0nA:0.5nA:3", "-o", fifo)
    assert code == 2 and "it is not a regular file" in err and stat.S_ISFIFO(os.stat(fifo).st_mode)
    code, _, err = cli("theory", "fi", "--model", "/dev/zero", "--current", "0nA:0.5nA:3",
                       "-o", tmp_path / "t.json")  # fmt: skip
    assert code == 2 and "/dev/zero: not a regular file" in err
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    assert cli("theory", "fi", "--current", "0nA:0.5nA:3", "-o", link)[0] == 0
    assert link.is_symlink() and json.loads((tmp_path / "target.json").read_text())["kind"]


def test_an_output_that_is_the_commands_input_is_refused(tmp_path, cli):
    """`fit c.json -o c.json` would replace the curve it reads; refused before the fit, the input
    left whole."""
    curve = _curve_file(tmp_path)
    before = curve.read_bytes()
    for extra in (["-o", curve], ["-o", tmp_path / "a.json", "--report", curve]):
        code, _, err = cli("fit", curve, *extra)
        assert code == 2 and "the input CURVE.json and" in err and "name the same file" in err
    assert curve.read_bytes() == before


def test_wrong_kinds_of_paths_and_a_broken_matplotlib_are_one_line(tmp_path):
    """A path that is not a path (API) and a matplotlib that cannot start (MPLBACKEND=bogus, CLI)
    are biorate errors, not TypeErrors or ValueErrors from deep inside."""
    import subprocess
    import sys

    from biorate.errors import NetworkError, OutputError
    from biorate.network import RateNetwork

    with pytest.raises(NetworkError, match="named by a path, got int"):
        RateNetwork.load(5)
    with pytest.raises(OutputError, match="named by a path, got NoneType"):
        RateNetwork([2, 3, 2]).initialize().save(None)
    curve = _curve_file(tmp_path)
    code = ("import sys; from biorate.cli import main; "
            f"sys.exit(main(['fit', {str(curve)!r}, '-o', {str(tmp_path / 'a.json')!r}, "
            f"'--plot', {str(tmp_path / 'f.png')!r}]))")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "bogus"})  # fmt: skip
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "matplotlib cannot start" in run.stderr and "check MPLBACKEND" in run.stderr
