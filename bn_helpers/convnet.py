"""A small convolutional network in numpy, with a choice of normalization after its convolution.

Images are ``(m, n_H, n_W, n_C)``, channels last, as in the course's
convolutional-networks lectures. The network::

    X (m, 8, 8, 1) -> conv 3x3, stride 2, padding 1, n_C filters (m, 4, 4, n_C)
      -> normalization (or a bias) -> ReLU -> flatten, one column per example (16 n_C, m)
      -> dense (10, m) -> softmax cross-entropy

(The stride of 2 takes the place of a pooling layer and keeps the network
fast enough to train dozens of times in a few seconds.)

The convolution is one matrix product over the image patches (im2col). A
layer followed by a normalization gets no bias, which the normalization's
mean would subtract anyway. Batch norm keeps running averages of its
per-channel statistics for eval mode; layer, instance and group norm
normalize each example by itself and need none.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_choice, check_generator, check_int
from .ewa import ewa_step
from .layers import softmax_cross_entropy
from .normalization import normalize_backward, normalize_forward

NORMS = (None, "batch", "layer", "instance", "group")


def digits_as_images(X):
    """The shipped digits ``(64, m)`` (pixel values 0..16) as images ``(m, 8, 8, 1)`` scaled to [0, 1]."""
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[0] != 64:
        raise ValueError(f"X must have shape (64, m), one 8x8 digit per column; got shape {X.shape}")
    return (X.T / 16.0).reshape(-1, 8, 8, 1)


def im2col(X, k=3, stride=1):
    """The ``k x k`` patches of ``X`` ``(m, n_H, n_W, n_C)``, zero-padded by ``k // 2``, every ``stride`` positions.

    Returns ``(m * n_H_out * n_W_out, k * k * n_C)``, one row per output
    position (``n_H_out = ceil(n_H / stride)``), so a convolution with filters
    ``W`` ``(k, k, n_C, n_C_out)`` is ``im2col(X) @ W.reshape(-1, n_C_out)``.
    """
    p = k // 2
    Xp = np.pad(X, ((0, 0), (p, p), (p, p), (0, 0)))
    patches = np.lib.stride_tricks.sliding_window_view(Xp, (k, k), axis=(1, 2))  # (m, n_H, n_W, n_C, k, k)
    patches = patches[:, ::stride, ::stride]
    return patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, k * k * X.shape[3])


class ConvNet:
    """One strided convolution layer, a normalization, ReLU and a softmax layer.

    Parameters
    ----------
    n_C : int
        Number of convolution filters (channels).
    norm : None, "batch", "layer", "instance" or "group"
        The normalization after the convolution. ``"layer"`` is group norm with
        one group (over ``(n_H, n_W, n_C)``), ``"instance"`` with ``n_C``.
    groups : int
        For ``norm="group"``; must divide ``n_C``.
    rng : np.random.Generator
        Draws the initial weights (He initialization).
    ewa_beta : float
        The running averages' beta (batch norm only).

    Attributes
    ----------
    params : dict of the parameters: ``W1`` ``(3, 3, 1, n_C)``, ``gamma1``/``beta1``
        ``(1, 1, 1, n_C)`` (or ``b1`` without a normalization), ``W2`` ``(10, 16 n_C)`` (8x8 images), ``b2`` ``(10, 1)``.
    training : bool
    """

    def __init__(self, n_C=4, norm="batch", groups=2, rng=None, ewa_beta=0.9, n_H=8, n_W=8, n_classes=10):
        self.n_C = check_int(n_C, "n_C", low=1)
        self.norm = check_choice(norm, "norm", NORMS)
        self.groups = {"layer": 1, "instance": self.n_C, "group": check_int(groups, "groups", low=1)}.get(norm)
        if self.groups is not None and self.n_C % self.groups:
            raise ValueError(f"groups must divide n_C = {self.n_C}; got groups = {self.groups}")
        rng = check_generator(rng)
        n_flat = -(-n_H // 2) * -(-n_W // 2) * self.n_C
        self.params = {"W1": rng.normal(0.0, np.sqrt(2.0 / 9), (3, 3, 1, self.n_C))}
        if norm is None:
            self.params["b1"] = np.zeros((1, 1, 1, self.n_C))
        else:
            self.params["gamma1"] = np.ones((1, 1, 1, self.n_C))
            self.params["beta1"] = np.zeros((1, 1, 1, self.n_C))
        self.params["W2"] = rng.normal(0.0, np.sqrt(1.0 / n_flat), (n_classes, n_flat))
        self.params["b2"] = np.zeros((n_classes, 1))
        self.ewa_beta = ewa_beta
        self.running_mean = np.zeros((1, 1, 1, self.n_C))
        self.running_var = np.ones((1, 1, 1, self.n_C))
        self.training = True

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def _normalize(self, Z):
        p = self.params
        if self.norm is None:
            return Z + p["b1"], None
        # The layer owns its parameters, whose shapes are right by construction: call the
        # normalization without the public functions' input checks (the same arithmetic).
        if self.norm != "batch":
            return normalize_forward(Z, p["gamma1"], p["beta1"], axes=(1, 2, 3), groups=self.groups)
        if not self.training:  # eval mode: the running averages, a fixed affine map per channel
            scale = p["gamma1"] / np.sqrt(self.running_var + 1e-5)
            return scale * (Z - self.running_mean) + p["beta1"], None
        out, cache = normalize_forward(Z, p["gamma1"], p["beta1"], axes=(0, 1, 2))
        self.running_mean = ewa_step(self.running_mean, cache.mu.reshape(1, 1, 1, -1), self.ewa_beta)
        self.running_var = ewa_step(self.running_var, cache.var.reshape(1, 1, 1, -1), self.ewa_beta)
        return out, cache

    def forward(self, X, cols=None):
        """Images ``(m, n_H, n_W, 1)`` -> logits ``(10, m)`` and what the backward pass needs.

        ``cols`` may pass ``im2col(X, stride=2)`` computed once for a whole data set.
        """
        cols = im2col(X, stride=2) if cols is None else cols
        m, n_H, n_W, _ = X.shape
        Z1 = (cols @ self.params["W1"].reshape(-1, self.n_C)).reshape(m, -(-n_H // 2), -(-n_W // 2), self.n_C)
        Zt, norm_cache = self._normalize(Z1)
        A1 = np.maximum(Zt, 0.0)
        F = A1.reshape(m, -1).T  # (16 n_C, m): one column per example, as in the dense layers
        logits = self.params["W2"] @ F + self.params["b2"]
        return logits, (cols, Zt, norm_cache, F)

    def loss(self, X, y):
        """Mean cross-entropy on ``X`` in the current mode (in training mode, updates batch norm's averages)."""
        return softmax_cross_entropy(self.forward(X)[0], y)[0]

    def loss_and_grads(self, X, y, cols=None):
        """Loss and the gradient of every parameter (a forward pass in the current mode, then backprop)."""
        logits, (cols, Zt, norm_cache, F) = self.forward(X, cols)
        loss, dlogits = softmax_cross_entropy(logits, y)
        p, grads = self.params, {}
        grads["W2"] = dlogits @ F.T
        grads["b2"] = dlogits.sum(axis=1, keepdims=True)
        n_C = Zt.shape[3]
        dA1 = (p["W2"].T @ dlogits).T.reshape(Zt.shape)
        dZt = dA1 * (Zt > 0)
        if self.norm is None:
            grads["b1"] = dZt.sum(axis=(0, 1, 2), keepdims=True)
            dZ1 = dZt
        else:
            dZ1, grads["gamma1"], grads["beta1"] = normalize_backward(dZt, norm_cache)
        grads["W1"] = (cols.T @ dZ1.reshape(-1, n_C)).reshape(p["W1"].shape)
        return loss, grads

    def accuracy(self, X, y):
        """Fraction of ``X`` classified right, in eval mode (the mode is restored)."""
        was = self.training
        self.eval()
        right = float(np.mean(self.forward(X)[0].argmax(axis=0) == y))
        self.training = was
        return right


def train_convnet(net, X, y, optimizer, batch_size, steps, rng):
    """Train ``net`` for exactly ``steps`` mini-batch steps; returns the training-mode loss of each step.

    ``X`` is ``(m, 8, 8, 1)``; mini-batches are drawn without replacement,
    epoch after epoch (the last, smaller mini-batch of an epoch is skipped, so
    every step sees ``batch_size`` examples).
    """
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    check_generator(rng)
    m = X.shape[0]
    patches = im2col(X, stride=2).reshape(m, -1, 9)  # the input's patches never change: cut them once
    losses = []
    net.train()
    while len(losses) < steps:
        order = rng.permutation(m)
        for start in range(0, m - batch_size + 1, batch_size):
            idx = order[start : start + batch_size]
            loss, grads = net.loss_and_grads(X[idx], y[idx], patches[idx].reshape(-1, 9))
            optimizer.step(net.params, grads)
            losses.append(loss)
            if len(losses) == steps:
                break
    return np.array(losses)


def norm_runs(X, y, X_test, y_test, norms, batch_sizes, seeds, steps, learning_rate, n_C=4, groups=2):
    """Train a fresh :class:`ConvNet` for every normalization, batch size and seed, ``steps`` Adam steps each.

    Returns ``(accuracy, losses)``: ``accuracy[norm][batch_size]`` is an array
    of test accuracies (eval mode), one per seed; ``losses[norm][batch_size]``
    the training-mode loss curves ``(n_seeds, steps)``. Seed ``s`` draws the
    initial weights and the mini-batches from ``np.random.default_rng(s)``, the
    same for every normalization.
    """
    from .optimizers import Adam

    accuracy, losses = {}, {}
    for norm in norms:
        for batch_size in batch_sizes:
            accs, curves = [], []
            for seed in seeds:
                rng = np.random.default_rng(seed)
                net = ConvNet(n_C, norm, groups, rng)
                curves.append(train_convnet(net, X, y, Adam(learning_rate), batch_size, steps, rng))
                accs.append(net.accuracy(X_test, y_test))
            accuracy.setdefault(norm, {})[batch_size] = np.array(accs)
            losses.setdefault(norm, {})[batch_size] = np.array(curves)
    return accuracy, losses
