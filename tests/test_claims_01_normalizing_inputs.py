"""The claims notebook 01 makes, each tested so it fails if the claim stops being true."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bn_helpers import MLP, input_statistics, linreg, load_digits, make_two_scale_regression, normalize_inputs
from bn_helpers.widgets import draw_scale_ratio, scale_ratio_view


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X, y = make_two_scale_regression(200, rng, scale_ratio=10)
    mu, var = input_statistics(X)
    X_test, y_test = make_two_scale_regression(500, rng, scale_ratio=10)
    return X, y, normalize_inputs(X, mu, var), mu, var, X_test, y_test


def test_normalizing_makes_the_bowl_round_and_descent_fast(problem):
    X, y, Xn, *_ = problem
    assert linreg.condition_number(X) > 50
    assert linreg.condition_number(Xn) < 1.5
    steps = {name: linreg.steps_to_converge(XX, y, np.zeros(2), 0.9 * linreg.max_stable_learning_rate(XX))
             for name, XX in [("raw", X), ("norm", Xn)]}  # fmt: skip
    assert steps["raw"] > 10 * steps["norm"]


@pytest.mark.parametrize("which", ["raw", "norm"])
def test_two_over_lambda_max_is_the_stability_limit(problem, which):
    X, y, Xn, *_ = problem
    XX = X if which == "raw" else Xn
    lr_max = linreg.max_stable_learning_rate(XX)
    assert linreg.steps_to_converge(XX, y, np.zeros(2), 0.99 * lr_max) is not None
    assert linreg.steps_to_converge(XX, y, np.zeros(2), 1.01 * lr_max) is None
    _, costs = linreg.gradient_descent(XX, y, np.zeros(2), 1.01 * lr_max, 5000)
    assert costs[-1] > 1e6 * costs[0]  # it really blows up


def test_kappa_grows_like_ratio_squared_and_normalized_stays_flat():
    views = {r: scale_ratio_view(r) for r in (3, 10, 30)}
    k = {r: v["raw"]["kappa"] for r, v in views.items()}
    assert k[3] < k[10] < k[30]
    assert 5 < k[30] / k[10] < 15  # (30 / 10)^2 = 9
    assert all(v["normalized"]["kappa"] < 1.5 for v in views.values())
    steps = [v["raw"]["steps"] for v in views.values()]
    assert steps == sorted(steps) and steps[-1] > 50 * views[30]["normalized"]["steps"]


def test_own_statistics_hurt_the_test_predictions(problem):
    _, y, Xn, mu, var, X_test, y_test = problem
    w, b = linreg.optimum(Xn, y), y.mean()

    def mse(Xnorm, yy):
        return np.mean((w @ Xnorm + b - yy) ** 2)

    def own(XX):
        return normalize_inputs(XX, *input_statistics(XX))

    right = mse(normalize_inputs(X_test, mu, var), y_test)
    assert mse(own(X_test), y_test) > 2 * right
    batches4 = np.mean([mse(own(X_test[:, k : k + 4]), y_test[k : k + 4]) for k in range(0, 500, 4)])
    assert batches4 > 20 * right
    # a single example normalized with its own mean is all zeros: one prediction for everything
    singles = [own(X_test[:, i : i + 1]) for i in range(5)]
    assert all(np.array_equal(s, np.zeros((2, 1))) for s in singles)
    shifted = X_test[0] > 1
    assert mse(own(X_test[:, shifted]), y_test[shifted]) > 100 * mse(normalize_inputs(X_test[:, shifted], mu, var), y_test[shifted])


def test_hidden_z_is_not_normalized_by_normalizing_x():
    d = load_digits()
    mu, var = input_statistics(d.X_train)
    net = MLP([64, 50, 50, 10], batchnorm=False, rng=np.random.default_rng(0), activation="sigmoid")
    net.forward(normalize_inputs(d.X_train, mu, var))
    Z2 = net.hidden["Z2"]
    assert np.abs(Z2.mean(axis=1)).max() > 0.5
    assert Z2.std(axis=1).max() < 0.5
    Z1 = net.hidden["Z1"]
    assert np.abs(Z1.mean(axis=1)).max() < 1e-12  # centred inputs give centred z[1], but spreads differ
    assert Z1.std(axis=1).max() / Z1.std(axis=1).min() > 1.5


@pytest.mark.parametrize("rho", [0.9, 0.95])
def test_normalizing_does_not_remove_correlation(rho):
    rng = np.random.default_rng(1)
    L = np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]]))
    X = (L @ rng.standard_normal((2, 5000))) * np.array([[1.0], [10.0]])
    kappa = linreg.condition_number(normalize_inputs(X, *input_statistics(X)))
    assert kappa == pytest.approx((1 + rho) / (1 - rho), rel=0.1)


def test_scale_ratio_widget_view_and_drawing():
    fig, view = draw_scale_ratio(10)
    assert len(fig.axes) == 3  # the two bowls and their colour bar
    for v in view.values():
        assert v["path"].shape[1] == 2 and np.allclose(v["path"][0], 0.0)
        assert np.linalg.norm(v["path"][-1] - v["w_star"]) < 1e-2
    plt.close(fig)


def test_the_weights_are_2_and_minus_1_in_standard_units_and_ten_times_apart_raw(problem):
    X, y, Xn, *_ = problem
    w_norm, w_raw = linreg.optimum(Xn, y), linreg.optimum(X, y)
    assert w_norm == pytest.approx([2.0, -1.0], abs=0.15)  # not "equal": 2 and -1
    assert abs(w_raw[1]) * 8 < abs(w_norm[1]) < abs(w_raw[1]) * 12  # the wide feature's weight is ~10x smaller raw


def test_at_the_best_rate_the_raw_path_zigzags_and_the_normalized_one_heads_straight_in(problem):
    """The figure's runs: 398 vs 3 steps; raw, the steep direction's error changes sign each step and barely shrinks."""
    X, y, Xn, *_ = problem
    view = scale_ratio_view(10)
    assert (view["raw"]["steps"], view["normalized"]["steps"]) == (398, 3)
    for name, XX in (("raw", X), ("normalized", Xn)):
        v = view[name]
        assert v["learning_rate"] == pytest.approx(linreg.best_learning_rate(XX))
        eigval, eigvec = np.linalg.eigh(linreg.hessian(XX))
        along = (v["path"][:6] - v["w_star"]) @ eigvec[:, -1]
        ratios = along[1:] / along[:-1]
        kappa = eigval[-1] / eigval[0]
        assert np.allclose(ratios, -(kappa - 1) / (kappa + 1), rtol=1e-6)  # the steepest axis: sign flips
    assert linreg.best_learning_rate(X) / linreg.max_stable_learning_rate(X) == pytest.approx(0.99, abs=0.005)  # "99%"
    # normalized, every step lands much closer: no bounce
    d = np.linalg.norm(view["normalized"]["path"] - view["normalized"]["w_star"], axis=1)
    assert np.all(d[1:] < 0.1 * d[:-1])
    # the raw minimum's w2 times the ratio is about -1 (the inset's stretched axis)
    assert -1.2 < view["raw"]["w_star"][1] * 10 < -0.8


def test_the_normalized_path_bounces_across_the_minimum(problem):
    """At 90% of the step limit the steep direction's error is multiplied by about -0.8 each step."""
    _, y, Xn, *_ = problem
    view = scale_ratio_view(10, lr_fraction=0.9)["normalized"]
    assert view["steps"] == 31 and scale_ratio_view(10, lr_fraction=0.9)["raw"]["steps"] == 429
    path, w_star = view["path"], view["w_star"]
    eigval, eigvec = np.linalg.eigh(linreg.hessian(Xn))
    steep = eigvec[:, -1]
    along = (path[:8] - w_star) @ steep
    ratios = along[1:] / along[:-1]
    assert np.allclose(ratios, 1 - 0.9 * 2, atol=0.02)  # -0.8: back and forth, shrinking by a fifth
    # the first step lands beyond the minimum, nearly as far from it as the start
    assert np.linalg.norm(path[1] - w_star) > 0.6 * np.linalg.norm(path[0] - w_star)


def test_own_statistics_raise_the_error_in_every_one_of_200_draws():
    """Section 3's spread: 200 redrawn training and test sets (seeds 1000-1199), as the notebook draws them."""
    penalty = []
    for seed in range(1000, 1200):
        r = np.random.default_rng(seed)
        X_tr, y_tr = make_two_scale_regression(200, r, scale_ratio=10)
        X_te, y_te = make_two_scale_regression(500, r, scale_ratio=10)
        mu, var = input_statistics(X_tr)
        w, b = linreg.optimum(normalize_inputs(X_tr, mu, var), y_tr), y_tr.mean()
        mse = lambda X_n: np.mean((w @ X_n + b - y_te) ** 2)  # noqa: E731
        penalty.append(mse(normalize_inputs(X_te, *input_statistics(X_te))) / mse(normalize_inputs(X_te, mu, var)))
    penalty = np.array(penalty)
    assert penalty.min() > 1.05  # "in every one of the 200 draws"
    assert round(np.median(penalty), 1) == 4.7 and np.median(penalty) > 1.2  # the question's answer: "higher"
    assert round(np.percentile(penalty, 10), 1) == 1.7 and round(np.percentile(penalty, 90), 1) == 13.2
    assert 0.8 < np.mean(penalty < 0.1207 / 0.0109) < 0.95  # "the first draw's 11 times is one of the larger"


def test_the_raw_steps_grow_about_nine_times_from_ratio_10_to_30():
    growth = scale_ratio_view(30)["raw"]["steps"] / scale_ratio_view(10)["raw"]["steps"]
    assert 5 < growth <= 20 and round(growth) == 9  # the question's (c)


def test_centring_normalizing_and_whitening_each_do_their_part():
    rng = np.random.default_rng(11)
    L = np.linalg.cholesky(np.array([[1.0, 0.9], [0.9, 1.0]]))
    X = (L @ rng.standard_normal((2, 500))) * np.array([[1.0], [10.0]]) + np.array([[50.0], [500.0]])
    mu, var = input_statistics(X)
    Xc = X - mu
    ev, U = np.linalg.eigh(Xc @ Xc.T / X.shape[1])
    k = [linreg.condition_number(A) for A in (X, Xc, normalize_inputs(X, mu, var), np.diag(ev**-0.5) @ U.T @ Xc)]
    assert k[0] > 1e5 and 200 < k[1] < 1500 and 12 < k[2] < 30 and abs(k[3] - 1) < 1e-6, k
    assert abs(k[2] - 19) < 6  # "(1 + rho) / (1 - rho) = 19, as above"
