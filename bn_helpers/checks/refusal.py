"""Refuse the package's own answer: a learner's function that is, wraps or calls into ``bn_helpers`` for what it asks.

A check compares the learner's function with the package's; a function that
returns the package's result (``from bn_helpers import batchnorm_forward``, a
wrapper around it or around a check's reference helper, a ``functools.partial``
of it) would pass without any work. :func:`package_use` looks at what a
function *is* and what its code *refers to* (the globals it names, its
closures and defaults, the learner's own helpers it calls, wrappers'
``__wrapped__``), and says how it reaches the package; the checks refuse such
a function with that message, except for the names an exercise allows (03's
layer may call ``batchnorm_forward`` and ``activation_forward``).

It stops the shortcuts that take a line or two, not a learner set on fooling
the interpreter (rewriting the package in memory is out of its reach).
"""

from __future__ import annotations

import contextlib
import dis
import functools
import types
from pathlib import Path

PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
# Names whose use means code is looked up or built as it runs, out of sight of the reading below.
_DYNAMIC = {"eval", "exec", "compile", "__import__", "import_module", "importlib", "bn_helpers", "globals", "vars"}


def _is_package_object(obj) -> bool:
    """True for a module, function, class or callable object that comes from ``bn_helpers``.

    Data the package made (a ``BatchNormCache``, a data set) is not code: a
    function that names such a global by accident (an unwritten exercise's
    ``return Z_tilde, cache``, where the notebook has a ``cache`` of its own)
    computes nothing with the package.
    """
    if isinstance(obj, types.ModuleType):
        name, file = obj.__name__, getattr(obj, "__file__", None) or ""
        return name.split(".")[0] == "bn_helpers" or file.startswith(PACKAGE_DIR)
    code = getattr(obj, "__code__", None)
    if isinstance(code, types.CodeType):
        return code.co_filename.startswith(PACKAGE_DIR)
    if not (isinstance(obj, type) or callable(obj)):
        return False
    module = getattr(obj if isinstance(obj, type) else type(obj), "__module__", None) or ""
    return module.split(".")[0] == "bn_helpers"


def _label(obj) -> str:
    """``bn_helpers.batchnorm.batchnorm_forward``: where an object of the package comes from."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        target = obj if callable(obj) or isinstance(obj, type) else type(obj)
        name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"
    return name


def _codes(code):
    """A code object and every code object nested in it (inner functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


# Instructions that name a global (or builtin, or module) rather than an attribute: ``self.eval`` is a method, not
# Python's ``eval``, and ``self.train`` is not the package's ``train``.
_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "IMPORT_NAME", "IMPORT_FROM",
               "LOAD_FROM_DICT_OR_GLOBALS"}  # fmt: skip


def _global_names(code):
    """The names ``code`` itself looks up as globals or imports (not as attributes), in order, once each."""
    return list(dict.fromkeys(ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_OPS))


def package_use(fn, allowed=()) -> str | None:
    """How ``fn`` uses ``bn_helpers`` beyond the ``allowed`` names, as words for a message; None if it does not.

    Follows the learner's own code: functions defined in the same namespace as
    ``fn`` (their globals are ``fn``'s) are read too, and so are the objects
    they name, close over or take as defaults. Library code (numpy) is not
    entered; it cannot reach the package.
    """
    root = fn  # the learner's function itself, under any wrapping: its globals are the learner's namespace
    while isinstance(root, functools.partial):
        root = root.func
    root = getattr(root, "__func__", root)
    if not isinstance(root, types.FunctionType) and isinstance(getattr(type(root), "__call__", None), types.FunctionType):
        root = type(root).__call__
    home = getattr(root, "__globals__", None)
    seen, todo = set(), [(fn, "is")]
    while todo:
        obj, how = todo.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (int, float, complex, str, bytes, bool)):
            continue
        seen.add(id(obj))
        if _is_package_object(obj):
            name = getattr(obj, "__name__", "")
            if name in allowed and not isinstance(obj, types.ModuleType):
                continue
            return f"{how} bn_helpers' own {_label(obj)}" if how == "is" else f"{how} {_label(obj)}"
        if isinstance(obj, functools.partial):
            todo += [(obj.func, how), *((a, "passes") for a in obj.args), *((a, "passes") for a in obj.keywords.values())]
            continue
        if isinstance(obj, types.MethodType):
            todo += [(obj.__func__, how), (obj.__self__, "is bound to")]
            continue
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            todo.append((wrapped, "wraps"))
        if isinstance(obj, types.FunctionType):
            if obj is not root and obj.__globals__ is not home:
                continue  # library code: not the learner's
            for cell in obj.__closure__ or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    todo.append((cell.cell_contents, "uses"))
            todo += [(d, "uses") for d in (obj.__defaults__ or ())]
            todo += [(d, "uses") for d in (obj.__kwdefaults__ or {}).values()]
            for code in _codes(obj.__code__):
                for name in _global_names(code):
                    if name.split(".")[0] == "bn_helpers":
                        return "uses the module bn_helpers"
                    if name in _DYNAMIC:
                        return f"uses {name}, which looks code up as it runs"
                    if name in obj.__globals__:
                        todo.append((obj.__globals__[name], "uses"))
                for const in code.co_consts:
                    if isinstance(const, str) and "bn_helpers" in const and const != obj.__doc__:
                        return "names bn_helpers in a string"
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo += [(o, how) for o in obj]
        elif isinstance(obj, dict):
            todo += [(o, how) for o in obj.values()]
        elif not isinstance(obj, (type, types.ModuleType, types.BuiltinFunctionType)) and callable(obj):
            call = getattr(type(obj), "__call__", None)  # an object used as a function: read its __call__
            if isinstance(call, types.FunctionType):
                todo.append((call, how))
        elif isinstance(obj, type) and getattr(obj, "__module__", None) == getattr(root, "__module__", None):
            todo += [(v, "uses") for v in vars(obj).values() if isinstance(v, (types.FunctionType, staticmethod, classmethod))]
        elif isinstance(obj, (staticmethod, classmethod)):
            todo.append((obj.__func__, how))
    return None
