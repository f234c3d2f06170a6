"""Data sets: the fixed digits split, the toys, and IDX files written by the test."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

from biorate.datasets import load_dataset, read_idx, write_idx
from biorate.errors import DataError


def test_digits_split_is_fixed_and_stratified():
    a, b = load_dataset("digits"), load_dataset("digits", seed=7)
    assert a.X_train.shape == (1437, 64) and a.X_test.shape == (360, 64)
    np.testing.assert_array_equal(a.X_test, b.X_test)  # the seed does not move the split
    assert a.X_train.min() == 0.0 and a.X_train.max() == 1.0  # pixels 0..16 scaled to [0, 1]
    counts = np.bincount(a.y_test, minlength=10)
    total = np.bincount(np.concatenate([a.y_train, a.y_test]), minlength=10)
    np.testing.assert_allclose(counts / total, 0.2, atol=0.005)  # 20 % of every class
    assert a.n_classes == 10 and a.n_features == 64


def test_digits_are_sklearns_images_in_the_shipped_split_without_importing_sklearn():
    """Every image and label is scikit-learn's ``load_digits`` row (each used once), and loading
    them imports no scikit-learn (the pixels come from its file, the split is shipped)."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    d, ref = load_dataset("digits"), load_digits()
    with np.load(_split_file()) as f:
        tr, te = f["train"], f["test"]
    assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(1797))
    np.testing.assert_array_equal(d.X_train, ref.data[tr] / 16.0)
    np.testing.assert_array_equal(d.X_test, ref.data[te] / 16.0)
    np.testing.assert_array_equal(d.y_train, ref.target[tr])
    np.testing.assert_array_equal(d.y_test, ref.target[te])
    code = ("import sys; from biorate.datasets import load_dataset; load_dataset('digits'); "
            "print('sklearn' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _split_file():
    from pathlib import Path

    import biorate.datasets

    return Path(biorate.datasets.__file__).with_name("_data") / "digits_split.npz"


def test_xor_labels_are_the_corners_xor_over_20_seeds():
    """A point's label is the XOR of the corner it scatters around (noise std 0.15): a coordinate
    crosses 0.5 with probability p = P(Z > 0.5/0.15) = 4.3e-4, so the label equals the XOR of the
    point's own quadrant for a fraction 1 - 2p(1 - p) = 0.99914 of points, not for all (one seed in
    three has a crossing point). Measured over seeds 0-199 (400 points each): agreement 0.99907 +-
    0.00138 per seed (std across seeds; min 0.995), the noise std (distance to the nearest corner)
    0.1494 +- 0.0038, the fraction of label 1 0.499 +- 0.026. Tested on the means over seeds 0-19,
    each bound at least 3 per-seed standard deviations from the measured value (the 20-seed means
    themselves vary by 0.0004, 0.0007 and 0.006). Reproduce: the loop below over range(200)."""
    agree, noise, ones = [], [], []
    for seed in range(20):
        x = load_dataset("xor", seed=seed)
        X = np.concatenate([x.X_train, x.X_test])
        y = np.concatenate([x.y_train, x.y_test])
        assert X.shape == (400, 2) and x.n_classes == 2
        assert x.y_train.shape == (300,) and set(np.unique(y)) == {0, 1}
        agree.append(np.mean(y == ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5))))
        noise.append(np.std(X - np.round(X)))
        ones.append(y.mean())
    p = 0.5 * math.erfc(0.5 / 0.15 / math.sqrt(2))
    assert 1 - 2 * p * (1 - p) == pytest.approx(0.99914, abs=1e-5)
    assert np.mean(agree) >= 0.994  # measured 0.99907, per-seed std 0.00138: 3 std below
    assert abs(np.mean(noise) - 0.15) < 0.012  # measured 0.1494, per-seed std 0.0038
    assert abs(np.mean(ones) - 0.5) < 0.08  # measured 0.499, per-seed std 0.026
    assert not np.array_equal(load_dataset("xor", seed=4).X_train, load_dataset("xor", 3).X_train)
    np.testing.assert_array_equal(load_dataset("xor", seed=3).X_test, load_dataset("xor", 3).X_test)


def test_moons_split():
    m = load_dataset("moons")
    assert m.X_train.shape == (300, 2) and m.X_test.shape == (100, 2)
    assert np.bincount(m.y_test).tolist() == [50, 50]  # make_moons: 200 per class, stratified


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype):
    a = (np.arange(2 * 3 * 4).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        a = np.abs(a).astype(dtype)
    back = read_idx(write_idx(tmp_path / "a.idx", a))
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, a)


def make_mnist_folder(folder, n_train=30, n_test=10, side=5, gz=False):
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side)).astype(np.uint8)
        labels = (np.arange(n) % 3).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
        if gz:
            for kind in ("images-idx3", "labels-idx1"):
                p = folder / f"{prefix}-{kind}-ubyte"
                (folder / f"{p.name}.gz").write_bytes(gzip.compress(p.read_bytes()))
                p.unlink()
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_dataset(tmp_path, gz):
    folder = make_mnist_folder(tmp_path / "mnist", gz=gz)
    d = load_dataset(f"idx:{folder}")
    assert d.X_train.shape == (30, 25) and d.X_test.shape == (10, 25)
    assert d.n_classes == 3 and d.y_train.tolist()[:4] == [0, 1, 2, 0]
    raw = read_idx(next(folder.glob("train-images*")))
    np.testing.assert_allclose(d.X_train, raw.reshape(30, 25) / 255.0)


def test_bad_data_sets(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="no such folder"):
        load_dataset(f"idx:{tmp_path / 'absent'}")
    folder = make_mnist_folder(tmp_path / "m")
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="no t10k-labels"):
        load_dataset(f"idx:{folder}")
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))  # 10 images, 9 labels
    with pytest.raises(DataError, match="do not match"):
        load_dataset(f"idx:{folder}")
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(bad)
    bad.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(DataError, match="holds 2"):
        read_idx(bad)


def test_a_seed_outside_0_to_2_32_is_a_data_error():
    """xor and moons are drawn from the seed: a negative, huge or non-integer one is refused in
    biorate's words, not by NumPy's or scikit-learn's exceptions."""
    from biorate.errors import DataError

    for seed in (-1, 2**32, 10**20, 2.5, "a", True):
        with pytest.raises(DataError, match="seed must be a whole number from 0 to 2\\*\\*32-1"):
            load_dataset("xor", seed=seed)
    assert load_dataset("xor", seed=2**32 - 1).X_train.shape[1] == 2
