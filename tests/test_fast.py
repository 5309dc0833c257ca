"""The fast kernel computes what the plain functions compute, with the same checks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import nontrivial_params

from bn_helpers import batchnorm_backward, batchnorm_forward, rel_error
from bn_helpers.fast import FastBatchNorm, batchnorm_backward_fast, batchnorm_forward_fast


@pytest.mark.parametrize("shape", [(1, 2), (3, 7), (100, 60), (300, 2000)])
@pytest.mark.parametrize("block_bytes", [64, 4096, None])  # many tiny blocks, a few, the default
def test_fast_equals_plain(rng, shape, block_bytes):
    Z = rng.normal(2.0, 3.0, shape)
    gamma, beta = nontrivial_params(rng, shape[0])
    d = rng.standard_normal(shape)
    kernel = FastBatchNorm(block_bytes)
    out, cache = kernel.forward(Z, gamma, beta)
    ref, ref_cache = batchnorm_forward(Z, gamma, beta)
    assert rel_error(out, ref) < 1e-14
    np.testing.assert_allclose(cache.mu, ref_cache.mu, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(cache.var, ref_cache.var, rtol=1e-12)
    dZ, dgamma, dbeta = kernel.backward(d, cache)
    ref_dZ, ref_dgamma, ref_dbeta = batchnorm_backward(d, ref_cache)
    assert rel_error(dgamma, ref_dgamma) < 1e-13 and rel_error(dbeta, ref_dbeta) < 1e-13
    # dZ is a difference of terms of size |gamma * inv_std * d|; with m = 2 it nearly
    # cancels, so compare against the size of the terms, not of the result.
    scale = np.abs(ref_cache.gamma * ref_cache.inv_std).max() * np.abs(d).max()
    assert np.abs(dZ - ref_dZ).max() < 1e-13 * scale


def test_float32_and_large_offset(rng):
    Z = (rng.standard_normal((20, 50)) + 1e8).astype(np.float64)
    out, _ = batchnorm_forward_fast(Z, np.ones(20), np.zeros(20))
    ref, _ = batchnorm_forward(Z, np.ones(20), np.zeros(20))
    np.testing.assert_allclose(out, ref, atol=1e-6)
    out32, _ = batchnorm_forward_fast(Z.astype(np.float32) - np.float32(1e8), np.ones(20), np.zeros(20))
    assert out32.dtype == np.float32


def test_buffers_are_reused_only_when_asked(rng):
    Z = rng.standard_normal((4, 10))
    k = FastBatchNorm()
    a, _ = k.forward(Z, np.ones(4), np.zeros(4))
    b, _ = k.forward(2 * Z + 1, np.ones(4), np.zeros(4))
    assert a is b  # documented: the next call overwrites the returned buffer
    c, _ = k.forward(Z, np.ones(4), np.zeros(4), reuse=False)
    d, _ = k.forward(Z, np.ones(4), np.zeros(4), reuse=False)
    assert c is not d and np.array_equal(c, d)
    e, _ = k.forward(rng.standard_normal((4, 12)), np.ones(4), np.zeros(4))  # new shape: new buffer
    assert e.shape == (4, 12)


def test_functional_forms_do_not_share_buffers(rng):
    Z = rng.standard_normal((3, 5))
    a, ca = batchnorm_forward_fast(Z, np.ones(3), np.zeros(3))
    b, cb = batchnorm_forward_fast(Z + 1, np.ones(3), np.zeros(3))
    assert a is not b
    da = batchnorm_backward_fast(np.ones((3, 5)), ca)[0]
    db = batchnorm_backward_fast(np.ones((3, 5)), cb)[0]
    assert da is not db


@pytest.mark.parametrize(
    "call, exc, pattern",
    [
        (lambda Z: batchnorm_forward_fast(Z[:, :1], np.ones(3), np.zeros(3)), ValueError, r"at least 2 examples.*batchnorm_inference"),
        (lambda Z: batchnorm_forward_fast(Z, np.ones(4), np.zeros(3)), ValueError, r"gamma must have shape \(3, 1\)"),
        (lambda Z: batchnorm_forward_fast(Z, np.ones(3), np.zeros(3), eps=0), ValueError, r"eps must be in \(0"),
        (lambda Z: batchnorm_forward_fast(np.where(Z > 1, np.nan, Z), np.ones(3), np.zeros(3)), ValueError, r"Z contains \d+ NaN"),
        (lambda Z: batchnorm_backward_fast(Z, (1, 2)), TypeError, r"cache must be the FastCache"),
        (lambda Z: batchnorm_backward_fast(Z[:, :4], batchnorm_forward_fast(Z, np.ones(3), np.zeros(3))[1]), ValueError,
         r"dZ_tilde must have shape \(3, 8\)"),
    ],
)
def test_bad_input(rng, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call(rng.standard_normal((3, 8)))
