"""bn_helpers against PyTorch (the oracle): forward, backward, running statistics.

PyTorch stores examples in rows: our Z (n_l, m) is its input (m, n_l), so every
comparison transposes. Our ewa_beta=0.9 is PyTorch's momentum=0.1.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import nontrivial_params

from bn_helpers import BatchNorm, batchnorm_backward, batchnorm_forward, batchnorm_inference

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("shape", [(1, 2), (4, 16), (100, 60)])
def test_functional_forward_and_backward(torch, rng, shape):
    F = torch.nn.functional
    Z = rng.normal(2.0, 3.0, shape)
    gamma, beta = nontrivial_params(rng, shape[0])
    dZ_tilde = rng.standard_normal(shape)

    x = torch.tensor(Z.T, requires_grad=True)
    w = torch.tensor(gamma.ravel(), requires_grad=True)
    b = torch.tensor(beta.ravel(), requires_grad=True)
    y = F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
    y.backward(torch.tensor(dZ_tilde.T))

    Z_tilde, cache = batchnorm_forward(Z, gamma, beta, eps=1e-5)
    dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, cache)
    np.testing.assert_allclose(Z_tilde, y.detach().numpy().T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dZ, x.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma.ravel(), w.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dbeta.ravel(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_matches_torch_float32(torch, rng):
    F = torch.nn.functional
    Z = rng.standard_normal((32, 64)).astype(np.float32)
    gamma, beta = (p.astype(np.float32) for p in nontrivial_params(rng, 32))
    y = F.batch_norm(torch.tensor(Z.T), None, None, torch.tensor(gamma.ravel()), torch.tensor(beta.ravel()), True)
    out, _ = batchnorm_forward(Z, gamma, beta)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, y.numpy().T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ewa_beta", [0.9, 0.99])
def test_running_statistics_over_steps_match_batchnorm1d(torch, rng, ewa_beta):
    n = 5
    ours = BatchNorm(n, ewa_beta=ewa_beta, unbiased_running_var=True)
    theirs = torch.nn.BatchNorm1d(n, momentum=1 - ewa_beta, eps=1e-5, dtype=torch.float64)
    gamma, beta = nontrivial_params(rng, n)
    ours.gamma[:], ours.beta[:] = gamma, beta
    with torch.no_grad():
        theirs.weight[:] = torch.tensor(gamma.ravel())
        theirs.bias[:] = torch.tensor(beta.ravel())
    for step in range(12):
        m = int(rng.integers(2, 40))  # batch sizes change: the m/(m-1) factor changes too
        Z = rng.normal(step * 0.3, 1 + step * 0.2, (n, m))
        out = ours.forward(Z)
        ref = theirs(torch.tensor(Z.T)).detach().numpy().T
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.running_mean.ravel(), theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var.ravel(), theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    Z = rng.standard_normal((n, 3))
    np.testing.assert_allclose(ours.forward(Z), theirs(torch.tensor(Z.T)).detach().numpy().T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        batchnorm_inference(Z, gamma, beta, theirs.running_mean.numpy(), theirs.running_var.numpy()),
        theirs(torch.tensor(Z.T)).detach().numpy().T,
        rtol=1e-12,
        atol=1e-12,
    )


def test_default_biased_running_var_differs_from_torch(torch, rng):
    """The lecture's default (biased) is not PyTorch's: the gap is exactly the factor m / (m - 1)."""
    Z = rng.standard_normal((3, 4))
    ours = BatchNorm(3, ewa_beta=0.0)
    theirs = torch.nn.BatchNorm1d(3, momentum=1.0, dtype=torch.float64)
    ours.forward(Z)
    theirs(torch.tensor(Z.T))
    np.testing.assert_allclose(ours.running_var.ravel() * 4 / 3, theirs.running_var.numpy(), rtol=1e-12)


def test_the_pytorch_line_notebook_02_prints_runs_as_printed(torch, rng):
    """Notebook 02 shows one PyTorch line equal to batchnorm_forward; it must run when pasted."""
    import json
    import re
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parent.parent / "notebooks" / "02_implementing_batch_norm.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    lines = re.findall(r"```python\n(torch\.nn\.functional\.batch_norm\(.*)\n```", text)
    assert len(lines) == 1, lines
    Z = rng.normal(2.0, 3.0, (5, 9))
    gamma, beta = nontrivial_params(rng, 5)
    got = eval(lines[0], {"torch": torch, "Z": Z, "gamma": gamma, "beta": beta})  # noqa: S307 (our own notebook)
    np.testing.assert_allclose(got, batchnorm_forward(Z, gamma, beta)[0], rtol=1e-12, atol=1e-12)
