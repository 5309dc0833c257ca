"""Notebook 08's checks: batch norm folded into a dense layer, and one batch's statistics from each device's."""

from __future__ import annotations

import numpy as np

from ..folding import fold_batchnorm
from ..sync_batchnorm import combine_statistics
from .core import Case, Mistake, drawn, learner_facing, need_function, returns_tuple, run, size


def _fold_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(8) if rng is None else rng

    def layer(n, n_prev, dtype=np.float64, var_low=0.2):
        gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        cols = (rng.normal(0.0, 1.0, (n, 1)), gamma, rng.uniform(-2.0, 2.0, (n, 1)),
                rng.normal(0.0, 2.0, (n, 1)), rng.uniform(var_low, 3.0, (n, 1)))  # fmt: skip
        return rng.normal(0.0, 1.0, (n, n_prev)).astype(dtype), *(c.astype(dtype) for c in cols)

    # The visible shapes (n units, n_prev inputs), or (hidden) shapes drawn for each kind: square first, n unlike
    # n_prev in the second (so that rows and columns of W cannot be mixed up unseen), n >= 2 everywhere (with one
    # unit, scaling the columns is scaling the row).
    if visible:
        square, (n, n_prev), shape_tiny, shape_eps, shape_32 = 4, (3, 5), (2, 3), (2, 4), (3, 2)
    else:
        square, n = size(rng, 2, 6), size(rng, 2, 6)
        n_prev, shape_tiny = size(rng, 2, 7, avoid=[n]), (size(rng, 2, 6), size(rng, 1, 6))
        shape_eps, shape_32 = (size(rng, 2, 6), size(rng, 1, 6)), (size(rng, 2, 6), size(rng, 1, 6))
    W, b, g, beta, mean, var = layer(n, n_prev)
    tiny = layer(*shape_tiny)
    if visible:
        tiny[5][0] = 1e-6  # a unit whose running variance is below eps
    else:
        tiny[5][rng.integers(shape_tiny[0])] = 10.0 ** rng.uniform(-7.0, -5.5)
    return [
        # Square first: scaling the columns instead of the rows then runs and can be named.
        Case(f"W {square} x {square}, with b", layer(square, square)),
        Case(f"W {n} x {n_prev} ({n} units, {n_prev} inputs), with b", (W, b, g, beta, mean, var)),
        Case("b = None (a layer with batch norm has no b)", (W, None, g, beta, mean, var)),
        Case("a running variance below eps", tiny),
        Case("eps = 0.1", layer(*shape_eps), {"eps": 0.1}),
        Case("float32", layer(*shape_32, np.float32)),
    ]


def _fold_ref(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    f = lambda a: None if a is None else np.asarray(a, dtype=float)  # noqa: E731
    return fold_batchnorm(f(W), f(b), f(gamma), f(beta), f(running_mean), f(running_var), eps)


def _fold_mistake(scale=None, W_rule=None, b_rule=None):
    """A fold that is right except for the parts given."""

    def fn(W, b, gamma, beta, mean, var, eps=1e-5):
        W = np.asarray(W, dtype=float)
        b = np.zeros((W.shape[0], 1)) if b is None else np.asarray(b, dtype=float)
        s = gamma / np.sqrt(var + eps) if scale is None else scale(gamma, var, eps)
        W_f = s * W if W_rule is None else W_rule(s, W)
        b_f = s * (b - mean) + beta if b_rule is None else b_rule(s, b, beta, mean)
        return W_f, b_f

    return fn


FOLD_MISTAKES = [
    Mistake("your eps is outside the square root: the scale is gamma / sqrt(running_var + eps). "
            "It shows for a unit whose running variance is near eps or below.",
            _fold_mistake(scale=lambda g, v, eps: g / (np.sqrt(v) + eps))),
    Mistake("b is left out of b_folded: z = W a + b goes into batch norm, so b_folded = s * (b - running_mean) + beta "
            "(with b = 0 when it is None).",
            _fold_mistake(b_rule=lambda s, b, beta, mean: beta - s * mean)),
    Mistake("your fold ignores the running statistics (it is the fold of a layer whose mean is 0 and variance 1, "
            "the values a fresh layer starts with). Eval mode normalizes with running_mean and running_var: "
            "fold those, not batch statistics or defaults.",
            _fold_mistake(scale=lambda g, v, eps: g / np.sqrt(1.0 + eps), b_rule=lambda s, b, beta, mean: s * b + beta)),
    Mistake("running_mean is not subtracted: b_folded = s * (b - running_mean) + beta.",
            _fold_mistake(b_rule=lambda s, b, beta, mean: s * b + beta)),
    Mistake("you scale the columns of W instead of its rows. Unit i's factor s_i multiplies its own "
            "pre-activation z_i = W[i, :] a: row i. With s of shape (n_l, 1), `s * W` does that.",
            _fold_mistake(W_rule=lambda s, W: W * s.T)),
    Mistake("you divide by the running variance instead of its square root: s = gamma / sqrt(running_var + eps).",
            _fold_mistake(scale=lambda g, v, eps: g / (v + eps))),
    Mistake("your b is not scaled: batch norm scales all of z - running_mean, b included, so "
            "b_folded = s * (b - running_mean) + beta.",
            _fold_mistake(b_rule=lambda s, b, beta, mean: b - s * mean + beta)),
    Mistake("your running_mean is not scaled: batch norm scales all of z - running_mean, so "
            "b_folded = s * (b - running_mean) + beta.",
            _fold_mistake(b_rule=lambda s, b, beta, mean: s * b - mean + beta)),
    Mistake("beta is left out of b_folded: eval-mode batch norm adds beta after scaling, "
            "b_folded = s * (b - running_mean) + beta.",
            _fold_mistake(b_rule=lambda s, b, beta, mean: s * (b - mean))),
    Mistake("your scale has no eps: s = gamma / sqrt(running_var + eps), the same eps batch norm divides by.",
            _fold_mistake(scale=lambda g, v, eps: g / np.sqrt(v))),
]


@learner_facing(points=2)
def check_fold_batchnorm(fn, hidden=False):
    """Check ``fn(W, b, gamma, beta, running_mean, running_var, eps=1e-5) -> (W_folded, b_folded)``.

    ``W`` ``(n_l, n_prev)``, ``b`` ``(n_l, 1)`` or None, the rest ``(n_l, 1)``;
    ``b_folded`` must be ``(n_l, 1)`` also when ``b`` is None.
    """
    need_function(fn, "check_fold_batchnorm", "check_fold_batchnorm(fold_batchnorm)")
    run("check_fold_batchnorm", fn, _fold_ref, drawn(_fold_cases, hidden), FOLD_MISTAKES, ["W_folded", "b_folded"],
        select=returns_tuple(2, "fold_batchnorm", ["W_folded", "b_folded"]))  # fmt: skip


def _combine_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(88) if rng is None else rng

    def devices(sizes, n=3, offsets=None, spread=1.0):
        counts, means, M2s = [], [], []
        for k, m_k in enumerate(sizes):
            shift = 0.0 if offsets is None else offsets[k]
            Z = shift + rng.normal(0.0, spread, (n, m_k))
            mu_k = Z.mean(axis=1, keepdims=True)
            counts.append(m_k)
            means.append(mu_k)
            M2s.append(((Z - mu_k) ** 2).sum(axis=1, keepdims=True))
        return counts, means, M2s

    if visible:
        return [
            # Unequal shards first: there averaging the devices' variances and sum M2_k / m differ.
            Case("unequal shards (2, 10, 4 examples), different means", devices([2, 10, 4], offsets=[1.0, -1.0, 4.0])),
            Case("4 devices of 8 examples", devices([8, 8, 8, 8])),
            Case("devices whose means differ (0, 3, -2)", devices([5, 5, 5], offsets=[0.0, 3.0, -2.0])),
            Case("one device", devices([6])),
            Case("a large offset (values near 1e6)", devices([3, 7], offsets=[1e6, 1e6 + 2.0]), tol=1e-8),
        ]
    # Hidden cases draw the number of units n, of devices and their sizes (unequal where the visible ones are: then
    # the plain average of the means is wrong), and the offsets.
    k = size(rng, 2, 4)
    unequal = [int(c) for c in rng.choice(np.arange(2, 13), k, replace=False)]
    k_equal, m_equal = size(rng, 2, 5), size(rng, 2, 10)
    k_apart, m_apart = size(rng, 2, 4), size(rng, 2, 8)
    apart = [float(o) for o in rng.choice(np.arange(-5, 6), k_apart, replace=False)]
    return [
        Case(f"unequal shards ({', '.join(map(str, unequal))} examples), different means",
             devices(unequal, size(rng, 1, 6), offsets=list(rng.uniform(-4.0, 4.0, k)))),
        Case(f"{k_equal} devices of {m_equal} examples", devices([m_equal] * k_equal, size(rng, 1, 6))),
        Case(f"devices whose means differ ({', '.join(f'{o:g}' for o in apart)})",
             devices([m_apart] * k_apart, size(rng, 1, 6), offsets=apart)),
        Case("one device", devices([size(rng, 2, 12)], size(rng, 1, 6))),
        Case("a large offset (values near 1e6)",
             devices([int(c) for c in rng.choice(np.arange(2, 9), 2, replace=False)], size(rng, 1, 6),
                     offsets=[1e6, 1e6 + rng.uniform(1.0, 3.0)]),
             tol=1e-8),
    ]


def _combine_ref(counts, means, M2s):
    return combine_statistics(list(counts), [np.asarray(a, float) for a in means], [np.asarray(a, float) for a in M2s])


def _combine_mistake(mu_rule=None, var_rule=None):
    def fn(counts, means, M2s):
        mu_right, var_right = _combine_ref(counts, means, M2s)
        c, mu_k, M2 = np.array(counts, dtype=float)[:, None, None], np.array(means), np.array(M2s)
        mu = mu_right if mu_rule is None else mu_rule(c, mu_k, M2)
        var = var_right if var_rule is None else var_rule(c, mu_k, M2, mu)
        return mu, var

    return fn


COMBINE_MISTAKES = [
    Mistake("your mean is the plain average of the devices' means; a device with more examples weighs more: "
            "mu = sum_k m_k mu_k / m.",
            _combine_mistake(mu_rule=lambda c, mu_k, M2: mu_k.mean(axis=0),
                             var_rule=lambda c, mu_k, M2, mu: (M2.sum(0) + (c * (mu_k - mu) ** 2).sum(0)) / c.sum())),
    Mistake("your variance is sum_k M2_k / m: it misses the spread between the devices' means, "
            "+ sum_k m_k (mu_k - mu)^2 / m. Each device's M2_k only measures the spread around its own mean.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: M2.sum(0) / c.sum())),
    Mistake("your variance is the average of the devices' variances (M2_k / m_k): that is per-device batch norm's "
            "view, and misses the spread between the devices' means.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: (M2 / c).mean(axis=0))),
    Mistake("your variance divides by m - 1; batch norm's batch variance divides by m.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: (M2.sum(0) + (c * (mu_k - mu) ** 2).sum(0)) / (c.sum() - 1))),
    Mistake("you use M2_k as if it were device k's variance: M2_k is its sum of squared deviations, "
            "sum_i (z_i - mu_k)^2, already m_k times the variance. var = (sum_k M2_k + sum_k m_k (mu_k - mu)^2) / m.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: (c * M2 + c * (mu_k - mu) ** 2).sum(0) / c.sum())),
    Mistake("you return the standard deviation: return the variance, sigma^2 (no square root).",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: np.sqrt((M2.sum(0) + (c * (mu_k - mu) ** 2).sum(0)) / c.sum()))),
    Mistake("the spread between the devices is not weighted by their counts: sum_k m_k (mu_k - mu)^2, not sum_k (mu_k - mu)^2.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: (M2.sum(0) + ((mu_k - mu) ** 2).sum(0)) / c.sum())),
]


@learner_facing(points=3)
def check_combine_statistics(fn, hidden=False):
    """Check ``fn(counts, means, M2s) -> (mu, var)``: the whole batch's statistics from each device's.

    ``counts``: k ints; ``means``, ``M2s``: k arrays ``(n_l, 1)``; returns ``(n_l, 1)`` each.
    """
    need_function(fn, "check_combine_statistics", "check_combine_statistics(combine_statistics)")
    run("check_combine_statistics", fn, _combine_ref, drawn(_combine_cases, hidden), COMBINE_MISTAKES, ["mu", "var"],
        select=returns_tuple(2, "combine_statistics", ["mu", "var"]))  # fmt: skip
