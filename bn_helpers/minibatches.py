"""Shuffled mini-batches in course notation (one column per example), and the noise batch statistics add to one example."""

from __future__ import annotations

import numpy as np

from ._validation import as_matrix, check_generator, check_int
from .batchnorm import batchnorm_forward


def iterate_minibatches(X, y, batch_size, rng, drop_last=False):
    """Yield ``(X_t, y_t)`` mini-batches covering one epoch in a random order.

    Parameters
    ----------
    X : array ``(n_x, m)``
    y : array ``(m,)`` (or ``(k, m)``: columns are shuffled together with ``X``)
    batch_size : int >= 1
    rng : np.random.Generator
        Draws this epoch's permutation; pass the same generator every epoch.
    drop_last : bool
        Skip the last, smaller mini-batch when ``m`` is not a multiple of
        ``batch_size`` (useful with batch norm, which needs >= 2 examples).

    Yields
    ------
    X_t : ``(n_x, batch_size)`` (the last may be smaller), y_t : ``(batch_size,)``
    """
    X = as_matrix(X, "X")
    y = np.asarray(y)
    m = X.shape[1]
    if y.ndim == 0 or y.shape[-1] != m:
        raise ValueError(f"y must have m={m} entries along its last axis to match X {X.shape}; got shape {y.shape}")
    batch_size = check_int(batch_size, "batch_size", low=1)
    check_generator(rng)
    order = rng.permutation(m)
    stop = m - m % batch_size if drop_last else m
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield X[:, idx], y[..., idx]


def num_minibatches(m, batch_size, drop_last=False):
    """How many mini-batches :func:`iterate_minibatches` yields per epoch."""
    m = check_int(m, "m", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    return m // batch_size if drop_last else -(-m // batch_size)


def batch_normalized_example(z, batches, eps=1e-5):
    """One example's batch-normalized value in each of several mini-batches: the noise of batch statistics.

    Each mini-batch normalizes the example with its own mean and variance, so
    the same example gets a different ``z_norm`` in every batch (notebook 05's
    exercise; this is the answer its check compares with).

    Parameters
    ----------
    z : array ``(N,)``
        One unit's ``z`` over the ``N`` training examples.
    batches : int array ``(k, m)``
        One row of example indices per mini-batch, each row starting with the
        example followed (``batches[i, 0]``).
    eps : float

    Returns
    -------
    z_norm : ``(k,)``, ``(z[batches[i, 0]] - mu_i) / sqrt(var_i + eps)`` with
    batch ``i``'s mean ``mu_i`` and variance ``var_i`` (divided by ``m``).
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 1:
        raise ValueError(f"z must have shape (N,), one value per training example; got shape {z.shape}")
    batches = np.asarray(batches)
    if batches.ndim != 2 or batches.dtype.kind not in "iu":
        raise ValueError(f"batches must be an integer array (k, m) of example indices; got {batches.dtype} {batches.shape}")
    Z = z[batches]  # (k, m): one mini-batch per row, each row treated as one unit
    k = Z.shape[0]
    return batchnorm_forward(Z, np.ones((k, 1)), np.zeros((k, 1)), eps)[0][:, 0]
