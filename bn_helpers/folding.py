"""Batch norm after training: fold it into the weights, or re-estimate its statistics.

In eval mode a batch-norm layer is a fixed affine map per unit::

    z_tilde = gamma * (z - running_mean) / sqrt(running_var + eps) + beta
            = s * z + (beta - s * running_mean),      s = gamma / sqrt(running_var + eps)   (n_l, 1)

and ``z = W @ a + b`` is affine too, so the two compose into one dense layer
``W_folded @ a + b_folded`` with ``W_folded = s * W`` (row ``i`` of ``W``
scaled by ``s_i``) and ``b_folded = s * (b - running_mean) + beta``. A folded
network has no batch norm left: the same predictions, one layer less of work.
Frameworks store ``W`` as ``(n_l, n_prev)`` too (``nn.Linear.weight``), so the
formulas are the same as ``torch.nn.utils.fusion.fuse_linear_bn_weights``.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_column, as_matrix, check_eps, check_finite, check_generator, check_int
from .minibatches import iterate_minibatches
from .mlp import MLP


def fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """Fold eval-mode batch norm into the dense layer before it.

    Parameters
    ----------
    W : array ``(n_l, n_prev)``
    b : array ``(n_l, 1)`` or ``(n_l,)``, or None (a layer with batch norm usually has no ``b``)
    gamma, beta, running_mean, running_var : arrays ``(n_l, 1)`` or ``(n_l,)``; ``running_var >= 0``
    eps : float > 0

    Returns
    -------
    W_folded : ndarray ``(n_l, n_prev)``, b_folded : ndarray ``(n_l, 1)`` (also when ``b`` is None)
        ``W_folded @ A + b_folded == batchnorm_inference(W @ A + b, gamma, beta, running_mean, running_var, eps)``
        for any ``A`` of shape ``(n_prev, m)``, to rounding.
    """
    W = as_matrix(W, "W")
    check_finite(W, "W")
    n = W.shape[0]
    b = np.zeros((n, 1), dtype=W.dtype) if b is None else as_column(b, "b", n, W.dtype)
    cols = {}
    for name, value in [("gamma", gamma), ("beta", beta), ("running_mean", running_mean), ("running_var", running_var)]:
        cols[name] = as_column(value, name, n, W.dtype)
        check_finite(cols[name], name)
    check_finite(b, "b")
    if (cols["running_var"] < 0).any():
        raise ValueError(f"running_var must be >= 0 (a variance); got a minimum of {cols['running_var'].min()}")
    eps = check_eps(eps)
    scale = cols["gamma"] / np.sqrt(cols["running_var"] + eps)  # (n_l, 1): one factor per unit, i.e. per row of W
    return scale * W, scale * (b - cols["running_mean"]) + cols["beta"]


def fold_mlp(model):
    """A copy of a trained :class:`~bn_helpers.mlp.MLP` with every batch-norm layer folded away.

    Each hidden layer ``l`` with batch norm becomes a plain dense layer with
    ``W{l}``, ``b{l}`` from :func:`fold_batchnorm` and the layer's running
    statistics. The result has no batch norm, so it computes the same in
    training and eval mode, and ``fold_mlp(model).predict(X)`` equals
    ``model.predict(X)`` (eval mode). ``model`` is not changed.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP; got {type(model).__name__}")
    # The generator only draws initial weights, all overwritten below.
    plain = MLP(model.layer_sizes, batchnorm=False, rng=np.random.default_rng(0), activation=model.activation)
    for l in range(1, model.L + 1):
        W = model.params[f"W{l}"]
        if l in model.bn:
            bn = model.bn[l]
            W_f, b_f = fold_batchnorm(W, None, bn.gamma, bn.beta, bn.running_mean, bn.running_var, bn.eps)
        else:
            W_f, b_f = W.copy(), model.params[f"b{l}"].copy()
        # In place: the plain model's params dict keeps its own arrays.
        plain.params[f"W{l}"][...] = W_f
        plain.params[f"b{l}"][...] = b_f
    return plain


def recompute_statistics(model, X):
    """Replace every batch-norm layer's running statistics by the population statistics of ``X``.

    "Precise" batch norm (Ioffe & Szegedy 2015, section 3.1; Wu & Johnson
    2021): with the weights fixed, one training-mode forward pass of all of
    ``X`` ``(n_x, m)`` gives each layer the mean and (biased) variance of its
    pre-activations over ``X``, layer after layer, each layer seeing the
    previous one normalized with these same statistics. They become the
    running statistics (times ``m / (m - 1)`` for a layer with
    ``unbiased_running_var``). No parameter changes; the model's mode is kept.
    With ``X`` unlabelled data of a new distribution this is AdaBN (Li et al. 2016).

    Returns the model.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP; got {type(model).__name__}")
    X = as_matrix(X, "X", min_columns=2)
    was_training = model.training
    model.train()
    try:
        with model.running_stats_kept():
            model.forward(X)
            stats = {l: (bn.cache.mu.copy(), bn.cache.var.copy()) for l, bn in model.bn.items()}
    finally:
        if not was_training:
            model.eval()
    m = X.shape[1]
    for l, (mu, var) in stats.items():
        bn = model.bn[l]
        bn.running_mean = mu
        bn.running_var = var * (m / (m - 1)) if bn.unbiased_running_var else var
    return model


def debias_running_statistics(model, steps):
    """Remove the starting values' share from every batch-norm layer's running averages, in place; returns the model.

    The running averages start at mean 0 and variance 1, and after ``steps``
    updates with ``ewa_beta`` those starting values still weigh
    ``ewa_beta ** steps`` (13.4% for 0.99 and 200 steps). Dividing that share
    out, ``(running - ewa_beta**steps * start) / (1 - ewa_beta**steps)``, is the
    bias correction Adam applies to its own averages: what remains is a
    weighted average of the batch statistics alone. ``steps``: the number of
    training steps the averages were updated (with an unchanged ``ewa_beta``).
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP; got {type(model).__name__}")
    steps = check_int(steps, "steps", low=1)
    for bn in model.bn.values():
        kept = bn.ewa_beta**steps  # the weight of the starting values, mean 0 and variance 1
        bn.running_mean = bn.running_mean / (1.0 - kept)
        bn.running_var = (bn.running_var - kept * 1.0) / (1.0 - kept)
    return model


def reaverage_statistics(model, X, steps, batch_size, rng):
    """Average the batch statistics of the current weights as training does, in place; returns the model.

    With the weights fixed, ``steps`` training-mode forward passes of
    mini-batches of ``batch_size`` columns of ``X`` ``(n_x, m)`` (drawn
    without replacement by ``rng``, epoch after epoch) update each layer's
    running averages from mean 0 and variance 1 with the layer's own
    ``ewa_beta``, and :func:`debias_running_statistics` then removes the
    starting values. The result has the running averages' noise (the same
    number of batches of the same size, averaged the same way) but no lag:
    every batch saw the final weights. No parameter changes; the mode is kept.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP; got {type(model).__name__}")
    X = as_matrix(X, "X", min_columns=2)
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=2)
    check_generator(rng, "rng")
    if batch_size > X.shape[1]:
        raise ValueError(f"batch_size must be at most the {X.shape[1]} examples of X; got {batch_size}")
    was_training = model.training
    for bn in model.bn.values():
        bn.running_mean, bn.running_var = np.zeros_like(bn.running_mean), np.ones_like(bn.running_var)
    model.train()
    labels = np.zeros(X.shape[1], dtype=int)  # iterate_minibatches shuffles labels too; these are not used
    done = 0
    while done < steps:
        for X_t, _ in iterate_minibatches(X, labels, batch_size, rng, drop_last=True):
            model.forward(X_t)
            done += 1
            if done == steps:
                break
    if not was_training:
        model.eval()
    return debias_running_statistics(model, steps)
