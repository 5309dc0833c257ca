"""One normalization, four names: batch, layer, instance and group norm differ only in which entries share statistics.

Every method computes, for each *set* of entries that share one mean and one
variance::

    mu      = mean of the set                       (biased: divide by the set's size)
    sigma^2 = mean of (x - mu)^2 over the set
    x_norm  = (x - mu) / sqrt(sigma^2 + eps)
    out     = gamma * x_norm + beta                 (gamma, beta broadcast per unit or channel)

:func:`normalize_forward` takes the axes the statistics are taken over, and
optionally splits the last (channel) axis into ``groups`` consecutive blocks.
The named functions are thin instances of it:

===========================  ==============================  ==========================================
function                     input shape                     statistics over
===========================  ==============================  ==========================================
layernorm_forward            ``Z`` ``(n_l, m)``              the n_l units of each example (axis 0)
spatial_batchnorm_forward    ``X`` ``(m, n_H, n_W, n_C)``    examples and positions (axes 0, 1, 2), per channel
groupnorm_forward            ``X`` ``(m, n_H, n_W, n_C)``    positions and the channels of one group, per example
instancenorm_forward         ``X`` ``(m, n_H, n_W, n_C)``    positions, per example and channel (groups = n_C)
===========================  ==============================  ==========================================

PyTorch stores images as ``(N, C, H, W)``: ``X.transpose(0, 3, 1, 2)`` is its
input, and ``gamma.ravel()`` its ``weight``. Its dense layers store examples in
rows, so ``layernorm_forward(Z, ...)`` equals ``F.layer_norm(Z.T, (n_l,), ...).T``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_column, as_float_array, as_matrix, check_eps, check_finite, check_int, check_same_shape


class NormCache(NamedTuple):
    """What the backward pass needs.

    The statistics are computed on the input rearranged as a matrix ``(K, N)``:
    one row per set of entries that share a mean and a variance, ``N``
    entries per set. (For batch norm of a dense layer this is ``Z`` itself.)
    """

    X_norm: np.ndarray  # (K, N) normalized input, one row per set
    mu: np.ndarray  # (K, 1) each set's mean
    var: np.ndarray  # (K, 1) each set's biased variance
    inv_std: np.ndarray  # (K, 1) 1 / sqrt(var + eps)
    gamma: np.ndarray  # broadcastable against the input
    perm: tuple  # the grouped input's axes, kept ones first, reduced ones last
    grouped: tuple  # the input's shape with the channel axis split into (groups, n_C / groups)
    shape: tuple  # the input's shape

    def unflatten(self, A):
        """A ``(K, N)`` array back in the input's shape."""
        return A.reshape([self.grouped[a] for a in self.perm]).transpose(np.argsort(self.perm)).reshape(self.shape)

    def flatten(self, A):
        """An array of the input's shape as ``(K, N)``, one row per set."""
        K = self.X_norm.shape[0]
        return A.reshape(self.grouped).transpose(self.perm).reshape(K, -1)


def normalize_forward(X, gamma, beta, axes, groups=1, eps=1e-5):
    """Normalize ``X`` over ``axes``; with ``groups > 1``, per block of consecutive channels.

    Parameters
    ----------
    X : float array of any shape
    gamma, beta : arrays broadcastable against ``X`` (already checked by the caller)
    axes : tuple of int
        The axes whose entries share one mean and variance. With ``groups > 1``
        the last axis must be among them and means "the channels of one group".
    groups : int
        Split the last axis into this many consecutive blocks (it must divide it).
    eps : float

    Returns
    -------
    out : array shaped like ``X``; cache : :class:`NormCache` for :func:`normalize_backward`.
    """
    shape, ndim = X.shape, X.ndim
    axes = tuple(sorted(a % ndim for a in axes))
    grouped = (*shape[:-1], groups, shape[-1] // groups) if groups > 1 else shape
    if groups > 1:  # the channel axis, now the within-group axis, is the last of the grouped array
        axes = tuple(ndim if a == ndim - 1 else a for a in axes)
    keep = tuple(a for a in range(len(grouped)) if a not in axes)
    perm = keep + axes
    # One row per set: the statistics become row means of a contiguous matrix (fast in numpy).
    K = int(np.prod([grouped[a] for a in keep]))
    Xs = X.reshape(grouped).transpose(perm).reshape(K, -1)
    # Two passes (mean, then mean of squared deviations): exact even with a large offset.
    # NaN/inf in X shows in mu or var and is reported below, instead of numpy's warnings.
    with np.errstate(invalid="ignore", over="ignore"):
        mu = Xs.mean(axis=1, keepdims=True)
        Xc = Xs - mu
        var = (Xc * Xc).mean(axis=1, keepdims=True)
    if not (np.isfinite(mu).all() and np.isfinite(var).all()):
        check_finite(X, "X" if ndim == 4 else "Z")
        raise ValueError("the input is too large to normalize: its variance overflows float range")
    inv_std = 1.0 / np.sqrt(var + eps)
    X_norm = Xc * inv_std
    cache = NormCache(X_norm, mu, var, inv_std, gamma, perm, grouped, shape)
    return gamma * cache.unflatten(X_norm) + beta, cache


def normalize_backward(dout, cache):
    """Closed-form gradient of :func:`normalize_forward`: returns ``(dX, dgamma, dbeta)``.

    ``dgamma`` and ``dbeta`` are summed over the axes along which ``gamma`` is
    broadcast, so they have ``gamma``'s shape. With ``N`` entries per set and
    ``g = dout * gamma`` (the gradient reaching ``x_norm``)::

        dX = inv_std / N * (N * g - sum_set(g) - x_norm * sum_set(g * x_norm))

    batch norm's formula, with the sums taken over each set (each row of the cache's matrix).
    """
    shape, gamma = cache.shape, cache.gamma
    dout = as_float_array(dout, "dout")
    check_same_shape(dout, "dout", shape, "the shape of the forward pass's input")
    check_finite(dout, "dout")
    param_axes = tuple(a for a in range(len(shape)) if gamma.shape[a] == 1 and shape[a] != 1)
    dbeta = dout.sum(axis=param_axes, keepdims=True).reshape(gamma.shape)
    dgamma = (dout * cache.unflatten(cache.X_norm)).sum(axis=param_axes, keepdims=True).reshape(gamma.shape)
    g = cache.flatten(dout * gamma)
    X_norm = cache.X_norm
    N = X_norm.shape[1]
    dXs = N * g
    dXs -= g.sum(axis=1, keepdims=True)
    dXs -= X_norm * np.einsum("ij,ij->i", g, X_norm)[:, None]
    dXs *= cache.inv_std / N
    return cache.unflatten(dXs), dgamma, dbeta


# --- dense layers: layer norm in course notation --------------------------------------


def layernorm_forward(Z, gamma, beta, eps=1e-5):
    """Layer norm of a dense layer: each example (column) normalized over its units.

    Parameters
    ----------
    Z : array ``(n_l, m)``; any ``m >= 1`` (one example is fine: no batch-mates needed)
    gamma, beta : arrays ``(n_l, 1)`` or ``(n_l,)``, one per unit (as in batch norm)
    eps : float > 0

    Returns
    -------
    Z_tilde : ``(n_l, m)``; cache for :func:`layernorm_backward`.
    ``F.layer_norm(Z.T, (n_l,), gamma.ravel(), beta.ravel(), eps).T`` in PyTorch.
    """
    Z = as_matrix(Z, "Z")
    gamma = as_column(gamma, "gamma", Z.shape[0], Z.dtype)
    beta = as_column(beta, "beta", Z.shape[0], Z.dtype)
    check_finite(gamma, "gamma")
    check_finite(beta, "beta")
    return normalize_forward(Z, gamma, beta, axes=(0,), eps=check_eps(eps))


def layernorm_backward(dZ_tilde, cache):
    """Gradient of :func:`layernorm_forward`: ``(dZ (n_l, m), dgamma (n_l, 1), dbeta (n_l, 1))``."""
    return normalize_backward(dZ_tilde, _need_cache(cache, "layernorm_forward"))


# --- convolutional activations (m, n_H, n_W, n_C) ---------------------------------


def _check_images(X, gamma, beta, eps, groups=1):
    X = as_float_array(X, "X")
    if X.ndim != 4:
        raise ValueError(f"X must be 4-D with shape (m, n_H, n_W, n_C), channels last; got shape {X.shape}")
    n_C = X.shape[3]
    out = []
    for name, p in (("gamma", gamma), ("beta", beta)):
        p = as_float_array(p, name)
        if p.shape != (1, 1, 1, n_C):
            raise ValueError(f"{name} must have shape (1, 1, 1, {n_C}), one value per channel; got shape {p.shape}")
        check_finite(p, name)
        out.append(p.astype(X.dtype, copy=False))
    groups = check_int(groups, "groups", low=1)
    if n_C % groups:
        raise ValueError(f"groups must divide the number of channels n_C = {n_C}; got groups = {groups}")
    return X, out[0], out[1], check_eps(eps), groups


def spatial_batchnorm_forward(X, gamma, beta, eps=1e-5):
    """Batch norm for convolutional activations: one mean and variance per channel.

    Parameters
    ----------
    X : array ``(m, n_H, n_W, n_C)``
    gamma, beta : arrays ``(1, 1, 1, n_C)``, one per channel (shared by every position)
    eps : float > 0

    Returns
    -------
    out : ``(m, n_H, n_W, n_C)``; cache for :func:`spatial_batchnorm_backward`.
    The statistics are taken over the examples and every position (axes 0, 1, 2):
    ``F.batch_norm`` on ``X.transpose(0, 3, 1, 2)`` (``BatchNorm2d`` in training mode).
    """
    X, gamma, beta, eps, _ = _check_images(X, gamma, beta, eps)
    return normalize_forward(X, gamma, beta, axes=(0, 1, 2), eps=eps)


def spatial_batchnorm_backward(dout, cache):
    """Gradient of :func:`spatial_batchnorm_forward`: ``(dX, dgamma (1, 1, 1, n_C), dbeta (1, 1, 1, n_C))``."""
    return normalize_backward(dout, _need_cache(cache, "spatial_batchnorm_forward"))


def groupnorm_forward(X, gamma, beta, groups, eps=1e-5):
    """Group norm: per example, over the positions and the channels of each group.

    Parameters
    ----------
    X : array ``(m, n_H, n_W, n_C)``
    gamma, beta : arrays ``(1, 1, 1, n_C)``
    groups : int dividing ``n_C``; the channels are grouped consecutively
        (group ``k`` holds channels ``k * n_C/groups ... (k+1) * n_C/groups - 1``),
        as in Wu & He (2018) and ``F.group_norm``. ``groups = 1`` is layer norm
        over ``(n_H, n_W, n_C)``; ``groups = n_C`` is instance norm.
    eps : float > 0

    Returns
    -------
    out : ``(m, n_H, n_W, n_C)``; cache for :func:`groupnorm_backward`.
    """
    X, gamma, beta, eps, groups = _check_images(X, gamma, beta, eps, groups)
    return normalize_forward(X, gamma, beta, axes=(1, 2, 3), groups=groups, eps=eps)


def groupnorm_backward(dout, cache):
    """Gradient of :func:`groupnorm_forward`: ``(dX, dgamma (1, 1, 1, n_C), dbeta (1, 1, 1, n_C))``."""
    return normalize_backward(dout, _need_cache(cache, "groupnorm_forward"))


def instancenorm_forward(X, gamma, beta, eps=1e-5):
    """Instance norm: per example and channel, over the positions; group norm with ``groups = n_C``."""
    return groupnorm_forward(X, gamma, beta, groups=np.shape(X)[-1] if np.ndim(X) == 4 else 1, eps=eps)


def _need_cache(cache, forward):
    if not isinstance(cache, NormCache):
        raise TypeError(f"cache must be the cache returned by {forward}; got {type(cache).__name__}")
    return cache


# --- which entries share statistics (the family picture) --------------------------------

METHODS = ("batch", "layer", "instance", "group")


def statistics_sets(method, shape, groups=1):
    """Label each entry of an ``(m, n_H, n_W, n_C)`` batch with the set whose mean and variance it shares.

    Returns an int array of that shape: equal labels share statistics under
    ``method`` (``"batch"``, ``"layer"``, ``"instance"`` or ``"group"`` with
    ``groups``). Labels count sets in order of their first entry (example, then channel).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    m, n_H, n_W, n_C = shape
    groups = {"batch": 1, "layer": 1, "instance": n_C, "group": groups}[method]
    groups = check_int(groups, "groups", low=1)
    if n_C % groups:
        raise ValueError(f"groups must divide the number of channels n_C = {n_C}; got groups = {groups}")
    example = np.arange(m)[:, None, None, None]
    channel = np.arange(n_C)[None, None, None, :]
    if method == "batch":
        labels = channel + 0 * example
    else:
        labels = example * groups + channel // (n_C // groups)
    return np.broadcast_to(labels, shape).copy()
