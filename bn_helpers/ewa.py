"""Exponentially weighted averages: how batch norm estimates mu and sigma^2 for test time.

The ``beta`` here is the *average's* beta (how much of the old average to keep),
not batch norm's learned shift ``beta`` and not an optimizer's ``beta1``/``beta2``.

Frameworks call the same knob "momentum", with opposite meanings:

======================  ===================  =======================
this course             PyTorch BatchNorm     Keras BatchNormalization
======================  ===================  =======================
``beta=0.9``            ``momentum=0.1``     ``momentum=0.9``
``beta=0.99``           ``momentum=0.01``    ``momentum=0.99`` (default)
======================  ===================  =======================

PyTorch's ``momentum`` is the weight of the *new* value (``1 - beta``); Keras's
is the weight of the *old* average (``beta``).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_finite, check_scalar


def ewa_update(average, value, beta=0.9):
    """One step of the exponentially weighted average.

    Returns ``beta * average + (1 - beta) * value``.

    Parameters
    ----------
    average : float or ndarray
        The current average (e.g. running mean, shape ``(n_l, 1)``).
    value : float or ndarray, same shape as ``average``
        The new observation (e.g. this mini-batch's mean).
    beta : float in [0, 1)
        The weight kept on the old average; the average spans roughly
        ``1 / (1 - beta)`` values. PyTorch's ``momentum=0.1`` is ``beta=0.9``
        here; Keras's ``momentum=0.99`` is ``beta=0.99`` here.
    """
    beta = check_scalar(beta, "beta", low=0.0, high=1.0, high_open=True)
    a = as_float_array(average, "average")
    v = as_float_array(value, "value")
    if a.shape != v.shape:
        raise ValueError(f"value must have the same shape as average {a.shape}; got shape {v.shape}")
    check_finite(a, "average")
    check_finite(v, "value")
    out = ewa_step(a, v, beta)
    return out if out.ndim else float(out)


def ewa_step(average, value, beta):
    """The formula of :func:`ewa_update` without its checks, for callers that hold valid arrays."""
    return beta * average + (1.0 - beta) * value


def ewa_series(values, beta=0.9, bias_correction=False):
    """The running average ``v_t`` after each of a sequence of values, starting from ``v_0 = 0``.

    Parameters
    ----------
    values : array of shape ``(T,)`` or ``(T, ...)``
        ``theta_1 ... theta_T`` (e.g. the batch means of one unit, one per step).
    beta : float in [0, 1)
        The average's beta (see :func:`ewa_update`).
    bias_correction : bool
        Divide ``v_t`` by ``1 - beta**t`` so the early values are not pulled
        towards the starting 0.

    Returns
    -------
    ndarray of the same shape as ``values``.
    """
    theta = as_float_array(values, "values")
    if theta.ndim == 0 or theta.shape[0] == 0:
        raise ValueError(f"values must be a non-empty sequence, shape (T,) or (T, ...); got shape {theta.shape}")
    check_finite(theta, "values")
    beta = check_scalar(beta, "beta", low=0.0, high=1.0, high_open=True)
    out = np.empty_like(theta)
    v = np.zeros_like(theta[0])
    for t in range(theta.shape[0]):
        v = beta * v + (1.0 - beta) * theta[t]
        out[t] = v
    if bias_correction:
        t = np.arange(1, theta.shape[0] + 1).reshape((-1,) + (1,) * (theta.ndim - 1))
        out /= 1.0 - beta**t
    return out
