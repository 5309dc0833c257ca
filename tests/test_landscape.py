"""NoisyBatchNorm and the gradient-direction probe."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import MLP, BatchNorm
from bn_helpers.landscape import NoisyBatchNorm, add_batchnorm_noise, noise_held, probe_gradient_direction


def test_noisy_batchnorm_is_batchnorm_then_the_recorded_affine_noise(rng):
    noisy = NoisyBatchNorm(3, np.random.default_rng(0), scale_max=2.0, shift_max=1.0)
    plain = BatchNorm(3)
    Z = rng.normal(2.0, 3.0, (3, 10))
    out, ref = noisy.forward(Z), plain.forward(Z)
    s = noisy.noise_scale
    assert ((s >= 0.5) & (s <= 2.0)).all()
    t = out - s * ref
    np.testing.assert_allclose(t, t[:, :1] * np.ones((1, 10)), atol=1e-12)  # one shift per unit
    assert (np.abs(t[:, 0]) <= 1.0).all()
    d = rng.standard_normal((3, 10))
    for a, b in zip(noisy.backward(d), plain.backward(d * s)):
        np.testing.assert_allclose(a, b)
    second = noisy.forward(Z)
    assert not np.allclose(second, out)  # redrawn every step


def test_noisy_batchnorm_adds_no_noise_in_eval_mode(rng):
    noisy = NoisyBatchNorm(2, np.random.default_rng(0)).eval()
    plain = BatchNorm(2).eval()
    Z = rng.standard_normal((2, 1))
    np.testing.assert_array_equal(noisy.forward(Z), plain.forward(Z))


def test_add_noise_keeps_the_parameters_shared(rng):
    net = MLP([4, 5, 5, 3], batchnorm=True, rng=rng)
    add_batchnorm_noise(net, np.random.default_rng(1))
    assert all(isinstance(bn, NoisyBatchNorm) for bn in net.bn.values())
    assert net.params["gamma1"] is net.bn[1].gamma and net.params["beta2"] is net.bn[2].beta
    X, y = rng.standard_normal((4, 8)), rng.integers(0, 3, 8)
    loss, grads = net.loss_and_grads(X, y)
    assert np.isfinite(loss) and set(grads) == set(net.params)


def test_probe_restores_the_model_and_starts_at_the_current_loss(rng):
    net = MLP([4, 6, 3], batchnorm=True, rng=rng, activation="tanh")
    X, y = rng.standard_normal((4, 16)), rng.integers(0, 3, 16)
    before = {k: v.copy() for k, v in net.params.items()}
    running = net.bn[1].running_mean.copy()
    loss0 = net.loss(X, y)
    net.bn[1].running_mean = running.copy()
    r = probe_gradient_direction(net, X, y, [0.0, 0.1, 1.0])
    assert r["losses"][0] == pytest.approx(loss0) and r["grad_change"][0] == pytest.approx(0.0, abs=1e-12)
    assert r["losses"][1] < loss0  # a small step down the gradient lowers the loss
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, before[k])
    np.testing.assert_array_equal(net.bn[1].running_mean, running)
    with pytest.raises(ValueError, match="steps must be a non-empty sequence of values >= 0"):
        probe_gradient_direction(net, X, y, [-1.0])


@pytest.mark.parametrize("kind", ["plain", "bn", "noisy"])
def test_a_probe_at_step_zero_reports_no_change_for_every_variant(kind, rng):
    """The probe measures the landscape, not the noise: standing still changes nothing."""
    net = MLP([5, 7, 7, 3], batchnorm=kind != "plain", rng=rng, activation="sigmoid")
    if kind == "noisy":
        add_batchnorm_noise(net, np.random.default_rng(3))
    X, y = rng.standard_normal((5, 20)), rng.integers(0, 3, 20)
    for unit in (False, True):
        r = probe_gradient_direction(net, X, y, [0.0, 0.0, 0.5], unit_direction=unit, noise_samples=3,
                                     rng=np.random.default_rng(4))
        assert r["grad_change"][0] == 0.0 and r["grad_change"][1] == 0.0
        assert r["losses"][0] == r["losses"][1]
        assert r["grad_change"][2] > 0


def test_unit_direction_probes_at_equal_step_lengths(rng):
    net = MLP([4, 6, 3], batchnorm=True, rng=rng, activation="tanh")
    X, y = rng.standard_normal((4, 16)), rng.integers(0, 3, 16)
    by_length = probe_gradient_direction(net, X, y, [0.1, 0.2], unit_direction=True)
    np.testing.assert_allclose(by_length["distances"], [0.1, 0.2])
    by_size = probe_gradient_direction(net, X, y, [0.1, 0.2])
    np.testing.assert_allclose(by_size["distances"], [0.1 * by_size["grad_norm"], 0.2 * by_size["grad_norm"]])
    # the same point reached both ways gives the same loss
    same = probe_gradient_direction(net, X, y, [0.1 / by_size["grad_norm"]])
    assert same["losses"][0] == pytest.approx(by_length["losses"][0])
    assert by_length["smoothness"] == pytest.approx(max(by_length["grad_change"] / [0.1, 0.2]))


def test_noise_held_fixes_the_noise_and_releases_it(rng):
    net = add_batchnorm_noise(MLP([4, 6, 3], batchnorm=True, rng=rng), np.random.default_rng(0))
    X = rng.standard_normal((4, 10))
    with noise_held(net, np.random.default_rng(1)):
        a, b = net.forward(X).copy(), net.forward(X).copy()
    np.testing.assert_array_equal(a, b)
    assert net.bn[1].held_noise is None
    assert not np.allclose(net.forward(X), net.forward(X))


def test_probing_a_noisy_network_needs_its_own_generator_and_changes_no_training(rng):
    X, y = rng.standard_normal((5, 30)), rng.integers(0, 3, 30)

    def trained(probe):
        net = add_batchnorm_noise(MLP([5, 7, 3], batchnorm=True, rng=np.random.default_rng(0)), np.random.default_rng(1))
        for _ in range(3):
            if probe:
                probe_gradient_direction(net, X, y, [0.1], noise_samples=2, rng=np.random.default_rng(2))
            loss, grads = net.loss_and_grads(X, y)
            for k, p in net.params.items():
                p -= 0.1 * grads[k]
        return net.params["W1"]

    np.testing.assert_array_equal(trained(False), trained(True))
    net = add_batchnorm_noise(MLP([5, 7, 3], batchnorm=True, rng=rng), np.random.default_rng(1))
    with pytest.raises(TypeError, match="rng .which draws the noise held along the probe. must be a numpy Generator"):
        probe_gradient_direction(net, X, y, [0.1])


def test_gradient_shift_against_a_direct_computation(rng):
    """G and G' by hand: W[3]'s gradient before and after layers 1 and 2 take their step; nothing left changed."""
    from bn_helpers.landscape import gradient_shift

    X, y = rng.standard_normal((5, 30)), rng.integers(0, 3, 30)
    net = MLP([5, 7, 6, 3], batchnorm=True, rng=np.random.default_rng(0))
    before = {k: v.copy() for k, v in net.params.items()}
    shift = gradient_shift(net, X, y, 0.3, 3)
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, before[k])  # restored
    _, g = net.loss_and_grads(X, y)
    G = g["W3"].copy()
    for k in ("W1", "gamma1", "beta1", "W2", "gamma2", "beta2"):
        net.params[k] -= 0.3 * g[k]
    _, g2 = net.loss_and_grads(X, y)
    np.testing.assert_allclose(shift["l2"], np.linalg.norm(G - g2["W3"]), rtol=1e-12)
    np.testing.assert_allclose(shift["cosine"], (G * g2["W3"]).sum() / np.linalg.norm(G) / np.linalg.norm(g2["W3"]), rtol=1e-12)


def test_gradient_shift_holds_a_noisy_networks_noise_and_checks_its_arguments(rng):
    from bn_helpers.landscape import gradient_shift

    X, y = rng.standard_normal((5, 30)), rng.integers(0, 3, 30)
    net = add_batchnorm_noise(MLP([5, 7, 6, 3], batchnorm=True, rng=np.random.default_rng(0)), np.random.default_rng(1))
    assert gradient_shift(net, X, y, 0.0, 3, rng=np.random.default_rng(2))["l2"] == 0  # the same noise for G and G'
    with pytest.raises(TypeError, match="rng .which draws the noise held for both gradients. must be a numpy Generator"):
        gradient_shift(net, X, y, 0.1, 3)
    with pytest.raises(ValueError, match="layer must be a layer of the model, 2 to 3; got 4"):
        gradient_shift(net, X, y, 0.1, 4, rng=np.random.default_rng(2))


def test_noisy_batchnorm_over_seeds_is_each_seed_alone(rng):
    """A MultiSeedMLP with noise after batch norm trains each seed as an MLP of NoisyBatchNorm layers would alone."""
    from bn_helpers import GradientDescent, MultiSeedMLP, train, train_seeds

    X, y = rng.standard_normal((6, 40)), rng.integers(0, 3, 40)
    seeds = [3, 5]
    many = add_batchnorm_noise(MultiSeedMLP([6, 8, 7, 3], batchnorm=True, rngs=[np.random.default_rng(s) for s in seeds],
                                            activation="sigmoid"), [np.random.default_rng(50 + s) for s in seeds])
    hs = train_seeds(many, GradientDescent(0.3), X, y, epochs=3, batch_size=10, rngs=[np.random.default_rng(s + 1) for s in seeds])
    for i, s in enumerate(seeds):
        alone = add_batchnorm_noise(MLP([6, 8, 7, 3], batchnorm=True, rng=np.random.default_rng(s), activation="sigmoid"),
                                    np.random.default_rng(50 + s))
        h = train(alone, GradientDescent(0.3), X, y, epochs=3, batch_size=10, rng=np.random.default_rng(s + 1))
        np.testing.assert_array_equal(hs[i]["batch_loss"], h["batch_loss"])
        for name, p in alone.params.items():
            np.testing.assert_array_equal(many.params[name][i], p)
    with pytest.raises(ValueError, match="rng must be a list of 2 np.random.Generator for a MultiSeedMLP"):
        add_batchnorm_noise(many, np.random.default_rng(0))
