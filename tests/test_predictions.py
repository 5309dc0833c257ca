"""Inline questions: a prediction held, did not hold, or was never given."""

import pytest

from bn_helpers import quiz
from bn_helpers.quiz import Prediction, check_prediction


@pytest.fixture
def questions(monkeypatch):
    monkeypatch.setitem(quiz.PREDICTIONS, "t-choice", Prediction({"a": "faster", "b": "slower"}, "b", "Because."))
    monkeypatch.setitem(quiz.PREDICTIONS, "t-number", Prediction(None, 2.0, "Twice.", tolerance=0.25))
    monkeypatch.setitem(quiz.PREDICTIONS, "t-observed", Prediction({"a": "one", "b": "two"}, None, "Measured."))


def test_a_held_prediction_prints_why(questions, capsys):
    assert check_prediction("t-choice", " (B) ") is None  # a cell ending with the call shows no Out[]
    assert capsys.readouterr().out == "Your prediction (b) slower held. Because.\n"
    check_prediction("t-number", 2.2)
    assert capsys.readouterr().out == "Your prediction 2.2 held. Twice.\n"


def test_a_wrong_prediction_fails_with_the_answer(questions):
    with pytest.raises(AssertionError, match=r"\(a\) faster did not hold: the answer is \(b\) slower. Because."):
        check_prediction("t-choice", "a")
    with pytest.raises(AssertionError, match=r"did not hold: the answer is 2 \(within 0.25\)"):
        check_prediction("t-number", 2.3)


@pytest.mark.parametrize("missing", [None, ..., "", "  "])
def test_no_prediction_gives_no_explanation(questions, missing):
    with pytest.raises(AssertionError, match="No prediction recorded") as err:
        check_prediction("t-choice", missing)
    assert "Because" not in str(err.value)


def test_the_experiment_decides(questions):
    check_prediction("t-observed", "b", observed="b")
    with pytest.raises(AssertionError, match="the answer is \\(a\\) one"):
        check_prediction("t-observed", "b", observed="a")
    with pytest.raises(ValueError, match="observed"):
        check_prediction("t-observed", "b")


def test_bad_answers_and_keys(questions):
    with pytest.raises(AssertionError, match="one of the letters a, b"):
        check_prediction("t-choice", "c")
    with pytest.raises(AssertionError, match="a number"):
        check_prediction("t-number", "two")
    with pytest.raises(ValueError, match="key must name an inline question"):
        check_prediction("nope", "a")
