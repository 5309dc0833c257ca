"""Experiments that a notebook reports and the test suite re-checks with the same settings.

Each function runs one experiment end to end from explicit seeds, so the
numbers in a notebook and the assertions in ``tests/`` come from the same code.
"""

from __future__ import annotations

import numpy as np

from .mlp import MLP
from .optimizers import GradientDescent
from .training import train


def figure1(X, y, X_test, y_test, *, batchnorm, steps=2000, learning_rate=0.5, weight_scale=0.1,
            batch_size=60, seed=0, unit=0, record_every=20, eval_every=100, probe_size=500):  # fmt: skip
    """Ioffe and Szegedy (2015), Figure 1, on any data set.

    The paper's network: 3 hidden layers of 100 sigmoid units, weights from a
    small Gaussian (std ``weight_scale``), a softmax output, mini-batches of
    60, plain SGD. (The paper gives no learning rate or initial scale; these
    are ours.) Trains for ``steps`` steps, evaluates test accuracy (eval mode)
    every ``eval_every`` steps, and every ``record_every`` steps records the
    input to one sigmoid of the last hidden layer (``z`` without batch norm,
    ``z_tilde`` with it) over the first ``probe_size`` test examples, as the
    network computes it in training (training mode, the probe's own batch
    statistics; the running averages are restored afterwards, so recording
    changes nothing).

    Returns
    -------
    dict with ``history`` (from :func:`~bn_helpers.training.train`), ``steps``
    ``(k,)``, ``percentiles`` ``(k, 3)`` (15th, 50th, 85th), ``mean`` and
    ``var`` ``(k,)`` of that sigmoid input over the probe, and the trained ``model``.
    """
    model = MLP([X.shape[0], 100, 100, 100, int(y.max()) + 1], batchnorm=batchnorm, rng=np.random.default_rng(seed),
                activation="sigmoid", weight_scale=weight_scale)  # fmt: skip
    key = "Z_tilde3" if batchnorm else "Z3"
    probe = X_test[:, :probe_size]
    rec = {"steps": [], "percentiles": [], "mean": [], "var": []}

    def record(step, m):
        if step % record_every:
            return
        with m.running_stats_kept():
            m.forward(probe)  # training mode: what the sigmoid sees while the network learns
        z = m.hidden[key][unit]
        rec["steps"].append(step)
        rec["percentiles"].append(np.percentile(z, [15, 50, 85]))
        rec["mean"].append(z.mean())
        rec["var"].append(z.var())

    record(0, model)
    epochs = -(-steps // (X.shape[1] // batch_size))
    history = train(
        model, GradientDescent(learning_rate), X, y, epochs=epochs, batch_size=batch_size,
        rng=np.random.default_rng(seed + 1), X_val=X_test, y_val=y_test, eval_every=eval_every,
        drop_last=True, max_steps=steps, callback=record,
    )  # fmt: skip
    out = {k: np.asarray(v) for k, v in rec.items()}
    out.update(history=history, model=model)
    return out
