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

Shapes (``k`` seeds, course notation otherwise)::

    params["W{l}"]          (k, n_l, n_{l-1})
    params["b{l}"], ["gamma{l}"], ["beta{l}"], running_mean[l], running_var[l]   (k, n_l, 1)
    X                       (k, n_x, m): one mini-batch per seed, or (n_x, m): one batch shared by every seed
    logits, hidden["Z{l}"]  (k, n_l, m)
    y                       (k, m) or (m,)
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_generator, check_int, check_labels
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
        As for :class:`~bn_helpers.mlp.MLP`.
    rngs : sequence of np.random.Generator, one per seed
        Seed ``i``'s initial weights are those of ``MLP(..., rng=rngs[i])``.

    Attributes
    ----------
    params : dict of name -> ndarray with a leading seed axis (names as in ``MLP``)
    running_mean, running_var : dict of layer -> ``(k, n_l, 1)``, for the batch-norm layers
    hidden : dict, after each forward pass: ``"Z{l}"``, ``"Z_tilde{l}"``, ``"A{l}"``, each ``(k, n_l, m)``
    """

    def __init__(self, layer_sizes, *, batchnorm, rngs, activation="relu", weight_scale=None, eps=1e-5,
                 ewa_beta=0.9, unbiased_running_var=False):  # fmt: skip
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
        self.bn_layers = sorted(first.bn)
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

    def train(self):
        """Training mode: batch statistics, running averages updated (per seed)."""
        self.training = True
        return self

    def eval(self):
        """Eval mode: running averages, nothing updated."""
        self.training = False
        return self

    def seed(self, i):
        """Seed ``i`` as a plain :class:`~bn_helpers.mlp.MLP` (copies of its parameters and running averages)."""
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
            if l in self.running_mean:
                Z_tilde, bn_cache = self._batchnorm(l, Z)
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
        return Z_tilde, (Z_norm, inv_std, gamma)

    def backward(self, dZL):
        """Gradients of the last forward pass from ``dZL`` ``(k, n_L, m)``: a dict with the keys of ``params``."""
        if self._cache is None:
            raise RuntimeError("MultiSeedMLP.backward needs a forward pass first")
        logits = self._cache[-1][1]
        dZL = as_float_array(dZL, "dZL")
        if dZL.shape != logits.shape:
            raise ValueError(f"dZL must have the shape of the last forward pass's logits {logits.shape}; got {dZL.shape}")
        return self._backward(dZL)

    def _backward(self, dZL):
        """:meth:`backward` without the checks. The returned gradients are new arrays; ``dA`` and ``dZ`` are not."""
        g_prime = ACTIVATIONS[self.activation][1]
        grads = {}
        dZ_tilde = dZL
        for l in range(self.L, 0, -1):
            A_prev, Z_tilde, A, bn_cache = self._cache[l - 1]
            if l < self.L:
                dA *= g_prime(Z_tilde, A)  # dA is a work array of this model: it becomes dZ_tilde in place
                dZ_tilde = dA
            if bn_cache is not None:
                Z_norm, inv_std, gamma = bn_cache
                m = dZ_tilde.shape[2]
                dbeta = np.add.reduce(dZ_tilde, axis=2, keepdims=True)
                dgamma = np.einsum("kij,kij->ki", dZ_tilde, Z_norm)[..., None]
                # gamma * inv_std / m * (m * g - dbeta - Z_norm * dgamma), as a * g + b * Z_norm + c
                a = gamma * inv_std
                dZ = np.multiply(Z_norm, -a * dgamma / m, out=self._buffer(f"dZ{l}", Z_norm.shape))
                dZ_tilde *= a
                dZ += dZ_tilde
                dZ -= a * dbeta / m
                grads[f"gamma{l}"], grads[f"beta{l}"] = dgamma, dbeta
            else:
                dZ = dZ_tilde
                grads[f"b{l}"] = dZ.sum(axis=2, keepdims=True)
            # A shared input (n_x, m) broadcasts over the seeds; its transpose does too.
            grads[f"W{l}"] = np.matmul(dZ, np.swapaxes(A_prev, -1, -2))
            if l > 1:
                dA = np.matmul(np.swapaxes(self.params[f"W{l}"], 1, 2), dZ, out=self._buffer(f"dA{l - 1}", A_prev.shape))
        return {k: grads[k] for k in self.params}

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
        bn = [l in self.running_mean for l in range(1, self.L)]
        return (f"MultiSeedMLP(k={self.k}, layer_sizes={self.layer_sizes}, activation={self.activation!r}, "
                f"batchnorm={bn})")  # fmt: skip


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
                eval_every=None, callback=None, drop_last=False, max_steps=None, progress=None):  # fmt: skip
    """:func:`~bn_helpers.training.train` for every seed of a :class:`MultiSeedMLP` at once.

    The arguments are those of ``train``, except ``rngs``: one generator per
    seed, each shuffling that seed's examples every epoch exactly as ``train``
    would with it. ``X`` ``(n_x, m)`` and ``y`` ``(m,)`` are shared by all
    seeds; ``optimizer`` updates the stacked parameters, which for the
    optimizers of :mod:`~bn_helpers.optimizers` (element by element) is each
    seed's own update.

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

    keys = ["step", "train_loss", "train_acc"] + (["val_loss", "val_acc"] if X_val is not None else [])
    history = [{key: [] for key in keys} for _ in range(k)]
    batch_losses = np.empty((total, k))  # row t: every seed's loss at step t + 1
    recorded = np.zeros(k, dtype=int)  # steps whose loss each seed keeps (a diverged seed stops counting)
    alive = np.ones(k, dtype=bool)
    XT = np.ascontiguousarray(X.T)  # (m, n_x): rows gathered per seed below

    def evaluate(step):
        for split, (Xs, ys) in {"train": (X, y), "val": (X_val, y_val)}.items():
            if Xs is not None:
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
    step = 0
    with ProgressBar(total, enabled=show) as bar, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        evaluate(0)
        for _ in range(epochs):
            for X_t, y_t in batches():
                # X and y were checked above, so each step skips the public methods' checks.
                losses, dZL = _softmax_cross_entropy(model._forward(X_t), y_t)
                grads = model._backward(dZL)
                batch_losses[step] = losses
                step += 1
                recorded[alive] = step
                alive &= np.isfinite(losses)
                if not alive.any():
                    break
                optimizer.step(model.params, grads)
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
    finite = np.all([np.isfinite(p).reshape(k, -1).all(axis=1) for p in model.params.values()], axis=0)
    out = []
    for i in range(k):
        h = {key: np.asarray(v) for key, v in history[i].items()}
        h["batch_loss"] = batch_losses[: recorded[i], i].copy()
        h = {key: h[key] for key in ["step", "train_loss", "train_acc", "batch_loss", *keys[3:]]}  # train's order
        h["diverged"] = not (alive[i] and finite[i])
        out.append(h)
    return out
