"""A multi-layer perceptron in which any hidden layer may use batch norm.

The chain for hidden layer ``l`` (course notation, ``A0 = X`` of shape ``(n_x, m)``)::

    without batch norm:  Z[l] = W[l] @ A[l-1] + b[l]              A[l] = g(Z[l])
    with batch norm:     Z[l] = W[l] @ A[l-1]    Z_tilde[l] = BN(Z[l]; gamma[l], beta[l])
                                                  A[l] = g(Z_tilde[l])

A layer with batch norm has no ``b[l]``: batch norm subtracts the mean of
``Z[l]``, which cancels any constant ``b[l]``, and ``beta[l]`` takes its role.
The output layer ``L`` is ``Z[L] = W[L] @ A[L-1] + b[L]`` followed by softmax.

Parameters live in ``model.params`` under the lecture's names (``W1, b1,
gamma1, beta1, ...``); ``backward`` returns gradients under the same names.
Optimizers update the arrays in place, which is also how the batch-norm
layers in ``model.bn`` see the new ``gamma`` and ``beta``.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ._validation import as_matrix, check_choice, check_generator, check_labels, check_scalar
from .batchnorm import BatchNorm
from .layers import ACTIVATIONS, accuracy, activation_backward, activation_forward, softmax_cross_entropy


class MLP:
    """Fully connected network with optional batch norm per hidden layer and a softmax output.

    Parameters
    ----------
    layer_sizes : sequence of int ``[n_x, n_1, ..., n_L]``
        Input size, hidden sizes, number of classes (at least one hidden layer).
    batchnorm : bool or sequence of bool, one per hidden layer
        Which hidden layers use batch norm.
    rng : np.random.Generator
        Draws the initial weights. The draws do not depend on ``batchnorm``,
        so the same seed gives the same ``W`` with and without batch norm.
    activation : ``"relu"``, ``"tanh"``, ``"sigmoid"`` or ``"linear"``
        Hidden-layer activation ``g``.
    weight_scale : None or float > 0
        Standard deviation of the Gaussian initial weights. ``None``: He
        (``sqrt(2 / n_{l-1})``) for ReLU, ``sqrt(1 / n_{l-1})`` otherwise.
        A float (e.g. ``0.01``) uses the same small scale everywhere.
    eps, ewa_beta, unbiased_running_var
        Passed to each :class:`~bn_helpers.batchnorm.BatchNorm`.

    Attributes
    ----------
    params : dict of name -> ndarray
    bn : dict of layer index -> BatchNorm
    hidden : dict
        After each forward pass: ``"Z{l}"``, ``"Z_tilde{l}"`` (batch-norm
        layers), ``"A{l}"`` for each hidden layer and ``"Z{L}"`` (logits),
        each ``(n_l, m)``.
    """

    def __init__(
        self,
        layer_sizes,
        *,
        batchnorm,
        rng,
        activation="relu",
        weight_scale=None,
        eps=1e-5,
        ewa_beta=0.9,
        unbiased_running_var=False,
    ):
        sizes = list(layer_sizes)
        if len(sizes) < 3 or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in sizes):
            raise ValueError(
                "layer_sizes must be at least [n_x, n_hidden, n_classes], all positive integers; "
                f"got {layer_sizes!r}"
            )
        self.layer_sizes = [int(n) for n in sizes]
        self.L = len(sizes) - 1
        n_hidden = self.L - 1
        if isinstance(batchnorm, (bool, np.bool_)):
            use_bn = [bool(batchnorm)] * n_hidden
        else:
            use_bn = [bool(x) for x in batchnorm]
            if len(use_bn) != n_hidden:
                raise ValueError(
                    f"batchnorm must be a bool or one bool per hidden layer ({n_hidden}); got {len(use_bn)} values"
                )
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        check_generator(rng)
        if weight_scale is not None:
            weight_scale = check_scalar(weight_scale, "weight_scale", low=0.0, low_open=True)
        self.weight_scale = weight_scale

        self.params: dict[str, np.ndarray] = {}
        self.bn: dict[int, BatchNorm] = {}
        for l in range(1, self.L + 1):
            n_in, n_out = sizes[l - 1], sizes[l]
            if weight_scale is not None:
                scale = weight_scale
            else:
                scale = np.sqrt((2.0 if activation == "relu" else 1.0) / n_in)
            self.params[f"W{l}"] = rng.standard_normal((n_out, n_in)) * scale
            if l < self.L and use_bn[l - 1]:
                bn = BatchNorm(n_out, eps=eps, ewa_beta=ewa_beta, unbiased_running_var=unbiased_running_var)
                self.bn[l] = bn
                # The same array objects: an in-place update of params is the layer's update.
                self.params[f"gamma{l}"] = bn.gamma
                self.params[f"beta{l}"] = bn.beta
            else:
                self.params[f"b{l}"] = np.zeros((n_out, 1))
        self.training = True
        self.hidden: dict[str, np.ndarray] = {}
        self._cache = None

    # --- modes ---------------------------------------------------------------

    def train(self):
        """Training mode: batch norm uses batch statistics and updates its running averages."""
        self.training = True
        for bn in self.bn.values():
            bn.train()
        return self

    def eval(self):
        """Eval mode: batch norm uses its running averages; nothing is updated."""
        self.training = False
        for bn in self.bn.values():
            bn.eval()
        return self

    @contextmanager
    def running_stats_kept(self):
        """Restore every batch-norm layer's running mean and variance on exit.

        For looking at a network in training mode (batch statistics) without
        the look itself moving its running averages::

            with model.running_stats_kept():
                model.forward(X_probe)
        """
        saved = {l: (bn.running_mean, bn.running_var) for l, bn in self.bn.items()}
        try:
            yield self
        finally:
            for l, (mean, var) in saved.items():
                self.bn[l].running_mean, self.bn[l].running_var = mean, var

    # --- forward and backward -------------------------------------------------

    def forward(self, X):
        """``X`` ``(n_x, m)`` -> logits ``Z[L]`` ``(n_L, m)`` in the current mode."""
        X = as_matrix(X, "X")
        if X.shape[0] != self.layer_sizes[0]:
            raise ValueError(f"X must have shape ({self.layer_sizes[0]}, m); got shape {X.shape}")
        p, hidden, cache = self.params, {}, []
        A = X
        for l in range(1, self.L + 1):
            A_prev = A
            Z = p[f"W{l}"] @ A_prev
            if l in self.bn:
                Z_tilde = self.bn[l].forward(Z)
                hidden[f"Z{l}"], hidden[f"Z_tilde{l}"] = Z, Z_tilde
            else:
                Z += p[f"b{l}"]
                Z_tilde = Z
                hidden[f"Z{l}"] = Z
            if l == self.L:
                A = Z_tilde  # logits; softmax is part of the loss
            else:
                A = activation_forward(Z_tilde, self.activation)
                hidden[f"A{l}"] = A
            cache.append((A_prev, Z_tilde, A))
        self.hidden, self._cache = hidden, cache
        return A

    def backward(self, dZL):
        """Backpropagate ``dZL`` (gradient w.r.t. the logits, ``(n_L, m)``) through the last forward pass.

        Returns a dict of gradients with the keys of ``params``.
        """
        if self._cache is None:
            raise RuntimeError("MLP.backward needs a forward pass first")
        dZL = as_matrix(dZL, "dZL")
        logits = self._cache[-1][1]
        if dZL.shape != logits.shape:
            raise ValueError(f"dZL must have the shape of the last forward pass's logits {logits.shape}; got {dZL.shape}")
        grads: dict[str, np.ndarray] = {}
        dZ_tilde = dZL
        for l in range(self.L, 0, -1):
            A_prev, Z_tilde, A = self._cache[l - 1]
            if l < self.L:
                dZ_tilde = activation_backward(dA, Z_tilde, A, self.activation)
            if l in self.bn:
                dZ, grads[f"gamma{l}"], grads[f"beta{l}"] = self.bn[l].backward(dZ_tilde)
            else:
                dZ = dZ_tilde
                grads[f"b{l}"] = dZ.sum(axis=1, keepdims=True)
            grads[f"W{l}"] = dZ @ A_prev.T
            if l > 1:  # the first layer's input is the data: no gradient needed
                dA = self.params[f"W{l}"].T @ dZ
        return {k: grads[k] for k in self.params}

    def loss(self, X, y):
        """Mean cross-entropy on ``(X, y)`` in the current mode (runs a forward pass)."""
        loss, _ = softmax_cross_entropy(self.forward(X), y)
        return loss

    def loss_and_grads(self, X, y):
        """Forward, loss and backward in the current mode: returns ``(loss, grads)``."""
        loss, dZL = softmax_cross_entropy(self.forward(X), y)
        return loss, self.backward(dZL)

    # --- evaluation (always in eval mode) ---------------------------------------

    def evaluate(self, X, y):
        """``(loss, accuracy)`` in eval mode; the model's mode is restored afterwards."""
        was_training = self.training
        self.eval()
        try:
            Z = self.forward(X)
            y = check_labels(y, "y", Z.shape[1], Z.shape[0])
            loss, _ = softmax_cross_entropy(Z, y)
            return loss, accuracy(Z, y)
        finally:
            if was_training:
                self.train()

    def predict(self, X):
        """Predicted class per column of ``X``, in eval mode: int array ``(m,)``."""
        was_training = self.training
        self.eval()
        try:
            return self.forward(X).argmax(axis=0)
        finally:
            if was_training:
                self.train()

    def __repr__(self):
        bn = [l in self.bn for l in range(1, self.L)]
        return f"MLP(layer_sizes={self.layer_sizes}, activation={self.activation!r}, batchnorm={bn})"
