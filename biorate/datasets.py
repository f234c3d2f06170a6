"""Data sets for the rate network: scikit-learn's digits, XOR and two-moons toys, and MNIST-style
IDX files from a local folder. Nothing is downloaded.

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
  ``.gz``); uint8 pixels scaled to [0, 1], images flattened, the files' own train/test split.
  Labels are class numbers 0..n_classes-1 without gaps: ``n_classes`` is the length of the run
  0, 1, 2, ... of training labels (10 for digits), and every label, train or test, must lie in
  ``0..n_classes-1`` (so every class has training images); a label outside (e.g. a stray 200
  among digits 0..9) is a :class:`DataError` naming it, never a silently wider network.

The toy sets take ``seed`` (default 0) for their noise; digits and IDX ignore it.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .io import atomic_write

__all__ = ["Dataset", "load_dataset", "read_idx", "write_idx", "DATASETS"]

DATASETS = ("digits", "xor", "moons", "idx:PATH")


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


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into an array of its stored shape."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dt = np.dtype(_IDX_TYPES[raw[2]])
    need = int(np.prod(shape)) * dt.itemsize
    if len(raw) - header != need:
        raise DataError(f"{path}: IDX header says shape {shape} ({need} bytes of data) "
                        f"but the file holds {len(raw) - header}")  # fmt: skip
    return np.frombuffer(raw, dt, offset=header).reshape(shape).astype(dt.newbyteorder("="))


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
    hits = sorted(p for p in folder.iterdir() if p.name.startswith(prefix) and kind in p.name)
    if not hits:
        raise DataError(f"{folder}: no {prefix}*{kind}* file (MNIST-style IDX folder expected)")
    return hits[0]


def _idx(folder: str) -> Dataset:
    path = Path(folder)
    if not path.is_dir():
        raise DataError(f"idx:{folder}: no such folder")
    parts, label_files = [], []
    for prefix in ("train", "t10k"):
        images = read_idx(_find(path, f"{prefix}-images", "idx3"))
        label_file = _find(path, f"{prefix}-labels", "idx1")
        labels = read_idx(label_file)
        if images.ndim < 2 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(f"{path}: {prefix} images {images.shape} and labels {labels.shape} "
                            "do not match")  # fmt: skip
        if labels.size == 0:
            raise DataError(f"{label_file}: no labels")
        if labels.dtype.kind == "f" and not np.all(
            np.isfinite(labels) & (labels == np.round(labels))
        ):
            raise DataError(f"{label_file}: labels must be whole class numbers")
        X = images.reshape(images.shape[0], -1).astype(np.float64)
        if images.dtype == np.uint8:
            X /= 255.0  # 8-bit grey levels -> [0, 1]
        parts += [X, labels.astype(np.int64)]
        label_files.append(label_file)
    Xtr, ytr, Xte, yte = parts
    if Xtr.shape[1] != Xte.shape[1]:
        raise DataError(f"{path}: train and test images differ in size")
    classes = np.unique(ytr)
    # the run 0, 1, 2, ... of training labels; anything past a gap is not a class number
    run = classes == np.arange(classes.size)
    n_classes = int(classes.size if run.all() else np.argmin(run))
    if n_classes == 0:
        raise DataError(f"{label_files[0]}: no label 0; labels must be class numbers "
                        f"0..n_classes-1 without gaps (smallest found: {classes[0]})")  # fmt: skip
    for labels, label_file in zip((ytr, yte), label_files, strict=True):
        bad, counts = np.unique(labels[(labels < 0) | (labels >= n_classes)], return_counts=True)
        if bad.size:
            shown = ", ".join(f"{b} ({c} image{'s' if c > 1 else ''})"
                              for b, c in zip(bad[:5], counts[:5], strict=True))  # fmt: skip
            more = f" and {bad.size - 5} more" if bad.size > 5 else ""
            raise DataError(f"{label_file}: label {shown}{more} outside 0..{n_classes - 1}: labels "
                            f"must be class numbers 0..n_classes-1 without gaps; the training "
                            f"labels give n_classes = {n_classes}")  # fmt: skip
    return Dataset(f"idx:{folder}", Xtr, ytr, Xte, yte, n_classes, f"IDX files in {path}")


def load_dataset(spec: str = "digits", seed: int = 0) -> Dataset:
    """Load ``"digits"``, ``"xor"``, ``"moons"`` or ``"idx:PATH"`` (see the module doc)."""
    if spec == "digits":
        return _digits()
    if spec == "xor":
        return _xor(seed)
    if spec == "moons":
        return _moons(seed)
    if isinstance(spec, str) and spec.startswith("idx:"):
        return _idx(spec[4:])
    raise DataError(f"unknown dataset {spec!r}; choose one of {', '.join(DATASETS)}")
