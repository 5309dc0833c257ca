"""Input checks shared by every public function.

Each check raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right
kind, wrong shape or value) with a message that names the argument, what was
expected and what was received. Integer input is converted to float64 so no
computation silently runs in integer arithmetic; float32 stays float32.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(x, name: str) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray (ints become float64)."""
    arr = np.asarray(x)
    kind = arr.dtype.kind  # 'f' float, 'i'/'u' integer; 'b' bool, 'c' complex, 'O', 'U', ... are refused
    if kind == "f":
        return arr
    if kind not in "iu":
        raise TypeError(f"{name} must hold real numbers (int or float); got dtype {arr.dtype}")
    return arr.astype(np.float64)


def as_matrix(x, name: str, min_columns: int = 1) -> np.ndarray:
    """A 2-D float array of shape ``(n_l, m)`` with at least ``min_columns`` columns."""
    arr = as_float_array(x, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_l, m), one column per example; got shape {arr.shape}"
        )
    if arr.shape[1] < min_columns:
        raise ValueError(f"{name} must have at least {min_columns} column(s) (examples); got shape {arr.shape}")
    return arr


def as_column(x, name: str, n: int, dtype=None) -> np.ndarray:
    """A per-unit parameter of shape ``(n, 1)``; ``(n,)`` is accepted and reshaped."""
    arr = as_float_array(x, name)
    if arr.shape not in ((n, 1), (n,)):
        raise ValueError(f"{name} must have shape ({n}, 1) or ({n},), one value per unit; got shape {arr.shape}")
    arr = arr.reshape(n, 1)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or inf, saying how many and where the first is."""
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        raise ValueError(
            f"{name} contains {len(bad)} NaN or inf value(s); the first is at index {tuple(int(i) for i in bad[0])}"
        )


def check_same_shape(arr: np.ndarray, name: str, shape: tuple, what: str) -> None:
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} ({what}); got shape {arr.shape}")


def check_scalar(x, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real scalar in the given interval; returns it as float."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(x).__name__}")
    x = float(x)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite; got {x}")
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}; got {x}")
    return x


def check_eps(eps) -> float:
    """Batch norm's ``eps``: a float > 0."""
    return check_scalar(eps, "eps", low=0.0, low_open=True)


def check_scale_shift(Z: np.ndarray, gamma, beta):
    """Batch norm's ``gamma`` and ``beta`` for ``Z`` ``(n_l, m)``: finite, ``(n_l, 1)``, in ``Z``'s dtype."""
    n = Z.shape[0]
    gamma = as_column(gamma, "gamma", n, Z.dtype)
    beta = as_column(beta, "beta", n, Z.dtype)
    check_finite(gamma, "gamma")
    check_finite(beta, "beta")
    return gamma, beta


def check_int(x, name: str, *, low: int) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(x).__name__}")
    if x < low:
        raise ValueError(f"{name} must be >= {low}; got {x}")
    return int(x)


def check_choice(x, name: str, choices) -> str:
    if x not in choices:
        raise ValueError(f"unknown {name} {x!r}; expected one of {sorted(choices)}")
    return x


def check_generator(rng, name: str = "rng") -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy Generator, e.g. np.random.default_rng(0); got {type(rng).__name__}"
        )
    return rng


def check_labels(y, name: str, m: int, n_classes: int | None = None) -> np.ndarray:
    """Integer class labels of shape ``(m,)``, each in ``[0, n_classes)``."""
    arr = np.asarray(y)
    if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        raise TypeError(f"{name} must hold integer class labels; got dtype {arr.dtype}")
    if arr.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},), one label per example; got shape {arr.shape}")
    if n_classes is not None and m and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(f"{name} must hold labels in [0, {n_classes}); got values in [{arr.min()}, {arr.max()}]")
    return arr
