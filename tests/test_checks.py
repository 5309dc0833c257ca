"""The exercise checks: right code passes with one line, every catalogued mistake is named, anything else still fails.

Each wrong implementation below is written the way a learner might write it,
independently of the checks' own catalogue, so that a test passes only if the
check really recognises the mistake in ordinary code.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bn_helpers import (
    activation_forward,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
    batchnorm_inference,
    ewa_update,
    input_statistics,
    normalize_inputs,
)
from bn_helpers import checks

# --- right implementations, as the solutions in the notebooks write them ---------------


def forward(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=1, keepdims=True)
    var = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
    Z_norm = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)


def backward(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = (dZ_tilde * Z_norm).sum(axis=1, keepdims=True)
    dZ = gamma / (m * np.sqrt(var + eps)) * (m * dZ_tilde - dbeta - Z_norm * dgamma)
    return dZ, dgamma, dbeta


def backward_staged(dZ_tilde, cache):  # node by node, the graph's steps in reverse
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    inv = 1 / std
    zc = Z_norm * std
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = (dZ_tilde * Z_norm).sum(axis=1, keepdims=True)
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dzc = inv * dz_norm
    dstd = -dinv / std**2
    dvar = dstd / (2 * std)
    dzc = dzc + 2 * zc * dvar / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    dZ = dzc + dmu / m
    return dZ, dgamma, dbeta


def inference(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (Z - running_mean) / np.sqrt(running_var + eps) + beta


def ewa(average, value, beta=0.9):
    return beta * average + (1 - beta) * value


def statistics(X):
    mu = X.mean(axis=1, keepdims=True)
    return mu, ((X - mu) ** 2).mean(axis=1, keepdims=True)


def normalize(X, mu, var):
    return (X - mu) / np.sqrt(np.where(var > 0, var, 1.0))


def layer(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, bn_cache = batchnorm_forward(W @ A_prev, gamma, beta)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, bn_cache, Z_tilde, A, activation)


def momentum_step(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        velocities[name] = momentum * velocities[name] + (1 - momentum) * grads[name]
        params[name] -= learning_rate * velocities[name]


def adam_step(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    for name in params:
        v[name] = beta1 * v[name] + (1 - beta1) * grads[name]
        s[name] = beta2 * s[name] + (1 - beta2) * grads[name] ** 2
        v_hat, s_hat = v[name] / (1 - beta1**t), s[name] / (1 - beta2**t)
        params[name] -= learning_rate * v_hat / (np.sqrt(s_hat) + eps)


def noise(z, batches, eps=1e-5):
    Zb = z[batches]
    mu = Zb.mean(axis=1)
    var = ((Zb - mu[:, None]) ** 2).mean(axis=1)
    return (Zb[:, 0] - mu) / np.sqrt(var + eps)


RIGHT = {
    "forward": (checks.check_batchnorm_forward, (forward,)),
    "backward": (checks.check_batchnorm_backward, (forward, backward)),
    "staged": (checks.check_batchnorm_backward_staged, (forward, backward_staged)),
    "inference": (checks.check_batchnorm_inference, (inference,)),
    "ewa": (checks.check_ewa_update, (ewa,)),
    "normalize": (checks.check_normalize_inputs, (statistics, normalize)),
    "layer": (checks.check_layer_forward, (layer,)),
    "momentum": (checks.check_momentum_step, (momentum_step,)),
    "adam": (checks.check_adam_step, (adam_step,)),
    "noise": (checks.check_batch_normalized_example, (noise,)),
}


@pytest.mark.parametrize("name", list(RIGHT))
def test_right_code_passes_with_one_line_and_a_bound(name, capsys):
    check, fns = RIGHT[name]
    check(*fns)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "right in all" in out
    assert re.search(r"\. Each case is within (1e-10 of the reference \(relative error\)|its bound of the reference "
                     r"\(relative error\): 1e-10 in float64)", out)  # a bound, not the measured error


@pytest.mark.parametrize("check, fns", [  # (02's forward and backward use the exercise's cache, not the package's)
    (checks.check_batchnorm_inference, (batchnorm_inference,)),
    (checks.check_ewa_update, (ewa_update,)),
    (checks.check_normalize_inputs, (input_statistics, normalize_inputs)),
])  # fmt: skip
def test_the_packages_own_function_is_refused_with_what_to_do(check, fns):
    score, said = checks.verdict(check, *fns)
    assert score == 0 and re.match(rf"{check.__name__}: your function is bn_helpers' own bn_helpers\.\w+\.{fns[0].__name__}\. "
                                   r"This exercise is for writing it yourself, with numpy", said), said


def test_the_success_line_reads_the_same_on_every_machine(capsys):
    """Strict nbval compares it: it must not contain a measured error."""
    def forward_by_the_inverse(Z, gamma, beta, eps=1e-5):  # other roundings than forward's, the same bound
        Z_tilde, (Z_norm, var, g, e) = forward(Z, gamma, beta, eps)
        inv = 1 / np.sqrt(var + eps)
        return gamma * ((Z - Z.mean(axis=1, keepdims=True)) * inv) + beta, (Z_norm, var, g, e)

    checks.check_batchnorm_forward(forward)
    checks.check_batchnorm_forward(forward_by_the_inverse)
    first, second = capsys.readouterr().out.splitlines()
    assert first == second


# --- every catalogued mistake, and the message a learner sees ----------------------------


def fails_with(check, *fns, match):
    """The check's message for a wrong function: it scores less than full marks and says what ``match`` expects."""
    score, message = checks.verdict(check, *fns)
    assert score.status == "wrong" and score < score.of, message
    assert re.search(match, message), message
    return message


def _stats(Z, ddof=0, axis=1):
    mu = Z.mean(axis=axis, keepdims=True)
    return mu, Z.var(axis=axis, keepdims=True, ddof=ddof)


def forward_ddof1(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z, ddof=1)
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta, None


def forward_wrong_axis(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z, axis=0)
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta, None


def forward_eps_outside(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    return gamma * (Z - mu) / (np.sqrt(var) + eps) + beta, None


def forward_swapped(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    return beta * (Z - mu) / np.sqrt(var + eps) + gamma, None


def forward_no_scale_shift(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    return (Z - mu) / np.sqrt(var + eps), None


def forward_no_beta(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    return gamma * (Z - mu) / np.sqrt(var + eps), None


def forward_one_pass(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=1, keepdims=True)
    var = (Z**2).mean(axis=1, keepdims=True) - mu**2  # can even come out negative at a large offset
    with np.errstate(invalid="ignore"):
        return gamma * (Z - mu) / np.sqrt(var + eps) + beta, None


def forward_by_variance(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    return gamma * (Z - mu) / (var + eps) + beta, None


def forward_in_place(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    Z -= mu
    Z /= np.sqrt(var + eps)
    return gamma * Z + beta, None


def forward_transposed(Z, gamma, beta, eps=1e-5):
    return forward(Z, gamma, beta, eps)[0].T, None


def forward_no_cache(Z, gamma, beta, eps=1e-5):
    return forward(Z, gamma, beta, eps)[0]


def forward_off_by_a_bit(Z, gamma, beta, eps=1e-5):
    return forward(Z, gamma, beta, eps)[0] * 1.01, None


def forward_no_eps(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    return gamma * (Z - mu) / np.sqrt(var) + beta, None


def forward_eps_subtracted(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    with np.errstate(invalid="ignore"):
        return gamma * (Z - mu) / np.sqrt(var - eps) + beta, None


def forward_root_twice(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=1, keepdims=True)
    std = Z.std(axis=1, keepdims=True)
    return gamma * (Z - mu) / np.sqrt(std + eps) + beta, None


def forward_pooled(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(), Z.var()  # one mean and one variance for the whole batch
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta, None


def forward_hard_coded_eps(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z)
    return gamma * (Z - mu) / np.sqrt(var + 1e-5) + beta, None


def forward_ddof1_eps_outside(Z, gamma, beta, eps=1e-5):
    mu, var = _stats(Z, ddof=1)
    return gamma * (Z - mu) / (np.sqrt(var) + eps) + beta, None


@pytest.mark.parametrize("fn, match", [
    (forward_no_eps, r"Likely mistake: your function has no eps: divide by sqrt\(sigma\^2 \+ eps\)"),
    (forward_eps_subtracted, r"Likely mistake: your eps is subtracted"),
    (forward_root_twice, r"Likely mistake: you take the square root twice"),
    (forward_pooled, r"Likely mistake: your mean and variance are one number each, taken over the whole array"),
    (forward_hard_coded_eps, r"case 'eps = 0.1'(.|\n)*Likely mistake: your eps is a number written in your function"),
])  # fmt: skip
def test_more_forward_mistakes_are_named_each_alone(fn, match):
    message = fails_with(checks.check_batchnorm_forward, fn, match=match)
    assert message.count("Likely mistake") == 1, message


def _forward_with_cache(make_cache):
    def forward_fn(Z, gamma, beta, eps=1e-5):
        mu, var = _stats(Z)
        Z_norm = (Z - mu) / np.sqrt(var + eps)
        return gamma * Z_norm + beta, make_cache(Z, mu, var, Z_norm, gamma, beta, eps)

    return forward_fn


@pytest.mark.parametrize("make_cache, match", [
    (lambda Z, mu, var, Z_norm, g, b, eps: (Z_norm, np.sqrt(var + eps), g, eps),
     r"cache\[1\], var: expected(.|\n)*Likely mistake: your cache holds the standard deviation"),
    (lambda Z, mu, var, Z_norm, g, b, eps: (Z_norm, var + eps, g, eps), r"Likely mistake: your cache holds var \+ eps"),
    (lambda Z, mu, var, Z_norm, g, b, eps: (Z - mu, var, g, eps), r"Likely mistake: your cache's first item is z - mu"),
    (lambda Z, mu, var, Z_norm, g, b, eps: (g * Z_norm + b, var, g, eps), r"Likely mistake: your cache's first item is z_tilde"),
    (lambda Z, mu, var, Z_norm, g, b, eps: (var, Z_norm, g, eps), r"cache\[0\], Z_norm: expected shape \(3, 5\), got shape \(3, 1\)"),
    (lambda Z, mu, var, Z_norm, g, b, eps: {"Z_norm": Z_norm, "var": var}, r"cache must be \(Z_norm, var, gamma, eps\), 4 items in "
                                                                           r"that order, as exercise 1 asks .*; got a dict"),
])  # fmt: skip
def test_the_forward_pass_returns_the_cache_exercise_1_prescribes(make_cache, match):
    message = fails_with(checks.check_batchnorm_forward, _forward_with_cache(make_cache), match=match)
    assert message.startswith("check_batchnorm_forward: wrong result in case") or "cache must be" in message


def test_two_forward_mistakes_get_both_names():
    message = fails_with(checks.check_batchnorm_forward, forward_ddof1_eps_outside,
                         match=r"Likely mistake: your variance divides by m - 1(.|\n)*Likely mistake: your eps is outside")
    assert message.count("Likely mistake") == 2, message


@pytest.mark.parametrize("fn, match", [
    (forward_ddof1, r"Likely mistake: your variance divides by m - 1; batch norm's batch variance divides by m"),
    (forward_wrong_axis, r"Likely mistake: your statistics are taken over the wrong axis"),
    (forward_eps_outside, r"Likely mistake: your eps is outside the square root"),
    (forward_swapped, r"Likely mistake: your gamma and beta are swapped"),
    (forward_no_scale_shift, r"Likely mistake: gamma and beta are not applied"),
    (forward_no_beta, r"Likely mistake: only gamma is applied"),
    (forward_one_pass, r"case 'a large offset.*\n.*\nLikely mistake: your variance is computed in one pass"),
    (forward_by_variance, r"Likely mistake: you divide by the variance instead of the standard deviation"),
    (forward_in_place, r"changed its input `Z` in place"),
    (forward_transposed, r"expected shape \(3, 5\), got shape \(5, 3\)\. That is the transpose"),
    (forward_no_cache, r"batchnorm_forward must return a tuple of 2 \(Z_tilde, cache\)"),
])  # fmt: skip
def test_forward_mistakes_are_named(fn, match):
    fails_with(checks.check_batchnorm_forward, fn, match=match)


def test_eps_outside_shows_in_the_tiny_variance_case_when_eps_is_zero_elsewhere():
    """The tiny-variance unit is the case that exposes eps, even when the first cases pass by luck."""
    message = fails_with(checks.check_batchnorm_forward, forward_eps_outside, match="eps is outside")
    assert "wrong result in case" in message


def test_a_wrong_forward_without_a_known_mistake_still_fails_with_expected_and_got():
    message = fails_with(checks.check_batchnorm_forward, forward_off_by_a_bit, match=r"Z_tilde: expected \[")
    assert "got [" in message and "relative error" in message and "Likely mistake" not in message


def test_an_exception_is_reported_with_its_case():
    def broken(Z, gamma, beta, eps=1e-5):
        mu = Z.mean(axis=1)  # (n,): does not line up with the rows of Z
        return gamma * (Z - mu) + beta, None

    fails_with(checks.check_batchnorm_forward, broken,
               match=r"case '3 units x 5 examples.*raised ValueError: .*broadcast.*Check the shapes: .*keepdims=True")  # fmt: skip


def test_integer_input_is_a_case_of_its_own():
    def float_only(Z, gamma, beta, eps=1e-5):
        Z = Z.copy()
        Z -= Z.mean(axis=1, keepdims=True)  # fails for an integer array
        return forward(Z, gamma, beta, eps)[0], None

    fails_with(checks.check_batchnorm_forward, float_only, match=r"case 'integer input': your function raised")


def test_unfinished_code_scores_zero_and_says_it_is_unwritten():
    def todo(*args, **kwargs):
        raise NotImplementedError()

    for check, fns in RIGHT.values():
        score, message = checks.verdict(check, *[todo] * len(fns))
        assert (score, score.status) == (0, "unwritten"), message
        assert message.startswith(f"{check.__name__}: todo is not written yet (it raises NotImplementedError)")


# backward


def backward_no_mu_sigma_terms(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    return gamma / np.sqrt(var + eps) * dZ_tilde, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def backward_no_sigma_term(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    return gamma / (m * np.sqrt(var + eps)) * (m * dZ_tilde - dbeta), (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dbeta


def backward_dgamma_without_z_norm(dZ_tilde, cache):
    dZ, _, dbeta = backward(dZ_tilde, cache)
    return dZ, dZ_tilde.sum(axis=1, keepdims=True), dbeta


def backward_wrong_axis(dZ_tilde, cache):
    Z_norm = cache[0]
    dZ, _, _ = backward(dZ_tilde, cache)
    return dZ, (dZ_tilde * Z_norm).sum(axis=0, keepdims=True), dZ_tilde.sum(axis=0, keepdims=True)


def backward_flat_shapes(dZ_tilde, cache):
    dZ, dgamma, dbeta = backward(dZ_tilde, cache)
    return dZ, dgamma.ravel(), dbeta.ravel()


def backward_swapped(dZ_tilde, cache):
    dZ, dgamma, dbeta = backward(dZ_tilde, cache)
    return dZ, dbeta, dgamma


def backward_in_place(dZ_tilde, cache):
    out = backward(dZ_tilde.copy(), cache)
    dZ_tilde *= 2.0
    return out


def backward_no_gamma_in_dZ(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    dbeta, dgamma = dZ_tilde.sum(axis=1, keepdims=True), (dZ_tilde * Z_norm).sum(axis=1, keepdims=True)
    return 1.0 / (m * np.sqrt(var + eps)) * (m * dZ_tilde - dbeta - Z_norm * dgamma), dgamma, dbeta


def backward_without_1_over_m(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    dbeta, dgamma = dZ_tilde.sum(axis=1, keepdims=True), (dZ_tilde * Z_norm).sum(axis=1, keepdims=True)
    return gamma / np.sqrt(var + eps) * (m * dZ_tilde - dbeta - Z_norm * dgamma), dgamma, dbeta


def backward_without_m_times(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    dbeta, dgamma = dZ_tilde.sum(axis=1, keepdims=True), (dZ_tilde * Z_norm).sum(axis=1, keepdims=True)
    return gamma / (m * np.sqrt(var + eps)) * (dZ_tilde - dbeta - Z_norm * dgamma), dgamma, dbeta


def backward_averaged_dgamma(dZ_tilde, cache):
    dZ, _, dbeta = backward(dZ_tilde, cache)
    return dZ, (dZ_tilde * cache[0]).mean(axis=1, keepdims=True), dbeta


def backward_averaged_dbeta(dZ_tilde, cache):
    dZ, dgamma, _ = backward(dZ_tilde, cache)
    return dZ, dgamma, np.mean(dZ_tilde, axis=1, keepdims=True)


def backward_matmul_dgamma(dZ_tilde, cache):
    dZ, _, dbeta = backward(dZ_tilde, cache)
    return dZ, dZ_tilde @ cache[0].T, dbeta


def backward_unpacks_in_another_order(dZ_tilde, cache):
    var, Z_norm, gamma, eps = cache  # the forward packs (Z_norm, var, gamma, eps)
    return backward(dZ_tilde, (Z_norm, var, gamma, eps))


def backward_no_gamma_no_mu_terms(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    return dZ_tilde / np.sqrt(var + eps), (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def backward_diagonal_and_averaged(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    return (gamma * dZ_tilde / np.sqrt(var + eps), (dZ_tilde * Z_norm).mean(axis=1, keepdims=True),
            dZ_tilde.mean(axis=1, keepdims=True))  # fmt: skip


@pytest.mark.parametrize("fn, match", [
    (backward_no_gamma_in_dZ, r"dZ: expected.*\nLikely mistake: your dZ has no gamma"),
    (backward_without_1_over_m, r"Likely mistake: your dZ is m times too large"),
    (backward_without_m_times, r"Likely mistake: your dZ lacks the m in m \* dZ_tilde"),
    (backward_averaged_dgamma, r"Likely mistake: your dgamma is exactly 1/m of the expected"),
    (backward_averaged_dbeta, r"Likely mistake: your dbeta is exactly 1/m of the expected"),
    (backward_matmul_dgamma, r"dgamma: expected shape \(3, 1\), got shape \(3, 3\)(.|\n)*Likely mistake: your dgamma "
                             r"is a matrix product"),
    (backward_unpacks_in_another_order, r"Likely mistake: your backward_unpacks_in_another_order unpacks the cache in "
                                        r"another order than your forward packs it: with items 0 and 1"),
])  # fmt: skip
@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")  # a variance read from z_norm
def test_more_backward_mistakes_are_named_each_alone(fn, match):
    message = fails_with(checks.check_batchnorm_backward, forward, fn, match=match)
    assert message.count("Likely mistake") == 1, message


@pytest.mark.parametrize("fn, names", [
    # two mistakes in dZ: named by combining the two
    (backward_no_gamma_no_mu_terms, ["your dZ has no terms through mu and sigma", "your dZ has no gamma"]),
    # one in each output: each output named on its own
    (backward_diagonal_and_averaged, ["your dZ has no terms through mu and sigma", "your dgamma is exactly 1/m",
                                      "your dbeta is exactly 1/m"]),
])  # fmt: skip
def test_a_backward_with_several_mistakes_gets_every_name(fn, names):
    message = fails_with(checks.check_batchnorm_backward, forward, fn, match="Likely mistake")
    named = [line for line in message.splitlines() if line.startswith("Likely mistake: ")]
    assert len(named) == len(names), message
    for name in names:
        assert any(line.startswith(f"Likely mistake: {name}") for line in named), message


@pytest.mark.parametrize("fn, match", [
    (backward_no_mu_sigma_terms, r"dZ: expected.*\nLikely mistake: your dZ has no terms through mu and sigma\^2"),
    (backward_no_sigma_term, r"Likely mistake: your dZ has the term through mu but not the one through sigma\^2"),
    (backward_dgamma_without_z_norm, r"dgamma: expected.*\nLikely mistake: your dgamma lacks the z_norm factor"),
    (backward_wrong_axis, r"dgamma: expected shape \(3, 1\), got shape \(1, 5\)(.|\n)*Likely mistake: your gradients "
                          r"of gamma and beta are summed over the wrong axis"),
    (backward_flat_shapes, r"dgamma: expected shape \(3, 1\), got shape \(3,\)\. That is the wrong output shape: "
                           r"\(3,\) where \(3, 1\) is expected; keep the second axis \(e\.g\. `keepdims=True`\)"),
    (backward_swapped, r"Likely mistake: your dgamma and dbeta are swapped"),
    (backward_in_place, r"changed its input `dZ_tilde` in place"),
])  # fmt: skip
def test_backward_mistakes_are_named(fn, match):
    fails_with(checks.check_batchnorm_backward, forward, fn, match=match)


def test_one_mistake_costs_one_exercise_a_wrong_forward_does_not_fail_a_right_backward(capsys):
    def forward_unwritten(Z, gamma, beta, eps=1e-5):
        raise NotImplementedError()

    for wrong_forward in (forward_swapped, forward_unwritten):
        checks.check_batchnorm_backward(wrong_forward, backward)  # judged with the cache exercise 1 prescribes
        right, note = capsys.readouterr().out.splitlines()
        assert right.startswith("check_batchnorm_backward: right in all 4 cases")
        assert note == (f"Your {wrong_forward.__name__} does not pass its check yet, so your backward was given the "
                        f"cache exercise 1 asks for, (Z_norm, var, gamma, eps), computed by bn_helpers.")  # fmt: skip
    message = fails_with(checks.check_batchnorm_backward, forward_swapped, backward_no_sigma_term,
                         match=r"Likely mistake: your dZ has the term through mu but not the one through sigma")
    assert message.endswith("was given the cache exercise 1 asks for, (Z_norm, var, gamma, eps), computed by bn_helpers.\n")


# backward, staged: the computation graph node by node, on the tuple cache


def staged_no_var_branch(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    inv = 1 / np.sqrt(var + eps)
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = (dZ_tilde * Z_norm).sum(axis=1, keepdims=True)
    dzc = inv * gamma * dZ_tilde  # only through z_norm
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, dgamma, dbeta


def staged_no_mu_path(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dvar = -dinv / std**2 / (2 * std)
    dzc = dz_norm / std + 2 * zc * dvar / m
    return dzc, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)  # dZ = dzc


def staged_chain_only(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    dz_norm = gamma * dZ_tilde
    dzc = dz_norm / np.sqrt(var + eps)
    return dzc, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_no_gamma(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = dZ_tilde  # gamma forgotten
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dzc = dz_norm / std
    dvar = -dinv / std**2 / (2 * std)
    dzc = dzc + 2 * zc * dvar / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_dstd_sign(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dstd = dinv / std**2  # d(1/std) = +1/std**2?
    dvar = dstd / (2 * std)
    dzc = dz_norm / std + 2 * zc * dvar / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_sqrt_without_half(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    inv = 1 / std
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dstd = -dinv * inv**2
    dvar = dstd * inv  # d sqrt(x) = 1 / sqrt(x)?
    dzc = dz_norm * inv + 2 * zc * dvar / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_square_without_2(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dstd = -dinv / std**2
    dvar = dstd / (2 * std)
    dzc = dz_norm / std + zc * dvar / m  # d(zc**2) = zc?
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_var_mean_undivided(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dvar = -dinv / std**2 / (2 * std)
    dzc = dz_norm / std + 2 * zc * dvar  # no / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_mu_mean_undivided(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dvar = -dinv / std**2 / (2 * std)
    dzc = dz_norm / std + 2 * zc * dvar / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)  # no / m


def staged_dmu_sign(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dvar = -dinv / std**2 / (2 * std)
    dzc = dz_norm / std + 2 * zc * dvar / m
    dmu = dzc.sum(axis=1, keepdims=True)  # zc = z - mu, but the minus forgotten
    return dzc + dmu / m, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_dinv_with_z_norm(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache  # the cache holds Z_norm, not zc ...
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * Z_norm).sum(axis=1, keepdims=True)  # ... so z_norm stands in for zc
    dvar = -dinv / std**2 / (2 * std)
    dzc = dz_norm / std + 2 * (Z_norm * std) * dvar / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def staged_dgamma_without_z_norm(dZ_tilde, cache):
    dZ, _, dbeta = backward_staged(dZ_tilde, cache)
    return dZ, dZ_tilde.sum(axis=1, keepdims=True), dbeta


def staged_averaged_dgamma(dZ_tilde, cache):
    dZ, _, dbeta = backward_staged(dZ_tilde, cache)
    return dZ, (dZ_tilde * cache[0]).mean(axis=1, keepdims=True), dbeta


def staged_averaged_dbeta(dZ_tilde, cache):
    dZ, dgamma, _ = backward_staged(dZ_tilde, cache)
    return dZ, dgamma, dZ_tilde.mean(axis=1, keepdims=True)


def staged_matmul_dgamma(dZ_tilde, cache):
    dZ, _, dbeta = backward_staged(dZ_tilde, cache)
    return dZ, dZ_tilde @ cache[0].T, dbeta


def staged_wrong_axis(dZ_tilde, cache):
    dZ, _, _ = backward_staged(dZ_tilde, cache)
    return dZ, (dZ_tilde * cache[0]).sum(axis=0, keepdims=True), dZ_tilde.sum(axis=0, keepdims=True)


def staged_swapped(dZ_tilde, cache):
    dZ, dgamma, dbeta = backward_staged(dZ_tilde, cache)
    return dZ, dbeta, dgamma


@pytest.mark.parametrize("fn, match", [
    (staged_no_var_branch, r"dZ: expected.*\nLikely mistake: your dzc has only the part through z_norm: zc feeds both "
                           r"var and z_norm"),
    (staged_no_mu_path, r"Likely mistake: your dZ has no part through mu: z feeds both zc and mu"),
    (staged_chain_only, r"Likely mistake: your dZ has neither the part through var nor the one through mu"),
    (staged_no_gamma, r"Likely mistake: your dz_norm has no gamma"),
    (staged_dstd_sign, r"Likely mistake: your dstd has the wrong sign: inv = 1 / std"),
    (staged_sqrt_without_half, r"Likely mistake: your dvar is twice the expected: std = sqrt\(var \+ eps\)"),
    (staged_square_without_2, r"Likely mistake: your part of dzc through var is half the expected"),
    (staged_var_mean_undivided, r"Likely mistake: your part of dzc through var is m times too large"),
    (staged_mu_mean_undivided, r"Likely mistake: your part of dZ through mu is m times too large: mu = mean\(z\) is a "
                               r"mean, so the mu node's gradient reaches each of the m columns as dmu / m"),
    (staged_dmu_sign, r"Likely mistake: your dmu has the wrong sign: zc = z - mu"),
    (staged_dinv_with_z_norm, r"Likely mistake: your dinv is summed with z_norm where the other factor of its node is "
                              r"zc"),
])  # fmt: skip
def test_staged_dZ_mistakes_are_named_by_their_node(fn, match):
    message = fails_with(checks.check_batchnorm_backward_staged, forward, fn, match=match)
    assert message.count("Likely mistake") == 1, message
    assert message.startswith("check_batchnorm_backward_staged: wrong result in case '3 units x 5 examples"), message


@pytest.mark.parametrize("fn, match", [  # the closed form's mistakes, in its words
    (staged_dgamma_without_z_norm, r"dgamma: expected.*\nLikely mistake: your dgamma lacks the z_norm factor"),
    (staged_averaged_dgamma, r"Likely mistake: your dgamma is exactly 1/m of the expected"),
    (staged_averaged_dbeta, r"Likely mistake: your dbeta is exactly 1/m of the expected"),
    (staged_matmul_dgamma, r"Likely mistake: your dgamma is a matrix product"),
    (staged_wrong_axis, r"Likely mistake: your gradients of gamma and beta are summed over the wrong axis"),
    (staged_swapped, r"Likely mistake: your dgamma and dbeta are swapped"),
])  # fmt: skip
def test_staged_dgamma_and_dbeta_mistakes_are_named_as_in_the_closed_form(fn, match):
    fails_with(checks.check_batchnorm_backward_staged, forward, fn, match=match)


def staged_two_mistakes_in_dZ(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    m = dZ_tilde.shape[1]
    std = np.sqrt(var + eps)
    zc = Z_norm * std
    dz_norm = gamma * dZ_tilde
    dinv = (dz_norm * zc).sum(axis=1, keepdims=True)
    dvar = dinv / std**2 / (2 * std)  # the sign of dstd
    dzc = dz_norm / std + 2 * zc * dvar / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)  # no / m


def test_two_staged_mistakes_in_dZ_get_both_names():
    message = fails_with(checks.check_batchnorm_backward_staged, forward, staged_two_mistakes_in_dZ,
                         match="Likely mistake")  # fmt: skip
    named = [line for line in message.splitlines() if line.startswith("Likely mistake: ")]
    assert [line.split(":")[1] for line in named] == [" your dstd has the wrong sign",
                                                      " your part of dZ through mu is m times too large"], message


def test_the_staged_check_shares_the_backward_checks_body(capsys):
    def batchnorm_backward_staged(dZ_tilde, cache):
        var, Z_norm, gamma, eps = cache  # the forward packs (Z_norm, var, gamma, eps)
        return backward_staged(dZ_tilde, (Z_norm, var, gamma, eps))

    checks.check_batchnorm_backward_staged(forward_swapped, backward_staged)  # the prescribed cache, and the note
    right, note = capsys.readouterr().out.splitlines()
    assert right.startswith("check_batchnorm_backward_staged: right in all 4 cases")
    assert note.startswith(f"Your {forward_swapped.__name__} does not pass its check yet, so your backward_staged")
    fails_with(checks.check_batchnorm_backward_staged, forward, batchnorm_backward_staged,
               match=r"Likely mistake: your batchnorm_backward_staged unpacks the cache in another order than your "
                     r"forward packs it")  # fmt: skip
    fails_with(checks.check_batchnorm_backward_staged, forward, lambda d, c: backward_staged(d, c)[:2],
               match=r"batchnorm_backward_staged must return a tuple of 3 \(dZ, dgamma, dbeta\)")  # fmt: skip
    assert checks.check_batchnorm_backward_staged(forward, backward_staged, hidden=3) == 3
    assert capsys.readouterr().out == ""  # hidden cases that pass say nothing
    score, said = checks.verdict(lambda f, b: checks.check_batchnorm_backward_staged(f, b, hidden=3), forward,
                                 staged_dstd_sign)  # fmt: skip
    assert score == 0 and "hidden=3 draws the same ones again" in said and "your dstd has the wrong sign" in said
    checks.check_batchnorm_backward_staged(forward, backward)  # the same gradient, however it is computed
    assert capsys.readouterr().out.startswith("check_batchnorm_backward_staged: right in all 4 cases")


# The staged exercise's shortcuts, each returning the right values: the package's backward on a cache rebuilt from
# the learner's tuple (z up to its mean, which the gradient does not depend on), or the package's function itself.
def staged_by_the_packages_staged(dZ_tilde, cache):
    import bn_helpers

    Z_norm, var, gamma, eps = cache
    package_cache = batchnorm_forward(Z_norm * np.sqrt(var + eps), gamma, np.zeros_like(gamma), eps)[1]
    return bn_helpers.batchnorm_backward_staged(dZ_tilde, package_cache)


def staged_by_the_packages_closed_form(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    return batchnorm_backward(dZ_tilde, batchnorm_forward(Z_norm * np.sqrt(var + eps), gamma, 0 * gamma, eps)[1])


@pytest.mark.parametrize("fn, how", [
    (staged_by_the_packages_staged, r"uses the module bn_helpers"),
    (staged_by_the_packages_closed_form, r"uses bn_helpers\.batchnorm\.batchnorm_(forward|backward)"),
    (batchnorm_backward_staged, r"is bn_helpers' own bn_helpers\.batchnorm\.batchnorm_backward_staged"),
])  # fmt: skip
def test_the_staged_backward_may_not_be_the_packages(fn, how):
    score, said = checks.verdict(checks.check_batchnorm_backward_staged, forward, fn)
    assert score == 0 and re.match(rf"check_batchnorm_backward_staged: your function {how}\. This exercise is for "
                                   r"writing it yourself, with numpy", said), said  # fmt: skip


# inference


def inference_batch_stats(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    mu, var = _stats(np.asarray(Z, float))
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta


def inference_eps_outside(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (Z - running_mean) / (np.sqrt(running_var) + eps) + beta


def inference_by_variance(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (Z - running_mean) / (running_var + eps) + beta


def inference_swapped(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    return beta * (Z - running_mean) / np.sqrt(running_var + eps) + gamma


def inference_unscaled(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    return (Z - running_mean) / np.sqrt(running_var + eps)


def inference_in_place(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    running_var += eps  # "saves" an addition, and changes the caller's running variance
    return gamma * (Z - running_mean) / np.sqrt(running_var) + beta


def inference_batch_mean(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    mu = np.mean(Z, axis=1, keepdims=True)
    return gamma * (Z - mu) / np.sqrt(running_var + eps) + beta


def inference_batch_var(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    var = np.var(Z, axis=1, keepdims=True)
    return gamma * (Z - running_mean) / np.sqrt(var + eps) + beta


@pytest.mark.parametrize("fn, match", [
    (inference_batch_mean, r"Likely mistake: you combine the batch's own mean with the running variance"),
    (inference_batch_var, r"Likely mistake: you combine the running mean with the batch's own variance"),
    (inference_batch_stats, r"Likely mistake: you normalize with the batch's own mean and variance. At test time use "
                            r"the running averages"),
    (inference_eps_outside, r"Likely mistake: your eps is outside the square root"),
    (inference_by_variance, r"Likely mistake: you divide by the running variance instead of its square root"),
    (inference_swapped, r"Likely mistake: your gamma and beta are swapped"),
    (inference_unscaled, r"Likely mistake: gamma and beta are not applied"),
    (inference_in_place, r"changed its input `running_var` in place"),
])  # fmt: skip
def test_inference_mistakes_are_named(fn, match):
    fails_with(checks.check_batchnorm_inference, fn, match=match)


# the exponentially weighted average


def ewa_swapped(average, value, beta=0.9):
    return (1 - beta) * average + beta * value


def ewa_unweighted(average, value, beta=0.9):
    return beta * average + value


def ewa_forgets(average, value, beta=0.9):
    return value * 1.0


def ewa_in_place(average, value, beta=0.9):
    if isinstance(average, np.ndarray):
        average *= beta
        average += (1 - beta) * value
        return average
    return ewa(average, value, beta)


def ewa_flat(average, value, beta=0.9):
    return np.ravel(ewa(average, value, beta))


@pytest.mark.parametrize("fn, match", [
    (ewa_swapped, r"new average: expected \[(.|\n)*Likely mistake: your weights are swapped"),
    (ewa_unweighted, r"Likely mistake: you add the new value without its weight \(1 - beta\)"),
    (ewa_forgets, r"Likely mistake: you return the new value only"),
    (ewa_in_place, r"changed its input `average` in place\. Compute a new array \(e\.g\. `average - x`, `average \* c`\) "
                   r"instead of updating `average` itself"),
    (ewa_flat, r"case 'arrays of shape \(3, 1\).*\n.*expected shape \(3, 1\), got shape \(3,\)\. That is the wrong "
               r"output shape"),
])  # fmt: skip
def test_ewa_mistakes_are_named(fn, match):
    fails_with(checks.check_ewa_update, fn, match=match)


# normalizing the inputs


def statistics_ddof1(X):
    return X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True, ddof=1)


def statistics_wrong_axis(X):
    return X.mean(axis=0, keepdims=True), X.var(axis=0, keepdims=True)


def normalize_own_statistics(X, mu, var):
    mu, var = statistics(X)  # "normalize" this set with its own statistics
    return (X - mu) / np.sqrt(np.where(var > 0, var, 1.0))


def normalize_by_variance(X, mu, var):
    return (X - mu) / np.where(var > 0, var, 1.0)


def normalize_not_centred(X, mu, var):
    return X / np.sqrt(np.where(var > 0, var, 1.0))


def normalize_zero_variance(X, mu, var):
    return (X - mu) / np.sqrt(var)  # a constant feature: 0 / 0


@pytest.mark.parametrize("fns, match", [
    ((statistics_ddof1, normalize), r"Likely mistake: your variance divides by m - 1"),
    ((statistics_wrong_axis, normalize), r"mu: expected shape \(3, 1\), got shape \(1, 40\)(.|\n)*Likely mistake: "
                                         r"your statistics are taken over the wrong axis"),
    ((statistics, normalize_own_statistics), r"normalized test set: expected(.|\n)*Likely mistake: your "
                                             r"normalize_inputs computes the statistics of the array it is given"),
    ((statistics, normalize_by_variance), r"Likely mistake: you divide by the variance instead of the standard deviation"),
    ((statistics, normalize_not_centred), r"Likely mistake: you do not subtract the mean"),
    ((statistics, normalize_zero_variance), r"case 'a constant feature(.|\n)*contains NaN(.|\n)*Likely mistake: a feature of variance 0 \(a pixel that is always blank\) becomes 0 / 0"),
])  # fmt: skip
def test_normalize_mistakes_are_named(fns, match):
    fails_with(checks.check_normalize_inputs, *fns, match=match)


# a layer with batch norm: forward and backward, and their mistakes, in test_checks_03_layer.py


# one step of momentum


def momentum_pytorch(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        velocities[name] = momentum * velocities[name] + grads[name]
        params[name] -= learning_rate * velocities[name]


def momentum_only_w(params, grads, velocities, learning_rate, momentum=0.9):
    for name in [n for n in params if n.startswith("W")]:
        velocities[name] = momentum * velocities[name] + (1 - momentum) * grads[name]
        params[name] -= learning_rate * velocities[name]


def momentum_forgets(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        v = momentum * np.zeros_like(grads[name]) + (1 - momentum) * grads[name]  # a fresh velocity every step
        params[name] -= learning_rate * v


def momentum_ascent(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        velocities[name] = momentum * velocities[name] + (1 - momentum) * grads[name]
        params[name] += learning_rate * velocities[name]


def momentum_not_in_place(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        velocities[name] = momentum * velocities[name] + (1 - momentum) * grads[name]
        p = params[name]
        p = p - learning_rate * velocities[name]  # a new array: params[name] is unchanged


@pytest.mark.parametrize("fn, match", [
    (momentum_pytorch, r"Likely mistake: your velocity leaves out the factor \(1 - momentum\)"),
    (momentum_only_w, r"gamma1: expected(.|\n)*Likely mistake: you update only the W's"),
    (momentum_forgets, r"Likely mistake: your velocity does not carry over from one step to the next"),
    (momentum_ascent, r"Likely mistake: you step up the gradient"),
    (momentum_not_in_place, r"Likely mistake: params are not updated in place"),
])  # fmt: skip
def test_momentum_mistakes_are_named(fn, match):
    fails_with(checks.check_momentum_step, fn, match=match)


def momentum_rebinds_params(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        velocities[name] = momentum * velocities[name] + (1 - momentum) * grads[name]
        params[name] = params[name] - learning_rate * velocities[name]  # right values, in a new array


def momentum_scales_the_gradients(params, grads, velocities, learning_rate, momentum=0.9):
    for name in params:
        grads[name] *= 1 - momentum  # the caller's gradients, scaled
        velocities[name] = momentum * velocities[name] + grads[name]
        params[name] -= learning_rate * velocities[name]


def test_momentum_refuses_right_values_in_new_arrays_and_changed_gradients():
    message = fails_with(checks.check_momentum_step, momentum_rebinds_params,
                         match=r"case '.*': params\['W1'\] is a new array after your step.*`params\[name\] -= \.\.\.`")
    assert "raised" not in message  # a verdict, not a crash of the learner's code
    fails_with(checks.check_momentum_step, momentum_scales_the_gradients, match=r"changed `grads\[0\]\['W1'\]` in place")


# one step of Adam


def _adam(correct_v=True, correct_s=True, store=False, eps_inside=False, swapped=False, no_sqrt=False, only_w=False):
    """A learner's Adam with one of the usual mistakes."""

    def step(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        if swapped:
            beta1, beta2 = beta2, beta1
        for name in [n for n in params if n.startswith("W")] if only_w else params:
            v[name] = beta1 * v[name] + (1 - beta1) * grads[name]
            s[name] = beta2 * s[name] + (1 - beta2) * grads[name] ** 2
            if store:  # corrected in place, so the next step averages from the corrected values
                v[name] /= 1 - beta1**t
                s[name] /= 1 - beta2**t
                v_hat, s_hat = v[name], s[name]
            else:
                v_hat = v[name] / (1 - beta1**t) if correct_v else v[name]
                s_hat = s[name] / (1 - beta2**t) if correct_s else s[name]
            if no_sqrt:
                params[name] -= learning_rate * v_hat / (s_hat + eps)
            elif eps_inside:
                params[name] -= learning_rate * v_hat / np.sqrt(s_hat + eps)
            else:
                params[name] -= learning_rate * v_hat / (np.sqrt(s_hat) + eps)

    return step


def adam_new_arrays(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    for name in params:
        v[name] = beta1 * v[name] + (1 - beta1) * grads[name]
        s[name] = beta2 * s[name] + (1 - beta2) * grads[name] ** 2
        p = params[name]
        p = p - learning_rate * (v[name] / (1 - beta1**t)) / (np.sqrt(s[name] / (1 - beta2**t)) + eps)  # params unchanged


def adam_rebinds_params(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    for name in params:
        v[name] = beta1 * v[name] + (1 - beta1) * grads[name]
        s[name] = beta2 * s[name] + (1 - beta2) * grads[name] ** 2
        params[name] = params[name] - learning_rate * (v[name] / (1 - beta1**t)) / (np.sqrt(s[name] / (1 - beta2**t)) + eps)


def adam_step_count_from_zero(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    _adam()(params, grads, v, s, t - 1, learning_rate, beta1, beta2, eps)  # 1 - beta**0 = 0: divides by zero


@pytest.mark.parametrize("fn, match", [
    (_adam(correct_v=False, correct_s=False), r"Likely mistake: no bias correction: v and s start at 0"),
    (_adam(correct_s=False), r"Likely mistake: only v is bias-corrected: s_hat = s / \(1 - beta2\*\*t\) too"),
    (_adam(correct_v=False), r"Likely mistake: only s is bias-corrected: v_hat = v / \(1 - beta1\*\*t\) too"),
    (_adam(store=True), r"Likely mistake: you store the bias-corrected values in v and s"),
    (_adam(eps_inside=True), r"case 'steps t = 1, 2, 3, gradients of about 1e-6(.|\n)*Likely mistake: eps is inside the square root"),
    (_adam(no_sqrt=True), r"Likely mistake: you divide by s_hat, not by its square root"),
    (_adam(swapped=True), r"Likely mistake: beta1 and beta2 are swapped: v \(the gradients' average\) uses beta1"),
    (_adam(only_w=True), r"gamma1: expected(.|\n)*Likely mistake: you update only the W's. gamma and beta \(and b\) are parameters too: Adam"),
    (adam_new_arrays, r"Likely mistake: params are not updated in place: change the arrays in params"),
])  # fmt: skip
def test_adam_mistakes_are_named(fn, match):
    fails_with(checks.check_adam_step, fn, match=match)


def test_adam_refuses_right_values_in_new_arrays_and_says_what_raised():
    message = fails_with(checks.check_adam_step, adam_rebinds_params,
                         match=r"case '.*': params\['W1'\] is a new array after your step.*`params\[name\] -= \.\.\.`")
    assert "raised" not in message
    with np.errstate(divide="ignore", invalid="ignore"):
        fails_with(checks.check_adam_step, adam_step_count_from_zero, match=r"check_adam_step")


def test_adam_and_momentum_steps_of_the_package_are_the_classes_update():
    """The plain functions the notebook asks for and the classes' faster code: the same numbers, also with step=."""
    import bn_helpers

    rng = np.random.default_rng(5)
    start = {"W1": rng.normal(size=(3, 4)), "gamma1": rng.normal(size=(3, 1)), "beta1": rng.normal(size=(3, 1))}
    grads = [{k: rng.normal(size=v.shape) for k, v in start.items()} for _ in range(6)]
    for make, fn in [(lambda **kw: bn_helpers.Adam(0.01, beta1=0.8, beta2=0.99, **kw), bn_helpers.adam_step),
                     (lambda **kw: bn_helpers.Momentum(0.1, momentum=0.7, **kw), bn_helpers.momentum_step)]:  # fmt: skip
        finals = []
        for optimizer in (make(), make(step=fn), make(step=adam_step if fn is bn_helpers.adam_step else momentum_step)):
            params = {k: v.copy() for k, v in start.items()}
            held = dict(params)
            for g in grads:
                optimizer.step(params, g)
            assert all(params[k] is held[k] for k in params)  # in place throughout
            finals.append(params)
        for other in finals[1:]:
            for k in start:
                np.testing.assert_allclose(other[k], finals[0][k], rtol=1e-12, atol=1e-15)
    optimizer = bn_helpers.Adam(0.01, step=adam_rebinds_params)
    with pytest.raises(ValueError, match=r"step replaced params\['W1'\] by a new array instead of changing it in place"):
        optimizer.step({k: v.copy() for k, v in start.items()}, grads[0])


# the noise of batch statistics


def noise_ddof1(z, batches, eps=1e-5):
    Zb = z[batches]
    return (Zb[:, 0] - Zb.mean(axis=1)) / np.sqrt(Zb.var(axis=1, ddof=1) + eps)


def noise_whole_set(z, batches, eps=1e-5):
    return np.full(len(batches), (z[0] - z.mean()) / np.sqrt(z.var() + eps))


def noise_eps_outside(z, batches, eps=1e-5):
    Zb = z[batches]
    return (Zb[:, 0] - Zb.mean(axis=1)) / (Zb.std(axis=1) + eps)


@pytest.mark.parametrize("fn, match", [
    (noise_ddof1, r"Likely mistake: your variance divides by m - 1"),
    (noise_whole_set, r"Likely mistake: you normalize with the mean and variance of the whole training set"),
    (noise_eps_outside, r"Likely mistake: your eps is outside the square root"),
])  # fmt: skip
def test_noise_mistakes_are_named(fn, match):
    fails_with(checks.check_batch_normalized_example, fn, match=match)


def test_every_catalogued_mistake_has_a_test_here():
    """A new entry in the catalogue needs a learner-style implementation above whose test expects its message."""
    import ast

    patterns = []
    for node in ast.walk(ast.parse(open(__file__).read())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_a_mistake(node.value):
            patterns.append(node.value.split("Likely mistake: ")[-1])
    for catalogue in (checks.FORWARD_MISTAKES, checks.CACHE_MISTAKES, checks.BACKWARD_MISTAKES, checks.STAGED_MISTAKES,
                      checks.INFERENCE_MISTAKES, checks.EWA_MISTAKES, checks.NORMALIZE_MISTAKES,
                      checks.MOMENTUM_MISTAKES, checks.ADAM_MISTAKES, checks.NOISE_MISTAKES):  # fmt: skip
        for mistake in catalogue:
            assert any(re.match(p, mistake.message) for p in patterns), f"no test names: {mistake.message}"


@pytest.mark.parametrize("check, n", [(checks.check_batchnorm_forward, 1), (checks.check_batchnorm_backward, 2),
                                      (checks.check_batchnorm_backward_staged, 2),
                                      (checks.check_batchnorm_inference, 1), (checks.check_ewa_update, 1),
                                      (checks.check_normalize_inputs, 2), (checks.check_layer_forward, 1),
                                      (checks.check_layer_backward, 2),
                                      (checks.check_momentum_step, 1), (checks.check_adam_step, 1),
                                      (checks.check_batch_normalized_example, 1)])  # fmt: skip
def test_a_check_given_something_else_than_a_function_says_what_it_takes(check, n):
    score, message = checks.verdict(check, *["batchnorm_forward(Z)"] * n)  # a call's result or a string, not the function
    assert score == 0 and re.match(rf"{check.__name__} takes your function itself, e.g. {check.__name__}\(.*\); got", message)


def _names_a_mistake(text):
    """A string of this file that expects a named mistake: "Likely mistake: " and at least a few words of its message."""
    return len(text.split("Likely mistake: ")[-1]) >= 12 if "Likely mistake: " in text else False
