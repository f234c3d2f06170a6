"""A user's own data (issue 16, section 1): ``npz:PATH``, ``csv:PATH`` and ``csv:TRAIN,TEST``
wherever a dataset is taken, with the IDX loader's label rules, and one line with exit 2 for a
file that breaks them."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from biorate.datasets import DATASETS, _digits_csv, load_dataset
from biorate.errors import DataError


def one_line(err: str, *words: str) -> None:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def save_npz(path, d=None, **arrays):
    base = {} if d is None else dict(X_train=d.X_train, y_train=d.y_train, X_test=d.X_test,
                                     y_test=d.y_test)  # fmt: skip
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return path


def write_csv(path, X, y, names=None, label_at=None):
    names = names or [f"f{i}" for i in range(X.shape[1])]
    cols = list(names)
    cols.insert(len(cols) if label_at is None else label_at, "label")
    with open(path, "w") as f:
        f.write(",".join(cols) + "\n")
        for row, lab in zip(X, y, strict=True):
            cells = [repr(float(v)) for v in row]
            cells.insert(len(cells) if label_at is None else label_at, str(int(lab)))
            f.write(",".join(cells) + "\n")
    return path


def test_datasets_listed_in_help(cli):
    assert {"npz:PATH", "csv:PATH", "csv:TRAIN,TEST"} <= set(DATASETS)
    for command in ("train", "evaluate", "deploy"):
        code, out, _ = cli(command, "--help")
        flat = " ".join(out.split())
        assert code == 0 and "npz:PATH" in flat and "csv:PATH" in flat, (command, out)


def test_npz_round_trip_is_the_dataset(tmp_path, digits):
    d = load_dataset(f"npz:{save_npz(tmp_path / 'd.npz', digits)}")
    for k in ("X_train", "y_train", "X_test", "y_test"):
        assert np.array_equal(getattr(d, k), getattr(digits, k)), k
    assert d.n_classes == 10 and d.n_features == 64 and d.y_train.dtype == np.int64


def test_csv_split_is_the_digits_split(tmp_path, digits):
    """csv:PATH of the digits in scikit-learn's own order splits exactly as --dataset digits."""
    with gzip.open(_digits_csv(), "rt") as f:
        raw = np.loadtxt(f, delimiter=",")
    path = write_csv(tmp_path / "digits.csv", raw[:, :-1] / 16.0, raw[:, -1], label_at=0)
    d = load_dataset(f"csv:{path}")
    for k in ("X_train", "y_train", "X_test", "y_test"):
        assert np.array_equal(getattr(d, k), getattr(digits, k)), k
    assert d.n_classes == 10


def test_csv_two_files(tmp_path, digits):
    tr = write_csv(tmp_path / "tr.csv", digits.X_train, digits.y_train)
    te = write_csv(tmp_path / "te.csv", digits.X_test, digits.y_test)
    d = load_dataset(f"csv:{tr},{te}")
    assert np.array_equal(d.X_test, digits.X_test) and np.array_equal(d.y_train, digits.y_train)


def test_npz_trains_as_digits(cli, tmp_path, digits):
    """The same net trained on an npz copy of digits and on digits: the same accuracies."""
    npz = save_npz(tmp_path / "d.npz", digits)
    reports = []
    for spec in ("digits", f"npz:{npz}"):
        r = tmp_path / f"{len(reports)}.json"
        code, _, err = cli("train", "--dataset", spec, "--hidden", "16", "--epochs", "2",
                           "--seed", "3", "--quiet", "-o", tmp_path / f"{len(reports)}.npz",
                           "--report", r)  # fmt: skip
        assert code == 0, err
        reports.append(json.loads(r.read_text()))
    for key in ("train_accuracy", "test_accuracy"):
        assert reports[0][key] == reports[1][key], key
    code, out, err = cli("evaluate", tmp_path / "1.npz", "--dataset", f"npz:{npz}")
    assert code == 0 and f"{reports[1]['test_accuracy']:.3f}"[:4] in out, (out, err)


def test_output_never_overwrites_dataset(cli, tmp_path, digits):
    npz = save_npz(tmp_path / "d.npz", digits)
    before = npz.read_bytes()
    code, _, err = cli("train", "--dataset", f"npz:{npz}", "-o", npz, "--quiet")
    assert code == 2 and npz.read_bytes() == before
    one_line(err, "--dataset npz:", "same file")
    tr = write_csv(tmp_path / "tr.csv", digits.X_train[:50], digits.y_train[:50] % 2)
    te = write_csv(tmp_path / "te.csv", digits.X_test[:20], digits.y_test[:20] % 2)
    code, _, err = cli("train", "--dataset", f"csv:{tr},{te}", "-o", tmp_path / "n.npz",
                       "--report", te, "--quiet")  # fmt: skip
    assert code == 2
    one_line(err, "--dataset csv:", "same file")


# --- bad input: one line, exit 2 ----------------------------------------------------------------
def npz_cases(d):
    y_gap = d.y_train.copy()
    y_gap[y_gap == 3] = 12  # 0..2 then a gap: 12 is past the run 0, 1, 2
    X_nan = d.X_train.copy()
    X_nan[5, 7] = np.nan
    return {
        "object": (dict(X_train=np.array([[1, "a"]], dtype=object)), ["'X_train'", "object"]),
        "missing": (dict(y_test=None), ["y_test", "arrays found"]),
        "nan": (dict(X_train=X_nan), ["X_train[5, 7]", "finite"]),
        "gap": (dict(y_train=y_gap), ["y_train: label 4", "outside 0..2"]),
        "half": (dict(y_test=d.y_test + 0.5), ["y_test", "whole class numbers"]),
        "features": (dict(X_test=d.X_test[:, :10]), ["64 features", "X_test 10"]),
        "shape": (dict(y_train=d.y_train[:-1]), ["y_train", "one integer label per row"]),
        "text": (dict(X_test=np.array([["a"]])), ["'X_test'", "real numbers"]),
        "complex": (dict(X_test=d.X_test + 1j), ["'X_test'", "complex"]),
    }


def refused(cli, tmp_path, spec, words):
    """The API raises a DataError; `train --dataset spec` says so in one line, exit 2."""
    with pytest.raises(DataError):
        load_dataset(spec)
    code, _, err = cli("train", "--dataset", spec, "--epochs", "1", "--quiet",
                       "-o", tmp_path / "n.npz")  # fmt: skip
    assert code == 2
    one_line(err, *words)


@pytest.mark.parametrize("case", list(npz_cases(load_dataset("digits"))))
def test_bad_npz_refused(cli, tmp_path, digits, case):
    arrays, words = npz_cases(digits)[case]
    refused(cli, tmp_path, f"npz:{save_npz(tmp_path / 'd.npz', digits, **arrays)}", words)


def test_not_an_npz(cli, tmp_path):
    (tmp_path / "x.npz").write_text("hello")
    for spec, words in ((f"npz:{tmp_path / 'x.npz'}", ["not an .npz"]),
                        (f"npz:{tmp_path / 'none.npz'}", ["no such file"]),
                        (f"csv:{tmp_path / 'none.csv'}", ["no such file"])):  # fmt: skip
        code, _, err = cli("train", "--dataset", spec, "--quiet", "-o", tmp_path / "n.npz")
        assert code == 2
        one_line(err, *words)


CSV_CASES = {
    "no label": ("a,b\n1,2\n", ["no 'label' column"]),
    "no header": ("0.1,0.2,1\n0.3,0.4,0\n", ["no 'label' column", "header"]),
    "text": ("a,label\n0.1,0\n0.2,1\nhigh,0\n", ["line 4", "column 'a'", "'high'", "not a number"]),
    "nan": ("a,label\n0.1,0\nnan,1\n", ["line 3", "column 'a'", "not a number"]),
    "overflow": ("a,label\n0.1,0\n1e400,1\n", ["line 3", "column 'a'", "'1e400' is not finite"]),
    "arabic digits": ("a,label\n0.1,0\n\u0665\u0660,1\n", ["line 3", "column 'a'", "not a number"]),
    "short row": ("a,b,label\n0.1,0.2,0\n0.3,1\n", ["line 3", "2 cells", "3 columns"]),
    "label text": ("a,label\n0.1,cat\n", ["column 'label'", "'cat'", "class numbers"]),
    "label half": ("a,label\n0.1,0.5\n0.2,1\n", ["column 'label'", "0.5", "whole"]),
    "gap": ("a,label\n" + "0.1,0\n0.2,1\n0.3,3\n" * 10, ["label 3", "outside 0..1"]),
    "empty": ("a,label\n", ["no rows"]),
    "one of a class": ("a,label\n" + "0.1,0\n" * 9 + "0.2,1\n", ["cannot split", "csv:TRAIN,TEST"]),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv_refused(cli, tmp_path, case):
    text, words = CSV_CASES[case]
    path = tmp_path / "d.csv"
    path.write_text(text)
    refused(cli, tmp_path, f"csv:{path}", words)


def test_csv_two_files_headers_must_match(tmp_path):
    tr, te = tmp_path / "tr.csv", tmp_path / "te.csv"
    tr.write_text("a,b,label\n0,1,0\n1,0,1\n")
    te.write_text("b,a,label\n0,1,0\n")
    with pytest.raises(DataError, match="different feature columns"):
        load_dataset(f"csv:{tr},{te}")
    with pytest.raises(DataError, match="two files"):
        load_dataset(f"csv:{tr},{te},{te}")


def test_npz_too_large_for_memory_refused_before_reading(tmp_path, monkeypatch, digits):
    """The arrays' headers are checked against the memory available before any data is read."""
    import biorate._memory

    path = save_npz(tmp_path / "d.npz", digits)
    monkeypatch.setattr(biorate._memory, "available_memory", lambda: 10_000)
    with pytest.raises(DataError, match="memory"):
        load_dataset(f"npz:{path}")
    (tmp_path / "d.csv").write_text("a,label\n" + "0.5,1\n0.25,0\n" * 5000)
    with pytest.raises(DataError, match="memory"):
        load_dataset(f"csv:{tmp_path / 'd.csv'}")


def test_quoted_cells_read_as_numbers(tmp_path):
    """A spreadsheet's export quotes every cell: read as the same numbers as unquoted."""
    rows = [(0.1 * i, 0.2 * i, i % 2) for i in range(10)]
    plain, quoted = tmp_path / "p.csv", tmp_path / "q.csv"
    plain.write_text("a,b,label\n" + "".join(f"{a!r},{b!r},{c}\n" for a, b, c in rows))
    quoted.write_text("a,b,label\n" + "".join(f'"{a!r}","{b!r}","{c}"\n' for a, b, c in rows))
    p, q = load_dataset(f"csv:{plain}"), load_dataset(f"csv:{quoted}")
    np.testing.assert_array_equal(p.X_train, q.X_train)
    np.testing.assert_array_equal(p.y_test, q.y_test)
