"""Batch norm after training: folding, recomputed statistics, per-device and synchronized batch norm."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import nontrivial_params

from bn_helpers import MLP, Adam, batchnorm_backward, batchnorm_forward, batchnorm_inference, numerical_gradient, train
from bn_helpers.folding import fold_batchnorm, fold_mlp, recompute_statistics
from bn_helpers.sync_batchnorm import (
    PerDeviceBatchNorm,
    per_device_batchnorm_forward,
    per_device_mlp,
    sync_batchnorm_backward,
    sync_batchnorm_forward,
)


def layer(rng, n=5, n_prev=7):
    W = rng.normal(0.0, 1.0, (n, n_prev))
    gamma, beta = nontrivial_params(rng, n)
    return W, rng.normal(0.0, 1.0, (n, 1)), gamma, beta, rng.normal(0.0, 2.0, (n, 1)), rng.uniform(0.1, 3.0, (n, 1))


# --- folding ------------------------------------------------------------------------------


@pytest.mark.parametrize("with_b", [True, False])
def test_fold_equals_batchnorm_inference(rng, with_b):
    W, b, gamma, beta, mean, var = layer(rng)
    A = rng.normal(1.0, 2.0, (7, 11))
    W_f, b_f = fold_batchnorm(W, b if with_b else None, gamma, beta, mean, var, eps=1e-3)
    assert W_f.shape == W.shape and b_f.shape == (5, 1)
    z = W @ A + (b if with_b else 0.0)
    np.testing.assert_allclose(W_f @ A + b_f, batchnorm_inference(z, gamma, beta, mean, var, 1e-3), rtol=1e-12, atol=1e-12)


def test_fold_accepts_flat_columns_and_leaves_inputs_alone(rng):
    W, b, gamma, beta, mean, var = layer(rng)
    before = [a.copy() for a in (W, b, gamma, beta, mean, var)]
    W_f, b_f = fold_batchnorm(W, b.ravel(), gamma.ravel(), beta.ravel(), mean.ravel(), var.ravel())
    W_g, b_g = fold_batchnorm(W, b, gamma, beta, mean, var)
    np.testing.assert_array_equal(W_f, W_g)
    np.testing.assert_array_equal(b_f, b_g)
    for a, a0 in zip((W, b, gamma, beta, mean, var), before):
        np.testing.assert_array_equal(a, a0)


def test_fold_scales_rows_not_columns(rng):
    """Unit i's factor multiplies row i of W: a zero gamma_i zeroes row i and nothing else."""
    W, b, gamma, beta, mean, var = layer(rng, n=4, n_prev=4)
    gamma[2] = 0.0
    W_f, _ = fold_batchnorm(W, b, gamma, beta, mean, var)
    assert np.all(W_f[2] == 0.0) and np.all(np.delete(W_f[:, 2], 2) != 0.0)


def test_float32_fold_is_float32_and_close(rng):
    W, b, gamma, beta, mean, var = layer(rng)
    W_f, b_f = fold_batchnorm(*(a.astype(np.float32) for a in (W, b, gamma, beta, mean, var)))
    assert W_f.dtype == np.float32 and b_f.dtype == np.float32
    W_64, b_64 = fold_batchnorm(W, b, gamma, beta, mean, var)
    np.testing.assert_allclose(W_f, W_64, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def trained(digits):
    X, y, _, _ = digits
    net = MLP([64, 16, 16, 10], batchnorm=True, rng=np.random.default_rng(0))
    train(net, Adam(0.01), X, y, epochs=1, batch_size=32, rng=np.random.default_rng(1), max_steps=60, eval_every=10**6)
    return net


def test_folded_mlp_predicts_as_the_eval_mode_mlp(trained, digits):
    X_test = digits[2]
    net = copy.deepcopy(trained)
    plain = fold_mlp(net)
    assert plain.bn == {} and all(f"b{l}" in plain.params for l in (1, 2, 3))
    net.eval()
    np.testing.assert_allclose(plain.forward(X_test), net.forward(X_test), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(plain.predict(X_test), net.predict(X_test))
    # The original keeps its batch norm and its parameters.
    assert set(net.bn) == {1, 2}
    for k, v in trained.params.items():
        np.testing.assert_array_equal(net.params[k], v)


def test_recompute_statistics_are_the_population_statistics(trained, digits):
    X = digits[0]
    net = copy.deepcopy(trained).eval()
    params = {k: v.copy() for k, v in net.params.items()}
    recompute_statistics(net, X)
    assert not net.training
    Z1 = net.params["W1"] @ X
    np.testing.assert_allclose(net.bn[1].running_mean, Z1.mean(axis=1, keepdims=True), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.bn[1].running_var, Z1.var(axis=1, keepdims=True), rtol=1e-12, atol=1e-12)
    # Layer 2 sees layer 1 normalized with the new statistics: its statistics are those of the eval-mode pass.
    net.forward(X)
    Z2 = net.hidden["Z2"]
    np.testing.assert_allclose(net.bn[2].running_mean, Z2.mean(axis=1, keepdims=True), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.bn[2].running_var, Z2.var(axis=1, keepdims=True), rtol=1e-10, atol=1e-12)
    for k, v in params.items():
        np.testing.assert_array_equal(net.params[k], v)


def test_recompute_statistics_unbiased_variant(digits):
    X = digits[0][:, :50]
    net = MLP([64, 4, 3], batchnorm=True, rng=np.random.default_rng(0), unbiased_running_var=True)
    recompute_statistics(net, X)
    assert net.training
    np.testing.assert_allclose(net.bn[1].running_var, (net.params["W1"] @ X).var(axis=1, ddof=1, keepdims=True), rtol=1e-12)


@pytest.mark.torch
def test_fold_matches_pytorch_fuse_linear_bn_weights(torch, rng):
    from torch.nn.utils.fusion import fuse_linear_bn_weights

    for with_b in (True, False):
        W, b, gamma, beta, mean, var = layer(rng)
        t = lambda a: torch.tensor(a.ravel() if a.shape[1] == 1 else a)  # noqa: E731
        W_t, b_t = fuse_linear_bn_weights(t(W), t(b) if with_b else None, t(mean), t(var), 1e-5, t(gamma), t(beta))
        W_f, b_f = fold_batchnorm(W, b if with_b else None, gamma, beta, mean, var, 1e-5)
        np.testing.assert_allclose(W_f, W_t.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b_f.ravel(), b_t.detach().numpy(), rtol=1e-12, atol=1e-12)


# --- synchronized and per-device batch norm ----------------------------------------------


def split(Z, sizes):
    return np.split(Z, np.cumsum(sizes)[:-1], axis=1)


@pytest.mark.parametrize("sizes", [[4], [3, 5, 2], [1, 1, 6], [8, 8, 8, 8]])
def test_sync_equals_whole_batch_forward_and_backward(rng, sizes):
    n = 6
    Z = 50.0 + rng.normal(0.0, 3.0, (n, sum(sizes)))
    gamma, beta = nontrivial_params(rng, n)
    ref, cache = batchnorm_forward(Z, gamma, beta)
    outs, sync_cache = sync_batchnorm_forward(split(Z, sizes), gamma, beta)
    np.testing.assert_allclose(np.hstack(outs), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sync_cache.mu, cache.mu, rtol=1e-14)
    np.testing.assert_allclose(sync_cache.var, cache.var, rtol=1e-12)
    d = rng.normal(0.0, 1.0, Z.shape)
    dZ, dgamma, dbeta = batchnorm_backward(d, cache)
    d_shards, dg, db = sync_batchnorm_backward(split(d, sizes), sync_cache)
    assert [a.shape for a in d_shards] == [(n, s) for s in sizes]
    np.testing.assert_allclose(np.hstack(d_shards), dZ, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dg, dgamma, rtol=0, atol=1e-12)
    np.testing.assert_allclose(db, dbeta, rtol=0, atol=1e-12)
    assert (sync_cache.sent_forward, sync_cache.sent_backward) == (2 * n + 1, 2 * n)


def test_sync_gradient_check(rng):
    sizes = [2, 3, 4]
    Z = rng.normal(1.0, 2.0, (3, 9))
    gamma, beta = nontrivial_params(rng, 3)
    weights = rng.normal(0.0, 1.0, Z.shape)  # loss = sum(weights * output)

    def loss(Zx, g=gamma, b=beta):
        return float((np.hstack(sync_batchnorm_forward(split(Zx, sizes), g, b)[0]) * weights).sum())

    _, cache = sync_batchnorm_forward(split(Z, sizes), gamma, beta)
    d_shards, dgamma, dbeta = sync_batchnorm_backward(split(weights, sizes), cache)
    np.testing.assert_allclose(np.hstack(d_shards), numerical_gradient(lambda _: loss(Z), Z), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dgamma, numerical_gradient(lambda _: loss(Z), gamma), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dbeta, numerical_gradient(lambda _: loss(Z), beta), rtol=1e-5, atol=1e-7)


def test_per_device_is_batch_norm_per_shard(rng):
    Z = rng.normal(0.0, 1.0, (3, 12))
    gamma, beta = nontrivial_params(rng, 3)
    outs = per_device_batchnorm_forward(split(Z, [4, 4, 4]), gamma, beta)
    for out, part in zip(outs, split(Z, [4, 4, 4])):
        np.testing.assert_allclose(out, batchnorm_forward(part, gamma, beta)[0], rtol=1e-12, atol=1e-12)
    whole = batchnorm_forward(Z, gamma, beta)[0]
    assert np.abs(np.hstack(outs) - whole).max() > 0.01  # not the whole batch's normalization


@pytest.mark.parametrize("devices", [1, 3])
def test_per_device_layer_forward_backward_and_running_stats(rng, devices):
    Z = rng.normal(2.0, 1.5, (4, 12))
    gamma, beta = nontrivial_params(rng, 4)
    layer_ = PerDeviceBatchNorm(4, devices, gamma=gamma.copy(), beta=beta.copy(), ewa_beta=0.5)
    out = layer_.forward(Z)
    parts = np.split(Z, devices, axis=1)
    ref = [batchnorm_forward(p, gamma, beta) for p in parts]
    np.testing.assert_allclose(out, np.hstack([r[0] for r in ref]), rtol=1e-12, atol=1e-12)
    # Device 0's statistics feed the running averages.
    np.testing.assert_allclose(layer_.running_mean, 0.5 * ref[0][1].mu, rtol=1e-12)
    np.testing.assert_allclose(layer_.running_var, 0.5 + 0.5 * ref[0][1].var, rtol=1e-12)
    d = rng.normal(0.0, 1.0, Z.shape)
    dZ, dgamma, dbeta = layer_.backward(d)
    grads = [batchnorm_backward(dp, r[1]) for dp, r in zip(np.split(d, devices, axis=1), ref)]
    np.testing.assert_allclose(dZ, np.hstack([g[0] for g in grads]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma, sum(g[1] for g in grads), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dbeta, sum(g[2] for g in grads), rtol=1e-10, atol=1e-12)


def test_per_device_mlp_gradients_and_eval_mode(rng):
    net = per_device_mlp(MLP([3, 4, 2], batchnorm=True, rng=np.random.default_rng(0)), 2)
    X, y = rng.normal(0.0, 1.0, (3, 8)), rng.integers(0, 2, 8)
    _, grads = net.loss_and_grads(X, y)
    for name in ("W1", "gamma1", "beta1", "W2"):
        with net.running_stats_kept():
            num = numerical_gradient(lambda _: net.loss(X, y), net.params[name])
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-7)
    net.eval()
    assert net.forward(X[:, :1]).shape == (2, 1)  # eval mode works on any batch


# --- bad input ----------------------------------------------------------------------------

G3, B3 = np.ones((3, 1)), np.zeros((3, 1))
W, b, gamma, beta, mean, var = layer(np.random.default_rng(0), n=3, n_prev=4)
BAD = {
    "no shards": (lambda: sync_batchnorm_forward([], G3, B3), ValueError, r"shards must hold at least one shard.*empty"),
    "an array, not a list": (lambda: sync_batchnorm_forward(np.ones((3, 4)), G3, B3), TypeError, r"shards must be a list"),
    "different n_l": (lambda: sync_batchnorm_forward([np.ones((3, 2)), np.ones((4, 2))], G3, B3), ValueError,
                      r"same number of units.*shards\[0\] has shape \(3, 2\), shards\[1\] has shape \(4, 2\)"),
    "1-D shard": (lambda: sync_batchnorm_forward([np.ones(3)], G3, B3), ValueError, r"shards\[0\] must be 2-D"),
    "one example in all": (lambda: sync_batchnorm_forward([np.ones((3, 1))], G3, B3), ValueError, r"at least 2 examples"),
    "gamma shape": (lambda: sync_batchnorm_forward([np.ones((3, 2))], np.ones((2, 1)), B3), ValueError, r"gamma must have shape \(3, 1\)"),
    "backward shapes": (lambda: sync_batchnorm_backward([np.ones((3, 3))], sync_batchnorm_forward([np.eye(3)[:, :2]], G3, B3)[1]),
                        ValueError, r"d_outputs\[0\] must have shape \(3, 2\)"),
    "backward devices": (lambda: sync_batchnorm_backward([np.ones((3, 2))] * 2, sync_batchnorm_forward([np.eye(3)[:, :2]], G3, B3)[1]),
                         ValueError, r"one array per device \(1\); got 2"),
    "backward cache": (lambda: sync_batchnorm_backward([np.ones((3, 2))], None), TypeError, r"cache must be the SyncBatchNormCache"),
    "negative running_var": (lambda: fold_batchnorm(W, b, gamma, beta, mean, -var), ValueError, r"running_var must be >= 0"),
    "gamma of another layer": (lambda: fold_batchnorm(W, b, np.ones((4, 1)), beta, mean, var), ValueError, r"gamma must have shape \(3, 1\) or \(3,\).*\(4, 1\)"),
    "b shape": (lambda: fold_batchnorm(W, np.ones((1, 3)), gamma, beta, mean, var), ValueError, r"b must have shape \(3, 1\)"),
    "W 1-D": (lambda: fold_batchnorm(W[0], b, gamma, beta, mean, var), ValueError, r"W must be 2-D"),
    "eps 0": (lambda: fold_batchnorm(W, b, gamma, beta, mean, var, eps=0.0), ValueError, r"eps must be in"),
    "fold a non-MLP": (lambda: fold_mlp("net"), TypeError, r"model must be an MLP"),
    "devices 0": (lambda: PerDeviceBatchNorm(3, 0), ValueError, r"devices must be a positive integer"),
    "uneven split": (lambda: PerDeviceBatchNorm(3, 2).forward(np.ones((3, 5))), ValueError, r"divisible by devices=2.*\(3, 5\)"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input(name):
    call, exc, pattern = BAD[name]
    with pytest.raises(exc, match=pattern):
        call()
