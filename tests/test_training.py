"""Mini-batches and the training loop."""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers import (
    MLP,
    Adam,
    GradientDescent,
    iterate_minibatches,
    num_minibatches,
    train,
)


def test_minibatches_cover_every_example_once(rng):
    X = np.arange(2 * 23).reshape(2, 23).astype(float)
    y = np.arange(23)
    batches = list(iterate_minibatches(X, y, 5, rng))
    assert [b[0].shape[1] for b in batches] == [5, 5, 5, 5, 3]
    assert len(batches) == num_minibatches(23, 5)
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen) == list(range(23))
    for Xb, yb in batches:  # columns move together with their labels
        np.testing.assert_array_equal(Xb[0], 2 * 0 + yb)
    dropped = list(iterate_minibatches(X, y, 5, rng, drop_last=True))
    assert [b[0].shape[1] for b in dropped] == [5, 5, 5, 5] and num_minibatches(23, 5, drop_last=True) == 4


def test_minibatches_are_reproducible_and_reshuffled():
    X, y = np.zeros((1, 10)), np.arange(10)
    first = [yb.tolist() for _, yb in iterate_minibatches(X, y, 4, np.random.default_rng(7))]
    again = [yb.tolist() for _, yb in iterate_minibatches(X, y, 4, np.random.default_rng(7))]
    assert first == again
    rng = np.random.default_rng(7)
    e1 = [yb.tolist() for _, yb in iterate_minibatches(X, y, 4, rng)]
    e2 = [yb.tolist() for _, yb in iterate_minibatches(X, y, 4, rng)]
    assert e1 != e2  # a new order each epoch from the same generator


def test_training_with_batchnorm_learns_digits(digits):
    Xtr, ytr, Xte, yte = digits
    rng = np.random.default_rng(0)
    model = MLP([64, 32, 32, 10], batchnorm=True, rng=rng)
    h = train(model, Adam(0.01), Xtr, ytr, epochs=5, batch_size=64, rng=rng, X_val=Xte, y_val=yte)
    steps_per_epoch = num_minibatches(Xtr.shape[1], 64)
    np.testing.assert_array_equal(h["step"], np.arange(6) * steps_per_epoch)
    assert len(h["batch_loss"]) == 5 * steps_per_epoch
    assert h["train_loss"][-1] < 0.2 * h["train_loss"][0]
    assert h["val_acc"][-1] > 0.9
    assert not h["diverged"]


def test_full_batch_training_is_deterministic(digits):
    Xtr, ytr, _, _ = digits

    def run():
        model = MLP([64, 16, 10], batchnorm=True, rng=np.random.default_rng(1))
        return train(model, GradientDescent(0.5), Xtr, ytr, epochs=4)

    a, b = run(), run()
    np.testing.assert_array_equal(a["train_loss"], b["train_loss"])
    assert len(a["step"]) == 5  # step 0 and one evaluation per epoch


def test_eval_every_and_callback(digits):
    Xtr, ytr, _, _ = digits
    rng = np.random.default_rng(0)
    calls = []
    model = MLP([64, 16, 10], batchnorm=False, rng=rng)
    h = train(
        model, Adam(0.01), Xtr[:, :200], ytr[:200], epochs=2, batch_size=50, rng=rng, eval_every=3,
        callback=lambda step, m: calls.append((step, m is model)),
    )  # fmt: skip
    assert calls == [(s, True) for s in range(1, 9)]
    np.testing.assert_array_equal(h["step"], [0, 3, 6, 8])  # every 3 steps, and always the last


def test_a_large_eval_every_evaluates_only_the_start_and_the_end(digits):
    Xtr, ytr, Xte, yte = digits
    model = MLP([64, 16, 10], batchnorm=True, rng=np.random.default_rng(0))
    h = train(model, Adam(0.01), Xtr, ytr, epochs=3, batch_size=100, rng=np.random.default_rng(1),
              X_val=Xte, y_val=yte, eval_every=10**9)  # fmt: skip
    np.testing.assert_array_equal(h["step"], [0, 39])  # 13 batches of 1,297 examples, 3 epochs
    assert h["val_acc"][-1] == model.evaluate(Xte, yte)[1]  # the end is the trained model


def test_eval_train_false_evaluates_the_validation_set_only(digits):
    Xtr, ytr, Xte, yte = digits

    def run(**kw):
        model = MLP([64, 16, 10], batchnorm=True, rng=np.random.default_rng(0))
        evaluated = []
        evaluate = model.evaluate
        model.evaluate = lambda X, y: evaluated.append(X.shape[1]) or evaluate(X, y)
        h = train(model, Adam(0.01), Xtr, ytr, epochs=2, batch_size=100, rng=np.random.default_rng(1),
                  eval_every=10, **kw)  # fmt: skip
        return h, evaluated, model

    full, full_sizes, _ = run(X_val=Xte, y_val=yte)
    val_only, val_sizes, model = run(X_val=Xte, y_val=yte, eval_train=False)
    assert list(val_only) == ["step", "batch_loss", "val_loss", "val_acc", "diverged"]
    assert val_sizes == [Xte.shape[1]] * 4 and full_sizes == [Xtr.shape[1], Xte.shape[1]] * 4  # steps 0, 10, 20, 26
    for key in ("step", "batch_loss", "val_loss", "val_acc"):
        np.testing.assert_array_equal(val_only[key], full[key])  # the same run: evaluating changes nothing
    assert val_only["val_acc"][-1] == model.evaluate(Xte, yte)[1]
    nothing, none_evaluated, _ = run(eval_train=False)
    assert none_evaluated == [] and list(nothing) == ["step", "batch_loss", "diverged"]
    np.testing.assert_array_equal(nothing["batch_loss"], full["batch_loss"])


def test_divergence_is_detected_and_reported(digits):
    Xtr, ytr, _, _ = digits
    rng = np.random.default_rng(0)
    # A deep linear network with a huge learning rate: the weights grow geometrically.
    model = MLP([64, 64, 64, 10], batchnorm=False, rng=rng, activation="linear")
    h = train(model, GradientDescent(10.0), Xtr, ytr, epochs=50, batch_size=128, rng=rng)
    assert h["diverged"]
    assert len(h["batch_loss"]) < 50 * num_minibatches(Xtr.shape[1], 128)
    assert not np.isfinite(h["batch_loss"][-1]) or any(not np.isfinite(p).all() for p in model.params.values())


def test_batchnorm_needs_two_examples_per_batch(rng):
    """A last mini-batch of one example fails loudly, and drop_last avoids it."""
    X, y = rng.standard_normal((3, 9)), rng.integers(0, 2, 9)
    model = MLP([3, 4, 2], batchnorm=True, rng=rng)
    with pytest.raises(ValueError, match="at least 2 examples"):
        train(model, Adam(0.01), X, y, epochs=1, batch_size=4, rng=rng)
    h = train(model, Adam(0.01), X, y, epochs=1, batch_size=4, rng=rng, drop_last=True)
    assert len(h["batch_loss"]) == 2


def test_max_steps_stops_mid_epoch(digits):
    Xtr, ytr, _, _ = digits
    rng = np.random.default_rng(0)
    model = MLP([64, 16, 10], batchnorm=True, rng=rng)
    h = train(model, Adam(0.01), Xtr, ytr, epochs=10, batch_size=64, rng=rng, max_steps=25, eval_every=10)
    assert len(h["batch_loss"]) == 25
    np.testing.assert_array_equal(h["step"], [0, 10, 20, 25])


def test_the_lectures_loop_is_train_with_gradient_descent_step_for_step(digits):
    """train_minibatch_gd (03's reference) takes the steps train takes with GradientDescent, on the same mini-batches."""
    from bn_helpers import GradientDescent, train_minibatch_gd

    X, y, *_ = digits
    a = MLP([64, 16, 10], batchnorm=True, rng=np.random.default_rng(1))
    b = MLP([64, 16, 10], batchnorm=True, rng=np.random.default_rng(1))
    losses = train_minibatch_gd(a.loss_and_grads, a.params, X, y, 0.5, 100, 2, np.random.default_rng(4))
    h = train(b, GradientDescent(0.5), X, y, epochs=2, batch_size=100, rng=np.random.default_rng(4), progress=False)
    assert losses.shape == (2 * 13,)  # 1,297 examples: 12 batches of 100 and one of 97, per epoch
    np.testing.assert_array_equal(losses, h["batch_loss"])
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    with pytest.raises(TypeError, match="loss_and_grads must be a function"):
        train_minibatch_gd(a.params, a.params, X, y, 0.5, 100, 1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="params must be a dict of float arrays"):
        train_minibatch_gd(a.loss_and_grads, [a.params["W1"]], X, y, 0.5, 100, 1, np.random.default_rng(0))
