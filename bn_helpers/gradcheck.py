"""Gradient checking: centred finite differences and the relative error between two gradients."""

from __future__ import annotations

import numpy as np

from ._validation import check_scalar


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of a scalar function at ``x``.

    ``df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)``, error ``O(h^2)``.

    Parameters
    ----------
    f : callable ``f(x) -> float``
        Evaluated while ``x`` is perturbed in place, one entry at a time
        (``f`` may ignore its argument and read ``x`` through a closure,
        e.g. a model parameter).
    x : float ndarray of any shape; restored to its original values on return
    h : float > 0

    Returns
    -------
    ndarray of ``x``'s shape.
    """
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"x must be a float ndarray perturbed in place; got {type(x).__name__}")
    h = check_scalar(h, "h", low=0.0, low_open=True)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)  # views: writes reach x
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = float(f(x))
        flat[i] = old - h
        f_minus = float(f(x))
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def rel_error(a, b):
    """``||a - b|| / (||a|| + ||b||)``: 0 for equal arrays, 1 for opposite ones.

    The course's gradient-check measure (Euclidean norms over all entries).
    Returns 0.0 when both are zero.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_model_gradients(model, X, y, h=1e-5):
    """Compare ``model.loss_and_grads`` with numerical gradients for every parameter.

    ``model`` is an :class:`~bn_helpers.mlp.MLP` (anything with ``params``,
    ``loss(X, y)`` and ``loss_and_grads(X, y)``). Runs in the model's current
    mode. Returns ``{name: relative error}``.
    """
    _, grads = model.loss_and_grads(X, y)
    return {
        name: rel_error(grads[name], numerical_gradient(lambda _: model.loss(X, y), p, h))
        for name, p in model.params.items()
    }


def error_line(name, a, b, bound, below):
    """One line saying how far ``a`` is from ``b`` (relative error, :func:`rel_error`) and the bound it must meet.

    ``a`` and ``b``: arrays of one shape. An error under ``below`` reads
    "below <below>", so that the line is the same on every machine when
    ``below`` is far above the last-bit differences between CPUs (for
    float64 arithmetic on values of order 1, about 1e-16); a larger error is
    printed with two digits, and "too large" is added when it exceeds ``bound``.
    """
    err = rel_error(a, b)
    size = f"below {_power(below)}" if err < below else f"{err:.1e}"
    return f"{name}: relative error {size} (the bound is {_power(bound)})" + ("" if err < bound else ": too large")


def _power(x):
    """``1e-08`` as ``1e-8``."""
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"
