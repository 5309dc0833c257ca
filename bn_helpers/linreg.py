"""Gradient descent on a linear regression: why normalized inputs train faster.

The cost ``J(w) = 1/(2m) * ||w^T X + b - y||^2`` of a linear model with inputs
``X`` ``(n_x, m)`` is a quadratic bowl whose shape is set by the Hessian
``H = X X^T / m``. Gradient descent is stable for learning rates below
``2 / lambda_max(H)``, and at such a rate it needs about ``kappa = lambda_max /
lambda_min`` steps per factor ``e`` of progress along the flattest direction.
Features on very different scales make ``kappa`` large (an elongated bowl);
normalized features make it close to 1 (a round bowl).

The intercept ``b`` is held at ``mean(y)``: for centred features it does not
interact with ``w``, so the bowl over ``w`` is the whole story.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_matrix, check_finite, check_int, check_scalar


def _check_xy(X, y):
    X = as_matrix(X, "X")
    check_finite(X, "X")
    y = np.asarray(y, dtype=float)
    if y.shape != (X.shape[1],):
        raise ValueError(f"y must have shape ({X.shape[1]},), one target per column of X; got shape {y.shape}")
    return X, y


def hessian(X):
    """``X X^T / m`` ``(n_x, n_x)``: the curvature of the mean squared error (same for every ``w``)."""
    X = as_matrix(X, "X")
    return X @ X.T / X.shape[1]


def condition_number(X):
    """``lambda_max / lambda_min`` of :func:`hessian`: 1 for a round bowl, large for an elongated one."""
    eig = np.linalg.eigvalsh(hessian(X))
    return float(eig[-1] / eig[0])


def max_stable_learning_rate(X):
    """``2 / lambda_max``: gradient descent diverges at any larger learning rate."""
    return float(2.0 / np.linalg.eigvalsh(hessian(X))[-1])


def cost(W, X, y):
    """Mean squared error (halved) for one ``w`` ``(n_x,)`` or many stacked as columns ``(n_x, k)``.

    Returns a float, or an array ``(k,)``. The intercept is ``mean(y)``.
    """
    X, y = _check_xy(X, y)
    W = np.asarray(W, dtype=float)
    residual = (W.T @ X if W.ndim == 2 else W @ X) + (y.mean() - y)  # ... (k, m) or (m,)
    return 0.5 * np.mean(residual**2, axis=-1)


def optimum(X, y):
    """The least-squares ``w*`` ``(n_x,)`` with the intercept at ``mean(y)``."""
    X, y = _check_xy(X, y)
    return np.linalg.solve(X @ X.T, X @ (y - y.mean()))


def gradient_descent(X, y, w0, learning_rate, steps, stop_below=None):
    """Run gradient descent on :func:`cost` from ``w0`` ``(n_x,)``.

    Returns ``path`` ``(k + 1, n_x)`` (the start, then each iterate) and
    ``costs`` ``(k + 1,)``; ``k = steps`` unless the run diverges (cost above
    1e12 times its start) or the cost falls to ``stop_below``, where it stops.
    """
    X, y = _check_xy(X, y)
    learning_rate = check_scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
    steps = check_int(steps, "steps", low=0)
    w = np.array(w0, dtype=float)
    if w.shape != (X.shape[0],):
        raise ValueError(f"w0 must have shape ({X.shape[0]},); got shape {w.shape}")
    m = X.shape[1]
    r0 = y.mean() - y
    path, costs = [w.copy()], [cost(w, X, y)]
    for _ in range(steps):
        residual = w @ X + r0
        w = w - learning_rate * (X @ residual) / m
        path.append(w.copy())
        costs.append(0.5 * np.mean((w @ X + r0) ** 2))
        if not costs[-1] <= 1e12 * max(costs[0], 1.0):
            break
        if stop_below is not None and costs[-1] <= stop_below:
            break
    return np.array(path), np.array(costs)


def steps_to_converge(X, y, w0, learning_rate, tol=1e-6, max_steps=100_000):
    """How many steps until ``J(w) - J(w*) <= tol * (J(w0) - J(w*))``; None if never within ``max_steps``."""
    X, y = _check_xy(X, y)
    tol = check_scalar(tol, "tol", low=0.0, high=1.0, low_open=True, high_open=True)
    j_star = cost(optimum(X, y), X, y)
    target = j_star + tol * (cost(np.asarray(w0, dtype=float), X, y) - j_star)
    _, costs = gradient_descent(X, y, w0, learning_rate, max_steps, stop_below=target)
    hit = np.flatnonzero(costs <= target)
    return int(hit[0]) if hit.size else None
