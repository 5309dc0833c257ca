"""Batch normalization of one layer's pre-activations, forward and backward.

Course notation: ``Z`` has shape ``(n_l, m)``, one column per example, and
``gamma``, ``beta`` have shape ``(n_l, 1)`` (``(n_l,)`` is accepted). Each unit
(row) is normalized over the mini-batch (the columns)::

    mu      = 1/m * sum_i z_i                      (n_l, 1)
    sigma^2 = 1/m * sum_i (z_i - mu)^2             (n_l, 1)  biased: divide by m
    z_norm  = (z - mu) / sqrt(sigma^2 + eps)       (n_l, m)
    z_tilde = gamma * z_norm + beta                (n_l, m)

Frameworks store examples in rows: PyTorch's ``BatchNorm1d`` takes ``(m, n_l)``,
so ``batchnorm_forward(Z, ...)`` equals ``F.batch_norm(Z.T, ...).T``.

``beta`` here is batch norm's learned shift. The running average's weight is
called ``ewa_beta`` in :class:`BatchNorm` (see :mod:`bn_helpers.ewa`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import (
    as_column,
    as_matrix,
    check_eps,
    check_finite,
    check_same_shape,
    check_scalar,
    check_scale_shift,
)
from .ewa import ewa_step
from .fast import FastBatchNorm


class BatchNormCache(NamedTuple):
    """What the backward pass needs from the forward pass (shapes for ``Z`` of ``(n_l, m)``)."""

    Z_norm: np.ndarray  # (n_l, m) normalized input
    Z_centered: np.ndarray  # (n_l, m) z - mu
    mu: np.ndarray  # (n_l, 1) batch mean
    var: np.ndarray  # (n_l, 1) biased batch variance
    inv_std: np.ndarray  # (n_l, 1) 1 / sqrt(var + eps)
    gamma: np.ndarray  # (n_l, 1)
    eps: float


def batchnorm_forward(Z, gamma, beta, eps=1e-5):
    """Training-mode batch norm: normalize each unit with this mini-batch's statistics.

    Parameters
    ----------
    Z : array of shape ``(n_l, m)``, ``m >= 2``
        Pre-activations of one layer, one column per example.
    gamma, beta : arrays of shape ``(n_l, 1)`` or ``(n_l,)``
        Learned scale and shift, one per unit.
    eps : float > 0
        Added to the variance so a constant unit does not divide by zero.

    Returns
    -------
    Z_tilde : ndarray ``(n_l, m)``
        ``gamma * z_norm + beta``.
    cache : BatchNormCache
        For :func:`batchnorm_backward`; ``cache.mu`` and ``cache.var`` are the
        batch statistics (biased variance, divided by ``m``).
    """
    Z = as_matrix(Z, "Z")
    if Z.shape[1] < 2:
        raise ValueError(
            f"Z must have at least 2 examples (columns) in training mode, where each unit is normalized "
            f"with the batch's own mean and variance; got shape {Z.shape}. To normalize a single example, "
            f"use batchnorm_inference with running statistics (BatchNorm in eval mode)."
        )
    gamma, beta = check_scale_shift(Z, gamma, beta)
    eps = check_eps(eps)

    # Two passes (mean first, then the mean of squared deviations) rather than
    # E[z^2] - E[z]^2, which loses every digit when |mu| >> sigma.
    # The lecture's expressions, op for op, so that the notebooks' step-by-step
    # version reproduces mu and sigma^2 bit for bit on any machine.
    # NaN/inf in Z shows up in mu or var and is reported below, instead of numpy's warnings.
    with np.errstate(invalid="ignore", over="ignore"):
        mu = Z.mean(axis=1, keepdims=True)
        Z_centered = Z - mu
        var = (Z_centered**2).mean(axis=1, keepdims=True)
    if not (np.isfinite(mu).all() and np.isfinite(var).all()):
        check_finite(Z, "Z")  # names the first NaN/inf if there is one
        raise ValueError("Z is too large to normalize: its variance overflows float range")
    inv_std = 1.0 / np.sqrt(var + eps)
    Z_norm = Z_centered * inv_std
    Z_tilde = gamma * Z_norm + beta
    return Z_tilde, BatchNormCache(Z_norm, Z_centered, mu, var, inv_std, gamma, eps)


def _check_backward_input(dZ_tilde, cache):
    if not isinstance(cache, BatchNormCache):
        raise TypeError(f"cache must be the BatchNormCache returned by batchnorm_forward; got {type(cache).__name__}")
    dZ_tilde = as_matrix(dZ_tilde, "dZ_tilde")
    check_same_shape(dZ_tilde, "dZ_tilde", cache.Z_norm.shape, "the shape of Z in the forward pass")
    check_finite(dZ_tilde, "dZ_tilde")
    return dZ_tilde


def batchnorm_backward(dZ_tilde, cache):
    """Closed-form gradient of batch norm.

    With ``dbeta = sum_i dz_tilde_i`` and ``dgamma = sum_i dz_tilde_i * z_norm_i``::

        dZ = gamma / (m * sqrt(sigma^2 + eps)) * (m * dZ_tilde - dbeta - z_norm * dgamma)

    Parameters
    ----------
    dZ_tilde : array ``(n_l, m)``
        Gradient of the loss with respect to the forward output.
    cache : BatchNormCache
        From :func:`batchnorm_forward`.

    Returns
    -------
    dZ : ``(n_l, m)``, dgamma : ``(n_l, 1)``, dbeta : ``(n_l, 1)``
    """
    dZ_tilde = _check_backward_input(dZ_tilde, cache)
    m = dZ_tilde.shape[1]
    Z_norm = cache.Z_norm
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = np.einsum("ij,ij->i", dZ_tilde, Z_norm)[:, None]
    # The formula above, built in place in one array (no temporary per term):
    dZ = m * dZ_tilde
    dZ -= dbeta
    dZ -= Z_norm * dgamma
    dZ *= cache.gamma * cache.inv_std / m
    return dZ, dgamma, dbeta


def batchnorm_backward_staged(dZ_tilde, cache):
    """The same gradient as :func:`batchnorm_backward`, one node of the graph at a time.

    The forward pass as a chain of small steps, each undone in reverse order::

        mu = mean(z)          zc = z - mu          var = mean(zc**2)
        std = sqrt(var + eps) inv = 1 / std        z_norm = zc * inv
        z_tilde = gamma * z_norm + beta

    A branch that is used twice (``zc`` feeds both ``var`` and ``z_norm``;
    ``z`` feeds both ``mu`` and ``zc``) gets the sum of its two gradients.
    Slower than the closed form, but each line is one rule of calculus.

    Returns ``(dZ, dgamma, dbeta)`` with the shapes of :func:`batchnorm_backward`.
    """
    dZ_tilde = _check_backward_input(dZ_tilde, cache)
    m = dZ_tilde.shape[1]
    zc, inv = cache.Z_centered, cache.inv_std
    std = np.sqrt(cache.var + cache.eps)

    # z_tilde = gamma * z_norm + beta
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = (dZ_tilde * cache.Z_norm).sum(axis=1, keepdims=True)
    dz_norm = dZ_tilde * cache.gamma
    # z_norm = zc * inv: both factors get a gradient
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dzc_from_norm = dz_norm * inv
    # inv = 1 / std
    dstd = -dinv / std**2
    # std = sqrt(var + eps)
    dvar = dstd * 0.5 / std
    # var = mean(zc**2): every column gets dvar / m, times d(zc**2)/dzc = 2 zc
    dzc_from_var = 2.0 * zc * dvar / m
    dzc = dzc_from_norm + dzc_from_var
    # zc = z - mu: z directly, and through mu
    dmu = -dzc.sum(axis=1, keepdims=True)
    # mu = mean(z): every column gets dmu / m
    dZ = dzc + dmu / m
    return dZ, dgamma, dbeta


def batchnorm_inference(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    """Test-time batch norm: normalize with fixed statistics estimated during training.

    Parameters
    ----------
    Z : array ``(n_l, m)``, any ``m >= 1`` (a single example is fine)
    gamma, beta, running_mean, running_var : arrays ``(n_l, 1)`` or ``(n_l,)``
        ``running_var`` must be >= 0.
    eps : float > 0

    Returns
    -------
    Z_tilde : ndarray ``(n_l, m)``: ``gamma * (Z - running_mean) / sqrt(running_var + eps) + beta``
    """
    Z = as_matrix(Z, "Z")
    check_finite(Z, "Z")
    gamma, beta = check_scale_shift(Z, gamma, beta)
    n = Z.shape[0]
    mean = as_column(running_mean, "running_mean", n, Z.dtype)
    var = as_column(running_var, "running_var", n, Z.dtype)
    check_finite(mean, "running_mean")
    check_finite(var, "running_var")
    if (var < 0).any():
        raise ValueError(f"running_var must be >= 0; got a minimum of {var.min()}")
    eps = check_eps(eps)
    scale = gamma / np.sqrt(var + eps)  # fold into one affine map: (n_l, 1)
    return scale * (Z - mean) + beta


class BatchNorm:
    """A batch-norm layer: ``gamma``, ``beta`` and running statistics, with train and eval modes.

    In training mode (the default, like a fresh PyTorch module) ``forward``
    normalizes with the mini-batch's statistics and folds them into the
    running estimates with the formula of :func:`~bn_helpers.ewa.ewa_update`.
    In eval mode it normalizes with the running estimates and changes nothing.
    Switch with :meth:`train` and :meth:`eval`.

    The training-mode arithmetic runs in :class:`~bn_helpers.fast.FastBatchNorm`,
    which computes the same values as :func:`batchnorm_forward` and
    :func:`batchnorm_backward` (tested to rounding) with less memory traffic.

    Parameters
    ----------
    n_units : int
        ``n_l``, the number of units (rows of ``Z``).
    eps : float > 0
    ewa_beta : float in [0, 1)
        The running average's beta (not the learned shift ``beta``):
        ``running = ewa_beta * running + (1 - ewa_beta) * batch_stat``.
        PyTorch's ``momentum=0.1`` is ``ewa_beta=0.9``.
    unbiased_running_var : bool
        False (the lecture): the running variance averages the biased batch
        variance (divided by ``m``). True (PyTorch): it averages
        ``var * m / (m - 1)``. Normalizing a training batch always uses the
        biased variance.
    gamma, beta : optional arrays ``(n_l, 1)`` or ``(n_l,)``
        Initial values; default ones and zeros. Stored as given when already
        float arrays of shape ``(n_l, 1)``, so an optimizer that updates them
        in place updates this layer.

    Attributes
    ----------
    running_mean, running_var : ndarray ``(n_l, 1)``
        Start at 0 and 1 (as in PyTorch).
    training : bool
    cache : BatchNormCache or None
        From the last training-mode forward pass.
    """

    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False, gamma=None, beta=None):
        if isinstance(n_units, bool) or not isinstance(n_units, (int, np.integer)) or n_units < 1:
            raise ValueError(f"n_units must be a positive integer; got {n_units!r}")
        n = int(n_units)
        self.eps = check_eps(eps)
        self.ewa_beta = check_scalar(ewa_beta, "ewa_beta", low=0.0, high=1.0, high_open=True)
        self.unbiased_running_var = bool(unbiased_running_var)
        self.gamma = np.ones((n, 1)) if gamma is None else as_column(gamma, "gamma", n)
        self.beta = np.zeros((n, 1)) if beta is None else as_column(beta, "beta", n)
        self.running_mean = np.zeros((n, 1))
        self.running_var = np.ones((n, 1))
        self.training = True
        self.cache = None
        self._kernel = FastBatchNorm()

    @property
    def n_units(self) -> int:
        return self.gamma.shape[0]

    def train(self):
        """Switch to training mode (batch statistics, running estimates updated). Returns self."""
        self.training = True
        return self

    def eval(self):
        """Switch to eval mode (running estimates, nothing updated). Returns self."""
        self.training = False
        return self

    def forward(self, Z):
        """``Z`` ``(n_l, m)`` -> ``Z_tilde`` ``(n_l, m)`` in the current mode."""
        if not self.training:
            self.cache = None
            return batchnorm_inference(Z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        # reuse=False: the returned arrays are new each call, so callers may keep them.
        Z_tilde, cache = self._kernel.forward(Z, self.gamma, self.beta, self.eps, reuse=False)
        m = Z_tilde.shape[1]
        var = cache.var * (m / (m - 1)) if self.unbiased_running_var else cache.var
        self.running_mean = ewa_step(self.running_mean, cache.mu, self.ewa_beta)
        self.running_var = ewa_step(self.running_var, var, self.ewa_beta)
        self.cache = cache
        return Z_tilde

    def backward(self, dZ_tilde):
        """Gradient through the last training-mode forward pass: returns ``(dZ, dgamma, dbeta)``."""
        if self.cache is None:
            raise RuntimeError(
                "BatchNorm.backward needs a training-mode forward pass first "
                "(call train() and forward(Z) before backward)"
            )
        return self._kernel.backward(dZ_tilde, self.cache, reuse=False)

    def __repr__(self):
        mode = "train" if self.training else "eval"
        return (
            f"BatchNorm(n_units={self.n_units}, eps={self.eps}, ewa_beta={self.ewa_beta}, "
            f"unbiased_running_var={self.unbiased_running_var}, mode={mode!r})"
        )
