"""The claims notebook 04 makes, each tested so it fails if the claim stops being true."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bn_helpers import (MLP, GradientDescent, MultiSeedMLP, RMSprop, adam_step, batchnorm_forward, iterate_minibatches, load_mnist1d,
                        make_optimizer, train, train_seeds)
from bn_helpers.experiments import accuracy_by_statistics, batch_size_runs
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


@pytest.fixture(scope="module")
def optimizer_runs(data):
    """Section 2's runs as the notebook makes them: (optimizer, bn) -> one history per seed."""
    runs = {}
    for name, hyper in SETTINGS.items():
        for bn in (False, True):
            nets = MultiSeedMLP([40, 100, 100, 10], batchnorm=bn, rngs=[np.random.default_rng(s) for s in SEEDS], activation="relu")
            runs[name, bn] = train_seeds(nets, make_optimizer(name, **hyper), data.X_train, data.y_train, epochs=10,
                                         batch_size=64, rngs=[np.random.default_rng(100 + s) for s in SEEDS],
                                         X_val=data.X_test, y_val=data.y_test, eval_every=10**9, progress=False)  # fmt: skip
    return runs


def _final(runs, name, bn, split="val"):
    return 100 * np.array([h[f"{split}_acc"][-1] for h in runs[name, bn]])


@pytest.mark.parametrize("name", list(SETTINGS))
def test_batchnorm_raises_test_accuracy_for_every_optimizer_and_seed(optimizer_runs, name):
    gain = _final(optimizer_runs, name, True) - _final(optimizer_runs, name, False)
    assert (gain > 1.5).all(), gain  # every seed
    assert 3 < gain.mean() < 8, gain  # "about 4 to 6 points"


def test_no_optimizer_gains_significantly_more_and_momentum_is_gradient_descent_here(optimizer_runs):
    gains = {name: _final(optimizer_runs, name, True) - _final(optimizer_runs, name, False) for name in SETTINGS}
    diffs = {(a, b): gains[a] - gains[b] for a in SETTINGS for b in SETTINGS if a != b}
    a, b = max(diffs, key=lambda p: diffs[p].mean())
    d = diffs[a, b]
    t = d.mean() / (d.std(ddof=1) / np.sqrt(3))
    assert (a, b) == ("adam", "momentum") and round(d.mean(), 1) == 1.5 and 1.4 < t < 2.0, (a, b, d, t)  # "1.7 SE"
    assert t < 4.3  # the t-test's 95% threshold with 2 degrees of freedom
    for bn in (False, True):  # "within a point of each other"
        assert abs(_final(optimizer_runs, "momentum", bn).mean() - _final(optimizer_runs, "gd", bn).mean()) < 1.0
    assert _final(optimizer_runs, "rmsprop", False, "train").mean() == max(
        _final(optimizer_runs, n, bn, "train").mean() for n in SETTINGS for bn in (False, True))  # "fits best"


def test_the_training_loss_shows_no_speed_up_from_batch_norm_here(optimizer_runs):
    def per_epoch(name, bn):  # (seeds, epochs): the figure's curves
        return np.array([h["batch_loss"].reshape(10, -1).mean(axis=1) for h in optimizer_runs[name, bn]])

    for name in ("gd", "momentum", "adam"):  # "nearly coincide ... end at the same loss"
        without, with_bn = per_epoch(name, False), per_epoch(name, True)
        assert abs(with_bn[:, -1].mean() - without[:, -1].mean()) < 0.05, name
        assert (with_bn.mean(axis=0)[2:6] < without.mean(axis=0)[2:6]).all(), name  # "a little lower in the middle"
        assert (without.mean(axis=0) - with_bn.mean(axis=0)).max() < 0.15, name
    without, with_bn = per_epoch("rmsprop", False), per_epoch("rmsprop", True)
    assert with_bn[:, 0].max() < without[:, 0].min()  # "batch norm starts lower"
    assert (without.mean(axis=0)[3:] < with_bn.mean(axis=0)[3:]).all()  # "from about epoch 4 ... without is lower"
    assert (without[:, 5:].max(axis=0) < with_bn[:, 5:].min(axis=0)).all()  # and in every seed from epoch 6


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


@pytest.fixture(scope="module")
def batch_size_sweep(data):
    """Section 4's runs, as the notebook makes them (with the package's adam_step, the solution's arithmetic)."""
    return batch_size_runs(data.X_train, data.y_train, data.X_test, data.y_test, batch_sizes=[2, 4, 8, 16, 32, 64, 128],
                           steps=400, examples=3200, seeds=SEEDS, learning_rate=1e-3, adam_step=adam_step)  # fmt: skip


@pytest.mark.unchecked_cell
def test_small_batches_hurt_batchnorm_under_both_budgets(batch_size_sweep):
    acc, _ = batch_size_sweep
    gain = {(d, m): acc[d, m, True] - acc[d, m, False] for d in ("steps", "examples") for m in [2, 4, 8, 16, 32, 64, 128]}
    for design in ("steps", "examples"):
        assert (gain[design, 2] < -8).all() and gain[design, 2].mean() < -10, gain[design, 2]  # "about 10 or more"
        assert (gain[design, 4] < -1).all() and gain[design, 4].mean() > -8, gain[design, 4]  # "a few points, every seed"
        assert all(gain[design, m].mean() > 1 for m in (8, 16, 32, 64, 128))  # "from 8 up it helps (on average)"
    assert all((gain["steps", m] > 0.5).all() for m in (8, 16, 32, 64, 128))  # at equal steps in every seed
    assert all((gain["examples", m] > 0).all() for m in (8, 16, 32, 64))  # "in every seed from 8 to 64"
    assert (gain["examples", 128] > -1).all()  # "at 128 one seed ties"
    # at equal steps both score higher with larger batches; at equal examples the plain network does best at 2
    assert acc["steps", 128, False].mean() > acc["steps", 2, False].mean() + 10
    assert acc["steps", 128, True].mean() > acc["steps", 2, True].mean() + 20
    plain = {m: acc["examples", m, False].mean() for m in [2, 4, 8, 16, 32, 64, 128]}
    assert max(plain, key=plain.get) == 2 and 33 < plain[2] < 40 and 20 < plain[128] < 26, plain  # "about 36 ... 23"


@pytest.mark.unchecked_cell
def test_better_statistics_do_not_rescue_batch_size_2(data, batch_size_sweep):
    acc, nets = batch_size_sweep
    ways = {m: [accuracy_by_statistics(net, m, data.X_train, data.X_test, data.y_test) for net in nets[m]]
            for m in (2, 4, 8, 16)}  # fmt: skip
    mean = {m: {k: np.mean([w[k] for w in ways[m]]) for k in ways[m][0]} for m in ways}
    assert [w["running averages"] for w in ways[2]] == pytest.approx(acc["steps", 2, True])  # the sweep's numbers
    eval_modes = ("running averages", "unbiased running variance", "recomputed on the training set")
    for m in (2, 4, 8, 16):
        values = [mean[m][k] for k in eval_modes]
        assert max(values) - min(values) < 1.5, (m, values)  # "within about a point"
    assert all(11 < mean[2][k] < 19 for k in eval_modes)  # "all near 15%"
    assert all((np.array([w[k] for w in ways[2]]) < acc["steps", 2, False] - 8).all() for k in eval_modes)  # far below
    assert mean[2]["training mode, test batches"] < min(mean[2][k] for k in eval_modes)  # "worse still"
    assert 10 < mean[2]["training mode, test batches"] < 16  # "only a few points above the 10% of guessing"
    for m in (4, 8, 16):  # "training mode is 4 to 6 points below them"
        gap = min(mean[m][k] for k in eval_modes) - mean[m]["training mode, test batches"]
        assert 3.3 < gap < 7, (m, gap)  # "about 4 to 6"
    assert max(mean[4][k] for k in eval_modes) < acc["steps", 4, False].mean()  # "at 4 ... stays below"


def test_the_unbiased_running_variance_is_the_biased_one_times_m_over_m_minus_1(data):
    """accuracy_by_statistics's second way is what unbiased_running_var=True averages (training never reads it)."""
    runs = {}
    for unbiased in (False, True):
        model = MultiSeedMLP([40, 20, 10], batchnorm=True, rngs=[np.random.default_rng(0)], unbiased_running_var=unbiased)
        train_seeds(model, make_optimizer("adam", 1e-3), data.X_train, data.y_train, epochs=1, max_steps=200, batch_size=4,
                    rngs=[np.random.default_rng(1)], drop_last=True, progress=False)  # fmt: skip
        runs[unbiased] = model.seed(0)
    for l, bn in runs[False].bn.items():
        np.testing.assert_array_equal(runs[True].params[f"W{l}"], runs[False].params[f"W{l}"])
        np.testing.assert_allclose(runs[True].bn[l].running_var, bn.running_var * 4 / 3, rtol=1e-9)


def test_adams_first_step_sizes_as_the_notebook_says():
    """Without corrections the first step is 0.1 / sqrt(0.001) = 3.2 alpha; with v corrected only, 31.6 alpha."""
    g = np.array([[0.3, -2.0, 1e-3]])
    v, s = 0.1 * g, 0.001 * g**2
    np.testing.assert_allclose(np.abs(v / np.sqrt(s)), 3.162, rtol=1e-3)
    np.testing.assert_allclose(np.abs((v / 0.1) / np.sqrt(s)), 31.62, rtol=1e-3)
    params = {"W1": np.zeros((1, 3))}
    adam_step(params, {"W1": g}, {"W1": np.zeros((1, 3))}, {"W1": np.zeros((1, 3))}, 1, learning_rate=0.01)
    np.testing.assert_allclose(np.abs(params["W1"]), 0.01, rtol=1e-4)  # "with both corrections, alpha"
    # RMSprop on a steady gradient: "its first step is 31.6 alpha, its tenth about 10 alpha, still 1.5 alpha at step 630"
    optimizer, w = RMSprop(1.0), {"W": np.zeros((1, 1))}
    steps = []
    for _ in range(630):
        before = w["W"].copy()
        optimizer.step(w, {"W": np.full((1, 1), 0.7)})
        steps.append(float(np.abs(w["W"] - before)[0, 0]))
    assert round(steps[0], 1) == 31.6 and round(steps[9]) == 10 and round(steps[629], 1) == 1.5


def test_the_spread_of_248_batch_means_is_uncertain_by_a_few_percent():
    """Section 3's word on 0.184 against 0.169 at m = 64: the notebook's unit, redrawn."""
    net = MLP([40, 100, 100, 10], batchnorm=True, rng=np.random.default_rng(0), activation="relu")
    data = load_mnist1d()
    rng = np.random.default_rng(0)
    optimizer = GradientDescent(learning_rate=0.1)
    for X_t, y_t in iterate_minibatches(data.X_train, data.y_train, batch_size=64, rng=rng):
        optimizer.step(net.params, net.loss_and_grads(X_t, y_t)[1])
    net.forward(data.X_train)
    z = net.hidden["Z1"][0]
    first = batch_statistics(z, 64, np.random.default_rng(0))[0].std()
    redraws = np.array([batch_statistics(z, 64, np.random.default_rng(k))[0].std() for k in range(1, 201)])
    theory = z.std() / 8 * np.sqrt((4000 - 64) / 3999)
    assert round(first, 3) == 0.184 and round(theory, 3) == 0.169
    assert np.percentile(redraws, 5) < theory < np.percentile(redraws, 95) < first  # "one of the high ones"
    assert abs(np.median(redraws) - theory) < 0.003
    v4 = batch_statistics(z, 4, np.random.default_rng(0))[1]  # the picture at m = 4: skewed batch variances
    assert np.median(v4) < 0.6 * z.var() and 0.4 < np.mean(v4 < z.var() / 2) < 0.5 and 0.03 < np.mean(v4 > 2 * z.var()) < 0.08


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
