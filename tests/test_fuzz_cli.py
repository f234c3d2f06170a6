"""Issue 18: every command fuzzed with malformed files and option values, in-process through
``biorate.cli.main``. Each case must end with exit code 2 and exactly one ``biorate: error:`` line
on stderr (or exit 0 for input that is in fact valid), no traceback, no hang, no out-of-memory
refusal in place of an up-front estimate, and a file already at the output byte-identical.

Seeded (``random.Random(SEED)``) with a fixed number of cases per format; the failure message
lists every failing case in one line each (format, case, what happened, where it was raised)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import resource
import signal
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from biorate.errors import BiorateWarning

SEED = 18
CASES = {"curve": 40, "activation": 30, "model": 30, "network": 30, "idx": 24, "sweep": 15}
TIMEOUT_S = 10
SENTINEL = b"existing output: must survive a failed command\n"
ROOT = Path(__file__).resolve().parents[1]

# values put where a field belongs: wrong types, non-finite and huge numbers, odd text
BAD = [5, -1, 0, 1e308, -1e308, 64.5, True, None, "", "x", "abc", "nan ms", "1e400 ms", "kA^200",
       "-5 ms", "\u0000\x07\u202e\U0001d518", "é" * 2000, [], [1, "a"], [[1.0]], {}, {"a": 5},
       [0.5], list(range(3000))]  # fmt: skip
RAW_JSON = ["NaN", "Infinity", "-Infinity", "1" * 5000, "[" * 100000 + "]" * 100000]


def _pick_path(rng: random.Random, data: Any, path: tuple = ()) -> tuple:
    """A random path of keys/indices into nested JSON ``data`` (stopping anywhere)."""
    if isinstance(data, dict) and data and rng.random() < 0.7:
        k = rng.choice(sorted(data))
        return _pick_path(rng, data[k], (*path, k))
    if isinstance(data, list) and data and rng.random() < 0.3:
        i = rng.randrange(len(data))
        return _pick_path(rng, data[i], (*path, i))
    return path


def _set(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    data = copy.deepcopy(data)
    node = data
    for k in path[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()
_RAW = "@@RAW@@"


def mutate_json(rng: random.Random, base: dict) -> tuple[str, bytes]:
    """(description, bytes): ``base`` with one field replaced, deleted or made raw, or the text
    truncated, or bytes that are not UTF-8."""
    text = json.dumps(base)
    how = rng.random()
    if how < 0.12:
        k = rng.randrange(len(text))
        return f"truncated at {k}", text[:k].encode()
    if how < 0.17:
        return "not UTF-8", text.encode()[:40] + b"\xff\xfe\x80" + text.encode()[40:]
    path = _pick_path(rng, base)
    name = "/".join(map(str, path)) or "<root>"
    if how < 0.27 and path:
        return f"{name} deleted", json.dumps(_set(base, path, _DELETE)).encode()
    if how < 0.45:
        raw = rng.choice(RAW_JSON)
        out = json.dumps(_set(base, path, _RAW)).replace(f'"{_RAW}"', raw)
        return f"{name} = {raw[:12]}", out.encode()
    value = rng.choice(BAD)
    return f"{name} = {json.dumps(value)[:30]}", json.dumps(_set(base, path, value)).encode()


TOML_VALUES = ['5', '-1', '1e400', 'nan', 'inf', 'true', '"x"', '""', '"nan ms"', '"1e400 ms"',
               '"-5 ms"', '"kA^200"', '"0 ms"', '[1, 2]', '{ a = 1 }', '"v = 0*mV\\nv"',
               '"\\u0000\\u202e"', '"bogus"', '"1e-300 s"', '"1e8"', '"0nA:0.5nA:10000000000"',
               '"10ms:30ms:100000000"', '[]']  # fmt: skip


def mutate_toml(rng: random.Random, text: str) -> tuple[str, bytes]:
    """(description, bytes): one ``key = value`` line's value replaced, or the text truncated,
    a line dropped or made non-UTF-8."""
    lines = text.splitlines()
    how = rng.random()
    if how < 0.1:
        k = rng.randrange(len(text))
        return f"truncated at {k}", text[:k].encode()
    if how < 0.15:
        return "not UTF-8", b"\xff\xfe" + text.encode()
    keyed = [i for i, line in enumerate(lines) if " = " in line and not line.startswith("#")]
    i = rng.choice(keyed)
    key = lines[i].split(" = ")[0].strip()
    if how < 0.25:
        return f"{key} line dropped", "\n".join(lines[:i] + lines[i + 1 :]).encode()
    value = rng.choice(TOML_VALUES)
    lines[i] = f"{key} = {value}"
    return f"{key} = {value[:30]}", "\n".join(lines).encode()


def mutate_npz(rng: random.Random, base: Path) -> tuple[str, bytes]:
    """(description, bytes): a network file with its architecture JSON or one parameter array
    changed (object, string, complex, NaN, empty, wrong shape), or its bytes truncated."""
    raw = base.read_bytes()
    how = rng.random()
    if how < 0.1:
        k = rng.randrange(len(raw))
        return f"truncated at {k}", raw[:k]
    with np.load(base) as f:
        arrays = {k: f[k] for k in f.files}
    if how < 0.45:
        desc, text = mutate_json(rng, json.loads(str(arrays["architecture"][()])))
        arrays["architecture"] = np.array(text.decode("utf-8", "replace"))
        desc = f"architecture: {desc}"
    else:
        key = rng.choice(sorted(k for k in arrays if k.startswith("param.")))
        shape = arrays[key].shape
        bad = {"object": np.array([{"a": 1}, None], dtype=object), "strings": np.full(shape, "x"),
               "complex": arrays[key] + 1j, "NaN": np.full(shape, np.nan), "empty": np.zeros(0),
               "inf": np.full(shape, np.inf), "3-D": np.zeros((2, 2, 2)), "scalar": np.array(1.0),
               "structured": np.zeros(shape, dtype=[("a", "f8")]), "deleted": None}  # fmt: skip
        what = rng.choice(sorted(bad))
        if bad[what] is None:
            del arrays[key]
        else:
            arrays[key] = bad[what]
        desc = f"{key} {what}"
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return desc, buf.getvalue()


IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")  # fmt: skip


def _idx(a: np.ndarray, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, ">u4").tobytes() + a.tobytes()


def base_idx() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    tr, te = rng.integers(0, 255, (12, 4, 4), np.uint8), rng.integers(0, 255, (6, 4, 4), np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 3
    return dict(zip(IDX_FILES, [_idx(tr), _idx(labels), _idx(te), _idx(labels[:6])], strict=True))


def mutate_idx(rng: random.Random, files: dict[str, bytes]) -> tuple[str, dict[str, bytes]]:
    """(description, files): one IDX file of a valid folder made bad."""
    name = rng.choice(IDX_FILES)
    raw, labels = files[name], "labels" in name
    n = 12 if name.startswith("train") else 6
    bad = {
        "bad magic": b"\x01\x02" + raw[2:], "unknown type code": raw[:2] + b"\x42" + raw[3:],
        "ndim 0": raw[:3] + b"\x00", "ndim 200": raw[:3] + bytes([200]) + raw[4:],
        "truncated": raw[: rng.randrange(len(raw))], "empty": b"",
        "dims overflow": raw[:4] + np.array([2**31 - 1] * (raw[3]), ">u4").tobytes(),
        "zero items": raw[:4] + b"\x00" * 4 + raw[8 : 4 + 4 * raw[3]],
        "corrupt gzip": b"\x1f\x8b" + bytes(rng.randrange(256) for _ in range(40)),
        "labels 2^31-1": _idx(np.full(n, 2**31 - 1, ">i4"), 0x0C),
        "labels 0.5": _idx(np.full(n, 0.5, ">f8"), 0x0E),
        "labels NaN": _idx(np.full(n, np.nan, ">f8"), 0x0E),
        "labels negative": _idx(np.full(n, -1, "i1"), 0x09),
        "images NaN": _idx(np.full((n, 4, 4), np.nan, ">f4"), 0x0D),
        "images 1e38": _idx(np.full((n, 4, 4), 3e38, ">f4"), 0x0D),
        "count mismatch": _idx(np.zeros((n + 1,) + (() if labels else (4, 4)), np.uint8)),
    }  # fmt: skip
    what = rng.choice(sorted(bad))
    return f"{name}: {what}", {**files, name: bad[what]}


def base_curve(tmp: Path) -> dict:
    from biorate.curve import TransferCurve
    from biorate.forms import FORMS

    x = np.linspace(0.0, 5e-10, 12)
    y = FORMS["sigmoid"].value(x, {"x_half": 2.2e-10, "width": 3e-11, "r_max": 80.0, "r0": 2.0})
    c = TransferCurve("fi", x, y, "A", "Hz", y_sem=np.full(x.size, 1.0), model={"name": "lif"})
    return json.loads(c.save(tmp / "base_curve.json").read_text())


def base_activation() -> dict:
    from biorate.activation import get_activation

    return get_activation("lif").to_dict()


def base_network(tmp: Path) -> Path:
    from biorate.network import RateNetwork

    path = tmp / "base_net.npz"
    if not path.exists():
        RateNetwork([2, 3, 2], activation="sigmoid", seed=0).initialize().save(path)
    return path


def base_model() -> str:
    return (ROOT / "models" / "neurons" / "lif.toml").read_text()


def base_sweep() -> str:
    text = (ROOT / "examples" / "sweeps" / "lif_tau_sigma.toml").read_text()
    return (text.replace('duration = "2 s"', 'duration = "20 ms"').replace("trials = 10", "trials = 1")
            .replace('"auto"', '"numpy"'))  # fmt: skip


Q = "--quiet"
FI = ["theory", "fi", "--current", "0nA:0.5nA:3", "-o", "{tmp}/cli_out.json"]
SIM = ["simulate", "fi", "--current", "0nA:0.5nA:2", "--duration", "20ms", "--transient", "0ms",
       "--trials", "1", "--target", "numpy", Q, "-o", "{tmp}/cli_out.json"]  # fmt: skip
TRAIN = ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", Q, "-o", "{tmp}/n.npz"]
DEPLOY = ["deploy", "{net}", "--dataset", "xor", "--images", "2", "--target", "numpy", Q,
          "--report", "{tmp}/cli_out.json"]  # fmt: skip
UNITS = ["kA^200", "nan ms", "1e400 ms", "", "5", "5 parsec", "-1 ms", "1e-300 s", "ms ms", "\x00"]
RANGES = ["0nA:0.5nA:10000000000", "0nA:0.5nA:0", "a:b:c", "0nA:0.5nA:-1", "0nA::3",
          "0nA:0.5nA:2.5", "0Hz:1nA:3", "nan nA:1nA:3", "0nA:1e400nA:3", ":::"]  # fmt: skip


def _each(label: str, base: list[str], options: list[str]) -> list[tuple[str, list[str]]]:
    """``biorate BASE OPTION`` for each ``--name=value`` in ``options``."""
    return [(f"{label} {o!r}", [*base, o]) for o in options]


CLI_CASES = (
    _each("theory", FI, [f"--sigma={u}" for u in UNITS] + [f"--dt={u}" for u in UNITS[:6]])
    + [(f"theory --current {r!r}", [*FI[:2], "--current", r, *FI[4:]]) for r in RANGES]
    + [(f"simulate --current {r!r}", [*SIM[:2], "--current", r, *SIM[4:]]) for r in RANGES[:5]]
    + _each("simulate", SIM, ["--set=tau_m=kA^200", "--set=tau_m=-5ms", "--set=tau_m=1e400 ms",
            "--set=nope=1ms", "--set=tau_m", "--set==", "--set=t_ref=0ms", "--trials=1000000000",
            "--trials=0", "--dt=1e-300 s", "--dt=5ms", "--duration=1e9 s", "--seed=-1"])
    + _each("train", TRAIN, ["--hidden=", "--hidden=0", "--hidden=1e9", "--hidden=100000000",
            "--hidden=64,,64", "--epochs=0", "--lr=nan", "--l2=inf", "--batch-size=0",
            "--validation-fraction=1.5", "--dtype=float16", "--targets=nan,1", "--activation=nope",
            "--dataset=idx:/nonexistent", "--dataset=bogus", "--connectivity=sideways", "-o{tmp}",
            "--plot={tmp}/p.xyz", "--alpha=-1"])
    + _each("train feedback", [*TRAIN, "--connectivity", "feedback"],
            ["--steps=1000000", "--steps=0", "--steps=-3"])
    + _each("deploy", DEPLOY, ["--duration=50ms", "--duration=1us", "--duration=nan s",
            "--duration=1e9 s", "--durations=50ms,,1s", "--durations=-1ms", "--tau-syn=0ms",
            "--input-rate=kA^200", "--neurons-per-unit=100000000", "--batch-size=0", "--images=0",
            "--plot={tmp}/p.xyz"])
    + _each("fit", ["fit", "{tmp}/base_curve.json"], ["-o{tmp}"])
    + _each("fit", ["fit", "{tmp}/base_curve.json", "-o", "{tmp}/cli_out.json"],
            ["--report={tmp}", "--plot={tmp}/p.xyz", "--bootstrap=1000000000"])
    + [("evaluate missing net", ["evaluate", "{tmp}/nope.npz"]),
       ("pipeline --out FILE", ["pipeline", "--out", "{tmp}/cli_out.json"]),
       ("sweep missing spec", ["sweep", "{tmp}/nope.toml", "-o", "{tmp}/sw"]),
       ("models --models FILE", ["--models", "{tmp}/cli_out.json", "models"])]
)  # fmt: skip


class Hang(BaseException):
    """Raised by the alarm in a case that ran past TIMEOUT_S (not caught by main)."""


def _alarm(signum, frame):  # noqa: ANN001
    raise Hang


def _where(exc: BaseException) -> str:
    """The last frame inside biorate/ that the exception passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/biorate/" in f.filename]
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.filename.split('/biorate/')[-1]}:{f.lineno}"


def run_case(argv: list[str], output: Path | None) -> str | None:
    """Run ``biorate ARGV``; None when the contract held, else what went wrong, in one line."""
    from biorate.cli import main

    if output is not None and not output.is_dir():
        output.write_bytes(SENTINEL)
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings(record=True) as seen:  # fmt: skip
            code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    except Hang:
        return f"hang: still running after {TIMEOUT_S} s"
    except BaseException as exc:  # noqa: BLE001 - every escape is a finding
        msg = " ".join(str(exc).split())[:90]
        return f"{type(exc).__name__} at {_where(exc)}: {msg}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    text = err.getvalue()
    lines = text.splitlines()
    if "Traceback" in text:
        return f"traceback on stderr (exit {code}): {lines[-1][:90] if lines else ''}"
    if code == 2:
        if len(lines) != 1 or not lines[0].startswith("biorate: error:"):
            return f"exit 2 with {len(lines)} stderr lines: {' | '.join(lines)[:160]}"
        if "out of memory" in lines[0]:
            return "MemoryError caught by main (no up-front estimate)"
    elif code != 0:
        return f"exit {code}: {' | '.join(lines)[:120]}"
    else:
        odd = [f"{w.category.__name__}: {w.message}" for w in seen
               if not issubclass(w.category, BiorateWarning | DeprecationWarning)]  # fmt: skip
        odd += [line for line in lines if not line.startswith("biorate: warning:")]
        if odd:  # e.g. NumPy's ComplexWarning: a value made into another, silently
            return f"exit 0 after a warning that is not biorate's: {' | '.join(odd)[:120]}"
    if code != 0 and output is not None and output.is_file() and output.read_bytes() != SENTINEL:
        return "a failing command replaced the existing output"
    return None


@contextlib.contextmanager
def memory_cap(extra: int = 3 << 30):
    """Address space capped at what the process holds plus ``extra``: a case that would allocate
    beyond it gets a MemoryError (reported) instead of the kernel's OOM killer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * resource.getpagesize()
    cap = size + extra if hard == resource.RLIM_INFINITY else min(hard, size + extra)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _file_cases(tmp: Path, rng: random.Random) -> list[tuple[str, str, list, Path | None]]:
    """(format, description, argv, output) for every generated file."""
    cases = []
    out_json, out_npz = tmp / "out.json", tmp / "out.npz"
    train = ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--quiet"]
    kinds = {
        "curve": (
            base_curve(tmp),
            mutate_json,
            lambda p: ["fit", p, "--form", "sigmoid", "-o", out_json, "--quiet"],
            out_json,
        ),
        "activation": (
            base_activation(),
            mutate_json,
            lambda p: [*train, "--activation", p, "-o", out_npz],
            out_npz,
        ),
        "network": (
            base_network(tmp),
            mutate_npz,
            lambda p: ["evaluate", p, "--dataset", "xor", "--report", out_json],
            out_json,
        ),
    }
    for fmt, (base, mutate, argv, output) in kinds.items():
        for i in range(CASES[fmt]):
            desc, data = mutate(rng, base)
            path = tmp / f"{fmt}{i}{'.npz' if fmt == 'network' else '.json'}"
            path.write_bytes(data)
            cases.append((fmt, desc, argv(path), output))
    for i in range(CASES["model"]):
        desc, data = mutate_toml(rng, base_model())
        folder = tmp / f"models{i}"
        folder.mkdir()
        path = folder / "fuzzed.toml"
        path.write_bytes(data)
        if i % 3 == 0:
            argv = ["--models", folder, "models", "--params"]
        elif i % 3 == 1:
            argv = ["theory", "fi", "--model", path, "--current", "0nA:0.5nA:3", "-o", out_json]
        else:
            argv = ["simulate", "fi", "--model", path, "--current", "0nA:0.5nA:2", "--duration",
                    "20ms", "--transient", "0ms", "--trials", "1", "--target", "numpy",
                    "--quiet", "-o", out_json]  # fmt: skip
        cases.append(("model", desc, argv, out_json))
    for i in range(CASES["idx"]):
        desc, files = mutate_idx(rng, base_idx())
        folder = tmp / f"idx{i}"
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        argv = ["train", "--dataset", f"idx:{folder}", "--hidden", "2", "--epochs", "1",
                "--quiet", "-o", out_npz]  # fmt: skip
        cases.append(("idx", desc, argv, out_npz))
    for i in range(CASES["sweep"]):
        desc, data = mutate_toml(rng, base_sweep())
        path, outdir = tmp / f"sweep{i}.toml", tmp / f"sweep_out{i}"
        path.write_bytes(data)
        outdir.mkdir()
        argv = ["sweep", path, "-o", outdir, "--scheduler", "tcp://127.0.0.1:9",
                "--connect-timeout", "0.2", "--quiet"]  # fmt: skip
        cases.append(("sweep", desc, argv, outdir / "keep.txt"))
    return cases


def test_fuzz_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = random.Random(SEED)
    cases = _file_cases(tmp_path, rng)
    net = base_network(tmp_path)
    for desc, argv in CLI_CASES:
        argv = [str(a).format(tmp=tmp_path, net=net) for a in argv]
        cases.append(("cli", desc, argv, tmp_path / "cli_out.json"))
    failures = []
    with memory_cap():
        for fmt, desc, argv, output in cases:
            problem = run_case(argv, output)
            if problem:
                failures.append(f"[{fmt}] {desc} :: {argv[0]}: {problem}")
    counts = {fmt: sum(c[0] == fmt for c in cases) for fmt in dict.fromkeys(c[0] for c in cases)}
    assert not failures, (f"{len(failures)} of {len(cases)} fuzz cases broke the contract "
                          f"({json.dumps(counts)}):\n" + "\n".join(failures))  # fmt: skip
