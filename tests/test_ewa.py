"""Exponentially weighted averages (the running statistics' estimator)."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import ewa_series, ewa_update


def test_update_formula():
    assert ewa_update(10.0, 20.0, beta=0.9) == pytest.approx(11.0)
    assert ewa_update(10.0, 20.0, beta=0.0) == 20.0  # no memory: the newest value
    a = np.array([[1.0], [2.0]])
    np.testing.assert_allclose(ewa_update(a, 3 * a, beta=0.75), 1.5 * a)


def test_update_accepts_ints_and_returns_float():
    out = ewa_update(np.array([1, 2]), np.array([3, 4]), beta=0.5)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [2.0, 3.0])


def test_series_matches_repeated_updates(rng):
    theta = rng.standard_normal(50)
    v, expected = 0.0, []
    for x in theta:
        v = ewa_update(v, x, beta=0.95)
        expected.append(v)
    np.testing.assert_allclose(ewa_series(theta, beta=0.95), expected)


def test_bias_correction_removes_the_start_at_zero():
    """A constant sequence: the plain average creeps up from 0, the corrected one is exact."""
    plain = ewa_series(np.full(10, 5.0), beta=0.9)
    corrected = ewa_series(np.full(10, 5.0), beta=0.9, bias_correction=True)
    np.testing.assert_allclose(plain, 5.0 * (1 - 0.9 ** np.arange(1, 11)))
    np.testing.assert_allclose(corrected, 5.0)


def test_series_works_per_unit(rng):
    theta = rng.standard_normal((20, 3, 1))
    out = ewa_series(theta, beta=0.8, bias_correction=True)
    for k in range(3):
        np.testing.assert_allclose(out[:, k, 0], ewa_series(theta[:, k, 0], beta=0.8, bias_correction=True))


def test_window_is_about_one_over_one_minus_beta():
    """After 1/(1-beta) steps, the first value's weight has decayed to about 1/e."""
    for beta in (0.9, 0.98):
        n = round(1 / (1 - beta))
        assert beta**n == pytest.approx(np.exp(-1), rel=0.06)
