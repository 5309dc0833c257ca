"""Experiments that a notebook reports and the test suite re-checks with the same settings.

Each function runs one experiment end to end from explicit seeds, so the
numbers in a notebook and the assertions in ``tests/`` come from the same code.
"""

from __future__ import annotations

import numpy as np

from .mlp import MLP
from .multiseed import MultiSeedMLP, train_seeds
from .optimizers import GradientDescent
from .training import train


def figure1(X, y, X_test, y_test, *, batchnorm, steps=2000, learning_rate=0.5, weight_scale=0.1,
            batch_size=60, seed=0, seeds=None, unit=0, record_every=20, eval_every=100, probe_size=500):  # fmt: skip
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
    changes nothing). With batch norm it also records that unit's ``z``
    before normalization: the drift batch norm removes.

    Seed ``s`` draws the weights from ``default_rng(s)`` and the order of the
    mini-batches from ``default_rng(s + 1)``. With ``seeds`` (a list) the
    seeds train side by side in one :class:`~bn_helpers.multiseed.MultiSeedMLP`,
    each exactly as it would alone.

    Returns
    -------
    dict with ``history`` (``step``, ``val_loss`` and ``val_acc`` on the test
    set every ``eval_every`` steps, and ``batch_loss`` and ``diverged`` as
    :func:`~bn_helpers.training.train` returns them), ``steps`` ``(k,)``,
    ``percentiles`` ``(k, 3)`` (15th, 50th, 85th), ``mean`` and ``var``
    ``(k,)`` of that sigmoid input over the probe, ``z_mean`` and ``z_var``
    ``(k,)`` of the unit's ``z`` (the same as ``mean`` and ``var`` without
    batch norm), and the trained ``model`` (an :class:`~bn_helpers.mlp.MLP`);
    with ``seeds``, a list of such dicts, one per seed.
    """
    seed_list = [seed] if seeds is None else list(seeds)
    model = MultiSeedMLP([X.shape[0], 100, 100, 100, int(y.max()) + 1], batchnorm=batchnorm,
                         rngs=[np.random.default_rng(s) for s in seed_list], activation="sigmoid",
                         weight_scale=weight_scale)  # fmt: skip
    key = "Z_tilde3" if batchnorm else "Z3"
    probe = X_test[:, :probe_size]
    recs = [{"steps": [], "percentiles": [], "mean": [], "var": [], "z_mean": [], "z_var": []} for _ in seed_list]
    evals = [{"step": [], "val_loss": [], "val_acc": []} for _ in seed_list]

    def record(step, m):
        if step % eval_every == 0 or step == steps:
            # The test set only: evaluating the training set as well would cost
            # more than the probes (4,000 examples on MNIST-1D).
            losses, accs = m.evaluate(X_test, y_test)
            for ev, loss, acc in zip(evals, losses, accs):
                ev["step"].append(step)
                ev["val_loss"].append(float(loss))
                ev["val_acc"].append(float(acc))
        if step % record_every:
            return
        with m.running_stats_kept():
            m.forward(probe)  # training mode: what the sigmoid sees while the network learns
        for rec, z_in, z in zip(recs, m.hidden[key][:, unit], m.hidden["Z3"][:, unit]):  # one row per seed
            rec["steps"].append(step)
            rec["percentiles"].append(np.percentile(z_in, [15, 50, 85]))
            rec["mean"].append(z_in.mean())
            rec["var"].append(z_in.var())
            rec["z_mean"].append(z.mean())
            rec["z_var"].append(z.var())

    record(0, model)
    epochs = -(-steps // (X.shape[1] // batch_size))
    histories = train_seeds(
        model, GradientDescent(learning_rate), X, y, epochs=epochs, batch_size=batch_size,
        rngs=[np.random.default_rng(s + 1) for s in seed_list], eval_every=steps,
        drop_last=True, max_steps=steps, callback=record,
    )  # fmt: skip
    out = []
    for i, (rec, ev, history) in enumerate(zip(recs, evals, histories)):
        run = {k: np.asarray(v) for k, v in rec.items()}
        hist = {k: np.asarray(v) for k, v in ev.items()}
        hist.update(batch_loss=history["batch_loss"], diverged=history["diverged"])
        run.update(history=hist, model=model.seed(i))
        out.append(run)
    return out[0] if seeds is None else out


NOISE_VARIANTS = ("without batch norm", "batch norm", "noisy batch norm")


def noisy_batchnorm_run(X, y, X_test, y_test, *, variant, seed, steps=840, learning_rate=0.5, probe_every=140,
                        step_sizes=np.linspace(0.25, 2.0, 8), lengths=np.linspace(0.125, 1.0, 8), probe_size=60,
                        noise_samples=4, scale_max=2.0, shift_max=1.0):  # fmt: skip
    """Santurkar et al. (2018) on the Figure 1 network: does batch norm work despite injected covariate shift?

    Trains the network of :func:`figure1` (weights std 0.1, mini-batches of 60,
    plain SGD) ``without batch norm``, with ``batch norm``, or with ``noisy
    batch norm`` (:class:`~bn_helpers.landscape.NoisyBatchNorm`: a random
    per-unit scale in [1/scale_max, scale_max] and shift in [-shift_max,
    shift_max] after every batch-norm layer, redrawn each step). ``seed`` draws the weights, ``100 + seed`` the
    order of the mini-batches, ``50 + seed`` the noise of training and
    ``150 + seed`` the noise held along the probes (so probing changes no
    training run).

    At every step it records the batch mean of each unit's input to the last
    hidden layer's sigmoid; every ``probe_every`` steps it probes the loss
    along the gradient on the first ``probe_size`` training examples, both
    with learning-rate steps ``eta * g`` (``step_sizes``) and with steps of
    equal length (``lengths``), the noise held fixed along each probe and
    averaged over ``noise_samples`` draws.

    Returns
    -------
    dict with ``accuracy`` (test accuracy after ``steps`` steps, in eval mode),
    ``moves`` (the mean over units and steps of ``|mean_t - mean_{t-1}|``),
    ``probes`` (a list of ``(by_step_size, by_length)`` results of
    :func:`~bn_helpers.landscape.probe_gradient_direction`), ``probe_steps``
    (the step of each probe), ``history``.
    """
    from .landscape import add_batchnorm_noise, probe_gradient_direction

    if variant not in NOISE_VARIANTS:
        raise ValueError(f"variant must be one of {NOISE_VARIANTS}; got {variant!r}")
    model = MLP([X.shape[0], 100, 100, 100, int(y.max()) + 1], batchnorm=variant != "without batch norm",
                rng=np.random.default_rng(seed), activation="sigmoid", weight_scale=0.1)  # fmt: skip
    samples = 1
    if variant == "noisy batch norm":
        add_batchnorm_noise(model, np.random.default_rng(50 + seed), scale_max=scale_max, shift_max=shift_max)
        samples = noise_samples
    key = "Z3" if variant == "without batch norm" else "Z_tilde3"  # what the last sigmoid sees
    probe_X, probe_y = X[:, :probe_size], y[:probe_size]
    probe_rng = np.random.default_rng(150 + seed)
    means, probes, probe_steps = [], [], []

    def record(step, m):
        means.append(m.hidden[key].mean(axis=1))
        if step % probe_every == 0:
            probe_steps.append(step)
            probes.append(tuple(probe_gradient_direction(m, probe_X, probe_y, s, unit_direction=unit,
                                                         noise_samples=samples, rng=probe_rng)
                                for s, unit in [(step_sizes, False), (lengths, True)]))  # fmt: skip

    epochs = -(-steps // (X.shape[1] // 60))
    history = train(model, GradientDescent(learning_rate), X, y, epochs=epochs, batch_size=60, max_steps=steps,
                    rng=np.random.default_rng(100 + seed), X_val=X_test, y_val=y_test, drop_last=True,
                    callback=record, eval_every=10**9)  # fmt: skip
    return dict(accuracy=history["val_acc"][-1], moves=float(np.abs(np.diff(means, axis=0)).mean()), probes=probes,
                probe_steps=np.array(probe_steps), history=history)  # fmt: skip
