"""Notebook 08's exercise checks: right code passes with a bound, each learner-style mistake is named."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bn_helpers import checks, combine_statistics, fold_batchnorm
from bn_helpers.quiz import check_prediction

# --- right implementations, as the notebook's solutions write them -----------------------


def fold(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    if b is None:
        b = np.zeros((W.shape[0], 1))
    scale = gamma / np.sqrt(running_var + eps)
    return scale * W, scale * (b - running_mean) + beta


def combine(counts, means, M2s):
    m = sum(counts)
    mu = sum(c * mk for c, mk in zip(counts, means)) / m
    var = sum(M2 + c * (mk - mu) ** 2 for c, mk, M2 in zip(counts, means, M2s)) / m
    return mu, var


@pytest.mark.parametrize("check, fn", [(checks.check_fold_batchnorm, fold), (checks.check_combine_statistics, combine)])
def test_right_code_passes_with_one_line_and_a_bound(check, fn, capsys):
    check(fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "right in all" in out
    assert re.search(r"Each case is within its bound of the reference \(relative error\): 1e-10 in float64", out)


@pytest.mark.parametrize("check, fn", [(checks.check_fold_batchnorm, fold_batchnorm),
                                       (checks.check_combine_statistics, combine_statistics)])  # fmt: skip
def test_the_packages_own_function_is_refused(check, fn):
    score, said = checks.verdict(check, fn)
    assert score == 0 and f"your function is bn_helpers' own" in said, said


def fails_with(check, fn, match):
    score, message = checks.verdict(check, fn)
    assert score.status == "wrong" and score < score.of, message
    assert re.search(match, message), message
    return message


# --- learner-style mistakes ----------------------------------------------------------------


def fold_eps_outside(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / (np.sqrt(running_var) + eps)
    return s * W, s * (b - running_mean) + beta


def fold_forgets_b(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return s * W, beta - s * running_mean


def fold_default_statistics(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / np.sqrt(1.0 + eps)  # as if the layer had never seen data: mean 0, variance 1
    return W * s, s * b + beta


def fold_no_mean(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return s * W, s * b + beta


def fold_columns(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return W * s.ravel(), s * (b - running_mean) + beta  # (n,) broadcasts along the columns


def fold_variance(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / (running_var + eps)
    return s * W, s * (b - running_mean) + beta


def fold_b_flat(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    W_f, b_f = fold(W, b, gamma, beta, running_mean, running_var, eps)
    return W_f, b_f.ravel()


def fold_crashes_on_none(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return s * W, s * (b - running_mean) + beta


def fold_b_unscaled(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return s * W, b - s * running_mean + beta


def fold_mean_unscaled(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return s * W, s * b - running_mean + beta


def fold_forgets_beta(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return s * W, s * (b - running_mean)


def fold_no_eps(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros((W.shape[0], 1)) if b is None else b
    s = gamma / np.sqrt(running_var)
    return s * W, s * (b - running_mean) + beta


@pytest.mark.parametrize("fn, match", [
    (fold_b_unscaled, r"Likely mistake: your b is not scaled"),
    (fold_mean_unscaled, r"Likely mistake: your running_mean is not scaled"),
    (fold_forgets_beta, r"Likely mistake: beta is left out of b_folded"),
    (fold_no_eps, r"Likely mistake: your scale has no eps"),
    (fold_eps_outside, r"Likely mistake: your eps is outside the square root: the scale is gamma"),
    (fold_forgets_b, r"Likely mistake: b is left out of b_folded"),
    (fold_default_statistics, r"Likely mistake: your fold ignores the running statistics"),
    (fold_no_mean, r"Likely mistake: running_mean is not subtracted"),
    (fold_columns, r"Likely mistake: you scale the columns of W instead of its rows"),
    (fold_variance, r"Likely mistake: you divide by the running variance instead of its square root"),
])  # fmt: skip
def test_fold_mistakes_are_named(fn, match):
    message = fails_with(checks.check_fold_batchnorm, fn, match)
    assert "expected" in message and "got" in message


def test_fold_other_failures_say_what_is_wrong():
    fails_with(checks.check_fold_batchnorm, fold_b_flat, r"b_folded: expected shape \(4, 1\), got shape \(4,\).*keepdims")
    fails_with(checks.check_fold_batchnorm, fold_crashes_on_none,
               r"case 'b = None .*raised TypeError")
    fails_with(checks.check_fold_batchnorm, lambda *a, **k: fold(*a, **k)[0], r"must return a tuple of 2 \(W_folded, b_folded\)")


def combine_plain_mean(counts, means, M2s):
    mu = sum(means) / len(means)
    return mu, sum(M2 + c * (mk - mu) ** 2 for c, mk, M2 in zip(counts, means, M2s)) / sum(counts)


def combine_within_only(counts, means, M2s):
    return combine(counts, means, M2s)[0], sum(M2s) / sum(counts)


def combine_average_variances(counts, means, M2s):
    return combine(counts, means, M2s)[0], sum(M2 / c for c, M2 in zip(counts, M2s)) / len(counts)


def combine_ddof1(counts, means, M2s):
    mu, var = combine(counts, means, M2s)
    m = sum(counts)
    return mu, var * m / (m - 1)


def combine_unweighted_between(counts, means, M2s):
    mu = combine(counts, means, M2s)[0]
    return mu, (sum(M2s) + sum((mk - mu) ** 2 for mk in means)) / sum(counts)


def combine_M2_as_variance(counts, means, M2s):
    m = sum(counts)
    mu = sum(c * mk for c, mk in zip(counts, means)) / m
    return mu, sum(c * (M2 + (mk - mu) ** 2) for c, mk, M2 in zip(counts, means, M2s)) / m


def combine_returns_std(counts, means, M2s):
    mu, var = combine(counts, means, M2s)
    return mu, np.sqrt(var)


@pytest.mark.parametrize("fn, match", [
    (combine_M2_as_variance, r"Likely mistake: you use M2_k as if it were device k's variance"),
    (combine_returns_std, r"Likely mistake: you return the standard deviation"),
    (combine_plain_mean, r"Likely mistake: your mean is the plain average of the devices' means"),
    (combine_within_only, r"Likely mistake: your variance is sum_k M2_k / m: it misses the spread between"),
    (combine_average_variances, r"Likely mistake: your variance is the average of the devices' variances"),
    (combine_ddof1, r"Likely mistake: your variance divides by m - 1"),
    (combine_unweighted_between, r"Likely mistake: the spread between the devices is not weighted by their counts"),
])  # fmt: skip
def test_combine_mistakes_are_named(fn, match):
    message = fails_with(checks.check_combine_statistics, fn, match)
    assert message.count("Likely mistake") == 1, message


# --- right results from code that changes the caller's lists: each once slipped through ----------


def combine_centres_means_in_place(counts, means, M2s):
    m = sum(counts)
    mu = sum(c * mk for c, mk in zip(counts, means)) / m
    for k in range(len(means)):
        means[k] -= mu  # the caller's device means, now centred
    return mu, sum(M2 + c * mk**2 for c, mk, M2 in zip(counts, means, M2s)) / m


def combine_adds_into_an_M2(counts, means, M2s):
    m = sum(counts)
    mu = sum(c * mk for c, mk in zip(counts, means)) / m
    total = M2s[0]
    total += sum(c * (mk - mu) ** 2 for c, mk in zip(counts, means))  # total is the caller's M2s[0]
    for M2 in M2s[1:]:
        total += M2
    return mu, total / m


def combine_chan_merges_into_the_first_device(counts, means, M2s):
    n, mu, M2 = counts[0], means[0], M2s[0].copy()
    for n_b, mu_b, M2_b in zip(counts[1:], means[1:], M2s[1:]):
        delta = mu_b - mu
        M2 += M2_b + delta**2 * n * n_b / (n + n_b)
        mu += delta * n_b / (n + n_b)  # mu is the caller's means[0]
        n += n_b
    return mu.copy(), M2 / n


def combine_pops_the_lists(counts, means, M2s):
    n, mu, M2 = counts.pop(0), means.pop(0), M2s.pop(0)
    while counts:
        n_b, mu_b, M2_b = counts.pop(0), means.pop(0), M2s.pop(0)
        delta = mu_b - mu
        mu, M2, n = mu + delta * n_b / (n + n_b), M2 + M2_b + delta**2 * n * n_b / (n + n_b), n + n_b
    return mu, M2 / n


@pytest.mark.parametrize("fn, match", [
    (combine_centres_means_in_place, r"changed `means\[0\]` in place"),
    (combine_adds_into_an_M2, r"changed `M2s\[0\]` in place"),
    (combine_chan_merges_into_the_first_device, r"changed `means\[0\]` in place"),
    (combine_pops_the_lists, r"changed `counts` in place \(it held 3 items; now 0\).*`\.pop\(\)`"),
])  # fmt: skip
def test_combine_refuses_a_right_result_that_changed_the_callers_lists(fn, match):
    fails_with(checks.check_combine_statistics, fn, match)


def test_every_catalogued_mistake_of_notebook_08_has_a_test_here():
    import ast

    patterns = [node.value.split("Likely mistake: ")[-1] for node in ast.walk(ast.parse(open(__file__).read()))
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_a_mistake(node.value)]  # fmt: skip
    for mistake in checks.FOLD_MISTAKES + checks.COMBINE_MISTAKES:
        assert any(re.match(p, mistake.message) for p in patterns), f"no test names: {mistake.message}"


@pytest.mark.parametrize("check", [checks.check_fold_batchnorm, checks.check_combine_statistics])
def test_a_check_given_something_else_says_what_it_takes(check):
    score, said = checks.verdict(check, "fold_batchnorm(W, b)")
    assert score == 0 and f"{check.__name__} takes your function itself" in said


def test_unfinished_code_scores_zero():
    def todo(*args, **kwargs):
        raise NotImplementedError

    for check in (checks.check_fold_batchnorm, checks.check_combine_statistics):
        assert checks.verdict(check, todo)[0].status == "unwritten"


# --- the notebook's inline questions ---------------------------------------------------------


def test_fold_question_is_decided_by_the_measured_difference():
    score, said = checks.verdict(lambda p: check_prediction("08-fold", p, observed="b"), "b")
    assert score == 1 and "float32 keeps about 7" in said
    score, said = checks.verdict(lambda p: check_prediction("08-fold", p, observed="b"), "a")
    assert score == 0 and re.search(r"did not hold: you said \(a\) .*; the answer is \(b\) visible", said)


def test_devices_question():
    assert checks.verdict(lambda p: check_prediction("08-devices", p, observed="c"), "c")[0] == 1
    score, said = checks.verdict(lambda p: check_prediction("08-devices", p, observed="c"), "a")
    assert score == 0 and re.search(r"the answer is \(c\) far lower", said)


def _names_a_mistake(text):
    """A string of this file that expects a named mistake: "Likely mistake: " and at least a few words of its message."""
    return len(text.split("Likely mistake: ")[-1]) >= 12 if "Likely mistake: " in text else False
