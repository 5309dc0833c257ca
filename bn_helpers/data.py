"""The shipped data sets, loaded offline from the package's data with a checksum check.

Each loader returns a :class:`Dataset` in course notation: ``X_train`` is
``(n_x, m_train)`` float64, one column per example; ``y_train`` is int64
``(m_train,)``. The files are plain ``.npz`` archives read with
``allow_pickle=False``; data/README.md says where each one comes from.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._validation import check_choice

# The data files are package data: bn_helpers/_data links to the repository's data/
# folder (an editable install reads them there), and a wheel carries copies. Found
# from the package, never from the working directory.
DATA_DIR = Path(str(importlib.resources.files("bn_helpers") / "_data"))

# sha256 of each file as written by data/build_data.py (also in data/README.md).
CHECKSUMS = {
    "digits": "f2b347cd2883c2c2a50dd644ce61422a3d8b909ca7cdb9539b92cffcbb5b8f10",
    "mnist1d": "7c522c5cbaf1658b109fefcade9449faef72e802c4585e7aff69f7757645aff9",
}

REBUILD_HINT = (
    "Restore it with `git checkout -- data/{name}.npz`, or rebuild it with `make data` "
    "(installs scikit-learn and mnist1d, then runs data/build_data.py)."
)


class Dataset(NamedTuple):
    """Train and test splits, one column per example."""

    X_train: np.ndarray  # (n_x, m_train) float64
    y_train: np.ndarray  # (m_train,) int64
    X_test: np.ndarray  # (n_x, m_test) float64
    y_test: np.ndarray  # (m_test,) int64


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_dataset(name, data_dir=None) -> Dataset:
    """Load ``"digits"`` or ``"mnist1d"`` after verifying the file's sha256.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for one
    whose checksum or contents are wrong; both say how to restore it.
    """
    check_choice(name, "dataset", CHECKSUMS)
    path = Path(DATA_DIR if data_dir is None else data_dir) / f"{name}.npz"
    hint = REBUILD_HINT.format(name=name)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"data folder {path.parent} does not exist: the data ship inside the package (bn_helpers/_data, a link "
            f"to the repository's data/ folder); reinstall it from a clone, `pip install .` or `pip install -e .`"
        )
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} is missing. {hint}")
    digest = sha256_of(path)
    if digest != CHECKSUMS[name]:
        raise ValueError(
            f"data file {path} is corrupted or from another version: sha256 {digest}, "
            f"expected {CHECKSUMS[name]}. {hint}"
        )
    with np.load(path, allow_pickle=False) as f:
        missing = set(Dataset._fields) - set(f.files)
        if missing:
            raise ValueError(f"data file {path} lacks arrays {sorted(missing)}. {hint}")
        return Dataset(
            X_train=f["X_train"].astype(np.float64),
            y_train=f["y_train"].astype(np.int64),
            X_test=f["X_test"].astype(np.float64),
            y_test=f["y_test"].astype(np.int64),
        )


def load_digits(data_dir=None) -> Dataset:
    """8x8 handwritten digits: 64 pixel intensities in 0..16, 10 classes.

    1,297 training and 500 test examples (a fixed split with 50 test
    examples per class) of the 1,797 in the UCI data set.
    """
    return load_dataset("digits", data_dir)


def load_mnist1d(data_dir=None) -> Dataset:
    """MNIST-1D: 40 features (already centred and scaled), 10 classes, 4,000 train and 1,000 test."""
    return load_dataset("mnist1d", data_dir)
