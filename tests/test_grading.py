"""Which cells autograding runs (bn_helpers.grading), on small notebooks made to show each rule.

The course's own notebooks go through nbgrader in tests/test_exercises.py,
where every graded cell must say and score what a top-to-bottom run gives it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("nbgrader")

from bn_helpers.grading import cells_to_run, graded_source  # noqa: E402
from bn_helpers.quiz import MEASURED, PREDICTIONS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def code(source, grade_id=None, grade=False):
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}
    if grade_id:
        cell["metadata"]["nbgrader"] = {"grade_id": grade_id, "grade": grade, "solution": not grade, "locked": grade}
    return cell


SETUP = code("%load_ext autoreload\nimport numpy as np\nfrom bn_helpers import MLP")
DATA = code("X = np.ones((3, 4))\nrng = np.random.default_rng(0)")
EXPERIMENT = code("net = MLP([3, 2])\nhistory = [net.loss(X) for _ in range(1000)]")
FIGURE = code("plt.plot(history)")


def test_answers_checks_and_what_they_read_run_and_experiments_do_not():
    answer = code("def f(Z, m):\n    total = Z.sum(axis=1)\n    return np.tanh(total / m)", "f")
    check = code("from bn_helpers.checks import check_f\ncheck_f(f)", "check_f", grade=True)
    cells = [SETUP, DATA, EXPERIMENT, FIGURE, answer, check, code("print(history[-1])")]
    assert cells_to_run(cells) == {0, 4, 5}  # a function's parameters and locals read nothing of the notebook


def test_a_learners_answer_that_reads_the_notebooks_variables_gets_the_cells_that_made_them():
    answer = code("def f(Z):\n    return Z - X.mean() + len(history)", "f")
    check = code("check_f(f)", "check_f", grade=True)
    cells = [SETUP, DATA, EXPERIMENT, FIGURE, answer, check]
    assert cells_to_run(cells) == {0, 1, 2, 4, 5}  # X and history: DATA and EXPERIMENT (which needs MLP and X)


def test_a_function_reads_what_is_bound_when_it_is_called_and_a_cell_reads_what_is_bound_before_it():
    answer = code("def f(Z):\n    return Z * scale", "f")
    later = code("scale = 2.0")  # bound after the answer, before the check calls it
    check = code("check_f(f)", "check_f", grade=True)
    after = code("unused = 1")
    assert cells_to_run([SETUP, answer, later, check, after]) == {1, 2, 3}
    reads_too_early = code("y = offset + 1", "y")
    assert cells_to_run([SETUP, reads_too_early, code("offset = 3"), code("check(y)", "c", grade=True)]) == {1, 3}


def test_comprehensions_lambdas_classes_and_imports_bind_and_read_as_python_does():
    answer = code("class Layer:\n    size = width\n    def forward(self, Z):\n        return [z * k for z in Z]\n"
                  "g = lambda t: t + shift\nimport numpy.linalg as la", "layer")  # fmt: skip
    cells = [code("width = 3"), code("k = 2"), code("shift = 1"), code("z = 99"), code("t = 0"), answer,
             code("check(Layer, g, la)", "check", grade=True)]  # fmt: skip
    assert cells_to_run(cells) == {0, 1, 2, 5, 6}  # z and t are local to the comprehension and the lambda


def test_a_cell_that_is_not_python_runs_everything():
    cells = [SETUP, code("def f(:\n    pass", "f"), code("check(f)", "c", grade=True), EXPERIMENT]
    assert cells_to_run(cells) is None
    assert cells_to_run([SETUP, DATA, EXPERIMENT]) == set()  # nothing graded, nothing to run


def test_an_inline_questions_check_is_graded_against_the_course_runs_answer_not_the_experiment():
    check = 'from bn_helpers.quiz import check_prediction\ncheck_prediction("03-stall", p, observed=stall_letter(h))\n'
    assert graded_source(check).endswith("check_prediction('03-stall', p, observed='a')\n")
    cells = [SETUP, code("h = train()\ndef stall_letter(h):\n    return 'a'"), code('p = "a"', "p"),
             code(check, "check_p", grade=True)]  # fmt: skip
    assert cells_to_run(cells) == {2, 3}
    unknown = check.replace("03-stall", "99-unknown")
    assert graded_source(unknown) == unknown  # a question the course's run has no answer for keeps its experiment


def test_measured_holds_the_answer_each_experiment_gives_in_the_notebooks_own_run():
    """Each solution's letter is the experiment's answer: its stored verdict says it held (strict nbval checks
    that verdict on every row of the matrix)."""
    found = {}
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        letters = {}
        for cell in cells:
            meta, source = cell.get("metadata", {}).get("nbgrader", {}), "".join(cell["source"])
            if meta.get("solution") and meta["grade_id"].startswith("prediction"):
                name, letter = re.search(r'^(prediction_\w+) = "(\w)"$', source, re.M).groups()  # the solution's line
                letters[name] = letter
            if meta.get("grade") and "check_prediction(" in source:
                key, name = re.search(r'check_prediction\("([\w-]+)", (\w+)', source).groups()
                said = "".join("".join(o.get("text", "")) for o in cell["outputs"])
                assert said.startswith(f"Your prediction held: ({letters[name]})"), (key, said[:80])
                found[key] = letters[name]
    assert MEASURED == found
    assert set(MEASURED) == set(PREDICTIONS)


def test_the_course_configuration_loads_and_swaps_nbgraders_execute_for_ours():
    """nbgrader only logs an error in nbgrader_config.py and goes on without any of it: load it here, strictly."""
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    from bn_helpers.grading import ExecuteGradedCells, autograde_preprocessors

    config = Config()
    exec((ROOT / "tools" / "nbgrader_config.py").read_text(), {"get_config": lambda: config})
    ours = config.Autograde.autograde_preprocessors
    assert ExecuteGradedCells in ours and Execute not in ours
    assert [p for p in ours if p is not ExecuteGradedCells] == [p for p in autograde_preprocessors(True) if p is not Execute]
    assert config.CourseDirectory.course_id == "batchnorm" and config.Execute.timeout == 300
