"""The claims notebook 06 makes, each tested so it fails if the claim stops being true."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bn_helpers import MLP, Adam, BatchNorm, ewa_update, train
from bn_helpers.widgets import draw_ewa, ewa_view, ewa_widget, format_ewa


@pytest.fixture(scope="module")
def trained(digits):
    """The notebook's network and the batch statistics recorded at every step."""
    X, y, Xt, yt = digits
    net = MLP([64, 100, 100, 10], batchnorm=True, rng=np.random.default_rng(0), activation="relu", ewa_beta=0.9)
    rec = {l: ([], []) for l in net.bn}

    def record(step, model):
        for l, bn in model.bn.items():
            rec[l][0].append(bn.cache.mu.copy())
            rec[l][1].append(bn.cache.var.copy())

    train(net, Adam(0.01), X, y, epochs=10, batch_size=32, rng=np.random.default_rng(1), callback=record, drop_last=True)
    net.forward(X)  # the whole training set as one batch: population statistics
    population = {l: (bn.cache.mu.copy(), bn.cache.var.copy()) for l, bn in net.bn.items()}
    return dict(net=net, X=X, y=y, Xt=Xt, yt=yt, rec=rec, population=population)


def fold(rec, beta):
    return {l: _fold(ms, vs, beta) for l, (ms, vs) in rec.items()}


def _fold(ms, vs, beta):
    m, v = np.zeros_like(ms[0]), np.ones_like(vs[0])
    for mu_t, var_t in zip(ms, vs):
        m, v = ewa_update(m, mu_t, beta=beta), ewa_update(v, var_t, beta=beta)
    return m, v


def with_stats(net, stats, fn):
    """Run fn with the given running statistics (None: the current ones), then restore them."""
    with net.running_stats_kept():
        for l, (m, v) in (stats or {}).items():
            net.bn[l].running_mean, net.bn[l].running_var = m, v
        return fn()


def test_predictions_depend_on_the_batch_in_training_mode(trained):
    net, Xt = trained["net"], trained["Xt"]
    rng = np.random.default_rng(0)

    def votes():
        net.train()
        out = [net.forward(np.hstack([Xt[:, :1], Xt[:, rng.choice(np.arange(1, 500), 3, replace=False)]]))[:, 0].argmax()
               for _ in range(200)]  # fmt: skip
        return np.bincount(out, minlength=10)

    v = with_stats(net, None, votes)
    assert (v > 0).sum() >= 2 and v.max() < 190  # more than one answer, often enough to matter
    net.eval()
    assert len({int(net.forward(Xt[:, :1]).argmax()) for _ in range(3)}) == 1
    net.train()


def test_running_statistics_are_the_folded_batch_statistics(trained):
    net, rec = trained["net"], trained["rec"]
    # net.forward(X) in the fixture moved the averages once more: fold that batch too
    for l, (m, v) in fold(rec, 0.9).items():
        pop_m, pop_v = trained["population"][l]
        np.testing.assert_allclose(net.bn[l].running_mean, 0.9 * m + 0.1 * pop_m)
        np.testing.assert_allclose(net.bn[l].running_var, 0.9 * v + 0.1 * pop_v)


def test_beta_trades_noise_against_lag(trained):
    err = {}
    for beta in (0.5, 0.9, 0.99, 0.999):
        est = fold(trained["rec"], beta)
        err[beta] = np.mean([np.abs(est[l][0] - trained["population"][l][0]).mean() for l in est])
    assert err[0.9] < err[0.5] and err[0.9] < err[0.999]
    assert err[0.999] > 2 * err[0.9]


def test_test_accuracy_barely_depends_on_beta(trained):
    net = trained["net"]
    accs = [with_stats(net, fold(trained["rec"], b), lambda: net.evaluate(trained["Xt"], trained["yt"])[1])
            for b in (0.5, 0.9, 0.99, 0.999)]  # fmt: skip
    accs.append(with_stats(net, trained["population"], lambda: net.evaluate(trained["Xt"], trained["yt"])[1]))
    assert min(accs) > 0.94 and max(accs) - min(accs) < 0.02


def test_momentum_conventions():
    assert ewa_update(0.0, 5.0, beta=0.9) == pytest.approx((1 - 0.1) * 0.0 + 0.1 * 5.0)  # PyTorch momentum 0.1
    assert ewa_update(0.0, 5.0, beta=0.99) == pytest.approx(0.05)  # Keras default momentum 0.99


def test_biased_versus_unbiased_running_variance():
    z = np.array([[1.0, 2.0, 3.0, 4.0]])
    a, b = BatchNorm(1, ewa_beta=0.0), BatchNorm(1, ewa_beta=0.0, unbiased_running_var=True)
    assert np.array_equal(a.forward(z), b.forward(z))
    assert a.running_var.item() == pytest.approx(1.25) and b.running_var.item() == pytest.approx(5 / 3)


def test_forgetting_eval_mode(trained):
    net, Xt, yt = trained["net"], trained["Xt"], trained["yt"]

    def pairs():
        net.train()
        with pytest.raises(ValueError, match="at least 2 examples"):
            net.forward(Xt[:, :1])
        return np.mean(np.concatenate([net.forward(Xt[:, k : k + 2]).argmax(axis=0) == yt[k : k + 2] for k in range(0, 500, 2)]))

    acc_pairs = with_stats(net, None, pairs)
    net.eval()
    acc_single = np.mean([net.forward(Xt[:, i : i + 1]).argmax() == yt[i] for i in range(500)])
    net.train()
    assert acc_single > 0.95 and acc_pairs < acc_single - 0.2


def test_training_mode_forward_moves_running_stats_without_an_update(trained):
    net, Xt = trained["net"], trained["Xt"]
    params = {k: v.copy() for k, v in net.params.items()}

    def look():
        before = {l: bn.running_mean.copy() for l, bn in net.bn.items()}
        net.train()
        for _ in range(20):
            net.forward(Xt)
        return max(np.abs(net.bn[l].running_mean - before[l]).max() for l in net.bn)

    moved = with_stats(net, None, look)
    assert moved > 0.1
    assert all(np.array_equal(net.params[k], params[k]) for k in params)


def test_ewa_widget_logic():
    v = 1.0 + 0.3 * np.random.default_rng(0).standard_normal(400)
    plain, corrected = ewa_view(v, 0.99, False, 1.0), ewa_view(v, 0.99, True, 1.0)
    assert plain["average"][0] == pytest.approx(0.01 * v[0])  # starts near 0: the start-up bias
    assert corrected["average"][0] == pytest.approx(v[0])  # corrected: exact at t = 1
    assert plain["window"] == pytest.approx(100)
    assert abs(ewa_view(v, 0.9, False, 1.0)["final_error"]) < 0.3
    assert "-0.000" not in format_ewa(ewa_view(np.ones(50), 0.5, True, 1.0))
    w = ewa_widget(v, reference=1.0)
    first = w.image.value
    w.controls["beta"].value = 0.95
    assert "average of the last ~20 steps" in w.stats.value
    w.controls["bias_correction"].value = True
    assert w.image.value != first
    fig, _ = draw_ewa(v, 0.9)
    assert fig.axes[0].get_title().startswith("Exponentially weighted")
    plt.close("all")


def test_the_slider_unit_shows_the_lag_and_the_start_up_bias(trained):
    """Notebook 06 follows layer 2's unit farthest from a mean of 0, where both effects of a large beta show."""
    population_mean = trained["population"][2][0][:, 0]
    unit = int(np.argmax(np.abs(population_mean)))
    means = np.array([mu_t[unit, 0] for mu_t in trained["rec"][2][0]])
    ref = population_mean[unit]
    assert abs(ref) > 2.0  # far from 0, where the running mean starts
    err = {b: abs(ewa_view(means, b, False, ref)["final_error"]) for b in (0.5, 0.9, 0.99)}
    assert err[0.99] > 2 * max(err[0.5], err[0.9])  # the lag: for this unit 0.99 ends furthest away
    plain, corrected = ewa_view(means, 0.99, False)["average"], ewa_view(means, 0.99, True)["average"]
    early = means[:50].mean()
    assert abs(plain[49] - early) > 0.3 * abs(early)  # start-up bias: still far from the data at step 50
    assert abs(corrected[49] - early) < 0.1 * abs(early)  # corrected: near it
    assert abs(plain[-1] - corrected[-1]) > 0.02  # and the toggle still moves the final value
    # the other layer-1 units would show nothing: their means are all 0
    assert np.abs(trained["population"][1][0]).max() < 1e-12


def test_algorithm_2_statistics_agree_closely_with_the_whole_training_set_ones(trained):
    """Ioffe and Szegedy's Algorithm 2: average batch means, and m/(m-1) times the average batch variance."""
    from bn_helpers import iterate_minibatches

    net, X, y = trained["net"], trained["X"], trained["y"]

    def algorithm_2():
        net.train()
        stats = {l: [] for l in net.bn}
        for X_t, _ in iterate_minibatches(X, y, 32, np.random.default_rng(7), drop_last=True):
            net.forward(X_t)
            for l, bn in net.bn.items():
                stats[l].append((bn.cache.mu, bn.cache.var))
        return {l: (np.mean([a for a, _ in s], axis=0), 32 / 31 * np.mean([b for _, b in s], axis=0)) for l, s in stats.items()}

    alg2 = with_stats(net, None, algorithm_2)
    for l, (mean, var) in trained["population"].items():
        assert np.abs(alg2[l][0] - mean).max() < 0.1
        rel = np.abs(alg2[l][1] / var - 1)
        assert rel.mean() < 0.03 and rel.max() < 0.1


# --- the three networks of section 2's table, and the batch-mates at the training batch size -----------------


@pytest.fixture(scope="module")
def three(digits):
    """The notebook's three networks (seeds 0, 1, 2), each with its recorded batch statistics and population ones."""
    X, y, Xt, yt = digits
    out = []
    for seed in (0, 1, 2):
        net = MLP([64, 100, 100, 10], batchnorm=True, rng=np.random.default_rng(seed), activation="relu", ewa_beta=0.9)
        rec = {l: ([], []) for l in net.bn}

        def record(step, model, rec=rec):
            for l, bn in model.bn.items():
                rec[l][0].append(bn.cache.mu.copy())
                rec[l][1].append(bn.cache.var.copy())

        train(net, Adam(0.01), X, y, epochs=10, batch_size=32, rng=np.random.default_rng(seed + 1), callback=record,
              drop_last=True)  # fmt: skip
        with net.running_stats_kept():
            net.forward(X)
            population = {l: (bn.cache.mu.copy(), bn.cache.var.copy()) for l, bn in net.bn.items()}
        out.append(dict(net=net, rec=rec, population=population, Xt=Xt, yt=yt))
    return out


def _errors(est, pop):
    return (np.mean([np.abs(est[l][0] - pop[l][0]).mean() for l in pop]),
            np.mean([np.abs(est[l][1] / pop[l][1] - 1).mean() for l in pop]))  # fmt: skip


def test_beta_0_9_gives_the_closest_means_in_every_network(three):
    for run in three:
        err = {b: _errors(fold(run["rec"], b), run["population"])[0] for b in (0.5, 0.9, 0.99, 0.999)}
        assert min(err, key=err.get) == 0.9, err
        assert 0.05 < err[0.9] < 0.07 and min(err[b] for b in (0.5, 0.99, 0.999)) > 0.09  # "0.058 to 0.067, 0.092 or more"


def test_the_two_layers_pull_beta_in_opposite_directions(three):
    """Layer 1's whole-training-set means are 0 whatever the weights: only noise, so the largest beta is best there;
    layer 2's means move with the weights: lag, so the smallest is best there; 0.9 wins only over both."""
    per_layer = {b: np.mean([[np.abs(fold(run["rec"], b)[l][0] - run["population"][l][0]).mean() for l in (1, 2)]
                             for run in three], axis=0) for b in (0.5, 0.9, 0.99, 0.999)}  # fmt: skip
    assert all(np.abs(run["population"][1][0]).max() < 1e-12 for run in three)
    layer1, layer2 = ([per_layer[b][k] for b in (0.5, 0.9, 0.99, 0.999)] for k in (0, 1))
    assert layer1 == sorted(layer1, reverse=True) and layer2 == sorted(layer2)  # monotone, in opposite directions
    assert layer1[-1] < 0.005 and layer2[0] < 0.05 and layer2[-1] > 0.5  # "0.001 ... 0.028 ... 0.598"


def test_the_31_32_bias_is_a_small_part_of_the_variance_error(three):
    biased, unbiased = [], []
    for run in three:
        rec = {l: (ms, [32 / 31 * v for v in vs]) for l, (ms, vs) in run["rec"].items()}
        biased.append(_errors(fold(run["rec"], 0.9), run["population"])[1])
        unbiased.append(_errors(fold(rec, 0.9), run["population"])[1])
    assert 0 < np.mean(biased) - np.mean(unbiased) < 0.01 and np.mean(biased) > 0.04


def test_accuracy_differences_between_good_statistics_are_the_noise_of_one_network(three):
    best = []
    for run in three:
        net, Xt, yt = run["net"], run["Xt"], run["yt"]
        acc = {b: with_stats(net, fold(run["rec"], b), lambda: net.evaluate(Xt, yt)[1]) for b in (0.5, 0.9, 0.99, 0.999)}
        acc["whole"] = with_stats(net, run["population"], lambda: net.evaluate(Xt, yt)[1])
        good = [acc[k] for k in (0.5, 0.9, 0.99, "whole")]
        assert max(good) - min(good) <= 0.01 + 1e-9  # within 1 point
        assert acc[0.999] < min(good)  # lowest in every network (in seed 0 by one image)
        best.append(max(good, key=lambda a: a) == acc["whole"])
    assert not all(best)  # the whole training set is not the best in every network


def test_batchmates_at_the_training_batch_size_change_the_prediction_less(trained):
    net, Xt = trained["net"], trained["Xt"]
    rng = np.random.default_rng(5)

    def flips(m):
        net.train()
        out = [net.forward(np.hstack([Xt[:, :1], Xt[:, rng.choice(np.arange(1, 500), m - 1, replace=False)]]))[:, 0].argmax()
               for _ in range(200)]  # fmt: skip
        return int((np.array(out) != np.bincount(out).argmax()).sum())

    f4, f32 = with_stats(net, None, lambda: flips(4)), with_stats(net, None, lambda: flips(32))
    assert f4 > 25 and f32 < 5


def test_at_batches_of_32_the_prediction_holds_but_its_probability_still_moves(trained):
    """Section 1: in batches of 32 the image keeps its class, with a probability from 0.98 to 1.00."""
    net, Xt, yt = trained["net"], trained["Xt"], trained["yt"]
    rng = np.random.default_rng(0)

    def probabilities(m):  # the notebook's draws: 200 batches of 4, then 200 of 32, from one generator
        net.train()
        p = []
        for _ in range(200):
            logits = net.forward(np.hstack([Xt[:, :1], Xt[:, rng.choice(np.arange(1, 500), m - 1, replace=False)]]))[:, 0]
            e = np.exp(logits - logits.max())
            p.append(e[yt[0]] / e.sum())
        return np.array(p)

    with_stats(net, None, lambda: probabilities(4))
    p = with_stats(net, None, lambda: probabilities(32))
    assert 0.975 < p.min() < 0.99 and p.max() > 0.995  # "from 0.98 to 1.00": high in every batch, yet not the same


def test_the_test_sets_means_are_closer_to_the_training_sets_than_the_running_means(trained):
    net, Xt, pop = trained["net"], trained["Xt"], trained["population"]

    def gaps():
        net.train()
        net.forward(Xt)
        test_mu = {l: bn.cache.mu for l, bn in net.bn.items()}
        return np.mean([np.abs(test_mu[l] - pop[l][0]).mean() for l in net.bn])

    test_gap = with_stats(net, None, gaps)
    run_gap = np.mean([np.abs(net.bn[l].running_mean - pop[l][0]).mean() for l in net.bn])
    assert test_gap < run_gap  # "less than the network's own running means do"
