"""Dense layers, activations and softmax cross-entropy against numerical gradients."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import (
    accuracy,
    activation_backward,
    activation_forward,
    dense_backward,
    dense_forward,
    numerical_gradient,
    rel_error,
    softmax,
    softmax_cross_entropy,
)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear"])
def test_activation_derivatives(rng, name):
    Z = rng.standard_normal((4, 6)) * 2
    Z[np.abs(Z) < 1e-3] = 0.5  # keep away from relu's kink
    dA = rng.standard_normal(Z.shape)
    A = activation_forward(Z, name)
    dZ = activation_backward(dA, Z, A, name)
    num = numerical_gradient(lambda z: float(np.sum(activation_forward(z, name) * dA)), Z.copy())
    assert rel_error(dZ, num) < 1e-8


def test_sigmoid_values_and_no_overflow():
    z = np.array([[-1000.0, -1.0, 0.0, 1.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = activation_forward(z, "sigmoid")
    np.testing.assert_allclose(a, [[0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1)), 1.0]], atol=1e-15)


def test_dense_forward_backward(rng):
    A_prev, W, b = rng.standard_normal((5, 7)), rng.standard_normal((3, 5)), rng.standard_normal((3, 1))
    np.testing.assert_allclose(dense_forward(A_prev, W, b), W @ A_prev + b)
    dZ = rng.standard_normal((3, 7))
    dA, dW, db = dense_backward(dZ, A_prev, W)
    f = lambda: float(np.sum(dense_forward(A_prev, W, b) * dZ))  # noqa: E731
    assert rel_error(dW, numerical_gradient(lambda _: f(), W)) < 1e-9
    assert rel_error(db, numerical_gradient(lambda _: f(), b)) < 1e-9
    assert rel_error(dA, numerical_gradient(lambda _: f(), A_prev)) < 1e-9


def test_softmax_cross_entropy_gradient_and_value(rng):
    Z = rng.standard_normal((4, 9))
    y = rng.integers(0, 4, 9)
    loss, dZ = softmax_cross_entropy(Z, y)
    P = softmax(Z)
    assert loss == pytest.approx(-np.mean(np.log(P[y, np.arange(9)])))
    num = numerical_gradient(lambda z: softmax_cross_entropy(z, y)[0], Z.copy())
    assert rel_error(dZ, num) < 1e-8


def test_softmax_cross_entropy_stable_for_huge_logits():
    Z = np.array([[1000.0, -1000.0], [0.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dZ = softmax_cross_entropy(Z, np.array([0, 0]))
    assert loss == pytest.approx(500.0)  # column 1: log(1 + e^-1000) ~ 0; column 2: ~1000
    np.testing.assert_allclose(softmax(Z).sum(axis=0), 1.0)
    assert np.isfinite(dZ).all()


def test_accuracy():
    Z = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.0, 1.0, 5.0]])
    assert accuracy(Z, np.array([0, 1, 0])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_batchnorm_layer_backward_matches_finite_differences(activation):
    from bn_helpers import layer_backward, layer_forward
    from bn_helpers.gradcheck import numerical_gradient, rel_error

    rng = np.random.default_rng(3)
    A_prev, W = rng.normal(0.5, 1.0, (4, 6)), rng.normal(size=(3, 4))
    gamma, beta = rng.uniform(0.5, 2.0, (3, 1)), rng.normal(size=(3, 1))
    G = rng.normal(size=(3, 6))  # the loss sum(G * A): its gradient with respect to A is G
    A, cache = layer_forward(A_prev, W, gamma, beta, activation)
    assert A.shape == (3, 6) and cache[0] is not None and cache[-1] == activation
    grads = layer_backward(G, cache)
    for x, g in zip([A_prev, W, gamma, beta], grads):
        numeric = numerical_gradient(lambda _: np.sum(G * layer_forward(A_prev, W, gamma, beta, activation)[0]), x)
        assert g.shape == x.shape and rel_error(g, numeric) < 1e-7
