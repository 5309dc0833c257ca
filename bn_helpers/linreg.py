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


def best_learning_rate(X):
    """``2 / (lambda_min + lambda_max)``: the fixed learning rate whose slowest direction shrinks fastest.

    Each step multiplies the error along an eigenvector of :func:`hessian`
    with eigenvalue ``lambda`` by ``1 - learning_rate * lambda``; this rate
    makes the flattest and the steepest direction shrink by the same factor
    ``(kappa - 1) / (kappa + 1)`` per step (the steepest one changing sign),
    and no fixed rate does better for both.
    """
    eig = np.linalg.eigvalsh(hessian(X))
    return float(2.0 / (eig[0] + eig[-1]))


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
    """Gradient descent on :func:`cost` from ``w0`` ``(n_x,)``: ``w := w - alpha * dJ/dw``.

    On this quadratic cost the iterates have a closed form, used here to get
    all of them at once: writing ``e_k = w_k - w*`` in the eigenbasis of
    ``H`` (eigenvalues ``lambda_i``), each step multiplies the ``i``-th
    coordinate by ``1 - alpha * lambda_i``, and ``J(w_k) = J* + 1/2 sum_i lambda_i e_{k,i}^2``.
    (The test suite checks it against the step-by-step update.)

    Returns ``path`` ``(k + 1, n_x)`` (the start, then each iterate) and
    ``costs`` ``(k + 1,)``; ``k = steps`` unless the run diverges (cost above
    1e12 times its start) or the cost falls to ``stop_below``, where it stops.
    """
    X, y = _check_xy(X, y)
    learning_rate = check_scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
    steps = check_int(steps, "steps", low=0)
    w0 = np.array(w0, dtype=float)
    if w0.shape != (X.shape[0],):
        raise ValueError(f"w0 must have shape ({X.shape[0]},); got shape {w0.shape}")
    lam, U = np.linalg.eigh(hessian(X))
    w_star = optimum(X, y)
    j_star = cost(w_star, X, y)
    shrink = 1.0 - learning_rate * lam  # per step, per eigen-direction
    k = np.arange(steps + 1)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        E = shrink**k * (U.T @ (w0 - w_star))  # (steps + 1, n_x), eigen-coordinates of w_k - w*
        costs = j_star + 0.5 * (lam * E**2).sum(axis=1)
    last = steps
    blown = np.flatnonzero(~(costs <= 1e12 * max(costs[0], 1.0)))
    if blown.size:
        last = int(blown[0])
    if stop_below is not None:
        reached = np.flatnonzero(costs[: last + 1] <= stop_below)
        if reached.size:
            last = int(reached[0])
    return w_star + E[: last + 1] @ U.T, costs[: last + 1]


def descend_until_converged(X, y, w0, learning_rate, tol=1e-6, max_steps=100_000):
    """Gradient descent until ``J(w) - J(w*) <= tol * (J(w0) - J(w*))``.

    Returns ``path`` ``(k + 1, n_x)`` and ``steps``: the number of steps it
    took, or None if not within ``max_steps`` (or the run diverged).
    """
    X, y = _check_xy(X, y)
    tol = check_scalar(tol, "tol", low=0.0, high=1.0, low_open=True, high_open=True)
    j_star = cost(optimum(X, y), X, y)
    target = j_star + tol * (cost(np.asarray(w0, dtype=float), X, y) - j_star)
    path, costs = gradient_descent(X, y, w0, learning_rate, max_steps, stop_below=target)
    return path, (len(costs) - 1 if costs[-1] <= target else None)


def steps_to_converge(X, y, w0, learning_rate, tol=1e-6, max_steps=100_000):
    """How many steps until ``J(w) - J(w*) <= tol * (J(w0) - J(w*))``; None if never within ``max_steps``."""
    return descend_until_converged(X, y, w0, learning_rate, tol, max_steps)[1]
