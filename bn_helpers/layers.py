"""Fully connected layers, activations and the softmax cross-entropy output.

Course notation: ``A_prev`` has shape ``(n_{l-1}, m)``, ``W`` ``(n_l, n_{l-1})``,
``b`` ``(n_l, 1)``, ``Z = W @ A_prev + b`` ``(n_l, m)``. Labels ``y`` are integer
class indices of shape ``(m,)``.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_matrix, check_choice, check_labels, check_same_shape
from .batchnorm import batchnorm_backward, batchnorm_forward

# --- fully connected -------------------------------------------------------


def dense_forward(A_prev, W, b=None):
    """``Z = W @ A_prev (+ b)``; ``b=None`` for a layer followed by batch norm.

    Returns ``Z`` ``(n_l, m)``.
    """
    A_prev = as_matrix(A_prev, "A_prev")
    W = as_matrix(W, "W")
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(
            f"W must have shape (n_l, {A_prev.shape[0]}) to match A_prev's {A_prev.shape[0]} rows; got shape {W.shape}"
        )
    Z = W @ A_prev
    if b is not None:
        b = np.asarray(b)
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"b must have shape ({W.shape[0]}, 1); got shape {b.shape}")
        Z += b
    return Z


def dense_backward(dZ, A_prev, W):
    """Gradients of ``Z = W @ A_prev + b``: returns ``(dA_prev, dW, db)``.

    ``dZ`` ``(n_l, m)`` -> ``dA_prev`` ``(n_{l-1}, m)``, ``dW`` ``(n_l, n_{l-1})``,
    ``db`` ``(n_l, 1)``. (``db`` is the row sum of ``dZ``; it is zero when a
    batch-norm layer follows, because batch norm subtracts any constant shift.)
    """
    return W.T @ dZ, dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True)


# --- activations -----------------------------------------------------------


def _sigmoid(Z):
    # exp(-z) overflows to inf for z < -709, and 1 / (1 + inf) = 0 is then the
    # right answer: only the warning is silenced. (Faster than the tanh form.)
    A = np.negative(Z)
    with np.errstate(over="ignore"):
        np.exp(A, out=A)  # in place: one array for the whole computation
    A += 1.0
    return np.reciprocal(A, out=A)


ACTIVATIONS = {
    # name: (g(z), g'(z) written in terms of z and a = g(z))
    "sigmoid": (_sigmoid, lambda Z, A: A * (1.0 - A)),
    "tanh": (np.tanh, lambda Z, A: 1.0 - A * A),
    "relu": (lambda Z: np.maximum(Z, 0.0), lambda Z, A: (Z > 0).astype(Z.dtype)),
    "linear": (lambda Z: Z.copy(), lambda Z, A: np.ones_like(Z)),
}


def activation_forward(Z, name):
    """``A = g(Z)`` for ``name`` in ``sigmoid``, ``tanh``, ``relu``, ``linear``; same shape as ``Z``."""
    check_choice(name, "activation", ACTIVATIONS)
    return ACTIVATIONS[name][0](Z)


def activation_backward(dA, Z, A, name):
    """``dZ = dA * g'(Z)``; ``A = g(Z)`` is passed in so sigmoid and tanh need not recompute it."""
    check_choice(name, "activation", ACTIVATIONS)
    return dA * ACTIVATIONS[name][1](Z, A)


# --- a hidden layer with batch norm ---------------------------------------------


def layer_forward(A_prev, W, gamma, beta, activation="relu", eps=1e-5):
    """One hidden layer with batch norm and no ``b``: ``A = g(gamma * z_norm + beta)`` with ``z = W @ A_prev``.

    Shapes: ``A_prev`` ``(n_{l-1}, m)``, ``W`` ``(n_l, n_{l-1})``, ``gamma``
    and ``beta`` ``(n_l, 1)``; ``A`` ``(n_l, m)``. Training mode: ``z`` is
    normalized with this batch's statistics (:func:`~bn_helpers.batchnorm.batchnorm_forward`).

    Returns ``(A, cache)`` with ``cache = (A_prev, W, bn_cache, Z_tilde, A,
    activation)``: what :func:`layer_backward` needs, stage by stage.
    """
    A_prev = as_matrix(A_prev, "A_prev")
    check_choice(activation, "activation", ACTIVATIONS)
    Z = dense_forward(A_prev, W)  # no b: batch norm's mean subtraction would cancel it
    Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta, eps)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, np.asarray(W, dtype=float), bn_cache, Z_tilde, A, activation)


def layer_backward(dA, cache):
    """Backward pass of :func:`layer_forward`: ``(dA_prev, dW, dgamma, dbeta)``, in reverse order of the stages.

    ``dA`` ``(n_l, m)`` is the gradient of the loss with respect to the
    layer's output (already including the loss's ``1/m``); ``dA_prev``
    ``(n_{l-1}, m)``, ``dW`` ``(n_l, n_{l-1})``, ``dgamma`` and ``dbeta`` ``(n_l, 1)``.
    """
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    dA = as_matrix(dA, "dA")
    check_same_shape(dA, "dA", A.shape, "the layer's output A")
    dZ_tilde = activation_backward(dA, Z_tilde, A, activation)
    dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta


# --- output ----------------------------------------------------------------


def softmax(Z):
    """Column-wise softmax: ``Z`` ``(C, m)`` -> probabilities ``(C, m)``, each column sums to 1."""
    Z = as_matrix(Z, "Z")
    e = np.exp(Z - Z.max(axis=0, keepdims=True))  # shift: exp never overflows
    return e / e.sum(axis=0, keepdims=True)


def softmax_cross_entropy(Z, y):
    """Mean cross-entropy of ``softmax(Z)`` against labels, and its gradient.

    Parameters
    ----------
    Z : array ``(C, m)``, the output layer's pre-activations (logits)
    y : int array ``(m,)``, labels in ``[0, C)``

    Returns
    -------
    loss : float, ``-1/m * sum_i log p[y_i, i]``
    dZ : ``(C, m)``, ``(softmax(Z) - Y_onehot) / m``
    """
    Z = as_matrix(Z, "Z")
    C, m = Z.shape
    y = check_labels(y, "y", m, C)
    shifted = Z - Z.max(axis=0, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=0))
    cols = np.arange(m)
    loss = float(np.mean(log_sum - shifted[y, cols]))
    dZ = np.exp(shifted - log_sum)
    dZ[y, cols] -= 1.0
    dZ /= m
    return loss, dZ


def accuracy(Z, y):
    """Fraction of columns whose largest entry is at the label's row."""
    Z = as_matrix(Z, "Z")
    y = check_labels(y, "y", Z.shape[1], Z.shape[0])
    return float(np.mean(Z.argmax(axis=0) == y))
