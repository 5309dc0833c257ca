"""The claims notebook 05 makes, each tested so it fails if the claim stops being true."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import (
    MLP,
    Adam,
    GradientDescent,
    load_mnist1d,
    make_covariate_shift,
    train,
)
from bn_helpers.experiments import NOISE_VARIANTS, figure1, noisy_batchnorm_run


@pytest.fixture(scope="module")
def D(digits):
    return digits


@pytest.fixture(scope="module")
def M():
    m = load_mnist1d()
    return m.X_train, m.y_train, m.X_test, m.y_test


def test_covariate_shift_breaks_the_cat_detector():
    rng = np.random.default_rng(0)
    X, y = make_covariate_shift(2000, rng, shift=0.0)
    det = MLP([2, 16, 2], batchnorm=False, rng=np.random.default_rng(0), activation="tanh")
    train(det, Adam(0.01), X, y, epochs=30, batch_size=64, rng=rng)
    acc = {s: det.evaluate(*make_covariate_shift(2000, np.random.default_rng(10 + s), shift=float(s)))[1] for s in (0, 3)}
    assert acc[0] > 0.95 and acc[3] < 0.75


@pytest.fixture(scope="module")
def fig1(D, M):
    return {(name, bn): figure1(*data, batchnorm=bn, steps=2000) for name, data in [("digits", D), ("mnist1d", M)]
            for bn in (False, True)}  # fmt: skip


@pytest.mark.parametrize("name", ["digits", "mnist1d"])
def test_figure1_batchnorm_trains_faster_and_better(fig1, name):
    plain, bn = fig1[name, False]["history"], fig1[name, True]["history"]
    at500 = {k: h["val_acc"][list(h["step"]).index(500)] for k, h in [("plain", plain), ("bn", bn)]}
    assert at500["bn"] > at500["plain"] + 0.05
    assert bn["val_acc"][-1] > plain["val_acc"][-1]


@pytest.mark.parametrize("name", ["digits", "mnist1d"])
def test_figure1_percentiles_drift_without_batchnorm(fig1, name):
    median_moved = {bn: np.ptp(fig1[name, bn]["percentiles"][:, 1]) for bn in (False, True)}
    assert median_moved[False] > 0.8 and median_moved[True] < 0.6
    assert median_moved[False] > 1.5 * median_moved[True]


def test_figure1_mnist1d_plain_unit_saturates(fig1):
    p = fig1["mnist1d", False]["percentiles"][-1]
    assert p[2] < -2.0  # even the 85th percentile sits in the sigmoid's flat tail


def test_drift_section_mean_and_variance(fig1):
    plain, bn = fig1["digits", False], fig1["digits", True]
    assert plain["var"][0] < 0.01 and plain["var"].max() > 2.5
    assert np.abs(bn["mean"]).max() < 0.2
    assert abs(bn["var"][0] - 1) < 0.01 and bn["var"].max() < 3.0


def test_figure1_recording_changes_no_running_statistics(D):
    X, y, Xt, yt = D
    a = figure1(X, y, Xt, yt, batchnorm=True, steps=60, record_every=20)
    b = figure1(X, y, Xt, yt, batchnorm=True, steps=60, record_every=7)  # more recordings, same training
    for l in a["model"].bn:
        np.testing.assert_array_equal(a["model"].bn[l].running_mean, b["model"].bn[l].running_mean)


@pytest.mark.unchecked_cell
def test_batchnorm_tolerates_a_wide_range_of_learning_rates(D):
    X, y, Xt, yt = D
    acc = {}
    for lr in (0.1, 8.0, 32.0):
        for bn in (False, True):
            net = MLP([64, 100, 100, 100, 10], batchnorm=bn, rng=np.random.default_rng(0), activation="sigmoid", weight_scale=0.1)
            h = train(net, GradientDescent(lr), X, y, epochs=10, batch_size=60, rng=np.random.default_rng(1),
                      X_val=Xt, y_val=yt, drop_last=True, eval_every=10**9)  # fmt: skip
            acc[lr, bn] = h["val_acc"][-1]
    assert acc[0.1, True] > 0.9 and acc[8.0, True] > 0.9
    assert acc[0.1, False] < 0.5 and acc[8.0, False] < 0.2
    # Learning rate 32, chaotic (its cell is not compared): batch norm still trains, far above chance,
    # without it the network is back at guessing.
    assert acc[32.0, True] > 0.5 and acc[32.0, False] < 0.2


def test_regularization_effect_is_slight_and_only_with_small_batches(M):
    X, y, Xt, yt = M
    shrink = {}
    for m in (64, 512):
        diffs = []
        for seed in range(3):
            gap = {}
            for bn in (False, True):
                net = MLP([40, 100, 100, 10], batchnorm=bn, rng=np.random.default_rng(seed), activation="relu")
                h = train(net, Adam(1e-3), X, y, epochs=10, batch_size=m, rng=np.random.default_rng(100 + seed), X_val=Xt, y_val=yt)
                gap[bn] = h["train_acc"][-1] - h["val_acc"][-1]
            diffs.append(gap[False] - gap[True])
        shrink[m] = np.array(diffs)
    assert (shrink[64] > 0).all() and 0.005 < shrink[64].mean() < 0.06  # a few points, every seed
    assert abs(shrink[512].mean()) < 0.015


@pytest.fixture(scope="module")
def noise_runs(D):
    """The notebook's runs: three variants of the Figure 1 network, 3 seeds each, probed every 140 steps."""
    return {(kind, seed): noisy_batchnorm_run(*D, variant=kind, seed=seed) for seed in (0, 1, 2) for kind in NOISE_VARIANTS}


def over_seeds(noise_runs, kind, fn):
    return np.array([fn(noise_runs[kind, s]) for s in (0, 1, 2)])


def test_noisy_batchnorm_trains_as_well_as_batchnorm_despite_moving_inputs(noise_runs):
    acc = {k: over_seeds(noise_runs, k, lambda r: r["accuracy"]) for k in NOISE_VARIANTS}
    assert (np.abs(acc["noisy batch norm"] - acc["batch norm"]) < 0.01).all()  # within a point, every seed
    assert (acc["without batch norm"] < acc["batch norm"]).all()  # the plain network is behind at 840 steps
    moves = {k: over_seeds(noise_runs, k, lambda r: r["moves"]).mean() for k in NOISE_VARIANTS}
    assert moves["noisy batch norm"] > 3 * moves["without batch norm"] > 30 * moves["batch norm"]


def probe_mean(noise_runs, kind, which, fn):
    return np.mean([fn(p[which]) for s in (0, 1, 2) for p in noise_runs[kind, s]["probes"]])


def test_batchnorm_is_smoother_but_much_less_so_at_equal_step_lengths(noise_runs):
    plain, bn, noisy = NOISE_VARIANTS
    loss_range = {(k, w): probe_mean(noise_runs, k, w, lambda p: np.ptp(p["losses"])) for k in NOISE_VARIANTS for w in (0, 1)}
    change = {(k, w): probe_mean(noise_runs, k, w, lambda p: p["grad_change"].max()) for k in NOISE_VARIANTS for w in (0, 1)}
    smooth = {k: probe_mean(noise_runs, k, 1, lambda p: p["smoothness"]) for k in NOISE_VARIANTS}
    norm = {k: probe_mean(noise_runs, k, 1, lambda p: p["grad_norm"]) for k in NOISE_VARIANTS}
    # naive (steps eta * g): many times wider loss range, much larger gradient change
    assert loss_range[plain, 0] > 15 * loss_range[bn, 0] and change[plain, 0] > 3 * change[bn, 0]
    assert 2 < norm[plain] / norm[bn] < 3.5  # "two to three times larger"
    # fair (equal lengths): still smoother with batch norm, but the ratios shrink a lot
    assert 2 < loss_range[plain, 1] / loss_range[bn, 1] < loss_range[plain, 0] / loss_range[bn, 0] / 3
    assert 1.5 < change[plain, 1] / change[bn, 1] < change[plain, 0] / change[bn, 0]
    assert 1.1 < smooth[plain] / smooth[bn] < 2.0
    # noisy: close to batch norm on loss range and gradient change, between the two on smoothness
    assert loss_range[noisy, 1] < 1.5 * loss_range[bn, 1] and change[noisy, 1] < 1.3 * change[bn, 1]
    assert smooth[bn] < smooth[noisy] < smooth[plain]


def test_the_noise_batch_statistics_add_to_one_example_shrinks_like_one_over_sqrt_m(M):
    """Section 4's demonstration: example 0's normalized value across 300 random batches that contain it."""
    from bn_helpers import batchnorm_forward

    z = (MLP([40, 100, 10], batchnorm=False, rng=np.random.default_rng(0)).params["W1"] @ M[0])[0]
    rng = np.random.default_rng(8)
    spread = {}
    for m in (4, 16, 64):
        others = np.array([rng.choice(np.arange(1, z.size), m - 1, replace=False) for _ in range(300)])
        batches = np.hstack([np.zeros((300, 1), dtype=int), others])
        spread[m] = batchnorm_forward(z[batches], np.ones((300, 1)), np.zeros((300, 1)))[0][:, 0].std()
    # four times the batch, about half the spread
    assert 1.6 < spread[4] / spread[16] < 2.8 and 1.6 < spread[16] / spread[64] < 2.8
