"""The course's changes to nbgrader's route: a release that runs to the end, and autograding in seconds.

An instructor's tool: it needs nbgrader (installed with the ``test`` extra),
and no notebook imports it. Autograding re-executes every notebook of a
submission; top to bottom that costs as much as the course's experiments,
while a grade depends only on the learner's answer cells, the check cells
and what those read. :class:`ExecuteGradedCells` is nbgrader's ``Execute``
running only those, set in ``nbgrader_config.py`` (``tools/nbgrader_config.py`` is the course's)::

    from bn_helpers.grading import autograde_preprocessors, generate_assignment_preprocessors
    c.GenerateAssignment.preprocessors = generate_assignment_preprocessors()
    c.Autograde.autograde_preprocessors = autograde_preprocessors()

The first makes the released copies the ones in ``exercises/``
(:func:`generate_assignment_preprocessors`).

Which cells run (:func:`cells_to_run`):

- every cell nbgrader knows (the learner's answers, the checks), always,
  whatever tags a submission gives it (nbclient skips a cell tagged
  ``skip-execution``, and nbgrader gives a check with no output full marks);
- every earlier cell that binds, at its top level, a name a running cell
  reads: its top-level code when it runs, its functions' bodies whenever
  they are called (any cell up to the last graded one). The analysis reads
  the submitted source, so a learner's answer that uses a variable of the
  notebook gets the cell that made it;
- an inline question's check (``check_prediction(key, ..., observed=...)``)
  is graded against the answer its experiment gives in the course's own run
  (:data:`bn_helpers.quiz.MEASURED`, the same on every CPU that strict nbval
  checks), so the experiment does not run. The learner saw that verdict when
  running the notebook; the cell's source is restored after it runs.

A cell that only changes an object in place (``net.train(...)`` with no
assignment) does not count as binding a name; a name is taken from the cells
that assign it. If some cell of a submission is not Python the analysis can
read, every cell runs.
"""

from __future__ import annotations

import ast
import atexit
import builtins
import re

from jupyter_core.utils import run_sync
from nbconvert.preprocessors import Preprocessor
from nbgrader.converters.autograde import Autograde
from nbgrader.converters.generate_assignment import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions, Execute
from traitlets import Bool, Enum

from .quiz import MEASURED

_BUILTINS = frozenset(dir(builtins))
_SKIP_TAG = "skip-execution"  # nbclient's default NotebookClient.skip_cells_with_tag


def _python(source):
    """The cell's source as Python (IPython's ``%magic`` and ``!shell`` lines turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


class _Names(ast.NodeVisitor):
    """The names a cell binds at its top level, and the free names it reads now and when its functions run."""

    def __init__(self):
        self.bound, self.read_now, self.read_later = set(), set(), set()
        self._scopes = []  # the local names of each enclosing function, lambda or comprehension
        self._kinds = []  # "function" or "comprehension", one per scope

    def _read(self, name):
        if any(name in scope for scope in self._scopes) or name in _BUILTINS:
            return
        (self.read_later if "function" in self._kinds else self.read_now).add(name)

    def _bind(self, name):
        if not self._scopes:
            self.bound.add(name)

    def _enter(self, kind, local_names, body):
        self._scopes.append(set(local_names))
        self._kinds.append(kind)
        for node in body:
            self.visit(node)
        self._kinds.pop()
        self._scopes.pop()

    def visit_FunctionDef(self, node):
        for expr in node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(expr)
        self._bind(node.name)
        self._enter("function", _local_names(node), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        for expr in node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(expr)
        self._enter("function", _local_names(node), [node.body])

    def visit_ClassDef(self, node):
        for expr in node.decorator_list + node.bases + [k.value for k in node.keywords]:
            self.visit(expr)
        self._bind(node.name)
        for item in node.body:  # a class body runs when the cell does; its methods when called
            self.visit(item)

    def _comprehension(self, node, *elements):
        targets = {n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        rest = [g.target for g in node.generators] + [c for g in node.generators for c in g.ifs]
        rest += [g.iter for g in node.generators[1:]] + list(elements)
        self._enter("comprehension", targets, rest)

    def visit_ListComp(self, node):
        self._comprehension(node, node.elt)

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comprehension(node, node.key, node.value)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        else:
            self._bind(node.id)

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_Global(self, node):
        self.bound.update(node.names)

    def visit_ExceptHandler(self, node):
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)


def _local_names(function):
    """A function's (or lambda's) local names: its parameters and what its own body binds, less ``global``s."""
    args = function.args
    local = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    local |= {a.arg for a in (args.vararg, args.kwarg) if a}
    declared_global = set()
    body = function.body if isinstance(function.body, list) else [function.body]
    todo = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            local.add(node.name)
            continue  # its own body is a scope of its own
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            local.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            local |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            local.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global |= set(node.names)
        todo.extend(ast.iter_child_nodes(node))
    return local - declared_global


def graded_source(source):
    """``source`` with each ``check_prediction(key, ..., observed=<expression>)`` given the answer of the course's run.

    Returns ``source`` itself when it has no such call (or is not Python the
    analysis reads). The key must be a literal string that
    :data:`bn_helpers.quiz.MEASURED` knows.
    """
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return source
    changed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check_prediction":
            key = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            for keyword in node.keywords:
                if keyword.arg == "observed" and key in MEASURED:
                    keyword.value, changed = ast.Constant(MEASURED[key]), True
    return ast.unparse(tree) + "\n" if changed else source


def _is_graded(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade") or meta.get("solution"))


def cells_to_run(cells):
    """The indices of the code cells a grade depends on (see the module's docstring), or ``None`` for all.

    ``cells``: the notebook's cells (``nb.cells``), in order. Each graded
    check is read as :func:`graded_source` gives it.
    """
    names = {}
    for i, cell in enumerate(cells):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") != "code" or not source.strip():
            continue
        try:
            visitor = _Names()
            visitor.visit(ast.parse(_python(graded_source(source) if _is_graded(cell) else source)))
        except SyntaxError:
            return None
        names[i] = visitor
    graded = [i for i in names if _is_graded(cells[i])]
    if not graded:
        return set()
    last = max(graded)
    run, todo = set(), list(graded)
    while todo:
        i = todo.pop()
        if i in run:
            continue
        run.add(i)
        for read, before in ((names[i].read_now, i), (names[i].read_later, last)):
            todo += [j for j in names if j < before and j not in run and names[j].bound & read]
    return run


class ExecuteGradedCells(Execute):
    """nbgrader's ``Execute``, running only the cells :func:`cells_to_run` picks (and every cell if it says all).

    A cell that does not run keeps no output and no execution count: the
    autograded notebook and the feedback show its source alone. Each notebook
    still runs in a fresh kernel; the kernel for the next notebook is started
    while this one runs, importing the modules the course's cells import, so
    that its start-up (most of what grading a notebook costs now) overlaps the
    work (``warm_kernel=False``: start each when its notebook comes).
    """

    warm_kernel = Bool(True, help="Start the next notebook's kernel while this one runs.").tag(config=True)
    # Every output has arrived when the last cell has run: the kernel is stopped at once, not asked to exit.
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)

    _spare = None  # (what it was started for, its kernel manager): the next notebook's kernel, starting

    def preprocess(self, nb, resources, km=None):
        self._run = cells_to_run(nb.cells)
        if km is not None or not self.warm_kernel:
            return super().preprocess(nb, resources, km=km)
        needs = (nb.metadata.get("kernelspec", {}).get("name", ""), resources.get("metadata", {}).get("path"),
                 tuple(self.extra_arguments))  # fmt: skip
        km = self._take_spare(needs)
        modules = sorted(_imported(nb.cells, self._run))
        ExecuteGradedCells._spare = (needs, self._start_kernel(needs, modules))  # for the next notebook
        if km is None:
            return super().preprocess(nb, resources)  # nbclient starts a kernel and shuts it down
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            self._cleanup_kernel()  # a kernel handed in is not nbclient's to shut down

    def _start_kernel(self, needs, modules=()):
        """A kernel for ``needs`` (kernel name, folder, arguments), starting; it imports ``modules`` as it starts.

        Importing is what a notebook's first cell spends its time on; a module
        imported before that cell runs is the same module when it does, and no
        name of the notebook's is bound by it.
        """
        kernel_name, path, extra_arguments = needs
        km = self.kernel_manager_class(kernel_name=kernel_name or self.kernel_name, config=self.config)
        imports = "".join(f"__import__({m!r}); " for m in modules)  # ";": no result is displayed or kept
        run_sync(km.start_kernel)(extra_arguments=[*extra_arguments, f"--IPKernelApp.exec_lines={imports}"], cwd=path)
        return km

    @classmethod
    def _take_spare(cls, needs):
        """The kernel started for ``needs`` (kernel, folder, arguments), or None: another one is shut down."""
        spare, cls._spare = cls._spare, None
        if spare is None:
            return None
        if spare[0] == needs and run_sync(spare[1].is_alive)():
            return spare[1]
        _shut_down(spare[1])
        return None

    def preprocess_cell(self, cell, resources, index):
        if self._run is not None and index not in self._run:
            return cell, resources
        source, tags = cell.source, list(cell.metadata.get("tags", []))
        if _is_graded(cell):
            cell.source = graded_source(source)
            if _SKIP_TAG in tags:  # a submission cannot opt its checks out of running
                cell.metadata["tags"] = [t for t in tags if t != _SKIP_TAG]
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = source
            if _SKIP_TAG in tags:
                cell.metadata["tags"] = tags


def _imported(cells, run):
    """The modules the course's cells in ``run`` (indices; None: all) import at their top level, by full name.

    The learner's answer cells are left out: a module they import is imported
    when their cell runs, with whatever it prints then.
    """
    modules = set()
    for i, cell in enumerate(cells):
        ours = not cell.get("metadata", {}).get("nbgrader", {}).get("solution")
        if cell.get("cell_type") == "code" and ours and (run is None or i in run):
            try:
                tree = ast.parse(_python("".join(cell.get("source", ""))))
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    modules |= {a.name for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module)
    return modules


def _shut_down(km):
    run_sync(km.shutdown_kernel)(now=True)


@atexit.register
def _shut_down_the_spare():
    spare, ExecuteGradedCells._spare = ExecuteGradedCells._spare, None
    if spare is not None:
        _shut_down(spare[1])


def autograde_preprocessors(every_cell=False):
    """nbgrader's autograde preprocessors, with :class:`ExecuteGradedCells` in place of its ``Execute``.

    ``every_cell=True`` keeps nbgrader's own ``Execute``, which runs a
    submission top to bottom as the learner's Run All does.
    """
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    return list(default) if every_cell else [ExecuteGradedCells if p is Execute else p for p in default]


class RunAllGoesOn(Preprocessor):
    """Drop nbgrader's stub where it would stop Run All: ``raise NotImplementedError()`` at a cell's top level.

    Runs after nbgrader's ``ClearSolutions``. An inline question's answer cell
    keeps its ``prediction_x = None`` line, and the check after the experiment
    scores an unanswered question 0 and says so; inside a function the stub
    stays, and the function's check says the exercise is not written yet.
    """

    enabled = True  # nbconvert runs a preprocessor only when enabled; nbgrader's own are by default

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            lines = cell.source.split("\n")
            cell.source = "\n".join(line for line in lines if line != "raise NotImplementedError()")
        return cell, resources


# The course notebook's introduction says it shows the solutions and where the learner's copy is: in a copy,
# that sentence says where the solutions are instead.
_SOLUTIONS_SENTENCE = re.compile(r"This notebook shows the solutions?; your copy, with the exercises? blank, is .*?\.(?=\s|$)",
                                 re.DOTALL)  # fmt: skip


class ForTheLearner(Preprocessor):
    """Make a learner's copy read as one, without what is there for the course's own runs.

    Drops the widget state the notebook stores for its executed outputs (a
    copy has no outputs to show it: it would only make the file several
    times larger) and the reason a cell's output is not compared by strict
    nbval; the introduction's sentence about the solutions says where they
    are. The notebook's name is ``resources["unique_key"]`` (nbconvert's and
    nbgrader's).
    """

    enabled = True

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        name = resources["unique_key"] + ".ipynb"

        def as_a_copy(match):
            blank = "they are" if match.group(0).startswith("This notebook shows the solutions") else "it is"
            return f"In this copy {blank} blank; the solutions are in `notebooks/{name}`."

        for cell in nb.cells:
            cell.metadata.pop("ignore_reason", None)
            if cell.cell_type == "markdown":
                cell.source = _SOLUTIONS_SENTENCE.sub(as_a_copy, cell.source)
        return nb, resources


def generate_assignment_preprocessors():
    """nbgrader's ``generate_assignment`` preprocessors, with :class:`ForTheLearner` first and :class:`RunAllGoesOn`
    right after ``ClearSolutions``: the released copies are those of ``exercises/`` (less their first cell, which
    says where the solutions are)."""
    out = [ForTheLearner]
    for p in GenerateAssignment.class_traits()["preprocessors"].default():
        out += [p, RunAllGoesOn] if p is ClearSolutions else [p]
    return out
