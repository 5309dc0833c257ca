"""Rebuild the shipped data files in data/ from their original sources.

Run with ``make data`` (it installs the optional build packages first), or by
hand::

    pip install -e ".[data]"
    python data/build_data.py

Neither scikit-learn nor mnist1d is needed to *use* the course: the notebooks
read the ``.npz`` files written here. The files are written deterministically
(fixed zip timestamps, no compression, fixed member order), so rebuilding with
the same package versions gives byte-identical files and the same sha256. The
script prints the checksums; if they differ from those in
``bn_helpers/data.py`` (a different scikit-learn or mnist1d version), check
the data and update both that table and data/README.md.

Layout inside every file (course notation: one column per example)::

    X_train (n_x, m_train)  y_train (m_train,) int64
    X_test  (n_x, m_test)   y_test  (m_test,)  int64
"""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent

# Digits: 1,797 examples, no official split. We keep a fixed stratified split
# so every notebook and test sees the same train and test sets.
DIGITS_TEST_PER_CLASS = 50
DIGITS_SPLIT_SEED = 0


def write_npz_deterministic(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Write ``arrays`` as an uncompressed .npz with fixed metadata; return sha256."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_digits() -> dict[str, np.ndarray]:
    """UCI optical handwritten digits, the 8x8 copy bundled with scikit-learn."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = bunch.data.astype(np.uint8)  # pixel counts 0..16, exact in uint8
    y = bunch.target.astype(np.int64)
    rng = np.random.default_rng(DIGITS_SPLIT_SEED)
    test_idx = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), DIGITS_TEST_PER_CLASS, replace=False) for c in range(10)]
    )
    test_mask = np.zeros(len(y), dtype=bool)
    test_mask[test_idx] = True
    # Keep the original order inside each split: easy to trace back to the source.
    return {
        "X_train": X[~test_mask].T,
        "y_train": y[~test_mask],
        "X_test": X[test_mask].T,
        "y_test": y[test_mask],
    }


def build_mnist1d() -> dict[str, np.ndarray]:
    """MNIST-1D with the package's default arguments (4,000 train, 1,000 test)."""
    from mnist1d.data import make_dataset  # not get_dataset: that one downloads

    d = make_dataset()  # default args, seed 42 inside the package
    return {
        "X_train": d["x"].astype(np.float64).T,
        "y_train": d["y"].astype(np.int64),
        "X_test": d["x_test"].astype(np.float64).T,
        "y_test": d["y_test"].astype(np.int64),
    }


BUILDERS = {"digits": build_digits, "mnist1d": build_mnist1d}


def main(names: list[str]) -> None:
    for name in names or list(BUILDERS):
        if name not in BUILDERS:
            raise SystemExit(f"unknown data set {name!r}; expected one of {sorted(BUILDERS)}")
        arrays = BUILDERS[name]()
        path = DATA_DIR / f"{name}.npz"
        digest = write_npz_deterministic(path, arrays)
        shapes = ", ".join(f"{k} {v.shape}" for k, v in sorted(arrays.items()))
        print(f"{path.name}: sha256 {digest}  ({shapes})")


if __name__ == "__main__":
    main(sys.argv[1:])
