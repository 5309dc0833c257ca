"""Input normalization and the synthetic problems."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import (
    input_statistics,
    load_digits,
    make_covariate_shift,
    make_two_scale_regression,
    normalize_dataset,
    normalize_inputs,
    shifted_label_rule,
)


def test_normalized_training_set_has_zero_mean_unit_variance(rng):
    X = rng.normal([[5.0], [-300.0], [0.01]], [[2.0], [1000.0], [0.001]], (3, 500))
    mu, var = input_statistics(X)
    Xn = normalize_inputs(X, mu, var)
    np.testing.assert_allclose(Xn.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xn.var(axis=1), 1.0, rtol=1e-12)


def test_test_set_uses_training_statistics(rng):
    X_train = rng.normal(2.0, 3.0, (2, 200))
    X_test = rng.normal(2.0, 3.0, (2, 50))
    mu, var = input_statistics(X_train)
    np.testing.assert_allclose(normalize_inputs(X_test, mu, var), (X_test - mu) / np.sqrt(var))


def test_constant_feature_maps_to_zero():
    X = np.array([[3.0, 3.0, 3.0], [1.0, 2.0, 3.0]])
    mu, var = input_statistics(X)
    np.testing.assert_array_equal(normalize_inputs(X, mu, var)[0], 0.0)


def test_two_scale_regression(rng):
    X, y = make_two_scale_regression(5000, rng, scale_ratio=100.0, noise=0.0)
    assert X.shape == (2, 5000) and y.shape == (5000,)
    np.testing.assert_allclose(X.std(axis=1), [1.0, 100.0], rtol=0.05)
    # least squares on the raw features: weights differ by the scale ratio
    A = np.vstack([X, np.ones(5000)]).T
    w = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(w, [2.0, -0.01, 0.5], rtol=1e-9, atol=1e-12)


def test_two_scale_regression_is_reproducible():
    a = make_two_scale_regression(10, np.random.default_rng(5))
    b = make_two_scale_regression(10, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("shift", [0.0, 3.0])
def test_covariate_shift_keeps_the_rule_and_moves_the_inputs(rng, shift):
    X, y = make_covariate_shift(4000, rng, shift=shift)
    np.testing.assert_array_equal(y, shifted_label_rule(X))
    assert X[0].mean() == pytest.approx(shift, abs=0.1)
    assert 0.3 < y.mean() < 0.7  # the cloud straddles the boundary: both classes present


def test_normalize_dataset_uses_training_statistics_for_both_splits():
    d = load_digits()
    n = normalize_dataset(d)
    mu, var = input_statistics(d.X_train)
    np.testing.assert_array_equal(n.X_test, normalize_inputs(d.X_test, mu, var))
    np.testing.assert_allclose(n.X_train.mean(axis=1), 0.0, atol=1e-12)
    assert n.y_train is d.y_train
