"""Fuzzing what a user can hand the network side (issue 18): saved networks with one field of the
architecture JSON or one array rewritten, network arguments, and IDX files. Every outcome is a
working network / data set or a BiorateError naming the file; any other exception fails."""

from __future__ import annotations

import gzip
import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_datasets import make_mnist_folder

from biorate.datasets import load_dataset, read_idx, write_idx
from biorate.errors import DataError, NetworkError
from biorate.network import RateNetwork

_FUZZ = settings(derandomize=True, deadline=None, max_examples=100,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
                     st.sampled_from([0, 1, 2, 0.5, -1, 64.5, 10**400, "abc", "sigmoid"]))  # fmt: skip
_VALUES = st.recursive(_SCALARS, lambda kids: st.lists(kids, max_size=3)
                       | st.dictionaries(st.text(max_size=4), kids, max_size=3), max_leaves=6)  # fmt: skip
_ARGS = ["sizes", "activation", "connectivity", "loss", "optimizer", "learning_rate", "momentum",
         "batch_size", "l2", "validation_fraction", "early_stopping", "patience", "tol", "dtype",
         "init_std", "targets", "derivative_offset", "steps", "alpha", "seed", "wings"]  # fmt: skip
_X = np.random.default_rng(0).random((5, 4))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small saved network (a feedback graph: every kind of parameter), its arrays and JSON."""
    folder = tmp_path_factory.mktemp("fuzz_net")
    net = RateNetwork([4, 5, 3], connectivity="feedback", steps=3, seed=0).initialize()
    with np.load(net.save(folder / "good.npz")) as f:
        arrays = {k: f[k] for k in f.files}
    return folder, arrays, json.loads(str(arrays["architecture"][()])), net.forward(_X)


def _write(folder, arrays, arch) -> object:
    out = dict(arrays, architecture=np.array(json.dumps(arch)))
    np.savez(folder / "edited.npz", **out)
    return folder / "edited.npz"


def _load_or_error(path) -> None:
    try:
        net = RateNetwork.load(path)
    except NetworkError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc) and len(str(exc)) < 600
        return
    assert np.all(np.isfinite(net.forward(_X)))  # what loads works


@_FUZZ
@given(key=st.sampled_from(_ARGS), value=_VALUES)
def test_any_argument_in_a_saved_file_loads_or_is_a_network_error(saved, key, value):
    folder, arrays, arch, _ = saved
    edited = json.loads(json.dumps(arch))
    edited["args"][key] = value
    _load_or_error(_write(folder, arrays, edited))


@_FUZZ
@given(key=st.sampled_from(["kind", "schema", "args", "history", "projections"]), value=_VALUES,
       hist_key=st.sampled_from(["loss", "grad_norm", "best_epoch", "stop_reason", "accuracy"]))  # fmt: skip
def test_any_top_level_or_history_field_loads_or_is_a_network_error(saved, key, value, hist_key):
    folder, arrays, arch, _ = saved
    edited = json.loads(json.dumps(arch))
    edited[key] = value
    _load_or_error(_write(folder, arrays, edited))
    edited = json.loads(json.dumps(arch))
    edited["history"] = {hist_key: value}
    _load_or_error(_write(folder, arrays, edited))


_DTYPES = st.sampled_from(["f8", "f4", "f2", "i4", "u1", "?", "c16", "U3", "S2", "M8[s]",
                           [("a", "f8")]])  # fmt: skip


@_FUZZ
@given(name=st.sampled_from(["param.W0_1", "param.W2_1", "param.b2", "param.Wx", "architecture"]),
       dtype=_DTYPES, shape=st.lists(st.integers(0, 6), max_size=3),
       fill=st.sampled_from([0.0, 1.0, np.nan, np.inf, 1e300]))  # fmt: skip
def test_any_array_loads_or_is_a_network_error(saved, name, dtype, shape, fill):
    folder, arrays, arch, _ = saved
    a = np.zeros(shape, dtype=dtype)
    if a.dtype.kind in "fc":
        with np.errstate(over="ignore"):
            a[...] = fill
    out = dict(arrays, architecture=np.array(json.dumps(arch)))
    out[name] = a
    np.savez(folder / "edited.npz", **out)
    _load_or_error(folder / "edited.npz")


def test_a_saved_network_loads_exactly(saved):
    folder, arrays, arch, expected = saved
    net = RateNetwork.load(_write(folder, arrays, arch))
    np.testing.assert_array_equal(net.forward(_X), expected)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda a, p: a.__setitem__("args", 5), "field 'args': expected a table, found a number"),
        (lambda a, p: a["args"].__setitem__("sizes", "abc"), "field 'sizes': expected a list"),
        (lambda a, p: a["args"].__setitem__("sizes", [4, 64.5, 3]), "whole numbers >= 1.*64.5"),
        (lambda a, p: a["args"].__setitem__("targets", [0.5]), "'targets': expected 2 entries"),
        (lambda a, p: a["args"].__setitem__("l2", "x"), "field 'l2': expected a finite number"),
        (lambda a, p: a["args"].__setitem__("optimizer", "rmsprop"), "unknown optimizer"),
        (lambda a, p: a["args"].__setitem__("activation", "bogus"), "unknown activation"),
        (lambda a, p: a["args"].__setitem__("batch_size", 2.5), "'batch_size': expected a whole"),
        (lambda a, p: a["args"].__setitem__("sizes", [4, 10**6, 10**6]), "need about .* memory"),
        (lambda a, p: a.__setitem__("history", {"loss": 5}), "history: field 'loss': expected a"),
        (lambda a, p: p.__setitem__("param.W0_1", p["param.W0_1"] + 1j), "complex numbers"),
        (lambda a, p: p.__setitem__("param.b1", np.array(["x"] * 5)), "expected real numbers"),
        (lambda a, p: p.__setitem__("param.b1", np.zeros(5, [("a", "f8")])), "expected real"),
        (lambda a, p: p.__setitem__("param.b1", np.zeros(6)), "b1 missing or of wrong shape"),
        (lambda a, p: p.__setitem__("param.W9_9", np.zeros(1)), "'param.W9_9' does not belong"),
        (lambda a, p: p.__setitem__("param.b1", np.full(5, 1e300)), "b1 contains NaN or inf"),
    ],
)
def test_each_family_of_bad_network_file_is_named(tmp_path, edit, message):
    net = RateNetwork([4, 5, 3], dtype="float32", seed=0).initialize()
    with np.load(net.save(tmp_path / "good.npz")) as f:
        arrays = {k: f[k] for k in f.files}
    arch = json.loads(str(arrays["architecture"][()]))
    edit(arch, arrays)
    with pytest.raises(NetworkError, match=message) as info:
        RateNetwork.load(_write(tmp_path, arrays, arch))
    assert str(info.value).startswith(str(tmp_path / "edited.npz"))


def test_a_zip_entry_larger_than_its_shape_is_refused_before_reading(tmp_path):
    net = RateNetwork([4, 5, 3], seed=0).initialize()
    with np.load(net.save(tmp_path / "good.npz")) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["param.b1"] = np.zeros(10**7)  # 80 MB, compresses to ~80 kB
    np.savez_compressed(tmp_path / "bomb.npz", **arrays)
    with pytest.raises(NetworkError, match="'param.b1' holds 76.3 MiB"):
        RateNetwork.load(tmp_path / "bomb.npz")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_size=2.5), "batch_size must be a whole number >= 1 or None, got 2.5"),
        (dict(batch_size="32"), "batch_size must be a whole number"),
        (dict(l2="x"), "l2 must be a number, got 'x'"),
        (dict(targets=[0.5]), "targets must be two numbers"),
        (dict(early_stopping="yes"), "early_stopping must be True or False"),
        (dict(seed=2.5), "seed must be a whole number >= 0"),
        (dict(steps=1.5), "steps must be a whole number"),
        (dict(connectivity=[(0, 1.5)]), "bad projection"),
        (dict(connectivity=5), "connectivity must be one of"),
    ],
)
def test_network_arguments_are_never_truncated(kwargs, message):
    with pytest.raises(NetworkError, match=message):
        RateNetwork([4, 5, 3], **kwargs)


def test_work_that_cannot_fit_is_refused_up_front():
    net = RateNetwork([64, 64, 64, 10], connectivity="feedback", steps=10**6)
    X, y = np.zeros((40, 64)), np.arange(40) % 10
    start = time.perf_counter()
    with pytest.raises(NetworkError, match=r"1,000,000 time step\(s\) of 32 sample\(s\) need"):
        net.fit(X, y, epochs=1)
    with pytest.raises(NetworkError, match="memory to run"):
        net.initialize().forward(X)
    with pytest.raises(NetworkError, match="need about .* TiB"):
        RateNetwork([4, 3, 10**7])  # the 10^7 x 10^7 target table alone
    assert time.perf_counter() - start < 5


# --- IDX ------------------------------------------------------------------------------------------
@_FUZZ
@given(head=st.binary(min_size=0, max_size=20), body=st.binary(max_size=40), gz=st.booleans())
def test_any_idx_bytes_read_or_are_a_data_error(tmp_path, head, body, gz):
    raw = head + body
    path = tmp_path / "fuzz.idx"
    path.write_bytes(gzip.compress(raw)[: len(raw) // 2 + 10] if gz else raw)
    try:
        read_idx(path)
    except DataError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)


@_FUZZ
@given(code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07, 0xFF]),
       dims=st.lists(st.sampled_from([0, 1, 3, 2**16, 2**31 - 1, 2**32 - 1]), max_size=4))  # fmt: skip
def test_any_idx_header_reads_or_is_a_data_error(tmp_path, code, dims):
    path = tmp_path / "head.idx"
    path.write_bytes(bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
                     + b"\x00" * 12)  # fmt: skip
    try:
        a = read_idx(path)
    except DataError as exc:
        assert str(exc).startswith(str(path))
    else:
        assert a.shape == tuple(dims)


_LABELS = st.lists(st.one_of(st.integers(-3, 5), st.sampled_from([2**31 - 1, 255]),
                             st.floats(allow_infinity=True, allow_nan=True)),
                   min_size=0, max_size=12)  # fmt: skip


@_FUZZ
@given(labels=_LABELS, dtype=st.sampled_from(["u1", "i4", "f8"]))
def test_any_labels_load_or_are_a_data_error_naming_the_file(tmp_path, labels, dtype):
    folder = make_mnist_folder(tmp_path / "m", n_train=12)
    with np.errstate(invalid="ignore", over="ignore"):
        y = np.array(labels + [0] * (12 - len(labels)), dtype=float).astype(dtype)
    write_idx(folder / "train-labels-idx1-ubyte", y)
    try:
        d = load_dataset(f"idx:{folder}")
    except DataError as exc:
        assert "train-labels" in str(exc) or str(folder) in str(exc)
    else:
        assert d.y_train.tolist() == y.astype(int).tolist()  # nothing truncated or wrapped
        assert d.y_train.max() < d.n_classes


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.full(30, 0.5), r"label 0.5 \(image 0\) is not"),
        (np.r_[np.nan, np.arange(29) % 3.0], r"label nan \(image 0\) is not"),
        (np.r_[2**31 - 1, np.arange(29) % 3].astype(np.int32), "label 2147483647 .* outside 0..2"),
        (np.r_[-1, np.arange(29) % 3].astype(np.int32), r"label -1 \(1 image\) outside 0..2"),
    ],
)
def test_each_family_of_bad_labels_is_named(tmp_path, labels, message):
    folder = make_mnist_folder(tmp_path / "m")
    write_idx(folder / "train-labels-idx1-ubyte", labels)
    with pytest.raises(DataError, match=message):
        load_dataset(f"idx:{folder}")


def test_bad_idx_files_are_named(tmp_path):
    folder = make_mnist_folder(tmp_path / "m")
    images = folder / "train-images-idx3-ubyte"
    cases = [
        (b"\0\0\x07\x03", "unknown data type code 0x07"),
        (b"\0\0\x08\x00", "0 dimensions"),
        (b"\0\0\x08\x03\0\0", "truncated IDX header"),
        (b"\0\0\x08\x03" + (2**31).to_bytes(4, "big") * 3, "need about .* memory to read"),
        (b"\0\0\x08\x03" + b"\0\0\0\0" + b"\0\0\0\x05" * 2, "no images"),
        (b"\0\0\x08\x03" + b"\0\0\0\x1e" + b"\0\0\0\0" * 2, "have no pixels"),
        (gzip.compress(images.read_bytes())[:50], "truncated .gz"),
    ]
    for content, message in cases:
        images.write_bytes(content)
        with pytest.raises(DataError, match=message) as info:
            load_dataset(f"idx:{folder}")
        assert str(images) in str(info.value)
