"""The MLP: whole-network gradient checks, parameter names, modes and the dropped bias."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import MLP, Adam, check_model_gradients, numerical_gradient, rel_error


def small_problem(rng, n_x=6, m=12, classes=4):
    return rng.standard_normal((n_x, m)), rng.integers(0, classes, m)


def randomize_bn(model, rng):
    """Non-trivial gamma and beta (in place, so the BatchNorm layers see them)."""
    for l in model.bn:
        model.params[f"gamma{l}"][:] = rng.uniform(0.5, 2.0, model.params[f"gamma{l}"].shape)
        model.params[f"beta{l}"][:] = rng.uniform(-1.0, 1.0, model.params[f"beta{l}"].shape)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("batchnorm", [True, False, [True, False]])
def test_whole_network_gradient_check(rng, activation, batchnorm):
    X, y = small_problem(rng)
    model = MLP([6, 7, 5, 4], batchnorm=batchnorm, rng=rng, activation=activation)
    randomize_bn(model, rng)
    errors = check_model_gradients(model, X, y)
    assert set(errors) == set(model.params)
    assert max(errors.values()) < 1e-7, errors


def test_parameter_names_and_shapes(rng):
    model = MLP([6, 7, 5, 4], batchnorm=[True, False], rng=rng)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {
        "W1": (7, 6), "gamma1": (7, 1), "beta1": (7, 1),  # batch norm: no b1
        "W2": (5, 7), "b2": (5, 1),
        "W3": (4, 5), "b3": (4, 1),
    }  # fmt: skip


def test_same_initial_weights_with_and_without_batchnorm():
    a = MLP([6, 7, 5, 4], batchnorm=True, rng=np.random.default_rng(3))
    b = MLP([6, 7, 5, 4], batchnorm=False, rng=np.random.default_rng(3))
    for l in (1, 2, 3):
        np.testing.assert_array_equal(a.params[f"W{l}"], b.params[f"W{l}"])


def test_weight_scale(rng):
    model = MLP([400, 300, 10], batchnorm=False, rng=rng, weight_scale=0.01)
    assert model.params["W1"].std() == pytest.approx(0.01, rel=0.02)
    he = MLP([400, 300, 10], batchnorm=False, rng=rng, activation="relu")
    assert he.params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_a_bias_before_batchnorm_gets_zero_gradient(rng):
    """What the lecture says about b[l]: give a BN layer a bias and its gradient is 0."""
    X, y = small_problem(rng)
    model = MLP([6, 7, 4], batchnorm=True, rng=rng, activation="tanh")
    randomize_bn(model, rng)
    b1 = rng.standard_normal((7, 1))
    W1 = model.params["W1"]

    def loss_with_bias(_):
        model.params["W1"] = W1
        Z1 = W1 @ X + b1
        # feed Z1 through the rest of the network by hand: BN, activation, output
        Zt = model.bn[1].forward(Z1)
        from bn_helpers import activation_forward, softmax_cross_entropy

        A1 = activation_forward(Zt, "tanh")
        return softmax_cross_entropy(model.params["W2"] @ A1 + model.params["b2"], y)[0]

    db1 = numerical_gradient(loss_with_bias, b1)
    assert np.abs(db1).max() < 1e-9
    # while W1 does get a gradient
    assert np.abs(numerical_gradient(loss_with_bias, W1)).max() > 1e-3


def test_optimizer_updates_reach_the_batchnorm_layers(rng):
    X, y = small_problem(rng)
    model = MLP([6, 7, 4], batchnorm=True, rng=rng)
    opt = Adam(0.1)
    for _ in range(3):
        _, grads = model.loss_and_grads(X, y)
        opt.step(model.params, grads)
    assert model.params["gamma1"] is model.bn[1].gamma
    assert model.params["beta1"] is model.bn[1].beta
    assert not np.allclose(model.bn[1].gamma, 1.0)


def test_eval_mode_uses_running_stats_and_freezes_them(rng):
    X, y = small_problem(rng, m=40)
    model = MLP([6, 7, 4], batchnorm=True, rng=rng)
    model.forward(X)  # a training-mode forward pass moves the running averages
    assert not np.allclose(model.bn[1].running_mean, 0.0)
    before = model.bn[1].running_mean.copy()
    model.eval()
    single = model.forward(X[:, :1])  # one example is fine in eval mode
    assert single.shape == (4, 1)
    np.testing.assert_array_equal(model.bn[1].running_mean, before)
    # eval outputs of one column do not depend on the other columns
    np.testing.assert_allclose(model.forward(X)[:, :1], single)


def test_evaluate_and_predict_restore_training_mode(rng):
    X, y = small_problem(rng)
    model = MLP([6, 7, 4], batchnorm=True, rng=rng)
    loss, acc = model.evaluate(X, y)
    assert model.training and model.bn[1].training
    assert 0.0 <= acc <= 1.0 and loss > 0
    assert model.predict(X).shape == (12,)
    assert model.training


def test_hidden_values_are_recorded(rng):
    X, _ = small_problem(rng)
    model = MLP([6, 7, 5, 4], batchnorm=[True, False], rng=rng, activation="sigmoid")
    model.forward(X)
    h = model.hidden
    assert set(h) == {"Z1", "Z_tilde1", "A1", "Z2", "A2", "Z3"}
    np.testing.assert_allclose(h["Z1"], model.params["W1"] @ X)
    np.testing.assert_allclose(h["Z_tilde1"].mean(axis=1), 0.0, atol=1e-12)  # gamma=1, beta=0
    np.testing.assert_allclose(h["A1"], 1 / (1 + np.exp(-h["Z_tilde1"])))


def test_gradient_check_in_float64_with_tiny_batches(rng):
    """Batch norm's coupling across examples is strongest for small m; still exact."""
    X, y = small_problem(rng, m=3)
    model = MLP([6, 5, 5, 4], batchnorm=True, rng=rng, activation="tanh")
    randomize_bn(model, rng)
    assert max(check_model_gradients(model, X, y).values()) < 1e-7


def test_rel_error_definition():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.ones(3), -np.ones(3)) == 1.0
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0


def test_running_stats_kept_restores_the_averages_even_on_error(rng):
    X, _ = small_problem(rng, m=20)
    model = MLP([6, 7, 4], batchnorm=True, rng=rng)
    before = model.bn[1].running_mean.copy()
    with model.running_stats_kept():
        model.forward(X)
        assert not np.array_equal(model.bn[1].running_mean, before)
    np.testing.assert_array_equal(model.bn[1].running_mean, before)
    with pytest.raises(ValueError):
        with model.running_stats_kept():
            model.forward(X)
            model.forward(X[:, :1])  # fails: one example in training mode
    np.testing.assert_array_equal(model.bn[1].running_mean, before)
