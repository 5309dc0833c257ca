"""Inline questions: a prediction held, did not hold, or was never given; each scores its point or 0, and never raises."""

import pytest

from bn_helpers import quiz
from bn_helpers.checks import verdict
from bn_helpers.quiz import Prediction, check_prediction


@pytest.fixture
def questions(monkeypatch):
    monkeypatch.setitem(quiz.PREDICTIONS, "t-choice", Prediction({"a": "faster", "b": "slower"}, "b", "Because."))
    monkeypatch.setitem(quiz.PREDICTIONS, "t-number", Prediction(None, 2.0, "Twice.", tolerance=0.25))
    monkeypatch.setitem(quiz.PREDICTIONS, "t-observed", Prediction({"a": "one", "b": "two"}, None, "Measured."))


def ask(key, prediction, **observed):
    return verdict(lambda p: check_prediction(key, p, **observed), prediction)


def test_a_held_prediction_prints_why_and_scores_its_point(questions):
    assert ask("t-choice", " (B) ") == (1, "Your prediction held: (b) slower. Because.\n")
    score, said = ask("t-number", 2.2)
    assert (score, score.of, score.status, said) == (1, 1, "right", "Your prediction held: 2.2. Twice.\n")


def test_a_wrong_prediction_scores_zero_with_the_answer_and_does_not_stop_the_notebook(questions):
    score, said = ask("t-choice", "a")
    assert (score, score.status) == (0, "wrong")
    assert said == "Your prediction did not hold: you said (a) faster; the answer is (b) slower. Because.\n"
    assert ask("t-number", 2.3)[1] == "Your prediction did not hold: you said 2.3; the answer is 2 (within 0.25). Twice.\n"


@pytest.mark.parametrize("missing", [None, ..., "", "  "])
def test_no_prediction_scores_zero_and_gives_no_explanation(questions, missing):
    score, said = ask("t-choice", missing)
    assert (score, score.status) == (0, "unwritten")
    assert said.startswith("No prediction recorded yet") and "Because" not in said


def test_the_experiment_decides(questions):
    assert ask("t-observed", "b", observed="b")[0] == 1
    score, said = ask("t-observed", "b", observed="a")
    assert score == 0 and "the answer is (a) one" in said
    with pytest.raises(ValueError, match="observed"):  # the notebook's own mistake, not the learner's: it raises
        check_prediction("t-observed", "b")


def test_bad_answers_and_keys(questions):
    assert ask("t-choice", "c") == (0, "Answer with one of the letters a, b; got 'c'.\n")
    assert ask("t-number", "two") == (0, "Answer with a number; got 'two'.\n")
    with pytest.raises(ValueError, match="key must name an inline question"):
        check_prediction("nope", "a")
