"""Experiments that a notebook reports and the test suite re-checks with the same settings.

Each function runs one experiment end to end from explicit seeds, so the
numbers in a notebook and the assertions in ``tests/`` come from the same code.
"""

from __future__ import annotations

import copy

import numpy as np

from .folding import recompute_statistics
from .layers import accuracy
from .multiseed import MultiSeedMLP, train_seeds
from .optimizers import Adam, GradientDescent


def figure1(X, y, X_test, y_test, *, batchnorm, steps=2000, learning_rate=0.5, weight_scale=0.1,
            batch_size=60, seed=0, seeds=None, unit=0, record_every=20, eval_every=100, probe_size=500,
            keep_every=None):  # fmt: skip
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
    before normalization: the drift batch norm removes. With ``keep_every``,
    it keeps a copy of the network every ``keep_every`` steps (for
    :func:`landscape_probes`).

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
    batch norm), the trained ``model`` (an :class:`~bn_helpers.mlp.MLP`) and,
    with ``keep_every``, ``checkpoints`` (a dict: step -> a copy of the
    network then, an ``MLP``); with ``seeds``, a list of such dicts, one per
    seed.
    """
    seed_list = [seed] if seeds is None else list(seeds)
    model = MultiSeedMLP([X.shape[0], 100, 100, 100, int(y.max()) + 1], batchnorm=batchnorm,
                         rngs=[np.random.default_rng(s) for s in seed_list], activation="sigmoid",
                         weight_scale=weight_scale)  # fmt: skip
    key = "Z_tilde3" if batchnorm else "Z3"
    probe = X_test[:, :probe_size]
    recs = [{"steps": [], "percentiles": [], "mean": [], "var": [], "z_mean": [], "z_var": []} for _ in seed_list]
    kept = [{} for _ in seed_list]

    def record(step, m):
        if keep_every is not None and step and step % keep_every == 0:
            for i, k in enumerate(kept):
                k[step] = m.seed(i)
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
    # The test set only: evaluating the training set too (4,000 examples on MNIST-1D) would cost more than the recording.
    histories = train_seeds(
        model, GradientDescent(learning_rate), X, y, epochs=epochs, batch_size=batch_size,
        rngs=[np.random.default_rng(s + 1) for s in seed_list], X_val=X_test, y_val=y_test, eval_every=eval_every,
        eval_train=False, drop_last=True, max_steps=steps, callback=record,
    )  # fmt: skip
    out = []
    for i, (rec, hist) in enumerate(zip(recs, histories)):
        run = {k: np.asarray(v) for k, v in rec.items()}
        run.update(history=hist, model=model.seed(i))
        if keep_every is not None:
            run["checkpoints"] = kept[i]
        out.append(run)
    return out[0] if seeds is None else out


NOISE_VARIANTS = ("without batch norm", "batch norm", "noisy batch norm")
STEP_SIZES = np.linspace(0.25, 2.0, 8)  # the probes' learning-rate steps eta * g
LENGTHS = np.linspace(0.125, 1.0, 8)  # and their equal step lengths d


def landscape_probes(model, X, y, *, learning_rate=0.5, layer=3, noise_samples=1, rng=None):
    """Santurkar et al.'s measures at one point of training, on one batch ``(X, y)``.

    The loss along the gradient with learning-rate steps ``eta * g``
    (:data:`STEP_SIZES`) and with steps of equal length (:data:`LENGTHS`), see
    :func:`~bn_helpers.landscape.probe_gradient_direction`; and the internal
    covariate shift of ``W[layer]`` when the layers before it take a step at
    ``learning_rate`` (:func:`~bn_helpers.landscape.gradient_shift`). With a
    noisy batch norm, ``rng`` draws the noise held along each measure,
    ``noise_samples`` draws each. Changes nothing in ``model``.

    Returns a dict with ``by_step_size``, ``by_length`` and ``shift``.
    """
    from .landscape import NoisyBatchNorm, gradient_shift, probe_gradient_direction

    noisy = any(isinstance(bn, NoisyBatchNorm) for bn in model.bn.values())
    samples = noise_samples if noisy else 1
    probe = {key: probe_gradient_direction(model, X, y, steps, unit_direction=unit, noise_samples=samples, rng=rng)
             for key, steps, unit in [("by_step_size", STEP_SIZES, False), ("by_length", LENGTHS, True)]}  # fmt: skip
    shifts = [gradient_shift(model, X, y, learning_rate, layer, rng=rng) for _ in range(samples)]
    probe["shift"] = {k: float(np.mean([s[k] for s in shifts])) for k in shifts[0]}
    return probe


def noisy_batchnorm_run(X, y, X_test, y_test, *, variant, seed=0, seeds=None, steps=1000, learning_rate=0.5,
                        probe_every=200, probe_size=60, noise_samples=2, scale_max=2.0, shift_max=1.0, eval_every=100):  # fmt: skip
    """Santurkar et al. (2018) on the Figure 1 network: does batch norm work despite injected covariate shift?

    Trains the network of :func:`figure1` (weights std 0.1, mini-batches of 60,
    plain SGD) ``without batch norm``, with ``batch norm``, or with ``noisy
    batch norm`` (as :class:`~bn_helpers.landscape.NoisyBatchNorm`: a random
    per-unit scale in [1/scale_max, scale_max] and shift in [-shift_max,
    shift_max] after every batch-norm layer, redrawn each step). As in
    :func:`figure1`, seed ``s`` draws the weights and ``s + 1`` the order of
    the mini-batches, so the first two variants are :func:`figure1`'s runs;
    ``50 + s`` draws the noise of training and ``150 + s`` the noise held
    along the probes (so probing changes no training run). With ``seeds`` (a
    list) the seeds train side by side, each exactly as it would alone.

    Every ``probe_every`` steps it takes :func:`landscape_probes` on the first
    ``probe_size`` training examples.

    Returns
    -------
    dict with ``history`` (``step``, ``val_loss`` and ``val_acc``: the test
    set in eval mode every ``eval_every`` steps; ``batch_loss``,
    ``diverged``), ``accuracy`` (the last test accuracy), ``probes`` (a list
    of :func:`landscape_probes` results) and ``probe_steps`` (the step of
    each); with ``seeds``, a list of such dicts, one per seed.
    """
    from .landscape import add_batchnorm_noise

    if variant not in NOISE_VARIANTS:
        raise ValueError(f"variant must be one of {NOISE_VARIANTS}; got {variant!r}")
    seed_list = [seed] if seeds is None else list(seeds)
    model = MultiSeedMLP([X.shape[0], 100, 100, 100, int(y.max()) + 1], batchnorm=variant != "without batch norm",
                         rngs=[np.random.default_rng(s) for s in seed_list], activation="sigmoid",
                         weight_scale=0.1)  # fmt: skip
    noisy = variant == "noisy batch norm"
    if noisy:
        add_batchnorm_noise(model, [np.random.default_rng(50 + s) for s in seed_list], scale_max=scale_max,
                            shift_max=shift_max)  # fmt: skip
    probe_X, probe_y = X[:, :probe_size], y[:probe_size]
    probe_rngs = [np.random.default_rng(150 + s) for s in seed_list]
    probes, probe_steps = [[] for _ in seed_list], []

    def record(step, m):
        if step % probe_every == 0:
            probe_steps.append(step)
            for i, seed_probes in enumerate(probes):
                net = m.seed(i)  # a copy of seed i, probed as the network it is
                if noisy:  # its own generator is never drawn from: every probe holds noise from probe_rngs[i]
                    add_batchnorm_noise(net, np.random.default_rng(0), scale_max=scale_max, shift_max=shift_max)
                seed_probes.append(landscape_probes(net, probe_X, probe_y, learning_rate=learning_rate,
                                                    noise_samples=noise_samples, rng=probe_rngs[i]))  # fmt: skip

    epochs = -(-steps // (X.shape[1] // 60))
    histories = train_seeds(model, GradientDescent(learning_rate), X, y, epochs=epochs, batch_size=60,
                            rngs=[np.random.default_rng(s + 1) for s in seed_list], X_val=X_test, y_val=y_test,
                            eval_every=eval_every, eval_train=False, drop_last=True, max_steps=steps,
                            callback=record)  # fmt: skip
    out = [dict(history=hist, accuracy=hist["val_acc"][-1], probes=seed_probes, probe_steps=np.array(probe_steps))
           for hist, seed_probes in zip(histories, probes)]  # fmt: skip
    return out[0] if seeds is None else out


def batch_size_runs(X, y, X_test, y_test, *, batch_sizes, steps=400, examples=3200, seeds=(0, 1, 2),
                    learning_rate=1e-3, adam_step=None, layer_sizes=(40, 100, 100, 10)):  # fmt: skip
    """Notebook 04's batch sizes, with and without batch norm, at equal steps and at equal examples.

    For each batch size ``m`` and each arm, the ReLU network ``layer_sizes``
    (batch norm in every hidden layer, or none) trains from each of ``seeds``
    with Adam (``learning_rate``; its update ``adam_step`` if given, see
    :class:`~bn_helpers.optimizers.Adam`) on mini-batches of ``m`` drawn
    without replacement (seed ``s`` draws the weights from ``s`` and the order
    from ``100 + s``; the last, smaller batch of an epoch is dropped). One run
    per arm serves both comparisons: the test accuracy (eval mode) is taken
    after ``steps`` steps (``m * steps`` examples seen) and after
    ``examples // m`` steps (the same number of examples for every ``m``),
    whichever comes first, and the run stops at the later of the two.

    Returns ``(accuracy, networks)``: ``accuracy[design, m, bn]`` the test
    accuracy (%) per seed, ``design`` ``"steps"`` or ``"examples"``;
    ``networks[m]`` the batch-norm networks after ``steps`` steps, one
    :class:`~bn_helpers.mlp.MLP` per seed.
    """
    seeds = list(seeds)
    accuracy, networks = {}, {}
    for m in batch_sizes:
        for bn in (False, True):

            def record(step, model, m=m, bn=bn):
                if step in (steps, examples // m):
                    acc = 100 * model.evaluate(X_test, y_test)[1]
                    if step == steps:
                        accuracy["steps", m, bn] = acc
                        if bn:
                            networks[m] = [model.seed(i) for i in range(model.k)]
                    if step == examples // m:
                        accuracy["examples", m, bn] = acc

            model = MultiSeedMLP(list(layer_sizes), batchnorm=bn, rngs=[np.random.default_rng(s) for s in seeds],
                                 activation="relu")  # fmt: skip
            train_seeds(model, Adam(learning_rate, step=adam_step), X, y, epochs=10**6, batch_size=m,
                        max_steps=max(steps, examples // m), rngs=[np.random.default_rng(100 + s) for s in seeds],
                        drop_last=True, eval_every=10**9, eval_train=False, callback=record, progress=False)  # fmt: skip
    return accuracy, networks


def accuracy_by_statistics(model, batch_size, X_train, X_test, y_test):
    """Test accuracy (%) of a trained :class:`~bn_helpers.mlp.MLP` with batch norm, four ways; the model is unchanged.

    - ``"running averages"``: eval mode, as trained (biased batch variances averaged);
    - ``"unbiased running variance"``: eval mode, each running variance times
      ``m / (m - 1)`` (``m = batch_size``): what ``unbiased_running_var=True``
      would have averaged, since training itself never reads the running
      averages and an average of ``m / (m - 1)`` times the variances is
      ``m / (m - 1)`` times their average (up to the start value's weight,
      ``ewa_beta ** steps``);
    - ``"recomputed on the training set"``: eval mode with the population
      statistics of ``X_train`` under the final weights
      (:func:`~bn_helpers.folding.recompute_statistics`, notebook 08);
    - ``"training mode, test batches"``: each consecutive batch of
      ``batch_size`` test examples normalized with its own statistics, as in
      training (a last, smaller batch is left out).
    """
    m = batch_size
    out = {}
    net = copy.deepcopy(model).eval()
    out["running averages"] = 100 * accuracy(net.forward(X_test), y_test)
    for bn in net.bn.values():
        bn.running_var = bn.running_var * (m / (m - 1))
    out["unbiased running variance"] = 100 * accuracy(net.forward(X_test), y_test)
    net = recompute_statistics(copy.deepcopy(model).eval(), X_train)
    out["recomputed on the training set"] = 100 * accuracy(net.forward(X_test), y_test)
    net = copy.deepcopy(model).train()
    n = X_test.shape[1] - X_test.shape[1] % m
    right = sum(int((net.forward(X_test[:, k : k + m]).argmax(axis=0) == y_test[k : k + m]).sum()) for k in range(0, n, m))
    out["training mode, test batches"] = 100 * right / n
    return out
