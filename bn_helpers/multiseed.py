"""Several seeds of one network trained at once: :class:`MLP` with a leading seed axis.

A comparison that one seed could flip needs several seeds. Training them one
after another pays numpy's per-call cost (a few microseconds for every
``matmul``, ``exp`` and reduction) once per seed; for the course's small
networks that cost is most of a step. :class:`MultiSeedMLP` holds ``k``
networks of one architecture as arrays with a leading seed axis and runs all of
them with one call per operation (``np.matmul`` on stacks of matrices), so
the per-call cost is paid once for ``k`` networks.

Per seed it computes what :class:`~bn_helpers.mlp.MLP` computes for that seed
alone: the same initial weights (it builds them with ``MLP``), the same
order of mini-batches (each seed shuffles with its own generator, as
:func:`~bn_helpers.minibatches.iterate_minibatches` does), the same
arithmetic (tests hold the two equal to 1e-10, forward, backward and whole
training runs). ``MLP`` stays the version to read; this is its vectorized twin.

Beyond ``MLP``, the normalized layers may use other statistics (``norm``):
``"batch"`` (each unit over the batch, as in ``MLP``), ``"layer"`` (each
example over its units), ``"group"`` (each example over ``groups``
consecutive blocks of units), and batch norm may take its statistics over
*ghost batches*: consecutive slices of ``ghost_batch`` examples of each
mini-batch, each slice normalized with its own mean and variance, as in
Hoffer et al. (2017). Layer and group norm use no running averages: eval
mode computes what training mode does.

Shapes (``k`` seeds, course notation otherwise)::

    params["W{l}"]          (k, n_l, n_{l-1})
    params["b{l}"], ["gamma{l}"], ["beta{l}"], running_mean[l], running_var[l]   (k, n_l, 1)
    X                       (k, n_x, m): one mini-batch per seed, or (n_x, m): one batch shared by every seed
    logits, hidden["Z{l}"]  (k, n_l, m)
    y                       (k, m) or (m,)
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ._validation import as_float_array, check_choice, check_generator, check_int, check_labels
from .layers import ACTIVATIONS
from .mlp import MLP
from .optimizers import Optimizer
from .progress import ProgressBar
from .training import PROGRESS_MIN_STEPS


class MultiSeedMLP:
    """``k`` copies of :class:`~bn_helpers.mlp.MLP`, one per generator in ``rngs``, stacked along a seed axis.

    Parameters
    ----------
    layer_sizes, batchnorm, activation, weight_scale, eps, ewa_beta, unbiased_running_var
        As for :class:`~bn_helpers.mlp.MLP`; ``batchnorm`` says which hidden
        layers are normalized (with ``gamma``, ``beta`` and no ``b``).
    rngs : sequence of np.random.Generator, one per seed
        Seed ``i``'s initial weights are those of ``MLP(..., rng=rngs[i])``.
    norm : ``"batch"``, ``"layer"`` or ``"group"``
        The statistics of the normalized layers (module docstring).
    groups : int, with ``norm="group"`` only
        Number of groups; it must divide the size of every normalized layer.
    ghost_batch : int >= 2 or None, with ``norm="batch"`` only
        Normalize each training batch in consecutive slices of this many
        examples (its size must be a multiple). The running averages take
        the mean of the slices' means and of their variances.

    Attributes
    ----------
    params : dict of name -> ndarray with a leading seed axis (names as in ``MLP``)
    norm_layers : list of the normalized hidden layers
    running_mean, running_var : dict of layer -> ``(k, n_l, 1)``, for batch norm's layers
    hidden : dict, after each forward pass: ``"Z{l}"``, ``"Z_tilde{l}"``, ``"A{l}"``, each ``(k, n_l, m)``
    """

    def __init__(self, layer_sizes, *, batchnorm, rngs, activation="relu", weight_scale=None, eps=1e-5,
                 ewa_beta=0.9, unbiased_running_var=False, norm="batch", groups=None, ghost_batch=None):  # fmt: skip
        rngs = list(rngs) if isinstance(rngs, (list, tuple)) else rngs
        if not isinstance(rngs, list) or not rngs:
            raise ValueError(f"rngs must be a non-empty list of np.random.Generator, one per seed; got {rngs!r}")
        for i, rng in enumerate(rngs):
            check_generator(rng, f"rngs[{i}]")
        nets = [MLP(layer_sizes, batchnorm=batchnorm, rng=rng, activation=activation, weight_scale=weight_scale,
                    eps=eps, ewa_beta=ewa_beta, unbiased_running_var=unbiased_running_var) for rng in rngs]  # fmt: skip
        first = nets[0]
        self.k = len(nets)
        self.layer_sizes, self.L, self.activation = first.layer_sizes, first.L, first.activation
        self.norm_layers = sorted(first.bn)
        self.norm = check_choice(norm, "norm", NORMS)
        self.groups, self.ghost_batch = self._check_norm_options(groups, ghost_batch)
        self.bn_layers = self.norm_layers if self.norm == "batch" else []  # the layers with running averages
        self._plain_batchnorm = self.norm == "batch" and self.ghost_batch is None
        self.eps, self.ewa_beta, self.unbiased_running_var = eps, ewa_beta, bool(unbiased_running_var)
        self._mlp_options = dict(batchnorm=[l in first.bn for l in range(1, self.L)], activation=activation,
                                 weight_scale=weight_scale, eps=eps, ewa_beta=ewa_beta,
                                 unbiased_running_var=unbiased_running_var)  # fmt: skip
        self.params = {name: np.stack([net.params[name] for net in nets]) for name in first.params}
        self.running_mean = {l: np.zeros((self.k, self.layer_sizes[l], 1)) for l in self.bn_layers}
        self.running_var = {l: np.ones((self.k, self.layer_sizes[l], 1)) for l in self.bn_layers}
        self.training = True
        self.hidden: dict[str, np.ndarray] = {}
        self._cache = None
        self._buffers: dict[tuple, np.ndarray] = {}
        self._flat = self._flat_grads = self._grad_views = None  # set by _flatten, for train_seeds
        # Noise after batch norm, set by landscape.add_batchnorm_noise: (one generator per seed, draw(rng, n) -> (s, t))
        self.noise = None

    def _check_norm_options(self, groups, ghost_batch):
        if self.norm == "group":
            if groups is None:
                raise ValueError('groups must be given with norm="group" (an int dividing each normalized layer\'s size)')
            groups = check_int(groups, "groups", low=1)
            for l in self.norm_layers:
                if self.layer_sizes[l] % groups:
                    raise ValueError(f"groups must divide every normalized layer's size; layer {l} has "
                                     f"{self.layer_sizes[l]} units and groups={groups}")  # fmt: skip
        elif groups is not None:
            raise ValueError(f'groups is for norm="group" only; got groups={groups!r} with norm={self.norm!r}')
        if ghost_batch is not None:
            if self.norm != "batch":
                raise ValueError(f'ghost_batch is for norm="batch" only; got norm={self.norm!r}')
            ghost_batch = check_int(ghost_batch, "ghost_batch", low=2)
        return groups, ghost_batch

    def _buffer(self, name, shape):
        """A work array kept from step to step, one per name and shape.

        Used only for arrays the caller never sees (``Z_norm`` and the
        backward pass's ``dZ``, ``dA``): writing into an array that is already
        in the CPU's cache costs less than a fresh one each step.
        """
        key = (name, shape)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(shape)
        return buf

    def _flatten(self):
        """Every parameter as a view into one array: ``(params, grads)``, two 1-D arrays of the same layout.

        ``self.params`` keeps its names, shapes and values; its entries become
        views into ``params`` (made again if an entry was replaced since), and
        :meth:`_backward` writes the gradients into ``grads`` at the same
        places. An optimizer's update is element by element, so one call on
        the two flat arrays computes every parameter's update, the same
        numbers as one call per parameter, with the per-call cost paid once.
        """
        flat = self._flat
        if flat is None or any(p.base is not flat for p in self.params.values()):
            flat = np.empty(sum(p.size for p in self.params.values()))
            grads, offset = np.empty_like(flat), 0
            self._grad_views = {}
            for name, p in self.params.items():
                view = flat[offset : offset + p.size].reshape(p.shape)
                view[...] = p
                self.params[name] = view
                self._grad_views[name] = grads[offset : offset + p.size].reshape(p.shape)
                offset += p.size
            self._flat, self._flat_grads = flat, grads
        return self._flat, self._flat_grads

    def train(self):
        """Training mode: batch statistics, running averages updated (per seed)."""
        self.training = True
        return self

    def eval(self):
        """Eval mode: running averages, nothing updated."""
        self.training = False
        return self

    @contextmanager
    def running_stats_kept(self):
        """Restore every batch-norm layer's running averages on exit, as :meth:`MLP.running_stats_kept <bn_helpers.mlp.MLP.running_stats_kept>`."""
        saved = {l: (self.running_mean[l], self.running_var[l]) for l in self.bn_layers}
        try:
            yield self
        finally:
            for l, (mean, var) in saved.items():  # the layers assign new arrays, so the saved ones are unchanged
                self.running_mean[l], self.running_var[l] = mean, var

    def seed(self, i):
        """Seed ``i`` as a plain :class:`~bn_helpers.mlp.MLP` (copies of its parameters and running averages)."""
        if self.norm != "batch" or self.ghost_batch is not None:
            raise ValueError("seed(i) returns an MLP, whose layers use plain batch norm; this model normalizes "
                             f"with norm={self.norm!r}, ghost_batch={self.ghost_batch!r}")  # fmt: skip
        i = check_int(i, "i", low=0)
        if i >= self.k:
            raise ValueError(f"i must be a seed index below k={self.k}; got {i}")
        net = MLP(self.layer_sizes, rng=np.random.default_rng(0), **self._mlp_options)
        for name, p in net.params.items():
            p[...] = self.params[name][i]  # in place: the batch-norm layers hold the same arrays
        for l in self.bn_layers:
            net.bn[l].running_mean = self.running_mean[l][i].copy()
            net.bn[l].running_var = self.running_var[l][i].copy()
        net.training = self.training
        for bn in net.bn.values():
            bn.training = self.training
        return net

    # --- forward and backward -------------------------------------------------

    def _check_input(self, X):
        X = as_float_array(X, "X")
        n_x = self.layer_sizes[0]
        if X.ndim == 2 and X.shape[0] == n_x or X.ndim == 3 and X.shape[:2] == (self.k, n_x):
            return X
        raise ValueError(f"X must have shape ({self.k}, {n_x}, m) (a batch per seed) or ({n_x}, m) (shared); "
                         f"got shape {X.shape}")  # fmt: skip

    def forward(self, X):
        """``X`` ``(k, n_x, m)`` or ``(n_x, m)`` -> logits ``(k, n_L, m)`` in the current mode."""
        return self._forward(self._check_input(X))

    def _forward(self, A):
        """:meth:`forward` without the input's checks (for the training loop, which checks once)."""
        g = ACTIVATIONS[self.activation][0]
        p, hidden, cache = self.params, {}, []
        for l in range(1, self.L + 1):
            A_prev = A
            Z = np.matmul(p[f"W{l}"], A_prev)
            if l in self.norm_layers:
                Z_tilde, bn_cache = self._batchnorm(l, Z) if self._plain_batchnorm else self._set_norm(l, Z)
                if self.noise is not None and self.training:
                    Z_tilde, bn_cache = self._add_noise(Z_tilde, bn_cache)
                hidden[f"Z{l}"], hidden[f"Z_tilde{l}"] = Z, Z_tilde
            else:
                Z += p[f"b{l}"]
                Z_tilde, bn_cache = Z, None
                hidden[f"Z{l}"] = Z
            A = Z_tilde if l == self.L else g(Z_tilde)
            if l < self.L:
                hidden[f"A{l}"] = A
            cache.append((A_prev, Z_tilde, A, bn_cache))
        self.hidden, self._cache = hidden, cache
        return A

    def _batchnorm(self, l, Z):
        """Batch norm of layer ``l`` per seed (statistics over the last axis): ``(Z_tilde, cache)``."""
        gamma, beta = self.params[f"gamma{l}"], self.params[f"beta{l}"]
        if not self.training:
            scale = gamma / np.sqrt(self.running_var[l] + self.eps)
            return scale * (Z - self.running_mean[l]) + beta, None
        m = Z.shape[2]
        if m < 2:
            raise ValueError(f"X must have at least 2 examples per seed in training mode; got m={m}")
        mu = np.add.reduce(Z, axis=2, keepdims=True)
        mu /= m
        # centred first, then squared: exact with a large offset
        Z_norm = np.subtract(Z, mu, out=self._buffer(f"Z_norm{l}", Z.shape))
        var = np.einsum("kij,kij->ki", Z_norm, Z_norm)[..., None] / m
        inv_std = 1.0 / np.sqrt(var + self.eps)
        Z_norm *= inv_std
        b = self.ewa_beta
        batch_var = var * (m / (m - 1)) if self.unbiased_running_var else var
        self.running_mean[l] = b * self.running_mean[l] + (1.0 - b) * mu
        self.running_var[l] = b * self.running_var[l] + (1.0 - b) * batch_var
        Z_tilde = np.multiply(gamma, Z_norm)
        Z_tilde += beta
        return Z_tilde, ("batch", Z_norm, inv_std, gamma)

    def _add_noise(self, Z_tilde, bn_cache):
        """Noisy batch norm (:class:`~bn_helpers.landscape.NoisyBatchNorm`) per seed: ``s * Z_tilde + t``, drawn anew.

        Each seed's generator draws ``(s, t)`` (``(n_l, 1)`` each) for layer 1,
        then layer 2, ...: the draws a ``NoisyBatchNorm`` network sharing that
        generator makes, so each seed trains exactly as it would alone. The
        backward pass goes through the same ``s`` (kept in the cache).
        """
        rngs, draw = self.noise
        scale, shift = (np.stack(parts) for parts in zip(*(draw(rng, Z_tilde.shape[1]) for rng in rngs)))
        return scale * Z_tilde + shift, (*bn_cache, scale)

    def _sets(self, l, Z):
        """``Z`` ``(k, n_l, m)`` viewed so that each set of entries sharing statistics lies along one axis.

        Returns ``(view shape, axis)``: ghost batches ``(k, n_l, m / g, g)`` over
        the last axis; groups ``(k, G, n_l / G, m)`` over axis 2 (layer norm: G = 1).
        """
        k, n, m = Z.shape
        if self.norm == "batch":
            g = self.ghost_batch
            if m % g:
                raise ValueError(f"X must have a multiple of ghost_batch={g} examples per seed in training mode; got m={m}")
            return (k, n, m // g, g), 3
        G = 1 if self.norm == "layer" else self.groups
        return (k, G, n // G, m), 2

    def _set_norm(self, l, Z):
        """Layer norm, group norm, or batch norm over ghost batches, of layer ``l``: ``(Z_tilde, cache)``."""
        gamma, beta = self.params[f"gamma{l}"], self.params[f"beta{l}"]
        if self.norm == "batch" and not self.training:
            return self._batchnorm(l, Z)  # the running averages, as plain batch norm
        shape, axis = self._sets(l, Z)
        V = Z.reshape(shape)
        N = shape[axis]
        mu = V.sum(axis=axis, keepdims=True) / N
        V_norm = V - mu  # centred first, then squared: exact with a large offset
        var = (V_norm * V_norm).sum(axis=axis, keepdims=True) / N
        inv_std = 1.0 / np.sqrt(var + self.eps)
        V_norm *= inv_std
        if self.norm == "batch":  # ghost batches: average the slices' statistics into the running averages
            b = self.ewa_beta
            batch_var = var * (N / (N - 1)) if self.unbiased_running_var else var
            self.running_mean[l] = b * self.running_mean[l] + (1.0 - b) * mu.mean(axis=2)
            self.running_var[l] = b * self.running_var[l] + (1.0 - b) * batch_var.mean(axis=2)
        Z_norm = V_norm.reshape(Z.shape)
        return gamma * Z_norm + beta, ("sets", Z_norm, inv_std, gamma, shape, axis)

    def backward(self, dZL):
        """Gradients of the last forward pass from ``dZL`` ``(k, n_L, m)``: a dict with the keys of ``params``."""
        if self._cache is None:
            raise RuntimeError("MultiSeedMLP.backward needs a forward pass first")
        logits = self._cache[-1][1]
        dZL = as_float_array(dZL, "dZL")
        if dZL.shape != logits.shape:
            raise ValueError(f"dZL must have the shape of the last forward pass's logits {logits.shape}; got {dZL.shape}")
        return self._backward(dZL)

    def _backward(self, dZL, into=None):
        """:meth:`backward` without the checks. The returned gradients are new arrays; ``dA`` and ``dZ`` are not.

        ``into``: a dict of arrays, one per parameter (the views of
        :meth:`_flatten`), that receive the gradients instead.
        """
        g_prime = ACTIVATIONS[self.activation][1]
        grads = {}
        out = (lambda name: None) if into is None else into.get
        dZ_tilde = dZL
        for l in range(self.L, 0, -1):
            A_prev, Z_tilde, A, bn_cache = self._cache[l - 1]
            if l < self.L:
                dA *= g_prime(Z_tilde, A)  # dA is a work array of this model: it becomes dZ_tilde in place
                dZ_tilde = dA
            if bn_cache is not None and self.noise is not None:
                dZ_tilde *= bn_cache[-1]  # through the noise's scale first
                bn_cache = bn_cache[:-1]
            if bn_cache is not None and bn_cache[0] == "sets":
                dZ, grads[f"gamma{l}"], grads[f"beta{l}"] = _set_norm_backward(dZ_tilde, *bn_cache[1:])
                if into is not None:
                    into[f"gamma{l}"][...], into[f"beta{l}"][...] = grads[f"gamma{l}"], grads[f"beta{l}"]
            elif bn_cache is not None:
                _, Z_norm, inv_std, gamma = bn_cache
                m = dZ_tilde.shape[2]
                dbeta = np.add.reduce(dZ_tilde, axis=2, keepdims=True, out=out(f"beta{l}"))
                dgamma = out(f"gamma{l}")
                if dgamma is None:
                    dgamma = np.einsum("kij,kij->ki", dZ_tilde, Z_norm)[..., None]
                else:
                    np.einsum("kij,kij->ki", dZ_tilde, Z_norm, out=dgamma[..., 0])
                # gamma * inv_std / m * (m * g - dbeta - Z_norm * dgamma), as a * g + b * Z_norm + c
                a = gamma * inv_std
                dZ = np.multiply(Z_norm, -a * dgamma / m, out=self._buffer(f"dZ{l}", Z_norm.shape))
                dZ_tilde *= a
                dZ += dZ_tilde
                dZ -= a * dbeta / m
                grads[f"gamma{l}"], grads[f"beta{l}"] = dgamma, dbeta
            else:
                dZ = dZ_tilde
                grads[f"b{l}"] = np.add.reduce(dZ, axis=2, keepdims=True, out=out(f"b{l}"))
            # A shared input (n_x, m) broadcasts over the seeds; its transpose does too.
            grads[f"W{l}"] = np.matmul(dZ, np.swapaxes(A_prev, -1, -2), out=out(f"W{l}"))
            if l > 1:
                dA = np.matmul(np.swapaxes(self.params[f"W{l}"], 1, 2), dZ, out=self._buffer(f"dA{l - 1}", A_prev.shape))
        return {k: grads[k] for k in self.params} if into is None else into

    def loss_and_grads(self, X, y):
        """Forward, loss and backward in the current mode: ``(losses (k,), grads)``."""
        losses, dZL = softmax_cross_entropy_seeds(self.forward(X), y)
        return losses, self.backward(dZL)

    def evaluate(self, X, y):
        """``(losses (k,), accuracies (k,))`` in eval mode on ``X`` (usually shared); the mode is restored."""
        was_training = self.training
        self.eval()
        try:
            Z = self.forward(X)
            losses, _ = softmax_cross_entropy_seeds(Z, y)
            return losses, (Z.argmax(axis=1) == _labels(y, Z)).mean(axis=1)
        finally:
            self.training = was_training

    def __repr__(self):
        bn = [l in self.norm_layers for l in range(1, self.L)]
        options = "".join(f", {name}={value!r}" for name, value in [("norm", self.norm), ("groups", self.groups),
                          ("ghost_batch", self.ghost_batch)] if value not in (None, "batch"))  # fmt: skip
        return (f"MultiSeedMLP(k={self.k}, layer_sizes={self.layer_sizes}, activation={self.activation!r}, "
                f"batchnorm={bn}{options})")  # fmt: skip


NORMS = ("batch", "layer", "group")


def _set_norm_backward(dZ_tilde, Z_norm, inv_std, gamma, shape, axis):
    """Backward of :meth:`MultiSeedMLP._set_norm`: ``(dZ, dgamma, dbeta)``.

    Within each set of ``N`` entries, with ``g = gamma * dZ_tilde`` (gamma per
    unit): ``dZ = inv_std / N * (N g - sum(g) - Z_norm * sum(g * Z_norm))``,
    the closed form of batch norm with the set in place of the batch.
    """
    dbeta = dZ_tilde.sum(axis=2, keepdims=True)
    dgamma = (dZ_tilde * Z_norm).sum(axis=2, keepdims=True)
    G = (gamma * dZ_tilde).reshape(shape)
    V_norm = Z_norm.reshape(shape)
    N = shape[axis]
    dV = N * G
    dV -= G.sum(axis=axis, keepdims=True)
    dV -= V_norm * (G * V_norm).sum(axis=axis, keepdims=True)
    dV *= inv_std / N
    return dV.reshape(dZ_tilde.shape), dgamma, dbeta


def _labels(y, Z):
    """Labels as ``(k, m)`` for logits ``Z`` ``(k, C, m)``: a shared ``(m,)`` is repeated per seed."""
    k, C, m = Z.shape
    y = np.asarray(y)
    if y.ndim == 1:
        return np.broadcast_to(check_labels(y, "y", m, C), (k, m))
    if y.shape != (k, m):
        raise ValueError(f"y must have shape ({m},) or ({k}, {m}) to match the logits {Z.shape}; got shape {y.shape}")
    check_labels(y.ravel(), "y", k * m, C)
    return y


def softmax_cross_entropy_seeds(Z, y):
    """:func:`~bn_helpers.layers.softmax_cross_entropy` per seed: ``Z`` ``(k, C, m)`` -> ``(losses (k,), dZ)``."""
    return _softmax_cross_entropy(Z, _labels(y, Z))


def _softmax_cross_entropy(Z, y):
    """:func:`softmax_cross_entropy_seeds` with ``y`` ``(k, m)`` already checked."""
    k, C, m = Z.shape
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))  # (k, m)
    seeds, cols = np.arange(k)[:, None], np.arange(m)[None, :]
    losses = np.mean(log_sum - shifted[seeds, y, cols], axis=1)
    dZ = np.exp(shifted - log_sum[:, None, :])
    dZ[seeds, y, cols] -= 1.0
    dZ /= m
    return losses, dZ


def train_seeds(model, optimizer, X, y, *, epochs, batch_size=None, rngs=None, X_val=None, y_val=None,
                eval_every=None, eval_train=True, callback=None, drop_last=False, max_steps=None,
                progress=None):  # fmt: skip
    """:func:`~bn_helpers.training.train` for every seed of a :class:`MultiSeedMLP` at once.

    The arguments are those of ``train``, except ``rngs``: one generator per
    seed, each shuffling that seed's examples every epoch exactly as ``train``
    would with it. ``X`` ``(n_x, m)`` and ``y`` ``(m,)`` are shared by all
    seeds; ``optimizer`` updates the stacked parameters, which for the
    optimizers of :mod:`~bn_helpers.optimizers` (element by element) is each
    seed's own update. It receives them as one flat parameter named
    ``"all"`` (every parameter of every seed, :meth:`MultiSeedMLP._flatten`),
    so one call updates them all; its state is kept under that name.

    Returns a list of ``k`` histories, each what ``train`` returns for that
    seed alone. A seed whose loss turns NaN or inf is marked ``diverged`` and
    its history ends there, as in ``train``; the other seeds go on.
    """
    from ._validation import as_matrix

    if not isinstance(model, MultiSeedMLP):
        raise TypeError(f"model must be a MultiSeedMLP; got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an Optimizer such as Adam(0.01); got {type(optimizer).__name__}")
    X = as_matrix(X, "X")
    y = check_labels(y, "y", X.shape[1])
    epochs = check_int(epochs, "epochs", low=1)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val = as_matrix(X_val, "X_val")
        y_val = check_labels(y_val, "y_val", X_val.shape[1])
    m, k = X.shape[1], model.k
    if batch_size is None:
        steps_per_epoch = 1
    else:
        batch_size = check_int(batch_size, "batch_size", low=1)
        if not isinstance(rngs, (list, tuple)) or len(rngs) != k:
            raise ValueError(f"rngs must be a list of {k} np.random.Generator (one per seed) with batch_size; got {rngs!r}")
        for i, rng in enumerate(rngs):
            check_generator(rng, f"rngs[{i}]")
        steps_per_epoch = m // batch_size if drop_last else -(-m // batch_size)
    eval_every = steps_per_epoch if eval_every is None else check_int(eval_every, "eval_every", low=1)
    total = epochs * steps_per_epoch
    if max_steps is not None:
        total = min(total, check_int(max_steps, "max_steps", low=1))
    show = total >= PROGRESS_MIN_STEPS if progress is None else bool(progress)

    splits = {"train": (X, y)} if eval_train else {}
    if X_val is not None:
        splits["val"] = (X_val, y_val)
    keys = [f"{split}_{stat}" for split in splits for stat in ("loss", "acc")]  # what each evaluation records
    history = [{key: [] for key in ["step", *keys]} for _ in range(k)]
    batch_losses = np.empty((total, k))  # row t: every seed's loss at step t + 1
    recorded = np.zeros(k, dtype=int)  # steps whose loss each seed keeps (a diverged seed stops counting)
    alive = np.ones(k, dtype=bool)
    XT = np.ascontiguousarray(X.T)  # (m, n_x): rows gathered per seed below

    def evaluate(step):
        for split, (Xs, ys) in splits.items():
            losses, accs = model.evaluate(Xs, ys)
            for i in np.flatnonzero(alive):
                history[i][f"{split}_loss"].append(float(losses[i]))
                history[i][f"{split}_acc"].append(float(accs[i]))
        for i in np.flatnonzero(alive):
            history[i]["step"].append(step)

    def batches():
        if batch_size is None:
            yield X, np.broadcast_to(y, (k, m))
            return
        orders = np.stack([rng.permutation(m) for rng in rngs])  # (k, m): each seed's own shuffle
        stop = m - m % batch_size if drop_last else m
        for start in range(0, stop, batch_size):
            idx = orders[:, start : start + batch_size]  # (k, b)
            yield XT[idx].transpose(0, 2, 1), y[idx]

    model.train()
    # One update call for all parameters at once (MultiSeedMLP._flatten): the
    # optimizer sees a single parameter, "all", whose state it keeps as it would any other's.
    flat, flat_grads = model._flatten()
    params, grads = {"all": flat}, {"all": flat_grads}
    step = 0
    with ProgressBar(total, enabled=show) as bar, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        evaluate(0)
        for _ in range(epochs):
            for X_t, y_t in batches():
                # X and y were checked above, so each step skips the public methods' checks.
                losses, dZL = _softmax_cross_entropy(model._forward(X_t), y_t)
                model._backward(dZL, into=model._grad_views)
                batch_losses[step] = losses
                step += 1
                recorded[alive] = step
                alive &= np.isfinite(losses)
                if not alive.any():
                    break
                optimizer.step(params, grads)
                if callback is not None:
                    callback(step, model)
                if step % eval_every == 0 or step == total:
                    evaluate(step)
                if show:
                    bar.update(step, f"loss {np.nanmean(np.where(alive, losses, np.nan)):.3g}")
                if step >= total:
                    break
            if not alive.any() or step >= total:
                break
    order = ["step", *(key for key in keys if key.startswith("train_")), "batch_loss",
             *(key for key in keys if key.startswith("val_"))]  # train's order  # fmt: skip
    finite = np.all([np.isfinite(p).reshape(k, -1).all(axis=1) for p in model.params.values()], axis=0)
    out = []
    for i in range(k):
        h = {key: np.asarray(v) for key, v in history[i].items()}
        h["batch_loss"] = batch_losses[: recorded[i], i].copy()
        h = {key: h[key] for key in order}
        h["diverged"] = not (alive[i] and finite[i])
        out.append(h)
    return out
