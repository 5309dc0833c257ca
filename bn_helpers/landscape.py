"""Probing the loss landscape: the experiments of Santurkar et al. (2018), "How Does Batch
Normalization Help Optimization?".

- :class:`NoisyBatchNorm` adds, after batch norm, a random per-unit scale and
  shift that change at every training step. The next layer then sees a
  distribution that moves all the time: far *more* covariate shift than
  without batch norm. If such a network still trains well, reducing
  covariate shift cannot be the whole reason batch norm helps.
- :func:`probe_gradient_direction` measures how the loss and its gradient
  change along the current gradient direction: how far a step can be trusted.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_generator, check_scalar
from .batchnorm import BatchNorm


class NoisyBatchNorm(BatchNorm):
    """Batch norm followed by random per-unit noise, redrawn at every training-mode forward pass.

    ``out = s * z_tilde + t``, with ``s ~ U(1 / scale_max, scale_max)`` and
    ``t ~ U(-shift_max, shift_max)`` per unit (shape ``(n_l, 1)``): a non-zero
    mean and non-unit variance that change every step. Eval mode adds no noise.
    The backward pass goes through the same ``s``.
    """

    def __init__(self, n_units, rng, scale_max=2.0, shift_max=1.0, **kwargs):
        super().__init__(n_units, **kwargs)
        self.rng = check_generator(rng)
        self.scale_max = check_scalar(scale_max, "scale_max", low=1.0)
        self.shift_max = check_scalar(shift_max, "shift_max", low=0.0)
        self.noise_scale = None

    def forward(self, Z):
        out = super().forward(Z)
        if not self.training:
            return out
        n = self.n_units
        self.noise_scale = self.rng.uniform(1.0 / self.scale_max, self.scale_max, (n, 1))
        return self.noise_scale * out + self.rng.uniform(-self.shift_max, self.shift_max, (n, 1))

    def backward(self, dZ_out):
        if self.noise_scale is None:
            raise RuntimeError("NoisyBatchNorm.backward needs a training-mode forward pass first")
        return super().backward(as_float_array(dZ_out, "dZ_out") * self.noise_scale)


def add_batchnorm_noise(model, rng, scale_max=2.0, shift_max=1.0):
    """Replace every batch-norm layer of an MLP by a :class:`NoisyBatchNorm` sharing its parameters.

    ``gamma``, ``beta`` and the running statistics are carried over (the same
    arrays, so ``model.params`` keeps working). Returns the model.
    """
    check_generator(rng)
    for l, bn in list(model.bn.items()):
        noisy = NoisyBatchNorm(
            bn.n_units, rng, scale_max=scale_max, shift_max=shift_max, eps=bn.eps, ewa_beta=bn.ewa_beta,
            unbiased_running_var=bn.unbiased_running_var, gamma=bn.gamma, beta=bn.beta,
        )  # fmt: skip
        noisy.gamma, noisy.beta = bn.gamma, bn.beta  # the very same arrays as model.params
        noisy.running_mean, noisy.running_var, noisy.training = bn.running_mean, bn.running_var, bn.training
        model.bn[l] = noisy
    return model


def probe_gradient_direction(model, X, y, step_sizes):
    """Loss and gradient at ``w - eta * g`` for each ``eta``, where ``g`` is the gradient at ``w``.

    Evaluated on one batch ``(X, y)`` in training mode. Parameters and
    running statistics are restored afterwards (the forward caches are those
    of the last probe; the next forward pass replaces them).

    Returns
    -------
    dict with ``losses`` ``(k,)`` (the loss at each step size),
    ``grad_change`` ``(k,)`` (``||grad(w - eta g) - grad(w)||``), and
    ``grad_norm`` (``||g||``), all over every parameter together.
    """
    etas = as_float_array(step_sizes, "step_sizes").ravel()
    if etas.size == 0 or (etas < 0).any():
        raise ValueError(f"step_sizes must be a non-empty sequence of values >= 0; got {step_sizes!r}")
    start = {k: v.copy() for k, v in model.params.items()}
    with model.running_stats_kept():
        try:
            _, g0 = model.loss_and_grads(X, y)
            flat0 = np.concatenate([g.ravel() for g in g0.values()])
            losses, changes = [], []
            for eta in etas:
                for k, p in model.params.items():
                    p[...] = start[k] - eta * g0[k]
                loss, g = model.loss_and_grads(X, y)
                losses.append(loss)
                changes.append(np.linalg.norm(np.concatenate([v.ravel() for v in g.values()]) - flat0))
        finally:
            for k, p in model.params.items():
                p[...] = start[k]
    return dict(losses=np.array(losses), grad_change=np.array(changes), grad_norm=float(np.linalg.norm(flat0)))
