"""Layer, spatial batch, group and instance norm against PyTorch (the oracle), forward and backward, float64.

Our images are (m, n_H, n_W, n_C); PyTorch's are (N, C, H, W): X.transpose(0, 3, 1, 2).
Our dense Z is (n_l, m); PyTorch's layer_norm takes (m, n_l): Z.T.
"""

from __future__ import annotations

import numpy as np
import pytest

from bn_helpers.normalization import (
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)

pytestmark = pytest.mark.torch
TOL = dict(rtol=1e-10, atol=1e-10)


def nchw(a):
    return a.transpose(0, 3, 1, 2)


def run_torch(torch, fn, x, w, b, dout):
    x, w, b = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (x, w, b))
    y = fn(x, w, b)
    y.backward(torch.tensor(np.ascontiguousarray(dout)))
    return y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()


@pytest.mark.parametrize("shape", [(5, 2), (16, 8), (7, 1)])
def test_layernorm_matches_f_layer_norm(torch, rng, shape):
    Z = rng.normal(2.0, 3.0, shape)
    gamma, beta = rng.uniform(-2, 2, (shape[0], 1)), rng.uniform(-2, 2, (shape[0], 1))
    dout = rng.standard_normal(shape)
    F = torch.nn.functional
    y, dx, dw, db = run_torch(torch, lambda x, w, b: F.layer_norm(x, (shape[0],), w, b, eps=1e-5),
                              Z.T, gamma.ravel(), beta.ravel(), dout.T)  # fmt: skip
    out, cache = layernorm_forward(Z, gamma, beta)
    dZ, dgamma, dbeta = layernorm_backward(dout, cache)
    np.testing.assert_allclose(out, y.T, **TOL)
    np.testing.assert_allclose(dZ, dx.T, **TOL)
    np.testing.assert_allclose(dgamma.ravel(), dw, **TOL)
    np.testing.assert_allclose(dbeta.ravel(), db, **TOL)


def conv_methods(F):
    return {
        "batch": (lambda X, g, b: spatial_batchnorm_forward(X, g, b), spatial_batchnorm_backward,
                  lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)),
        "group": (lambda X, g, b: groupnorm_forward(X, g, b, groups=3), groupnorm_backward,
                  lambda x, w, b: F.group_norm(x, 3, w, b, eps=1e-5)),
        "instance": (lambda X, g, b: instancenorm_forward(X, g, b), groupnorm_backward,
                     lambda x, w, b: F.instance_norm(x, weight=w, bias=b, use_input_stats=True, eps=1e-5)),
        "layer (one group)": (lambda X, g, b: groupnorm_forward(X, g, b, groups=1), groupnorm_backward,
                              lambda x, w, b: F.group_norm(x, 1, w, b, eps=1e-5)),
    }  # fmt: skip


@pytest.mark.parametrize("method", ["batch", "group", "instance", "layer (one group)"])
@pytest.mark.parametrize("shape", [(4, 5, 3, 6), (2, 1, 1, 6), (1, 4, 4, 6)])
def test_conv_norms_match_pytorch(torch, rng, method, shape):
    forward, backward, reference = conv_methods(torch.nn.functional)[method]
    X = rng.normal(1.0, 2.0, shape)
    gamma = rng.uniform(0.5, 2.0, (1, 1, 1, 6)) * rng.choice([-1.0, 1.0], (1, 1, 1, 6))
    beta = rng.uniform(-2.0, 2.0, (1, 1, 1, 6))
    dout = rng.standard_normal(shape)
    if shape[1] * shape[2] == 1 and method == "instance":
        pytest.skip("instance norm of one position: a set of one entry, variance 0 (PyTorch refuses it)")
    y, dx, dw, db = run_torch(torch, reference, nchw(X), gamma.ravel(), beta.ravel(), nchw(dout))
    out, cache = forward(X, gamma, beta)
    dX, dgamma, dbeta = backward(dout, cache)
    np.testing.assert_allclose(nchw(out), y, **TOL)
    np.testing.assert_allclose(nchw(dX), dx, **TOL)
    np.testing.assert_allclose(dgamma.ravel(), dw, **TOL)
    np.testing.assert_allclose(dbeta.ravel(), db, **TOL)
