"""Notebook 03's two exercises, a hidden layer with batch norm and no b, and what their checks say.

``layer_forward`` and ``layer_backward`` below are the exercises' solutions as
a learner writes them (numpy, and the functions the exercises allow). Each
wrong function is written the way a learner might write it, independently of
the checks' catalogues, so that a test passes only if the check recognises the
mistake in ordinary code.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import bn_helpers
from bn_helpers import (activation_backward, activation_forward, batchnorm_backward, batchnorm_forward, checks,
                        dense_backward, dense_forward)  # fmt: skip
from bn_helpers.checks import core
from bn_helpers.checks import fitting_batch_norm as n03

import test_checks_hidden_shapes

# --- the solutions ------------------------------------------------------------------------------------------------


def layer_forward(A_prev, W, gamma, beta, activation="relu"):
    Z = W @ A_prev
    Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, bn_cache, Z_tilde, A, activation)


def layer_backward(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    dZ_tilde = activation_backward(dA, Z_tilde, A, activation)
    dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta


def layer_backward_with_dense_backward(dA, cache):
    """Another style: the package's dense_backward (its db is dropped), its own derivatives of g."""
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    g_prime = {"relu": lambda: (Z_tilde > 0) * 1.0, "sigmoid": lambda: A * (1 - A), "tanh": lambda: 1 - A**2}
    dZ, dgamma, dbeta = batchnorm_backward(dA * g_prime[activation](), bn_cache)
    dA_prev, dW, _ = dense_backward(dZ, A_prev, W)
    return dA_prev, dW, dgamma, dbeta


def unwritten_forward(A_prev, W, gamma, beta, activation="relu"):
    raise NotImplementedError()


def fails_with(check, *fns, match):
    """The check's message for a wrong function: it scores less than full marks and says what ``match`` expects."""
    score, message = checks.verdict(check, *fns)
    assert score.status == "wrong" and score < score.of, message
    assert re.search(match, message), message
    return message


# --- right code passes ---------------------------------------------------------------------------------------------

CASES = "(4 inputs, 3 units, 6 examples, ReLU; 5 inputs, 2 units, m = 2, sigmoid; 3 inputs, 4 units, 7 examples, tanh; float32, ReLU)"
BOUND = "Each case is within its bound of the reference (relative error): 1e-10 in float64, 1e-4 in float32."


def test_the_right_forward_passes_with_one_line_and_a_bound(capsys):
    assert checks.check_layer_forward(layer_forward) == 2
    assert capsys.readouterr().out == f"check_layer_forward: right in all 4 cases {CASES}. {BOUND}\n"


@pytest.mark.parametrize("backward", [layer_backward, layer_backward_with_dense_backward])
def test_the_right_backward_passes_with_one_line_and_a_bound(backward, capsys):
    assert checks.check_layer_backward(layer_forward, backward) == 3
    assert capsys.readouterr().out == f"check_layer_backward: right in all 4 cases {CASES}. {BOUND}\n"


def test_right_code_passes_the_hidden_cases_of_every_seed_silently():
    for seed in range(30):
        for check, fns in [(checks.check_layer_forward, (layer_forward,)),
                           (checks.check_layer_backward, (layer_forward, layer_backward)),
                           (checks.check_layer_backward, (layer_forward, layer_backward_with_dense_backward))]:  # fmt: skip
            score, said = checks.verdict(lambda *f: check(*f, hidden=seed), *fns)
            assert (score, said) == (score.of, ""), (seed, said)
    assert checks.verdict(lambda *f: checks.check_layer_forward(*f, hidden=True), layer_forward)[0] == 2


def test_the_engines_of_the_catalogues_are_right_with_their_defaults():
    for case in n03._backward_cases():
        expected = n03._backward_ref(*case.args, **case.kwargs)
        got = n03.backward_variant()(*case.args, **case.kwargs)
        assert all(np.allclose(e, g, rtol=1e-12, atol=1e-14) for e, g in zip(expected, got)), case.name
    for case in n03._layer_cases():
        assert n03._form(n03._cache_form()(*case.args, **case.kwargs), n03._known(*case.args, **case.kwargs)) \
            == n03.CACHE_ITEMS  # fmt: skip


# --- exercise 1: every catalogued mistake, each in a learner's function -----------------------------------------------


def _stats(Z, axis=1):
    return Z.mean(axis=axis, keepdims=True), Z.var(axis=axis, keepdims=True)


def forward_activation_first(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, bn_cache = batchnorm_forward(activation_forward(W @ A_prev, activation), gamma, beta)
    return Z_tilde, (A_prev, W, bn_cache, Z_tilde, Z_tilde, activation)


def forward_no_activation(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, bn_cache = batchnorm_forward(W @ A_prev, gamma, beta)
    return Z_tilde, (A_prev, W, bn_cache, Z_tilde, Z_tilde, activation)


def forward_normalizes_the_input(A_prev, W, gamma, beta, activation="relu"):
    mu, var = _stats(A_prev)
    Z_tilde = gamma * (W @ ((A_prev - mu) / np.sqrt(var + 1e-5))) + beta
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, batchnorm_forward(W @ A_prev, gamma, beta)[1], Z_tilde, A, activation)


def forward_wrong_axis(A_prev, W, gamma, beta, activation="relu"):
    Z = W @ A_prev
    mu, var = _stats(Z, axis=0)
    Z_tilde = gamma * (Z - mu) / np.sqrt(var + 1e-5) + beta
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, batchnorm_forward(Z, gamma, beta)[1], Z_tilde, A, activation)


def forward_without_gamma_beta(A_prev, W, gamma, beta, activation="relu"):
    Z = W @ A_prev
    mu, var = _stats(Z)
    Z_tilde = (Z - mu) / np.sqrt(var + 1e-5)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, batchnorm_forward(Z, gamma, beta)[1], Z_tilde, A, activation)


def forward_caches_Z(A_prev, W, gamma, beta, activation="relu"):
    Z = W @ A_prev
    Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, bn_cache, Z, A, activation)


def forward_returns_A_alone(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, bn_cache = batchnorm_forward(W @ A_prev, gamma, beta)
    return activation_forward(Z_tilde, activation)


def forward_in_another_order(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, bn_cache = batchnorm_forward(W @ A_prev, gamma, beta)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, Z_tilde, bn_cache, A, activation)  # the order of the computation


def forward_without_the_activation(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, bn_cache = batchnorm_forward(W @ A_prev, gamma, beta)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, bn_cache, Z_tilde, A)


def forward_keeps_batchnorms_whole_output(A_prev, W, gamma, beta, activation="relu"):
    bn = batchnorm_forward(W @ A_prev, gamma, beta)
    A = activation_forward(bn[0], activation)
    return A, (A_prev, W, bn, bn[0], A, activation)


def forward_keeps_only_batchnorms_cache(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, bn_cache = batchnorm_forward(W @ A_prev, gamma, beta)
    return activation_forward(Z_tilde, activation), bn_cache


@pytest.mark.parametrize("fn, match", [
    (forward_activation_first, r"A: expected(.|\n)*Likely mistake: your activation comes before batch norm"),
    (forward_no_activation, r"Likely mistake: you return z_tilde: apply the activation g to it"),
    (forward_normalizes_the_input, r"Likely mistake: you normalize the layer's input a_prev instead of z = W a_prev"),
    (forward_wrong_axis, r"Likely mistake: your batch statistics are taken over the wrong axis"),
    (forward_without_gamma_beta, r"Likely mistake: gamma and beta are left out"),
    (forward_caches_Z, r"^check_layer_forward: wrong result in case '4 inputs, 3 units, 6 examples, ReLU'\.\n"
                       r"cache\[3\], Z_tilde: expected .*\nLikely mistake: your cache holds z = W a_prev where z_tilde goes"),
    (forward_returns_A_alone, r"layer_forward must return a tuple of 2 \(A, cache\); got an array of shape \(3, 6\)\.\n"
                              r"Likely mistake: you return A alone: return \(A, cache\)"),
    (forward_in_another_order, r"your cache holds \(A_prev, W, Z_tilde, bn_cache, A, activation\); exercise 1 "
                               r"prescribes \(A_prev, W, bn_cache, Z_tilde, A, activation\), in that order: "
                               r"layer_backward unpacks it so\.\n"
                               r"Likely mistake: your cache holds the right items in another order"),
    (forward_without_the_activation, r"your cache holds \(A_prev, W, bn_cache, Z_tilde, A\);(.|\n)*"
                                     r"Likely mistake: your cache lacks the activation's name"),
    (forward_keeps_batchnorms_whole_output, r"your cache holds \(A_prev, W, \(Z_tilde, bn_cache\), Z_tilde, A, "
                                            r"activation\)(.|\n)*Likely mistake: your cache keeps batchnorm_forward's "
                                            r"whole return value"),
    (forward_keeps_only_batchnorms_cache, r"layer_forward's cache must be the tuple \(A_prev, W, bn_cache, Z_tilde, A, "
                                          r"activation\); got a BatchNormCache\.\nLikely mistake: your cache is "
                                          r"batchnorm_forward's cache alone"),
])  # fmt: skip
def test_forward_mistakes_are_named(fn, match):
    message = fails_with(checks.check_layer_forward, fn, match=match)
    assert message.count("Likely mistake") == 1, message


def test_a_right_A_with_a_wrong_cache_earns_the_As_half():
    score, said = checks.verdict(checks.check_layer_forward, forward_in_another_order)
    assert (score, score.of) == (1, 2), said  # A right in 4 cases, the cache in none: 4 of 8
    score, said = checks.verdict(checks.check_layer_forward, forward_no_activation)
    assert score == 0 and said.endswith("\nYour cache (A_prev, W, bn_cache, Z_tilde, A, activation) is wrong in 4 of "
                                        "the 4 cases too.\n"), said  # fmt: skip


def test_a_cache_with_a_hard_coded_activation_says_which_case_shows_it():
    def forward_relu_in_the_cache(A_prev, W, gamma, beta, activation="relu"):
        A, cache = layer_forward(A_prev, W, gamma, beta, activation)
        return A, (*cache[:5], "relu")

    fails_with(checks.check_layer_forward, forward_relu_in_the_cache,
               match=r"case '5 inputs, 2 units, m = 2, sigmoid': your cache holds \(A_prev, W, bn_cache, Z_tilde, A, "
                     r"'relu'\)(.|\n)*Wrong in 2 of 4 cases")  # fmt: skip


def test_a_product_in_the_wrong_order_gets_the_shapes():
    def forward_A_prev_first(A_prev, W, gamma, beta, activation="relu"):
        Z_tilde, bn_cache = batchnorm_forward(A_prev @ W, gamma, beta)
        A = activation_forward(Z_tilde, activation)
        return A, (A_prev, W, bn_cache, Z_tilde, A, activation)

    fails_with(checks.check_layer_forward, forward_A_prev_first,
               match=r"raised ValueError: matmul: .* Check the shapes of the product: z = W @ A_prev, "
                     r"\(n_l, n_prev\) @ \(n_prev, m\)\.")  # fmt: skip


# --- exercise 2: every catalogued mistake, each in a learner's function -----------------------------------------------


def backward_without_the_activation(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    dZ, dgamma, dbeta = batchnorm_backward(dA, bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta


def backward_derivative_at_A(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-A))
        dZ_tilde = dA * s * (1 - s)
    elif activation == "tanh":
        dZ_tilde = dA * (1 - np.tanh(A) ** 2)
    else:
        dZ_tilde = dA * (A > 0)
    dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta


def backward_derivative_at_Z(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    Z = W @ A_prev
    s = 1 / (1 + np.exp(-Z))
    dZ_tilde = dA * {"relu": Z > 0, "sigmoid": s * (1 - s), "tanh": 1 - np.tanh(Z) ** 2}[activation]
    dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta


def backward_gamma_beta_from_dA(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    dZ, _, _ = batchnorm_backward(activation_backward(dA, Z_tilde, A, activation), bn_cache)
    dgamma, dbeta = (dA * bn_cache.Z_norm).sum(axis=1, keepdims=True), dA.sum(axis=1, keepdims=True)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta


def _gradients(cache, dA):
    """The right dZ_tilde, dZ, dgamma and dbeta, for the mistakes below that lie after them."""
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    dZ_tilde = activation_backward(dA, Z_tilde, A, activation)
    return (dZ_tilde, *batchnorm_backward(dZ_tilde, bn_cache))


def backward_dW_transposed(dA, cache):
    dZ_tilde, dZ, dgamma, dbeta = _gradients(cache, dA)
    return cache[1].T @ dZ, cache[0] @ dZ.T, dgamma, dbeta


def backward_dW_from_dZ_tilde(dA, cache):
    dZ_tilde, dZ, dgamma, dbeta = _gradients(cache, dA)
    return cache[1].T @ dZ, dZ_tilde @ cache[0].T, dgamma, dbeta


def backward_dW_averaged(dA, cache):
    dZ_tilde, dZ, dgamma, dbeta = _gradients(cache, dA)
    m = dA.shape[1]
    return cache[1].T @ dZ, 1 / m * dZ @ cache[0].T, dgamma, dbeta


def backward_dA_prev_from_dZ_tilde(dA, cache):
    dZ_tilde, dZ, dgamma, dbeta = _gradients(cache, dA)
    return cache[1].T @ dZ_tilde, dZ @ cache[0].T, dgamma, dbeta


def backward_dA_prev_transposed(dA, cache):
    dZ_tilde, dZ, dgamma, dbeta = _gradients(cache, dA)
    return dZ.T @ cache[1], dZ @ cache[0].T, dgamma, dbeta


def backward_swapped(dA, cache):
    dA_prev, dW, dgamma, dbeta = layer_backward(dA, cache)
    return dW, dA_prev, dgamma, dbeta


def backward_skips_batch_norm(dA, cache):  # both dW and dA_prev from dZ_tilde: named by combining the two
    dZ_tilde, _, dgamma, dbeta = _gradients(cache, dA)
    return cache[1].T @ dZ_tilde, dZ_tilde @ cache[0].T, dgamma, dbeta


@pytest.mark.parametrize("fn, match", [
    (backward_without_the_activation, r"Likely mistake: your dZ_tilde is dA itself"),
    (backward_derivative_at_A, r"case '5 inputs, 2 units, m = 2, sigmoid'(.|\n)*Likely mistake: your activation's "
                               r"derivative is taken at A instead of at Z_tilde"),
    (backward_derivative_at_Z, r"Likely mistake: your activation's derivative is taken at z = W a_prev, before batch norm"),
    (backward_gamma_beta_from_dA, r"dgamma: expected(.|\n)*Likely mistake: your dgamma and dbeta come from dA"),
    (backward_dW_transposed, r"dW: expected shape \(3, 4\), got shape \(4, 3\)(.|\n)*Likely mistake: your dW is "
                             r"transposed: A_prev @ dZ.T has shape \(n_prev, n_l\)"),
    (backward_dW_from_dZ_tilde, r"Likely mistake: your dW comes from dZ_tilde, skipping batch norm's backward"),
    (backward_dW_averaged, r"Likely mistake: your dW is exactly 1/m of the expected: it averages over the examples twice"),
    (backward_dA_prev_from_dZ_tilde, r"Likely mistake: your dA_prev comes from dZ_tilde, skipping batch norm's backward"),
    (backward_dA_prev_transposed, r"dA_prev: expected shape \(4, 6\), got shape \(6, 4\)(.|\n)*Likely mistake: your "
                                  r"dA_prev is transposed"),
    (backward_swapped, r"Likely mistake: your dA_prev and dW are swapped"),
])  # fmt: skip
def test_backward_mistakes_are_named(fn, match):
    message = fails_with(checks.check_layer_backward, layer_forward, fn, match=match)
    assert message.startswith("check_layer_backward: wrong result in case"), message


def test_a_backward_that_skips_batch_norm_gets_both_names():
    message = fails_with(checks.check_layer_backward, layer_forward, backward_skips_batch_norm, match="Likely mistake")
    named = [line for line in message.splitlines() if line.startswith("Likely mistake: ")]
    assert [line[16:41] for line in named] == ["your dA_prev comes from d", "your dW comes from dZ_til"], message


def backward_returns_db(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    dZ, dgamma, dbeta = batchnorm_backward(activation_backward(dA, Z_tilde, A, activation), bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True), dgamma, dbeta


def backward_dW_product_in_the_wrong_order(dA, cache):
    dZ_tilde, dZ, dgamma, dbeta = _gradients(cache, dA)
    return cache[1].T @ dZ, dZ.T @ cache[0], dgamma, dbeta


def backward_dA_prev_untransposed(dA, cache):
    dZ_tilde, dZ, dgamma, dbeta = _gradients(cache, dA)
    return cache[1] @ dZ, dZ @ cache[0].T, dgamma, dbeta


def backward_unpacks_A_before_Z_tilde(dA, cache):
    A_prev, W, bn_cache, A, Z_tilde, activation = cache  # layer_forward packs Z_tilde, then A
    return layer_backward(dA, (A_prev, W, bn_cache, Z_tilde, A, activation))


def backward_unpacks_in_the_order_of_the_computation(dA, cache):
    A_prev, W, Z_tilde, bn_cache, A, activation = cache
    return layer_backward(dA, (A_prev, W, bn_cache, Z_tilde, A, activation))


def backward_unpacks_A_last(dA, cache):
    A_prev, W, bn_cache, Z_tilde, activation, A = cache
    return layer_backward(dA, (A_prev, W, bn_cache, Z_tilde, A, activation))


def backward_unpacks_five_items(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A = cache  # the activation forgotten
    return layer_backward(dA, (A_prev, W, bn_cache, Z_tilde, A, "relu"))


def backward_changes_dA(dA, cache):
    A_prev, W, bn_cache, Z_tilde, A, activation = cache
    dA *= activation_backward(np.ones_like(dA), Z_tilde, A, activation)  # dZ_tilde, in dA's own array
    dZ, dgamma, dbeta = batchnorm_backward(dA, bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta


@pytest.mark.parametrize("fn, match", [
    (backward_returns_db, r"layer_backward must return a tuple of 4 \(dA_prev, dW, dgamma, dbeta\); got a tuple of 5 "
                          r"\(.*\)\. The layer has no b \(batch norm's beta does its work\), so there is no db to return\."),
    (backward_dW_product_in_the_wrong_order, r"raised ValueError: matmul: .* Check the shapes of each product: "
                                             r"dW = dZ @ A_prev\.T, \(n_l, m\) @ \(m, n_prev\) -> \(n_l, n_prev\)"),
    (backward_dA_prev_untransposed, r"raised ValueError: matmul: .* Check the shapes of each product: (.*) "
                                    r"dA_prev = W\.T @ dZ, \(n_prev, n_l\) @ \(n_l, m\) -> \(n_prev, m\)\."),
    (backward_unpacks_A_before_Z_tilde, r"case '5 inputs, 2 units, m = 2, sigmoid'(.|\n)*Likely mistake: your "
                                        r"backward_unpacks_A_before_Z_tilde unpacks the cache in another order than "
                                        r"it is packed: with Z_tilde and A \(items 3 and 4\) swapped, it returns the "
                                        r"right gradients"),
    (backward_unpacks_in_the_order_of_the_computation, r"raised TypeError: .*BatchNormCache.*\. Does your "
                                                       r"layer_backward unpack the cache in the order layer_forward "
                                                       r"packs it, \(A_prev, W, bn_cache, Z_tilde, A, activation\)\?"),
    (backward_unpacks_A_last, r"raised TypeError: unhashable type: 'numpy\.ndarray'\. Does your layer_backward "
                              r"unpack the cache in the order layer_forward packs it"),
    (backward_unpacks_five_items, r"raised ValueError: too many values to unpack \(expected 5[^)]*\)\. The cache has 6 "
                                  r"items: `A_prev, W, bn_cache, Z_tilde, A, activation = cache`\."),
    (backward_changes_dA, r"changed its input `dA` in place"),
])  # fmt: skip
def test_backward_mistakes_that_are_not_a_formula_are_said_in_words(fn, match):
    fails_with(checks.check_layer_backward, layer_forward, fn, match=match)


def test_every_catalogued_mistake_has_a_test_here():
    """A new entry in either catalogue needs a learner-style function above whose test expects its message."""
    import ast

    patterns = [node.value.split("Likely mistake: ")[-1] for node in ast.walk(ast.parse(open(__file__).read()))
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "Likely mistake: " in node.value
                and len(node.value.split("Likely mistake: ")[-1]) >= 12]  # fmt: skip
    for mistake in [*checks.LAYER_FORWARD_MISTAKES, *checks.LAYER_BACKWARD_MISTAKES]:
        assert any(re.match(p, mistake.message) for p in patterns), f"no test names: {mistake.message}"


# --- one mistake costs one exercise: the backward pass is judged on the prescribed cache while the forward is not right


NOTE = ("Your {} does not pass its check yet, so your {} was given the cache exercise 1 asks for, "
        "(A_prev, W, bn_cache, Z_tilde, A, activation), computed by bn_helpers.")


@pytest.mark.parametrize("wrong_forward", [unwritten_forward, forward_activation_first, forward_in_another_order,
                                           forward_returns_A_alone])  # fmt: skip
def test_a_wrong_or_unwritten_forward_does_not_fail_a_right_backward(wrong_forward, capsys):
    assert checks.check_layer_backward(wrong_forward, layer_backward) == 3
    right, note = capsys.readouterr().out.splitlines()
    assert right.startswith("check_layer_backward: right in all 4 cases")
    assert note == NOTE.format(wrong_forward.__name__, "layer_backward")


def test_a_wrong_backward_on_the_prescribed_cache_is_named_and_says_which_cache_it_was_given():
    message = fails_with(checks.check_layer_backward, unwritten_forward, backward_dW_averaged,
                         match=r"Likely mistake: your dW is exactly 1/m of the expected")
    assert message.endswith(NOTE.format("unwritten_forward", "backward_dW_averaged") + "\n"), message
    message = fails_with(checks.check_layer_backward, forward_in_another_order, backward_unpacks_A_before_Z_tilde,
                         match=r"Likely mistake: your backward_unpacks_A_before_Z_tilde unpacks the cache in another "
                               r"order than it is packed: with Z_tilde and A")  # fmt: skip
    assert message.endswith(NOTE.format("forward_in_another_order", "backward_unpacks_A_before_Z_tilde") + "\n")


def test_an_unwritten_backward_is_named_as_unwritten_and_scores_zero():
    def layer_backward(dA, cache):
        raise NotImplementedError()

    for forward in (layer_forward, unwritten_forward):
        score, said = checks.verdict(checks.check_layer_backward, forward, layer_backward)
        assert (score, score.status) == (0, "unwritten"), said
        assert said.startswith("check_layer_backward: layer_backward is not written yet"), said
    score, said = checks.verdict(checks.check_layer_forward, unwritten_forward)
    assert (score, score.status) == (0, "unwritten") and said.startswith("check_layer_forward: unwritten_forward is "
                                                                         "not written yet"), said  # fmt: skip


# --- the package's own layer is refused; what the exercises allow passes ------------------------------------------


def forward_through_the_packages_layer(A_prev, W, gamma, beta, activation="relu"):
    return bn_helpers.layers.layer_forward(A_prev, W, gamma, beta, activation)


def backward_through_the_packages_layer(dA, cache):
    return bn_helpers.layer_backward(dA, cache)


def backward_calling_layer_backward(dA, cache):
    from bn_helpers import layer_backward

    return layer_backward(dA, cache)


@pytest.mark.parametrize("fns, how", [
    ((bn_helpers.layer_forward,), r"check_layer_forward: your function is bn_helpers' own bn_helpers\.layers\.layer_forward"),
    ((forward_through_the_packages_layer,), r"check_layer_forward: your function uses the module bn_helpers"),
    ((layer_forward, bn_helpers.layer_backward), r"check_layer_backward: your function is bn_helpers' own "
                                                 r"bn_helpers\.layers\.layer_backward"),
    ((bn_helpers.layer_forward, layer_backward), r"check_layer_backward: your function is bn_helpers' own "
                                                 r"bn_helpers\.layers\.layer_forward"),
    ((layer_forward, backward_through_the_packages_layer), r"check_layer_backward: your function uses the module bn_helpers"),
    ((layer_forward, backward_calling_layer_backward), r"check_layer_backward: your function uses the module bn_helpers"),
])  # fmt: skip
def test_the_packages_layer_is_refused(fns, how):
    check = checks.check_layer_forward if len(fns) == 1 else checks.check_layer_backward
    score, said = checks.verdict(check, *fns)
    assert score == 0 and re.match(rf"{how}\. This exercise is for writing it yourself, with numpy \(it may call ",
                                   said), said  # fmt: skip


def test_the_functions_the_exercises_name_are_allowed():
    def forward_with_dense_forward(A_prev, W, gamma, beta, activation="relu"):
        Z_tilde, bn_cache = batchnorm_forward(dense_forward(A_prev, W), gamma, beta)
        A = activation_forward(Z_tilde, activation)
        return A, (A_prev, W, bn_cache, Z_tilde, A, activation)

    score, said = checks.verdict(checks.check_layer_backward, forward_with_dense_forward,
                                 layer_backward_with_dense_backward)
    assert score == 3 and "right in all" in said and "does not pass" not in said, said
    score, said = checks.verdict(checks.check_layer_forward, forward_with_dense_forward)
    assert score == 2, said


def test_what_is_not_a_function_is_said():
    score, said = checks.verdict(checks.check_layer_backward, layer_forward, "layer_backward(dA, cache)")
    assert score == 0 and said.startswith("check_layer_backward takes your function itself, e.g. "
                                          "check_layer_backward(layer_forward, layer_backward); got str"), said


# --- hidden cases: the same kinds, other shapes -------------------------------------------------------------------

BACKWARD_VISIBLE = (["4 inputs, 3 units, 6 examples, ReLU", "5 inputs, 2 units, m = 2, sigmoid",
                     "3 inputs, 4 units, 7 examples, tanh", "float32, ReLU"], "724dc8babf57ab9e")  # fmt: skip


def test_the_visible_backward_cases_are_pinned():
    names, digest = BACKWARD_VISIBLE
    cases = n03._backward_cases()
    assert [case.name for case in cases] == names
    assert test_checks_hidden_shapes._digest(cases) == digest == test_checks_hidden_shapes._digest(n03._backward_cases())


@pytest.mark.parametrize("builder", [n03._layer_cases, n03._backward_cases])
def test_hidden_cases_draw_their_shapes_and_keep_what_makes_each_kind(builder):
    visible, shapes = builder(), set()
    for seed in range(30):
        cases = core.drawn(builder, seed)
        for v, h in zip(visible, cases, strict=True):
            A_prev, W = h.args[:2]
            (n, n_prev), m = W.shape, A_prev.shape[1]
            assert n_prev != n and n_prev != m and m >= 2 and h.kwargs == {"activation": v.kwargs["activation"]}
            assert n != m or m == 2  # (as in the visible case of m = 2, whose 2 units are unlike its 5 inputs)
            assert test_checks_hidden_shapes._pattern(h.name) == test_checks_hidden_shapes._pattern(v.name)
            assert (m == 2) == ("m = 2" in h.name) or h.name == "float32, ReLU"
            assert (A_prev.dtype == np.float32) == (h.name == "float32, ReLU")
            if builder is n03._backward_cases:
                assert h.args[4].shape == (n, m) and h.args[4].dtype == A_prev.dtype
        assert cases[1].args[0].shape[1] == 2
        shapes.add(tuple(tuple(np.shape(a) for a in case.args) for case in cases))
    assert len(shapes) > 15 and tuple(tuple(np.shape(a) for a in c.args) for c in visible) not in shapes


@pytest.mark.parametrize("reference, mistakes", [
    (n03._forward_ref, n03._on("A", n03.LAYER_FORWARD_MISTAKES)),
    (n03._cache_ref, n03._on("cache", n03.LAYER_FORWARD_MISTAKES)),
])  # fmt: skip
def test_a_forward_mistake_shows_in_the_hidden_case_of_each_kind_where_it_shows_in_the_visible_one(reference, mistakes):
    """(A mistake of the cache's form shows in no A: the cache's run names it, in every case.)"""
    _shows_where_visible(n03._layer_cases, reference, mistakes)


def test_a_backward_mistake_shows_in_the_hidden_case_of_each_kind_where_it_shows_in_the_visible_one():
    """ReLU's derivative taken at z instead of z_tilde is decided by the values, not the shapes: it shows only where
    some z and its z_tilde differ in sign, which a small drawn case may miss (its sigmoid and tanh cases show it)."""
    seen = _shows_where_visible(n03._backward_cases, n03._backward_ref, n03.LAYER_BACKWARD_MISTAKES,
                                decided_by_values=lambda mistake, case: mistake.options == {"g_at": "Z"}
                                and case.kwargs["activation"] == "relu")  # fmt: skip
    assert all(any(shown_in) for shown_in in seen)  # and every mistake shows in some visible case


def _shows_where_visible(builder, reference, mistakes, decided_by_values=lambda mistake, case: False):
    shows = test_checks_hidden_shapes._shows
    visible = builder()
    seen = [[shows(reference, m, c) for c in visible] for m in mistakes]
    for seed in range(40):
        for mistake, shown_in in zip(mistakes, seen):
            for v, h, shown in zip(visible, core.drawn(builder, seed), shown_in):
                if shown and not decided_by_values(mistake, h):
                    assert shows(reference, mistake, h), (seed, v.name, h.name, mistake.message)
    return seen


def test_a_backward_written_for_the_visible_shapes_passes_the_visible_check_and_fails_the_hidden_one():
    shapes = {np.shape(case.args[4]) for case in n03._backward_cases()}

    def written_for_the_visible_shapes(dA, cache):
        if np.shape(dA) not in shapes:
            raise ValueError(f"cannot reshape array of size {np.size(dA)} into shape {sorted(shapes)[-1]}")
        return layer_backward(dA, cache)

    assert checks.verdict(checks.check_layer_backward, layer_forward, written_for_the_visible_shapes)[0] == 3
    for seed in range(10):
        score, said = checks.verdict(lambda *f: checks.check_layer_backward(*f, hidden=seed), layer_forward,
                                     written_for_the_visible_shapes)  # fmt: skip
        assert score < 3 and f"hidden={seed} draws the same ones again" in said, (seed, said)
