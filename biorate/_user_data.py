"""A user's own datasets, ``npz:PATH`` and ``csv:PATH`` / ``csv:TRAIN,TEST`` (see
:mod:`biorate.datasets`, whose :func:`~biorate.datasets.load_dataset` reads them through
:func:`load_user_data`): the files' checks, with the label and split rules of the built-in sets."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import Dataset, _labels, _split, class_count
from .errors import DataError
from .io import CSV_NUMBER, check_memory, check_regular_input, format_bytes, open_npz, path_is

__all__ = ["NPZ_KEYS", "CSV_TEST_SIZE", "load_user_data", "csv_files"]


NPZ_KEYS = ("X_train", "y_train", "X_test", "y_test")
CSV_TEST_SIZE = 0.2  # csv:PATH: the stratified split of the digits, seeded with 0
_NPZ_HEADER = 64 * 1024  # an .npy header and alignment, generously


def _npz_array(archive: Any, key: str, where: str) -> np.ndarray:
    """Array ``key`` of an open npz archive, after its ``.npy`` header (read without the data)
    says it holds real numbers (no Python objects: nothing is unpickled) and that its data, read
    and made float64, fit in memory."""
    try:
        with archive.zip.open(f"{key}.npy") as f:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)  # fmt: skip
            shape, _, dtype = read(f, max_header_size=_NPZ_HEADER)
    except Exception as exc:  # zip entry, npy magic or header: a corrupt or non-npy entry
        raise DataError(f"{where}: array {key!r} cannot be read ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:160]})") from None  # fmt: skip
    if dtype.hasobject:
        raise DataError(f"{where}: array {key!r} holds Python objects (dtype object); only "
                        "arrays of numbers are read (never unpickled): save it with a numeric "
                        "dtype, e.g. X.astype(float)")  # fmt: skip
    if dtype.kind not in "biuf":
        raise DataError(f"{where}: array {key!r} has dtype {dtype}; expected real numbers")
    count = math.prod(shape)
    check_memory(count * (dtype.itemsize + 8), f"{where}: array {key!r} of shape {shape}",
                 "is it the right file?", DataError, " to read")  # fmt: skip
    try:
        return archive[key]
    except Exception as exc:  # truncated or corrupt data
        raise DataError(f"{where}: array {key!r} cannot be read ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:160]})") from None  # fmt: skip


def _features(X: np.ndarray, where: str, what: str) -> np.ndarray:
    """Features as a finite float64 ``(n, n_features)`` array, at least one sample and feature."""
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{where}: {what} has shape {X.shape}; expected (n_samples, n_features) "
                        "with at least one of each")  # fmt: skip
    out = X.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{where}: {what}[{i}, {j}] is {X[i, j]}: features must be finite "
                        "numbers")  # fmt: skip
    return out


def _npz(text: str) -> Dataset:
    """``npz:PATH``: the four arrays of :data:`NPZ_KEYS` (see the module doc)."""
    path = Path(text)
    where = f"npz:{text}"
    archive = open_npz(path, DataError, where, "file of an npz dataset")
    with archive:
        missing = [k for k in NPZ_KEYS if k not in archive.files]
        if missing:
            held = ", ".join(archive.files[:8]) or "none"
            raise DataError(f"{where}: no array {', '.join(missing)}; an npz dataset holds "
                            f"{', '.join(NPZ_KEYS)} (arrays found: {held})")  # fmt: skip
        a = {k: _npz_array(archive, k, where) for k in NPZ_KEYS}
    parts = []
    for split in ("train", "test"):
        X, y = a[f"X_{split}"], a[f"y_{split}"]
        X = _features(X, where, f"X_{split}")  # (its shape first: a 0-d X has no rows)
        if y.ndim != 1 or y.dtype.kind == "b" or y.shape[0] != X.shape[0]:
            raise DataError(f"{where}: y_{split} has shape {y.shape} and dtype {y.dtype}; "
                            f"expected one integer label per row of X_{split} {X.shape}")  # fmt: skip
        parts += [X, _labels(y, f"{where}: y_{split}", "sample")]
    Xtr, ytr, Xte, yte = parts
    if Xtr.shape[1] != Xte.shape[1]:
        raise DataError(f"{where}: X_train has {Xtr.shape[1]} features but X_test "
                        f"{Xte.shape[1]}: both splits must have the same features")  # fmt: skip
    n = class_count(ytr, yte, (f"{where}: y_train", f"{where}: y_test"), "sample")
    return Dataset(where, Xtr, ytr, Xte, yte, n, f"arrays of {path}")


# the longest header row read (a million characters: 100,000 columns of 10-character names)
_MAX_HEADER = 1_000_000


def _csv_table(path: Path) -> tuple[list[str], np.ndarray]:
    """The header (column names) and the numbers of one CSV file: a header row, then rows of
    numbers separated by commas. A cell that is not a finite number is named by line and column."""
    check_regular_input(path, DataError)
    try:
        size = path.stat().st_size
        with open(path, encoding="utf-8-sig", newline="") as f:
            first = f.readline(_MAX_HEADER + 1)  # bounded: a 2 GB line is no header
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(first) > _MAX_HEADER:
        raise DataError(f"{path}: the header row is longer than {_MAX_HEADER:,} characters; is it "
                        "the right file?")  # fmt: skip
    try:
        header = [c.strip() for c in next(csv.reader([first]), [])]
    except csv.Error as exc:  # a column name beyond the csv module's field limit (131,072)
        raise DataError(f"{path}: cannot read the header row ({exc})") from None
    if "label" not in header:
        shown = ",".join(header)[:60] or "an empty line"
        raise DataError(f"{path}: no 'label' column in the header row (found {shown}); the first "
                        "line names the columns, one of them 'label'")  # fmt: skip
    if header.count("label") > 1 or len(header) < 2:
        raise DataError(f"{path}: the header must name one 'label' column and at least one "
                        f"feature column (found {','.join(header)[:60]})")  # fmt: skip
    # numbers take at most half the text's bytes each, as float64 at most 4x the file
    check_memory(4 * size, f"{path}: the numbers of a {format_bytes(size)} CSV file",
                 "is it the right file?", DataError, " to read")  # fmt: skip
    try:
        with open(path, encoding="utf-8-sig") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Empty input file": said below
            data = np.loadtxt(
                f, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64, quotechar='"'
            )  # a spreadsheet's quoted cells, as csv.reader takes
    except (ValueError, UnicodeDecodeError):
        data = None
    if data is not None and data.size == 0:
        raise DataError(f"{path}: no rows of data after the header")
    if data is None or data.shape[1:] != (len(header),) or not np.all(np.isfinite(data)):
        _csv_bad_cell(path, header)
    return header, data


def _csv_bad_cell(path: Path, header: list[str]) -> None:
    """Name the first cell of ``path`` that is not a finite number (or the first row of the
    wrong length): the slow reading, only once the fast one has failed."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            for line, row in enumerate(csv.reader(f), 1):
                if line == 1:
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}: line {line} has {len(row)} cells; the header "
                                    f"names {len(header)} columns")  # fmt: skip
                for name, cell in zip(header, row, strict=True):
                    v = cell.strip()
                    if not CSV_NUMBER.fullmatch(v) or not math.isfinite(float(v)):
                        what = "labels are class numbers" if name == "label" else \
                            "features are finite numbers"  # fmt: skip
                        kind = "a number" if CSV_NUMBER.fullmatch(v) is None else "finite"
                        raise DataError(f"{path}: line {line}, column {name!r}: {cell[:30]!r} "
                                        f"is not {kind} ({what})")  # fmt: skip
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    raise DataError(f"{path}: cannot read its numbers")  # pragma: no cover - loadtxt's own


def _csv_part(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    header, data = _csv_table(path)
    i = header.index("label")
    y = _labels(data[:, i], f"{path}: column 'label'", "row")
    return [h for h in header if h != "label"], np.delete(data, i, axis=1), y


def csv_files(text: str) -> list[str]:
    """The files of ``csv:TEXT``: ``[PATH]``, or ``[TRAIN, TEST]`` when ``TEXT`` holds a comma and
    is not itself an existing path (a path with a comma in its name is taken whole)."""
    return text.split(",") if "," in text and not path_is(text, "any") else [text]


def _csv(text: str) -> Dataset:
    """``csv:PATH`` (split here) or ``csv:TRAIN,TEST`` (see the module doc)."""
    where = f"csv:{text}"
    if len(csv_files(text)) > 1:
        names = csv_files(text)
        if len(names) != 2 or not all(n.strip() for n in names):  # (Path("") is ".", a folder)
            raise DataError(f"{where}: expected csv:PATH or csv:TRAIN,TEST (two files, neither "
                            "name empty)")  # fmt: skip
        files = [Path(p) for p in names]
        (htr, Xtr, ytr), (hte, Xte, yte) = (_csv_part(p) for p in files)
        if htr != hte:
            raise DataError(f"{where}: the two files have different feature columns "
                            f"({','.join(htr)[:40]} and {','.join(hte)[:40]}); give both the "
                            "same header")  # fmt: skip
        n = class_count(ytr, yte, [f"{p}: column 'label'" for p in files], "row")
        return Dataset(where, Xtr, ytr, Xte, yte, n, f"CSV files {files[0]} and {files[1]}")
    _, X, y = _csv_part(Path(text))
    label_where = f"{text}: column 'label'"
    n = class_count(y, y[:0], (label_where, label_where), "row")
    try:
        Xtr, Xte, ytr, yte = _split(X, y, CSV_TEST_SIZE, 0)
    except ValueError as exc:  # too few rows of a class for a stratified split
        raise DataError(f"{where}: cannot split {y.size} rows {1 - CSV_TEST_SIZE:.0%}/"
                        f"{CSV_TEST_SIZE:.0%} stratified ({' '.join(str(exc).split())[:160]}); "
                        "give csv:TRAIN,TEST") from None  # fmt: skip
    return Dataset(where, Xtr, ytr, Xte, yte, n,
                   f"CSV file {text}, stratified 80/20 split (random_state=0)")  # fmt: skip


def load_user_data(spec: str) -> Dataset:
    """``npz:PATH`` or ``csv:...`` (the caller has checked the prefix)."""
    return _npz(spec[4:]) if spec.startswith("npz:") else _csv(spec[4:])
