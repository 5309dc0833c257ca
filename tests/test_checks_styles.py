"""Right code passes every check, whatever its style: staged, closed form, one-liners, in place on its own arrays.

A check that refuses a right answer teaches the wrong lesson. Each function
below is right, written the way some learner would write it.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

from bn_helpers import batchnorm_forward, checks, dense_forward

# --- 02: forward and backward ----------------------------------------------------------------


def forward_staged(Z, gamma, beta, eps=1e-5):
    """Karpathy's makemore style: one named step a line."""
    m = Z.shape[1]
    mu = 1 / m * Z.sum(axis=1, keepdims=True)
    diff = Z - mu
    diff_sq = diff**2
    var = 1 / m * diff_sq.sum(axis=1, keepdims=True)
    var_eps = var + eps
    std = var_eps**0.5
    inv = std**-1
    Z_norm = diff * inv
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)


def backward_staged(dZ_tilde, cache):
    """CS231n's graph, node by node in reverse, from the prescribed cache."""
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    inv = 1 / np.sqrt(var + eps)
    diff = Z_norm / inv
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = (dZ_tilde * Z_norm).sum(axis=1, keepdims=True)
    dZ_norm = dZ_tilde * gamma
    dinv = (dZ_norm * diff).sum(axis=1, keepdims=True)
    ddiff = dZ_norm * inv
    dstd = -dinv * inv**2
    dvar = 0.5 * dstd * inv
    ddiff += 2 * diff * dvar / m
    dmu = -ddiff.sum(axis=1, keepdims=True)
    return ddiff + dmu / m, dgamma, dbeta


Cache = namedtuple("Cache", "Z_norm var gamma eps")


def forward_in_place(Z, gamma, beta, eps=1e-5):
    """Works on its own copy in place, and keeps a named tuple."""
    out = np.array(Z, dtype=float)
    out -= out.mean(axis=1, keepdims=True)
    var = np.mean(out**2, axis=1, keepdims=True)
    out /= np.sqrt(var + eps)
    Z_norm = out.copy()
    out *= gamma
    out += beta
    return out, Cache(Z_norm, var, gamma, eps)


def backward_one_line(dZ_tilde, c):
    m = dZ_tilde.shape[1]
    return (c.gamma / np.sqrt(c.var + c.eps) / m * (m * dZ_tilde - dZ_tilde.sum(1, keepdims=True)
                                                    - c.Z_norm * (dZ_tilde * c.Z_norm).sum(1, keepdims=True)),
            (dZ_tilde * c.Z_norm).sum(1, keepdims=True), dZ_tilde.sum(1, keepdims=True))  # fmt: skip


def forward_list_cache(Z, gamma, beta, eps=1e-5):
    mu, var = np.mean(Z, axis=1, keepdims=True), np.var(Z, axis=1, keepdims=True)
    Z_norm = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_norm + beta, [Z_norm, var, gamma, eps]


def backward_mean_form(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    dZ_norm = dZ_tilde * gamma
    dZ = (dZ_norm - dZ_norm.mean(axis=1, keepdims=True) - Z_norm * (dZ_norm * Z_norm).mean(axis=1, keepdims=True))
    return dZ / np.sqrt(var + eps), np.sum(dZ_tilde * Z_norm, axis=1, keepdims=True), np.sum(dZ_tilde, axis=1, keepdims=True)


@pytest.mark.parametrize("forward, backward", [(forward_staged, backward_staged), (forward_in_place, backward_one_line),
                                               (forward_list_cache, backward_mean_form)])  # fmt: skip
def test_02_in_every_style(forward, backward, capsys):
    checks.check_batchnorm_forward(forward)
    checks.check_batchnorm_backward(forward, backward)
    assert capsys.readouterr().out.count("right in all") == 2


# --- 03, 04, 05, 06 ------------------------------------------------------------------------------


def layer_with_own_activations(A_prev, W, gamma, beta, activation="relu"):
    """The package's dense and batch-norm steps, its own activations, and a list for a cache."""
    Z = dense_forward(A_prev, W)
    Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta)
    g = {"relu": lambda z: np.maximum(0, z), "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}
    A = g[activation](Z_tilde)
    return A, [A_prev, W, bn_cache, Z_tilde, A, activation]


def momentum_out_arguments(params, grads, velocities, learning_rate, momentum=0.9):
    for name, p in params.items():
        v = velocities[name]
        v *= momentum  # the velocity array, updated in place too
        v += (1 - momentum) * grads[name]
        np.subtract(p, learning_rate * v, out=p)


def momentum_slices(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        velocities[name] = momentum * velocities[name] + (1 - momentum) * grads[name]
        params[name][...] = params[name] - learning_rate * velocities[name]


def adam_in_place(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    for name, p in params.items():
        v[name] *= beta1  # the averages updated in place, the corrections folded into the step size
        v[name] += (1 - beta1) * grads[name]
        s[name] *= beta2
        s[name] += (1 - beta2) * np.square(grads[name])
        step_size = learning_rate * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        p -= step_size * v[name] / (np.sqrt(s[name]) + eps * np.sqrt(1 - beta2**t))


def noise_loop(z, batches, eps=1e-5):
    out = []
    for batch in batches:
        values = z[batch]
        out.append((values[0] - values.mean()) / np.sqrt(values.var() + eps))
    return np.array(out)


def inference_one_line(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    return (Z - running_mean) * (gamma / np.sqrt(running_var + eps)) + beta


def ewa_lerp(average, value, beta=0.9):
    return average + (1 - beta) * (value - average)


@pytest.mark.parametrize("check, fn", [
    (checks.check_layer_forward, layer_with_own_activations),
    (checks.check_momentum_step, momentum_out_arguments),
    (checks.check_momentum_step, momentum_slices),
    (checks.check_adam_step, adam_in_place),
    (checks.check_batch_normalized_example, noise_loop),
    (checks.check_batchnorm_inference, inference_one_line),
    (checks.check_ewa_update, ewa_lerp),
])  # fmt: skip
def test_03_to_06_in_other_styles(check, fn, capsys):
    check(fn)
    assert "right in all" in capsys.readouterr().out


def test_01_with_np_std_and_a_float32_pipeline(capsys):
    def statistics(X):
        return np.mean(X, axis=1, keepdims=True), np.std(X, axis=1, keepdims=True) ** 2

    def normalize(X, mu, var):
        sigma = np.sqrt(var)
        return np.divide(np.subtract(X, mu), sigma, out=np.zeros_like(X, dtype=float), where=sigma > 0)

    checks.check_normalize_inputs(statistics, normalize)
    assert "right in all" in capsys.readouterr().out


# --- 07 and 08 ----------------------------------------------------------------------------------


def layernorm_transposed(Z, gamma, beta, eps=1e-5):
    """Framework layout inside: examples in rows, statistics along the last axis."""
    X = Z.T
    X_norm = (X - X.mean(-1, keepdims=True)) / np.sqrt(X.var(-1, keepdims=True) + eps)
    return gamma * X_norm.T + beta, None


def groupnorm_loop(X, gamma, beta, groups, eps=1e-5):
    out = np.empty(X.shape, dtype=np.result_type(X, np.float32))
    size = X.shape[-1] // groups
    for k in range(groups):
        part = X[..., k * size:(k + 1) * size]
        mu, var = part.mean(axis=(1, 2, 3), keepdims=True), part.var(axis=(1, 2, 3), keepdims=True)
        out[..., k * size:(k + 1) * size] = (part - mu) / np.sqrt(var + eps)
    return gamma * out + beta, None


def fold_with_defaults(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    scale = gamma / np.sqrt(running_var + eps)
    return W * scale, scale * ((0 if b is None else b) - running_mean) + beta


def combine_chan_on_copies(counts, means, M2s):
    n, mu, M2 = counts[0], means[0].copy(), M2s[0].copy()
    for n_b, mu_b, M2_b in zip(counts[1:], means[1:], M2s[1:]):
        delta = mu_b - mu
        M2 += M2_b + delta**2 * n * n_b / (n + n_b)
        mu += delta * n_b / (n + n_b)
        n += n_b
    return mu, M2 / n


@pytest.mark.parametrize("check, fn", [
    (checks.check_layernorm_forward, layernorm_transposed),
    (checks.check_groupnorm_forward, groupnorm_loop),
    (checks.check_fold_batchnorm, fold_with_defaults),
    (checks.check_combine_statistics, combine_chan_on_copies),
])  # fmt: skip
def test_07_and_08_in_other_styles(check, fn, capsys):
    check(fn)
    assert "right in all" in capsys.readouterr().out


def test_every_style_passes_the_hidden_cases_too():
    styles = [(checks.check_batchnorm_forward, (f,)) for f in (forward_staged, forward_in_place, forward_list_cache)]
    styles += [(checks.check_batchnorm_backward, pair) for pair in [(forward_staged, backward_staged),
                                                                    (forward_in_place, backward_one_line),
                                                                    (forward_list_cache, backward_mean_form)]]  # fmt: skip
    styles += [(checks.check_layer_forward, (layer_with_own_activations,)), (checks.check_momentum_step, (momentum_out_arguments,)),
               (checks.check_momentum_step, (momentum_slices,)), (checks.check_adam_step, (adam_in_place,)),
               (checks.check_batch_normalized_example, (noise_loop,)),
               (checks.check_batchnorm_inference, (inference_one_line,)), (checks.check_ewa_update, (ewa_lerp,)),
               (checks.check_layernorm_forward, (layernorm_transposed,)), (checks.check_groupnorm_forward, (groupnorm_loop,)),
               (checks.check_fold_batchnorm, (fold_with_defaults,)), (checks.check_combine_statistics, (combine_chan_on_copies,))]  # fmt: skip
    for seed in range(20):
        for check, fns in styles:
            score, said = checks.verdict(lambda *f: check(*f, hidden=seed), *fns)
            assert (score, said) == (score.of, ""), (check.__name__, [f.__name__ for f in fns], seed, said)


# --- after the check: the learner's function once it passes, the package's until then -----------------


def test_yours_or_ours_goes_on_with_the_learners_function_once_it_passes(capsys):
    from bn_helpers import batchnorm_forward
    from bn_helpers.checks import reference_backward, reference_forward, yours_or_ours

    def unwritten(Z, gamma, beta, eps=1e-5):
        raise NotImplementedError()

    def wrong(Z, gamma, beta, eps=1e-5):
        return Z, None

    assert yours_or_ours(checks.check_batchnorm_forward, forward_staged, ours=batchnorm_forward) is forward_staged
    assert yours_or_ours(checks.check_batchnorm_forward, unwritten, ours=batchnorm_forward) is batchnorm_forward
    assert yours_or_ours(checks.check_batchnorm_forward, wrong, ours=batchnorm_forward) is batchnorm_forward
    assert yours_or_ours(checks.check_batchnorm_backward, forward_staged, backward_staged,
                         ours=reference_backward) is backward_staged  # fmt: skip
    # a right backward pass after an unwritten forward pass: the backward is the learner's, the forward ours
    forward = yours_or_ours(checks.check_batchnorm_forward, unwritten, ours=reference_forward)
    backward = yours_or_ours(checks.check_batchnorm_backward, unwritten, backward_staged, ours=reference_backward)
    assert (forward, backward) == (reference_forward, backward_staged)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "The cells below use your forward_staged: it passes its check.",
        "The cells below use bn_helpers' batchnorm_forward: your unwritten is not written yet.",
        "The cells below use bn_helpers' batchnorm_forward: your wrong does not pass its check yet (the check cell "
        "above says why).",
        "The cells below use your backward_staged: it passes its check.",
        "The cells below use bn_helpers' reference_forward: your unwritten is not written yet.",
        "The cells below use your backward_staged: it passes its check.",
    ]
    with pytest.raises(TypeError, match="yours_or_ours takes functions"):
        yours_or_ours(checks.check_batchnorm_backward, forward_staged, backward_staged, ours=None)


def test_the_reference_functions_take_and_give_the_cache_exercise_1_prescribes(rng):
    from bn_helpers import batchnorm_backward, batchnorm_backward_staged, batchnorm_forward
    from bn_helpers.checks import reference_backward, reference_backward_staged, reference_forward

    Z, gamma, beta, d = rng.normal(3.0, 2.0, (4, 6)), rng.uniform(0.5, 2, (4, 1)), rng.normal(size=(4, 1)), rng.normal(size=(4, 6))
    Z_tilde, cache = reference_forward(Z, gamma, beta, 0.1)
    expected, package_cache = batchnorm_forward(Z, gamma, beta, 0.1)
    assert np.array_equal(Z_tilde, expected) and len(cache) == 4 and cache[3] == 0.1
    assert np.array_equal(cache[0], package_cache.Z_norm) and np.array_equal(cache[1], package_cache.var)
    for ours, theirs in ((reference_backward, batchnorm_backward), (reference_backward_staged, batchnorm_backward_staged)):
        for got, want in zip(ours(d, cache), theirs(d, package_cache)):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for got, want in zip(reference_backward(d, cache), backward_staged(d, cache)):  # the learner's format exactly
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
