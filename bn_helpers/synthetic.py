"""Small synthetic problems for the notebooks' experiments. Every generator takes an explicit rng."""

from __future__ import annotations

import numpy as np

from ._validation import check_generator, check_int, check_scalar


def make_two_scale_regression(m, rng, scale_ratio=100.0, noise=0.1, mean=(0.0, 0.0)):
    """A linear-regression problem whose two features have very different scales.

    ``x1 ~ N(mean[0], 1)`` and ``x2 ~ N(mean[1], scale_ratio**2)``; the target
    ``y = 2 * z1 - z2 + 0.5 + noise`` has weights 2 and -1 on the
    *standardized* features ``z1, z2``: after normalizing inputs the two
    weights are of similar size, before it the second is ``scale_ratio``
    times smaller.

    Returns ``X`` ``(2, m)`` and ``y`` ``(m,)``.
    """
    m = check_int(m, "m", low=1)
    check_generator(rng)
    scale_ratio = check_scalar(scale_ratio, "scale_ratio", low=0.0, low_open=True)
    noise = check_scalar(noise, "noise", low=0.0)
    mean = np.asarray(mean, dtype=float)
    if mean.shape != (2,):
        raise ValueError(f"mean must have shape (2,), one per feature; got shape {mean.shape}")
    Z = rng.standard_normal((2, m))
    X = Z * np.array([[1.0], [scale_ratio]]) + mean[:, None]
    y = 2.0 * Z[0] - Z[1] + 0.5 + noise * rng.standard_normal(m)
    return X, y


def shifted_label_rule(X):
    """The fixed ground truth of :func:`make_covariate_shift`: class 1 above the parabola ``x2 = x1**2 / 2 - 1``."""
    return (X[1] > 0.5 * X[0] ** 2 - 1.0).astype(np.int64)


def make_covariate_shift(m, rng, shift=0.0, spread=1.0):
    """Two-class data whose *inputs* move while the labelling rule stays fixed.

    ``x ~ N((shift, shift**2 / 2 - 1), spread**2 I)``: the input cloud, centred on
    the curved class boundary, slides along it of :func:`shifted_label_rule`. A model fitted
    near ``shift=0`` (the lecture's black cats) sees a different part of the
    boundary at ``shift=3`` (coloured cats), although the rule ``x -> y`` is
    the same: covariate shift.

    Returns ``X`` ``(2, m)`` and int labels ``y`` ``(m,)``.
    """
    m = check_int(m, "m", low=1)
    check_generator(rng)
    shift = check_scalar(shift, "shift")
    spread = check_scalar(spread, "spread", low=0.0, low_open=True)
    center = np.array([[shift], [0.5 * shift**2 - 1.0]])  # a point on the boundary
    X = center + spread * rng.standard_normal((2, m))
    return X, shifted_label_rule(X)
