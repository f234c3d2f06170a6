"""Campaign 10's findings (issue 18), and the leftovers of earlier campaigns closed with them."""

from __future__ import annotations

import os

import numpy as np
import pytest

from biorate._unit_convert import to_si
from biorate._unit_parse import TIME
from biorate.errors import UnitError


@pytest.mark.parametrize("value", [["300 ms"], ("300 ms",), [0.3], np.array([0.3]), []])
def test_a_scalar_quantity_refuses_a_list_of_one(value):
    """A one-element list passed as a single quantity (``duration = ["300 ms"]``) was accepted as
    its element; a scalar is a string, a number or a 0-d quantity."""
    with pytest.raises(UnitError, match="duration"):
        to_si(value, TIME, "duration")
    assert to_si("300 ms", TIME, "duration") == pytest.approx(0.3)
    assert to_si(np.float64(0.0), TIME, "duration") == 0.0


@pytest.mark.parametrize("call", ["learning_rate", "bootstrap", "fit_seed", "trials", "seed"])
def test_a_numpy_timedelta_is_no_number(call):
    """A1: NumPy counts timedelta64 among its integers, so it passed the integer checks and ended
    in int()'s TypeError (learning_rate, bootstrap, trials), or was taken as a seed."""
    import biorate as br
    from biorate import theory
    from biorate.datasets import load_dataset

    td = np.timedelta64(2, "ms")
    curve = theory.fi("lif", current="0nA:1nA:21", sigma="2 mV")
    calls = {
        "learning_rate": lambda: br.RateNetwork([2, 3, 2], learning_rate=td),
        "bootstrap": lambda: br.fit(curve, "sigmoid", bootstrap=td),
        "fit_seed": lambda: br.fit(curve, "sigmoid", seed=td),
        "trials": lambda: br.measure_fi("lif", "0nA:1nA:2", trials=td, progress=False),
        "seed": lambda: load_dataset("digits", seed=td),
    }
    with pytest.raises(br.BiorateError):
        calls[call]()


@pytest.mark.parametrize("kw", ["sigma", "current"])
def test_a_masked_value_is_no_quantity(kw):
    """C2: np.ma.masked compared equal to 0 and was read as a zero in any unit (a noiseless
    curve, a one-point curve at 0 A)."""
    from biorate import theory

    args = {"current": "0nA:1nA:5", "sigma": "2 mV"} | {kw: np.ma.masked}
    with pytest.raises(UnitError, match=f"{kw}: masked values"):
        theory.fi("lif", **args)
    with pytest.raises(UnitError, match="masked"):
        theory.fi("lif", current=np.ma.array([1e-9, 2e-9], mask=[0, 1]))


def test_sweep_workers_are_bounded_as_searchs_are():
    """B1: run_sweep(workers=N) asked Dask's LocalCluster for any N processes (1e10)."""
    from biorate.errors import ProtocolError
    from biorate.sweep.cluster import MAX_WORKERS, check_workers

    for lo in (0, 1):
        with pytest.raises(ProtocolError, match="1,024"):
            check_workers(MAX_WORKERS + 1, None, None, lo)
        with pytest.raises(ProtocolError):
            check_workers(np.timedelta64(3), None, None, lo)
        assert check_workers(np.int64(3), None, None, lo) == 3
    with pytest.raises(ProtocolError, match="from 1"):
        check_workers(0, None, None, 1)
    with pytest.raises(ProtocolError, match="existing cluster"):
        check_workers(2, "tcp://127.0.0.1:8786", None, 0)


def test_sweep_cli_refuses_workers_beyond_the_bound(tmp_path, cli):
    """B1 through the CLI: one line, exit 2, nothing started or written."""
    spec = tmp_path / "s.toml"
    spec.write_text('schema = 1\nname = "s"\nmeasure = "fi"\n[model]\nname = "lif"\n'
                    '[protocol]\ncurrent = "0nA:1nA:9"\nduration = "50 ms"\ntarget = "numpy"\nseed = 1\n'
                    '[grid]\ntau_m = ["10 ms", "20 ms"]\n')  # fmt: skip
    code, _, err = cli("sweep", spec, "-o", tmp_path / "out", "--workers", "100000")
    assert code == 2 and "1,024" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_poisson_rate_cap_counts_the_models_inputs(tmp_path, cli):
    """C1: the 1 MHz cap was per input train; a model declaring 1e8 inputs at 1 MHz asked Brian2's
    Cython poisson() for a mean it returns 0 for (a silent 0 Hz curve, exit 0)."""
    from biorate.models import shipped_models_dir

    text = (shipped_models_dir() / "neurons" / "lif.toml").read_text()
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "many.toml").write_text(text.replace("n_inputs = 1000", "n_inputs = 100000000")
                                      .replace('name = "lif"', 'name = "many"'))  # fmt: skip
    for command in (("theory", "fi"), ("simulate", "fi", "--target", "numpy", "--quiet")):
        out = tmp_path / f"{command[0]}.json"
        code, _, err = cli("--models", folder, *command, "--model", "many", "--drive", "poisson",
                           "--rate", "0Hz:1e6Hz:3", "-o", out)  # fmt: skip
        assert code == 2 and "at most 10 Hz" in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()
    # the shipped model's 1,000 inputs at the 1 MHz cap are exactly the limit: still accepted
    code, _, err = cli("theory", "fi", "--model", "lif", "--drive", "poisson", "--rate",
                       "0Hz:1e6Hz:3", "-o", tmp_path / "ok.json")  # fmt: skip
    assert code == 0, err


@pytest.mark.parametrize("length", [241, 250, 255])
def test_an_output_name_of_up_to_255_bytes_is_written(tmp_path, cli, length):
    """F1: the temp file beside an output adds ~15 bytes to its name, so names of 241-255 bytes
    (valid ones) were refused as "File name too long"."""
    out = tmp_path / ("x" * (length - 5) + ".json")
    code, _, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:1nA:5", "-o", out)
    assert code == 0, err
    assert out.exists() and len(os.fsencode(out.name)) == length
    plot = tmp_path / ("p" * (length - 4) + ".png")
    code, _, err = cli("fit", out, "--form", "sigmoid", "-o", tmp_path / "a.json", "--plot", plot)
    assert code == 0, err
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, plot.name, "a.json"])


def _lif_variant(tmp_path, name, edit):
    from biorate.models import shipped_models_dir

    text = (shipped_models_dir() / "neurons" / "lif.toml").read_text()
    path = tmp_path / f"{name}.toml"
    path.write_text(edit(text.replace('name = "lif"', f'name = "{name}"')))
    return path


def test_the_shipped_unit_names_are_brian2s():
    """The list the model checks read without Brian2 is Brian2's own (regenerate
    biorate/_data/brian2_units.txt from brian2.core.namespace.DEFAULT_UNITS when it changes)."""
    pytest.importorskip("brian2")
    from brian2.core.namespace import DEFAULT_UNITS

    from biorate.models.names import brian2_unit_names

    assert brian2_unit_names() == frozenset(DEFAULT_UNITS)


@pytest.mark.parametrize("unit", ["mV", "ms", "Hz", "kohm2"])
def test_a_parameter_named_like_a_unit_is_refused_by_theory_too(tmp_path, cli, unit):
    """Earlier leftover: theory accepted a parameter named like a Brian2 unit that simulate
    refused (the check lived in the Brian2 layer); now every command refuses it on loading."""
    model = _lif_variant(tmp_path, "unitp", lambda t: t.replace('J = "0.1 mV"',
                                                                f'J = "0.1 mV"\n{unit} = "2 ms"'))  # fmt: skip
    code, _, err = cli("theory", "fi", "--model", model, "--current", "0nA:1nA:3",
                       "-o", tmp_path / "c.json")  # fmt: skip
    assert code == 2 and f"parameter {unit!r} is the name of a Brian2 unit" in err, err
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("call", ["rand()", "randn()", "poisson(2)"])
def test_random_functions_in_equations_are_refused(tmp_path, cli, call):
    """Earlier leftover: ``rand()`` in the equations gave Brian2's internal message on the numpy
    target ("rand_func() missing 1 required positional argument") and ran on cython."""
    model = _lif_variant(tmp_path, "rnd", lambda t: t.replace("R_m*I)/tau_m", f"R_m*I*{call})/tau_m")
                         .replace('theory = "lif"\n', ""))  # fmt: skip
    code, _, err = cli("simulate", "fi", "--model", model, "--current", "0nA:1nA:3", "--duration",
                       "50ms", "--target", "numpy", "-o", tmp_path / "c.json", "--quiet")  # fmt: skip
    assert code == 2 and f"calls {call.split('(')[0]}()" in err and "xi" in err, err
    assert len(err.strip().splitlines()) == 1
    # in a comment it is only a word
    model = _lif_variant(tmp_path, "rndc", lambda t: t.replace("I : amp", f"I : amp  # not {call}"))
    code, _, err = cli("theory", "fi", "--model", model, "--current", "0nA:1nA:3",
                       "-o", tmp_path / "t.json")  # fmt: skip
    assert code == 0, err


def test_a_local_cluster_starts_quietly_when_port_8787_is_taken():
    """E1: with port 8787 held (another cluster, a notebook), a sweep or search printed
    distributed's four-line "Port 8787 is already in use" warning."""
    pytest.importorskip("distributed")
    import socket
    import warnings

    from biorate.sweep.cluster import connect_cluster

    holder = socket.socket()
    try:
        holder.bind(("", 8787))
    except OSError:
        pytest.skip("port 8787 is in use here already")
    holder.listen()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client, cluster = connect_cluster(None, 1, 30.0)
            client.close()
            cluster.close()
    finally:
        holder.close()
    assert not [w for w in caught if "already in use" in str(w.message)]


def test_a_deleted_working_folder_is_named(tmp_path, monkeypatch, cli):
    """Earlier leftover: a command run in a folder deleted meanwhile said only "No such file or
    directory"."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    code, _, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:1nA:3", "-o", "c.json")
    assert code == 2 and "the working folder is gone" in err, err


@pytest.mark.parametrize("disposition", ["SIG_IGN", "SIG_DFL"])
def test_brian2s_sigint_handler_keeps_an_ignored_or_default_disposition(disposition):
    """A2: Brian2's import wraps the SIGINT handler it finds and calls it on Ctrl-C; SIG_IGN (a
    script's background job) or SIG_DFL is no function, and a Ctrl-C ended in "TypeError:
    'Handlers' object is not callable" (reported as a model error, or a failed pipeline stage)."""
    import subprocess
    import sys

    pytest.importorskip("brian2")
    script = (
        "import os, signal, time\n"
        f"signal.signal(signal.SIGINT, signal.{disposition})\n"
        "from biorate.spiking import brian\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(0.5)\n"
        "    print('ignored')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    want = "ignored" if disposition == "SIG_IGN" else "interrupted"
    assert out.stdout.strip() == want and "Traceback" not in out.stderr


def test_sigterm_while_outputs_are_written_leaves_the_old_files_and_no_temp_files(tmp_path):
    """D1: SIGTERM (kill, a batch system's time limit) during a command's final writes left its
    hidden temp files beside the outputs: only SIGINT was handled. The command line now turns
    SIGTERM into an exception (exit 143, one line), so the clean-ups run. The signal is sent
    from inside the write (the staged outputs made, before they are renamed)."""
    (tmp_path / "n.npz").write_text("OLD")
    (tmp_path / "n.png").write_text("OLD")
    out = _train_with_sigterm_at_commit(tmp_path, "", ["--plot", "n.png"])
    assert out.returncode == 143 and out.stderr.strip() == "biorate: terminated", out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.npz", "n.png"]
    assert (tmp_path / "n.npz").read_text() == "OLD" and (tmp_path / "n.png").read_text() == "OLD"


def test_a_failed_write_of_a_staged_output_names_the_output(tmp_path):
    """E2: on a full disk, train/fit/deploy (outputs staged beside their names) said "cannot
    write DIR/.n.c90420b1.part.npz"; the message names the output the user asked for."""
    import errno

    from biorate.io import WriteError, atomic_write, staged_outputs

    def full(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    (tmp_path / "n.npz").write_text("OLD")
    with pytest.raises(WriteError) as info, staged_outputs() as out:
        atomic_write(out.path(tmp_path / "n.npz"), full, binary=True)
    assert str(info.value) == f"cannot write {tmp_path / 'n.npz'}: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.npz"]
    assert (tmp_path / "n.npz").read_text() == "OLD"


def test_a_pipeline_rerun_warns_and_its_partial_report_says_what_did_not_run(tmp_path,
                                                                               monkeypatch):  # fmt: skip
    """D2: a rerun into a folder holding a finished run replaced its report after the first
    stage without a word, and a run stopped midway left a report that read as complete."""
    import biorate.pipeline as pl
    from biorate.errors import BiorateWarning

    def good(ctx):
        return {"ok": True}

    def bad(ctx):
        raise RuntimeError("boom")

    (tmp_path / "report.json").write_text('{"kind": "pipeline_report"}')
    monkeypatch.setattr(pl, "STAGES", [("a", good), ("b", bad), ("c", good)])
    with pytest.warns(BiorateWarning, match="holds the report of an earlier run"):
        with pytest.raises(pl.PipelineError):
            pl.run_pipeline(tmp_path, quick=True, progress=False)
    text = (tmp_path / "report.md").read_text()
    assert "| a | ok |" in text and "| b | failed: boom |" in text and "| c | not run | |" in text


def test_a_utf8_byte_order_mark_is_read_as_csv_files_read_it(tmp_path, cli):
    """E3: a BOM (as Windows Notepad writes) made every TOML input "malformed TOML (Invalid
    statement at line 1, column 1)" and every JSON input Python's "decode using utf-8-sig"."""
    from biorate.models import shipped_models_dir

    bom = b"\xef\xbb\xbf"
    code, _, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:1nA:21", "--sigma",
                       "2mV", "-o", tmp_path / "c.json")  # fmt: skip
    assert code == 0, err
    (tmp_path / "b.json").write_bytes(bom + (tmp_path / "c.json").read_bytes())
    code, _, err = cli("fit", tmp_path / "b.json", "--form", "sigmoid", "-o", tmp_path / "a.json")
    assert code == 0, err
    folder = tmp_path / "m"
    folder.mkdir()
    text = (shipped_models_dir() / "neurons" / "lif.toml").read_text(encoding="utf-8")
    (folder / "bom.toml").write_bytes(bom + text.replace('name = "lif"', 'name = "bom"').encode())
    code, _, err = cli("--models", folder, "theory", "fi", "--model", "bom", "--current",
                       "0nA:1nA:3", "-o", tmp_path / "t.json")  # fmt: skip
    assert code == 0, err


def test_an_unwritable_cython_cache_makes_auto_take_numpy(monkeypatch):
    """F2: with a home where Brian2 cannot keep its Cython cache (HOME=/dev/null, a read-only
    home), "auto" still took Cython and the run failed with "Brian2 rejected the model:
    Couldn't create Cython cache directory"; now auto takes NumPy, and an explicit cython target
    is refused in one line naming the folder."""
    pytest.importorskip("brian2")
    from brian2 import prefs

    from biorate.errors import ProtocolError
    from biorate.spiking import brian
    from biorate.spiking.protocol import cython_usable

    monkeypatch.setitem(prefs, "codegen.runtime.cython.cache_dir", "/dev/null/brian_extensions")
    with brian.codegen_target("auto") as chosen:
        assert chosen == "numpy"
    assert not cython_usable()
    with pytest.raises(ProtocolError, match="/dev/null/brian_extensions cannot be written"):
        with brian.codegen_target("cython"):
            pass
    # the estimates before a run take the same target: numpy for auto, cython refused up front
    from biorate.spiking.protocol import check_run, resolve_target

    assert resolve_target("auto") == "numpy"
    with pytest.raises(ProtocolError, match="cannot be written"):
        check_run(10, 1000, "test", "10 neurons", "fewer", target="cython")


def test_an_uncaught_biorate_error_is_not_reported_as_a_brian2_bug(tmp_path):
    """Campaign 10's note: once biorate's Brian2 side was imported, Brian2's excepthook answered a
    script's uncaught BiorateError (a refused input) with "Brian 2 encountered an unexpected
    error ... please report it" and wrote debug files to /tmp."""
    import subprocess
    import sys

    pytest.importorskip("brian2")
    script = ("import biorate as br\nfrom biorate.spiking import brian\n"
              "br.RateNetwork([64, 10], learning_rate=-1)\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)  # fmt: skip
    assert out.returncode == 1
    assert "Brian 2 encountered" not in out.stderr and "NetworkError" in out.stderr
    # any other exception still reaches Brian2's hook
    other = "from biorate.spiking import brian\nraise RuntimeError('x')\n"
    out = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)  # fmt: skip
    assert "Brian 2 encountered" in out.stderr


@pytest.mark.parametrize(("command", "name"), [("fit", "a.csv"), ("fit", "a.npz"),
                                               ("export", "n.json"), ("export", "n.npz")])  # fmt: skip
def test_an_output_suffix_naming_another_format_is_refused(tmp_path, cli, command, name):
    """Campaign 10's note (and campaign 9's): ``fit -o o.csv`` wrote JSON and ``export nir -o
    x.json`` HDF5 under those names; refused before any work, naming the suffix to use."""
    out = tmp_path / name
    if command == "fit":
        code, _, err = cli("theory", "fi", "--model", "lif", "--current", "0nA:1nA:21", "--sigma",
                           "2mV", "-o", tmp_path / "c.json")  # fmt: skip
        assert code == 0, err
        code, _, err = cli("fit", tmp_path / "c.json", "--form", "sigmoid", "-o", out)
        want = "name it .json"
    else:
        pytest.importorskip("nir")
        from network_helpers import lif_activation

        from biorate.datasets import load_dataset
        from biorate.network import RateNetwork

        d = load_dataset("digits")
        net = RateNetwork([64, 8, 10], activation=lif_activation("lif"), seed=0)
        net.fit(d.X_train[:100], d.y_train[:100], epochs=1)
        net.save(tmp_path / "net.npz")
        code, _, err = cli("export", "nir", tmp_path / "net.npz", "-o", out)
        want = "name it .nir or .h5 or .hdf5"
    assert code == 2 and want in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_an_ignored_sigterm_stays_ignored(tmp_path):
    """Review of D1's fix: a command started with SIGTERM ignored (by its parent) must keep
    ignoring it, as an ignored SIGINT is kept."""
    out = _train_with_sigterm_at_commit(tmp_path, "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
                                        [])  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "n.npz").stat().st_size > 100


@pytest.mark.parametrize("env", [{}, {"CYTHON_CACHE_DIR": "/tmp/cc"}, {"XDG_CACHE_HOME": "/tmp"},
                                 {"XDG_CACHE_HOME": "/nonexistent"}])  # fmt: skip
def test_the_cython_cache_folder_is_found_as_cython_finds_it(monkeypatch, env):
    """The cache check mirrors Cython's rule (importing Cython's function costs 40-80 ms an
    estimate); Brian2 adds brian_extensions to it."""
    import os
    import sys

    pytest.importorskip("Cython")
    try:
        from Cython.Build.Cache import get_cython_cache_dir
    except ImportError:
        from Cython.Utils import get_cython_cache_dir
    from biorate.spiking.protocol import _cython_cache_dir

    for name in ("CYTHON_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if "brian2" in sys.modules:
        from brian2 import prefs

        monkeypatch.setitem(prefs, "codegen.runtime.cython.cache_dir", None)
    want = getattr(get_cython_cache_dir, "__wrapped__", get_cython_cache_dir)()
    assert _cython_cache_dir() == os.path.join(want, "brian_extensions")


def _train_with_sigterm_at_commit(tmp_path, setup: str, extra: list[str]):
    """``biorate train`` as the command line runs it (argv None), in a fresh interpreter that
    runs ``setup`` first and sends itself SIGTERM from inside the final write (the staged
    outputs made, before they are renamed); returns the completed process."""
    import subprocess
    import sys

    args = ["biorate", "train", "--dataset", "digits", "--hidden", "8", "--epochs", "2",
            "-o", "n.npz", *extra, "--quiet"]  # fmt: skip
    script = (
        f"import os, signal, sys\n{setup}\n"
        "import biorate.io as io\n"
        "commit = io.Staged.commit\n"
        "def killed(self):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    commit(self)\n"
        "io.Staged.commit = killed\n"
        f"sys.argv = {args!r}\n"
        "from biorate.cli import main\n"
        "sys.exit(main())\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)  # fmt: skip
