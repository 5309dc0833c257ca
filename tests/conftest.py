"""Shared test setup: one BLAS thread, reproducible hypothesis runs, the PyTorch oracle."""

from __future__ import annotations

import importlib.util
import os

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from threadpoolctl import threadpool_limits

# Derandomized: CI and every developer see the same examples; no flaky reruns.
settings.register_profile(
    "course", derandomize=True, deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("course")

IN_CI = os.environ.get("CI", "").lower() == "true"

matplotlib.use("Agg")  # figures are drawn headless in tests


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def digits():
    """The digits, inputs normalized with the training set's statistics: (X, y, X_test, y_test)."""
    from bn_helpers import load_digits, normalize_dataset

    return tuple(normalize_dataset(load_digits()))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the conformance oracle: skipped locally if absent, a failure in CI."""
    if importlib.util.find_spec("torch") is None:
        msg = "PyTorch is not installed (make oracle installs torch==2.13.0, the CPU build)"
        if IN_CI:
            pytest.fail(f"{msg}; CI=true requires it")
        pytest.skip(msg)
    import torch

    torch.set_num_threads(1)
    return torch


def nontrivial_params(rng, n):
    """gamma away from 1 (both signs) and beta away from 0: hides no missing factor."""
    gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
    beta = rng.uniform(-2.0, 2.0, (n, 1))
    return gamma, beta


def pytest_collection_modifyitems(items):
    # Every test of tests/test_claims_*.py is a claims test: the matrix's rows select among them by marker.
    for item in items:
        if item.path.name.startswith("test_claims_"):
            item.add_marker(pytest.mark.claims)

