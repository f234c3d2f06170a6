"""Data sets for the rate network: scikit-learn's digits, XOR and two-moons toys, MNIST-style
IDX files from a local folder, and a user's own arrays (``.npz``) or tables (``.csv``). Nothing is
downloaded.

Every loader returns a :class:`Dataset` with a fixed, documented train/test split:

- ``digits`` (default): scikit-learn's 8x8 handwritten digits (1797 images, 10 classes), pixel
  values 0..16 scaled to [0, 1]; stratified split with ``train_test_split(test_size=0.2,
  stratify=y, random_state=0)``: 1437 training and 360 test images, the same for every seed
  (the indices are shipped, so a scikit-learn release cannot move them; the pixels are read from
  scikit-learn's own file without importing it).
- ``xor``: points around the four corners of the unit square (Gaussian noise, std 0.15), label
  ``x0 XOR x1``; 400 points, stratified 300/100 split.
- ``moons``: ``sklearn.datasets.make_moons(400, noise=0.2)``, stratified 300/100 split.
- ``idx:PATH``: a folder holding MNIST-format files ``train-images*idx3-ubyte``,
  ``train-labels*idx1-ubyte``, ``t10k-images*idx3-ubyte``, ``t10k-labels*idx1-ubyte`` (optionally
  ``.gz``); uint8 pixels scaled to [0, 1] (pixels of other types must already lie there), images
  flattened, the files' own train/test split.
- ``npz:PATH``: an ``.npz`` archive (``np.savez``) holding ``X_train`` and ``X_test`` (features,
  ``(n, n_features)``, real numbers, finite) and ``y_train`` and ``y_test`` (one label per row,
  integers or whole floats); read with ``allow_pickle=False`` (an array of Python objects is
  refused), each array's header checked (dtype, and that its data fit in memory) before it is
  read. Features are used as they are: scale them yourself (e.g. to [0, 1]).
- ``csv:PATH``: one CSV file (comma-separated, UTF-8), its first line a header naming the columns:
  one ``label`` column (class numbers) and any number of feature columns (finite numbers), in any
  order; split 80/20 stratified by label with ``random_state=0`` (the code that made the digits
  split), the same split for every seed. ``csv:TRAIN,TEST``: two such files with the same header,
  used as the training and test sets (a path holding a comma is taken whole when it names an
  existing file).

Labels are class numbers 0..n_classes-1 without gaps: ``n_classes`` is the length of the run
0, 1, 2, ... of training labels (10 for digits), and every label, train or test, must lie in
``0..n_classes-1`` (so every class has training samples); a label outside (e.g. a stray 200 among
digits 0..9) is a :class:`DataError` naming it, never a silently wider network. This holds for the
IDX, npz and CSV sets alike (:func:`class_count`).

The toy sets take ``seed`` (default 0) for their noise; the other sets ignore it.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .io import LOOP, atomic_write, check_memory, check_regular_input, is_loop
from .schema import is_integer

__all__ = ["Dataset", "load_dataset", "check_classes", "class_count", "read_idx", "write_idx",
           "DATASETS"]  # fmt: skip

DATASETS = ("digits", "xor", "moons", "idx:PATH", "npz:PATH", "csv:PATH", "csv:TRAIN,TEST")


@dataclass(frozen=True)
class Dataset:
    """Features ``X_*`` ``(n, n_features)`` in [0, 1] (unit free) and integer labels ``y_*``."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


def _split(X: np.ndarray, y: np.ndarray, test_size: float, random_state: int) -> tuple:
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=random_state)


def _digits_csv() -> Path | None:
    """scikit-learn's own copy of the digits (``sklearn/datasets/data/digits.csv.gz``), found
    without importing scikit-learn (which costs most of a second); None if it is not there."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def _digits() -> Dataset:
    """The 1797 digits, scaled to [0, 1], in the split shipped in ``biorate/_data`` (the indices
    ``train_test_split(test_size=0.2, stratify=y, random_state=0)`` gave, kept so that the split
    cannot move with a scikit-learn release). The pixels are read as ``load_digits`` reads them."""
    csv = _digits_csv()
    if csv is not None:
        with gzip.open(csv, "rt") as f:
            data = np.loadtxt(f, delimiter=",")
        pixels, target = data[:, :-1], data[:, -1].astype(int, copy=False)
    else:  # pragma: no cover - a scikit-learn that keeps its data elsewhere
        from sklearn.datasets import load_digits

        d = load_digits()
        pixels, target = d.data, d.target
    with np.load(Path(__file__).with_name("_data") / "digits_split.npz") as split:
        tr, te = split["train"].astype(np.intp), split["test"].astype(np.intp)
    X = pixels / 16.0  # pixel intensities 0..16 -> [0, 1]
    return Dataset("digits", X[tr], target[tr], X[te], target[te], 10,
                   "sklearn digits 8x8, /16, stratified 80/20 split (random_state=0)")  # fmt: skip


def _xor(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(400, 2))
    X = corners + rng.normal(0.0, 0.15, size=corners.shape)
    y = corners[:, 0] ^ corners[:, 1]
    Xtr, Xte, ytr, yte = _split(X, y, 0.25, seed)
    return Dataset("xor", Xtr, ytr, Xte, yte, 2, f"noisy XOR corners, std 0.15, seed {seed}")


def _moons(seed: int) -> Dataset:
    from sklearn.datasets import make_moons

    X, y = make_moons(400, noise=0.2, random_state=seed)
    Xtr, Xte, ytr, yte = _split(X, y, 0.25, seed)
    return Dataset("moons", Xtr, ytr, Xte, yte, 2, f"two moons, noise 0.2, seed {seed}")


# IDX format (LeCun's MNIST files): 2 zero bytes, a type code, the number of dimensions,
# then each dimension as a big-endian int32, then the data in C order, big-endian.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


_IDX_NAMES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32",
              0x0E: "float64"}  # fmt: skip


def _idx_header(f: Any, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """The data type and shape an IDX header declares (each a clear DataError when wrong)."""
    head = f.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number: an IDX file starts with two "
                        "zero bytes, a type code and the number of dimensions)")  # fmt: skip
    if head[2] not in _IDX_TYPES:
        codes = ", ".join(f"0x{k:02X} ({v})" for k, v in _IDX_NAMES.items())
        raise DataError(f"{path}: not an IDX file (bad magic number: unknown data type code "
                        f"0x{head[2]:02X}; IDX codes are {codes})")  # fmt: skip
    ndim = head[3]
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions (at least 1 expected)")
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header ({ndim} dimensions declared)")
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    return np.dtype(_IDX_TYPES[head[2]]), shape


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into an array of its stored shape. The
    header is checked before any data is read: a shape whose data would not fit in memory is
    refused naming its size, and the file must hold exactly that much data."""
    check_regular_input(path, DataError)
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gz else open(path, "rb") as f:
            dt, shape = _idx_header(f, path)
            need = math.prod(shape) * dt.itemsize
            check_memory(need, f"{path}: the {dt.name} data of IDX shape {shape}",
                         "is the header corrupt?", DataError, " to read")  # fmt: skip
            data = f.read(need + 1)
    except (OSError, EOFError, zlib.error) as exc:  # a folder, permissions, a corrupt .gz
        why = {EOFError: "truncated .gz: ", zlib.error: "corrupt .gz: "}.get(type(exc), "")
        raise DataError(f"{path}: cannot read ({why or type(exc).__name__ + ': '}{exc})") from None
    if len(data) != need:
        held = "more" if len(data) > need else str(len(data))
        raise DataError(f"{path}: IDX header says shape {shape} ({need} bytes of data) "
                        f"but the file holds {held}")  # fmt: skip
    return np.frombuffer(data, dt).reshape(shape).astype(dt.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write an array as an IDX file (uint8, int8, int16, int32, float32, float64), atomically."""
    a = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(a.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot store dtype {a.dtype}")
    head = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
    body = a.astype(_IDX_TYPES[code]).tobytes()
    return atomic_write(path, lambda f: f.write(head + body), binary=True)


def _find(folder: Path, prefix: str, kind: str) -> Path:
    try:
        hits = sorted(p for p in folder.iterdir() if p.name.startswith(prefix) and kind in p.name)
    except OSError as exc:
        raise DataError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    if not hits:
        raise DataError(f"{folder}: no {prefix}*{kind}* file (MNIST-style IDX folder expected)")
    return hits[0]


def _labels(labels: np.ndarray, label_file: Any, noun: str = "image") -> np.ndarray:
    """Labels as int64 class numbers: whole, finite, within int64 (0.5 is never truncated to 0);
    ``noun`` names what a label belongs to in the message (an image, a row, a sample)."""
    if labels.size == 0:
        raise DataError(f"{label_file}: no labels")
    if labels.dtype.kind == "f":
        labels = labels.astype(np.float64)  # (exact; 2**62 cast to float16 overflowed, warning)
        bad = ~(np.isfinite(labels) & (labels == np.round(labels)) & (np.abs(labels) < 2.0**62))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{label_file}: labels must be whole class numbers; label "
                            f"{labels[i]:g} ({noun} {i}) is not")  # fmt: skip
    return labels.astype(np.int64)


def _idx_part(path: Path, prefix: str) -> tuple[np.ndarray, np.ndarray, Path, tuple]:
    """The images (flattened, uint8 scaled to [0, 1]), labels, label file and image shape of one
    split."""
    image_file = _find(path, f"{prefix}-images", "idx3")
    images = read_idx(image_file)
    label_file = _find(path, f"{prefix}-labels", "idx1")
    labels = read_idx(label_file)
    if images.shape[0] == 0:
        raise DataError(f"{image_file}: no images")
    if images.ndim < 2 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DataError(f"{path}: {prefix} images {images.shape} and labels {labels.shape} "
                        "do not match")  # fmt: skip
    if math.prod(images.shape[1:]) == 0:
        raise DataError(f"{image_file}: images of shape {images.shape[1:]} have no pixels")
    y = _labels(labels, label_file)
    if images.dtype.kind == "f" and not np.all(np.isfinite(images)):
        raise DataError(f"{image_file}: pixel values must be finite numbers (found NaN or inf)")
    X = images.reshape(images.shape[0], -1).astype(np.float64)
    if images.dtype == np.uint8:
        X /= 255.0  # 8-bit grey levels -> [0, 1]
    elif X.size and not (X.min() >= 0.0 and X.max() <= 1.0):
        raise DataError(f"{image_file}: {images.dtype} pixels must lie in [0, 1] (found "
                        f"{X.min():.3g} to {X.max():.3g}); only uint8 images are scaled "
                        "(by 1/255)")  # fmt: skip
    return X, y, label_file, tuple(int(n) for n in images.shape[1:])


def _idx(folder: str) -> Dataset:
    path = Path(folder)
    if not path.is_dir():
        raise DataError(f"idx:{folder}: {LOOP if is_loop(path) else 'no such folder'}")
    parts, label_files, shapes = [], [], []
    for prefix in ("train", "t10k"):
        X, y, label_file, shape = _idx_part(path, prefix)
        parts += [X, y]
        label_files.append(label_file)
        shapes.append(shape)
    Xtr, ytr, Xte, yte = parts
    if shapes[0] != shapes[1]:
        shown = ["x".join(map(str, sh)) for sh in shapes]
        raise DataError(f"{path}: train images are {shown[0]} but test images {shown[1]}: "
                        "both splits must hold images of one shape")  # fmt: skip
    n_classes = class_count(ytr, yte, label_files, "image")
    return Dataset(f"idx:{folder}", Xtr, ytr, Xte, yte, n_classes, f"IDX files in {path}")


# --- a user's own data: npz and CSV -------------------------------------------------------------


def class_count(ytr: np.ndarray, yte: np.ndarray, where: Sequence[Any], noun: str) -> int:
    """The one rule for a dataset's labels (IDX, npz, CSV): class numbers 0..n_classes-1 without
    gaps. ``n_classes`` is the length of the run 0, 1, 2, ... of training labels ``ytr``; every
    label of ``ytr`` and ``yte`` must lie in 0..n_classes-1 (so every class has training
    samples), and the training labels must hold two classes (:func:`check_classes`). ``where``
    names the training and the test labels in messages (a file each), ``noun`` one sample."""
    classes = np.unique(ytr[ytr >= 0])  # negative labels are reported below
    # the run 0, 1, 2, ... of training labels; anything past a gap is not a class number
    run = classes == np.arange(classes.size)
    n_classes = int(classes.size if run.all() else np.argmin(run))
    if n_classes == 0:
        raise DataError(f"{where[0]}: no label 0; labels must be class numbers "
                        f"0..n_classes-1 without gaps (smallest found: {ytr.min()})")  # fmt: skip
    for labels, label_file in zip((ytr, yte), where, strict=True):
        bad, counts = np.unique(labels[(labels < 0) | (labels >= n_classes)], return_counts=True)
        if bad.size:
            shown = ", ".join(f"{b} ({c} {noun}{'s' if c > 1 else ''})"
                              for b, c in zip(bad[:5], counts[:5], strict=True))  # fmt: skip
            more = f" and {bad.size - 5} more" if bad.size > 5 else ""
            raise DataError(f"{label_file}: label {shown}{more} outside 0..{n_classes - 1}: labels "
                            f"must be class numbers 0..n_classes-1 without gaps; the training "
                            f"labels give n_classes = {n_classes}")  # fmt: skip
    # after the range: labels {-1, 0} are a label outside 0..0, not "one class (0)"
    check_classes(ytr, f"{where[0]}: the training labels")
    return n_classes


def check_classes(y: np.ndarray, what: str) -> None:
    """The one rule for training labels (an IDX folder's, ``RateNetwork.fit``'s): at least two
    classes, since on one class a classifier learns nothing and scores 1.0."""
    classes = np.unique(y)
    if classes.size < 2:
        raise DataError(f"{what} hold one class ({classes[0] if classes.size else 'none'}): a "
                        "classifier needs at least two classes to learn anything")  # fmt: skip


def load_dataset(spec: str = "digits", seed: int = 0) -> Dataset:
    """Load ``"digits"``, ``"xor"``, ``"moons"``, ``"idx:PATH"``, ``"npz:PATH"``, ``"csv:PATH"``
    or ``"csv:TRAIN,TEST"`` (see the module doc). ``seed``
    (a whole number 0..2**32-1) draws the generated datasets."""
    if not is_integer(seed) or not 0 <= seed < 2**32:
        raise DataError(f"seed must be a whole number from 0 to 2**32-1, got {str(seed)[:30]}")
    if not isinstance(spec, str):
        raise DataError(f"dataset must be a name or 'idx:PATH', 'npz:PATH', 'csv:PATH', got "
                        f"{str(spec)[:60]!r}")  # fmt: skip
    if isinstance(spec, str) and spec[:4] in ("idx:", "npz:", "csv:") and not spec[4:].strip():
        raise DataError(f"dataset {spec!r} names no file: give {spec[:3]}:PATH")  # (not ".")
    if spec == "digits":
        return _digits()
    if spec == "xor":
        return _xor(seed)
    if spec == "moons":
        return _moons(seed)
    if isinstance(spec, str) and spec.startswith("idx:"):
        return _idx(spec[4:])
    if isinstance(spec, str) and spec.startswith(("npz:", "csv:")):
        from ._user_data import load_user_data  # a user's files: their readers, when asked for

        return load_user_data(spec)
    raise DataError(f"unknown dataset {spec!r}; choose one of {', '.join(DATASETS)}")
