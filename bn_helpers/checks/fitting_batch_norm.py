"""Notebook 03's check: a hidden layer with batch norm and no bias, ``A = g(BN(W @ A_prev))``."""

from __future__ import annotations

import numpy as np

from ..batchnorm import batchnorm_forward
from ..layers import activation_forward
from .core import Case, Mistake, need_function, run
from .implementing_batch_norm import FORWARD_MISTAKES


def _layer_cases():
    rng = np.random.default_rng(9)

    def case(name, n_prev, n, m, activation, dtype=np.float64):
        A_prev = rng.normal(0.5, 1.0, (n_prev, m)).astype(dtype)
        W = (rng.normal(0.0, 1.0, (n, n_prev)) / np.sqrt(n_prev)).astype(dtype)
        gamma = rng.uniform(0.5, 2.0, (n, 1)).astype(dtype)
        beta = rng.uniform(-1.0, 1.0, (n, 1)).astype(dtype)
        return Case(name, (A_prev, W, gamma, beta), {"activation": activation})

    return [
        case("4 inputs, 3 units, 6 examples, ReLU", 4, 3, 6, "relu"),
        case("5 inputs, 2 units, m = 2, sigmoid", 5, 2, 2, "sigmoid"),
        case("3 inputs, 4 units, 7 examples, tanh", 3, 4, 7, "tanh"),
        case("float32, ReLU", 4, 3, 5, "relu", np.float32),
    ]


def _layer_ref(A_prev, W, gamma, beta, activation="relu"):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    Z = f(W) @ f(A_prev)
    return (activation_forward(batchnorm_forward(Z, f(gamma), f(beta))[0], activation),)


LAYER_MISTAKES = [
    Mistake("your activation comes before batch norm. The course normalizes z = W a_prev, then applies "
            "g to z_tilde: a = g(gamma * z_norm + beta).",
            lambda A, W, g, b, activation="relu": (batchnorm_forward(activation_forward(np.asarray(W, float) @ np.asarray(A, float), activation), g, b)[0],)),  # noqa: E501
    Mistake("you return z_tilde: apply the activation g to it.",
            lambda A, W, g, b, activation="relu": (batchnorm_forward(np.asarray(W, float) @ np.asarray(A, float), g, b)[0],)),  # noqa: E501
    Mistake("you normalize the layer's input a_prev instead of z = W a_prev.",
            lambda A, W, g, b, activation="relu": (activation_forward(np.asarray(W, float) @ batchnorm_forward(np.asarray(A, float), np.ones((np.shape(A)[0], 1)), np.zeros((np.shape(A)[0], 1)))[0] * g + b, activation),)),  # noqa: E501
    Mistake("your batch statistics are taken over the wrong axis: normalize each unit (row) over the examples, axis=1.",
            lambda A, W, g, b, activation="relu": (activation_forward(g * FORWARD_MISTAKES[1].fn(np.asarray(W, float) @ np.asarray(A, float), np.ones((np.shape(W)[0], 1)), np.zeros((np.shape(W)[0], 1)))[0] + b, activation),)),  # noqa: E501
]


def check_batchnorm_layer_forward(fn):
    """Check ``fn(A_prev, W, gamma, beta, activation="relu") -> A``: ``A = g(batch norm of W @ A_prev)``, no bias.

    Shapes: ``A_prev`` ``(n_prev, m)``, ``W`` ``(n_l, n_prev)``, ``gamma``,
    ``beta`` ``(n_l, 1)``, ``A`` ``(n_l, m)``; batch norm with ``eps=1e-5``.
    """
    need_function(fn, "check_batchnorm_layer_forward", "check_batchnorm_layer_forward(batchnorm_layer_forward)")
    run("check_batchnorm_layer_forward", fn, _layer_ref, _layer_cases(), LAYER_MISTAKES, ["A"],
         select=lambda out: (out,))  # fmt: skip
