"""The training loop: mini-batches, an optimizer, and a history of loss and accuracy."""

from __future__ import annotations

import numpy as np

from ._validation import as_matrix, check_generator, check_int, check_labels, check_scalar
from .minibatches import iterate_minibatches, num_minibatches
from .optimizers import Optimizer
from .progress import ProgressBar

# Runs at least this long get a progress bar when progress=None.
PROGRESS_MIN_STEPS = 500


def train_minibatch_gd(loss_and_grads, params, X, y, learning_rate, batch_size, epochs, rng):
    """The lecture's loop, and nothing else: mini-batch gradient descent on every parameter.

    For each epoch, one random order of the ``m`` examples (``rng.permutation(m)``,
    drawn at the start of the epoch); then, for each mini-batch of
    ``batch_size`` columns in that order (the last one may be smaller): a
    forward and a backward pass, ``loss, grads = loss_and_grads(X_t, y_t)``,
    and ``params[name] -= learning_rate * grads[name]`` for every parameter
    (``W``, ``gamma``, ``beta``, ``b``), in place, so that whatever holds the
    arrays (a layer, ``loss_and_grads`` itself) sees the new values.

    Parameters
    ----------
    loss_and_grads : callable ``(X_t, y_t) -> (loss, grads)``, e.g. ``MLP.loss_and_grads``
        Computes with the current values of ``params``; ``grads`` has its names.
    params : dict of name -> float ndarray, updated in place
    X : ``(n_x, m)``, y : int ``(m,)``
    learning_rate : float > 0
    batch_size, epochs : int >= 1
    rng : np.random.Generator

    Returns
    -------
    ndarray ``(steps,)``: the mini-batch loss of every step, in training mode.
    :func:`train` is this loop with an optimizer, evaluation and a history.
    """
    if not callable(loss_and_grads):
        raise TypeError(f"loss_and_grads must be a function (X_t, y_t) -> (loss, grads), e.g. model.loss_and_grads; "
                        f"got {type(loss_and_grads).__name__}")  # fmt: skip
    if not isinstance(params, dict) or not all(isinstance(p, np.ndarray) and p.dtype.kind == "f" for p in params.values()):
        raise TypeError("params must be a dict of float arrays (updated in place), e.g. model.params")
    X = as_matrix(X, "X")
    y = check_labels(y, "y", X.shape[1])
    learning_rate = check_scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
    epochs = check_int(epochs, "epochs", low=1)
    losses = []
    for _ in range(epochs):
        for X_t, y_t in iterate_minibatches(X, y, batch_size, rng):
            loss, grads = loss_and_grads(X_t, y_t)
            for name, p in params.items():
                p -= learning_rate * grads[name]
            losses.append(loss)
    return np.array(losses, dtype=float)


def train(
    model,
    optimizer,
    X,
    y,
    *,
    epochs,
    batch_size=None,
    rng=None,
    X_val=None,
    y_val=None,
    eval_every=None,
    eval_train=True,
    callback=None,
    drop_last=False,
    max_steps=None,
    progress=None,
):
    """Train ``model`` with ``optimizer`` on ``(X, y)`` and return its history.

    One step: a forward pass in training mode on one mini-batch (batch norm
    uses that mini-batch's statistics), backprop, then ``optimizer.step``
    updates every parameter (``W``, ``b``, ``gamma``, ``beta``) the same way.

    Parameters
    ----------
    model : MLP
    optimizer : Optimizer (e.g. ``Adam(0.01)``)
    X : ``(n_x, m)``, y : int ``(m,)``
    epochs : int >= 1
    batch_size : int or None
        None: full-batch gradient descent (one step per epoch, no shuffling).
    rng : np.random.Generator, required with ``batch_size``
        Shuffles the examples each epoch.
    X_val, y_val : optional held-out data, evaluated alongside the training set
    eval_every : int or None
        Evaluate (in eval mode, on the whole training and validation sets)
        every this many steps; default once per epoch. Step 0 and the last
        step are always evaluated, so a large value (e.g. the number of
        steps) evaluates only at the start and the end.
    eval_train : bool
        Evaluate the whole training set at each evaluation (the default).
        False evaluates ``X_val`` only, if given, and the history has no
        ``train_loss`` or ``train_acc``: a run whose training accuracy is not
        reported skips a forward pass over every training example.
    callback : callable ``callback(step, model)`` or None
        Called after every step (e.g. to record a unit's percentiles).
    drop_last : bool
        Skip each epoch's last, smaller mini-batch.
    max_steps : int or None
        Stop after this many steps, even in the middle of an epoch.
    progress : bool or None
        Show a progress bar in Jupyter; None shows one for runs of at least
        500 steps. It never appears in saved notebook outputs.

    Returns
    -------
    dict of numpy arrays
        ``step``, ``train_loss``, ``train_acc`` (unless ``eval_train`` is
        False) and ``val_loss``, ``val_acc`` (with ``X_val``) at each
        evaluation; ``batch_loss`` at every step; ``diverged`` (bool): training
        stopped early because the loss or a parameter became NaN or inf (the
        arrays then end at that step).
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an Optimizer such as Adam(0.01); got {type(optimizer).__name__}")
    X = as_matrix(X, "X")
    y = check_labels(y, "y", X.shape[1])
    epochs = check_int(epochs, "epochs", low=1)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val = as_matrix(X_val, "X_val")
        y_val = check_labels(y_val, "y_val", X_val.shape[1])
    if batch_size is None:
        steps_per_epoch = 1
    else:
        batch_size = check_int(batch_size, "batch_size", low=1)
        check_generator(rng)
        steps_per_epoch = num_minibatches(X.shape[1], batch_size, drop_last)
    eval_every = steps_per_epoch if eval_every is None else check_int(eval_every, "eval_every", low=1)
    total = epochs * steps_per_epoch
    if max_steps is not None:
        total = min(total, check_int(max_steps, "max_steps", low=1))
    show = total >= PROGRESS_MIN_STEPS if progress is None else bool(progress)

    splits = {"train": (X, y)} if eval_train else {}
    if X_val is not None:
        splits["val"] = (X_val, y_val)
    history = {"step": [], **{f"train_{k}": [] for k in ("loss", "acc") if eval_train}, "batch_loss": []}
    history.update({f"val_{k}": [] for k in ("loss", "acc") if X_val is not None})

    def evaluate(step):
        history["step"].append(step)
        for split, (Xs, ys) in splits.items():
            loss, acc = model.evaluate(Xs, ys)
            history[f"{split}_loss"].append(loss)
            history[f"{split}_acc"].append(acc)

    def batches():
        if batch_size is None:
            yield X, y
        else:
            yield from iterate_minibatches(X, y, batch_size, rng, drop_last)

    model.train()
    diverged = False
    step = 0
    # A diverging run overflows; that is detected below, so numpy's warnings
    # (which would also clutter notebook outputs) are silenced here.
    with ProgressBar(total, enabled=show) as bar, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        evaluate(0)
        for _ in range(epochs):
            for X_t, y_t in batches():
                loss, grads = model.loss_and_grads(X_t, y_t)
                step += 1
                history["batch_loss"].append(loss)
                if not np.isfinite(loss):
                    diverged = True
                    break
                # A non-finite gradient or parameter makes the next loss non-finite, which the
                # check above catches; checking every parameter at every step would cost more.
                optimizer.step(model.params, grads)
                if callback is not None:
                    callback(step, model)
                if step % eval_every == 0 or step == total:
                    evaluate(step)
                bar.update(step, f"loss {loss:.3g}")
                if step >= total:
                    break
            if diverged or step >= total:
                break
    if not diverged and not all(np.isfinite(p).all() for p in model.params.values()):
        diverged = True  # the last step made a parameter NaN or inf
    out = {k: np.asarray(v) for k, v in history.items()}
    out["diverged"] = diverged
    return out
