"""Optimizers: each update rule by hand, generic over names, and minimizing a quadratic."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import Adam, GradientDescent, Momentum, RMSprop, make_optimizer


def test_gradient_descent_step():
    p = {"W1": np.array([1.0, 2.0]), "gamma1": np.array([[3.0]])}
    GradientDescent(0.5).step(p, {"W1": np.array([2.0, -2.0]), "gamma1": np.array([[1.0]])})
    np.testing.assert_allclose(p["W1"], [0.0, 3.0])
    np.testing.assert_allclose(p["gamma1"], [[2.5]])


def test_momentum_is_an_average_of_gradients():
    p = {"W": np.array([0.0])}
    opt = Momentum(1.0, momentum=0.9)
    opt.step(p, {"W": np.array([1.0])})  # v = 0.1
    opt.step(p, {"W": np.array([1.0])})  # v = 0.19
    np.testing.assert_allclose(p["W"], [-0.29])


def test_rmsprop_step():
    p = {"W": np.array([0.0, 0.0])}
    opt = RMSprop(0.1, beta2=0.9, eps=0.0 + 1e-12)
    opt.step(p, {"W": np.array([4.0, -0.01])})
    # s = 0.1 g^2, step = lr * g / sqrt(0.1 g^2) = lr * sign(g) / sqrt(0.1)
    np.testing.assert_allclose(p["W"], [-0.1 / np.sqrt(0.1), 0.1 / np.sqrt(0.1)], rtol=1e-9)


def test_adam_first_step_is_learning_rate_times_sign():
    """With bias correction the first step has size lr whatever the gradient's scale."""
    p = {"W": np.array([0.0, 0.0, 0.0])}
    Adam(0.01).step(p, {"W": np.array([1e-3, -50.0, 7.0])})
    np.testing.assert_allclose(p["W"], [-0.01, 0.01, -0.01], rtol=1e-4)


def test_adam_matches_the_formula_over_steps(rng):
    g_seq = rng.standard_normal((5, 3))
    p = {"W": np.zeros(3)}
    opt = Adam(0.1, beta1=0.8, beta2=0.95, eps=1e-8)
    v = s = np.zeros(3)
    W = np.zeros(3)
    for t, g in enumerate(g_seq, start=1):
        opt.step(p, {"W": g})
        v = 0.8 * v + 0.2 * g
        s = 0.95 * s + 0.05 * g * g
        W = W - 0.1 * (v / (1 - 0.8**t)) / (np.sqrt(s / (1 - 0.95**t)) + 1e-8)
    np.testing.assert_allclose(p["W"], W, rtol=1e-12)


def test_state_is_kept_per_parameter_name():
    opt = Momentum(1.0, momentum=0.5)
    p = {"W1": np.zeros(1), "beta1": np.zeros(1)}
    opt.step(p, {"W1": np.ones(1), "beta1": -np.ones(1)})
    assert set(opt.state) == {"W1", "beta1"}
    np.testing.assert_allclose(p["W1"], -p["beta1"])


@pytest.mark.parametrize(
    "name, lr, kw",
    [("gd", 0.1, {}), ("momentum", 0.1, {"momentum": 0.9}), ("rmsprop", 0.01, {}), ("adam", 0.05, {})],
)
def test_every_optimizer_minimizes_an_elongated_quadratic(name, lr, kw):
    scales = np.array([1.0, 10.0])
    p = {"W": np.array([3.0, 2.0])}
    opt = make_optimizer(name, lr, **kw)
    for _ in range(2000):
        opt.step(p, {"W": scales * p["W"]})  # gradient of 0.5 * sum(scales * W^2)
    assert np.abs(p["W"]).max() < 1e-2


def test_updates_are_in_place():
    W = np.ones(2)
    p = {"W": W}
    Adam(0.1).step(p, {"W": np.ones(2)})
    assert p["W"] is W and (W < 1).all()


@pytest.mark.parametrize("name, kw", [("gd", {}), ("momentum", dict(momentum=0.8)), ("rmsprop", dict(beta2=0.9)),
                                      ("adam", dict(beta1=0.8, beta2=0.95))])  # fmt: skip
def test_work_arrays_give_the_readable_formulas_bit_for_bit(rng, name, kw):
    """The updates write into kept work arrays; the numbers are those of the formulas with fresh arrays, exactly."""
    lr = 0.05
    opt = make_optimizer(name, lr, **kw)
    # Two parameters of one shape: each must keep its own work arrays and state.
    p = {"W1": rng.standard_normal((3, 4)), "W2": rng.standard_normal((3, 4))}
    ref = {n: a.copy() for n, a in p.items()}
    v = {n: np.zeros((3, 4)) for n in p}
    s = {n: np.zeros((3, 4)) for n in p}
    for t in range(1, 6):
        g = {n: rng.standard_normal((3, 4)) * 10.0 ** rng.integers(-4, 3) for n in p}
        opt.step(p, g)
        for n in p:
            if name == "gd":
                ref[n] -= lr * g[n]
            elif name == "momentum":
                v[n] = 0.8 * v[n] + (1.0 - 0.8) * g[n]
                ref[n] -= lr * v[n]
            elif name == "rmsprop":
                s[n] = 0.9 * s[n] + (1.0 - 0.9) * g[n] * g[n]
                ref[n] -= lr * g[n] / (np.sqrt(s[n]) + 1e-8)
            else:
                v[n] = 0.8 * v[n] + (1.0 - 0.8) * g[n]
                s[n] = 0.95 * s[n] + (1.0 - 0.95) * g[n] * g[n]
                c1, c2 = 1.0 - 0.8**t, np.sqrt(1.0 - 0.95**t)
                ref[n] -= (lr * c2 / c1) * v[n] / (np.sqrt(s[n]) + 1e-8 * c2)
        for n in p:
            np.testing.assert_array_equal(p[n], ref[n])
