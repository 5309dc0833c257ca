"""Adapting a trained network with batch norm to new data: three ways, each on a copy.

- ``"train"``: keep fine-tuning with batch norm in training mode: every step
  normalizes with the fine-tuning batch's statistics, updates all parameters,
  and moves the running averages towards the new data.
- ``"frozen"``: freeze batch norm: normalize with the running statistics
  (eval mode) and train the rest. With its statistics fixed, batch norm is a
  fixed affine map per unit, so the network *is* its folded version
  (:func:`~bn_helpers.folding.fold_mlp`), which is trained here. (It learns
  ``s * W`` and one bias per unit, where a framework whose batch-norm layers
  stay in eval mode while training learns ``W``, ``gamma`` and ``beta``
  separately: the same functions, another parametrization, which Adam steps
  differently. torchvision's ``FrozenBatchNorm2d`` also fixes ``gamma`` and ``beta``.)
- ``"adabn"``: no gradient step at all; only replace the statistics with
  those of the new inputs (Li et al. 2016), :func:`~bn_helpers.folding.recompute_statistics`.
  Needs no labels.
"""

from __future__ import annotations

import copy

from ._validation import as_matrix, check_choice, check_int, check_scalar
from .folding import fold_mlp, recompute_statistics
from .mlp import MLP
from .optimizers import Adam
from .training import train

METHODS = ("train", "frozen", "adabn")


def adapt(model, method, X_new, y_new=None, *, batch_size=None, steps=0, learning_rate=0.005, rng=None, ewa_beta=0.9):
    """A copy of ``model`` adapted to ``X_new`` ``(n_x, m)`` by ``method``; ``model`` is not changed.

    ``"train"`` and ``"frozen"`` take ``steps`` steps of Adam(``learning_rate``)
    on ``(X_new, y_new)`` in mini-batches of ``batch_size`` shuffled with
    ``rng``. For ``"train"``, each batch-norm layer's running average uses
    ``ewa_beta`` during the fine-tuning (``0.9``: PyTorch's default
    ``momentum=0.1``). ``"adabn"`` uses ``X_new`` only.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP; got {type(model).__name__}")
    check_choice(method, "method", METHODS)
    X_new = as_matrix(X_new, "X_new", min_columns=2)
    if method == "adabn":
        return recompute_statistics(copy.deepcopy(model), X_new)
    if y_new is None:
        raise ValueError(f"method {method!r} trains on labels: pass y_new")
    steps = check_int(steps, "steps", low=1)
    check_scalar(ewa_beta, "ewa_beta", low=0.0, high=1.0, high_open=True)
    if method == "frozen":
        new = fold_mlp(model)
    else:
        new = copy.deepcopy(model)
        for bn in new.bn.values():
            bn.ewa_beta = ewa_beta
    train(new, Adam(learning_rate), X_new, y_new, epochs=steps, batch_size=batch_size, rng=rng,
          max_steps=steps, eval_every=steps, eval_train=False, progress=False)  # fmt: skip
    return new
