"""Checks for the exercises: try the learner's function, compare with ``bn_helpers``, name the mistake.

Each ``check_<name>(fn)`` calls the learner's ``fn`` on a few cases chosen to
expose common mistakes (odd shapes, ``m = 2``, a large offset, a unit of tiny
variance, non-trivial ``gamma`` and ``beta``, float32 and integer input) and
compares what it returns with the reference implementation in ``bn_helpers``:

- right: prints one line, what was checked and a bound on the worst relative
  error ("< 1e-10"), which reads the same on every machine;
- wrong: raises ``AssertionError`` saying which case failed, what was expected
  and what came back (shapes, or values rounded), and, when the result is what
  a known mistake would give, the mistake and how to fix it;
- not written yet (``NotImplementedError``): lets it through unchanged;
- any other exception: reported with the case that triggered it.

A check is a teacher, not a judge: every message it can give is produced by
a test in ``tests/test_checks.py`` that feeds it that mistake.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_inference
from .ewa import ewa_update
from .layers import activation_forward
from .normalize import input_statistics, normalize_inputs
from .optimizers import Momentum

# Relative error allowed per input dtype: float64 results agree to rounding;
# float32 input is compared with the float64 reference at float32 precision.
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


@dataclass
class Case:
    """One call of the learner's function: what it is, and its arguments (copied before each call)."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    tol: float | None = None  # a looser bound where float64 itself keeps fewer digits (a large offset)

    @property
    def dtype(self):
        """The precision the result is held to: float32 if any input array is float32."""
        arrays = [a for a in (*self.args, *self.kwargs.values()) if isinstance(a, np.ndarray)]
        return np.dtype(np.float32) if any(a.dtype == np.float32 for a in arrays) else np.dtype(np.float64)


@dataclass
class Mistake:
    """A known wrong implementation (same signature as the reference) and what to tell the learner."""

    message: str
    fn: Callable


def rel_error(a, b) -> float:
    """``||a - b|| / (||a|| + ||b||)``, 0 when both are 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def _show(x, digits=4, limit=6):
    """A short, rounded rendering of an array for a message."""
    a = np.asarray(x, dtype=float)
    flat = np.round(a.ravel()[:limit], digits) + 0.0
    more = ", ..." if a.size > limit else ""
    return f"[{', '.join(f'{v:g}' for v in flat)}{more}] (shape {a.shape})"


def _call(fn, case, what, arg_names):
    """Call ``fn`` on copies of the case's inputs; report an exception with the case, let NotImplementedError through."""
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as err:  # the learner's bug, reported with the input that triggered it
        hint = ""
        if "broadcast" in str(err):
            hint = (" Check the shapes: a per-unit (or per-feature) statistic has shape (n, 1), "
                    "e.g. `Z.mean(axis=1, keepdims=True)`, so that it lines up with the rows of an (n, m) array.")  # fmt: skip
        raise AssertionError(
            f"{what}: case '{case.name}': your function raised {type(err).__name__}: {err}.{hint}"
        ) from err
    # Inputs must come back as they went in: a caller may still need them.
    names = list(arg_names[: len(args)]) + list(kwargs)
    for name, before, after in zip(names, [*case.args, *case.kwargs.values()], [*args, *kwargs.values()]):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            raise AssertionError(
                f"{what}: case '{case.name}': your function changed its input `{name}` in place. "
                f"Compute new arrays (e.g. `Z - mu`) instead of updating an input (`Z -= mu`): "
                f"the caller may still need it."
            )
        if isinstance(before, dict):
            for key in before:
                if not np.array_equal(before[key], after[key]):
                    raise AssertionError(
                        f"{what}: case '{case.name}': your function changed {name}[{key!r}] in place; "
                        f"it should return new values and leave its inputs alone."
                    )
    return out


def _compare(name, expected, got, tol):
    """None if ``got`` matches ``expected`` (shape and values), else what differs."""
    got_arr = np.asarray(got)
    if got_arr.dtype == object or not np.issubdtype(got_arr.dtype, np.number):
        return f"{name}: expected a numeric array, got {type(got).__name__}"
    if got_arr.shape != np.shape(expected):
        hint = ""
        if got_arr.shape == np.shape(expected)[:1]:
            hint = (f" That is the wrong output shape: {got_arr.shape} where {np.shape(expected)} is expected; "
                    f"keep the second axis (e.g. `keepdims=True`).")  # fmt: skip
        elif got_arr.shape == np.shape(expected)[::-1]:
            hint = " That is the transpose of the expected shape: one column per example, (n_l, m)."
        return f"{name}: expected shape {np.shape(expected)}, got shape {got_arr.shape}.{hint}"
    if not np.all(np.isfinite(got_arr)):
        return f"{name}: contains NaN or inf: {_show(got_arr)}"
    err = rel_error(expected, got_arr)
    if err > tol:
        return f"{name}: expected {_show(expected)}, got {_show(got_arr)} (relative error {err:.1e})"
    return None


def _same(a, b):
    """Equal shapes, NaN in the same places, and the rest equal to rounding."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    ok = ~np.isnan(a)
    return rel_error(a[ok], b[ok]) < 1e-7


def _matching_mistakes(mistakes, case, got_parts):
    """The messages of every catalogued mistake whose output equals what the learner returned."""
    found = []
    for mistake in mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = mistake.fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except Exception:  # a mistake that cannot even run on this case does not match it
            continue
        if len(wrong) == len(got_parts) and all(_same(w, g) for w, g in zip(wrong, got_parts)):
            found.append(mistake.message)
    return found


def _run(title, fn, reference, cases, mistakes, names, select=lambda out: out):
    """The common loop: every case against the reference; stop at the first failure with the best message.

    ``reference`` and each mistake take the case's arguments and return the
    expected outputs as a tuple, in the order of ``names``; ``select`` turns
    the learner's return value into the same tuple (raising ``AssertionError``
    when it has the wrong form).
    """
    import inspect

    arg_names = list(inspect.signature(reference).parameters)
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        got = select(_call(fn, case, title, arg_names))
        tol = case.tol or TOLERANCE[case.dtype]
        problems = [p for p in (_compare(n, e, g, tol) for n, e, g in zip(names, expected, got)) if p]
        if problems:
            named = _matching_mistakes(mistakes, case, got)
            lines = [f"{title}: wrong result in case '{case.name}'.", *problems]
            if named:
                lines += [f"Likely mistake: {message}" for message in named]
            raise AssertionError("\n".join(lines))
    # The bound each case met, never the measured error: the line must read the same on every machine.
    bounds = [f"< {TOLERANCE[d]:g} in {d.name}" for d in sorted({c.dtype for c in cases}, key=str, reverse=True)]
    bounds += [f"< {c.tol:g} in the case '{c.name}'" for c in cases if c.tol]
    print(f"{title}: right in all {len(cases)} cases ({'; '.join(c.name for c in cases)}). "
          f"Worst relative error {', '.join(bounds)}.")  # fmt: skip


def _need_function(fn, what, example):
    if not callable(fn):
        raise TypeError(f"{what} takes your function itself, e.g. {example}; got {type(fn).__name__}")


def _tuple_of(n, what, names):
    def select(out):
        if not isinstance(out, tuple) or len(out) != n:
            raise AssertionError(f"{what} must return a tuple of {n} ({', '.join(names)}); got {type(out).__name__}"
                                 + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))  # fmt: skip
        return out

    return select


# --- batch norm's forward pass (notebook 02) ---------------------------------------


def _forward_cases():
    rng = np.random.default_rng(2024)

    def params(n, dtype=np.float64):
        return (rng.uniform(0.5, 2.0, (n, 1)).astype(dtype) * rng.choice([-1.0, 1.0], (n, 1)).astype(dtype),
                rng.uniform(-2.0, 2.0, (n, 1)).astype(dtype))  # fmt: skip

    tiny = rng.normal(0.0, 1.0, (3, 6)) * np.array([[1.0], [1e-4], [3.0]])  # unit 2 has a tiny variance
    return [
        Case("3 units x 5 examples, non-trivial gamma and beta", (rng.normal(2.0, 3.0, (3, 5)), *params(3))),
        Case("m = 2 examples", (rng.normal(0.0, 1.0, (4, 2)), *params(4))),
        # float64 keeps about 8 digits of a spread of 1 at 1e8: any order of operations differs by ~1e-8
        Case("a large offset (values near 1e8)", (1e8 + rng.normal(0.0, 1.0, (2, 7)), *params(2)), tol=1e-6),
        Case("a unit of tiny variance (std 1e-4, below sqrt(eps))", (tiny, *params(3))),
        Case("eps = 0.1", (rng.normal(1.0, 0.5, (2, 4)), *params(2)), {"eps": 0.1}),
        Case("float32 input", (rng.normal(1.0, 2.0, (3, 8)).astype(np.float32), *params(3, np.float32))),
        Case("integer input", (rng.integers(-5, 6, (2, 9)), *params(2))),
    ]


def _forward_ref(Z, gamma, beta, eps=1e-5):
    return (batchnorm_forward(np.asarray(Z, dtype=float), np.asarray(gamma, float), np.asarray(beta, float), eps)[0],)


def _bn(Z, gamma, beta, eps, mu=None, var=None, scale=None):
    """Batch norm with pieces swapped out: the engine of the mistakes below."""
    Z = np.asarray(Z, dtype=float)
    mu = Z.mean(axis=1, keepdims=True) if mu is None else mu
    var = Z.var(axis=1, keepdims=True) if var is None else var
    scale = np.sqrt(var + eps) if scale is None else scale
    return (Z - mu) / scale


FORWARD_MISTAKES = [
    Mistake("your variance divides by m - 1; batch norm's batch variance divides by m: it describes this batch, "
            "it does not estimate a population (np.var's default ddof=0 is right).",
            lambda Z, g, b, eps=1e-5: (g * _bn(Z, g, b, eps, var=np.asarray(Z, float).var(axis=1, keepdims=True, ddof=1)) + b,)),  # noqa: E501
    Mistake("your statistics are taken over the wrong axis: over the units of each example (axis 0) instead of over "
            "the examples of each unit (axis=1, keepdims=True).",
            lambda Z, g, b, eps=1e-5: (g * ((np.asarray(Z, float) - np.asarray(Z, float).mean(axis=0, keepdims=True))
                                           / np.sqrt(np.asarray(Z, float).var(axis=0, keepdims=True) + eps)) + b,)),
    Mistake("your eps is outside the square root: divide by sqrt(sigma^2 + eps), not sqrt(sigma^2) + eps. "
            "The difference shows for a unit whose variance is near eps or smaller.",
            lambda Z, g, b, eps=1e-5: (g * _bn(Z, g, b, eps, scale=np.sqrt(np.asarray(Z, float).var(axis=1, keepdims=True)) + eps) + b,)),  # noqa: E501
    Mistake("your gamma and beta are swapped: z_tilde = gamma * z_norm + beta (gamma scales, beta shifts).",
            lambda Z, g, b, eps=1e-5: (b * _bn(Z, g, b, eps) + g,)),
    Mistake("gamma and beta are not applied: you return z_norm. Return gamma * z_norm + beta.",
            lambda Z, g, b, eps=1e-5: (_bn(Z, g, b, eps),)),
    Mistake("only gamma is applied: add beta too (z_tilde = gamma * z_norm + beta).",
            lambda Z, g, b, eps=1e-5: (g * _bn(Z, g, b, eps),)),
    Mistake("your variance is computed in one pass as mean(z^2) - mean(z)^2, which loses every digit when the "
            "values are large compared with their spread. Centre first: mean((z - mu)^2).",
            lambda Z, g, b, eps=1e-5: (g * _bn(Z, g, b, eps, var=(np.asarray(Z, float) ** 2).mean(axis=1, keepdims=True)
                                               - np.asarray(Z, float).mean(axis=1, keepdims=True) ** 2) + b,)),
    Mistake("you divide by the variance instead of the standard deviation: z_norm = (z - mu) / sqrt(sigma^2 + eps).",  # noqa: E501
            lambda Z, g, b, eps=1e-5: (g * _bn(Z, g, b, eps, scale=np.asarray(Z, float).var(axis=1, keepdims=True) + eps) + b,)),  # noqa: E501
]


def check_batchnorm_forward(fn):
    """Check ``fn(Z, gamma, beta, eps=1e-5) -> (Z_tilde, cache)`` against :func:`bn_helpers.batchnorm_forward`.

    ``Z`` has shape ``(n_l, m)``, ``gamma`` and ``beta`` ``(n_l, 1)``; only
    ``Z_tilde`` is compared (the cache is yours, for your backward pass).
    """
    _need_function(fn, "check_batchnorm_forward", "check_batchnorm_forward(batchnorm_forward)")
    _run("check_batchnorm_forward", fn, _forward_ref, _forward_cases(), FORWARD_MISTAKES, ["Z_tilde"],
         select=lambda out: _tuple_of(2, "batchnorm_forward", ["Z_tilde", "cache"])(out)[:1])  # fmt: skip


# --- batch norm's backward pass (notebook 02) --------------------------------------


def _backward_cases():
    rng = np.random.default_rng(7)
    cases = []
    for name, Z, eps in [("3 units x 5 examples, non-trivial gamma and beta", rng.normal(2.0, 3.0, (3, 5)), 1e-5),
                         ("m = 2 examples, eps = 0.5 (so the gradient is not tiny)", rng.normal(0.0, 1.0, (4, 2)), 0.5),
                         ("values near 10 with spread 1", 10 + rng.normal(0.0, 1.0, (2, 7)), 1e-5),
                         ("one unit, 8 examples", rng.normal(-1.0, 2.0, (1, 8)), 1e-5)]:  # fmt: skip
        n, m = Z.shape
        gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        beta = rng.uniform(-2.0, 2.0, (n, 1))
        cases.append(Case(name, (Z, gamma, beta, eps, rng.standard_normal((n, m)))))
    return cases


def _backward_ref(Z, gamma, beta, eps, dZ_tilde):  # noqa: N803
    return batchnorm_backward(dZ_tilde, batchnorm_forward(Z, gamma, beta, eps)[1])


def _pieces(Z, gamma, eps, d):
    Z = np.asarray(Z, dtype=float)
    inv = 1.0 / np.sqrt(Z.var(axis=1, keepdims=True) + eps)
    z_norm = (Z - Z.mean(axis=1, keepdims=True)) * inv
    return z_norm, inv, d.sum(axis=1, keepdims=True), (d * z_norm).sum(axis=1, keepdims=True)


def _backward_mistake(dZ=None, dgamma=None, dbeta=None):
    """A backward pass that is right except for the parts given (functions of the pieces)."""

    def fn(Z, gamma, beta, eps, d):
        z_norm, inv, db, dg = _pieces(Z, gamma, eps, d)
        m = d.shape[1]
        right_dZ = gamma * inv / m * (m * d - db - z_norm * dg)
        ctx = dict(z_norm=z_norm, inv=inv, db=db, dg=dg, m=m, d=d, gamma=gamma)
        return (dZ(ctx) if dZ else right_dZ, dgamma(ctx) if dgamma else dg, dbeta(ctx) if dbeta else db)

    return fn


BACKWARD_MISTAKES = [
    Mistake("your dZ has no terms through mu and sigma^2: gamma / sqrt(sigma^2 + eps) * dZ_tilde treats mu and sigma^2 as "
            "constants, but both depend on every z of the batch. "
            "dZ = gamma / (m * sqrt(sigma^2 + eps)) * (m * dZ_tilde - dbeta - z_norm * dgamma).",
            _backward_mistake(dZ=lambda c: c["gamma"] * c["inv"] * c["d"])),
    Mistake("your dZ has the term through mu but not the one through sigma^2 (the - z_norm * dgamma term).",
            _backward_mistake(dZ=lambda c: c["gamma"] * c["inv"] / c["m"] * (c["m"] * c["d"] - c["db"]))),
    Mistake("your dgamma lacks the z_norm factor: dgamma = sum_i dz_tilde_i * z_norm_i (gamma multiplies z_norm).",
            _backward_mistake(dgamma=lambda c: c["db"])),
    Mistake("your gradients of gamma and beta are summed over the wrong axis: sum over the examples "
            "(axis=1, keepdims=True), one value per unit.",
            _backward_mistake(dgamma=lambda c: (c["d"] * c["z_norm"]).sum(axis=0, keepdims=True),
                              dbeta=lambda c: c["d"].sum(axis=0, keepdims=True))),  # fmt: skip
    Mistake("your dgamma and dbeta are swapped.", _backward_mistake(dgamma=lambda c: c["db"], dbeta=lambda c: c["dg"])),
]


def check_batchnorm_backward(forward_fn, backward_fn):
    """Check ``backward_fn(dZ_tilde, cache) -> (dZ, dgamma, dbeta)``, with ``cache`` from your ``forward_fn``.

    Shapes: ``dZ`` ``(n_l, m)``, ``dgamma`` and ``dbeta`` ``(n_l, 1)``. The
    forward pass is checked first (silently), since the backward pass uses its cache.
    """
    for f in (forward_fn, backward_fn):
        _need_function(f, "check_batchnorm_backward", "check_batchnorm_backward(batchnorm_forward, batchnorm_backward)")
    try:
        with _quiet():
            check_batchnorm_forward(forward_fn)
    except AssertionError as err:
        raise AssertionError("check_batchnorm_backward uses your batchnorm_forward's cache, and that forward pass "
                             f"is not right yet. Fix it first; check_batchnorm_forward says:\n{err}") from None  # fmt: skip

    def via_learners_cache(Z, gamma, beta, eps, dZ_tilde):
        out = forward_fn(Z, gamma, beta, eps)
        return backward_fn(dZ_tilde, out[1])

    _run("check_batchnorm_backward", via_learners_cache, _backward_ref, _backward_cases(), BACKWARD_MISTAKES,
         ["dZ", "dgamma", "dbeta"], select=_tuple_of(3, "batchnorm_backward", ["dZ", "dgamma", "dbeta"]))  # fmt: skip


class _quiet:
    """Swallow a check's success line (used when one check runs another first)."""

    def __enter__(self):
        import contextlib
        import io

        self._redirect = contextlib.redirect_stdout(io.StringIO())
        self._redirect.__enter__()

    def __exit__(self, *exc):
        self._redirect.__exit__(*exc)
        return False


# --- inference with running statistics (notebook 06) --------------------------------


def _inference_cases():
    rng = np.random.default_rng(11)

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
            lambda Z, g, b, mean, var, eps=1e-5: (g * _bn(Z, g, b, eps) + b,)),
    Mistake("your eps is outside the square root: divide by sqrt(running_var + eps).",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, var, eps, scale=np.sqrt(var) + eps),)),
    Mistake("you divide by the running variance instead of its square root.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, var, eps, scale=var + eps),)),
    Mistake("your gamma and beta are swapped: z_tilde = gamma * z_norm + beta.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, b, g, mean, var, eps),)),
    Mistake("gamma and beta are not applied: return gamma * z_norm + beta.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, 1.0, 0.0, mean, var, eps),)),
]


def check_batchnorm_inference(fn):
    """Check ``fn(Z, gamma, beta, running_mean, running_var, eps=1e-5) -> Z_tilde`` against ``batchnorm_inference``.

    ``Z`` ``(n_l, m)`` with any ``m >= 1``; the other arrays ``(n_l, 1)``.
    """
    _need_function(fn, "check_batchnorm_inference", "check_batchnorm_inference(batchnorm_inference)")
    _run("check_batchnorm_inference", fn, _inference_ref, _inference_cases(), INFERENCE_MISTAKES, ["Z_tilde"],
         select=lambda out: (out,))  # fmt: skip


# --- the exponentially weighted average (notebook 06) ---------------------------------


def _ewa_cases():
    rng = np.random.default_rng(3)
    return [
        Case("arrays of shape (3, 1), beta = 0.99", (rng.normal(0.0, 1.0, (3, 1)), rng.normal(2.0, 1.0, (3, 1))),
             {"beta": 0.99}),  # fmt: skip
        Case("numbers: average 0.0, value 5.0, beta = 0.9", (0.0, 5.0), {"beta": 0.9}),
        Case("beta = 0 (the average becomes the value)", (rng.normal(0.0, 1.0, (2, 1)), rng.normal(0.0, 1.0, (2, 1))),
             {"beta": 0.0}),  # fmt: skip
        Case("the default beta (0.9)", (np.array([[1.0], [2.0]]), np.array([[3.0], [-1.0]]))),
        Case("integer values", (np.array([[0], [4]]), np.array([[10], [2]])), {"beta": 0.5}),
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


def check_ewa_update(fn):
    """Check ``fn(average, value, beta=0.9) -> new average`` (numbers or arrays of one shape) against ``ewa_update``."""
    _need_function(fn, "check_ewa_update", "check_ewa_update(ewa_update)")
    _run("check_ewa_update", fn, _ewa_ref, _ewa_cases(), EWA_MISTAKES, ["new average"], select=lambda out: (out,))


# --- normalizing the inputs (notebook 01) ---------------------------------------------


def _normalize_cases():
    rng = np.random.default_rng(5)

    def split(X):
        return X[:, :40], X[:, 40:]

    scales = np.array([[1.0], [10.0], [0.01]])
    return [
        Case("3 features on very different scales; 40 training, 15 test examples",
             split(rng.normal(0.0, 1.0, (3, 55)) * scales + np.array([[5.0], [-3.0], [0.0]]))),  # fmt: skip
        Case("a large offset (values near 1e6)", split(1e6 + rng.normal(0.0, 1.0, (2, 50))), tol=1e-7),
        Case("integer input", split(rng.integers(-50, 51, (2, 45)))),
    ]


def _normalize_ref(X_train, X_test):
    X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
    mu, var = input_statistics(X_train)
    return mu, var, normalize_inputs(X_train, mu, var), normalize_inputs(X_test, mu, var)


def _normalize_mistake(stats, normalize):
    def fn(X_train, X_test):
        X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
        mu, var = stats(X_train)
        return mu, var, normalize(X_train, mu, var), normalize(X_test, mu, var)

    fn.stats = lambda X_train, X_test: stats(np.asarray(X_train, float))
    return fn


def _right_stats(X):
    return X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True)


def _right_normalize(X, mu, var):
    return (X - mu) / np.sqrt(var)


NORMALIZE_MISTAKES = [
    Mistake("your variance divides by m - 1 (ddof=1); the course's sigma^2 divides by m.",
            _normalize_mistake(lambda X: (X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True, ddof=1)),
                               _right_normalize)),  # fmt: skip
    Mistake("your statistics are taken over the wrong axis: one mean and variance per feature is over the "
            "examples, axis=1 (with keepdims=True, shape (n_x, 1)).",
            _normalize_mistake(lambda X: (X.mean(axis=0, keepdims=True), X.var(axis=0, keepdims=True)),
                               _right_normalize)),  # fmt: skip
    Mistake("your normalize_inputs computes the statistics of the array it is given, so the test set is normalized "
            "with its own mean and variance. Use the mu and var passed in: the training set's.",
            _normalize_mistake(_right_stats, lambda X, mu, var: _right_normalize(X, *_right_stats(X)))),
    Mistake("you divide by the variance instead of the standard deviation sqrt(var).",
            _normalize_mistake(_right_stats, lambda X, mu, var: (X - mu) / var)),
    Mistake("you do not subtract the mean before dividing: x := (x - mu) / sigma.",
            _normalize_mistake(_right_stats, lambda X, mu, var: X / np.sqrt(var))),
]


def check_normalize_inputs(statistics_fn, normalize_fn):
    """Check ``input_statistics(X) -> (mu, var)`` and ``normalize_inputs(X, mu, var)`` on a training and a test set.

    The statistics come from the training set ``(n_x, m)`` and have shape
    ``(n_x, 1)``; both sets are normalized with them.
    """
    for f in (statistics_fn, normalize_fn):
        _need_function(f, "check_normalize_inputs", "check_normalize_inputs(input_statistics, normalize_inputs)")

    def statistics_only(X_train, X_test):
        return statistics_fn(X_train)

    def both(X_train, X_test):
        mu, var = statistics_fn(X_train)
        return mu, var, normalize_fn(X_train, mu, var), normalize_fn(X_test, mu, var)

    # The statistics alone first: a wrong shape there would otherwise surface as an error in normalize_inputs.
    with _quiet():
        _run("check_normalize_inputs", statistics_only, lambda a, b: _normalize_ref(a, b)[:2], _normalize_cases(),
             [Mistake(m.message, m.fn.stats) for m in NORMALIZE_MISTAKES[:2]], ["mu", "var"],
             select=_tuple_of(2, "input_statistics", ["mu", "var"]))  # fmt: skip
    _run("check_normalize_inputs", both, _normalize_ref, _normalize_cases(), NORMALIZE_MISTAKES,
         ["mu", "var", "normalized training set", "normalized test set"])  # fmt: skip


# --- a hidden layer with batch norm and no bias (notebook 03) ------------------------------


def _layer_cases():
    rng = np.random.default_rng(9)

    def case(name, n_prev, n, m, activation, dtype=np.float64):
        A_prev = rng.normal(0.5, 1.0, (n_prev, m)).astype(dtype)
        W = (rng.normal(0.0, 1.0, (n, n_prev)) / np.sqrt(n_prev)).astype(dtype)
        gamma = rng.uniform(0.5, 2.0, (n, 1)).astype(dtype)
        beta = rng.uniform(-1.0, 1.0, (n, 1)).astype(dtype)
        return Case(name, (A_prev, W, gamma, beta), {"activation": activation})

    return [
        case("4 inputs, 3 units, 6 examples, ReLU", 4, 3, 6, "relu"),
        case("5 inputs, 2 units, m = 2, sigmoid", 5, 2, 2, "sigmoid"),
        case("3 inputs, 4 units, 7 examples, tanh", 3, 4, 7, "tanh"),
        case("float32, ReLU", 4, 3, 5, "relu", np.float32),
    ]


def _layer_ref(A_prev, W, gamma, beta, activation="relu"):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    Z = f(W) @ f(A_prev)
    return (activation_forward(batchnorm_forward(Z, f(gamma), f(beta))[0], activation),)


LAYER_MISTAKES = [
    Mistake("your activation comes before batch norm. The course normalizes z = W a_prev, then applies "
            "g to z_tilde: a = g(gamma * z_norm + beta).",
            lambda A, W, g, b, activation="relu": (batchnorm_forward(activation_forward(np.asarray(W, float) @ np.asarray(A, float), activation), g, b)[0],)),  # noqa: E501
    Mistake("you return z_tilde: apply the activation g to it.",
            lambda A, W, g, b, activation="relu": (batchnorm_forward(np.asarray(W, float) @ np.asarray(A, float), g, b)[0],)),  # noqa: E501
    Mistake("you normalize the layer's input a_prev instead of z = W a_prev.",
            lambda A, W, g, b, activation="relu": (activation_forward(np.asarray(W, float) @ batchnorm_forward(np.asarray(A, float), np.ones((np.shape(A)[0], 1)), np.zeros((np.shape(A)[0], 1)))[0] * g + b, activation),)),  # noqa: E501
    Mistake("your batch statistics are taken over the wrong axis: normalize each unit (row) over the examples, axis=1.",
            lambda A, W, g, b, activation="relu": (activation_forward(g * FORWARD_MISTAKES[1].fn(np.asarray(W, float) @ np.asarray(A, float), np.ones((np.shape(W)[0], 1)), np.zeros((np.shape(W)[0], 1)))[0] + b, activation),)),  # noqa: E501
]


def check_batchnorm_layer_forward(fn):
    """Check ``fn(A_prev, W, gamma, beta, activation="relu") -> A``: ``A = g(batch norm of W @ A_prev)``, no bias.

    Shapes: ``A_prev`` ``(n_prev, m)``, ``W`` ``(n_l, n_prev)``, ``gamma``,
    ``beta`` ``(n_l, 1)``, ``A`` ``(n_l, m)``; batch norm with ``eps=1e-5``.
    """
    _need_function(fn, "check_batchnorm_layer_forward", "check_batchnorm_layer_forward(batchnorm_layer_forward)")
    _run("check_batchnorm_layer_forward", fn, _layer_ref, _layer_cases(), LAYER_MISTAKES, ["A"],
         select=lambda out: (out,))  # fmt: skip


# --- one step of gradient descent with momentum (notebook 04) -------------------------------


def _momentum_cases():
    rng = np.random.default_rng(13)
    shapes = {"W1": (3, 4), "gamma1": (3, 1), "beta1": (3, 1), "W2": (2, 3), "b2": (2, 1)}

    def case(name, learning_rate, momentum, dtype=np.float64):
        params = {k: rng.normal(0.0, 1.0, s).astype(dtype) for k, s in shapes.items()}
        grads = [{k: rng.normal(0.0, 1.0, s).astype(dtype) for k, s in shapes.items()} for _ in range(3)]
        return Case(name, (params, grads, learning_rate, momentum))

    return [case("3 steps, learning rate 0.1, momentum 0.9", 0.1, 0.9),
            case("3 steps, learning rate 0.5, momentum 0.5", 0.5, 0.5),
            case("3 steps, momentum 0 (plain gradient descent)", 0.2, 0.0)]  # fmt: skip


def _momentum_ref(params, grads, learning_rate, momentum):
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    opt = Momentum(learning_rate, momentum=momentum)
    for g in grads:
        opt.step(params, g)
    return tuple(params.values())


def _three_steps(step):
    """Run a step function ``step(params, grads, velocities, learning_rate, momentum)`` three times; final params."""

    def fn(params, grads, learning_rate, momentum):
        params = {k: np.array(v, dtype=float) for k, v in params.items()}
        velocities = {k: np.zeros_like(v) for k, v in params.items()}
        for g in grads:
            step(params, g, velocities, learning_rate, momentum)
        return tuple(params.values())

    return fn


def _step_mistake(update):
    def step(params, grads, velocities, learning_rate, momentum):
        for k in params:
            update(k, params, grads, velocities, learning_rate, momentum)

    return _three_steps(step)


def _pytorch_style(k, p, g, v, lr, mom):
    v[k] = mom * v[k] + g[k]
    p[k] -= lr * v[k]


def _only_w(k, p, g, v, lr, mom):
    if k.startswith("W"):
        v[k] = mom * v[k] + (1 - mom) * g[k]
        p[k] -= lr * v[k]


def _no_memory(k, p, g, v, lr, mom):
    p[k] -= lr * (1 - mom) * g[k]


def _ascent(k, p, g, v, lr, mom):
    v[k] = mom * v[k] + (1 - mom) * g[k]
    p[k] += lr * v[k]


MOMENTUM_MISTAKES = [
    Mistake("your velocity leaves out the factor (1 - momentum): the course's v := momentum * v + (1 - momentum) * dW "
            "is an average of the gradients (PyTorch's SGD leaves the factor out, which is a larger learning rate).",
            _step_mistake(_pytorch_style)),
    Mistake("you update only the W's. gamma and beta (and b) are parameters too: every entry of params gets "
            "the same update from its own gradient.", _step_mistake(_only_w)),
    Mistake("your velocity does not carry over from one step to the next: store it in velocities[name] "
            "(in place), so the next step starts from it.", _step_mistake(_no_memory)),
    Mistake("you step up the gradient: W := W - learning_rate * v (minus, to lower the loss).", _step_mistake(_ascent)),
    Mistake("params are not updated in place: change the arrays in params (e.g. `params[name] -= ...`), so that "
            "every layer holding them sees the new values.", lambda params, grads, lr, mom: tuple(
                np.array(v, dtype=float) for v in params.values())),
]


def check_momentum_step(fn):
    """Check ``fn(params, grads, velocities, learning_rate, momentum=0.9)``: one step of momentum, in place.

    ``params``, ``grads`` and ``velocities`` are dicts with the same names
    (``W1, gamma1, beta1, ...``); ``fn`` updates ``velocities[name]`` and
    ``params[name]`` in place for every name and returns nothing. Three
    consecutive steps are compared with :class:`bn_helpers.Momentum`.
    """
    _need_function(fn, "check_momentum_step", "check_momentum_step(momentum_step)")
    _run("check_momentum_step", _three_steps(fn), _momentum_ref, _momentum_cases(), MOMENTUM_MISTAKES,
         ["W1", "gamma1", "beta1", "W2", "b2"])  # fmt: skip


# --- the noise of batch statistics (notebook 05) -------------------------------------------


def _noise_cases():
    rng = np.random.default_rng(17)
    z = rng.normal(1.0, 2.0, 200)

    def batches(k, m):
        rest = np.array([rng.choice(np.arange(1, 200), m - 1, replace=False) for _ in range(k)])
        return np.hstack([np.zeros((k, 1), dtype=int), rest])  # every batch starts with example 0

    return [
        Case("10 batches of 8", (z, batches(10, 8))),
        Case("5 batches of m = 2", (z, batches(5, 2))),
        Case("a large offset (values near 1e6), 6 batches of 5", (1e6 + z, batches(6, 5)), tol=1e-7),
        Case("eps = 0.5", (z, batches(4, 3)), {"eps": 0.5}),
    ]


def _noise_ref(z, batches, eps=1e-5):
    Z = np.asarray(z, dtype=float)[np.asarray(batches)]  # (k, m): one row per batch
    k = Z.shape[0]
    return (batchnorm_forward(Z, np.ones((k, 1)), np.zeros((k, 1)), eps)[0][:, 0],)


NOISE_MISTAKES = [
    Mistake("your variance divides by m - 1; batch norm's batch variance divides by m.",
            lambda z, batches, eps=1e-5: (FORWARD_MISTAKES[0].fn(np.asarray(z, float)[batches], np.ones((len(batches), 1)), np.zeros((len(batches), 1)), eps)[0][:, 0],)),  # noqa: E501
    Mistake("you normalize with the mean and variance of the whole training set, which are the same for every "
            "batch: then there is no noise. Use each batch's own statistics (the mean and variance of z[batch]).",
            lambda z, batches, eps=1e-5: (np.full(len(batches), (np.asarray(z, float)[0] - np.mean(z)) / np.sqrt(np.var(z) + eps)),)),  # noqa: E501
    Mistake("your eps is outside the square root: divide by sqrt(sigma^2 + eps).",
            lambda z, batches, eps=1e-5: (FORWARD_MISTAKES[2].fn(np.asarray(z, float)[batches], np.ones((len(batches), 1)), np.zeros((len(batches), 1)), eps)[0][:, 0],)),  # noqa: E501
]


def check_batch_normalized_example(fn):
    """Check ``fn(z, batches, eps=1e-5) -> (k,)``: one example's normalized value in each of ``k`` mini-batches.

    ``z`` ``(N,)`` is one unit's value over the training set; ``batches`` is an
    integer array ``(k, m)``, one row of example indices per mini-batch, each
    row starting with the example followed (index ``batches[i, 0]``).
    """
    _need_function(fn, "check_batch_normalized_example", "check_batch_normalized_example(batch_normalized_example)")
    _run("check_batch_normalized_example", fn, _noise_ref, _noise_cases(), NOISE_MISTAKES, ["normalized values"],
         select=lambda out: (out,))  # fmt: skip


# --- normalizing along other axes: layer norm and group norm (notebook 07) ---------------


def _layernorm_cases():
    rng = np.random.default_rng(707)

    def params(n, dtype=np.float64):
        return (rng.uniform(0.5, 2.0, (n, 1)).astype(dtype) * rng.choice([-1.0, 1.0], (n, 1)).astype(dtype),
                rng.uniform(-2.0, 2.0, (n, 1)).astype(dtype))  # fmt: skip

    return [
        Case("5 units x 3 examples, non-trivial gamma and beta", (rng.normal(2.0, 3.0, (5, 3)), *params(5))),
        Case("a single example (m = 1)", (rng.normal(0.0, 2.0, (6, 1)), *params(6))),
        Case("examples on very different scales", (rng.normal(0.0, 1.0, (4, 3)) * np.array([[0.1, 1.0, 50.0]]),
                                                   *params(4))),  # fmt: skip
        Case("eps = 0.1", (rng.normal(1.0, 0.5, (3, 4)), *params(3)), {"eps": 0.1}),
        Case("float32 input", (rng.normal(1.0, 2.0, (8, 5)).astype(np.float32), *params(8, np.float32))),
    ]


def _layernorm_ref(Z, gamma, beta, eps=1e-5):
    from .normalization import layernorm_forward

    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    return (layernorm_forward(f(Z), f(gamma), f(beta), eps)[0],)


def _ln(Z, g, b, eps, axis=0, ddof=0, outside=False):
    """Layer norm with pieces swapped out: the engine of the mistakes below."""
    Z = np.asarray(Z, dtype=float)
    mu, var = Z.mean(axis=axis, keepdims=True), Z.var(axis=axis, keepdims=True, ddof=ddof)
    return (g * (Z - mu) / (np.sqrt(var) + eps if outside else np.sqrt(var + eps)) + b,)


LAYERNORM_MISTAKES = [
    Mistake("your statistics are taken over the examples of each unit (axis=1): that is batch norm. Layer norm takes "
            "them over the units of each example, down each column: axis=0, keepdims=True.",
            lambda Z, g, b, eps=1e-5: _ln(Z, g, b, eps, axis=1)),
    Mistake("your variance divides by n_l - 1; layer norm's divides by n_l (np.var's default ddof=0).",
            lambda Z, g, b, eps=1e-5: _ln(Z, g, b, eps, ddof=1)),
    Mistake("your eps is outside the square root: divide by sqrt(sigma^2 + eps).",
            lambda Z, g, b, eps=1e-5: _ln(Z, g, b, eps, outside=True)),
]


def check_layernorm_forward(fn):
    """Check ``fn(Z, gamma, beta, eps=1e-5) -> (Z_tilde, cache)`` against :func:`bn_helpers.normalization.layernorm_forward`.

    ``Z`` ``(n_l, m)``, ``gamma`` and ``beta`` ``(n_l, 1)``; only ``Z_tilde`` is compared.
    """
    _need_function(fn, "check_layernorm_forward", "check_layernorm_forward(layernorm_forward)")
    _run("check_layernorm_forward", fn, _layernorm_ref, _layernorm_cases(), LAYERNORM_MISTAKES, ["Z_tilde"],
         select=lambda out: _tuple_of(2, "layernorm_forward", ["Z_tilde", "cache"])(out)[:1])  # fmt: skip


def _groupnorm_cases():
    rng = np.random.default_rng(77)

    def params(n_C, dtype=np.float64):
        return (rng.uniform(0.5, 2.0, (1, 1, 1, n_C)).astype(dtype) * rng.choice([-1.0, 1.0], (1, 1, 1, n_C)).astype(dtype),
                rng.uniform(-2.0, 2.0, (1, 1, 1, n_C)).astype(dtype))  # fmt: skip

    def images(shape, dtype=np.float64):
        # every channel with its own offset and scale, so that mixing channels up shows
        n_C = shape[-1]
        return (rng.normal(0.0, 1.0, shape) * rng.uniform(0.5, 3.0, n_C) + rng.uniform(-3.0, 3.0, n_C)).astype(dtype)

    return [
        Case("2 examples of 3 x 3 positions, 6 channels in 3 groups", (images((2, 3, 3, 6)), *params(6), 3)),
        Case("4 channels in 2 groups, 3 examples of 2 x 4", (images((3, 2, 4, 4)), *params(4), 2)),
        Case("one group (layer norm over positions and channels)", (images((2, 2, 2, 6)), *params(6), 1)),
        Case("a single example (m = 1), 6 channels in 2 groups", (images((1, 3, 3, 6)), *params(6), 2)),
        Case("eps = 0.1", (images((2, 2, 2, 4)), *params(4), 2), {"eps": 0.1}),
        Case("float32 input", (images((2, 3, 3, 6), np.float32), *params(6, np.float32), 3)),
    ]


def _groupnorm_ref(X, gamma, beta, groups, eps=1e-5):
    from .normalization import groupnorm_forward

    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    return (groupnorm_forward(f(X), f(gamma), f(beta), groups, eps)[0],)


def _gn(X, g, b, groups, eps, axes, interleaved=False):
    """Normalization of ``X`` viewed as (m, n_H, n_W, groups, n_C / groups) over ``axes`` of that view."""
    X = np.asarray(X, dtype=float)
    m, n_H, n_W, n_C = X.shape
    if interleaved:  # channel c in group c % groups instead of c // (n_C / groups)
        Xg = X.reshape(m, n_H, n_W, n_C // groups, groups).swapaxes(3, 4)
    else:
        Xg = X.reshape(m, n_H, n_W, groups, n_C // groups)
    Xn = (Xg - Xg.mean(axis=axes, keepdims=True)) / np.sqrt(Xg.var(axis=axes, keepdims=True) + eps)
    Xn = Xn.swapaxes(3, 4) if interleaved else Xn
    return (g * Xn.reshape(X.shape) + b,)


GROUPNORM_MISTAKES = [
    Mistake("your statistics are per channel, over the examples and the positions (axes 0, 1, 2): that is batch "
            "norm. Group norm takes them per example, over the positions and the channels of one group.",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, 1, eps, axes=(0, 1, 2))),
    Mistake("your statistics are per position: over the channels of a group at each (h, w), not over the positions "
            "too. Take them over axes (1, 2, 4) of X reshaped to (m, n_H, n_W, groups, n_C // groups).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(4,))),
    Mistake("your group boundaries are wrong: you put channel c in group c % groups, but groups are blocks of "
            "consecutive channels: reshape X to (m, n_H, n_W, groups, n_C // groups), in that order.",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(1, 2, 4), interleaved=True)),
    Mistake("your groups are ignored: each channel gets its own statistics (that is instance norm, groups = n_C).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, np.shape(X)[-1], eps, axes=(1, 2, 4))),
    Mistake("your groups are ignored: all channels of an example share one mean and variance (that is groups = 1).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, 1, eps, axes=(1, 2, 4))),
]


def check_groupnorm_forward(fn):
    """Check ``fn(X, gamma, beta, groups, eps=1e-5) -> (out, cache)`` against :func:`bn_helpers.normalization.groupnorm_forward`.

    ``X`` ``(m, n_H, n_W, n_C)``, ``gamma`` and ``beta`` ``(1, 1, 1, n_C)``; only ``out`` is compared.
    """
    _need_function(fn, "check_groupnorm_forward", "check_groupnorm_forward(groupnorm_forward)")
    _run("check_groupnorm_forward", fn, _groupnorm_ref, _groupnorm_cases(), GROUPNORM_MISTAKES, ["out"],
         select=lambda out: _tuple_of(2, "groupnorm_forward", ["out", "cache"])(out)[:1])  # fmt: skip


# --- folding batch norm into a dense layer; combining per-device statistics (notebook 08) ----------


def _fold_cases():
    rng = np.random.default_rng(8)

    def layer(n, n_prev, dtype=np.float64, var_low=0.2):
        gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        cols = (rng.normal(0.0, 1.0, (n, 1)), gamma, rng.uniform(-2.0, 2.0, (n, 1)),
                rng.normal(0.0, 2.0, (n, 1)), rng.uniform(var_low, 3.0, (n, 1)))  # fmt: skip
        return rng.normal(0.0, 1.0, (n, n_prev)).astype(dtype), *(c.astype(dtype) for c in cols)

    W, b, g, beta, mean, var = layer(3, 5)
    tiny = layer(2, 3)
    tiny[5][0] = 1e-6  # a unit whose running variance is below eps
    return [
        # Square first: scaling the columns instead of the rows then runs and can be named.
        Case("W 4 x 4, with b", layer(4, 4)),
        Case("W 3 x 5 (3 units, 5 inputs), with b", (W, b, g, beta, mean, var)),
        Case("b = None (a layer with batch norm has no b)", (W, None, g, beta, mean, var)),
        Case("a running variance below eps", tiny),
        Case("eps = 0.1", layer(2, 4), {"eps": 0.1}),
        Case("float32", layer(3, 2, np.float32)),
    ]


def _fold_ref(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    from .folding import fold_batchnorm

    f = lambda a: None if a is None else np.asarray(a, dtype=float)  # noqa: E731
    return fold_batchnorm(f(W), f(b), f(gamma), f(beta), f(running_mean), f(running_var), eps)


def _fold_mistake(scale=None, W_rule=None, b_rule=None):
    """A fold that is right except for the parts given."""

    def fn(W, b, gamma, beta, mean, var, eps=1e-5):
        W = np.asarray(W, dtype=float)
        b = np.zeros((W.shape[0], 1)) if b is None else np.asarray(b, dtype=float)
        s = gamma / np.sqrt(var + eps) if scale is None else scale(gamma, var, eps)
        W_f = s * W if W_rule is None else W_rule(s, W)
        b_f = s * (b - mean) + beta if b_rule is None else b_rule(s, b, beta, mean)
        return W_f, b_f

    return fn


FOLD_MISTAKES = [
    Mistake("your eps is outside the square root: the scale is gamma / sqrt(running_var + eps). "
            "It shows for a unit whose running variance is near eps or below.",
            _fold_mistake(scale=lambda g, v, eps: g / (np.sqrt(v) + eps))),
    Mistake("b is left out of b_folded: z = W a + b goes into batch norm, so b_folded = s * (b - running_mean) + beta "
            "(with b = 0 when it is None).",
            _fold_mistake(b_rule=lambda s, b, beta, mean: beta - s * mean)),
    Mistake("your fold ignores the running statistics (it is the fold of a layer whose mean is 0 and variance 1, "
            "the values a fresh layer starts with). Eval mode normalizes with running_mean and running_var: "
            "fold those, not batch statistics or defaults.",
            _fold_mistake(scale=lambda g, v, eps: g / np.sqrt(1.0 + eps), b_rule=lambda s, b, beta, mean: s * b + beta)),
    Mistake("running_mean is not subtracted: b_folded = s * (b - running_mean) + beta.",
            _fold_mistake(b_rule=lambda s, b, beta, mean: s * b + beta)),
    Mistake("you scale the columns of W instead of its rows. Unit i's factor s_i multiplies its own "
            "pre-activation z_i = W[i, :] a: row i. With s of shape (n_l, 1), `s * W` does that.",
            _fold_mistake(W_rule=lambda s, W: W * s.T)),
    Mistake("you divide by the running variance instead of its square root: s = gamma / sqrt(running_var + eps).",
            _fold_mistake(scale=lambda g, v, eps: g / (v + eps))),
]


def check_fold_batchnorm(fn):
    """Check ``fn(W, b, gamma, beta, running_mean, running_var, eps=1e-5) -> (W_folded, b_folded)``.

    ``W`` ``(n_l, n_prev)``, ``b`` ``(n_l, 1)`` or None, the rest ``(n_l, 1)``;
    ``b_folded`` must be ``(n_l, 1)`` also when ``b`` is None.
    """
    _need_function(fn, "check_fold_batchnorm", "check_fold_batchnorm(fold_batchnorm)")
    _run("check_fold_batchnorm", fn, _fold_ref, _fold_cases(), FOLD_MISTAKES, ["W_folded", "b_folded"],
         select=_tuple_of(2, "fold_batchnorm", ["W_folded", "b_folded"]))  # fmt: skip


def _combine_cases():
    rng = np.random.default_rng(88)

    def devices(sizes, n=3, offsets=None, spread=1.0):
        counts, means, M2s = [], [], []
        for k, m_k in enumerate(sizes):
            shift = 0.0 if offsets is None else offsets[k]
            Z = shift + rng.normal(0.0, spread, (n, m_k))
            mu_k = Z.mean(axis=1, keepdims=True)
            counts.append(m_k)
            means.append(mu_k)
            M2s.append(((Z - mu_k) ** 2).sum(axis=1, keepdims=True))
        return counts, means, M2s

    return [
        # Unequal shards first: there averaging the devices' variances and sum M2_k / m differ.
        Case("unequal shards (2, 10, 4 examples), different means", devices([2, 10, 4], offsets=[1.0, -1.0, 4.0])),
        Case("4 devices of 8 examples", devices([8, 8, 8, 8])),
        Case("devices whose means differ (0, 3, -2)", devices([5, 5, 5], offsets=[0.0, 3.0, -2.0])),
        Case("one device", devices([6])),
        Case("a large offset (values near 1e6)", devices([3, 7], offsets=[1e6, 1e6 + 2.0]), tol=1e-8),
    ]


def _combine_ref(counts, means, M2s):
    from .sync_batchnorm import combine_statistics

    return combine_statistics(list(counts), [np.asarray(a, float) for a in means], [np.asarray(a, float) for a in M2s])


def _combine_mistake(mu_rule=None, var_rule=None):
    def fn(counts, means, M2s):
        mu_right, var_right = _combine_ref(counts, means, M2s)
        c, mu_k, M2 = np.array(counts, dtype=float)[:, None, None], np.array(means), np.array(M2s)
        mu = mu_right if mu_rule is None else mu_rule(c, mu_k, M2)
        var = var_right if var_rule is None else var_rule(c, mu_k, M2, mu)
        return mu, var

    return fn


COMBINE_MISTAKES = [
    Mistake("your mean is the plain average of the devices' means; a device with more examples weighs more: "
            "mu = sum_k m_k mu_k / m.",
            _combine_mistake(mu_rule=lambda c, mu_k, M2: mu_k.mean(axis=0),
                             var_rule=lambda c, mu_k, M2, mu: (M2.sum(0) + (c * (mu_k - mu) ** 2).sum(0)) / c.sum())),
    Mistake("your variance is sum_k M2_k / m: it misses the spread between the devices' means, "
            "+ sum_k m_k (mu_k - mu)^2 / m. Each device's M2_k only measures the spread around its own mean.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: M2.sum(0) / c.sum())),
    Mistake("your variance is the average of the devices' variances (M2_k / m_k): that is per-device batch norm's "
            "view, and misses the spread between the devices' means.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: (M2 / c).mean(axis=0))),
    Mistake("your variance divides by m - 1; batch norm's batch variance divides by m.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: (M2.sum(0) + (c * (mu_k - mu) ** 2).sum(0)) / (c.sum() - 1))),
    Mistake("the spread between the devices is not weighted by their counts: sum_k m_k (mu_k - mu)^2, not sum_k (mu_k - mu)^2.",
            _combine_mistake(var_rule=lambda c, mu_k, M2, mu: (M2.sum(0) + ((mu_k - mu) ** 2).sum(0)) / c.sum())),
]


def check_combine_statistics(fn):
    """Check ``fn(counts, means, M2s) -> (mu, var)``: the whole batch's statistics from each device's.

    ``counts``: k ints; ``means``, ``M2s``: k arrays ``(n_l, 1)``; returns ``(n_l, 1)`` each.
    """
    _need_function(fn, "check_combine_statistics", "check_combine_statistics(combine_statistics)")
    _run("check_combine_statistics", fn, _combine_ref, _combine_cases(), COMBINE_MISTAKES, ["mu", "var"],
         select=_tuple_of(2, "combine_statistics", ["mu", "var"]))  # fmt: skip
