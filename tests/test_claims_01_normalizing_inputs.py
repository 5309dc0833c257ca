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


def test_the_normalized_path_bounces_across_the_minimum(problem):
    """At 90% of the step limit the steep direction's error is multiplied by about -0.8 each step."""
    _, y, Xn, *_ = problem
    view = scale_ratio_view(10)["normalized"]
    path, w_star = view["path"], view["w_star"]
    eigval, eigvec = np.linalg.eigh(linreg.hessian(Xn))
    steep = eigvec[:, -1]
    along = (path[:8] - w_star) @ steep
    ratios = along[1:] / along[:-1]
    assert np.allclose(ratios, 1 - 0.9 * 2, atol=0.02)  # -0.8: back and forth, shrinking by a fifth
    # the first step lands beyond the minimum, nearly as far from it as the start
    assert np.linalg.norm(path[1] - w_star) > 0.6 * np.linalg.norm(path[0] - w_star)
