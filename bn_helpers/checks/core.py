"""The core every check is written on: cases, mistakes, the comparison, the messages.

A check is three lists and a call of :func:`run`:

- its **cases** (:class:`Case`): inputs chosen to expose common mistakes (odd
  shapes, ``m = 2``, a large offset, a unit of tiny variance, non-trivial
  ``gamma`` and ``beta``, float32 and integer input);
- a **reference** that returns the expected outputs as a tuple (from the
  package's own implementation);
- its **mistakes** (:class:`Mistake`): known wrong implementations with the
  same signature as the reference, each with what to tell the learner.

:func:`run` calls the learner's function on copies of every case and compares
with the reference:

- right: prints one line, what was checked and a bound on the worst relative
  error ("< 1e-10"), which reads the same on every machine;
- wrong: raises ``AssertionError`` saying which case failed, what was expected
  and what came back (shapes, or values rounded), and, when the result is what
  a known mistake would give, the mistake and how to fix it;
- not written yet (``NotImplementedError``): lets it through unchanged;
- any other exception: reported with the case that triggered it;
- an input changed in place: reported, since a caller may still need it.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import itertools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..gradcheck import rel_error

#: Relative error allowed per input dtype: float64 results agree to rounding;
#: float32 input is compared with the float64 reference at float32 precision.
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
    """A known wrong implementation (same signature as the reference) and what to tell the learner.

    ``options``: the same mistake as settings of the check's ``build`` (a
    parametrized implementation, ``fn = build(**options)``). Two mistakes with
    options on different settings combine into one implementation, so a
    learner's function with both is named with both.
    """

    message: str
    fn: Callable
    options: dict | None = None


def _show(x, digits=4, limit=6):
    """A short, rounded rendering of an array for a message."""
    a = np.asarray(x, dtype=float)
    flat = np.round(a.ravel()[:limit], digits) + 0.0
    more = ", ..." if a.size > limit else ""
    return f"[{', '.join(f'{v:g}' for v in flat)}{more}] (shape {a.shape})"


class Refused(AssertionError):
    """A verdict a check reaches inside its wrapper around the learner's function (``run`` adds the case's name).

    E.g. 04's check refuses a step that puts a new array into ``params`` instead
    of changing the one a layer holds.
    """


def _changed_part(before, after, label):
    """Where an input is not as it was: ``(label, detail)`` of its first changed part (an array, an item), else None.

    Follows dicts, lists and tuples to any depth, so ``means[0] -= mu`` or
    ``M2s.pop()`` inside a list of arrays is seen as well as ``Z -= mu``.
    """
    if isinstance(before, np.ndarray):
        same = isinstance(after, np.ndarray) and before.shape == after.shape and np.array_equal(before, after, equal_nan=True)
        return None if same else (label, "")
    if isinstance(before, dict):
        if not isinstance(after, dict) or list(before) != list(after):
            return label, f" (its keys were {list(before)}; now {list(after) if isinstance(after, dict) else after})"
        parts = (_changed_part(before[k], after[k], f"{label}[{k!r}]") for k in before)
    elif isinstance(before, (list, tuple)):
        if type(after) is not type(before) or len(after) != len(before):
            return label, f" (it held {len(before)} items; now {len(after) if isinstance(after, (list, tuple)) else after})"
        parts = (_changed_part(b, a, f"{label}[{i}]") for i, (b, a) in enumerate(zip(before, after)))
    elif isinstance(before, (int, float, np.number)) and not isinstance(before, bool):
        return None if np.array_equal(before, after) else (label, "")
    else:
        return None
    return next((part for part in parts if part), None)


def _call(fn, case, what, arg_names):
    """Call ``fn`` on copies of the case's inputs; report an exception with the case, let NotImplementedError through."""
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Refused as err:
        raise AssertionError(f"{what}: case '{case.name}': {err}") from None
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
        changed = _changed_part(before, after, name)
        if changed == (name, "") and isinstance(before, np.ndarray):
            raise AssertionError(
                f"{what}: case '{case.name}': your function changed its input `{name}` in place. "
                f"Compute new arrays (e.g. `Z - mu`) instead of updating an input (`Z -= mu`): "
                f"the caller may still need it."
            )
        if changed:
            raise AssertionError(
                f"{what}: case '{case.name}': your function changed `{changed[0]}` in place{changed[1]}. It should "
                f"leave its inputs as they came, since the caller may still need them: build new arrays "
                f"(`x - mu`) instead of updating the ones an input holds (`x -= mu`), and read a list without "
                f"`.pop()` or `.append()`."
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


def _outputs(fn, case):
    """What a catalogued wrong implementation returns on this case; None if it cannot run on it."""
    try:
        with np.errstate(all="ignore"):
            return fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    except Exception:  # a mistake that cannot even run on this case does not match it
        return None


def _matching_mistakes(mistakes, case, got_parts, wrong, build=None):
    """The messages of the catalogued mistakes that explain the learner's wrong outputs, each output on its own.

    ``wrong``: the indices of the outputs that are wrong. A mistake explains an
    output when it returns what the learner returned there, so a function with
    one mistake in ``dZ`` and another in ``dgamma`` gets both names. An output no
    single mistake explains is tried against pairs of mistakes combined by
    ``build`` (two mistakes in one output, e.g. ``dZ`` without gamma and without
    the terms through mu).
    """
    outputs = [(mistake, _outputs(mistake.fn, case)) for mistake in mistakes]
    found = []
    for i in wrong:
        named = [m.message for m, out in outputs
                 if out is not None and len(out) == len(got_parts) and _same(out[i], got_parts[i])]  # fmt: skip
        if not named and build is not None:
            combinable = [m for m in mistakes if m.options]
            for a, b in itertools.combinations(combinable, 2):
                if set(a.options) & set(b.options):
                    continue  # two settings of the same thing cannot both hold
                out = _outputs(build(**a.options, **b.options), case)
                if out is not None and len(out) == len(got_parts) and _same(out[i], got_parts[i]):
                    named += [a.message, b.message]
        found += [message for message in named if message not in found]
    return found


def run(title, fn, reference, cases, mistakes, names, select=lambda out: out, build=None, diagnose=None):
    """The common loop: every case against the reference; stop at the first failure with the best message.

    ``reference`` and each mistake take the case's arguments and return the
    expected outputs as a tuple, in the order of ``names``; ``select`` turns
    the learner's return value into the same tuple (raising ``AssertionError``
    when it has the wrong form); ``build(**options)`` makes the implementation
    with the mistakes given by their options (see :class:`Mistake`);
    ``diagnose(case, got)`` returns more likely mistakes, for those that are
    not a wrong implementation of the reference alone (e.g. a backward pass
    that unpacks its own forward pass's cache in another order).
    """
    arg_names = list(inspect.signature(reference).parameters)
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        got = select(_call(fn, case, title, arg_names))
        tol = case.tol or TOLERANCE[case.dtype]
        problems = [(i, p) for i, p in enumerate(_compare(n, e, g, tol) for n, e, g in zip(names, expected, got)) if p]
        if problems:
            named = _matching_mistakes(mistakes, case, got, [i for i, _ in problems], build)
            named += diagnose(case, got) if diagnose else []
            problems = [p for _, p in problems]
            lines = [f"{title}: wrong result in case '{case.name}'.", *problems]
            if named:
                lines += [f"Likely mistake: {message}" for message in named]
            raise AssertionError("\n".join(lines))
    # The bound each case met, never the measured error: the line must read the same on every machine.
    bounds = [f"< {TOLERANCE[d]:g} in {d.name}" for d in sorted({c.dtype for c in cases}, key=str, reverse=True)]
    bounds += [f"< {c.tol:g} in the case '{c.name}'" for c in cases if c.tol]
    print(f"{title}: right in all {len(cases)} cases ({'; '.join(c.name for c in cases)}). "
          f"Worst relative error {', '.join(bounds)}.")  # fmt: skip


def need_function(fn, what, example):
    """Refuse what is not a function (a call's result, a string), showing the call that ``example`` spells."""
    if not callable(fn):
        raise TypeError(f"{what} takes your function itself, e.g. {example}; got {type(fn).__name__}")


def returns_tuple(n, what, names):
    """A ``select`` for :func:`run` that insists on a tuple of ``n`` outputs, named ``names`` in the message."""

    def select(out):
        if not isinstance(out, tuple) or len(out) != n:
            raise AssertionError(f"{what} must return a tuple of {n} ({', '.join(names)}); got {type(out).__name__}"
                                 + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))  # fmt: skip
        return out

    return select



def quiet():
    """Swallow a check's success line (used when one check runs another first)."""
    return contextlib.redirect_stdout(io.StringIO())
