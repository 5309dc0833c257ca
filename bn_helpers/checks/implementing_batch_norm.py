"""Notebook 02's checks: batch norm's forward pass, and its backward pass (closed form, staged) through its cache."""

from __future__ import annotations

import copy
import functools
import itertools

import numpy as np

from ..batchnorm import BatchNormCache, batchnorm_backward, batchnorm_backward_staged, batchnorm_forward
from .core import (Case, Mistake, describe, drawn, learner_facing, need_function, quiet, returns_tuple, run, run_in_parts,
                   size)


def _forward_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(2024) if rng is None else rng

    def params(n, dtype=np.float64):
        return (rng.uniform(0.5, 2.0, (n, 1)).astype(dtype) * rng.choice([-1.0, 1.0], (n, 1)).astype(dtype),
                rng.uniform(-2.0, 2.0, (n, 1)).astype(dtype))  # fmt: skip

    # The visible shapes, or (hidden) shapes drawn for each kind of case: m >= 2 everywhere (a batch's statistics),
    # m = 2 where the kind says so, and n unlike m in the first case, so that an axis mix-up changes the shape.
    if visible:
        shapes = [(3, 5), (4, 2), (2, 7), (3, 6), (2, 4), (3, 8), (2, 9)]
    else:
        # (n >= 2: with one unit, statistics over the whole array are the unit's own)
        n = size(rng, 2, 7)
        shapes = [(n, size(rng, 3, 10, avoid=[n])), (size(rng, 2, 7), 2), (size(rng, 2, 6), size(rng, 3, 10)),
                  (size(rng, 2, 7), size(rng, 3, 10)), (size(rng, 2, 6), size(rng, 2, 8)),
                  (size(rng, 2, 7), size(rng, 3, 10)), (size(rng, 2, 6), size(rng, 3, 12))]  # fmt: skip
    (n, m), shape_2, shape_offset, shape_tiny, shape_eps, shape_32, shape_int = shapes
    if visible:
        scales = np.array([[1.0], [1e-4], [3.0]])  # unit 2 has a tiny variance
    else:  # one unit, drawn, has a tiny variance
        scales = rng.uniform(0.5, 3.0, (shape_tiny[0], 1))
        scales[rng.integers(shape_tiny[0])] = 1e-4
    tiny = rng.normal(0.0, 1.0, shape_tiny) * scales
    return [
        Case(f"{n} units x {m} examples, non-trivial gamma and beta", (rng.normal(2.0, 3.0, (n, m)), *params(n))),
        Case("m = 2 examples", (rng.normal(0.0, 1.0, shape_2), *params(shape_2[0]))),
        # float64 keeps about 8 digits of a spread of 1 at 1e8: any order of operations differs by ~1e-8
        Case("a large offset (values near 1e8)", (1e8 + rng.normal(0.0, 1.0, shape_offset), *params(shape_offset[0])),
             tol=1e-6),
        Case("a unit of tiny variance (std 1e-4, below sqrt(eps))", (tiny, *params(shape_tiny[0]))),
        Case("eps = 0.1", (rng.normal(1.0, 0.5, shape_eps), *params(shape_eps[0])), {"eps": 0.1}),
        Case("float32 input", (rng.normal(1.0, 2.0, shape_32).astype(np.float32), *params(shape_32[0], np.float32))),
        Case("integer input", (rng.integers(-5, 6, shape_int), *params(shape_int[0]))),
    ]


def _forward_ref(Z, gamma, beta, eps=1e-5):
    return (batchnorm_forward(np.asarray(Z, dtype=float), np.asarray(gamma, float), np.asarray(beta, float), eps)[0],)


def forward_variant(axis=1, ddof=0, one_pass=False, eps_rule="inside", divide_by="std", affine="right"):
    """Batch norm's forward pass with the settings given: the engine of the catalogue below (and of 03's, 05's, 06's).

    Returns ``fn(Z, gamma, beta, eps=1e-5) -> (Z_tilde,)``. The defaults are
    right; each other setting is a mistake learners make:

    - ``axis``: 1 (per unit, over the examples), 0 (per example), None (one
      mean and variance for the whole array);
    - ``ddof``: 0, or 1 (the sample variance); ``one_pass``: mean(z^2) - mean(z)^2;
    - ``eps_rule``: "inside" sqrt(var + eps), "outside" sqrt(var) + eps, "none",
      "subtracted" sqrt(var - eps), "root_twice" sqrt(sqrt(var) + eps),
      "hard_coded" (1e-5 whatever eps is passed);
    - ``divide_by``: "std", or "var" (no square root);
    - ``affine``: "right" gamma * z_norm + beta, "swapped", "none", "gamma_only".
    """

    def fn(Z, gamma, beta, eps=1e-5):
        Z = np.asarray(Z, dtype=float)
        keep = axis is not None
        mu = Z.mean(axis=axis, keepdims=keep)
        var = (Z**2).mean(axis=axis, keepdims=keep) - mu**2 if one_pass else Z.var(axis=axis, keepdims=keep, ddof=ddof)
        e = 1e-5 if eps_rule == "hard_coded" else eps
        if divide_by == "var":
            scale = var + e  # no square root
        elif eps_rule == "outside":
            scale = np.sqrt(var) + e
        else:
            under_root = {"inside": var + e, "hard_coded": var + e, "none": var, "subtracted": var - e,
                          "root_twice": np.sqrt(var) + e}[eps_rule]  # fmt: skip
            scale = np.sqrt(under_root)
        z_norm = (Z - mu) / scale
        g, b = np.asarray(gamma, dtype=float), np.asarray(beta, dtype=float)
        return ({"right": g * z_norm + b, "swapped": b * z_norm + g, "none": z_norm, "gamma_only": g * z_norm}[affine],)

    return fn


def _forward(message, **options):
    return Mistake(message, forward_variant(**options), options)


FORWARD_MISTAKES = [
    _forward("your variance divides by m - 1; batch norm's batch variance divides by m: it describes this batch, "
             "it does not estimate a population (np.var's default ddof=0 is right).", ddof=1),
    _forward("your statistics are taken over the wrong axis: over the units of each example (axis 0) instead of over "
             "the examples of each unit (axis=1, keepdims=True).", axis=0),
    _forward("your mean and variance are one number each, taken over the whole array: batch norm gives every unit "
             "(row) its own, over the examples of the batch (axis=1, keepdims=True).", axis=None),
    _forward("your eps is outside the square root: divide by sqrt(sigma^2 + eps), not sqrt(sigma^2) + eps. "
             "The difference shows for a unit whose variance is near eps or smaller.", eps_rule="outside"),
    _forward("your function has no eps: divide by sqrt(sigma^2 + eps). Without it a unit whose values are all "
             "equal divides by zero, and every other unit is off by a little.", eps_rule="none"),
    _forward("your eps is subtracted: divide by sqrt(sigma^2 + eps). eps keeps the root away from zero.",
             eps_rule="subtracted"),
    _forward("you take the square root twice: sqrt(std + eps) with std = sqrt(sigma^2). Divide by "
             "sqrt(sigma^2 + eps), once.", eps_rule="root_twice"),
    _forward("your eps is a number written in your function, not the argument eps: use the eps your function "
             "is given (the case passes another value).", eps_rule="hard_coded"),
    _forward("your gamma and beta are swapped: z_tilde = gamma * z_norm + beta (gamma scales, beta shifts).",
             affine="swapped"),
    _forward("gamma and beta are not applied: you return z_norm. Return gamma * z_norm + beta.", affine="none"),
    _forward("only gamma is applied: add beta too (z_tilde = gamma * z_norm + beta).", affine="gamma_only"),
    _forward("your variance is computed in one pass as mean(z^2) - mean(z)^2, which loses every digit when the "
             "values are large compared with their spread. Centre first: mean((z - mu)^2).", one_pass=True),
    _forward("you divide by the variance instead of the standard deviation: z_norm = (z - mu) / sqrt(sigma^2 + eps).",
             divide_by="var"),
]


def _cache_ref(Z, gamma, beta, eps=1e-5):
    return prescribed_cache(Z, np.asarray(gamma, dtype=float), beta, eps)


def _cache_of(out):
    """The cache the learner returned, as the tuple exercise 1 prescribes, or a message saying what it is instead."""
    cache = returns_tuple(2, "batchnorm_forward", ["Z_tilde", "cache"])(out)[1]
    if not isinstance(cache, (tuple, list)) or len(cache) != 4:
        raise AssertionError(f"batchnorm_forward's cache must be (Z_norm, var, gamma, eps), 4 items in that order, as "
                             f"exercise 1 asks (exercise 2 unpacks it); got {describe(cache)}.")  # fmt: skip
    return tuple(cache)


def _cache_variant(Z_norm=None, var=None):
    """The prescribed cache with a wrong first or second item: the engine of the cache's mistakes below."""

    def fn(Z, gamma, beta, eps=1e-5):
        Z = np.asarray(Z, dtype=float)
        right_Z_norm, right_var, g, e = _cache_ref(Z, gamma, beta, eps)
        mu = Z.mean(axis=1, keepdims=True)
        z_norms = {None: right_Z_norm, "centred": Z - mu, "z_tilde": g * right_Z_norm + np.asarray(beta, dtype=float)}
        variances = {None: right_var, "std": np.sqrt(right_var + e), "plus_eps": right_var + e}
        return z_norms[Z_norm], variances[var], g, e

    return fn


CACHE_MISTAKES = [
    Mistake("your cache holds the standard deviation sqrt(var + eps) where the batch variance var is asked: "
            "cache = (Z_norm, var, gamma, eps).", _cache_variant(var="std")),
    Mistake("your cache holds var + eps; keep var itself (the backward pass adds eps): cache = (Z_norm, var, gamma, eps).",
            _cache_variant(var="plus_eps")),
    Mistake("your cache's first item is z - mu, not yet divided by sqrt(var + eps): keep Z_norm.",
            _cache_variant(Z_norm="centred")),
    Mistake("your cache's first item is z_tilde, after gamma and beta: keep Z_norm, before them.",
            _cache_variant(Z_norm="z_tilde")),
]


@learner_facing(points=2)
def check_batchnorm_forward(fn, hidden=False):
    """Check ``fn(Z, gamma, beta, eps=1e-5) -> (Z_tilde, cache)`` against :func:`bn_helpers.batchnorm_forward`.

    ``Z`` has shape ``(n_l, m)``, ``gamma`` and ``beta`` ``(n_l, 1)``. Both
    ``Z_tilde`` and the cache exercise 1 prescribes, ``(Z_norm, var, gamma,
    eps)``, are compared, each case twice (the score counts both): the
    backward pass's check relies on that cache.
    """
    need_function(fn, "check_batchnorm_forward", "check_batchnorm_forward(batchnorm_forward)")
    cases, title = drawn(_forward_cases, hidden), "check_batchnorm_forward"
    parts = [
        (_forward_ref, FORWARD_MISTAKES, ["Z_tilde"], lambda out: returns_tuple(2, "batchnorm_forward", ["Z_tilde", "cache"])(out)[:1],
         lambda **options: forward_variant(**options)),
        (_cache_ref, CACHE_MISTAKES, ["cache[0], Z_norm", "cache[1], var", "cache[2], gamma", "cache[3], eps"], _cache_of, None),
    ]  # fmt: skip
    run_in_parts(title, cases, [
        functools.partial(run, title, fn, reference, cases, mistakes, names, select=select, build=build)
        for reference, mistakes, names, select, build in parts
    ], "Your cache (Z_norm, var, gamma, eps)")  # fmt: skip


def _backward_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(7) if rng is None else rng
    # The visible shapes, or (hidden) shapes drawn for each kind: n unlike m in the first case, m = 2 in the second,
    # one unit in the last only (with one unit, dZ_tilde @ Z_norm.T is dgamma).
    if visible:
        shapes = [(3, 5), (4, 2), (2, 7), (1, 8)]
    else:
        n = size(rng, 2, 7)
        shapes = [(n, size(rng, 3, 10, avoid=[n])), (size(rng, 2, 7), 2), (size(rng, 2, 6), size(rng, 3, 10)),
                  (1, size(rng, 3, 12))]  # fmt: skip
    (n, m), shape_2, shape_10, (_, m_one) = shapes
    cases = []
    for name, Z, eps in [(f"{n} units x {m} examples, non-trivial gamma and beta", rng.normal(2.0, 3.0, (n, m)), 1e-5),
                         ("m = 2 examples, eps = 0.5 (so the gradient is not tiny)", rng.normal(0.0, 1.0, shape_2), 0.5),
                         ("values near 10 with spread 1", 10 + rng.normal(0.0, 1.0, shape_10), 1e-5),
                         (f"one unit, {m_one} examples", rng.normal(-1.0, 2.0, (1, m_one)), 1e-5)]:  # fmt: skip
        n, m = Z.shape
        gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        beta = rng.uniform(-2.0, 2.0, (n, 1))
        cases.append(Case(name, (Z, gamma, beta, eps, rng.standard_normal((n, m)))))
    return cases


def _backward_ref(Z, gamma, beta, eps, dZ_tilde):  # noqa: N803
    return batchnorm_backward(dZ_tilde, batchnorm_forward(Z, gamma, beta, eps)[1])


def backward_variant(mu_path="right", sigma_path="right", dz_gamma=True, dz_m="right", dgamma="right", dbeta="right"):
    """Batch norm's backward pass with the settings given: the engine of the two catalogues below.

    Returns ``fn(Z, gamma, beta, eps, dZ_tilde) -> (dZ, dgamma, dbeta)``. With
    ``dbeta = sum_i dz_tilde_i`` and ``dgamma = sum_i dz_tilde_i z_norm_i``, the
    right ``dZ = gamma / (m sqrt(sigma^2 + eps)) (m dZ_tilde - dbeta - z_norm dgamma)``.
    Its two subtracted terms are the two paths that make the graph of the
    staged version (``batchnorm_backward_staged``) more than a chain: ``dbeta``
    comes back through mu (``zc = z - mu``), ``z_norm dgamma`` through var
    (``zc`` feeds ``var = mean(zc**2)`` as well as ``z_norm``). A mistake in
    either path scales its term: ``dZ = gamma inv / m (m dZ_tilde - a dbeta -
    b z_norm dgamma)``, with ``inv = 1 / sqrt(sigma^2 + eps)``.
    The defaults are right; each other setting is a mistake learners make:

    - ``mu_path`` (``a``): "right" (1), "missing" (0: mu treated as a constant),
      "no_1/m" (m: dmu reaches every column undivided), "sign" (-1: dmu = +dzc.sum());
    - ``sigma_path`` (``b``): "right" (1), "missing" (0: sigma^2 treated as a
      constant), "sign" (-1: dstd = +dinv / std**2), "twice" (2: the 1/2 of
      sqrt's derivative left out), "half" (1/2: the 2 of d(zc**2) left out),
      "no_1/m" (m: dvar reaches every column undivided), "z_norm_for_zc" (inv:
      dinv summed with z_norm where zc = z_norm * std is the other factor);
    - ``dz_gamma``: False leaves gamma out of dZ;
    - ``dz_m``: "right", "no_1/m" (m times too large), "no_m" (``dZ_tilde`` not multiplied by m);
    - ``dgamma``: "right", "no_z_norm", "mean" (1/m of the sum), "matmul" (``dZ_tilde @ z_norm.T``),
      "axis0", "swapped" (returns dbeta); ``dbeta``: "right", "mean", "axis0", "swapped".
    """

    def fn(Z, gamma, beta, eps, d):
        Z = np.asarray(Z, dtype=float)
        m = d.shape[1]
        inv = 1.0 / np.sqrt(Z.var(axis=1, keepdims=True) + eps)
        z_norm = (Z - Z.mean(axis=1, keepdims=True)) * inv
        db, dg = d.sum(axis=1, keepdims=True), (d * z_norm).sum(axis=1, keepdims=True)
        a = {"right": 1.0, "missing": 0.0, "no_1/m": m, "sign": -1.0}[mu_path]
        b = {"right": 1.0, "missing": 0.0, "sign": -1.0, "twice": 2.0, "half": 0.5, "no_1/m": m,
             "z_norm_for_zc": inv}[sigma_path]  # fmt: skip
        through = -a * db - b * z_norm * dg
        inner = {"right": (m * d + through) / m, "no_1/m": m * d + through, "no_m": (d + through) / m}[dz_m]
        dZ = (gamma if dz_gamma else 1.0) * inv * inner
        dgammas = {"right": dg, "no_z_norm": db, "mean": dg / m, "matmul": d @ z_norm.T,
                   "axis0": (d * z_norm).sum(axis=0, keepdims=True), "swapped": db}  # fmt: skip
        dbetas = {"right": db, "mean": db / m, "axis0": d.sum(axis=0, keepdims=True), "swapped": dg}
        return dZ, dgammas[dgamma], dbetas[dbeta]

    return fn


def _backward(message, **options):
    return Mistake(message, backward_variant(**options), options)


BACKWARD_MISTAKES = [
    _backward("your dZ has no terms through mu and sigma^2: gamma / sqrt(sigma^2 + eps) * dZ_tilde treats mu and "
              "sigma^2 as constants, but both depend on every z of the batch: dZ = inv * (gamma * dZ_tilde - a - "
              "b * z_norm), with the a and b the two facts about dZ give.",
              mu_path="missing", sigma_path="missing"),
    _backward("your dZ has the term through mu but not the one through sigma^2 (the - z_norm * dgamma term).",
              sigma_path="missing"),
    _backward("your dZ has no gamma: z_tilde = gamma * z_norm, so every path back to z goes through gamma: "
              "dZ = gamma / (m * sqrt(sigma^2 + eps)) * (...).", dz_gamma=False),
    _backward("your dZ is m times too large: the factor in front is gamma / (m * sqrt(sigma^2 + eps)); the 1/m is "
              "missing.", dz_m="no_1/m"),
    _backward("your dZ lacks the m in m * dZ_tilde: with the 1/m taken out in front, the term gamma * dZ_tilde "
              "becomes m * dZ_tilde, while dbeta and z_norm * dgamma keep no m.", dz_m="no_m"),
    _backward("your dgamma lacks the z_norm factor: dgamma = sum_i dz_tilde_i * z_norm_i (gamma multiplies z_norm).",
              dgamma="no_z_norm"),
    _backward("your dgamma is exactly 1/m of the expected: it averages over the examples. gamma touches every "
              "example's z_tilde, so its gradient is the sum: (dZ_tilde * z_norm).sum(axis=1, keepdims=True).",
              dgamma="mean"),
    _backward("your dbeta is exactly 1/m of the expected: it averages over the examples. beta touches every "
              "example's z_tilde, so its gradient is the sum: dZ_tilde.sum(axis=1, keepdims=True).", dbeta="mean"),
    _backward("your dgamma is a matrix product, dZ_tilde @ z_norm.T, of shape (n_l, n_l): it pairs every unit with "
              "every other. Multiply entry by entry and sum over the examples: "
              "(dZ_tilde * z_norm).sum(axis=1, keepdims=True).", dgamma="matmul"),
    _backward("your gradients of gamma and beta are summed over the wrong axis: sum over the examples "
              "(axis=1, keepdims=True), one value per unit.", dgamma="axis0", dbeta="axis0"),
    _backward("your dgamma and dbeta are swapped.", dgamma="swapped", dbeta="swapped"),
]


# The staged version's mistakes, in the graph's terms: its nodes are those of bn_helpers.batchnorm_backward_staged
# (mu, zc, var, std, inv, z_norm, z_tilde), and a message says which node's local derivative or which branch is
# wrong. Its dgamma and dbeta are the closed form's, and so are their mistakes (shared, not written twice).
STAGED_MISTAKES = [
    _backward("your dzc has only the part through z_norm: zc feeds both var and z_norm, so its gradient is the sum "
              "of two parts. Add the part through var: dzc = dzc + 2 * zc * dvar / m.", sigma_path="missing"),
    _backward("your dZ has no part through mu: z feeds both zc and mu (zc = z - mu), so its gradient is the sum of "
              "two parts: dZ = dzc + dmu / m, with dmu = -dzc.sum(axis=1, keepdims=True).", mu_path="missing"),
    _backward("your dZ has neither the part through var nor the one through mu: zc feeds var as well as z_norm, and "
              "z feeds mu as well as zc; a node that feeds two others gets the sum of both gradients: "
              "dzc = dzc + 2 * zc * dvar / m, then dZ = dzc + dmu / m.", mu_path="missing", sigma_path="missing"),
    _backward("your dz_norm has no gamma: z_tilde = gamma * z_norm + beta, so dz_norm = gamma * dZ_tilde, and every "
              "path back to z starts from it.", dz_gamma=False),
    _backward("your dstd has the wrong sign: inv = 1 / std, whose local derivative is -1 / std**2, so "
              "dstd = -dinv / std**2.", sigma_path="sign"),
    _backward("your dvar is twice the expected: std = sqrt(var + eps), whose local derivative is 1 / (2 * std), so "
              "dvar = dstd / (2 * std); the 1/2 is missing.", sigma_path="twice"),
    _backward("your part of dzc through var is half the expected: var = mean(zc**2), and the local derivative of "
              "zc**2 is 2 * zc, so dzc = dzc + 2 * zc * dvar / m; the 2 is missing.", sigma_path="half"),
    _backward("your part of dzc through var is m times too large: var = mean(zc**2) is a mean, so dvar reaches each "
              "of the m columns as dvar / m: dzc = dzc + 2 * zc * dvar / m.", sigma_path="no_1/m"),
    _backward("your part of dZ through mu is m times too large: mu = mean(z) is a mean, so the mu node's gradient "
              "reaches each of the m columns as dmu / m: dZ = dzc + dmu / m.", mu_path="no_1/m"),
    _backward("your dmu has the wrong sign: zc = z - mu, so the local derivative of zc by mu is -1: "
              "dmu = -dzc.sum(axis=1, keepdims=True).", mu_path="sign"),
    _backward("your dinv is summed with z_norm where the other factor of its node is zc: z_norm = zc * inv, so "
              "dinv = (dz_norm * zc).sum(axis=1, keepdims=True). The cache holds Z_norm, not zc: rebuild it, "
              "zc = Z_norm * sqrt(var + eps).", sigma_path="z_norm_for_zc"),
    *(mistake for mistake in BACKWARD_MISTAKES if set(mistake.options) <= {"dgamma", "dbeta"}),
]


def _name(fn, default):
    """The learner's function as the messages name it: by its own name (``batchnorm_backward_staged``)."""
    return getattr(fn, "__name__", default)


def _cache_order(forward_fn, backward_fn, case):
    """A message when the learner's backward unpacks the cache in another order than the forward packs it."""
    Z, gamma, beta, eps, d = copy.deepcopy(case.args)
    try:
        cache = forward_fn(Z, gamma, beta, eps)[1]
    except Exception:  # the forward pass was checked already: this cannot be what is wrong
        return []
    if not isinstance(cache, (tuple, list)) or not 2 <= len(cache) <= 10:
        return []
    expected = _backward_ref(*case.args)
    for i, j in itertools.combinations(range(len(cache)), 2):
        swapped = list(cache)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        try:
            with np.errstate(all="ignore"):
                got = backward_fn(d.copy(), type(cache)(swapped))
            right = all(np.shape(g) == np.shape(e) and np.allclose(g, e, rtol=1e-8, atol=1e-12)
                        for g, e in zip(got, expected))  # fmt: skip
        except Exception:
            continue
        if right:
            return [f"your {_name(backward_fn, 'backward pass')} unpacks the cache in another order than your "
                    f"{_name(forward_fn, 'forward pass')} packs it: with items {i} and {j} of the cache swapped, it "
                    f"returns the right gradients. Unpack in the order you pack."]  # fmt: skip
    return []


@learner_facing(points=3)
def check_batchnorm_backward(forward_fn, backward_fn, hidden=False):
    """Check ``backward_fn(dZ_tilde, cache) -> (dZ, dgamma, dbeta)``, with ``cache`` from your ``forward_fn``.

    Shapes: ``dZ_tilde`` and ``dZ`` ``(n_l, m)``, ``dgamma`` and ``dbeta``
    ``(n_l, 1)``. The forward pass is checked first (silently). While it is
    not right (or not written), the backward pass is judged on its own: it is
    given the cache exercise 1 prescribes, ``(Z_norm, var, gamma, eps)``,
    computed by the package, so that one mistake costs one exercise.
    """
    _check_backward("check_batchnorm_backward", BACKWARD_MISTAKES, forward_fn, backward_fn, hidden)


@learner_facing(points=3)
def check_batchnorm_backward_staged(forward_fn, backward_fn, hidden=False):
    """Check ``backward_fn(dZ_tilde, cache) -> (dZ, dgamma, dbeta)``, written node by node, on ``forward_fn``'s cache.

    The gradient is the one :func:`check_batchnorm_backward` judges, on the
    same cases and the same way (shapes: ``dZ_tilde`` and ``dZ`` ``(n_l, m)``,
    ``dgamma`` and ``dbeta`` ``(n_l, 1)``; the prescribed cache while the
    forward pass is not right); only the words differ: a mistake is named by
    the node of the graph where it lies (:data:`STAGED_MISTAKES`).
    """
    _check_backward("check_batchnorm_backward_staged", STAGED_MISTAKES, forward_fn, backward_fn, hidden)


def _check_backward(title, mistakes, forward_fn, backward_fn, hidden):
    """Both backward checks: ``title`` is the check's name, ``mistakes`` its catalogue; the rest is theirs."""
    exercise = title.removeprefix("check_")  # the function the notebook asks for, named in the messages
    for f in (forward_fn, backward_fn):
        need_function(f, title, f"{title}(batchnorm_forward, {exercise})")
    try:
        with quiet():
            check_batchnorm_forward.__wrapped__(forward_fn)  # the verdict as an exception
        forward_right = True
    except (AssertionError, NotImplementedError):
        forward_right = False

    def via_the_cache(Z, gamma, beta, eps, dZ_tilde):
        cache = forward_fn(Z, gamma, beta, eps)[1] if forward_right else prescribed_cache(Z, gamma, beta, eps)
        return backward_fn(dZ_tilde, cache)

    note = (f"Your {_name(forward_fn, 'forward pass')} does not pass its check yet, so your "
            f"{_name(backward_fn, 'backward pass')} was given the cache exercise 1 asks for, "
            f"(Z_norm, var, gamma, eps), computed by bn_helpers.")  # fmt: skip
    diagnose = (lambda case, got: _cache_order(forward_fn, backward_fn, case)) if forward_right else None
    cases = drawn(_backward_cases, hidden)
    try:
        run(title, via_the_cache, _backward_ref, cases, mistakes, ["dZ", "dgamma", "dbeta"],
            select=returns_tuple(3, exercise, ["dZ", "dgamma", "dbeta"]),
            build=lambda **options: backward_variant(**options), diagnose=diagnose)  # fmt: skip
    except AssertionError as err:
        if forward_right:
            raise
        noted = AssertionError(f"{err}\n{note}")
        noted.passed, noted.total = getattr(err, "passed", 0), getattr(err, "total", 1)
        raise noted from err.__cause__
    if not forward_right and cases.seed is None:  # said once, by the visible check
        print(note)


def prescribed_cache(Z, gamma, beta, eps=1e-5):
    """The cache exercise 1 asks ``batchnorm_forward`` to return: ``(Z_norm, var, gamma, eps)``.

    ``Z_norm`` ``(n_l, m)``, the batch variance ``var`` ``(n_l, 1)`` (divided
    by m), ``gamma`` ``(n_l, 1)`` and ``eps`` as given.
    """
    return reference_forward(Z, gamma, beta, eps)[1]


# The package's functions with the cache of exercise 1, (Z_norm, var, gamma, eps): what notebook 02 goes on with
# (yours_or_ours) while a learner's function does not pass its check. With one cache format for theirs and ours,
# each function can be theirs or ours on its own: a right backward pass with an unfinished forward pass still runs.


def reference_forward(Z, gamma, beta, eps=1e-5):
    """:func:`~bn_helpers.batchnorm_forward`, returning ``(Z_tilde, (Z_norm, var, gamma, eps))``; ``Z`` ``(n_l, m)``."""
    Z_tilde, cache = batchnorm_forward(np.asarray(Z, dtype=float), gamma, beta, eps)
    return Z_tilde, (cache.Z_norm, cache.var, gamma, eps)


def _package_cache(cache):
    """The package's cache rebuilt from exercise 1's ``(Z_norm, var, gamma, eps)`` (the backward passes read no mu)."""
    Z_norm, var, gamma, eps = cache
    inv_std = 1.0 / np.sqrt(var + eps)
    return BatchNormCache(Z_norm, Z_norm / inv_std, None, var, inv_std, np.asarray(gamma, dtype=float), eps)


def reference_backward(dZ_tilde, cache):
    """:func:`~bn_helpers.batchnorm_backward` on exercise 1's cache: ``(dZ, dgamma, dbeta)``, ``(n_l, m)``, ``(n_l, 1)``."""
    return batchnorm_backward(dZ_tilde, _package_cache(cache))


def reference_backward_staged(dZ_tilde, cache):
    """:func:`~bn_helpers.batchnorm_backward_staged` on exercise 1's cache; returns as :func:`reference_backward`."""
    return batchnorm_backward_staged(dZ_tilde, _package_cache(cache))
