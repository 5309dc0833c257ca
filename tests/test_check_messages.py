"""What a learner reads when a check fails: the message first, briefly, in words, with the learner's own frames only.

Each wrong function below is written the way a learner might write it; the
tests read the message as the learner sees it, in IPython as well. A check
never raises for the learner's code: it prints its verdict and returns the
points earned.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bn_helpers import activation_forward, batchnorm_forward, checks


def fails(check, *fns):
    """What a failing check prints (colours removed), after checking that it scored less than full marks."""
    score, said = checks.verdict(check, *fns)
    assert score.status == "wrong" and score < score.of, said
    return said


def right_forward(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    Z_norm = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)


# --- the message first, and no frame of the checks ----------------------------------------


def layer_passes_the_tuple_on(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde = batchnorm_forward(W @ A_prev, gamma, beta)  # (Z_tilde, cache), not unpacked
    return activation_forward(Z_tilde, activation)


def forward_eps_outside(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    Z_norm = (Z - mu) / (np.sqrt(var) + eps)
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)


def test_the_verdict_comes_first_with_no_frame_of_the_checks():
    lines = fails(checks.check_batchnorm_forward, forward_eps_outside).splitlines()
    # the case, the output that differs, the likely mistake, which cases fail, and the cache's tally
    assert lines[0].startswith("check_batchnorm_forward: wrong result in case") and len(lines) == 5
    assert lines[3].startswith("Wrong in 6 of 7 cases; also in 'm = 2 examples'; "), lines[3]
    assert lines[4] == "Your cache (Z_norm, var, gamma, eps) is wrong in 6 of the 7 cases too."


def forward_hard_coded_eps(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    Z_norm = (Z - mu) / np.sqrt(var + 1e-5)
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)


def test_every_case_runs_and_the_score_is_the_share_of_cases_right():
    score, said = checks.verdict(checks.check_batchnorm_forward, forward_hard_coded_eps)
    assert said.startswith("check_batchnorm_forward: wrong result in case 'eps = 0.1'.")
    assert said.endswith("\nWrong in 1 of 7 cases; the others are right.\n"
                         "Your cache (Z_norm, var, gamma, eps) is wrong in 1 of the 7 cases too.\n")
    # Z_tilde and the cache are each right in 6 of the 7 cases: 12 of 14, of 2 points
    assert (score, score.of) == (round(2 * 12 / 14, 2), 2) and repr(score) == "1.71"  # the text nbgrader reads
    said = fails(checks.check_layer_forward, layer_passes_the_tuple_on)  # raises in every case
    assert "Wrong in 4 of 4 cases; also in '5 inputs, 2 units, m = 2, sigmoid'; " in said


def test_when_the_learners_code_raises_its_own_frames_follow_the_message():
    said = fails(checks.check_layer_forward, layer_passes_the_tuple_on)
    first, rest = said.split("\n", 1)
    assert "check_layer_forward: case '4 inputs, 3 units, 6 examples, ReLU': your function raised " \
           "ValueError" in first  # fmt: skip
    assert "Did a tuple reach the activation? batchnorm_forward returns (Z_tilde, cache): unpack it" in first
    assert "Where your code raised ValueError:" in rest and "in layer_passes_the_tuple_on" in rest
    assert "bn_helpers/checks" not in rest  # the learner's frames and the library they called, not the checker


def test_an_interactive_shell_shows_the_message_and_the_points_and_goes_on(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.update(checks=checks, forward_eps_outside=forward_eps_outside)
    result = shell.run_cell("checks.check_batchnorm_forward(forward_eps_outside)")
    assert result.success and result.result.status == "wrong"  # no exception: Run All goes on
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert out.startswith("check_batchnorm_forward: wrong result in case"), out
    assert "Traceback" not in out and "core.py" not in out
    markdown = shell.display_formatter.format(result.result)[0]["text/markdown"]
    assert markdown == "**0.29 of 2 points**"


# --- an output of the wrong kind, said in words --------------------------------------------


def forward_cache_first(Z, gamma, beta, eps=1e-5):
    Z_tilde, cache = right_forward(Z, gamma, beta, eps)
    return cache, Z_tilde


def layer_keeps_only_batchnorms_cache(A_prev, W, gamma, beta, activation="relu"):
    Z_tilde, cache = batchnorm_forward(W @ A_prev, gamma, beta)
    return activation_forward(Z_tilde, activation), cache


def inference_forgets_return(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    gamma * (Z - running_mean) / np.sqrt(running_var + eps) + beta


@pytest.mark.parametrize("check, fn, match", [
    (checks.check_batchnorm_forward, forward_cache_first,
     r"batchnorm_forward must return \(Z_tilde, cache\), in that order; got a tuple whose first item is a tuple of 4 "
     r"\(an array of shape \(3, 5\), .*\): did you return `\(cache, Z_tilde\)`\?"),
    (checks.check_layer_forward, layer_keeps_only_batchnorms_cache,
     r"layer_forward's cache must be the tuple \(A_prev, W, bn_cache, Z_tilde, A, activation\); got a BatchNormCache\."
     r"\nLikely mistake: your cache is batchnorm_forward's cache alone"),
    (checks.check_batchnorm_inference, inference_forgets_return,
     r"Z_tilde: expected an array of shape \(3, 5\), got None\. Does your function end with `return \.\.\.`\?"),
])  # fmt: skip
def test_an_output_of_the_wrong_kind_is_said_in_words(check, fn, match):
    said = fails(check, fn)
    assert re.search(match, said), said


# --- an unfinished exercise says it is unfinished ----------------------------------------------


def test_an_unwritten_function_is_named_as_unwritten_and_scores_zero():
    def batchnorm_backward(dZ_tilde, cache):
        raise NotImplementedError()

    def batchnorm_forward(Z, gamma, beta, eps=1e-5):
        raise NotImplementedError()

    for check, fns, name in [(checks.check_batchnorm_backward, (right_forward, batchnorm_backward), "batchnorm_backward"),
                             (checks.check_batchnorm_backward, (batchnorm_forward, batchnorm_backward), "batchnorm_backward"),
                             (checks.check_batchnorm_forward, (batchnorm_forward,), "batchnorm_forward")]:  # fmt: skip
        score, said = checks.verdict(check, *fns)
        assert (score, score.status) == (0, "unwritten")
        assert said == (f"{check.__name__}: {name} is not written yet (it raises NotImplementedError). Write it in "
                        f"place of `raise NotImplementedError()`, run its cell, then run this one again.\n")  # fmt: skip


# --- near misses show the digits that differ ----------------------------------------------------


def test_a_near_miss_shows_where_the_digits_differ():
    message = fails(checks.check_batchnorm_forward, forward_eps_outside)
    line = next(line for line in message.splitlines() if line.startswith("Z_tilde:"))
    shown = re.findall(r"\[[^\]]*\]", line)
    assert shown[0] == shown[1]  # equal to the four digits of the usual display ...
    expected, got = re.search(r"largest difference is at \(\d+, \d+\): expected (\S+), got (\S+)\.", line).groups()
    assert expected != got  # ... so the worst element is printed with enough digits to differ
    assert float(expected) == pytest.approx(float(got), rel=1e-4)


# --- errors numpy words for experts: said for learners ------------------------------------------


def fold_compares_b_with_none(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    if b == None:  # noqa: E711 -- the learner's way
        b = np.zeros((W.shape[0], 1))
    s = gamma / np.sqrt(running_var + eps)
    return s * W, s * (b - running_mean) + beta


def ln_statistics_as_rows(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(axis=0), Z.var(axis=0)  # shape (m,): lines up with the rows only by accident
    return gamma * (Z - mu[:, None]) / np.sqrt(var[:, None] + eps) + beta, None


def gn_without_keepdims(X, gamma, beta, groups, eps=1e-5):
    m, n_H, n_W, n_C = X.shape
    Xg = X.reshape(m, n_H, n_W, groups, n_C // groups)
    mu, var = Xg.mean(axis=(1, 2, 4)), Xg.var(axis=(1, 2, 4))  # shape (m, groups): no longer lines up with Xg
    return gamma * ((Xg - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


@pytest.mark.parametrize("check, fn, match", [
    (checks.check_fold_batchnorm, fold_compares_b_with_none,
     r"your function raised ValueError: The truth value of an array .*test for None with `is None`"),
    (checks.check_layernorm_forward, ln_statistics_as_rows,
     r"raised ValueError: operands could not be broadcast.*layer norm's statistics are one per example, shape \(1, m\)"),
    (checks.check_groupnorm_forward, gn_without_keepdims,
     r"raised ValueError: operands could not be broadcast.*group norm's statistics live on X viewed as "
     r"\(m, n_H, n_W, groups, n_C // groups\)"),
])  # fmt: skip
def test_numpys_errors_get_the_hint_of_their_check(check, fn, match):
    message = fails(check, fn)
    assert re.search(match, message), message
    assert "a per-unit (or per-feature) statistic has shape (n, 1)" not in message  # batch norm's hint is not theirs


# --- hidden cases: drawn when the check runs, silent when right ---------------------------------


def test_hidden_cases_are_silent_when_right_and_say_their_seed_when_wrong():
    score, said = checks.verdict(lambda f: checks.check_batchnorm_forward(f, hidden=True), right_forward)
    assert (score, said) == (2, "")  # nothing that varies from run to run
    score, said = checks.verdict(lambda f: checks.check_batchnorm_forward(f, hidden=7), forward_hard_coded_eps)
    assert score == round(2 * 12 / 14, 2)
    assert "Wrong in 1 of 7 hidden cases; the others are right. These cases were drawn at random when this cell ran, " \
           "of the kinds the visible check tries; hidden=7 draws the same ones again." in said  # fmt: skip
    again = checks.verdict(lambda f: checks.check_batchnorm_forward(f, hidden=7), forward_hard_coded_eps)[1]
    assert again == said  # the seed reproduces the draw
    with pytest.raises(TypeError, match="hidden must be False, True or a seed"):
        checks.check_batchnorm_forward.__wrapped__(right_forward, hidden=-1)


def test_hidden_cases_differ_from_the_visible_ones_and_between_runs():
    from bn_helpers.checks.core import drawn
    from bn_helpers.checks.implementing_batch_norm import _forward_cases

    visible, first, second = drawn(_forward_cases), drawn(_forward_cases, True), drawn(_forward_cases, True)
    assert [c.name for c in visible][1:] == [c.name for c in first][1:]  # the same kinds of case
    n, m = first[0].args[0].shape  # the first is named for its shape, drawn too
    assert first[0].name == f"{n} units x {m} examples, non-trivial gamma and beta"
    assert not np.array_equal(visible[0].args[0], first[0].args[0])
    assert first.seed != second.seed and not np.array_equal(first[0].args[0], second[0].args[0])


def test_no_hidden_case_repeats_a_visible_one():
    """Memorising every visible answer earns nothing on hidden cases: no hidden value is fixed."""
    from bn_helpers.checks.at_test_time import _ewa_cases, _ewa_ref

    table = [(case.args, _ewa_ref(*case.args, **case.kwargs)[0]) for case in _ewa_cases()]

    def ewa_lookup(average, value, beta=0.9):
        for (a, v), answer in table:
            if np.shape(a) == np.shape(average) and np.array_equal(a, average) and np.array_equal(v, value):
                return answer
        return np.full(np.shape(value), np.nan)  # no answer to look up

    assert checks.verdict(checks.check_ewa_update, ewa_lookup)[0] == 1  # the visible check is fooled
    for seed in range(20):
        assert checks.verdict(lambda f: checks.check_ewa_update(f, hidden=seed), ewa_lookup)[0] == 0
