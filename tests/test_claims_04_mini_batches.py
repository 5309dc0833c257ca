"""The claims notebook 04 makes, each tested so it fails if the claim stops being true."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bn_helpers import MLP, GradientDescent, batchnorm_forward, iterate_minibatches, load_mnist1d, make_optimizer, train
from bn_helpers.widgets import batch_size_widget, batch_statistics, batch_statistics_summary, draw_batch_statistics


@pytest.fixture(scope="module")
def data():
    return load_mnist1d()


def test_the_lecture_loop_updates_w_gamma_and_beta(data):
    net = MLP([40, 100, 100, 10], batchnorm=True, rng=np.random.default_rng(0), activation="relu")
    opt = GradientDescent(0.1)
    start = {k: v.copy() for k, v in net.params.items()}
    losses = []
    for X_t, y_t in iterate_minibatches(data.X_train, data.y_train, 64, np.random.default_rng(0)):
        loss, grads = net.loss_and_grads(X_t, y_t)
        assert set(grads) == set(net.params) and "b1" not in grads
        opt.step(net.params, grads)
        losses.append(loss)
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.5
    for name in ("W1", "gamma1", "beta1", "gamma2", "beta2"):
        assert np.abs(net.params[name] - start[name]).mean() > 1e-3


SETTINGS = {"gd": dict(learning_rate=0.1), "momentum": dict(learning_rate=0.1, momentum=0.9),
            "rmsprop": dict(learning_rate=1e-3), "adam": dict(learning_rate=1e-3)}  # fmt: skip


@pytest.mark.parametrize("name", list(SETTINGS))
def test_batchnorm_raises_test_accuracy_for_every_optimizer(data, name):
    acc = {}
    for bn in (False, True):
        model = MLP([40, 100, 100, 10], batchnorm=bn, rng=np.random.default_rng(0), activation="relu")
        h = train(model, make_optimizer(name, **SETTINGS[name]), data.X_train, data.y_train, epochs=15,
                  batch_size=64, rng=np.random.default_rng(1), X_val=data.X_test, y_val=data.y_test)  # fmt: skip
        acc[bn] = h["val_acc"][-1]
    assert acc[True] > acc[False] + 0.02


def test_batch_mean_spread_shrinks_like_one_over_sqrt_m():
    z = np.random.default_rng(3).gamma(2.0, 1.5, 4000)  # skewed on purpose: the rate does not need normality
    sizes = np.array([2, 4, 8, 16, 32, 64, 128, 256, 512])
    spread = [batch_statistics(z, int(m), np.random.default_rng(2))[0].std() for m in sizes]
    slope = np.polyfit(np.log(sizes), np.log(spread), 1)[0]
    assert -0.56 < slope < -0.46


@pytest.mark.parametrize("m", [2, 4, 64, 512])
def test_batch_statistics_match_sampling_theory(m):
    z = np.random.default_rng(4).normal(1.0, 2.0, 4000)
    s = batch_statistics_summary(z, m)
    assert s["mean_std"] == pytest.approx(s["predicted_mean_std"], rel=0.15)
    assert s["variance_mean"] == pytest.approx(s["predicted_variance_mean"], rel=0.05)
    assert len(s["means"]) >= 200


def test_biased_batch_variance_is_half_at_m_2():
    z = np.random.default_rng(5).normal(0.0, 3.0, 4000)
    s = batch_statistics_summary(z, 2)
    assert s["variance_mean"] / s["sigma2"] == pytest.approx(0.5, rel=0.08)


def test_small_batches_hurt_batchnorm(data):
    acc = {}
    for m in (2, 4, 16, 64):
        for bn in (False, True):
            model = MLP([40, 100, 100, 10], batchnorm=bn, rng=np.random.default_rng(0), activation="relu")
            h = train(model, make_optimizer("adam", 1e-3), data.X_train, data.y_train, epochs=2, batch_size=m,
                      rng=np.random.default_rng(1), X_val=data.X_test, y_val=data.y_test, drop_last=True)  # fmt: skip
            acc[m, bn] = h["val_acc"][-1]
    assert acc[2, True] < acc[2, False] - 0.15
    assert acc[4, True] < acc[4, False] - 0.05
    assert acc[16, True] > acc[16, False] and acc[64, True] > acc[64, False]


def test_two_examples_normalize_to_plus_minus_one(rng):
    out, cache = batchnorm_forward(rng.normal(5.0, 3.0, (6, 2)), np.ones(6), np.zeros(6))
    np.testing.assert_allclose(np.abs(out), np.sqrt(cache.var / (cache.var + 1e-5)) * np.ones((6, 2)))
    assert (np.abs(np.abs(out) - 1) < 1e-4).all()
    np.testing.assert_array_equal(np.sign(out[:, 0]), -np.sign(out[:, 1]))


def test_batch_size_widget():
    z = np.random.default_rng(0).normal(0, 1, 1000)
    w = batch_size_widget(z)
    assert "batch size 64:" in w.stats.value
    w.controls["batch_size"].value = 16
    assert "batch size 16:" in w.stats.value
    fig, s = draw_batch_statistics(z, 8)
    assert len(fig.axes) == 2 and s["batch_size"] == 8
    plt.close("all")
    with pytest.raises(ValueError, match=r"batch_size must be an integer in \[2, 1000\]; got 1"):
        batch_statistics(z, 1, np.random.default_rng(0))
