"""Invariants of batch norm over random shapes and scales (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bn_helpers import batchnorm_forward, batchnorm_inference

EPS = 1e-5


@st.composite
def batches(draw):
    """Z (n, m) with per-unit scales from 1e-2 to 1e3 and offsets up to 1e4, and gamma, beta."""
    n = draw(st.integers(1, 6))
    m = draw(st.integers(2, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** rng.uniform(-2, 3, (n, 1))
    offset = rng.uniform(-1e4, 1e4, (n, 1))
    Z = offset + scale * rng.standard_normal((n, m))
    gamma = rng.uniform(0.1, 3.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
    beta = rng.uniform(-5.0, 5.0, (n, 1))
    return Z, gamma, beta, rng


@given(batches())
def test_mean_is_beta_and_std_is_gamma(data):
    Z, gamma, beta, _ = data
    out, cache = batchnorm_forward(Z, gamma, beta, EPS)
    assert (np.abs(out.mean(axis=1, keepdims=True) - beta) <= 1e-8 * (1 + np.abs(gamma))).all()
    # std is |gamma| shrunk by eps: sqrt(var / (var + eps)), exactly 1 only as eps -> 0.
    expected_std = np.abs(gamma) * np.sqrt(cache.var / (cache.var + EPS))
    np.testing.assert_allclose(out.std(axis=1, keepdims=True), expected_std, rtol=1e-7)


@given(batches())
def test_std_is_gamma_when_var_dominates_eps(data):
    Z, gamma, beta, _ = data
    out, cache = batchnorm_forward(Z, gamma, beta, EPS)
    big = (cache.var > 1e3 * EPS).ravel()
    np.testing.assert_allclose(out.std(axis=1)[big], np.abs(gamma).ravel()[big], rtol=1e-3)


@given(batches())
def test_per_unit_shift_is_cancelled(data):
    """Adding any constant per unit (a bias b) leaves the output unchanged."""
    Z, gamma, beta, rng = data
    shift = rng.uniform(-1e3, 1e3, (Z.shape[0], 1))
    a, _ = batchnorm_forward(Z, gamma, beta, EPS)
    b, _ = batchnorm_forward(Z + shift, gamma, beta, EPS)
    # Storing Z + shift rounds at ~1e-16 * |Z + shift|; relative to the unit's spread:
    tol = 1e-12 * (np.abs(Z).max() + 1e3) / np.sqrt(Z.var(axis=1, keepdims=True) + EPS)
    assert (np.abs(a - b) <= tol * np.abs(gamma) + 1e-12).all()


@given(batches(), st.floats(0.01, 100.0))
def test_positive_scale_invariance(data, c):
    """BN(c Z, eps c^2) == BN(Z, eps) exactly; with a fixed eps, up to eps / var."""
    Z, gamma, beta, _ = data
    a, cache = batchnorm_forward(Z, gamma, beta, EPS)
    b, _ = batchnorm_forward(c * Z, gamma, beta, EPS * c**2)
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9 * (1 + np.abs(a).max()))
    fixed, _ = batchnorm_forward(c * Z, gamma, beta, EPS)
    rel_tol = 2 * EPS / np.minimum(cache.var, c**2 * cache.var) + 1e-9
    assert (np.abs(fixed - beta) <= np.abs(a - beta) * (1 + rel_tol) + 1e-9).all()


@given(batches())
def test_inference_with_batch_statistics_equals_training(data):
    Z, gamma, beta, _ = data
    out, cache = batchnorm_forward(Z, gamma, beta, EPS)
    inf = batchnorm_inference(Z, gamma, beta, cache.mu, cache.var, EPS)
    np.testing.assert_allclose(inf, out, rtol=1e-9, atol=1e-9 * (1 + np.abs(out).max()))


@given(st.integers(1, 5), st.integers(2, 50), st.integers(0, 2**32 - 1))
def test_float64_accurate_with_1e8_offset(n, m, seed):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, m))
    gamma, beta = np.full((n, 1), 1.5), np.full((n, 1), -0.5)
    ref, ref_cache = batchnorm_forward(Z, gamma, beta, EPS)
    out, cache = batchnorm_forward(Z + 1e8, gamma, beta, EPS)
    # Z + 1e8 is stored to ~1.5e-8; that, not the algorithm, bounds the agreement.
    np.testing.assert_allclose(cache.var, ref_cache.var, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out, ref, atol=1e-6)
