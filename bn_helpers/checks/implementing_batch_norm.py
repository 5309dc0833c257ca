"""Notebook 02's checks: batch norm's forward pass, and its backward pass through the learner's cache."""

from __future__ import annotations

import numpy as np

from ..batchnorm import batchnorm_backward, batchnorm_forward
from .core import Case, Mistake, need_function, quiet, returns_tuple, run


def _forward_cases():
    rng = np.random.default_rng(2024)

    def params(n, dtype=np.float64):
        return (rng.uniform(0.5, 2.0, (n, 1)).astype(dtype) * rng.choice([-1.0, 1.0], (n, 1)).astype(dtype),
                rng.uniform(-2.0, 2.0, (n, 1)).astype(dtype))  # fmt: skip

    tiny = rng.normal(0.0, 1.0, (3, 6)) * np.array([[1.0], [1e-4], [3.0]])  # unit 2 has a tiny variance
    return [
        Case("3 units x 5 examples, non-trivial gamma and beta", (rng.normal(2.0, 3.0, (3, 5)), *params(3))),
        Case("m = 2 examples", (rng.normal(0.0, 1.0, (4, 2)), *params(4))),
        # float64 keeps about 8 digits of a spread of 1 at 1e8: any order of operations differs by ~1e-8
        Case("a large offset (values near 1e8)", (1e8 + rng.normal(0.0, 1.0, (2, 7)), *params(2)), tol=1e-6),
        Case("a unit of tiny variance (std 1e-4, below sqrt(eps))", (tiny, *params(3))),
        Case("eps = 0.1", (rng.normal(1.0, 0.5, (2, 4)), *params(2)), {"eps": 0.1}),
        Case("float32 input", (rng.normal(1.0, 2.0, (3, 8)).astype(np.float32), *params(3, np.float32))),
        Case("integer input", (rng.integers(-5, 6, (2, 9)), *params(2))),
    ]


def _forward_ref(Z, gamma, beta, eps=1e-5):
    return (batchnorm_forward(np.asarray(Z, dtype=float), np.asarray(gamma, float), np.asarray(beta, float), eps)[0],)


def batchnorm_with(Z, gamma, beta, eps, mu=None, var=None, scale=None):
    """Batch norm with pieces swapped out: the engine of the mistakes below."""
    Z = np.asarray(Z, dtype=float)
    mu = Z.mean(axis=1, keepdims=True) if mu is None else mu
    var = Z.var(axis=1, keepdims=True) if var is None else var
    scale = np.sqrt(var + eps) if scale is None else scale
    return (Z - mu) / scale


FORWARD_MISTAKES = [
    Mistake("your variance divides by m - 1; batch norm's batch variance divides by m: it describes this batch, "
            "it does not estimate a population (np.var's default ddof=0 is right).",
            lambda Z, g, b, eps=1e-5: (g * batchnorm_with(Z, g, b, eps, var=np.asarray(Z, float).var(axis=1, keepdims=True, ddof=1)) + b,)),  # noqa: E501
    Mistake("your statistics are taken over the wrong axis: over the units of each example (axis 0) instead of over "
            "the examples of each unit (axis=1, keepdims=True).",
            lambda Z, g, b, eps=1e-5: (g * ((np.asarray(Z, float) - np.asarray(Z, float).mean(axis=0, keepdims=True))
                                           / np.sqrt(np.asarray(Z, float).var(axis=0, keepdims=True) + eps)) + b,)),
    Mistake("your eps is outside the square root: divide by sqrt(sigma^2 + eps), not sqrt(sigma^2) + eps. "
            "The difference shows for a unit whose variance is near eps or smaller.",
            lambda Z, g, b, eps=1e-5: (g * batchnorm_with(Z, g, b, eps, scale=np.sqrt(np.asarray(Z, float).var(axis=1, keepdims=True)) + eps) + b,)),  # noqa: E501
    Mistake("your gamma and beta are swapped: z_tilde = gamma * z_norm + beta (gamma scales, beta shifts).",
            lambda Z, g, b, eps=1e-5: (b * batchnorm_with(Z, g, b, eps) + g,)),
    Mistake("gamma and beta are not applied: you return z_norm. Return gamma * z_norm + beta.",
            lambda Z, g, b, eps=1e-5: (batchnorm_with(Z, g, b, eps),)),
    Mistake("only gamma is applied: add beta too (z_tilde = gamma * z_norm + beta).",
            lambda Z, g, b, eps=1e-5: (g * batchnorm_with(Z, g, b, eps),)),
    Mistake("your variance is computed in one pass as mean(z^2) - mean(z)^2, which loses every digit when the "
            "values are large compared with their spread. Centre first: mean((z - mu)^2).",
            lambda Z, g, b, eps=1e-5: (g * batchnorm_with(Z, g, b, eps, var=(np.asarray(Z, float) ** 2).mean(axis=1, keepdims=True)
                                               - np.asarray(Z, float).mean(axis=1, keepdims=True) ** 2) + b,)),
    Mistake("you divide by the variance instead of the standard deviation: z_norm = (z - mu) / sqrt(sigma^2 + eps).",  # noqa: E501
            lambda Z, g, b, eps=1e-5: (g * batchnorm_with(Z, g, b, eps, scale=np.asarray(Z, float).var(axis=1, keepdims=True) + eps) + b,)),  # noqa: E501
]


def check_batchnorm_forward(fn):
    """Check ``fn(Z, gamma, beta, eps=1e-5) -> (Z_tilde, cache)`` against :func:`bn_helpers.batchnorm_forward`.

    ``Z`` has shape ``(n_l, m)``, ``gamma`` and ``beta`` ``(n_l, 1)``; only
    ``Z_tilde`` is compared (the cache is yours, for your backward pass).
    """
    need_function(fn, "check_batchnorm_forward", "check_batchnorm_forward(batchnorm_forward)")
    run("check_batchnorm_forward", fn, _forward_ref, _forward_cases(), FORWARD_MISTAKES, ["Z_tilde"],
         select=lambda out: returns_tuple(2, "batchnorm_forward", ["Z_tilde", "cache"])(out)[:1])  # fmt: skip


def _backward_cases():
    rng = np.random.default_rng(7)
    cases = []
    for name, Z, eps in [("3 units x 5 examples, non-trivial gamma and beta", rng.normal(2.0, 3.0, (3, 5)), 1e-5),
                         ("m = 2 examples, eps = 0.5 (so the gradient is not tiny)", rng.normal(0.0, 1.0, (4, 2)), 0.5),
                         ("values near 10 with spread 1", 10 + rng.normal(0.0, 1.0, (2, 7)), 1e-5),
                         ("one unit, 8 examples", rng.normal(-1.0, 2.0, (1, 8)), 1e-5)]:  # fmt: skip
        n, m = Z.shape
        gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        beta = rng.uniform(-2.0, 2.0, (n, 1))
        cases.append(Case(name, (Z, gamma, beta, eps, rng.standard_normal((n, m)))))
    return cases


def _backward_ref(Z, gamma, beta, eps, dZ_tilde):  # noqa: N803
    return batchnorm_backward(dZ_tilde, batchnorm_forward(Z, gamma, beta, eps)[1])


def _pieces(Z, gamma, eps, d):
    Z = np.asarray(Z, dtype=float)
    inv = 1.0 / np.sqrt(Z.var(axis=1, keepdims=True) + eps)
    z_norm = (Z - Z.mean(axis=1, keepdims=True)) * inv
    return z_norm, inv, d.sum(axis=1, keepdims=True), (d * z_norm).sum(axis=1, keepdims=True)


def _backward_mistake(dZ=None, dgamma=None, dbeta=None):
    """A backward pass that is right except for the parts given (functions of the pieces)."""

    def fn(Z, gamma, beta, eps, d):
        z_norm, inv, db, dg = _pieces(Z, gamma, eps, d)
        m = d.shape[1]
        right_dZ = gamma * inv / m * (m * d - db - z_norm * dg)
        ctx = dict(z_norm=z_norm, inv=inv, db=db, dg=dg, m=m, d=d, gamma=gamma)
        return (dZ(ctx) if dZ else right_dZ, dgamma(ctx) if dgamma else dg, dbeta(ctx) if dbeta else db)

    return fn


BACKWARD_MISTAKES = [
    Mistake("your dZ has no terms through mu and sigma^2: gamma / sqrt(sigma^2 + eps) * dZ_tilde treats mu and sigma^2 as "
            "constants, but both depend on every z of the batch. "
            "dZ = gamma / (m * sqrt(sigma^2 + eps)) * (m * dZ_tilde - dbeta - z_norm * dgamma).",
            _backward_mistake(dZ=lambda c: c["gamma"] * c["inv"] * c["d"])),
    Mistake("your dZ has the term through mu but not the one through sigma^2 (the - z_norm * dgamma term).",
            _backward_mistake(dZ=lambda c: c["gamma"] * c["inv"] / c["m"] * (c["m"] * c["d"] - c["db"]))),
    Mistake("your dgamma lacks the z_norm factor: dgamma = sum_i dz_tilde_i * z_norm_i (gamma multiplies z_norm).",
            _backward_mistake(dgamma=lambda c: c["db"])),
    Mistake("your gradients of gamma and beta are summed over the wrong axis: sum over the examples "
            "(axis=1, keepdims=True), one value per unit.",
            _backward_mistake(dgamma=lambda c: (c["d"] * c["z_norm"]).sum(axis=0, keepdims=True),
                              dbeta=lambda c: c["d"].sum(axis=0, keepdims=True))),  # fmt: skip
    Mistake("your dgamma and dbeta are swapped.", _backward_mistake(dgamma=lambda c: c["db"], dbeta=lambda c: c["dg"])),
]


def check_batchnorm_backward(forward_fn, backward_fn):
    """Check ``backward_fn(dZ_tilde, cache) -> (dZ, dgamma, dbeta)``, with ``cache`` from your ``forward_fn``.

    Shapes: ``dZ`` ``(n_l, m)``, ``dgamma`` and ``dbeta`` ``(n_l, 1)``. The
    forward pass is checked first (silently), since the backward pass uses its cache.
    """
    for f in (forward_fn, backward_fn):
        need_function(f, "check_batchnorm_backward", "check_batchnorm_backward(batchnorm_forward, batchnorm_backward)")
    try:
        with quiet():
            check_batchnorm_forward(forward_fn)
    except AssertionError as err:
        raise AssertionError("check_batchnorm_backward uses your batchnorm_forward's cache, and that forward pass "
                             f"is not right yet. Fix it first; check_batchnorm_forward says:\n{err}") from None  # fmt: skip

    def via_learners_cache(Z, gamma, beta, eps, dZ_tilde):
        out = forward_fn(Z, gamma, beta, eps)
        return backward_fn(dZ_tilde, out[1])

    run("check_batchnorm_backward", via_learners_cache, _backward_ref, _backward_cases(), BACKWARD_MISTAKES,
         ["dZ", "dgamma", "dbeta"], select=returns_tuple(3, "batchnorm_backward", ["dZ", "dgamma", "dbeta"]))  # fmt: skip
