"""03's third exercise, the mini-batch loop: the right loop passes, each mistake real learners make is named."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import train_minibatch_gd
from bn_helpers.checks import check_train_minibatch_gd, verdict


def loop(order="epoch", last=True, update="all", step_scale=None, full_batch=False, columns=True, rebind=False,
         returns="losses"):  # fmt: skip
    """A learner's loop, written out as a learner would; the options are the ways learners get it wrong."""

    def train_minibatch_gd(loss_and_grads, params, X, y, learning_rate, batch_size, epochs, rng):
        m = X.shape[1]
        losses = []
        if order == "once":
            shuffled = rng.permutation(m)
        for epoch in range(epochs):
            if order == "epoch":
                shuffled = rng.permutation(m)
            elif order == "none":
                shuffled = np.arange(m)
            elif order == "separate":
                shuffled, for_y = rng.permutation(m), rng.permutation(m)
            starts = [0] if full_batch else range(0, m if last else m - m % batch_size, batch_size)
            for start in starts:
                if order == "per_batch":
                    idx = rng.permutation(m)[:batch_size]
                    idx_y = idx
                else:
                    stop = m if full_batch else start + batch_size
                    idx = shuffled[start:stop]
                    idx_y = for_y[start:stop] if order == "separate" else idx
                X_t = X[:, idx] if columns else X[idx]
                loss, grads = loss_and_grads(X_t, y[idx_y])
                for name in params:
                    if update == "W" and not name.startswith("W"):
                        continue
                    step = learning_rate * grads[name]
                    if step_scale == "batch":
                        step = step / batch_size
                    if rebind:
                        params[name] = params[name] - step
                    elif update == "ascent":
                        params[name] += step
                    else:
                        params[name] -= step
                losses.append(loss)
        return None if returns == "none" else losses

    return train_minibatch_gd


def test_the_right_loop_passes_visible_and_hidden_cases():
    score, said = verdict(check_train_minibatch_gd, loop())
    assert score == 3 and "right in all 3 cases" in said
    for seed in (1, 2, 3):
        score, said = verdict(lambda fn: check_train_minibatch_gd(fn, hidden=seed), loop())
        assert score == 3, said
    assert verdict(check_train_minibatch_gd, train_minibatch_gd)[0] == 0  # the package's own loop is refused


@pytest.mark.parametrize("options, words", [
    (dict(order="none"), "your loop does not shuffle"),
    (dict(order="once"), "your loop shuffles once, before the epochs"),
    (dict(order="separate"), "shuffled by two different permutations"),
    (dict(order="per_batch"), "draws a new permutation for every mini-batch"),
    (dict(last=False), "skips the last, smaller mini-batch"),
    (dict(update="W"), "updates only the W's"),
    (dict(update="ascent"), "steps up the gradient"),
    (dict(step_scale="batch"), "batch_size times too small"),
    (dict(full_batch=True), "one step per epoch on all the examples"),
    (dict(rebind=True), "is a new array after your loop"),
    (dict(returns="none"), "your loop returns None"),
    (dict(columns=False), "X holds one example per column"),
])  # fmt: skip
def test_each_mistake_is_named(options, words):
    score, said = verdict(check_train_minibatch_gd, loop(**options))
    assert score < 3 and words in said, said
    assert said.count("Likely mistake") <= 1, said  # one mistake, one name


def test_an_unwritten_loop_gets_zero_and_says_so():
    def train_minibatch_gd(loss_and_grads, params, X, y, learning_rate, batch_size, epochs, rng):
        raise NotImplementedError()

    score, said = verdict(check_train_minibatch_gd, train_minibatch_gd)
    assert score == 0 and "train_minibatch_gd is not written yet" in said
