"""Batch, layer, instance and group norm: gradients, identities between them, the conv net, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import batchnorm_forward, check_model_gradients, numerical_gradient, rel_error
from bn_helpers.convnet import ConvNet, digits_as_images, im2col, train_convnet
from bn_helpers.normalization import (
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    statistics_sets,
)


def image_params(rng, n_C):
    gamma = rng.uniform(0.5, 2.0, (1, 1, 1, n_C)) * rng.choice([-1.0, 1.0], (1, 1, 1, n_C))
    return gamma, rng.uniform(-2.0, 2.0, (1, 1, 1, n_C))


def naive(X, sets, eps=1e-5):
    """Normalize each set of entries with equal labels, one set at a time (the reference)."""
    out = np.empty_like(X)
    for label in np.unique(sets):
        x = X[sets == label]
        out[sets == label] = (x - x.mean()) / np.sqrt(x.var() + eps)
    return out


CONV = {
    "batch": lambda X, g, b: spatial_batchnorm_forward(X, g, b),
    "group": lambda X, g, b: groupnorm_forward(X, g, b, groups=3),
    "layer": lambda X, g, b: groupnorm_forward(X, g, b, groups=1),
    "instance": lambda X, g, b: instancenorm_forward(X, g, b),
}
BACKWARD = {"batch": spatial_batchnorm_backward, "group": groupnorm_backward, "layer": groupnorm_backward,
            "instance": groupnorm_backward}  # fmt: skip


@pytest.mark.parametrize("method", list(CONV))
def test_each_method_normalizes_its_sets(rng, method):
    X = rng.normal(3.0, 2.0, (3, 4, 5, 6))
    gamma, beta = image_params(rng, 6)
    out, _ = CONV[method](X, gamma, beta)
    sets = statistics_sets(method, X.shape, groups=3)
    np.testing.assert_allclose(out, gamma * naive(X, sets) + beta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", list(CONV))
def test_conv_gradients_match_numerical(rng, method):
    X = rng.normal(1.0, 2.0, (2, 3, 3, 6))
    gamma, beta = image_params(rng, 6)
    dout = rng.standard_normal(X.shape)
    loss = lambda _: float((CONV[method](X, gamma, beta)[0] * dout).sum())  # noqa: E731
    dX, dgamma, dbeta = BACKWARD[method](dout, CONV[method](X, gamma, beta)[1])
    assert dgamma.shape == dbeta.shape == (1, 1, 1, 6)
    for analytic, x in [(dX, X), (dgamma, gamma), (dbeta, beta)]:
        assert rel_error(analytic, numerical_gradient(loss, x)) < 1e-7


def test_layernorm_gradients_match_numerical(rng):
    Z = rng.normal(2.0, 3.0, (5, 4))
    gamma, beta = rng.uniform(0.5, 2.0, (5, 1)), rng.uniform(-2.0, 2.0, (5, 1))
    dZt = rng.standard_normal(Z.shape)
    loss = lambda _: float((layernorm_forward(Z, gamma, beta)[0] * dZt).sum())  # noqa: E731
    dZ, dgamma, dbeta = layernorm_backward(dZt, layernorm_forward(Z, gamma, beta)[1])
    assert dgamma.shape == dbeta.shape == (5, 1)
    for analytic, x in [(dZ, Z), (dgamma, gamma), (dbeta, beta)]:
        assert rel_error(analytic, numerical_gradient(loss, x)) < 1e-7


def test_layernorm_is_batchnorm_of_the_transpose(rng):
    """Layer norm's statistics per example are batch norm's per unit of Z.T (gamma and beta aside)."""
    Z = rng.normal(1.0, 2.0, (6, 3))
    ones = np.ones((6, 1))
    ln, _ = layernorm_forward(Z, ones, 0 * ones)
    bn, _ = batchnorm_forward(Z.T, np.ones((3, 1)), np.zeros((3, 1)))
    np.testing.assert_allclose(ln, bn.T, rtol=1e-12, atol=1e-12)
    assert layernorm_forward(Z[:, :1], ones, 0 * ones)[0].shape == (6, 1)  # one example is fine


def test_one_group_is_layernorm_and_n_C_groups_is_instance_norm(rng):
    X = rng.normal(0.0, 3.0, (3, 4, 4, 6))
    gamma, beta = image_params(rng, 6)
    one, _ = groupnorm_forward(X, gamma, beta, groups=1)
    flat = layernorm_forward(X.reshape(3, -1).T, np.ones((96, 1)), np.zeros((96, 1)))[0].T.reshape(X.shape)
    np.testing.assert_allclose(one, gamma * flat + beta, rtol=1e-12, atol=1e-12)
    per_channel, _ = groupnorm_forward(X, gamma, beta, groups=6)
    np.testing.assert_allclose(per_channel, gamma * naive(X, statistics_sets("instance", X.shape)) + beta,
                               rtol=1e-12, atol=1e-12)  # fmt: skip
    np.testing.assert_array_equal(per_channel, instancenorm_forward(X, gamma, beta)[0])


def test_spatial_batchnorm_is_dense_batchnorm_per_channel(rng):
    """One mean and variance per channel: batch norm of (n_C, m * n_H * n_W)."""
    X = rng.normal(2.0, 1.5, (4, 3, 3, 5))
    gamma, beta = image_params(rng, 5)
    out, _ = spatial_batchnorm_forward(X, gamma, beta)
    Z = X.reshape(-1, 5).T
    dense, _ = batchnorm_forward(Z, gamma.reshape(5, 1), beta.reshape(5, 1))
    np.testing.assert_allclose(out, dense.T.reshape(X.shape), rtol=1e-12, atol=1e-12)


def test_group_boundaries_are_consecutive_channels():
    sets = statistics_sets("group", (2, 1, 1, 6), groups=3)
    assert sets[0, 0, 0].tolist() == [0, 0, 1, 1, 2, 2]
    assert sets[1, 0, 0].tolist() == [3, 3, 4, 4, 5, 5]
    assert np.unique(statistics_sets("batch", (2, 3, 3, 6))).size == 6
    assert np.unique(statistics_sets("layer", (2, 3, 3, 6))).size == 2
    assert np.unique(statistics_sets("instance", (2, 3, 3, 6))).size == 12


BAD = {
    "X 3-D": (lambda g: spatial_batchnorm_forward(np.ones((2, 3, 4)), g, g), r"X must be 4-D .*\(m, n_H, n_W, n_C\).*got shape \(2, 3, 4\)"),
    "X 3-D group": (lambda g: groupnorm_forward(np.ones((2, 3, 4)), g, g, 1), r"X must be 4-D"),
    "gamma (4,)": (lambda g: groupnorm_forward(np.ones((2, 3, 3, 4)), np.ones(4), g, 2), r"gamma must have shape \(1, 1, 1, 4\).*got shape \(4,\)"),
    "beta (1,1,1,3)": (lambda g: spatial_batchnorm_forward(np.ones((2, 3, 3, 4)), g, np.ones((1, 1, 1, 3))), r"beta must have shape \(1, 1, 1, 4\).*got shape \(1, 1, 1, 3\)"),
    "groups 3 of 4": (lambda g: groupnorm_forward(np.ones((2, 3, 3, 4)), g, g, 3), r"groups must divide the number of channels n_C = 4; got groups = 3"),
    "groups 0": (lambda g: groupnorm_forward(np.ones((2, 3, 3, 4)), g, g, 0), r"groups must be >= 1; got 0"),
    "layernorm gamma": (lambda g: layernorm_forward(np.ones((3, 2)), np.ones((2, 1)), np.zeros((3, 1))), r"gamma must have shape \(3, 1\)"),
    "layernorm Z 1-D": (lambda g: layernorm_forward(np.ones(3), np.ones((3, 1)), np.zeros((3, 1))), r"Z must be 2-D"),
    "layernorm NaN": (lambda g: layernorm_forward(np.array([[1.0], [np.nan]]), np.ones((2, 1)), np.zeros((2, 1))), r"Z contains 1 NaN"),
    "unknown method": (lambda g: statistics_sets("batchy", (1, 1, 1, 4)), r"method must be one of"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_names_the_argument(name):
    call, pattern = BAD[name]
    with pytest.raises(ValueError, match=pattern):
        call(np.ones((1, 1, 1, 4)))


def test_backward_refuses_a_foreign_cache(rng):
    with pytest.raises(TypeError, match="cache must be the cache returned by groupnorm_forward"):
        groupnorm_backward(np.ones((1, 1, 1, 4)), ("not", "a", "cache"))
    _, cache = groupnorm_forward(np.ones((2, 2, 2, 4)) + rng.random((2, 2, 2, 4)), np.ones((1, 1, 1, 4)),
                                 np.zeros((1, 1, 1, 4)), 2)  # fmt: skip
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 2, 2, 4\)"):
        groupnorm_backward(np.ones((2, 2, 2, 3)), cache)


# --- the conv net -----------------------------------------------------------------------


def test_im2col_is_a_convolution():
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 3, 3, 4))
    Xp = np.pad(X, ((0, 0), (1, 1), (1, 1), (0, 0)))
    loop = np.zeros((2, 3, 3, 4))
    for i in range(3):
        for j in range(3):
            patch = Xp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, :]
            loop[:, i, j, :] = np.einsum("mhwc,hwck->mk", patch, W)
    np.testing.assert_allclose((im2col(X, stride=2) @ W.reshape(-1, 4)).reshape(2, 3, 3, 4), loop, rtol=1e-12)


@pytest.mark.parametrize("norm", [None, "batch", "layer", "group", "instance"])
def test_convnet_gradients_match_numerical(digits_images, norm):
    X, y = digits_images
    net = ConvNet(4, norm, 2, np.random.default_rng(0))
    for name, p in net.params.items():  # away from ReLU's kink and from gamma = 1, beta = 0
        if name in ("b1", "beta1"):
            p += np.linspace(0.1, 0.4, p.size).reshape(p.shape)
        if name == "gamma1":
            p *= np.linspace(0.5, 1.5, p.size).reshape(p.shape)
    errors = check_model_gradients(net, X[:6], y[:6])
    assert max(errors.values()) < 1e-7, errors


def test_convnet_learns_and_batchnorm_uses_running_averages_in_eval(digits_images):
    import bn_helpers as bh

    X, y = digits_images
    rng = np.random.default_rng(0)
    net = ConvNet(4, "batch", rng=rng)
    losses = train_convnet(net, X, y, bh.Adam(0.02), 32, 100, rng)
    assert losses.shape == (100,) and losses[-10:].mean() < 0.5 * losses[:10].mean()
    assert net.accuracy(X, y) > 0.85
    assert not np.allclose(net.running_mean, 0)
    # eval mode: one example's logits do not depend on its batch-mates
    net.eval()
    alone = net.forward(X[:1])[0]
    together = net.forward(X[:5])[0][:, :1]
    np.testing.assert_allclose(alone, together, rtol=1e-12)


@pytest.fixture(scope="module")
def digits_images():
    from bn_helpers import load_digits

    d = load_digits()
    return digits_as_images(d.X_train), d.y_train
