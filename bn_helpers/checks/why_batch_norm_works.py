"""Notebook 05's check: one example's normalized value in each of several mini-batches (the noise of batch statistics)."""

from __future__ import annotations

import numpy as np

from ..minibatches import batch_normalized_example
from .core import Case, Mistake, drawn, learner_facing, need_function, run, size
from .implementing_batch_norm import forward_variant


def _noise_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(17) if rng is None else rng
    N = 200 if visible else size(rng, 30, 300)  # the training set's size
    z = rng.normal(1.0, 2.0, N)

    def batches(k, m):
        rest = np.array([rng.choice(np.arange(1, N), m - 1, replace=False) for _ in range(k)])
        return np.hstack([np.zeros((k, 1), dtype=int), rest])  # every batch starts with example 0

    # (k batches, m examples each): the visible ones, or (hidden) drawn, k unlike m so that rows and columns cannot
    # be mixed up unseen, m = 2 where the kind says so
    if visible:
        shapes = [(10, 8), (5, 2), (6, 5), (4, 3)]
    else:
        shapes = []
        for m in (None, 2, None, None):
            m = m or size(rng, 3, 12)
            shapes.append((size(rng, 2, 12, avoid=[m]), m))
    (k, m), (k_2, _), (k_offset, m_offset), shape_eps = shapes
    return [
        Case(f"{k} batches of {m}", (z, batches(k, m))),
        Case(f"{k_2} batches of m = 2", (z, batches(k_2, 2))),
        Case(f"a large offset (values near 1e6), {k_offset} batches of {m_offset}", (1e6 + z, batches(k_offset, m_offset)),
             tol=1e-7),
        Case("eps = 0.5", (z, batches(*shape_eps)), {"eps": 0.5}),
    ]


def _noise_ref(z, batches, eps=1e-5):
    return (batch_normalized_example(z, batches, eps),)


def _per_batch(**options):
    """One example's normalized value in each batch, by batch norm's forward pass with the settings given."""

    def fn(z, batches, eps=1e-5):
        Z = np.asarray(z, dtype=float)[np.asarray(batches)]  # (k, m): one row per batch
        k = Z.shape[0]
        return (forward_variant(**options)(Z, np.ones((k, 1)), np.zeros((k, 1)), eps)[0][:, 0],)

    return fn


NOISE_MISTAKES = [
    Mistake("your variance divides by m - 1; batch norm's batch variance divides by m.", _per_batch(ddof=1)),
    Mistake("you normalize with the mean and variance of the whole training set, which are the same for every "
            "batch: then there is no noise. Use each batch's own statistics (the mean and variance of z[batch]).",
            lambda z, batches, eps=1e-5: (np.full(len(batches), (np.asarray(z, float)[0] - np.mean(z)) / np.sqrt(np.var(z) + eps)),)),  # noqa: E501
    Mistake("your eps is outside the square root: divide by sqrt(sigma^2 + eps).", _per_batch(eps_rule="outside")),
]


@learner_facing(points=2)
def check_batch_normalized_example(fn, hidden=False):
    """Check ``fn(z, batches, eps=1e-5) -> (k,)``: one example's normalized value in each of ``k`` mini-batches.

    ``z`` ``(N,)`` is one unit's value over the training set; ``batches`` is an
    integer array ``(k, m)``, one row of example indices per mini-batch, each
    row starting with the example followed (index ``batches[i, 0]``).
    """
    need_function(fn, "check_batch_normalized_example", "check_batch_normalized_example(batch_normalized_example)",
                  allowed=("batchnorm_forward",))
    run("check_batch_normalized_example", fn, _noise_ref, drawn(_noise_cases, hidden), NOISE_MISTAKES, ["normalized values"],
        select=lambda out: (out,))  # fmt: skip
