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

- right: prints one line, what was checked and the bound every case met
  ("Each case is within 1e-10 of the reference"), which reads the same on
  every machine;
- wrong: raises ``AssertionError`` saying which case failed, what was expected
  and what came back (shapes, or values rounded), and, when the result is what
  a known mistake would give, the mistake and how to fix it;
- not written yet (``NotImplementedError``): lets it through unchanged;
- any other exception: reported with the case that triggered it;
- an input changed in place: reported, since a caller may still need it.

The learner never sees that exception: :func:`learner_facing` wraps each
public check so that it prints the verdict and returns the points earned (a
:class:`Score`), and Run All goes on.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import io
import itertools
import re
import secrets
import traceback
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..gradcheck import rel_error
from .refusal import package_use

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


#: The shapes hint for a broadcasting error, batch norm's by default; a check with other statistics passes its own.
BATCH_NORM_SHAPES = ("Check the shapes: a per-unit (or per-feature) statistic has shape (n, 1), e.g. "
                     "`Z.mean(axis=1, keepdims=True)`, so that it lines up with the rows of an (n, m) array.")  # fmt: skip

# Hints for errors any check can meet: (words of numpy's message, what to tell the learner).
_ERROR_HINTS = [
    ("truth value of an array", "An array compared with `==` gives an array, which `if` cannot read: test for "
                                "None with `is None` (e.g. `if b is None:`)."),
]


def _call(fn, case, what, arg_names, hints=(), shapes=BATCH_NORM_SHAPES):
    """Call ``fn`` on copies of the case's inputs; report an exception with the case, let NotImplementedError through.

    ``hints``: more ``(words, text)`` pairs: an exception whose message holds
    the words gets the text (e.g. 03's unpacking of ``batchnorm_forward``'s tuple).
    """
    __tracebackhide__ = True
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Refused as err:
        raise AssertionError(f"{what}: case '{case.name}': {err}") from None
    except Exception as err:  # the learner's bug, reported with the input that triggered it
        said = [text for words, text in [*hints, ("broadcast", shapes), *_ERROR_HINTS] if words in str(err)]
        raise AssertionError(
            f"{what}: case '{case.name}': your function raised {type(err).__name__}: {str(err).rstrip('.')}."
            + "".join(f" {text}" for text in said[:1])
        ) from err
    # Inputs must come back as they went in: a caller may still need them.
    names = list(arg_names[: len(args)]) + list(kwargs)
    for name, before, after in zip(names, [*case.args, *case.kwargs.values()], [*args, *kwargs.values()]):
        changed = _changed_part(before, after, name)
        if changed == (name, "") and isinstance(before, np.ndarray):
            raise AssertionError(
                f"{what}: case '{case.name}': your function changed its input `{name}` in place. "
                f"Compute a new array (e.g. `{name} - x`, `{name} * c`) instead of updating `{name}` itself "
                f"(`{name} -= x`, `{name} *= c`): the caller may still need it."
            )
        if changed:
            raise AssertionError(
                f"{what}: case '{case.name}': your function changed `{changed[0]}` in place{changed[1]}. It should "
                f"leave its inputs as they came, since the caller may still need them: build new arrays "
                f"(`x - mu`) instead of updating the ones an input holds (`x -= mu`), and read a list without "
                f"`.pop()` or `.append()`."
            )
    return out


def describe(x, depth=0):
    """What a value is, in words: "an array of shape (3, 5)", "a tuple of 2 (an array of shape (3, 5), a dict)"."""
    if x is None:
        return "None"
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}" + ("" if np.issubdtype(x.dtype, np.number) else f" of {x.dtype}")
    if isinstance(x, (bool, np.bool_)):
        return f"the truth value {x}"
    if isinstance(x, (int, float, np.number)):
        return f"the number {x:g}"
    if type(x) in (tuple, list):  # a named tuple (a cache) is named by its class, below
        items = "" if depth else f" ({', '.join(describe(i, depth + 1) for i in x[:3])}{', ...' if len(x) > 3 else ''})"
        return f"a {type(x).__name__} of {len(x)}{items}"
    article = "an" if type(x).__name__[:1].lower() in "aeiou" else "a"
    return f"{article} {type(x).__name__}"


def _as_numbers(x):
    """``x`` as a numeric array, or None when it is not one (a dict, a tuple of unequal arrays, None, text)."""
    if x is None or isinstance(x, (dict, str, bytes, bool, np.bool_)):
        return None
    try:
        a = np.asarray(x)
    except (ValueError, TypeError):  # e.g. a tuple of an array and a dict: numpy cannot make one array of it
        return None
    return a if np.issubdtype(a.dtype, np.number) else None


def _digits_apart(e, g):
    """Enough significant digits to tell two different numbers apart (at most 17)."""
    for digits in range(5, 18):
        if f"{e:.{digits}g}" != f"{g:.{digits}g}":
            return digits
    return 17


def _compare(name, expected, got, tol):
    """None if ``got`` matches ``expected`` (shape and values), else what differs."""
    got_arr = _as_numbers(got)
    if got_arr is None:
        hint = ""
        if got is None:
            hint = " Does your function end with `return ...`?"
        elif isinstance(got, (tuple, list)):
            items = [_as_numbers(item) for item in got]
            fits = [i for i, a in enumerate(items) if a is not None and a.shape == np.shape(expected)]
            if fits:
                hint = f" Its item {fits[0]} has the expected shape: return that array alone."
        return f"{name}: expected an array of shape {np.shape(expected)}, got {describe(got)}.{hint}"
    if got_arr.shape != np.shape(expected):
        hint = ""
        if got_arr.shape == np.shape(expected)[:1]:
            hint = (f" That is the wrong output shape: {got_arr.shape} where {np.shape(expected)} is expected; "
                    f"keep the second axis (e.g. `keepdims=True`).")  # fmt: skip
        elif got_arr.shape == np.shape(expected)[::-1]:
            hint = " That is the transpose of the expected shape: one column per example, (n_l, m)."
        elif isinstance(got, (tuple, list)):
            hint = f" You returned {describe(got)}."
        return f"{name}: expected shape {np.shape(expected)}, got shape {got_arr.shape}.{hint}"
    if not np.all(np.isfinite(got_arr)):
        return f"{name}: contains NaN or inf: {_show(got_arr)}"
    err = rel_error(expected, got_arr)
    if err <= tol:
        return None
    shown_e, shown_g = _show(expected), _show(got_arr)
    line = f"{name}: expected {shown_e}, got {shown_g} (relative error {err:.1e})"
    if shown_e == shown_g:  # a near miss: show where they differ, with the digits that differ
        diff = np.abs(np.asarray(expected, dtype=float) - got_arr)
        where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        e, g = float(np.asarray(expected, dtype=float)[where]), float(got_arr[where])
        d = _digits_apart(e, g)
        at = f"at {tuple(int(i) for i in where)}" if where else ""
        line += (f". They agree to the digits shown; the largest difference is {at}: expected {e:.{d}g}, "
                 f"got {g:.{d}g}. An error this small usually comes from a constant (eps, a hard-coded number) "
                 f"or float32 arithmetic, not from the formula.")  # fmt: skip
    return line


def _same(a, b):
    """Equal shapes, NaN in the same places, and the rest equal to rounding (False for what is not numbers)."""
    a, b = _as_numbers(a), _as_numbers(b)
    if a is None or b is None:
        return False
    a, b = a.astype(float), b.astype(float)
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


class _Drawn(list):
    """A check's cases, with the seed they were drawn from when they are hidden ones."""

    seed = None


def drawn(builder, hidden=False):
    """A check's cases: the visible ones (``hidden=False``), or cases of the same kinds drawn afresh.

    ``hidden=True`` draws a seed now, so that a grading run judges inputs that
    nobody has seen; ``hidden=<int>`` draws the cases of that seed again (a
    failure says which). ``builder(rng)`` makes the cases; ``builder()`` makes
    the visible ones, from the check's own seed.
    """
    if hidden is False or hidden is None:
        return _Drawn(builder())
    if hidden is True:
        seed = secrets.randbits(32)
    elif isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool) and hidden >= 0:
        seed = int(hidden)
    else:
        raise TypeError(f"hidden must be False, True or a seed (an int >= 0); got {hidden!r}")
    cases = _Drawn(builder(np.random.default_rng(seed)))
    cases.seed = seed
    return cases


def size(rng, low, high, avoid=()):
    """A hidden case's size: an int drawn from ``low..high`` (both included), none of ``avoid``.

    The hidden cases draw their shapes as well as their values, so that a
    function written for the visible shapes (a hard-coded count of units, a
    reshape to a fixed size) fails them; ``avoid`` keeps a shape's reason for
    being (e.g. ``n`` unlike ``m``, so that an axis mix-up shows).
    """
    allowed = [k for k in range(low, high + 1) if k not in set(avoid)]
    return int(rng.choice(allowed))


def run(title, fn, reference, cases, mistakes, names, select=lambda out: out, build=None, diagnose=None, hints=(),
        shapes=BATCH_NORM_SHAPES):
    """The common loop: every case against the reference; the first failing case in full, and which others fail.

    ``reference`` and each mistake take the case's arguments and return the
    expected outputs as a tuple, in the order of ``names``; ``select`` turns
    the learner's return value into the same tuple (raising ``AssertionError``
    when it has the wrong form); ``build(**options)`` makes the implementation
    with the mistakes given by their options (see :class:`Mistake`);
    ``diagnose(case, got)`` returns more likely mistakes, for those that are
    not a wrong implementation of the reference alone (e.g. a backward pass
    that unpacks its own forward pass's cache in another order); ``hints`` and
    ``shapes`` go to the call of the learner's function (see :func:`_call`).
    Every case runs, also after one fails: the message ends by saying in which
    of them the function is wrong.
    """
    __tracebackhide__ = True
    arg_names = list(inspect.signature(reference).parameters)
    first, wrong = None, []  # the first failure (an AssertionError), and the names of every failing case
    with warnings.catch_warnings(record=True) as caught:  # the learner's warnings: said in words, kept off stderr
        warnings.simplefilter("always")
        for case in cases:
            try:
                _judge(title, fn, reference, case, mistakes, names, select, build, diagnose, arg_names, hints, shapes)
            except AssertionError as err:
                first = first or err
                wrong.append(case.name)
    warned = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    seed = getattr(cases, "seed", None)
    if first is None:
        if seed is None:  # hidden cases that pass add nothing to the visible check's line
            print(success_line(title, cases))
            print("".join(f"Your code also warned: {w}\n" for w in warned), end="")
        return
    others = [f"'{name}'" for name in wrong[1:]]
    kind = "cases" if seed is None else "hidden cases"
    summary = (f"Wrong in {len(wrong)} of {len(cases)} {kind}" + (f"; also in {'; '.join(others)}." if others else
               "; the others are right."))  # fmt: skip
    if seed is not None:
        summary += (f" These cases were drawn at random when this cell ran, of the kinds the visible check tries; "
                    f"hidden={seed} draws the same ones again.")  # fmt: skip
    failed = AssertionError("\n".join([f"{first}", summary, *(f"Your code warned: {w}" for w in warned)]))
    failed.passed, failed.total = len(cases) - len(wrong), len(cases)  # for partial credit
    raise failed from first.__cause__


def _judge(title, fn, reference, case, mistakes, names, select, build, diagnose, arg_names, hints, shapes):
    """One case: nothing if the learner's function is right on it, else ``AssertionError`` with what differs."""
    __tracebackhide__ = True
    expected = reference(*case.args, **case.kwargs)
    got = select(_call(fn, case, title, arg_names, hints, shapes))
    tol = case.tol or TOLERANCE[case.dtype]
    problems = [(i, p) for i, p in enumerate(_compare(n, e, g, tol) for n, e, g in zip(names, expected, got)) if p]
    if problems:
        named = _matching_mistakes(mistakes, case, got, [i for i, _ in problems], build)
        named += diagnose(case, got) if diagnose else []
        lines = [f"{title}: wrong result in case '{case.name}'.", *(p for _, p in problems)]
        lines += [f"Likely mistake: {message}" for message in named]
        raise AssertionError("\n".join(lines))


def _bound(x):
    """A tolerance as people write it: 1e-10, 1e-4."""
    return f"{x:.0e}".replace("e-0", "e-") if x < 1e-3 else f"{x:g}"


def success_line(title, cases):
    """What a check prints when every case is right: the cases, and the bound each met."""
    return f"{title}: right in all {len(cases)} cases ({'; '.join(c.name for c in cases)}). {bounds_met(cases)}"


def bounds_met(cases):
    """The success line's second sentence: the bound each case was held to, never the measured error.

    A measured error differs in its last digits from one CPU to another; the
    bound reads the same on every machine, and says what the check promises.
    """
    bounds = [f"{_bound(TOLERANCE[d])} in {d.name}" for d in sorted({c.dtype for c in cases}, key=str, reverse=True)]
    bounds += [f"{_bound(c.tol)} for '{c.name}'" for c in cases if c.tol]
    if len(bounds) == 1:
        return f"Each case is within {bounds[0].split(' in ')[0]} of the reference (relative error)."
    return f"Each case is within its bound of the reference (relative error): {', '.join(bounds)}."


_HERE = str(Path(__file__).resolve().parent)


def _learners_frames(tb):
    """A traceback without the frames of the checks: what is left is the learner's own code."""
    kept = []
    while tb is not None:
        if not str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(_HERE):
            kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for frame in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return rebuilt


def _innermost_name(tb):
    """The name of the function in which an exception was raised."""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name if tb is not None else None


RED, PLAIN = "\x1b[0;31m", "\x1b[0m"  # a failing check's first line stands out in a notebook


def _brief(err, cause=None):
    """A failing check's verdict as the learner reads it: the message, then where their own code raised, if it did.

    No frame of the checks is shown: the learner reads the verdict, and, when
    their code raised, where in their code it did.
    """
    first, *rest = str(err).split("\n")
    lines = [f"{RED}{first}{PLAIN}", *rest]
    if cause is not None:
        where = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__)).rstrip("\n")
        lines += ["", f"Where your code raised {type(cause).__name__}:", where]
    return lines


class Score(float):
    """The points a check gives: a number to nbgrader, "2 of 2 points" to a reader.

    nbgrader reads a grade cell's value as its text (``2``, ``1.43``) and
    gives that many points (see ``../shared/notes``: 0 scores 0); Jupyter
    shows the Markdown form. ``of``: the check's points; ``status``: "right",
    "wrong" or "unwritten".
    """

    def __new__(cls, earned, of, status):
        score = super().__new__(cls, round(earned, 2))
        score.of, score.status = of, status
        return score

    def __repr__(self):
        return f"{float(self):g}"

    def _repr_markdown_(self):
        return f"**{float(self):g} of {self.of:g} point{'' if self.of == 1 else 's'}**"


def learner_facing(points):
    """A check worth ``points`` (``check.points``, the one number its grade cell's points must equal).

    See :func:`_graded` for what the learner sees.
    """
    return functools.partial(_graded, points=points)


def _graded(check, points):
    """Make ``check`` a cell's verdict: a message to read, and the points earned as the cell's value; it never raises.

    Right: the check's line, and ``Score(points)``. Wrong (``AssertionError``,
    or a ``TypeError`` about what it was given): the message, its first line
    in red, with the learner's own frames when their code raised (no frame of
    the checks), and a share of the points by the cases passed. Not written
    yet (``NotImplementedError``): says so by name, 0 points. So Run All goes
    on past an unfinished exercise, and nbgrader reads partial credit from the
    value. ``wrapper.__wrapped__`` is the check that raises, for code that
    needs the verdict as an exception.
    """

    def wrapper(*args, **kwargs):
        try:
            check(*args, **kwargs)
        except NotImplementedError as err:
            names = [getattr(a, "__name__", "") for a in args if callable(a)]
            raised_in = _innermost_name(err.__traceback__)
            name = raised_in if raised_in in names else " or ".join(n for n in names if n) or "your function"
            print(f"{RED}{check.__name__}: {name} is not written yet{PLAIN} (it raises NotImplementedError). Write it "
                  f"in place of `raise NotImplementedError()`, run its cell, then run this one again.")  # fmt: skip
            return Score(0, points, "unwritten")
        except (AssertionError, TypeError) as err:
            cause = err.__cause__
            if cause is not None:
                cause = cause.with_traceback(_learners_frames(cause.__traceback__))
            print("\n".join(_brief(err, cause)))
            passed, total = getattr(err, "passed", 0), getattr(err, "total", 1)
            return Score(points * passed / total, points, "wrong")
        return Score(points, points, "right")

    functools.update_wrapper(wrapper, check)
    wrapper.points = points
    return wrapper


def verdict(check, *fns):
    """Run ``check(*fns)`` and return its :class:`Score` and what it printed (colours removed): for scripts and tests."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        score = check(*fns)
    return score, re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())


def need_function(fn, what, example, allowed=()):
    """Refuse what is not a function (a call's result, a string), and a function that is or calls the package's answer.

    ``example`` spells the call; ``allowed``: the names of ``bn_helpers``
    functions the exercise may call (see :mod:`bn_helpers.checks.refusal`).
    """
    if not callable(fn):
        raise TypeError(f"{what} takes your function itself, e.g. {example}; got {type(fn).__name__}")
    used = package_use(fn, allowed)
    if used:
        may = f" (it may call {' and '.join(allowed)} from bn_helpers, by those names)" if allowed else ""
        raise AssertionError(f"{what}: your function {used}. This exercise is for writing it yourself, with "
                             f"numpy{may}: the package's version is the answer the check compares with.")  # fmt: skip


def returns_tuple(n, what, names):
    """A ``select`` for :func:`run` that insists on a tuple of ``n`` outputs, named ``names`` in the message."""

    def select(out):
        if not isinstance(out, tuple) or len(out) != n:
            raise AssertionError(f"{what} must return a tuple of {n} ({', '.join(names)}); got {describe(out)}.")
        if n == 2 and _as_numbers(out[0]) is None and _as_numbers(out[1]) is not None:
            raise AssertionError(f"{what} must return ({', '.join(names)}), in that order; got a tuple whose first "
                                 f"item is {describe(out[0])}: did you return `({names[1]}, {names[0]})`?")  # fmt: skip
        return out

    return select



def quiet():
    """Swallow a check's success line (used when one check runs another first)."""
    return contextlib.redirect_stdout(io.StringIO())


def run_in_parts(title, cases, parts, second):
    """One verdict from a check run in parts over the same cases: the output, then the cache it returns.

    ``parts``: zero-argument calls, each a :func:`run` (its success line is
    swallowed); ``second`` names what the second part judges, for the
    message ("Your cache (Z_norm, var, gamma, eps)"). Right in every part:
    the success line once. Wrong: the first failing part's message in full,
    the second part's count added when it fails too, and the score over
    every part and case (each case counts once per part).
    """
    __tracebackhide__ = True
    verdicts = []
    for part in parts:
        try:
            with quiet():
                part()
            verdicts.append(None)
        except AssertionError as err:
            verdicts.append(err)
    if not any(verdicts):
        if cases.seed is None:  # hidden cases that pass add nothing to the visible check's line
            print(success_line(title, cases))
        return
    first = next(v for v in verdicts if v)
    message = str(first)
    if all(verdicts):
        wrong = verdicts[1].total - verdicts[1].passed
        message += f"\n{second} is wrong in {wrong} of the {len(cases)} cases too."
    failed = AssertionError(message)
    failed.passed = sum(len(cases) if v is None else v.passed for v in verdicts)
    failed.total = len(parts) * len(cases)
    raise failed from first.__cause__
