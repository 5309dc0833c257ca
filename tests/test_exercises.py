"""The exercises: student copies up to date, failing only where the learner has work to do, and graded by nbgrader.

The course notebooks (notebooks/) hold the solutions, marked the nbgrader
way; exercises/ holds the copies made from them by tools/make_exercises.py.
nbgrader's own route is run for real in temporary course folders, each with
the course's configuration (tools/nbgrader_config.py): ``nbgrader
generate_assignment`` on the course notebooks, then ``nbgrader autograde`` on
the solutions and on the untouched student copies. The configuration runs
only the cells a grade depends on (bn_helpers.grading); the untouched copies
are also autograded with every cell running, top to bottom in a fresh kernel
with errors allowed, as the learner's Run All does, so their executed
versions show where they fail, and both routes must give the same grades.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from nbgrader_course import NOTEBOOKS, make_course, nbgrader  # noqa: E402


def nbgrader_cells(nb):
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader")]


def test_the_student_copies_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_exercises.py"), "--check"],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def test_every_notebook_has_an_exercise_and_its_check(path):
    cells = nbgrader_cells(json.loads(path.read_text()))
    solutions = [c for c in cells if c["metadata"]["nbgrader"]["solution"]]
    assert solutions, "no exercise"
    for cell in cells:
        meta = cell["metadata"]["nbgrader"]
        if meta["solution"]:
            source = "".join(cell["source"])
            assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source
            if meta["grade_id"].startswith("prediction_"):
                # an inline question: the answer, then the experiment, then a locked check_prediction cell
                checks = [c for c in cells[cells.index(cell) + 1 :]
                          if c["metadata"]["nbgrader"]["grade_id"] == "check_" + meta["grade_id"]]  # fmt: skip
                assert len(checks) == 1 and checks[0]["metadata"]["nbgrader"]["locked"]
                assert "".join(checks[0]["source"]).startswith("from bn_helpers.quiz import check_prediction\ncheck_prediction(")
                continue
            following = cells[cells.index(cell) + 1]
            # the cell right after an exercise is its check: a locked grade cell calling check_<name>
            assert following["metadata"]["nbgrader"]["grade"] and following["metadata"]["nbgrader"]["locked"]
            # it imports its check itself, so that no name rebound in a learner's cell can stand in for it
            first, call, *hidden = "".join(following["source"]).split("\n")  # then its hidden part, if any
            name = call.split("(")[0]
            assert call.startswith("check_") and first == f"from bn_helpers.checks import {name}", following["source"]
            assert following["metadata"]["nbgrader"]["grade_id"] == "check_" + meta["grade_id"]


def test_student_copies_show_no_solution():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name
        nb = json.loads(text)
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), path.name
        assert "raise NotImplementedError()" in text


def test_student_copies_keep_no_reason_for_an_unchecked_output():
    """Why nbval does not compare a cell's output is for whoever runs it; a learner's copy has no outputs anyway."""
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            assert "ignore_reason" not in cell["metadata"], (path.name, i)


def test_a_student_copy_reads_as_a_copy():
    """Its introduction says where the solutions are, never that it shows them."""
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
        assert "shows the solution" not in text, path.name
        assert f"the solutions are in `notebooks/{path.name}`" in text.lower(), path.name


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Temporary nbgrader courses: the notebooks as the assignment, a submission each, autograded side by side.

    ``solutions`` and ``untouched`` are graded the course's way (the cells a
    grade depends on); ``untouched, every cell`` runs each notebook top to
    bottom. Each has a course folder (and gradebook) of its own.
    """
    routes = {"solutions": (ROOT / "notebooks", False), "untouched": (ROOT / "exercises", False),
              "untouched, every cell": (ROOT / "exercises", True)}  # fmt: skip
    courses, runs = {}, {}
    for name, (folder, every_cell) in routes.items():
        course = courses[name] = tmp_path_factory.mktemp("course")
        make_course(course, {"learner": folder}, every_cell)
        result = nbgrader(course, "generate_assignment", "course", "--force")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        runs[name] = nbgrader(course, "autograde", "course", "--force", "--create", wait=False)
    for name, run in runs.items():
        out, _ = run.communicate(timeout=1200)
        assert run.returncode == 0, f"{name}: {out[-5000:]}"
    from nbgrader.api import Gradebook

    scores, cells, max_scores = {}, {}, set()
    for name, course in courses.items():
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            submission = gb.find_submission("course", "learner")
            scores[name] = submission.score
            cells[name] = {(nb.name, g.name): g.score for nb in submission.notebooks for g in nb.grades}
            max_scores.add(gb.find_assignment("course").max_score)
    (max_score,) = max_scores
    autograded = {name: course / "autograded" / "learner" / "course" for name, course in courses.items()}
    released = courses["untouched"] / "release" / "course"
    return dict(autograded=autograded, scores=scores, cells=cells, max_score=max_score, released=released)


def grade_cells(path):
    return [c for c in nbgrader_cells(json.loads(path.read_text())) if c["metadata"]["nbgrader"]["grade"]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def test_a_grade_cells_points_are_its_checks_points(path):
    """One source: a check's points (set where it is defined) are the points nbgrader gives its cell."""
    from bn_helpers import checks

    for cell in grade_cells(path):
        name = "".join(cell["source"]).split("\n")[1].split("(")[0].strip()  # the call, after its import
        points = 1 if name == "check_prediction" else getattr(checks, name).points
        assert cell["metadata"]["nbgrader"]["points"] == points, (cell["metadata"]["nbgrader"]["grade_id"], points)


def test_points_reflect_difficulty():
    from bn_helpers import checks

    assert checks.check_batchnorm_backward.points > checks.check_batchnorm_forward.points > checks.check_ewa_update.points


def test_nbgrader_gives_full_marks_to_the_solutions_and_zero_to_untouched_copies(graded):
    total = sum(c["metadata"]["nbgrader"]["points"] for p in NOTEBOOKS for c in grade_cells(p))
    assert graded["max_score"] == total == 61  # the README says so
    assert graded["scores"] == {"solutions": total, "untouched": 0, "untouched, every cell": 0}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def test_a_student_copy_runs_to_the_end_and_every_check_scores_zero(graded, path):
    """Run All on an untouched copy: no cell stops it; each check says what is unwritten and is worth 0."""
    executed = json.loads((graded["autograded"]["untouched, every cell"] / path.name).read_text())
    errors = [(i, o["ename"]) for i, c in enumerate(executed["cells"]) for o in c.get("outputs", [])
              if o["output_type"] == "error"]  # fmt: skip
    assert not errors, f"cells that stop Run All: {errors}"
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in code), "a cell did not run"  # down to the last one
    text = lambda x: x if isinstance(x, str) else "".join(x)  # noqa: E731 -- a stored text is a string or a list of lines
    checked = 0
    for cell in executed["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            values = [text(o["data"]["text/plain"]) for o in cell["outputs"] if o["output_type"] == "execute_result"]
            said = "".join(text(o.get("text", "")) for o in cell["outputs"] if o["output_type"] == "stream")
            assert values == ["0"], (cell["metadata"]["nbgrader"]["grade_id"], values, said)
            assert "is not written yet" in said or "No prediction recorded yet" in said, said
            checked += 1
    assert checked == len(grade_cells(path))


WRONG_FORWARD = '''def batchnorm_forward(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=1, keepdims=True)
    var = Z.var(axis=1, keepdims=True)
    Z_norm = (Z - mu) / np.sqrt(var + 1e-5)  # eps hard-coded: wrong only where a case passes another eps
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)
'''


def autograde_one(tmp_path, name, answers, tags=None):
    """nbgrader's route for one notebook: its solutions with ``answers`` (grade_id -> source) in place, autograded.

    ``tags``: grade_id -> the cell tags the submission gives that cell.
    Returns each grade cell's (score, max score) by grade_id.
    """
    nb = json.loads((ROOT / "notebooks" / name).read_text())
    for cell in nbgrader_cells(nb):
        grade_id = cell["metadata"]["nbgrader"].get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id].splitlines(keepends=True)
        if grade_id in (tags or {}):
            cell["metadata"]["tags"] = tags[grade_id]
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / name).write_text(json.dumps(nb))
    course = tmp_path / "course"
    course.mkdir()
    make_course(course, {"learner": tmp_path / "submission"}, notebooks=[ROOT / "notebooks" / name])
    for command in (["generate_assignment", "course", "--force"], ["autograde", "course", "--force", "--create"]):
        result = nbgrader(course, *command, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(name[:-6], "course", "learner")
        return {g.name: (g.score, g.max_score) for g in notebook.grades}


def _outputs(cell):
    """A cell's outputs, back-to-back prints as one (how a kernel's prints are split into messages varies)."""
    out = []
    for o in cell.get("outputs", []):
        o = {k: "".join(v) if k == "text" else v for k, v in o.items() if k != "execution_count"}
        if out and o["output_type"] == out[-1]["output_type"] == "stream" and o["name"] == out[-1]["name"]:
            out[-1]["text"] += o["text"]
        else:
            out.append(o)
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def test_grading_runs_what_a_grade_depends_on_and_grades_as_running_every_cell_does(graded, path):
    """The course's route runs a few cells, and each graded cell says and scores what a top-to-bottom run gives it."""
    from bn_helpers.grading import cells_to_run

    stored = json.loads(path.read_text())["cells"]
    solutions, untouched, every = (json.loads((graded["autograded"][name] / path.name).read_text())["cells"]
                                   for name in ("solutions", "untouched", "untouched, every cell"))  # fmt: skip
    ran = {i for i, c in enumerate(solutions) if c["cell_type"] == "code" and c["execution_count"]}
    assert ran == cells_to_run(stored) and len(ran) < sum(c["cell_type"] == "code" for c in stored) / 2 + 2
    by_id = lambda cells: {c["metadata"]["nbgrader"]["grade_id"]: c for c in cells  # noqa: E731
                           if c.get("metadata", {}).get("nbgrader", {}).get("grade")}  # fmt: skip
    stored, solutions, untouched, every = map(by_id, (stored, solutions, untouched, every))
    assert stored.keys() == solutions.keys() == untouched.keys() == every.keys()
    for grade_id, cell in stored.items():
        assert _outputs(solutions[grade_id]) == _outputs(cell), grade_id  # the solutions: as the notebook's own run
        assert _outputs(untouched[grade_id]) == _outputs(every[grade_id]), grade_id  # the untouched copy: as Run All
    assert {k: v for k, v in graded["cells"]["untouched"].items() if k[0] == path.stem} == \
        {k: v for k, v in graded["cells"]["untouched, every cell"].items() if k[0] == path.stem}


def test_a_check_tagged_to_skip_execution_still_runs(tmp_path):
    """nbclient skips a cell tagged skip-execution, and nbgrader gives a check with no output full marks: not here."""
    answer = "def ewa_update(average, value, beta=0.9):\n    return value\n"  # no average at all
    points = autograde_one(tmp_path, "06_batch_norm_at_test_time.ipynb", {"ewa_update": answer},
                           tags={"check_ewa_update": ["skip-execution"]})  # fmt: skip
    assert points["check_ewa_update"] == (0.2, 1)  # it ran: right in 1 of its 5 cases (skipped, it would score 1)


def test_nbgrader_one_mistake_costs_one_exercise(tmp_path):
    """02 submitted with a forward pass wrong in one case and a right backward: partial marks, then full marks."""
    points = autograde_one(tmp_path, "02_implementing_batch_norm.ipynb", {"batchnorm_forward": WRONG_FORWARD})
    assert points["check_batchnorm_forward"] == (1.71, 2)  # Z_tilde and the cache right in 6 of 7 cases each
    assert points["check_batchnorm_backward_staged"] == (3, 3)  # judged on its own, with the prescribed cache
    assert points["check_batchnorm_backward"] == (3, 3)


def lookup_table_inference():
    """The visible cases of check_batchnorm_inference memorised: inputs recognised by shape and sum, answers copied."""
    import numpy as np

    from bn_helpers.checks.at_test_time import _inference_cases, _inference_ref

    table = {}
    for case in _inference_cases():
        Z = case.args[0]
        table[(np.shape(Z), round(float(np.sum(Z)), 6))] = _inference_ref(*case.args, **case.kwargs)[0].tolist()
    return ("import numpy as np\n\n"
            f"_TABLE = {table!r}\n\n\n"
            "def batchnorm_inference(Z, gamma, beta, running_mean, running_var, eps=1e-5):\n"
            "    key = (np.shape(Z), round(float(np.sum(Z)), 6))\n"
            "    return np.array(_TABLE[key]) if key in _TABLE else np.asarray(Z, dtype=float)\n")  # fmt: skip


FAKED_EWA = (
    # the package's answer behind a wrapper of the same name, and the check's name rebound to a lambda that prints a
    # pass and returns full marks
    "from bn_helpers import ewa_update as _ours\n\n\n"
    "def ewa_update(average, value, beta=0.9):\n    return _ours(average, value, beta)\n\n\n"
    "check_ewa_update = lambda *args: print('right in all 5 cases') or 1\n"
)


def test_the_lookup_table_passes_the_visible_check_and_fails_the_hidden_one():
    from bn_helpers import checks

    namespace = {}
    exec(lookup_table_inference(), namespace)
    fn = namespace["batchnorm_inference"]
    assert checks.verdict(checks.check_batchnorm_inference, fn)[0] == 2  # memorised: the visible cases pass
    score, said = checks.verdict(lambda f: checks.check_batchnorm_inference(f, hidden=1234), fn)
    assert score == 0 and "hidden=1234 draws the same ones again" in said


def test_nbgrader_scores_0_for_a_wrapped_answer_a_rebound_check_and_a_lookup_table(tmp_path):
    faked = {"ewa_update": FAKED_EWA, "batchnorm_inference": lookup_table_inference()}
    points = autograde_one(tmp_path, "06_batch_norm_at_test_time.ipynb", faked)
    assert points["check_ewa_update"] == (0, 1)
    assert points["check_batchnorm_inference"] == (0, 2)


def test_nbgraders_released_copies_carry_no_hidden_cases(graded):
    released = sorted(graded["released"].glob("*.ipynb"))
    assert len(released) == len(NOTEBOOKS)
    for path in released:
        text = path.read_text()
        assert "HIDDEN TESTS" not in text and "hidden=" not in text, path.name


def test_student_copies_carry_no_hidden_cases():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        text = path.read_text()
        assert "HIDDEN TESTS" not in text and "hidden=" not in text, path.name
    for path in NOTEBOOKS:  # while every check's grade cell in the course notebooks has them
        for cell in grade_cells(path):
            source = "".join(cell["source"])
            assert "check_prediction" in source or "### BEGIN HIDDEN TESTS\n" in source and "hidden=True)" in source
