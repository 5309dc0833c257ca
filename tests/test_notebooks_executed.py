"""Every committed notebook is really checked by strict nbval.

nbval skips a code cell that has no execution count, so a notebook committed
with its outputs stripped would pass while checking nothing. Each notebook must
be stored executed top to bottom in a fresh kernel: execution counts 1, 2, 3, ...
on every code cell, and no error output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def execution_problems(nb: dict) -> list[str]:
    """What would make strict nbval check less than the whole notebook."""
    problems = []
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    counts = [c.get("execution_count") for c in code]
    if not code:
        problems.append("no code cells")
    unexecuted = [i for i, n in enumerate(counts, start=1) if n is None]
    if unexecuted:
        problems.append(f"code cells {unexecuted} have no execution count (nbval would skip them)")
    elif counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts {counts} are not 1..{len(code)}: run all in a fresh kernel")
    for i, cell in enumerate(code, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"code cell {i} stores an error ({out.get('ename')})")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_executed(path):
    assert execution_problems(json.loads(path.read_text())) == []


def _nb(*cells):
    return {"cells": [{"cell_type": "markdown", "source": "# t"}, *cells]}


def _cell(n, outputs=()):
    return {"cell_type": "code", "execution_count": n, "outputs": list(outputs), "source": "x"}


def test_checker_accepts_a_clean_notebook():
    assert execution_problems(_nb(_cell(1), _cell(2, [{"output_type": "stream", "text": "1"}]))) == []


@pytest.mark.parametrize(
    "nb, message",
    [
        (_nb(_cell(None), _cell(None)), "no execution count"),
        (_nb(_cell(1), _cell(None)), "no execution count"),
        (_nb(_cell(1), _cell(3)), "not 1..2"),
        (_nb(_cell(2), _cell(1)), "not 1..2"),
        (_nb(_cell(1, [{"output_type": "error", "ename": "NameError"}])), "stores an error \\(NameError\\)"),
        (_nb(), "no code cells"),
    ],
)
def test_checker_catches(nb, message):
    problems = execution_problems(nb)
    assert problems and any(__import__("re").search(message, p) for p in problems), problems


def ignored_cells(nb: dict) -> list[tuple[int, str]]:
    """(code cell number, reason) for every cell whose output strict nbval does not compare.

    The marker is nbval's cell tag, never a comment: a learner reads the code,
    and nothing in it should be about how the notebook is tested. The reason
    sits beside the tag, in the cell's metadata.
    """
    from nbval.plugin import find_comment_markers

    out = []
    for i, cell in enumerate((c for c in nb["cells"] if c["cell_type"] == "code"), start=1):
        source = "".join(cell["source"])
        assert not dict(find_comment_markers(source)), f"code cell {i}: an nbval comment in the code; use the cell tag"
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            out.append((i, cell["metadata"].get("ignore_reason", "")))
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_unchecked_cell_says_why(path):
    for i, reason in ignored_cells(json.loads(path.read_text())):
        assert len(reason) > 20, f"code cell {i}: give the nbval-ignore-output tag an ignore_reason in the cell's metadata"


def test_unchecked_cells_stay_rare():
    """Widgets, one timing and the chaotic results the README lists; each one a decision, not a habit."""
    counts = {p.name[:2]: len(ignored_cells(json.loads(p.read_text()))) for p in NOTEBOOKS}
    assert counts == {"01": 1, "02": 3, "03": 3, "04": 3, "05": 1, "06": 1, "07": 2, "08": 3}, counts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_markdown_cell_is_a_placeholder(path):
    """Prose is written, not left as a marker to fill in later (e.g. ``FINDINGS_PLACEHOLDER``, ``TODO``)."""
    import re

    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            assert not re.search(r"PLACEHOLDER|\bTODO\b|\bTBD\b|\bXXX\b", text), (path.name, i, text[:80])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def test_a_timing_is_shown_when_run_and_never_stored(path):
    """A cell that times code prints other numbers on every run: tagged remove-output, it stores none, so that
    re-executing an unchanged notebook leaves its file byte-identical (the book hides the cell's output too)."""
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        tags = cell["metadata"].get("tags", [])
        source = "".join(cell["source"])
        if "timeit.repeat" in source or "perf_counter" in source:
            assert "remove-output" in tags, f"cell {i} times code: tag it remove-output"
        if "remove-output" in tags:
            assert cell["outputs"] == [] and "nbval-ignore-output" in tags, f"cell {i}"
