"""Batch norm when one mini-batch is split across k devices, simulated in one process.

Data-parallel training gives each of ``k`` devices a shard ``Z_k`` of shape
``(n_l, m_k)`` of the mini-batch's pre-activations (``m = sum_k m_k``). Two
ways to normalize them:

- **per device** (what plain data-parallel training does, e.g. PyTorch's
  ``DistributedDataParallel`` with ordinary ``BatchNorm``): each device uses
  its own shard's mean and variance, i.e. batch norm at batch size ``m_k``;
- **synchronized** (PyTorch's ``nn.SyncBatchNorm``; Peng et al. 2018): the
  devices exchange per-unit statistics so that every shard is normalized with
  the mean and variance of the whole mini-batch. The result equals
  ``batchnorm_forward`` on ``np.hstack(shards)``, forward and backward.

The "communication" here is a sum over a Python list, but each device only
ever reads what the others sent, and :class:`SyncBatchNormCache` records how
many values each device sent, so the cost of synchronizing can be counted.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_matrix, check_eps, check_finite, check_same_shape, check_scale_shift
from .batchnorm import BatchNorm, BatchNormCache, batchnorm_forward
from .ewa import ewa_step


class SyncBatchNormCache(NamedTuple):
    """What the synchronized backward pass needs (shapes for ``n_l`` units, ``k`` devices)."""

    Z_norm: list  # k arrays (n_l, m_k), each device's own normalized shard
    inv_std: np.ndarray  # (n_l, 1) 1 / sqrt(var + eps) of the whole batch, the same on every device
    gamma: np.ndarray  # (n_l, 1)
    m: int  # examples in the whole mini-batch
    mu: np.ndarray  # (n_l, 1) whole-batch mean
    var: np.ndarray  # (n_l, 1) whole-batch biased variance
    sent_forward: int  # values each device sent in the forward pass
    sent_backward: int  # values each device sends in the backward pass


def _check_shards(shards, name="shards"):
    """A non-empty list of ``(n_l, m_k)`` arrays with one ``n_l``; returns them as float matrices."""
    if isinstance(shards, np.ndarray) or not isinstance(shards, (list, tuple)):
        raise TypeError(f"{name} must be a list of (n_l, m_k) arrays, one per device; got {type(shards).__name__}")
    if len(shards) == 0:
        raise ValueError(f"{name} must hold at least one shard (one per device); got an empty list")
    out = []
    for k, Z in enumerate(shards):
        Z = as_matrix(Z, f"{name}[{k}]")
        check_finite(Z, f"{name}[{k}]")
        if out and Z.shape[0] != out[0].shape[0]:
            raise ValueError(
                f"every shard must have the same number of units n_l (rows): {name}[0] has shape "
                f"{out[0].shape}, {name}[{k}] has shape {Z.shape}"
            )
        out.append(Z)
    return out


def per_device_batchnorm_forward(shards, gamma, beta, eps=1e-5):
    """Each device normalizes its shard with its own statistics: a list of ``batchnorm_forward`` outputs.

    ``shards``: list of ``(n_l, m_k)`` arrays, each ``m_k >= 2``; ``gamma``,
    ``beta``: ``(n_l, 1)``. Returns the list of ``Z_tilde_k`` ``(n_l, m_k)``.
    Nothing is sent between devices, and shard ``k`` gets batch norm at batch size ``m_k``.
    """
    shards = _check_shards(shards)
    return [batchnorm_forward(Z, gamma, beta, eps)[0] for Z in shards]


def combine_statistics(counts, means, M2s):
    """The whole batch's mean and biased variance from each device's count, mean and sum of squared deviations.

    Parameters
    ----------
    counts : list of k ints ``m_k >= 1``
    means : list of k arrays ``(n_l, 1)``, ``mu_k`` = the mean of device ``k``'s shard
    M2s : list of k arrays ``(n_l, 1)``, ``M2_k = sum (z - mu_k)^2`` over device ``k``'s shard

    Returns
    -------
    mu, var : ``(n_l, 1)`` each, those of ``np.hstack(shards)``::

        mu  = sum_k m_k mu_k / m                                    m = sum_k m_k
        var = (sum_k M2_k + sum_k m_k (mu_k - mu)^2) / m

    The second sum is the spread *between* the devices' means, which each
    device's own ``M2_k`` cannot see.
    """
    if not (len(counts) == len(means) == len(M2s)) or len(counts) == 0:
        raise ValueError(
            f"counts, means and M2s must hold one entry per device, at least one; got {len(counts)}, "
            f"{len(means)} and {len(M2s)}"
        )
    m = sum(counts)
    mu = sum(m_k * mu_k for m_k, mu_k in zip(counts, means)) / m
    var = sum(M2_k + m_k * (mu_k - mu) ** 2 for m_k, mu_k, M2_k in zip(counts, means, M2s)) / m
    return mu, var


def sync_batchnorm_forward(shards, gamma, beta, eps=1e-5):
    """Synchronized batch norm: every shard normalized with the whole mini-batch's statistics.

    Each device ``k`` reduces its own shard to per-unit statistics, its count
    ``m_k``, mean ``mu_k`` and sum of squared deviations ``M2_k =
    sum (z - mu_k)^2`` (each ``(n_l, 1)``), and shares them with the others in
    one exchange (an all-gather, as PyTorch's ``SyncBatchNorm`` does). Every
    device then combines them into the same whole-batch statistics::

        mu  = sum_k m_k mu_k / m
        var = (sum_k M2_k + sum_k m_k (mu_k - mu)^2) / m

    (summing ``z`` and ``z^2`` instead would need the same one exchange but loses
    digits when ``|mu| >> sigma``; this form keeps them).

    Values each device sends per step: ``2 n_l + 1`` in the forward pass
    (``mu_k``, ``M2_k`` and ``m_k``) and ``2 n_l`` in the backward pass (see
    :func:`sync_batchnorm_backward`): ``4 n_l + 1`` per batch-norm layer,
    whatever the batch size. The examples themselves never move.

    Parameters
    ----------
    shards : list of k arrays ``(n_l, m_k)``, one per device, same ``n_l``; ``m = sum m_k >= 2``
    gamma, beta : ``(n_l, 1)`` or ``(n_l,)``
    eps : float > 0

    Returns
    -------
    outputs : list of k arrays ``(n_l, m_k)``
        Equal to ``batchnorm_forward(np.hstack(shards), gamma, beta, eps)[0]`` split the same way.
    cache : SyncBatchNormCache
    """
    shards = _check_shards(shards)
    n = shards[0].shape[0]
    m = sum(Z.shape[1] for Z in shards)
    if m < 2:
        raise ValueError(f"the shards must hold at least 2 examples in all (batch norm in training mode); got {m}")
    gamma, beta = check_scale_shift(shards[0], gamma, beta)
    eps = check_eps(eps)

    # On each device: its own reduction (no communication).
    counts, means, M2s = [], [], []
    for Z in shards:
        mu_k = Z.mean(axis=1, keepdims=True)
        counts.append(Z.shape[1])
        means.append(mu_k)
        M2s.append(((Z - mu_k) ** 2).sum(axis=1, keepdims=True))
    # The one exchange: every device receives every (m_k, mu_k, M2_k) and combines them the same way.
    mu, var = combine_statistics(counts, means, M2s)
    inv_std = 1.0 / np.sqrt(var + eps)

    Z_norm = [(Z - mu) * inv_std for Z in shards]
    outputs = [gamma * Zn + beta for Zn in Z_norm]
    return outputs, SyncBatchNormCache(Z_norm, inv_std, gamma, m, mu, var, 2 * n + 1, 2 * n)


def sync_batchnorm_backward(d_outputs, cache):
    """Backward pass of :func:`sync_batchnorm_forward`.

    Each device reduces its shard of the upstream gradient to two per-unit
    sums, ``sum dZ_tilde_k`` and ``sum dZ_tilde_k * z_norm_k`` (``(n_l, 1)``
    each), and one all-reduce adds them over the devices: ``2 n_l`` values
    sent per device. Their totals are ``dbeta`` and ``dgamma``, and each device
    finishes its own shard with the closed form of batch norm's gradient::

        dZ_k = gamma / (m * sqrt(var + eps)) * (m * dZ_tilde_k - dbeta - z_norm_k * dgamma)

    Parameters
    ----------
    d_outputs : list of k arrays ``(n_l, m_k)``, the shapes of the forward outputs
    cache : SyncBatchNormCache

    Returns
    -------
    d_shards : list of k arrays ``(n_l, m_k)``, dgamma : ``(n_l, 1)``, dbeta : ``(n_l, 1)``
    """
    if not isinstance(cache, SyncBatchNormCache):
        raise TypeError(f"cache must be the SyncBatchNormCache of sync_batchnorm_forward; got {type(cache).__name__}")
    d_outputs = _check_shards(d_outputs, "d_outputs")
    if len(d_outputs) != len(cache.Z_norm):
        raise ValueError(
            f"d_outputs must hold one array per device ({len(cache.Z_norm)}); got {len(d_outputs)}"
        )
    for k, (d, Zn) in enumerate(zip(d_outputs, cache.Z_norm)):
        check_same_shape(d, f"d_outputs[{k}]", Zn.shape, f"the shape of shard {k} in the forward pass")
    # The one all-reduce of the backward pass.
    dbeta = sum(d.sum(axis=1, keepdims=True) for d in d_outputs)
    dgamma = sum((d * Zn).sum(axis=1, keepdims=True) for d, Zn in zip(d_outputs, cache.Z_norm))
    m, factor = cache.m, cache.gamma * cache.inv_std / cache.m
    d_shards = [factor * (m * d - dbeta - Zn * dgamma) for d, Zn in zip(d_outputs, cache.Z_norm)]
    return d_shards, dgamma, dbeta


class PerDeviceBatchNorm(BatchNorm):
    """A :class:`BatchNorm` layer trained as plain data parallelism trains it on ``devices`` devices.

    In training mode each mini-batch ``(n_l, m)`` is split into ``devices``
    consecutive shards of ``m / devices`` columns (``m`` must divide evenly,
    at least 2 columns each), and each shard is normalized with its own
    statistics, as one device would; the backward pass is per shard too. The
    running averages follow device 0's shard, as with PyTorch's
    ``DistributedDataParallel``, which broadcasts device 0's buffers. Eval
    mode is unchanged. ``devices=1`` is ordinary batch norm.
    """

    def __init__(self, n_units, devices, **kwargs):
        super().__init__(n_units, **kwargs)
        if isinstance(devices, bool) or not isinstance(devices, (int, np.integer)) or devices < 1:
            raise ValueError(f"devices must be a positive integer; got {devices!r}")
        self.devices = int(devices)

    def _groups(self, A, name):
        """``A`` ``(n_l, m)`` as ``(n_l, devices, m / devices)``: device ``k`` holds columns ``k*g ... k*g + g - 1``."""
        A = as_matrix(A, name)
        n, m = A.shape
        if m % self.devices or m // self.devices < 2:
            raise ValueError(
                f"{name} must have a number of columns divisible by devices={self.devices}, with at least 2 per "
                f"device; got shape {A.shape}"
            )
        return A.reshape(n, self.devices, m // self.devices)

    def forward(self, Z):
        if not self.training or self.devices == 1:
            return super().forward(Z)
        Zg = self._groups(Z, "Z")
        check_finite(Zg, "Z")
        g = Zg.shape[2]
        # All devices at once: the statistics of each shard, over its own g columns (axis 2).
        mu = Zg.mean(axis=2, keepdims=True)  # (n_l, devices, 1)
        Zc = Zg - mu
        var = (Zc**2).mean(axis=2, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        Z_norm = Zc * inv_std
        out = self.gamma[:, :, None] * Z_norm + self.beta[:, :, None]
        var0 = var[:, 0] * (g / (g - 1)) if self.unbiased_running_var else var[:, 0]
        self.running_mean = ewa_step(self.running_mean, mu[:, 0], self.ewa_beta)
        self.running_var = ewa_step(self.running_var, var0, self.ewa_beta)
        self.cache = (Z_norm, inv_std)
        return out.reshape(Z.shape)

    def backward(self, dZ_tilde):
        if self.devices == 1 or not isinstance(self.cache, tuple) or isinstance(self.cache, BatchNormCache):
            return super().backward(dZ_tilde)
        Z_norm, inv_std = self.cache
        d = self._groups(dZ_tilde, "dZ_tilde")
        if d.shape != Z_norm.shape:
            raise ValueError(f"dZ_tilde must have the shape of Z in the forward pass; got {dZ_tilde.shape}")
        g = d.shape[2]
        dbeta_k = d.sum(axis=2, keepdims=True)  # (n_l, devices, 1): each device's own sums
        dgamma_k = (d * Z_norm).sum(axis=2, keepdims=True)
        dZ = self.gamma[:, :, None] * inv_std / g * (g * d - dbeta_k - Z_norm * dgamma_k)
        # Data parallelism all-reduces the parameter gradients: the devices' sums add up.
        return dZ.reshape(dZ_tilde.shape), dgamma_k.sum(axis=1), dbeta_k.sum(axis=1)


def per_device_mlp(model, devices):
    """Replace every batch-norm layer of ``model`` (an untrained MLP) by a :class:`PerDeviceBatchNorm`.

    The new layers share ``gamma`` and ``beta`` (the same arrays in
    ``model.params``), so optimizers keep working. Returns the model.
    """
    for l, bn in list(model.bn.items()):
        new = PerDeviceBatchNorm(bn.n_units, devices, eps=bn.eps, ewa_beta=bn.ewa_beta,
                                 unbiased_running_var=bn.unbiased_running_var, gamma=bn.gamma, beta=bn.beta)  # fmt: skip
        model.bn[l] = new
    return model
