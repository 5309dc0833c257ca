"""Normalizing the inputs: subtract the training mean, divide by the training standard deviation.

The statistics come from the training set only and are reused unchanged for
the dev and test sets, so every split goes through the same transformation.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_column, as_matrix, check_finite


def input_statistics(X):
    """Per-feature mean and (biased) variance of ``X`` ``(n_x, m)``: two arrays ``(n_x, 1)``."""
    X = as_matrix(X, "X")
    check_finite(X, "X")
    mu = X.mean(axis=1, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=1, keepdims=True)  # two passes: exact with large offsets
    return mu, var


def normalize_inputs(X, mu, var):
    """``(X - mu) / sqrt(var)`` with statistics from :func:`input_statistics` on the training set.

    A constant feature (variance 0, e.g. an always-blank pixel) is only
    centred, so it maps to 0 instead of dividing by zero. No epsilon is
    added: it would shrink features whose variance is small but real.
    """
    X = as_matrix(X, "X")
    check_finite(X, "X")
    n = X.shape[0]
    mu = as_column(mu, "mu", n)
    var = as_column(var, "var", n)
    check_finite(mu, "mu")
    check_finite(var, "var")
    if (var < 0).any():
        raise ValueError(f"var must be >= 0; got a minimum of {var.min()}")
    sigma = np.sqrt(var)
    return (X - mu) / np.where(sigma > 0, sigma, 1.0)


def normalize_dataset(dataset):
    """A :class:`~bn_helpers.data.Dataset` with train and test inputs normalized by the *training* statistics."""
    from .data import Dataset

    mu, var = input_statistics(dataset.X_train)
    return Dataset(
        normalize_inputs(dataset.X_train, mu, var), dataset.y_train,
        normalize_inputs(dataset.X_test, mu, var), dataset.y_test,
    )  # fmt: skip
