"""Probing the loss landscape: the experiments of Santurkar et al. (2018), "How Does Batch
Normalization Help Optimization?".

- :class:`NoisyBatchNorm` adds, after batch norm, a random per-unit scale and
  shift that change at every training step. The next layer then sees a
  distribution that moves all the time: far *more* covariate shift than
  without batch norm. If such a network still trains well, reducing
  covariate shift cannot be the whole reason batch norm helps.
- :func:`probe_gradient_direction` measures how the loss and its gradient
  change along the current gradient direction: how far a step can be trusted.
  With ``unit_direction=True`` it compares networks at equal step *lengths*,
  as Santurkar et al.'s "effective smoothness" does, so that a network with a
  larger gradient is not simply probed further away. The noise of a
  :class:`NoisyBatchNorm` is held fixed along each probe (and the probe is
  repeated over several noise draws), so the probe measures the landscape,
  not the noise.
- :func:`gradient_shift` measures internal covariate shift as Santurkar et
  al. define it: how much a layer's gradient changes when the layers before
  it take their step.
"""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager

import numpy as np

from ._validation import as_float_array, check_generator, check_int, check_scalar
from .batchnorm import BatchNorm
from .multiseed import MultiSeedMLP


def draw_noise(rng, n, scale_max, shift_max):
    """One noise draw for ``n`` units: ``s ~ U(1 / scale_max, scale_max)``, then ``t ~ U(-shift_max, shift_max)``, each ``(n, 1)``."""
    return rng.uniform(1.0 / scale_max, scale_max, (n, 1)), rng.uniform(-shift_max, shift_max, (n, 1))


class NoisyBatchNorm(BatchNorm):
    """Batch norm followed by random per-unit noise, redrawn at every training-mode forward pass.

    ``out = s * z_tilde + t``, with ``s ~ U(1 / scale_max, scale_max)`` and
    ``t ~ U(-shift_max, shift_max)`` per unit (shape ``(n_l, 1)``): a non-zero
    mean and non-unit variance that change every step. Eval mode adds no noise.
    The backward pass goes through the same ``s``. While ``held_noise`` is set
    (see :func:`noise_held`), that ``(s, t)`` is used instead of a new draw.
    """

    def __init__(self, n_units, rng, scale_max=2.0, shift_max=1.0, **kwargs):
        super().__init__(n_units, **kwargs)
        self.rng = check_generator(rng)
        self.scale_max = check_scalar(scale_max, "scale_max", low=1.0)
        self.shift_max = check_scalar(shift_max, "shift_max", low=0.0)
        self.noise_scale = None
        self.held_noise = None

    def draw_noise(self, rng=None):
        """A new ``(s, t)``, each ``(n_l, 1)``, from ``rng`` (default: the layer's own generator)."""
        return draw_noise(self.rng if rng is None else rng, self.n_units, self.scale_max, self.shift_max)


    def forward(self, Z):
        out = super().forward(Z)
        if not self.training:
            return out
        self.noise_scale, shift = self.held_noise if self.held_noise is not None else self.draw_noise()
        return self.noise_scale * out + shift

    def backward(self, dZ_out):
        if self.noise_scale is None:
            raise RuntimeError("NoisyBatchNorm.backward needs a training-mode forward pass first")
        return super().backward(as_float_array(dZ_out, "dZ_out") * self.noise_scale)


@contextmanager
def noise_held(model, rng):
    """Inside the block, every :class:`NoisyBatchNorm` of ``model`` reuses one noise draw from ``rng``.

    For looking at one fixed network: without it, each forward pass would see
    different noise, and two passes with the same weights would disagree.
    ``rng`` is not the layers' own generator, so looking does not change the
    noise that training sees afterwards.
    """
    check_generator(rng)
    noisy = [bn for bn in model.bn.values() if isinstance(bn, NoisyBatchNorm)]
    for bn in noisy:
        bn.held_noise = bn.draw_noise(rng)
    try:
        yield model
    finally:
        for bn in noisy:
            bn.held_noise = None


def add_batchnorm_noise(model, rng, scale_max=2.0, shift_max=1.0):
    """Make every batch-norm layer of ``model`` noisy, as :class:`NoisyBatchNorm`; returns the model.

    For an :class:`~bn_helpers.mlp.MLP`, each batch-norm layer is replaced by a
    :class:`NoisyBatchNorm` sharing its parameters (``gamma``, ``beta`` and the
    running statistics are the same arrays, so ``model.params`` keeps
    working), all drawing from ``rng``. For a
    :class:`~bn_helpers.multiseed.MultiSeedMLP`, ``rng`` is a list of
    generators, one per seed: each seed draws the noise it would draw alone.
    """
    scale_max = check_scalar(scale_max, "scale_max", low=1.0)
    shift_max = check_scalar(shift_max, "shift_max", low=0.0)
    if isinstance(model, MultiSeedMLP):
        if not isinstance(rng, (list, tuple)) or len(rng) != model.k:
            raise ValueError(f"rng must be a list of {model.k} np.random.Generator for a MultiSeedMLP, one per seed; got {rng!r}")
        rngs = [check_generator(r, f"rng[{i}]") for i, r in enumerate(rng)]
        model.noise = (rngs, functools.partial(draw_noise, scale_max=scale_max, shift_max=shift_max))
        return model
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


def probe_gradient_direction(model, X, y, steps, *, unit_direction=False, noise_samples=1, rng=None):
    """Loss and gradient at points along the gradient ``g`` of the loss at the current weights ``w``.

    Evaluated on one batch ``(X, y)`` in training mode. With
    ``unit_direction=False`` the points are ``w - eta * g`` for each ``eta`` in
    ``steps`` (step sizes, as a learning rate would take them); with
    ``unit_direction=True`` they are ``w - d * g / ||g||`` for each distance
    ``d`` in ``steps``, so every network is probed at the same step lengths.
    A :class:`NoisyBatchNorm`'s noise is held fixed along one probe (the same
    draw for ``g`` and for every point); with ``noise_samples > 1`` the probe
    is repeated with new draws and the results averaged. ``rng``, a
    ``np.random.Generator``, draws that noise (required when the model has a
    :class:`NoisyBatchNorm`; the layers' own generators are left untouched, so
    probing during training does not change the training). Parameters and
    running statistics are restored afterwards.

    Returns
    -------
    dict with ``distances`` ``(k,)`` (how far each point is from ``w``),
    ``losses`` ``(k,)``, ``grad_change`` ``(k,)`` (``||grad(point) - g||``,
    over every parameter together), ``smoothness`` (the largest
    ``grad_change / distance``, Santurkar et al.'s effective smoothness;
    points at distance 0 are left out) and ``grad_norm`` (``||g||``), each
    averaged over the noise samples.
    """
    steps = as_float_array(steps, "steps").ravel()
    if steps.size == 0 or (steps < 0).any():
        raise ValueError(f"steps must be a non-empty sequence of values >= 0; got {list(steps)!r}")
    samples = check_int(noise_samples, "noise_samples", low=1)
    if any(isinstance(bn, NoisyBatchNorm) for bn in model.bn.values()):
        check_generator(rng, "rng (which draws the noise held along the probe)")
    else:
        samples, rng = 1, np.random.default_rng(0)  # nothing to draw: one probe says it all
    runs = []
    for _ in range(samples):
        with noise_held(model, rng):
            runs.append(_probe_once(model, X, y, steps, unit_direction))
    return {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0]}


def _probe_once(model, X, y, steps, unit_direction):
    start = {k: v.copy() for k, v in model.params.items()}
    with model.running_stats_kept():
        try:
            _, g0 = model.loss_and_grads(X, y)
            flat0 = np.concatenate([g.ravel() for g in g0.values()])
            norm = float(np.linalg.norm(flat0))
            scale = steps / norm if unit_direction else steps  # multiples of g
            losses, changes = [], []
            for a in scale:
                for k, p in model.params.items():
                    p[...] = start[k] - a * g0[k]
                loss, g = model.loss_and_grads(X, y)
                losses.append(loss)
                changes.append(np.linalg.norm(np.concatenate([v.ravel() for v in g.values()]) - flat0))
        finally:
            for k, p in model.params.items():
                p[...] = start[k]
    distances = scale * norm
    changes = np.array(changes)
    moved = distances > 0
    smoothness = float((changes[moved] / distances[moved]).max()) if moved.any() else 0.0
    return dict(distances=distances, losses=np.array(losses), grad_change=changes, smoothness=smoothness,
                grad_norm=norm)  # fmt: skip


def gradient_shift(model, X, y, learning_rate, layer, *, rng=None):
    """Santurkar et al.'s internal covariate shift: how much ``W[layer]``'s gradient changes when the layers before it step.

    ``G`` is the gradient of the loss on ``(X, y)`` with respect to
    ``W[layer]`` at the current parameters (training mode). ``G'`` is the same
    gradient after every parameter of layers ``1 .. layer - 1`` (``W``, ``b``,
    ``gamma``, ``beta``) has taken its gradient-descent step
    ``-learning_rate * gradient``, layer ``layer`` and those after it
    unchanged: what layer ``layer`` sees change under it when the earlier
    layers learn. A :class:`NoisyBatchNorm`'s noise is the same draw for both
    (from ``rng``, required then), so the measure does not count the noise.
    Parameters and running statistics are restored afterwards.

    Returns
    -------
    dict with ``l2`` (``||G - G'||``), ``relative`` (``||G - G'|| / ||G||``)
    and ``cosine`` (between ``G`` and ``G'``; 1 when the direction is kept).
    """
    lr = check_scalar(learning_rate, "learning_rate", low=0.0)
    layer = check_int(layer, "layer", low=2)
    if f"W{layer}" not in model.params:
        raise ValueError(f"layer must be a layer of the model, 2 to {model.L}; got {layer}")
    earlier = [name for name in model.params if int(re.search(r"\d+$", name).group()) < layer]  # W1, b1, gamma1, ...
    if any(isinstance(bn, NoisyBatchNorm) for bn in model.bn.values()):
        check_generator(rng, "rng (which draws the noise held for both gradients)")
    else:
        rng = np.random.default_rng(0)  # nothing to draw
    start = {k: v.copy() for k, v in model.params.items()}
    with noise_held(model, rng), model.running_stats_kept():
        try:
            _, grads = model.loss_and_grads(X, y)
            G = grads[f"W{layer}"].copy()
            for name in earlier:
                model.params[name] -= lr * grads[name]
            _, grads = model.loss_and_grads(X, y)
            G_after = grads[f"W{layer}"]
        finally:
            for k, p in model.params.items():
                p[...] = start[k]
    diff = float(np.linalg.norm(G - G_after))
    norm, norm_after = float(np.linalg.norm(G)), float(np.linalg.norm(G_after))
    return dict(l2=diff, relative=diff / norm, cosine=float((G * G_after).sum() / (norm * norm_after)))
