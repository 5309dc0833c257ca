"""The instructor's guide (book/instructors.md), its blocks run: nbgrader's whole route with two students.

The guide's shell blocks run in order, in temporary folders: the course set
up and released through an exchange folder, two students fetching and
submitting (alice with every answer right, bob with one mistake in 02's
forward pass), collection, autograding two at a time, feedback released and
fetched, scores exported. Temporary folders stand in for the guide's three
folders and the exchange in the students' configuration; on one machine the
two students are told apart by a student id added to their configuration (in
a class, by their login names) and by their home folders. The environment's
activation and nbgrader's install are checked, not run: this environment is
the activated one, with nbgrader at the pinned version.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "book" / "instructors.md"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))
from nbgrader_course import NOTEBOOKS  # noqa: E402

from test_exercises import WRONG_FORWARD  # noqa: E402

pytestmark = pytest.mark.skipif(not (BIN / "nbgrader").exists(), reason="nbgrader is not installed")


def guide_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), re.DOTALL)


def run(block, cwd, env):
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, f"{block}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def answers(mistakes=None):
    """grade_id -> the source a student writes: the solutions (their markers dropped), ``mistakes`` in place."""
    out = {}
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                lines = "".join(cell["source"]).splitlines()
                out[meta["grade_id"]] = "\n".join(x for x in lines if x.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return {**out, **(mistakes or {})}


def work(folder, written):
    """Write ``written`` (grade_id -> source) into the answer cells of the fetched notebooks in ``folder``."""
    for path in folder.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and grade_id in written:
                cell["source"] = written[grade_id]
        path.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def route(tmp_path_factory):
    base = tmp_path_factory.mktemp("route")
    activate, setup, install, fetch, submit, grade, fetch_feedback = guide_blocks("bash")
    (student_config,) = guide_blocks("python")
    # the test's PATH has the environment's bin folder first, with nbgrader installed at the pinned version
    assert activate.strip() == "source .venv/bin/activate"
    pinned = re.search(r"^nbgrader==\S+$", (ROOT / "requirements-test.txt").read_text(), re.MULTILINE).group(0)
    assert install.strip() == f"source .venv/bin/activate\npip install {pinned}"
    course, exchange = base / "course", base / "exchange"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "REPO": str(ROOT),
           "COURSE": str(course), "EXCHANGE": str(exchange)}  # fmt: skip
    named = re.compile(r"^(REPO|COURSE|EXCHANGE)=.*$\n", re.MULTILINE)
    assert len(named.findall(setup)) == 3
    run(named.sub("", setup), cwd=ROOT, env=env)
    assert '"/srv/nbgrader/exchange"' in student_config
    students = {"alice": answers(), "bob": answers({"batchnorm_forward": WRONG_FORWARD})}
    homes = {}
    for student, written in students.items():
        home = homes[student] = base / student
        home.mkdir()
        (home / "nbgrader_config.py").write_text(student_config.replace("/srv/nbgrader/exchange", str(exchange))
                                                 + f"c.CourseDirectory.student_id = {student!r}\n")  # fmt: skip
        student_env = {**env, "HOME": str(home)}
        run(fetch, cwd=home, env=student_env)
        work(home / "lectures", written)
        run(submit, cwd=home, env=student_env)
    again = 'source "$REPO/.venv/bin/activate"\n'  # a new shell's activation: this one is the activated environment
    assert len(named.findall(grade)) == 2 and again in grade
    run(named.sub("", grade).replace(again, ""), cwd=base, env=env)
    for student, home in homes.items():
        run(fetch_feedback, cwd=home, env={**env, "HOME": str(home)})
    with open(course / "grades.csv") as f:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(f)}
    return dict(course=course, homes=homes, scores=scores)


def test_the_released_copies_are_the_exercises_copies(route):
    """What students fetch is exercises/ less its first cell: it runs to the end (tests/test_exercises.py runs
    exercises/), says where the solutions are, and carries no widget state."""
    released = sorted((route["course"] / "release" / "lectures").glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in NOTEBOOKS]
    for path in released:
        nb = json.loads(path.read_text())
        copy = json.loads((ROOT / "exercises" / path.name).read_text())
        cells = lambda cells: [(c["cell_type"], "".join(c["source"])) for c in cells]  # noqa: E731
        assert cells(nb["cells"]) == cells(copy["cells"])[1:], path.name  # the copy's first cell says it is one
        assert "widgets" not in nb["metadata"] and path.stat().st_size < 2 * (ROOT / "exercises" / path.name).stat().st_size


def test_alice_earns_every_point_and_bob_loses_what_his_mistake_costs(route):
    assert route["scores"] == {"alice": (61.0, 61.0), "bob": (60.71, 61.0)}  # 1.71 of 2 for 02's forward pass


def test_bobs_feedback_names_his_mistake_and_alices_names_none(route):
    def feedback(student, name):
        (page,) = (route["homes"][student] / "lectures" / "feedback").glob(f"*/{name}.html")
        return page.read_text()

    bob = feedback("bob", "02_implementing_batch_norm")
    assert "Likely mistake: your eps is a number written in your function" in bob
    assert "Wrong in 1 of 7 cases" in bob
    for name in (p.stem for p in NOTEBOOKS):
        assert "Likely mistake" not in feedback("alice", name), name
    assert len(list((route["homes"]["bob"] / "lectures" / "feedback").glob("*/*.html"))) == len(NOTEBOOKS)
