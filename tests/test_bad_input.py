"""Every bad input gets a clear error naming the argument, the expected and the received."""

from __future__ import annotations

import numpy as np
import pytest

import bn_helpers as bh

rng0 = np.random.default_rng(0)
Z = rng0.standard_normal((3, 8))
G, B = np.ones((3, 1)), np.zeros((3, 1))
_, CACHE = bh.batchnorm_forward(Z, G, B)
with_nan = Z.copy()
with_nan[1, 4] = np.nan
with_inf = Z.copy()
with_inf[2, 0] = np.inf


def mlp(**kw):
    return bh.MLP([4, 5, 3], batchnorm=True, rng=np.random.default_rng(0), **kw)


CASES = {
    # name: (call, exception type, regex the message must match)
    "Z 1-D": (lambda: bh.batchnorm_forward(np.ones(5), 1.0, 0.0), ValueError, r"Z must be 2-D .*\(n_l, m\).*got shape \(5,\)"),
    "Z 3-D": (lambda: bh.batchnorm_forward(np.ones((2, 3, 4)), G, B), ValueError, r"Z must be 2-D.*\(2, 3, 4\)"),
    "Z strings": (lambda: bh.batchnorm_forward(np.array([["a", "b"]]), G, B), TypeError, r"Z must hold real numbers.*dtype"),
    "Z bool": (lambda: bh.batchnorm_forward(np.ones((3, 4), bool), G, B), TypeError, r"Z must hold real numbers"),
    "Z complex": (lambda: bh.batchnorm_forward(Z + 1j, G, B), TypeError, r"Z must hold real numbers"),
    "gamma (3,2)": (lambda: bh.batchnorm_forward(Z, np.ones((3, 2)), B), ValueError, r"gamma must have shape \(3, 1\) or \(3,\).*got shape \(3, 2\)"),
    "gamma (1,3)": (lambda: bh.batchnorm_forward(Z, np.ones((1, 3)), B), ValueError, r"gamma must have shape \(3, 1\).*got shape \(1, 3\)"),
    "beta (4,)": (lambda: bh.batchnorm_forward(Z, G, np.zeros(4)), ValueError, r"beta must have shape \(3, 1\) or \(3,\).*got shape \(4,\)"),
    "scalar gamma": (lambda: bh.batchnorm_forward(Z, 1.0, B), ValueError, r"gamma must have shape \(3, 1\).*got shape \(\)"),
    "one example": (lambda: bh.batchnorm_forward(Z[:, :1], G, B), ValueError, r"at least 2 examples.*got shape \(3, 1\).*batchnorm_inference.*eval mode"),
    "layer one example": (lambda: bh.BatchNorm(3).forward(Z[:, :1]), ValueError, r"at least 2 examples.*batchnorm_inference"),
    "zero examples": (lambda: bh.batchnorm_forward(np.ones((3, 0)), G, B), ValueError, r"Z must have at least 1 column"),
    "Z NaN": (lambda: bh.batchnorm_forward(with_nan, G, B), ValueError, r"Z contains 1 NaN or inf.*\(1, 4\)"),
    "Z inf": (lambda: bh.batchnorm_forward(with_inf, G, B), ValueError, r"Z contains 1 NaN or inf.*\(2, 0\)"),
    "Z overflow": (lambda: bh.batchnorm_forward(np.array([[1e200, -1e200]]), 1.0 * np.ones(1), np.zeros(1)), ValueError, r"Z is too large"),
    "gamma NaN": (lambda: bh.batchnorm_forward(Z, np.array([1.0, np.nan, 1.0]), B), ValueError, r"gamma contains 1 NaN or inf"),
    "beta inf": (lambda: bh.batchnorm_forward(Z, G, np.array([0.0, 0.0, -np.inf])), ValueError, r"beta contains 1 NaN or inf"),
    "eps 0": (lambda: bh.batchnorm_forward(Z, G, B, eps=0.0), ValueError, r"eps must be in \(0\.0, inf\]; got 0\.0"),
    "eps negative": (lambda: bh.batchnorm_forward(Z, G, B, eps=-1e-5), ValueError, r"eps must be in \(0"),
    "eps NaN": (lambda: bh.batchnorm_forward(Z, G, B, eps=float("nan")), ValueError, r"eps must be finite"),
    "eps string": (lambda: bh.batchnorm_forward(Z, G, B, eps="1e-5"), TypeError, r"eps must be a real number; got str"),
    "inference eps 0": (lambda: bh.batchnorm_inference(Z, G, B, B, G, eps=0), ValueError, r"eps must be in \(0"),
    "inference Z NaN": (lambda: bh.batchnorm_inference(with_nan, G, B, B, G), ValueError, r"Z contains 1 NaN"),
    "inference Z 1-D": (lambda: bh.batchnorm_inference(np.ones(3), G, B, B, G), ValueError, r"Z must be 2-D.*got shape \(3,\)"),
    "running_mean shape": (lambda: bh.batchnorm_inference(Z, G, B, np.zeros((2, 1)), G), ValueError, r"running_mean must have shape \(3, 1\).*\(2, 1\)"),
    "running_var negative": (lambda: bh.batchnorm_inference(Z, G, B, B, -G), ValueError, r"running_var must be >= 0"),
    "running_var NaN": (lambda: bh.batchnorm_inference(Z, G, B, B, np.array([1.0, np.nan, 1.0])), ValueError, r"running_var contains 1 NaN"),
    "backward shape": (lambda: bh.batchnorm_backward(np.ones((3, 7)), CACHE), ValueError, r"dZ_tilde must have shape \(3, 8\).*got shape \(3, 7\)"),
    "backward transposed": (lambda: bh.batchnorm_backward(np.ones((8, 3)), CACHE), ValueError, r"dZ_tilde must have shape \(3, 8\).*\(8, 3\)"),
    "staged shape": (lambda: bh.batchnorm_backward_staged(np.ones((2, 8)), CACHE), ValueError, r"dZ_tilde must have shape \(3, 8\)"),
    "backward NaN": (lambda: bh.batchnorm_backward(with_nan, CACHE), ValueError, r"dZ_tilde contains 1 NaN"),
    "backward bad cache": (lambda: bh.batchnorm_backward(Z, (1, 2, 3)), TypeError, r"cache must be the BatchNormCache.*got tuple"),
    "ewa beta 1": (lambda: bh.ewa_update(0.0, 1.0, beta=1.0), ValueError, r"beta must be in \[0\.0, 1\.0\); got 1\.0"),
    "ewa beta negative": (lambda: bh.ewa_update(0.0, 1.0, beta=-0.1), ValueError, r"beta must be in \[0\.0, 1\.0\)"),
    "ewa beta 1.5": (lambda: bh.ewa_update(0.0, 1.0, beta=1.5), ValueError, r"beta must be in \[0\.0, 1\.0\)"),
    "ewa shape": (lambda: bh.ewa_update(np.zeros((3, 1)), np.zeros(3)), ValueError, r"value must have the same shape as average \(3, 1\); got shape \(3,\)"),
    "ewa NaN": (lambda: bh.ewa_update(0.0, float("nan")), ValueError, r"value contains 1 NaN"),
    "ewa_series empty": (lambda: bh.ewa_series([]), ValueError, r"values must be a non-empty sequence"),
    "layer ewa_beta 1": (lambda: bh.BatchNorm(3, ewa_beta=1.0), ValueError, r"ewa_beta must be in \[0\.0, 1\.0\)"),
    "layer n_units 0": (lambda: bh.BatchNorm(0), ValueError, r"n_units must be a positive integer; got 0"),
    "layer backward first": (lambda: bh.BatchNorm(3).backward(Z), RuntimeError, r"needs a training-mode forward pass first"),
    "activation name": (lambda: bh.activation_forward(Z, "softplus"), ValueError, r"unknown activation 'softplus'; expected one of \['linear', 'relu', 'sigmoid', 'tanh'\]"),
    "mlp activation": (lambda: mlp(activation="gelu"), ValueError, r"unknown activation 'gelu'"),
    "optimizer name": (lambda: bh.make_optimizer("sgd", 0.1), ValueError, r"unknown optimizer 'sgd'; expected one of \['adam', 'gd', 'momentum', 'rmsprop'\]"),
    "learning_rate 0": (lambda: bh.Adam(0.0), ValueError, r"learning_rate must be in \(0\.0, inf\]"),
    "momentum 1": (lambda: bh.Momentum(0.1, momentum=1.0), ValueError, r"momentum must be in \[0\.0, 1\.0\)"),
    "beta2 1": (lambda: bh.RMSprop(0.1, beta2=1.0), ValueError, r"beta2 must be in \[0\.0, 1\.0\)"),
    "adam beta1": (lambda: bh.Adam(0.1, beta1=-0.5), ValueError, r"beta1 must be in \[0\.0, 1\.0\)"),
    "step= on gd": (lambda: bh.GradientDescent(0.1, step=bh.adam_step), ValueError, r"step= is for Momentum and Adam.*got it for GradientDescent"),
    "step not a function": (lambda: bh.Adam(0.1, step="adam_step"), TypeError, r"step must be a function such as adam_step; got str"),
    "step missing grad": (lambda: bh.GradientDescent(0.1).step({"W1": np.ones(2)}, {}), ValueError, r"grads must have the same names as params; missing \['W1'\]"),
    "step grad shape": (lambda: bh.GradientDescent(0.1).step({"W1": np.ones(2)}, {"W1": np.ones(3)}), ValueError, r"grads\['W1'\] must have shape \(2,\).*got \(3,\)"),
    "step int param": (lambda: bh.GradientDescent(0.1).step({"W1": np.ones(2, int)}, {"W1": np.ones(2)}), TypeError, r"params\['W1'\] must be a float ndarray"),
    "mlp sizes": (lambda: bh.MLP([4, 3], batchnorm=True, rng=np.random.default_rng(0)), ValueError, r"layer_sizes must be at least \[n_x, n_hidden, n_classes\]"),
    "mlp bn list": (lambda: bh.MLP([4, 5, 5, 3], batchnorm=[True], rng=np.random.default_rng(0)), ValueError, r"one bool per hidden layer \(2\); got 1"),
    "mlp seed not rng": (lambda: bh.MLP([4, 5, 3], batchnorm=True, rng=0), TypeError, r"rng must be a numpy Generator, e.g. np.random.default_rng\(0\); got int"),
    "mlp X rows": (lambda: mlp().forward(np.ones((5, 10))), ValueError, r"X must have shape \(4, m\); got shape \(5, 10\)"),
    "mlp backward first": (lambda: mlp().backward(np.ones((3, 2))), RuntimeError, r"needs a forward pass first"),
    "labels out of range": (lambda: mlp().loss(np.ones((4, 3)), np.array([0, 1, 3])), ValueError, r"y must hold labels in \[0, 3\); got values in \[0, 3\]"),
    "labels float": (lambda: mlp().loss(np.ones((4, 3)), np.array([0.0, 1.0, 2.0])), TypeError, r"y must hold integer class labels"),
    "labels length": (lambda: mlp().loss(np.ones((4, 3)), np.array([0, 1])), ValueError, r"y must have shape \(3,\).*got shape \(2,\)"),
    "minibatch y length": (lambda: list(bh.iterate_minibatches(Z, np.arange(7), 2, np.random.default_rng(0))), ValueError, r"y must have m=8 entries.*got shape \(7,\)"),
    "minibatch size 0": (lambda: list(bh.iterate_minibatches(Z, np.arange(8), 0, np.random.default_rng(0))), ValueError, r"batch_size must be >= 1; got 0"),
    "minibatch no rng": (lambda: list(bh.iterate_minibatches(Z, np.arange(8), 2, None)), TypeError, r"rng must be a numpy Generator"),
    "example z 2-D": (lambda: bh.batch_normalized_example(Z, np.zeros((2, 3), int)), ValueError, r"z must have shape \(N,\).*got shape \(3, 8\)"),
    "example batches float": (lambda: bh.batch_normalized_example(Z[0], np.zeros((2, 3))), ValueError, r"batches must be an integer array \(k, m\).*float64 \(2, 3\)"),
    "example batches 1-D": (lambda: bh.batch_normalized_example(Z[0], np.arange(3)), ValueError, r"batches must be an integer array \(k, m\).*\(3,\)"),
    "train batch without rng": (lambda: bh.train(mlp(), bh.Adam(0.1), np.ones((4, 6)), np.zeros(6, int), epochs=1, batch_size=2), TypeError, r"rng must be a numpy Generator"),
    "train optimizer name": (lambda: bh.train(mlp(), "adam", np.ones((4, 6)), np.zeros(6, int), epochs=1), TypeError, r"optimizer must be an Optimizer"),
    "train epochs 0": (lambda: bh.train(mlp(), bh.Adam(0.1), np.ones((4, 6)), np.zeros(6, int), epochs=0), ValueError, r"epochs must be >= 1; got 0"),
    "train val half": (lambda: bh.train(mlp(), bh.Adam(0.1), np.ones((4, 6)), np.zeros(6, int), epochs=1, X_val=np.ones((4, 2))), ValueError, r"X_val and y_val must be given together"),
    "normalize var shape": (lambda: bh.normalize_inputs(Z, np.zeros((3, 1)), np.ones((2, 1))), ValueError, r"var must have shape \(3, 1\) or \(3,\)"),
    "numerical_gradient list": (lambda: bh.numerical_gradient(lambda x: 0.0, [1.0, 2.0]), TypeError, r"x must be a float ndarray"),
    "rel_error shapes": (lambda: bh.rel_error(np.ones(2), np.ones(3)), ValueError, r"a and b must have the same shape"),
    "dataset name": (lambda: bh.load_dataset("mnist"), ValueError, r"unknown dataset 'mnist'; expected one of \['digits', 'mnist1d'\]"),
    "two-scale ratio": (lambda: bh.make_two_scale_regression(10, np.random.default_rng(0), scale_ratio=0), ValueError, r"scale_ratio must be in \(0\.0, inf\]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_clear_error(case):
    call, exc, pattern = CASES[case]
    with pytest.raises(exc, match=pattern):
        call()
