"""Notebook 06's checks: batch norm at inference with running statistics, and the exponentially weighted average."""

from __future__ import annotations

import numpy as np

from ..batchnorm import batchnorm_inference
from ..ewa import ewa_update
from .core import Case, Mistake, drawn, learner_facing, need_function, run
from .implementing_batch_norm import forward_variant


def _inference_cases(rng=None):
    rng = np.random.default_rng(11) if rng is None else rng

    def stats(n, dtype=np.float64):
        return (rng.normal(0.0, 2.0, (n, 1)).astype(dtype), rng.uniform(0.5, 3.0, (n, 1)).astype(dtype))

    def params(n, dtype=np.float64):
        return rng.uniform(0.5, 2.0, (n, 1)).astype(dtype), rng.uniform(-2.0, 2.0, (n, 1)).astype(dtype)

    return [
        Case("3 units x 5 examples", (rng.normal(1.0, 2.0, (3, 5)), *params(3), *stats(3))),
        Case("a single example (m = 1)", (rng.normal(1.0, 2.0, (4, 1)), *params(4), *stats(4))),
        Case("a running variance near 0", (rng.normal(0.0, 1e-3, (2, 6)), *params(2), np.zeros((2, 1)),
                                           np.array([[1e-6], [2.0]]))),  # fmt: skip
        Case("float32 input", (rng.normal(1.0, 2.0, (3, 4)).astype(np.float32), *params(3, np.float32),
                               *stats(3, np.float32))),  # fmt: skip
        Case("integer input", (rng.integers(-5, 6, (2, 7)), *params(2), *stats(2))),
    ]


def _inference_ref(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    return (batchnorm_inference(f(Z), f(gamma), f(beta), f(running_mean), f(running_var), eps),)


def _inf(Z, g, b, mean, var, eps, scale=None):
    Z = np.asarray(Z, dtype=float)
    return g * (Z - mean) / (np.sqrt(var + eps) if scale is None else scale) + b


INFERENCE_MISTAKES = [
    Mistake("you normalize with the batch's own mean and variance. At test time use the running averages "
            "(running_mean, running_var): a single example has no batch statistics, and a prediction must not "
            "depend on the other examples.",
            lambda Z, g, b, mean, var, eps=1e-5: forward_variant()(Z, g, b, eps)),
    Mistake("you combine the batch's own mean with the running variance: both statistics come from training, "
            "z_norm = (z - running_mean) / sqrt(running_var + eps).",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, np.asarray(Z, float).mean(axis=1, keepdims=True), var, eps),)),
    Mistake("you combine the running mean with the batch's own variance: both statistics come from training, "
            "z_norm = (z - running_mean) / sqrt(running_var + eps).",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, np.asarray(Z, float).var(axis=1, keepdims=True), eps),)),
    Mistake("your eps is outside the square root: divide by sqrt(running_var + eps).",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, var, eps, scale=np.sqrt(var) + eps),)),
    Mistake("you divide by the running variance instead of its square root.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, var, eps, scale=var + eps),)),
    Mistake("your gamma and beta are swapped: z_tilde = gamma * z_norm + beta.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, b, g, mean, var, eps),)),
    Mistake("gamma and beta are not applied: return gamma * z_norm + beta.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, 1.0, 0.0, mean, var, eps),)),
]


@learner_facing(points=2)
def check_batchnorm_inference(fn, hidden=False):
    """Check ``fn(Z, gamma, beta, running_mean, running_var, eps=1e-5) -> Z_tilde`` against ``batchnorm_inference``.

    ``Z`` ``(n_l, m)`` with any ``m >= 1``; the other arrays ``(n_l, 1)``.
    """
    need_function(fn, "check_batchnorm_inference", "check_batchnorm_inference(batchnorm_inference)")
    run("check_batchnorm_inference", fn, _inference_ref, drawn(_inference_cases, hidden), INFERENCE_MISTAKES, ["Z_tilde"],
        select=lambda out: (out,))  # fmt: skip


def _ewa_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(3) if rng is None else rng
    # The visible cases show round numbers; hidden ones draw every value, so that no answer can be looked up.
    a, v = (0.0, 5.0) if visible else (float(np.round(rng.normal(0.0, 3.0), 3)), float(np.round(rng.normal(0.0, 3.0), 3)))
    averages = np.array([[1.0], [2.0]]) if visible else rng.normal(0.0, 2.0, (2, 1))
    values = np.array([[3.0], [-1.0]]) if visible else rng.normal(0.0, 2.0, (2, 1))
    ints = (np.array([[0], [4]]), np.array([[10], [2]])) if visible else tuple(rng.integers(-10, 11, (2, 2, 1)))
    return [
        Case("arrays of shape (3, 1), beta = 0.99", (rng.normal(0.0, 1.0, (3, 1)), rng.normal(2.0, 1.0, (3, 1))),
             {"beta": 0.99}),  # fmt: skip
        Case(f"numbers: average {a!r}, value {v!r}, beta = 0.9", (a, v), {"beta": 0.9}),
        Case("beta = 0 (the average becomes the value)", (rng.normal(0.0, 1.0, (2, 1)), rng.normal(0.0, 1.0, (2, 1))),
             {"beta": 0.0}),  # fmt: skip
        Case("the default beta (0.9)", (averages, values)),
        Case("integer values", ints, {"beta": 0.5}),
    ]


def _ewa_ref(average, value, beta=0.9):
    return (ewa_update(np.asarray(average, dtype=float), np.asarray(value, dtype=float), beta=beta),)


EWA_MISTAKES = [
    Mistake("your weights are swapped: the average keeps beta of itself and takes (1 - beta) of the new value, "
            "average := beta * average + (1 - beta) * value.",
            lambda average, value, beta=0.9: ((1 - beta) * np.asarray(average, float) + beta * np.asarray(value, float),)),
    Mistake("you add the new value without its weight (1 - beta): average := beta * average + (1 - beta) * value.",
            lambda average, value, beta=0.9: (beta * np.asarray(average, float) + np.asarray(value, float),)),
    Mistake("you return the new value only; the average must remember the past: beta * average + (1 - beta) * value.",
            lambda average, value, beta=0.9: (np.asarray(value, float) + 0.0,)),
]


@learner_facing(points=1)
def check_ewa_update(fn, hidden=False):
    """Check ``fn(average, value, beta=0.9) -> new average`` (numbers or arrays of one shape) against ``ewa_update``."""
    need_function(fn, "check_ewa_update", "check_ewa_update(ewa_update)")
    run("check_ewa_update", fn, _ewa_ref, drawn(_ewa_cases, hidden), EWA_MISTAKES, ["new average"], select=lambda out: (out,))
