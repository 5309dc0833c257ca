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


SEEDS = [0, 1, 2]


def final_test_accuracy(data, bn, seed, optimizer, **kw):
    """The notebook's runs: seed s draws the weights and (as 100 + s) the order of the mini-batches."""
    model = MLP([40, 100, 100, 10], batchnorm=bn, rng=np.random.default_rng(seed), activation="relu")
    h = train(model, optimizer, data.X_train, data.y_train, rng=np.random.default_rng(100 + seed),
              X_val=data.X_test, y_val=data.y_test, eval_every=10**9, **kw)  # fmt: skip
    return h["val_acc"][-1]


@pytest.mark.parametrize("name", list(SETTINGS))
def test_batchnorm_raises_test_accuracy_for_every_optimizer_and_seed(data, name):
    gain = np.array([
        final_test_accuracy(data, True, s, make_optimizer(name, **SETTINGS[name]), epochs=10, batch_size=64)
        - final_test_accuracy(data, False, s, make_optimizer(name, **SETTINGS[name]), epochs=10, batch_size=64)
        for s in SEEDS])  # fmt: skip
    assert (gain > 0.015).all(), gain  # every seed
    assert 0.03 < gain.mean() < 0.08, gain  # "about 4 to 6 points"


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


@pytest.mark.unchecked_cell
def test_small_batches_hurt_batchnorm_at_equal_steps(data):
    gain = {}
    for m in (2, 4, 16, 64, 128):
        gain[m] = np.array([
            final_test_accuracy(data, True, s, make_optimizer("adam", 1e-3), epochs=10**6, max_steps=400, batch_size=m, drop_last=True)
            - final_test_accuracy(data, False, s, make_optimizer("adam", 1e-3), epochs=10**6, max_steps=400, batch_size=m, drop_last=True)
            for s in SEEDS])  # fmt: skip
    assert gain[2].mean() < -0.08 and (gain[2] < 0).all()  # "a disaster, well over 10 points"
    assert gain[4].mean() < -0.005  # "costs a few points"
    for m in (16, 64, 128):  # "from 16 up batch norm helps, in every seed, about 4 to 6 points"
        assert (gain[m] > 0).all() and 0.025 < gain[m].mean() < 0.09, (m, gain[m])


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
