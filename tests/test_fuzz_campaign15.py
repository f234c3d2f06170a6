"""Campaign 15's findings (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import biorate as br
from biorate.errors import DataError, ModelError, ProtocolError

ROOT = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).with_name("biorate"))


def test_a_figure_title_naming_a_latin1_file_is_drawn(tmp_path, cli):
    """A1: a non-UTF-8 file name in a figure's title (`train --dataset csv:$'d\\xe9.csv'
    --plot`, `deploy $'n\\xe9.npz' --plot`) ended in matplotlib's 42-line TypeError (FreeType
    takes UTF-8 only): the title shows the byte as \\xe9."""
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    name = os.fsdecode(b"d\xe9.csv")
    np.savetxt(tmp_path / name, np.c_[X, (X[:, 0] > 0.5).astype(int)], delimiter=",",
               header="a,b,label", comments="")  # fmt: skip
    code, _, err = cli("train", "--dataset", f"csv:{tmp_path / name}", "--hidden", "4",
                       "--epochs", "2", "--quiet", "-o", tmp_path / "n.npz", "--plot",
                       tmp_path / "t.png")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    from biorate.io import utf8_text

    assert utf8_text(name) == "d\\xe9.csv" and utf8_text("x\ud800") == "x\\ud800"


def test_euler_refuses_a_step_beyond_a_conductance_models_stability(tmp_path):
    """C1: cond_lif with g_L = 10 uS (C_m/g_L = 20 us, below dt = 0.1 ms) fired ~475 Hz at every
    current, 0 nA included (Euler's step oscillating), exit 0, where lif's tau_m = 20 us is
    refused. A leak's C/g holds dt as tau_m does (the review: between C/g and 2*C/g the step
    still overshoots: 3 uS fired 500 Hz at 54 nA, where the neuron rests below threshold); a
    gated conductance (Hodgkin-Huxley's g_Na*m**3*h) and a Poisson jump (w_e) are left alone."""
    from biorate.models import Model, load_model

    m = load_model("cond_lif")
    m.check_dt(1e-4)  # 10 nS: C_m/g_L = 20 ms
    fast = m.with_params(g_L="3 uS")  # C_m/g_L = 66.7 us
    with pytest.raises(ProtocolError, match=r"must be shorter than the time constant of v at the "
                                            r"initial state of model 'cond_lif', 0\.0667 ms"):  # fmt: skip
        fast.check_dt(1e-4)
    fast.check_dt(6e-5)
    m.with_params(w_e="5 uS").check_dt(1e-4)  # a jump, not a term of dv/dt
    text = (ROOT / "models" / "neurons" / "cond_lif.toml").read_text()
    hh = (
        text.replace('name = "cond_lif"', 'name = "gated"')
        .replace("dv/dt = (g_L*(E_L - v)", "dv/dt = (g_L*m_gate**3*(E_L - v)")
        .replace("I : amp\n", "I : amp\nm_gate : 1\n")
    )
    (tmp_path / "gated.toml").write_text(hh)
    Model.from_toml(tmp_path / "gated.toml").with_params(g_L="10 uS").check_dt(1e-4)
    from biorate.sweep import load_spec

    (tmp_path / "s.toml").write_text(
        'schema = 1\nname = "g"\nmeasure = "fi"\n[model]\nname = "cond_lif"\n[grid]\n'
        'g_L = ["10 nS", "10 uS"]\n[protocol]\ndrive = "current"\ncurrent = "0nA:1nA:3"\n'
        'duration = "100 ms"\ntrials = 1\nseed = 1\n[fit]\nforms = ["sigmoid"]\n'
    )
    with pytest.raises(br.BiorateError, match="model 'cond_lif', 0.02 ms"):  # refused as it loads
        load_spec(tmp_path / "s.toml")


def test_a_conductance_is_held_to_a_neurons_range(tmp_path, cli):
    """C2: a conductance had no physical bound: cond_lif with w_e = 1e21 S, or a Poisson weight
    w_e*(v/v)*1e30 (5e20 S per input spike), saturated the curve with exit 0."""
    from biorate.models import load_model

    with pytest.raises(ModelError, match="a conductance of a neuron model lies within 1 S"):
        load_model("cond_lif").with_params(w_e="1e21 S")
    load_model("cond_lif").with_params(w_e="1 uS")
    pytest.importorskip("brian2")
    text = (ROOT / "models" / "neurons" / "cond_lif.toml").read_text()
    (tmp_path / "cw.toml").write_text(
        text.replace('weight = "w_e"', 'weight = "w_e*(v/v)*1e30"', 1).replace(
            'name = "cond_lif"', 'name = "cw"'
        )
    )
    code, _, err = cli("simulate", "fi", "--model", tmp_path / "cw.toml", "--drive", "poisson",
                       "--rate", "0Hz:50Hz:3", "--duration", "50ms", "--trials", "1", "--target",
                       "numpy", "--quiet", "-o", tmp_path / "s.json")  # fmt: skip
    assert code == 2 and "makes a jump of 5e+29 nS per input spike" in err, err
    assert "a conductance of a neuron model lies within 1 S" in err


# C3 (a source naming a parameter its model lacks): tests/test_fuzz_campaign14.py, beside C2


@pytest.mark.parametrize("name", ["sigmoid", "lif"])
def test_an_activation_refuses_masked_values(name):
    """C4: an Activation computed on a masked array's hidden values (the mask dropped), and a
    list holding np.ma.masked gave NaN after NumPy's warning; a network refused both."""
    import warnings

    act = br.get_activation(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="masked array with 1 masked value"):
            act(np.ma.array([1.0, 2.0], mask=[True, False]))
        with pytest.raises(DataError, match="holds numpy.ma.masked"):
            act.derivative([np.ma.masked, 2.0])
        assert np.array_equal(act(np.ma.array([1.0, 2.0])), act(np.array([1.0, 2.0])))


def _closed(fd):
    return lambda: os.close(fd)


@pytest.mark.parametrize("fd", [1, 2])
def test_a_simulation_and_a_sweep_run_with_a_closed_standard_stream(tmp_path, fd):
    """F1: with stdout closed (`>&-`) every Brian2 simulation on the cython target was refused
    ("'NoneType' object has no attribute 'flush'": Brian2 flushes both streams while it checks
    its compiler), and a sweep failed every point with stdout or stderr closed."""
    pytest.importorskip("brian2")
    pytest.importorskip("distributed")
    sim = [EXE, "simulate", "fi", "--model", "lif", "--current", "0nA:1nA:2", "--duration",
           "50ms", "--trials", "1", "--quiet", "-o", "s.json"]  # fmt: skip
    out = subprocess.run(sim, cwd=tmp_path, timeout=600, preexec_fn=_closed(fd),
                         stdout=subprocess.DEVNULL if fd == 2 else None,
                         stderr=subprocess.DEVNULL if fd == 1 else None)  # fmt: skip
    assert out.returncode == 0 and (tmp_path / "s.json").exists()
    sweep = [EXE, "sweep", str(ROOT / "examples" / "sweeps" / "tm_release_points.toml"), "-o",
             "sw", "--workers", "1", "--quiet"]  # fmt: skip
    out = subprocess.run(sweep, cwd=tmp_path, timeout=600, preexec_fn=_closed(fd),
                         stdout=subprocess.DEVNULL if fd == 2 else None,
                         stderr=subprocess.DEVNULL if fd == 1 else None)  # fmt: skip
    assert out.returncode == 0
    assert "flush" not in (tmp_path / "sw" / "summary.csv").read_text()


def test_lists_that_hold_themselves_or_share_sub_lists_are_refused_at_once():
    """B1: the masked-constant scan walked a list that holds itself for ever, and one that shares
    its sub-lists 40 levels deep (2**40 values) 2**40 times; the error message's repr of it never
    ended either. Each list is scanned once; NumPy's refusal, or biorate's, comes at once."""
    cyc = [1e-10, 2e-10]
    cyc.append(cyc)
    dag = [1e-10]
    for _ in range(40):
        dag = [dag, dag]
    net = br.RateNetwork([2, 3, 2], seed=0).initialize()
    with pytest.raises(br.UnitError, match="current: cannot read"):
        br.theory.fi("lif", current=cyc)
    with pytest.raises(br.UnitError, match=r"current: cannot read \[\[\[\[\.\.\.\]"):
        br.theory.fi("lif", current=dag)
    with pytest.raises(DataError, match="a list that holds itself"):
        net.predict([cyc])
    with pytest.raises(DataError, match="nested lists standing for more than 1e\\+08 values"):
        net.predict(dag)


def test_every_figure_suffix_names_a_figure(tmp_path, cli):
    """C5: the suffix rule knew 13 suffixes: `theory fi -o x.jpg` wrote JSON, `train -o n.jpg` a
    .npz, exit 0, where `-o x.png` was refused."""
    for args in (["theory", "fi", "--model", "lif", "--current", "0nA:1nA:3", "-o", "x.jpg"],
                 ["train", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--quiet", "-o",
                  "n.eps"]):  # fmt: skip
        code, _, err = cli(*args[:-1], tmp_path / args[-1])
        assert code == 2 and "names a figure (" in err, err
        assert not (tmp_path / args[-1]).exists()


@pytest.mark.parametrize("z", [[[1.0], [1.0, 2.0]], eval("[" * 100 + "1.0" + "]" * 100)])
def test_an_activation_refuses_a_ragged_or_too_deep_list(z):
    """A2: an activation on a ragged list, or one nested deeper than NumPy's 64 dimensions, raised
    NumPy's ValueError (its complex check converted z before the guarded conversion)."""
    for name in ("sigmoid", "lif"):
        with pytest.raises(DataError, match="an activation takes numbers"):
            br.get_activation(name)(z)


# --- campaign 15's unclear messages (E) ---


def test_a_masked_array_inside_a_list_is_refused_and_named():
    """A list holding a masked *array* (``[np.ma.array([1e-9, 2e-9], mask=[1, 0])]``) was read
    with its hidden value; a masked entry of a curve was called "an array of float64 with shape
    ()"; an array inside a list was shown over several lines."""
    from biorate.errors import CurveFileError, UnitError

    hidden = np.ma.array([1e-9, 2e-9], mask=[1, 0])
    with pytest.raises(UnitError, match="current: masked values are not quantities"):
        br.theory.fi("lif", current=[hidden])
    with pytest.raises(DataError, match="masked"):
        br.get_activation("lif")([hidden])
    with pytest.raises(CurveFileError, match=r"entry 1: expected a finite number, found a masked "
                                             r"value \(NumPy's 'no value'\)"):  # fmt: skip
        br.TransferCurve(x=[0, np.ma.masked, 1e-9], y=[0, 1, 2], x_unit="A", y_unit="Hz",
                         measure="fi")  # fmt: skip
    with pytest.raises(UnitError) as info:  # nothing hidden: a bare number, said in one line
        br.theory.fi("lif", current=[np.arange(40.0).reshape(4, 10)])
    assert "\n" not in str(info.value) and "has no unit" in str(info.value)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["fit", "--help"]])
def test_help_and_version_on_a_full_device_fail(args):
    """`biorate --help >/dev/full` exited 0 with the text lost (argparse drops the error); every
    other command said "the standard output: No space left on device", exit 2."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([EXE, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == "biorate: error: the standard output: No space left on device\n"
    ok = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ("usage" in ok.stdout or "biorate" in ok.stdout)


@pytest.mark.parametrize("weight", ["J*log(0*(v/v))", "J*(v/v)*1e300*1e300", "J*(0*v)/(0*v)"])
def test_a_poisson_weight_brian2_folds_to_inf_is_named(tmp_path, weight):
    """A state-dependent weight that Brian2's SymPy folds into inf or NaN was refused with
    Brian2's words ("name 'inf' is not defined"); it is named as the weight it is."""
    from biorate.models import Model

    text = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = text.replace('weight = "J*int(not_refractory)"', f'weight = "{weight}"')
    (tmp_path / "w.toml").write_text(text.replace('name = "lif"', 'name = "w"'))
    model = Model.from_toml(tmp_path / "w.toml")
    with pytest.raises(ProtocolError, match=r"poisson\[0\]: weight '.*' is not a finite number "
                                            r"at the model's initial state"):  # fmt: skip
        br.measure_fi(model, drive="poisson", rate="0Hz:50Hz:2", duration="20 ms", trials=1,
                      target="numpy", progress=False)  # fmt: skip


def test_inputs_through_a_loop_of_symbolic_links_are_named(tmp_path, cli, monkeypatch):
    """A loop of symbolic links given as an input was "does not exist" (BIORATE_MODELS), "File
    exists" (pipeline --out) or "unknown activation" (a name without .json)."""
    from biorate.pipeline import PipelineError

    monkeypatch.chdir(tmp_path)
    os.symlink("loop", "loop")
    os.symlink("l2", "l1")
    os.symlink("l1", "l2")
    monkeypatch.setenv("BIORATE_MODELS", str(tmp_path / "loop"))
    code, _, err = cli("models")
    assert code == 2 and "goes through a loop of symbolic links" in err, err
    monkeypatch.delenv("BIORATE_MODELS")
    for args in (["train", "--activation", "l1", "-o", "n.npz"], ["fit", "loop", "-o", "f.json"],
                 ["evaluate", "loop"]):  # fmt: skip
        code, _, err = cli(*args)
        assert code == 2 and "its path goes through a loop of symbolic links" in err, (args, err)
    with pytest.raises(PipelineError, match="loop: its path goes through a loop of symbolic"):
        br.run_pipeline(out=tmp_path / "loop", quick=True, progress=False)
    assert not (tmp_path / "n.npz").exists() and os.path.islink("loop")
