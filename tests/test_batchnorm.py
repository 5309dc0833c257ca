"""Batch norm forward, both backward passes, inference and the BatchNorm layer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import nontrivial_params

from bn_helpers import (
    BatchNorm,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
    batchnorm_inference,
    numerical_gradient,
    rel_error,
)


def naive_batchnorm(Z, gamma, beta, eps):
    """The lecture's equations one unit and one example at a time: an independent reference."""
    n, m = Z.shape
    out = np.empty_like(Z)
    for k in range(n):
        mu = sum(Z[k, i] for i in range(m)) / m
        var = sum((Z[k, i] - mu) ** 2 for i in range(m)) / m
        for i in range(m):
            z_norm = (Z[k, i] - mu) / np.sqrt(var + eps)
            out[k, i] = gamma[k, 0] * z_norm + beta[k, 0]
    return out


@pytest.mark.parametrize("shape", [(1, 2), (3, 5), (7, 40)])
def test_forward_matches_naive_loop(rng, shape):
    Z = rng.normal(3.0, 2.0, shape)
    gamma, beta = nontrivial_params(rng, shape[0])
    Z_tilde, cache = batchnorm_forward(Z, gamma, beta, eps=1e-3)
    np.testing.assert_allclose(Z_tilde, naive_batchnorm(Z, gamma, beta, 1e-3), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache.mu, Z.mean(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(cache.var, Z.var(axis=1, keepdims=True), rtol=1e-12)  # biased: / m


def test_gamma_sqrt_var_and_beta_mu_give_back_z(rng):
    """gamma = sqrt(sigma^2 + eps), beta = mu undo the normalization exactly."""
    Z = rng.normal(5.0, 3.0, (4, 16))
    _, cache = batchnorm_forward(Z, np.ones((4, 1)), np.zeros((4, 1)))
    Z_back, _ = batchnorm_forward(Z, np.sqrt(cache.var + cache.eps), cache.mu)
    np.testing.assert_allclose(Z_back, Z, rtol=1e-13, atol=1e-13)


def test_gamma_beta_accept_1d(rng):
    Z = rng.standard_normal((3, 6))
    gamma, beta = nontrivial_params(rng, 3)
    a, _ = batchnorm_forward(Z, gamma, beta)
    b, _ = batchnorm_forward(Z, gamma.ravel(), beta.ravel())
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_staged])
@pytest.mark.parametrize(
    "shape, eps",
    # With m = 2 each normalized value is +-sqrt(var / (var + eps)): dZ flows only
    # through eps, so a larger eps keeps it well above finite-difference round-off.
    [((1, 2), 0.5), ((3, 4), 1e-5), ((5, 17), 1e-5)],
)
def test_backward_matches_numerical_gradient(rng, backward, shape, eps):
    Z = rng.normal(1.0, 2.0, shape)
    gamma, beta = nontrivial_params(rng, shape[0])
    dZ_tilde = rng.standard_normal(shape)  # loss = sum(dZ_tilde * Z_tilde): its gradient is dZ_tilde

    def loss(Z_, gamma_, beta_):
        return float(np.sum(batchnorm_forward(Z_, gamma_, beta_, eps)[0] * dZ_tilde))

    _, cache = batchnorm_forward(Z, gamma, beta, eps)
    dZ, dgamma, dbeta = backward(dZ_tilde, cache)
    num_dZ = numerical_gradient(lambda z: loss(z, gamma, beta), Z.copy())
    num_dgamma = numerical_gradient(lambda g: loss(Z, g, beta), gamma.copy())
    num_dbeta = numerical_gradient(lambda b: loss(Z, gamma, b), beta.copy())
    assert rel_error(dZ, num_dZ) < 1e-7
    assert rel_error(dgamma, num_dgamma) < 1e-7
    assert rel_error(dbeta, num_dbeta) < 1e-7


def test_staged_agrees_with_closed_form(rng):
    for shape in [(1, 2), (4, 9), (32, 256)]:
        Z = rng.normal(-2.0, 0.5, shape)
        gamma, beta = nontrivial_params(rng, shape[0])
        _, cache = batchnorm_forward(Z, gamma, beta)
        d = rng.standard_normal(shape)
        for a, b in zip(batchnorm_backward(d, cache), batchnorm_backward_staged(d, cache)):
            assert rel_error(a, b) < 1e-10


def test_gradient_of_a_shift_before_batch_norm_is_zero(rng):
    """b before batch norm is cancelled: dZ sums to zero over the batch, so db = 0."""
    Z = rng.standard_normal((6, 12))
    gamma, beta = nontrivial_params(rng, 6)
    _, cache = batchnorm_forward(Z, gamma, beta)
    dZ, _, _ = batchnorm_backward(rng.standard_normal((6, 12)), cache)
    db = dZ.sum(axis=1)
    assert np.abs(db).max() < 1e-12 * np.abs(dZ).max() * 12


def test_inference_single_example_and_formula(rng):
    gamma, beta = nontrivial_params(rng, 3)
    mean, var = rng.standard_normal((3, 1)), rng.uniform(0.5, 2, (3, 1))
    z = rng.standard_normal((3, 1))
    out = batchnorm_inference(z, gamma, beta, mean, var, eps=1e-5)
    assert out.shape == (3, 1)
    np.testing.assert_allclose(out, gamma * (z - mean) / np.sqrt(var + 1e-5) + beta, rtol=1e-14)


def test_inference_equals_training_with_batch_statistics(rng):
    Z = rng.normal(2.0, 3.0, (5, 30))
    gamma, beta = nontrivial_params(rng, 5)
    Z_tilde, cache = batchnorm_forward(Z, gamma, beta)
    np.testing.assert_allclose(batchnorm_inference(Z, gamma, beta, cache.mu, cache.var), Z_tilde, rtol=1e-12, atol=1e-12)


def test_large_offset_keeps_float64_precision(rng):
    """Two-pass variance: a 1e8 offset costs only the digits lost in storing z + 1e8."""
    Z = rng.standard_normal((4, 64))
    gamma, beta = nontrivial_params(rng, 4)
    ref, ref_cache = batchnorm_forward(Z, gamma, beta)
    out, cache = batchnorm_forward(Z + 1e8, gamma, beta)
    np.testing.assert_allclose(cache.var, ref_cache.var, rtol=1e-7)
    np.testing.assert_allclose(out, ref, atol=1e-6)
    # The one-pass formula E[z^2] - E[z]^2 fails here: that is what the test guards against.
    Zo = Z + 1e8
    one_pass = (Zo**2).mean(axis=1) - Zo.mean(axis=1) ** 2
    assert np.abs(one_pass - ref_cache.var.ravel()).max() > 0.1


def test_dtypes(rng):
    Z32 = rng.standard_normal((3, 8)).astype(np.float32)
    out, _ = batchnorm_forward(Z32, np.ones(3), np.zeros(3))
    assert out.dtype == np.float32
    Zint = np.array([[1, 2, 3, 4], [10, 0, 10, 0]])
    out, cache = batchnorm_forward(Zint, np.ones(2), np.zeros(2))
    assert out.dtype == np.float64
    np.testing.assert_allclose(cache.mu.ravel(), [2.5, 5.0])  # not integer division
    np.testing.assert_allclose(out, batchnorm_forward(Zint.astype(float), np.ones(2), np.zeros(2))[0])


def test_constant_unit_maps_to_beta(rng):
    Z = np.vstack([np.full(10, 7.0), rng.standard_normal(10)])
    out, _ = batchnorm_forward(Z, np.array([3.0, 1.0]), np.array([-1.0, 0.0]))
    np.testing.assert_allclose(out[0], -1.0)


# --- the BatchNorm layer ------------------------------------------------------


def test_layer_training_updates_running_stats_with_ewa(rng):
    layer = BatchNorm(4, ewa_beta=0.8)
    Z = rng.normal(3.0, 2.0, (4, 10))
    out = layer.forward(Z)
    np.testing.assert_allclose(out, batchnorm_forward(Z, layer.gamma, layer.beta)[0])
    np.testing.assert_allclose(layer.running_mean, 0.2 * Z.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(layer.running_var, 0.8 + 0.2 * Z.var(axis=1, keepdims=True))


def test_layer_unbiased_running_var(rng):
    layer = BatchNorm(2, ewa_beta=0.0, unbiased_running_var=True)
    Z = rng.standard_normal((2, 5))
    layer.forward(Z)
    np.testing.assert_allclose(layer.running_var, Z.var(axis=1, ddof=1, keepdims=True))


def test_layer_eval_uses_running_stats_and_changes_nothing(rng):
    layer = BatchNorm(3)
    for _ in range(20):
        layer.forward(rng.normal(1.0, 2.0, (3, 32)))
    mean, var = layer.running_mean.copy(), layer.running_var.copy()
    layer.eval()
    z = rng.standard_normal((3, 1))
    out = layer.forward(z)
    np.testing.assert_allclose(out, batchnorm_inference(z, layer.gamma, layer.beta, mean, var))
    np.testing.assert_array_equal(layer.running_mean, mean)
    np.testing.assert_array_equal(layer.running_var, var)
    with pytest.raises(RuntimeError, match="training-mode forward"):
        layer.backward(np.ones((3, 1)))
    assert layer.train() is layer and layer.training


def test_layer_running_stats_converge_to_population(rng):
    """With many batches the running averages approach the true mean and variance."""
    layer = BatchNorm(2, ewa_beta=0.99)
    true_mean, true_std = np.array([[3.0], [-1.0]]), np.array([[2.0], [0.5]])
    for _ in range(2000):
        layer.forward(true_mean + true_std * rng.standard_normal((2, 64)))
    np.testing.assert_allclose(layer.running_mean, true_mean, atol=0.1)
    np.testing.assert_allclose(layer.running_var, true_std**2, rtol=0.1)


def test_layer_backward_matches_functional(rng):
    gamma, beta = nontrivial_params(rng, 3)
    layer = BatchNorm(3, gamma=gamma, beta=beta)
    Z = rng.standard_normal((3, 7))
    layer.forward(Z)
    d = rng.standard_normal((3, 7))
    _, cache = batchnorm_forward(Z, gamma, beta)
    for a, b in zip(layer.backward(d), batchnorm_backward(d, cache)):
        np.testing.assert_allclose(a, b)
