"""MultiSeedMLP and train_seeds compute, per seed, what MLP and train compute for that seed alone."""

import numpy as np
import pytest

from bn_helpers import MLP, Adam, GradientDescent, Momentum, RMSprop, train
from bn_helpers.multiseed import MultiSeedMLP, softmax_cross_entropy_seeds, train_seeds
from bn_helpers.layers import softmax_cross_entropy

SEEDS = [3, 4, 5]


def data(n_x=6, m=50, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.5, 2.0, (n_x, m))
    y = rng.integers(0, classes, m)
    return X, y


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def nets(sizes, **kw):
    many = MultiSeedMLP(sizes, rngs=[np.random.default_rng(s) for s in SEEDS], **kw)
    ones = [MLP(sizes, rng=np.random.default_rng(s), **kw) for s in SEEDS]
    return many, ones


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("batchnorm", [True, False, [True, False]])
def test_forward_and_backward_match_one_seed_at_a_time(activation, batchnorm):
    sizes = [6, 7, 5, 3]
    many, ones = nets(sizes, batchnorm=batchnorm, activation=activation)
    X, y = data()
    Xs = np.stack([X + i for i in range(len(SEEDS))])  # each seed its own batch
    ys = np.stack([np.roll(y, i) for i in range(len(SEEDS))])
    losses, grads = many.loss_and_grads(Xs, ys)
    for i, net in enumerate(ones):
        loss, g = net.loss_and_grads(Xs[i], ys[i])
        assert rel(losses[i], loss) < 1e-12
        for name in g:
            assert grads[name].shape == (len(SEEDS), *g[name].shape)
            assert rel(grads[name][i], g[name]) < 1e-10, name
        for key, value in net.hidden.items():
            assert rel(many.hidden[key][i], value) < 1e-12, key
        for l, bn in net.bn.items():
            assert rel(many.running_mean[l][i], bn.running_mean) < 1e-12
            assert rel(many.running_var[l][i], bn.running_var) < 1e-12


def test_a_shared_input_broadcasts_and_eval_mode_uses_running_averages():
    many, ones = nets([6, 8, 3], batchnorm=True, activation="relu", unbiased_running_var=True)
    X, y = data()
    many.loss_and_grads(X, y)  # training mode, moves the running averages
    for net in ones:
        net.loss_and_grads(X, y)
    losses, accs = many.evaluate(X, y)
    for i, net in enumerate(ones):
        loss, acc = net.evaluate(X, y)
        assert rel(losses[i], loss) < 1e-12 and accs[i] == acc
        assert rel(many.seed(i).eval().forward(X), net.eval().forward(X)) < 1e-12
    assert many.training  # evaluate restores the mode


def test_softmax_cross_entropy_per_seed():
    rng = np.random.default_rng(1)
    Z, y = rng.normal(size=(2, 4, 9)), rng.integers(0, 4, (2, 9))
    losses, dZ = softmax_cross_entropy_seeds(Z, y)
    for i in range(2):
        loss, d = softmax_cross_entropy(Z[i], y[i])
        assert rel(losses[i], loss) < 1e-14 and rel(dZ[i], d) < 1e-14


@pytest.mark.parametrize("optimizer, batch_size, drop_last, activation", [
    (lambda: Adam(0.01), 16, True, "relu"),
    (lambda: Momentum(0.1, momentum=0.9), 8, False, "tanh"),
    (lambda: RMSprop(1e-3), 16, False, "relu"),
    (lambda: GradientDescent(0.5), None, False, "sigmoid"),
])  # fmt: skip
def test_a_whole_training_run_matches_train_per_seed(optimizer, batch_size, drop_last, activation):
    sizes = [6, 10, 10, 3]
    many, ones = nets(sizes, batchnorm=[True, False], activation=activation)
    X, y = data()
    Xv, yv = data(m=20, seed=9)
    kw = dict(epochs=4, batch_size=batch_size, X_val=Xv, y_val=yv, eval_every=3, drop_last=drop_last, progress=False)
    rngs = [np.random.default_rng(100 + s) for s in SEEDS] if batch_size else None
    hs = train_seeds(many, optimizer(), X, y, rngs=rngs, **kw)
    for i, net in enumerate(ones):
        h = train(net, optimizer(), X, y, rng=np.random.default_rng(100 + SEEDS[i]) if batch_size else None, **kw)
        assert set(hs[i]) == set(h)
        assert hs[i]["diverged"] is h["diverged"] is False
        np.testing.assert_array_equal(hs[i]["step"], h["step"])
        for key in ("batch_loss", "train_loss", "val_loss", "train_acc", "val_acc"):
            assert hs[i][key].shape == h[key].shape and rel(hs[i][key], h[key]) < 1e-10, key
        for name, p in net.params.items():
            assert rel(many.params[name][i], p) < 1e-10, name


def test_eval_train_false_is_train_with_eval_train_false_per_seed():
    many, ones = nets([6, 10, 10, 3], batchnorm=[True, False], activation="relu")
    X, y = data()
    Xv, yv = data(m=20, seed=9)
    kw = dict(epochs=3, batch_size=16, X_val=Xv, y_val=yv, eval_every=2, eval_train=False, progress=False)
    hs = train_seeds(many, Adam(0.01), X, y, rngs=[np.random.default_rng(100 + s) for s in SEEDS], **kw)
    for i, net in enumerate(ones):
        h = train(net, Adam(0.01), X, y, rng=np.random.default_rng(100 + SEEDS[i]), **kw)
        assert list(hs[i]) == list(h) == ["step", "batch_loss", "val_loss", "val_acc", "diverged"]
        for key in ("step", "batch_loss", "val_loss", "val_acc"):
            assert hs[i][key].shape == h[key].shape and rel(hs[i][key], h[key]) < 1e-10, key


def test_a_diverging_seed_stops_alone():
    many, ones = nets([6, 10, 3], batchnorm=False, activation="relu", weight_scale=1.0)
    X, y = data()
    many.params["W1"][1] = np.nan  # seed 1 breaks at once
    hs = train_seeds(many, GradientDescent(0.1), X, y, epochs=5, progress=False)
    assert [h["diverged"] for h in hs] == [False, True, False]
    assert len(hs[1]["batch_loss"]) == 1 and len(hs[0]["batch_loss"]) == 5
    h0 = train(ones[0], GradientDescent(0.1), X, y, epochs=5, progress=False)
    assert rel(hs[0]["batch_loss"], h0["batch_loss"]) < 1e-10


def test_bad_input_names_the_argument():
    many, _ = nets([6, 4, 3], batchnorm=True)
    X, y = data()
    with pytest.raises(ValueError, match="rngs must be a non-empty list"):
        MultiSeedMLP([6, 4, 3], batchnorm=True, rngs=[])
    with pytest.raises(TypeError, match=r"rngs\[1\]"):
        MultiSeedMLP([6, 4, 3], batchnorm=True, rngs=[np.random.default_rng(0), 1])
    with pytest.raises(ValueError, match=r"X must have shape \(3, 6, m\)"):
        many.forward(np.zeros((2, 6, 5)))
    with pytest.raises(ValueError, match=r"y must have shape \(50,\) or \(3, 50\)"):
        many.loss_and_grads(X, np.zeros((2, 50), int))
    with pytest.raises(ValueError, match="rngs must be a list of 3"):
        train_seeds(many, Adam(0.01), X, y, epochs=1, batch_size=8, rngs=[np.random.default_rng(0)])
    with pytest.raises(TypeError, match="model must be a MultiSeedMLP"):
        train_seeds(MLP([6, 4, 3], batchnorm=True, rng=np.random.default_rng(0)), Adam(0.01), X, y, epochs=1)
    with pytest.raises(ValueError, match="i must be a seed index below k=3"):
        many.seed(3)


def test_what_a_caller_keeps_is_never_overwritten_by_the_next_step():
    """The model reuses work arrays from step to step, but never one it has handed out."""
    many, _ = nets([6, 8, 8, 3], batchnorm=[True, False], activation="sigmoid")
    X, y = data()
    losses, grads = many.loss_and_grads(X, y)
    hidden = dict(many.hidden)
    kept = {name: g.copy() for name, g in grads.items()}
    kept_hidden = {key: h.copy() for key, h in hidden.items()}
    many.loss_and_grads(X[::-1] * 3.0, y)  # a different batch, same shapes
    for name, g in grads.items():
        np.testing.assert_array_equal(g, kept[name])
    for key, h in hidden.items():
        np.testing.assert_array_equal(h, kept_hidden[key])


def test_running_stats_kept_restores_the_running_averages():
    many, _ = nets([6, 8, 3], batchnorm=True)
    X, y = data()
    many.loss_and_grads(X, y)
    before = {l: (many.running_mean[l].copy(), many.running_var[l].copy()) for l in many.bn_layers}
    with many.running_stats_kept():
        many.forward(X * 5.0 + 2.0)  # training mode: would move them
        assert not np.array_equal(many.running_mean[1], before[1][0])
    for l, (mean, var) in before.items():
        np.testing.assert_array_equal(many.running_mean[l], mean)
        np.testing.assert_array_equal(many.running_var[l], var)


def test_figure1_with_seeds_is_each_seed_alone():
    from bn_helpers import load_digits, normalize_dataset
    from bn_helpers.experiments import figure1

    D = normalize_dataset(load_digits())
    args = (D.X_train, D.y_train, D.X_test, D.y_test)
    kw = dict(batchnorm=True, steps=60, record_every=20, eval_every=30, probe_size=100)
    together = figure1(*args, seeds=[4, 7], **kw)
    for run, seed in zip(together, [4, 7]):
        alone = figure1(*args, seed=seed, **kw)
        for key in ("steps", "percentiles", "mean", "var"):
            assert rel(run[key], alone[key]) < 1e-10, key
        assert list(run["history"]) == ["step", "batch_loss", "val_loss", "val_acc", "diverged"]
        np.testing.assert_array_equal(run["history"]["step"], [0, 30, 60])  # the test set, every eval_every steps
        for key in ("val_acc", "batch_loss"):
            assert rel(run["history"][key], alone["history"][key]) < 1e-10, key
        assert rel(run["model"].params["W2"], alone["model"].params["W2"]) < 1e-10


@pytest.mark.parametrize("step", [None, "adam_step"])
def test_one_update_for_all_parameters_is_each_parameters_own_update(step):
    """train_seeds hands the optimizer every parameter as one flat array: the same numbers, to the last bit,
    as one update per parameter, with the class's own Adam and with a plain per-parameter function."""
    from bn_helpers.optimizers import adam_step

    step = adam_step if step else None
    X, y = data()
    many, _ = nets([6, 10, 10, 3], batchnorm=[True, False], activation="relu")
    train_seeds(many, Adam(0.01, step=step), X, y, epochs=3, batch_size=8, drop_last=True,
                rngs=[np.random.default_rng(100 + s) for s in SEEDS], progress=False)  # fmt: skip
    # the same steps taken one parameter at a time, outside train_seeds
    one_by_one, _ = nets([6, 10, 10, 3], batchnorm=[True, False], activation="relu")
    opt, rngs = Adam(0.01, step=step), [np.random.default_rng(100 + s) for s in SEEDS]
    for _ in range(3):
        orders = np.stack([r.permutation(X.shape[1]) for r in rngs])
        for start in range(0, X.shape[1] - X.shape[1] % 8, 8):
            idx = orders[:, start : start + 8]
            _, grads = one_by_one.loss_and_grads(X.T[idx].transpose(0, 2, 1), y[idx])
            opt.step(one_by_one.params, grads)
    assert set(opt.state) == set(one_by_one.params)  # one update per parameter there
    for name, p in one_by_one.params.items():
        np.testing.assert_array_equal(many.params[name], p, err_msg=name)


def test_a_parameter_replaced_between_runs_is_still_trained():
    many, _ = nets([6, 8, 3], batchnorm=True)
    X, y = data()
    train_seeds(many, GradientDescent(0.1), X, y, epochs=2, progress=False)
    many.params["W1"] = many.params["W1"] * 2.0  # a new array, no longer part of the flat one
    replaced = many.params["W1"]
    before = {name: p.copy() for name, p in many.params.items()}
    train_seeds(many, GradientDescent(0.1), X, y, epochs=2, progress=False)
    np.testing.assert_array_equal(replaced, before["W1"])  # the caller's array is left alone: its values were copied
    for name, p in many.params.items():
        assert not np.array_equal(p, before[name]), name
