"""The lecture's self-check question on gamma and beta, with feedback per statement."""

from __future__ import annotations

from typing import NamedTuple


class Statement(NamedTuple):
    text: str
    true: bool
    why: str


QUESTION = "Which of these statements about batch norm's gamma and beta are true?"

STATEMENTS = (
    Statement(
        "They can be learned with Adam, gradient descent with momentum or RMSprop, not only with gradient descent.",
        True,
        "They are parameters like W: backprop gives dgamma and dbeta, and any optimizer can use them.",
    ),
    Statement(
        "They are hyperparameters of the algorithm, which we tune by random sampling.",
        False,
        "They are learned by gradient-based optimization, not searched over like a learning rate.",
    ),
    Statement(
        "Their optimal values are gamma = sqrt(sigma^2 + eps) and beta = mu.",
        False,
        "Those values undo the normalization exactly; they are one possible setting, and training "
        "finds whatever values lower the cost.",
    ),
    Statement(
        "They set the mean and variance of the layer's linear variable z_tilde.",
        True,
        "z_tilde = gamma * z_norm + beta has mean beta and standard deviation |gamma| (up to eps).",
    ),
    Statement(
        "There is one global gamma and one global beta for each layer, shared by all its hidden units.",
        False,
        "Each unit has its own: gamma[l] and beta[l] have shape (n[l], 1).",
    ),
)


def grade(selected):
    """Feedback for one answer.

    Parameters
    ----------
    selected : sequence of bool, one per statement
        True where the learner ticked the statement as true.

    Returns
    -------
    list of ``(right, message)``, one per statement, and the number right.
    """
    selected = list(selected)
    if len(selected) != len(STATEMENTS) or not all(isinstance(s, bool) for s in selected):
        raise ValueError(f"selected must be {len(STATEMENTS)} booleans, one per statement; got {selected!r}")
    feedback = []
    for ticked, st in zip(selected, STATEMENTS):
        right = ticked == st.true
        verdict = "Right" if right else "Not quite"
        truth = "true" if st.true else "false"
        feedback.append((right, f"{verdict}: this statement is {truth}. {st.why}"))
    return feedback, sum(r for r, _ in feedback)
