"""A temporary nbgrader course made from the course notebooks, for the tests and `make bench`.

``make_course`` writes the course's configuration (tools/nbgrader_config.py,
with the course's root added) and the notebooks as one assignment, named
``course``; ``nbgrader`` runs one of nbgrader's commands in it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BIN = Path(sys.executable).parent


def make_course(course, submissions, every_cell=False, notebooks=NOTEBOOKS):
    """An nbgrader course in the folder ``course``: ``notebooks`` (paths) as the assignment ``course``.

    ``submissions``: student -> the folder whose copies of ``notebooks`` they
    submit. ``every_cell``: autograde runs every cell (nbgrader's own
    ``Execute``) instead of the cells a grade depends on.
    """
    course = Path(course)
    config = (ROOT / "tools" / "nbgrader_config.py").read_text() + f"\nc.CourseDirectory.root = {str(course)!r}\n"
    if every_cell:
        config += "c.Autograde.autograde_preprocessors = autograde_preprocessors(every_cell=True)\n"
    (course / "nbgrader_config.py").write_text(config)
    for sub, src in [("source", ROOT / "notebooks"), *((f"submitted/{s}", Path(f)) for s, f in submissions.items())]:
        (course / sub / "course").mkdir(parents=True)
        for nb in notebooks:
            shutil.copy(src / nb.name, course / sub / "course" / nb.name)


def nbgrader(course, *args, wait=True, timeout=1200):
    """Run ``nbgrader *args`` in ``course``: the finished process (output in ``.stdout``), or the running one.

    nbgrader runs ``alembic`` from PATH to set up its database, so this
    environment's bin folder goes first on PATH.
    """
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(BIN / "nbgrader"), *args]
    if wait:
        return subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=timeout, env=env)
    return subprocess.Popen(command, cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
