"""Notebook 03's check: a hidden layer with batch norm and no bias, ``A = g(BN(W @ A_prev))``."""

from __future__ import annotations

import numpy as np

from ..batchnorm import batchnorm_forward
from ..layers import activation_forward
from .core import Case, Mistake, drawn, learner_facing, need_function, run, size
from .implementing_batch_norm import forward_variant


def _layer_cases(rng=None):
    rng_is_visible = rng is None
    rng = np.random.default_rng(9) if rng is None else rng
    activation_names = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh"}

    def case(name, n_prev, n, m, activation, dtype=np.float64):
        A_prev = rng.normal(0.5, 1.0, (n_prev, m)).astype(dtype)
        W = (rng.normal(0.0, 1.0, (n, n_prev)) / np.sqrt(n_prev)).astype(dtype)
        gamma = rng.uniform(0.5, 2.0, (n, 1)).astype(dtype)
        beta = rng.uniform(-1.0, 1.0, (n, 1)).astype(dtype)
        return Case(name, (A_prev, W, gamma, beta), {"activation": activation})

    if rng_is_visible:
        return [
            case("4 inputs, 3 units, 6 examples, ReLU", 4, 3, 6, "relu"),
            case("5 inputs, 2 units, m = 2, sigmoid", 5, 2, 2, "sigmoid"),
            case("3 inputs, 4 units, 7 examples, tanh", 3, 4, 7, "tanh"),
            case("float32, ReLU", 4, 3, 5, "relu", np.float32),
        ]
    # Hidden cases draw their shapes: inputs unlike units, units unlike examples (as the visible ones have them),
    # m = 2 where the kind says so.
    cases = []
    for m, activation, dtype in [(None, "relu", np.float64), (2, "sigmoid", np.float64), (None, "tanh", np.float64),
                                 (None, "relu", np.float32)]:  # fmt: skip
        n = size(rng, 2, 7)
        n_prev, m = size(rng, 2, 7, avoid=[n]), m or size(rng, 3, 10, avoid=[n])
        examples = "m = 2" if m == 2 else f"{m} examples"
        name = f"{n_prev} inputs, {n} units, {examples}, {activation_names[activation]}"
        name = "float32, ReLU" if dtype == np.float32 else name
        cases.append(case(name, n_prev, n, m, activation, dtype))
    return cases


def _layer_ref(A_prev, W, gamma, beta, activation="relu"):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    Z = f(W) @ f(A_prev)
    return (activation_forward(batchnorm_forward(Z, f(gamma), f(beta))[0], activation),)


def _layer(normalize, activate=True, before=False):
    """A layer ``g(normalize(W @ A_prev, gamma, beta))`` with pieces swapped out: the engine of the mistakes below."""

    def fn(A_prev, W, gamma, beta, activation="relu"):
        Z = np.asarray(W, dtype=float) @ np.asarray(A_prev, dtype=float)
        if before:  # the activation first, then batch norm
            return (batchnorm_forward(activation_forward(Z, activation), gamma, beta)[0],)
        Z_tilde = normalize(Z, gamma, beta)
        return (activation_forward(Z_tilde, activation) if activate else Z_tilde,)

    return fn


def _bn(Z, gamma, beta):
    return forward_variant()(Z, gamma, beta)[0]


def _normalize_input(A_prev, W, gamma, beta, activation="relu"):
    A = np.asarray(A_prev, dtype=float)
    n_prev = A.shape[0]
    A_norm = forward_variant(affine="none")(A, np.ones((n_prev, 1)), np.zeros((n_prev, 1)))[0]
    return (activation_forward(gamma * (np.asarray(W, dtype=float) @ A_norm) + beta, activation),)


# numpy's words when a tuple (Z_tilde, cache) reaches an activation or an arithmetic operation
_UNPACK = ("Did a tuple reach the activation? batchnorm_forward returns (Z_tilde, cache): unpack it, "
           "`Z_tilde, cache = batchnorm_forward(Z, gamma, beta)`, and pass Z_tilde on.")

LAYER_MISTAKES = [
    Mistake("your activation comes before batch norm. The course normalizes z = W a_prev, then applies "
            "g to z_tilde: a = g(gamma * z_norm + beta).", _layer(_bn, before=True)),
    Mistake("you return z_tilde: apply the activation g to it.", _layer(_bn, activate=False)),
    Mistake("you normalize the layer's input a_prev instead of z = W a_prev.", _normalize_input),
    Mistake("your batch statistics are taken over the wrong axis: normalize each unit (row) over the examples, axis=1.",
            _layer(lambda Z, g, b: forward_variant(axis=0)(Z, g, b)[0])),
    Mistake("gamma and beta are left out: the layer's output is g(z_tilde) with z_tilde = gamma * z_norm + beta, "
            "so that training can choose each unit's mean and spread.",
            _layer(lambda Z, g, b: forward_variant(affine="none")(Z, g, b)[0])),
]


@learner_facing(points=2)
def check_batchnorm_layer_forward(fn, hidden=False):
    """Check ``fn(A_prev, W, gamma, beta, activation="relu") -> A``: ``A = g(batch norm of W @ A_prev)``, no bias.

    Shapes: ``A_prev`` ``(n_prev, m)``, ``W`` ``(n_l, n_prev)``, ``gamma``,
    ``beta`` ``(n_l, 1)``, ``A`` ``(n_l, m)``; batch norm with ``eps=1e-5``.
    """
    need_function(fn, "check_batchnorm_layer_forward", "check_batchnorm_layer_forward(batchnorm_layer_forward)",
                  allowed=("batchnorm_forward", "activation_forward"))
    run("check_batchnorm_layer_forward", fn, _layer_ref, drawn(_layer_cases, hidden), LAYER_MISTAKES, ["A"],
        select=lambda out: (out,), hints=[("inhomogeneous", _UNPACK)])  # fmt: skip
