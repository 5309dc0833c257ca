"""The linear-regression helpers behind notebook 01."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import linreg, numerical_gradient, rel_error


@pytest.fixture
def data(rng):
    X = rng.standard_normal((2, 50)) * np.array([[1.0], [4.0]])
    y = X.T @ np.array([1.5, -0.3]) + 0.7 + 0.1 * rng.standard_normal(50)
    return X, y


def test_cost_is_vectorized_and_optimum_is_least_squares(data):
    X, y = data
    W = np.array([[0.0, 1.0, 1.5], [0.0, 2.0, -0.3]])
    assert np.allclose(linreg.cost(W, X, y), [linreg.cost(W[:, k], X, y) for k in range(3)])
    w_star = linreg.optimum(X, y)
    grad = numerical_gradient(lambda w: linreg.cost(w, X, y), w_star.copy())
    assert np.abs(grad).max() < 1e-8


def test_gradient_descent_steps_follow_the_gradient(data):
    X, y = data
    path, costs = linreg.gradient_descent(X, y, np.array([1.0, 1.0]), 0.01, 3)
    for k in range(3):
        g = numerical_gradient(lambda w: linreg.cost(w, X, y), path[k].copy())
        assert rel_error(path[k + 1], path[k] - 0.01 * g) < 1e-9
    assert np.all(np.diff(costs) < 0)


@pytest.mark.parametrize("lr_fraction", [0.3, 0.9, 1.05])
def test_closed_form_matches_the_step_by_step_update(data, lr_fraction):
    """The closed form against the plain loop w := w - lr * X (w^T X + b - y) / m."""
    X, y = data
    lr = lr_fraction * linreg.max_stable_learning_rate(X)
    path, costs = linreg.gradient_descent(X, y, np.zeros(2), lr, 300)
    w, m = np.zeros(2), X.shape[1]
    for k in range(len(path)):
        assert np.allclose(path[k], w, rtol=1e-9, atol=1e-12 * (1 + np.abs(w).max()))
        assert costs[k] == pytest.approx(linreg.cost(w, X, y), rel=1e-9)
        w = w - lr * X @ (w @ X + y.mean() - y) / m
    if lr_fraction > 1:
        assert len(path) < 301 and costs[-1] > 1e12 * costs[0]  # stopped once it blew up


def test_stop_below_stops_at_the_first_step_under_the_target(data):
    X, y = data
    lr = 0.5 * linreg.max_stable_learning_rate(X)
    _, full = linreg.gradient_descent(X, y, np.zeros(2), lr, 200)
    target = full[37]
    path, costs = linreg.gradient_descent(X, y, np.zeros(2), lr, 200, stop_below=target)
    assert len(costs) == np.flatnonzero(full <= target)[0] + 1 and costs[-1] <= target


def test_hessian_and_condition_number(data):
    X, _ = data
    H = linreg.hessian(X)
    assert np.allclose(H, X @ X.T / 50)
    eig = np.linalg.eigvalsh(H)
    assert linreg.condition_number(X) == pytest.approx(eig[1] / eig[0])
    assert linreg.max_stable_learning_rate(X) == pytest.approx(2 / eig[1])


def test_bad_input(data):
    X, y = data
    with pytest.raises(ValueError, match=r"y must have shape \(50,\)"):
        linreg.cost(np.zeros(2), X, y[:10])
    with pytest.raises(ValueError, match=r"w0 must have shape \(2,\)"):
        linreg.gradient_descent(X, y, np.zeros(3), 0.1, 5)
    with pytest.raises(ValueError, match=r"tol must be in \(0\.0, 1\.0\)"):
        linreg.steps_to_converge(X, y, np.zeros(2), 0.1, tol=0)


def test_the_best_learning_rate_shrinks_the_slowest_direction_fastest(data):
    X = data[0]
    lam = np.linalg.eigvalsh(linreg.hessian(X))
    worst = lambda lr: np.max(np.abs(1 - lr * lam))  # noqa: E731  (the slowest direction's factor per step)
    best = linreg.best_learning_rate(X)
    kappa = linreg.condition_number(X)
    assert worst(best) == pytest.approx((kappa - 1) / (kappa + 1))
    for other in np.linspace(0.05, 1.95, 39) * linreg.max_stable_learning_rate(X):
        assert worst(other) >= worst(best) - 1e-12
    with pytest.raises(ValueError, match="X"):
        linreg.best_learning_rate(np.ones(3))
