"""Make the learner's copies in exercises/ from the course notebooks, with nbgrader's own preprocessors.

The notebooks in notebooks/ hold the solutions, marked the nbgrader way:
each exercise is a solution cell (cell metadata ``nbgrader.solution``) whose
code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is the answer,
and the check right after it is a locked grade cell. This script runs the
preprocessors that ``nbgrader generate_assignment`` runs on each notebook,
through nbconvert, without nbgrader's database or a JupyterHub:

- ``ClearSolutions``: each solution region becomes ``raise NotImplementedError()``;
- ``ForTheLearner`` (ours, bn_helpers.grading): no stored widget state, no
  reason why strict nbval ignores an output, and the introduction's sentence
  about the solutions said as a copy says it;
- ``RunAllGoesOn`` (ours, bn_helpers.grading): in an answer cell, where that line would stand at the
  top level (an inline question's ``prediction_x = None`` and its answer), it
  is dropped, so Run All goes on; inside a function it stays, and the
  function's check says the exercise is not written yet;
- ``ClearOutput``: no stored outputs (and no execution counts);
- ``ClearHiddenTests``: a grade cell's hidden part (between ``### BEGIN HIDDEN
  TESTS`` and ``### END HIDDEN TESTS``: the check on cases drawn when grading
  runs) is removed, so the copy's check is the visible one;
- ``LockCells``: grade cells cannot be edited or deleted in a front end;
- ``ComputeChecksums`` and ``CheckCellMetadata``: nbgrader's bookkeeping and its
  own check that the cell metadata is consistent.

The result is written only if it differs, so running it twice changes nothing:

    python tools/make_exercises.py            # all notebooks -> exercises/
    python tools/make_exercises.py --check    # exit 1 (and say which) if exercises/ is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)
from traitlets.config import Config

from bn_helpers.grading import ForTheLearner, RunAllGoesOn

ROOT = Path(__file__).resolve().parent.parent
SOURCE, TARGET = ROOT / "notebooks", ROOT / "exercises"
HEADER = """# {title} (exercises)

This is the learner's copy of [`notebooks/{name}`](../notebooks/{name}): every exercise is blank
(`raise NotImplementedError()`), and its check cell below it scores 0 until you write it. Write
each function in place of `# YOUR CODE HERE` and `raise NotImplementedError()`, run the cell, then
run the check: it says what is right, or what is wrong and often why, and its value is the points
earned. Run All goes to the end either way.{questions} The solutions are in `notebooks/{name}`.
"""
QUESTIONS = (" Each inline question is blank as `prediction_... = None`: set it to your letter, as a string, "
             "before its experiment runs.")


def student_copy(path: Path) -> str:
    """The student version of one course notebook, as the text of an .ipynb file."""
    nb = nbformat.read(path, as_version=4)
    exporter = NotebookExporter(config=Config())
    for pre in (ForTheLearner, ClearSolutions, RunAllGoesOn, ClearOutput, ClearHiddenTests, LockCells, ComputeChecksums,
                CheckCellMetadata):
        exporter.register_preprocessor(pre(), enabled=True)
    body, _ = exporter.from_notebook_node(nb, resources={"unique_key": path.stem})
    nb = nbformat.reads(body, as_version=4)
    title = nb.cells[0].source.splitlines()[0].lstrip("# ").strip()
    asks = any(c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("prediction_") for c in nb.cells)
    header = nbformat.v4.new_markdown_cell(HEADER.format(title=title, name=path.name, questions=QUESTIONS if asks else ""))
    header.id = "exercise-copy-header"
    nb.cells.insert(0, header)
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report whether exercises/ is up to date")
    args = parser.parse_args(argv)
    TARGET.mkdir(exist_ok=True)
    stale = []
    for path in sorted(SOURCE.glob("*.ipynb")):
        out = TARGET / path.name
        text = student_copy(path)
        if not out.exists() or out.read_text() != text:
            stale.append(out.relative_to(ROOT))
            if not args.check:
                out.write_text(text)
    if args.check and stale:
        print("out of date (run `make exercises`): " + ", ".join(map(str, stale)))
        return 1
    print(f"{'would update' if args.check else 'updated'} {len(stale)} of {len(list(SOURCE.glob('*.ipynb')))} student copies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
