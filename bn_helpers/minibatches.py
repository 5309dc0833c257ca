"""Shuffled mini-batches in course notation (one column per example)."""

from __future__ import annotations

import numpy as np

from ._validation import as_matrix, check_generator, check_int


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
