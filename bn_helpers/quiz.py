"""The lecture's self-check question on gamma and beta, with feedback per statement."""

from __future__ import annotations

from typing import NamedTuple

from .checks.core import PLAIN, RED, Score


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


# --- Inline questions: predict, then run ----------------------------------------------
#
# A notebook asks a question in markdown and the learner records a prediction in an
# answer cell (a letter, or a number) before the experiment runs. After the
# experiment, a locked cell calls ``check_prediction(key, prediction, observed)``:
# it says whether the prediction held and why. The right answer and the
# explanation live here, not in the notebook, so neither is on screen before the
# learner has answered.


class Prediction(NamedTuple):
    """An inline question's key.

    ``choices`` maps each letter to its text for a multiple-choice question,
    or is ``None`` for a numeric one. ``answer`` is the right letter, or the
    right number; ``None`` means the experiment decides: the ``observed``
    value passed to :func:`check_prediction` is the answer. ``tolerance`` is
    the absolute error a numeric prediction may have. ``why`` explains the
    result and is shown only after an answer is given.
    """

    choices: dict | None
    answer: object
    why: str
    tolerance: float | None = None


PREDICTIONS: dict[str, Prediction] = {}


def _check_key(key):
    if key not in PREDICTIONS:
        raise ValueError(f"key must name an inline question ({', '.join(sorted(PREDICTIONS))}); got {key!r}")
    return PREDICTIONS[key]


def check_prediction(key, prediction, observed=None):
    """Say whether the learner's ``prediction`` for question ``key`` held, and why; 1 point if it did, else 0.

    Prints the explanation when it held; when it did not, says so in red and
    gives the answer with the explanation; when no prediction was recorded
    (``None``, ``...`` or an empty string), or it is not one of the choices,
    says what to write, without the explanation. Never raises for the
    learner's answer, so Run All goes on: a wrong guess is a normal outcome of
    predicting. Returns a :class:`~bn_helpers.checks.Score` (the grade cell's
    value, which nbgrader reads). ``observed`` is what the experiment measured,
    for a question whose answer the experiment decides.
    """
    q = _check_key(key)
    truth = q.answer if q.answer is not None else observed
    if truth is None:
        raise ValueError(f"question {key!r} is decided by the experiment: pass observed=<what it measured>")
    if prediction is None or prediction is ... or (isinstance(prediction, str) and not prediction.strip()):
        return _scored(False, "unwritten", "No prediction recorded yet: write your answer in the cell above the "
                                           "experiment, run it, then run the experiment and this cell.")  # fmt: skip
    if q.choices is not None:
        letter = str(prediction).strip().lower().strip("()")
        if letter not in q.choices:
            return _scored(False, "wrong", f"Answer with one of the letters {', '.join(q.choices)}; got {prediction!r}.")
        held = letter == str(truth).lower()
        said = f"({letter}) {q.choices[letter]}"
        right = f"({str(truth).lower()}) {q.choices[str(truth).lower()]}"
    else:
        try:
            value = float(prediction)
        except (TypeError, ValueError):
            return _scored(False, "wrong", f"Answer with a number; got {prediction!r}.")
        held = abs(value - float(truth)) <= q.tolerance
        said, right = f"{value:g}", f"{float(truth):.3g} (within {q.tolerance:g})"
    if not held:
        return _scored(False, "wrong", f"Your prediction did not hold: you said {said}; the answer is {right}.", q.why)
    return _scored(True, "right", f"Your prediction held: {said}.", q.why)


def _scored(held, status, verdict, why=""):
    """Print the verdict (red when the point is lost) and return the question's score: 1 point, or 0."""
    print((verdict if held else f"{RED}{verdict}{PLAIN}") + (f" {why}" if why else ""))
    return Score(1 if held else 0, 1, status)


# --- 01: normalizing inputs ------------------------------------------------------------

PREDICTIONS["01-scale-ratio"] = Prediction(
    {"a": "about the same (less than 1.5 times as many)", "b": "1.5 to 5 times as many",
     "c": "5 to 20 times as many", "d": "more than 20 times as many"},
    None,
    "A feature 3 times wider has a curvature 3^2 = 9 times larger, so the condition number grows about 9 times "
    "(115 to 1,036 here). At the best fixed rate every direction shrinks by about 1 - 2 / kappa per step, so "
    "the steps grow in proportion to kappa: 398 to 3,579, about 9 times as many. The normalized run does not "
    "change at all.",
)  # fmt: skip

PREDICTIONS["01-own-stats"] = Prediction(
    {"a": "lower", "b": "about the same (within 20%)", "c": "higher"},
    None,
    "The weights were fitted to inputs normalized with the training sample's mean and variance. The test set's "
    "own mean and variance differ from those by sampling error, so its own statistics move every input a little, "
    "in a way the weights were not fitted to: the error was higher in every one of the 200 draws. The training "
    "set's statistics are the ones that belong to the model.",
)  # fmt: skip


# --- 02: implementing batch norm -------------------------------------------------------

PREDICTIONS["02-two-examples"] = Prediction(
    {"a": "-1 and +1 in each unit (to 3 decimals)",
     "b": "values that depend on how far apart each unit's two values are",
     "c": "0 and 0 in each unit: two examples have no spread to normalize"},
    None,
    "With two examples, z - mu is -d/2 and +d/2 (d the distance between them) and sigma is d/2, so z_norm is -1 and "
    "+1 (times sqrt(sigma^2 / (sigma^2 + eps)), which rounds to 1 at 3 decimals unless the two values are closer "
    "together than about 0.2). At m = 2 batch norm keeps only which example is the larger: notebook 04 shows what "
    "that does to training.",
)  # fmt: skip

PREDICTIONS["02-row-sums"] = Prediction(
    {"a": "dbeta, the sum of the same row of dZ_tilde", "b": "0, up to rounding", "c": "gamma times dbeta",
     "d": "numbers with no pattern, different for each dZ_tilde"},
    None,
    "Adding the same number c to every example of a unit moves mu by c and leaves z - mu, sigma^2 and so z_tilde "
    "unchanged: the loss does not change. The sum of a row of dZ is exactly the loss's rate of change under that "
    "move, so it is 0. That is also why a bias b before batch norm gets no gradient (notebook 03).",
)  # fmt: skip


# --- 03: fitting batch norm into a network ---------------------------------------------

PREDICTIONS["03-stall"] = Prediction(
    {"a": "the network without batch norm", "b": "the network with batch norm", "c": "both", "d": "neither"},
    None,
    "Without batch norm the network sits on a plateau near the loss of guessing for about its first 100 steps, "
    "before it starts to learn; with batch norm the loss falls from the first steps. Why one network stalls and the "
    "other does not is what the cells after the figure look into.",
)  # fmt: skip

PREDICTIONS["03-smallest-gradient"] = Prediction(
    {"a": "W[1], the first layer's", "b": "one in the middle, W[2] to W[4]", "c": "W[5], the output layer's",
     "d": "none: all five within a factor of 3"},
    None,
    "On its way down, the gradient is multiplied at each sigmoid layer by slopes of at most 0.25, and these weights "
    "(standard deviation 1/sqrt(n)) do not make up for it: the further a layer is from the loss, the smaller its "
    "gradient, and W[1] gets the smallest. With batch norm the five are of comparable size.",
)  # fmt: skip


# --- 04: mini-batches and optimizers -------------------------------------------------------

PREDICTIONS["04-momentum"] = Prediction(
    {"a": "momentum more than 2 points higher", "b": "within 2 points of each other",
     "c": "momentum more than 2 points lower"},
    None,
    "The course's momentum averages the gradients, v := 0.9 v + 0.1 dW, so on a steady gradient v settles at dW and "
    "each step is as long as gradient descent's at the same rate. With noisy mini-batch gradients the average cancels "
    "part of the noise, which changes the direction and shortens the steps; on this problem, in 630 steps, that was "
    "worth less than a point. (PyTorch's SGD(momentum=0.9) leaves out the 0.1, so at the same rate its steps are 10 "
    "times longer: compared that way, the two would differ in step length too.)",
)  # fmt: skip

PREDICTIONS["04-batch-size"] = Prediction(
    {"a": "none: it helps at every batch size from 2 up", "b": "2", "c": "4", "d": "8", "e": "16 or more"},
    None,
    "Here batch norm lowered the test accuracy at batches of 2 and 4, in every seed, and raised it from 8 up on "
    "average, at equal steps and at equal examples alike. With 2 examples every normalized value is -1 or +1 (the cells "
    "below show it): each unit tells the next layer only which of the two was larger (whether that or the noise of a "
    "gradient from 2 examples does the harm is what question 2 of On your own separates). With 4, the mean and variance "
    "of four numbers still move a lot from batch to batch (section 3's noise, about half of sigma for the mean), so every "
    "normalized value is noisy. From 8 up the noise is likely small enough for batch norm's benefits to win.",
)  # fmt: skip


# --- 05: why batch norm works ----------------------------------------------------------

PREDICTIONS["05-low-rate"] = Prediction(
    {"a": "within 5 points of each other", "b": "5 to 30 points apart", "c": "more than 30 points apart"},
    None,
    "At rate 0.1 the network without batch norm is still near chance after 210 steps (10.0 to 13.6% over the seeds), "
    "while the network with batch norm reaches 95.0 to 95.6%: at the smallest rate the gap is about as wide as at "
    "rate 8, where the plain network does not train at all. Its last hidden layer starts with inputs that barely "
    "differ between examples (a 15-85 width of 0.07 at step 0, printed under the table), since each sigmoid (slope at "
    "most 1/4) shrinks the differences about fourfold, and at a small rate it most likely does not get away from that "
    "start in 210 steps; batch norm scales every layer's signal back to unit variance from the first step.",
)  # fmt: skip

PREDICTIONS["05-scale"] = Prediction(
    {"a": "it grows 10 times", "b": "it stays the same", "c": "it shrinks 10 times", "d": "it shrinks 100 times"},
    "c",
    "Batch norm divides each unit's z by its standard deviation over the batch, so W x and 10 W x give the same z_norm "
    "and the same loss (2.5875 both times above, equal up to eps). The loss as a function of W[2] is flat along the "
    "direction of W[2], and by the chain rule its gradient at 10 W[2] is the gradient at W[2] divided by 10 (10.00 "
    "times smaller above). Not 100: a factor 1/c^2 appears only in how far a step turns the weights (a gradient c "
    "times smaller, on weights c times longer), as the next cells show.",
)  # fmt: skip


# --- 06: batch norm at test time -------------------------------------------------------

PREDICTIONS["06-closest-beta"] = Prediction(
    {"a": "beta = 0.5", "b": "beta = 0.9", "c": "beta = 0.99", "d": "beta = 0.999"},
    None,
    "A running average with weight beta rests on about the last 1 / (1 - beta) batches. With beta = 0.5 that is "
    "2 batches of 32 examples: a noisy estimate. With 0.99 and 0.999 it reaches back 100 and 1,000 steps, over "
    "batches computed with earlier, different weights, and at 0.999 two thirds of it (0.999^400 = 0.67) is still "
    "the starting value 0 after 400 steps: in layer 2, whose means are far from 0, it lags. beta = 0.9, about the last 10 batches, balances the two in a run of 400 steps, averaged over both layers: in "
    "layer 1, whose means are 0 whatever the weights, the largest beta is best; in layer 2, the smallest (the lines under "
    "the table).",
)  # fmt: skip

PREDICTIONS["06-pairs"] = Prediction(
    {"a": "within 5 points of it", "b": "5 to 20 points lower", "c": "more than 20 points lower"},
    None,
    "In training mode each pair is normalized with its own mean and variance, and with two examples every unit's "
    "normalized values are about -1 and +1 (unless its two values are nearly equal; notebook 02): each unit passes "
    "on only which of the two images gives it the larger value. Most of what tells the digits apart is lost, whatever the network learned.",
)  # fmt: skip


# --- 07: normalizing along other axes ---------------------------------------------------

PREDICTIONS["07-spatial-sets"] = Prediction(
    {"a": "4 x 3 x 3 x 6 = 216, one per entry", "b": "6, one per channel", "c": "54, one per channel and position",
     "d": "4, one per example"},
    "b",
    "Spatial batch norm keeps one mean and variance per channel, shared by every example and every position: a filter "
    "is the same at every position, so its output is normalized the same way everywhere, with one gamma and one beta "
    "per channel.",
)  # fmt: skip

PREDICTIONS["07-small-batch"] = Prediction(
    {"a": "batch norm, by a wide margin (more than 5 points)", "b": "layer norm or group norm, by a wide margin",
     "c": "none by a wide margin: all three within 5 points of each other"},
    None,
    "At a batch of 2, each channel's batch statistics in this network still pool 2 x 16 = 32 values (two images of "
    "4 x 4 positions), far more than the 2 values per statistic of the dense network that struggled in notebook 04: "
    "the likely reason batch norm held up here (section 5 trains that dense network). Layer and group norm never look "
    "at the batch at all.",
)  # fmt: skip


# --- notebook 08: batch norm after training --------------------------------------------

PREDICTIONS["08-fold"] = Prediction(
    {"a": "rounding-sized for float64 (below 1e-9)", "b": "visible (between 1e-9 and 1e-2) but it changes no prediction",
     "c": "larger than 1e-2, or it changes some predictions"},  # fmt: skip
    None,
    "Folding is exact algebra, so in float64 only rounding separates the two networks. float32 keeps about 7 "
    "significant digits: the folded weights and every product carry relative errors of about 1e-7, and over three "
    "layers, on logits that reach about 14 here, they move the logits by up to about 1e-5. That is visible, but far too "
    "little to change which class wins, unless two classes are within 1e-5 of each other.",
)

PREDICTIONS["08-devices"] = Prediction(
    {"a": "about the same as on one device (within 2 points)", "b": "a few points lower (2 to 10 points)",
     "c": "far lower (more than 10 points)"},  # fmt: skip
    None,
    "Each device normalizes its 2 examples with their own mean and variance: batch norm at batch size 2, whatever "
    "the total batch. With 2 examples every unit's normalized values are -1 and +1: they keep only which of the two "
    "is larger, so the next layer learns from one bit per unit and example: much as in notebook 04's tiny batches, "
    "although the gradient is averaged over all 32 examples. (In eval mode part of the drop may also come from the "
    "running averages: a batch of 2's variance is on average half the true one.)",
)


# --- what each experiment gives in the course's own run --------------------------------
# The answer each question's ``observed`` takes when the notebook runs, on every CPU
# and package set that strict nbval checks (the solutions' verdict cells say "held"
# there). Grading uses it instead of re-running the experiment (bn_helpers.grading).
MEASURED: dict[str, object] = {
    "01-scale-ratio": "c", "01-own-stats": "c",
    "02-two-examples": "a", "02-row-sums": "b",
    "03-stall": "a", "03-smallest-gradient": "a",
    "04-momentum": "b", "04-batch-size": "c",
    "05-low-rate": "c", "05-scale": "c",
    "06-closest-beta": "b", "06-pairs": "c",
    "07-spatial-sets": "b", "07-small-batch": "c",
    "08-fold": "b", "08-devices": "c",
}  # fmt: skip
