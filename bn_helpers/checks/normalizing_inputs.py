"""Notebook 01's check: the training set's statistics, and both sets normalized with them."""

from __future__ import annotations

import numpy as np

from ..normalize import input_statistics, normalize_inputs
from .core import Case, Mistake, drawn, learner_facing, need_function, quiet, returns_tuple, run, size


def _normalize_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(5) if rng is None else rng

    def split(X, m_train=40):
        return X[:, :m_train], X[:, m_train:]

    if visible:
        scales = np.array([[1.0], [10.0], [0.01]])
        return [
            Case("3 features on very different scales; 40 training, 15 test examples",
                 split(rng.normal(0.0, 1.0, (3, 55)) * scales + np.array([[5.0], [-3.0], [0.0]]))),  # fmt: skip
            Case("a large offset (values near 1e6)", split(1e6 + rng.normal(0.0, 1.0, (2, 50))), tol=1e-7),
            Case("integer input", split(rng.integers(-50, 51, (2, 45)))),
            Case("a constant feature (variance 0, like a pixel that is always blank)",
                 split(np.vstack([rng.normal(1.0, 2.0, (1, 40)), np.full((1, 40), 3.0), rng.normal(0.0, 5.0, (1, 40))]),
                       30)),  # fmt: skip
        ]
    # Hidden cases draw their shapes too: n_x features, m training and m_test test examples (a test set of
    # another size than the training set, so that statistics of the wrong set show).
    n, m, m_test = size(rng, 2, 6), size(rng, 10, 50), size(rng, 3, 20)
    scales, offsets = 10.0 ** rng.uniform(-2.0, 1.5, (n, 1)), rng.uniform(-5.0, 5.0, (n, 1))
    first = Case(f"{n} features on very different scales; {m} training, {m_test} test examples",
                 split(rng.normal(0.0, 1.0, (n, m + m_test)) * scales + offsets, m))  # fmt: skip
    n, m, m_test = size(rng, 1, 6), size(rng, 10, 50), size(rng, 3, 20)
    offset = Case("a large offset (values near 1e6)", split(1e6 + rng.normal(0.0, 1.0, (n, m + m_test)), m), tol=1e-7)
    n, m, m_test = size(rng, 1, 6), size(rng, 10, 50), size(rng, 3, 20)
    integer = Case("integer input", split(rng.integers(-50, 51, (n, m + m_test)), m))
    n, m, m_test = size(rng, 2, 6), size(rng, 10, 50), size(rng, 3, 20)
    X = rng.normal(0.0, 1.0, (n, m + m_test)) * 10.0 ** rng.uniform(-1.0, 1.0, (n, 1))
    X[int(rng.integers(n))] = float(rng.integers(-5, 6))  # one feature constant in both sets (an integer: its mean is exact)
    return [first, offset, integer, Case("a constant feature (variance 0, like a pixel that is always blank)", split(X, m))]


def _normalize_ref(X_train, X_test):
    X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
    mu, var = input_statistics(X_train)
    return mu, var, normalize_inputs(X_train, mu, var), normalize_inputs(X_test, mu, var)


def _normalize_mistake(stats, normalize):
    def fn(X_train, X_test):
        X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
        mu, var = stats(X_train)
        return mu, var, normalize(X_train, mu, var), normalize(X_test, mu, var)

    fn.stats = lambda X_train, X_test: stats(np.asarray(X_train, float))
    return fn


def _right_stats(X):
    return X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True)


def _right_normalize(X, mu, var):
    return (X - mu) / np.sqrt(np.where(var > 0, var, 1.0))


NORMALIZE_MISTAKES = [
    Mistake("your variance divides by m - 1 (ddof=1); the course's sigma^2 divides by m.",
            _normalize_mistake(lambda X: (X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True, ddof=1)),
                               _right_normalize)),  # fmt: skip
    Mistake("your statistics are taken over the wrong axis: one mean and variance per feature is over the "
            "examples, axis=1 (with keepdims=True, shape (n_x, 1)).",
            _normalize_mistake(lambda X: (X.mean(axis=0, keepdims=True), X.var(axis=0, keepdims=True)),
                               _right_normalize)),  # fmt: skip
    Mistake("your normalize_inputs computes the statistics of the array it is given, so the test set is normalized "
            "with its own mean and variance. Use the mu and var passed in: the training set's.",
            _normalize_mistake(_right_stats, lambda X, mu, var: _right_normalize(X, *_right_stats(X)))),
    Mistake("you divide by the variance instead of the standard deviation sqrt(var).",
            _normalize_mistake(_right_stats, lambda X, mu, var: (X - mu) / np.where(var > 0, var, 1.0))),
    Mistake("you do not subtract the mean before dividing: x := (x - mu) / sigma.",
            _normalize_mistake(_right_stats, lambda X, mu, var: X / np.sqrt(np.where(var > 0, var, 1.0)))),
    Mistake("a feature of variance 0 (a pixel that is always blank) becomes 0 / 0 = nan. Leave it centred, at 0: "
            "divide by 1 where sigma is 0, e.g. by np.sqrt(np.where(var > 0, var, 1.0)).",
            _normalize_mistake(_right_stats, lambda X, mu, var: (X - mu) / np.sqrt(var))),
]


@learner_facing(points=2)
def check_normalize_inputs(statistics_fn, normalize_fn, hidden=False):
    """Check ``input_statistics(X) -> (mu, var)`` and ``normalize_inputs(X, mu, var)`` on a training and a test set.

    The statistics come from the training set ``(n_x, m)`` and have shape
    ``(n_x, 1)``; both sets are normalized with them.
    """
    for f in (statistics_fn, normalize_fn):
        need_function(f, "check_normalize_inputs", "check_normalize_inputs(input_statistics, normalize_inputs)")

    def statistics_only(X_train, X_test):
        return statistics_fn(X_train)

    def both(X_train, X_test):
        mu, var = statistics_fn(X_train)
        return mu, var, normalize_fn(X_train, mu, var), normalize_fn(X_test, mu, var)

    cases = drawn(_normalize_cases, hidden)
    # The statistics alone first: a wrong shape there would otherwise surface as an error in normalize_inputs.
    with quiet():
        run("check_normalize_inputs", statistics_only, lambda a, b: _normalize_ref(a, b)[:2], cases,
            [Mistake(m.message, m.fn.stats) for m in NORMALIZE_MISTAKES[:2]], ["mu", "var"],
            select=returns_tuple(2, "input_statistics", ["mu", "var"]))  # fmt: skip
    run("check_normalize_inputs", both, _normalize_ref, cases, NORMALIZE_MISTAKES,
        ["mu", "var", "normalized training set", "normalized test set"])  # fmt: skip
