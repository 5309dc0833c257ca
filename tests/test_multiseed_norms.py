"""MultiSeedMLP's other statistics: layer norm, group norm and ghost batches, per seed against the package's layers."""

import numpy as np
import pytest

from bn_helpers import Adam, batchnorm_forward
from bn_helpers.gradcheck import numerical_gradient, rel_error
from bn_helpers.multiseed import MultiSeedMLP, train_seeds
from bn_helpers.normalization import groupnorm_forward, layernorm_forward

SIZES = [5, 8, 6, 3]


def model(norm="batch", k=2, activation="tanh", **kw):
    net = MultiSeedMLP(SIZES, batchnorm=[True, True], rngs=[np.random.default_rng(s) for s in range(k)],
                       activation=activation, norm=norm, **kw)  # fmt: skip
    rng = np.random.default_rng(7)
    for l in net.norm_layers:  # gamma and beta away from 1 and 0, so a wrong formula shows
        net.params[f"gamma{l}"][...] = rng.uniform(0.5, 2.0, net.params[f"gamma{l}"].shape)
        net.params[f"beta{l}"][...] = rng.normal(size=net.params[f"beta{l}"].shape)
    return net


def batch(m=8, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(1.0, 2.0, (k, SIZES[0], m)), rng.integers(0, SIZES[-1], (k, m))


def test_layer_and_group_norm_compute_the_package_layers_per_seed():
    X, _ = batch()
    for norm, kw, reference in [
        ("layer", {}, lambda Z, g, b: layernorm_forward(Z, g, b)[0]),
        ("group", dict(groups=2), lambda Z, g, b: groupnorm_forward(Z.T.reshape(-1, 1, 1, len(Z)), g.reshape(1, 1, 1, -1),
                                                                     b.reshape(1, 1, 1, -1), groups=2)[0].reshape(-1, len(Z)).T),
    ]:  # fmt: skip
        net = model(norm, **kw)
        net.forward(X)
        for i in range(2):
            for l in (1, 2):
                expected = reference(net.hidden[f"Z{l}"][i], net.params[f"gamma{l}"][i], net.params[f"beta{l}"][i])
                np.testing.assert_allclose(net.hidden[f"Z_tilde{l}"][i], expected, rtol=1e-12, atol=1e-12)
        train_out = net.forward(X)
        np.testing.assert_array_equal(net.eval().forward(X), train_out)  # no running averages: eval computes the same


def test_ghost_batches_normalize_each_slice_with_its_own_statistics():
    X, _ = batch(m=12)
    net = model("batch", ghost_batch=4)
    net.forward(X)
    mus, vars_ = [], []
    for i in range(2):
        Z, gamma, beta = net.hidden["Z1"][i], net.params["gamma1"][i], net.params["beta1"][i]
        for j in range(3):
            cols = slice(4 * j, 4 * j + 4)
            expected, cache = batchnorm_forward(Z[:, cols], gamma, beta)
            np.testing.assert_allclose(net.hidden["Z_tilde1"][i][:, cols], expected, rtol=1e-12, atol=1e-12)
            mus.append(Z[:, cols].mean(axis=1, keepdims=True))
            vars_.append(Z[:, cols].var(axis=1, keepdims=True))
    # one step of the running averages (beta 0.9 from mean 0, variance 1) toward the slices' average statistics
    mu = np.stack([np.mean(mus[3 * i : 3 * i + 3], axis=0) for i in range(2)])
    var = np.stack([np.mean(vars_[3 * i : 3 * i + 3], axis=0) for i in range(2)])
    np.testing.assert_allclose(net.running_mean[1], 0.1 * mu, rtol=1e-12)
    np.testing.assert_allclose(net.running_var[1], 0.9 + 0.1 * var, rtol=1e-12)


def test_one_ghost_batch_is_plain_batch_norm():
    X, y = batch(m=8)
    ghost, plain = model("batch", ghost_batch=8), model("batch")
    lg, gg = ghost.loss_and_grads(X, y)
    lp, gp = plain.loss_and_grads(X, y)
    np.testing.assert_allclose(lg, lp, rtol=1e-12)
    for name in gp:
        np.testing.assert_allclose(gg[name], gp[name], rtol=1e-10, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(ghost.running_var[2], plain.running_var[2], rtol=1e-12)


@pytest.mark.parametrize("norm, kw", [("layer", {}), ("group", dict(groups=2)),
                                      ("batch", dict(ghost_batch=3)), ("batch", {})])  # fmt: skip
def test_gradients_match_finite_differences(norm, kw):
    X, y = batch(m=6)
    net = model(norm, **kw)
    _, grads = net.loss_and_grads(X, y)

    def loss(_):
        losses, _ = net.loss_and_grads(X, y)  # training mode; moving the running averages changes no loss
        return losses.sum()  # the seeds are independent: each seed's gradient is its own loss's

    for name, p in net.params.items():
        assert rel_error(grads[name], numerical_gradient(loss, p)) < 1e-6, name


def test_layer_norm_trains_at_batches_of_two():
    from bn_helpers import load_mnist1d, normalize_dataset

    D = normalize_dataset(load_mnist1d())
    net = MultiSeedMLP([40, 32, 10], batchnorm=True, rngs=[np.random.default_rng(s) for s in range(3)], norm="layer")
    hs = train_seeds(net, Adam(1e-3), D.X_train, D.y_train, epochs=1, batch_size=2, max_steps=400,
                     rngs=[np.random.default_rng(100 + s) for s in range(3)], progress=False)  # fmt: skip
    for h in hs:
        assert not h["diverged"] and h["train_acc"][-1] > h["train_acc"][0] + 0.05  # above where it started


def test_bad_options_name_the_argument():
    with pytest.raises(ValueError, match="unknown norm 'instance'; expected one of"):
        model("instance")
    with pytest.raises(ValueError, match='groups must be given with norm="group"'):
        model("group")
    with pytest.raises(ValueError, match="groups must divide every normalized layer's size; layer 1 has 8 units"):
        model("group", groups=3)
    with pytest.raises(ValueError, match='groups is for norm="group" only'):
        model("layer", groups=2)
    with pytest.raises(ValueError, match='ghost_batch is for norm="batch" only'):
        model("layer", ghost_batch=4)
    with pytest.raises(ValueError, match="ghost_batch must be"):
        model("batch", ghost_batch=1)
    with pytest.raises(ValueError, match="X must have a multiple of ghost_batch=4 examples per seed"):
        model("batch", ghost_batch=4).forward(batch(m=6)[0])
    with pytest.raises(ValueError, match="seed\\(i\\) returns an MLP"):
        model("layer").seed(0)
    assert "norm='group', groups=2" in repr(model("group", groups=2))
