"""make bench's report of where time goes: the grouping and the costliest cells (nothing here is timed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_costliest_cells_are_named_by_number_and_first_line():
    nb = nbformat.v4.new_notebook()
    for source, start, end in [("%load_ext autoreload\nimport numpy", "00.0", "00.5"), ("x = 1", "01.0", "01.1"),
                               ("# train\nrun()", "02.0", "05.0"), ("y = 2", "06.0", "06.2")]:  # fmt: skip
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["execution"] = {"iopub.execute_input": f"2026-12-05T00:00:{start}Z",
                                      "shell.execute_reply": f"2026-12-05T00:00:{end}Z"}  # fmt: skip
        nb.cells.append(cell)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("text"))
    cells = bench.costliest_cells(nb)
    assert [(c["cell"], c["first_line"]) for c in cells] == [(3, "# train"), (1, "import numpy"), (4, "y = 2")]
    assert abs(cells[0]["seconds"] - 3.0) < 1e-9


def test_make_tests_times_are_grouped_by_part(tmp_path, monkeypatch):
    build = tmp_path / "build"
    build.mkdir()
    (build / "test-times.xml").write_text(
        '<?xml version="1.0"?><testsuites><testsuite time="100.0" timestamp="2026-12-05T00:00:00">'
        '<testcase classname="tests.test_exercises" name="a" time="40"/>'
        '<testcase classname="tests.test_browser_widgets" name="b" time="20"/>'
        '<testcase classname="tests.test_book" name="c" time="10"/>'
        '<testcase classname="notebooks.02_implementing_batch_norm.ipynb" name="Cell 1" time="5"/>'
        '<testcase classname="tests.test_ewa" name="d" time="1"/></testsuite></testsuites>')  # fmt: skip
    (build / "matrix.log").write_text("row       status   seconds  details\navx2      passed        83  Python 3.11\n"
                                      "sse4      failed       116  Python 3.11\nmatrix: 1 passed, 1 failed\n")  # fmt: skip
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    results = {}
    bench.bench_tests(results)
    parts = {p["part"]: p["seconds"] for p in results["tests"]["parts"]}
    assert list(parts.values()) == [40, 20, 10, 5, 1] and results["tests"]["pytest_seconds"] == 100
    assert results["tests"]["matrix"] == [dict(row="avx2", status="passed", seconds=83.0),
                                          dict(row="sse4", status="failed", seconds=116.0)]  # fmt: skip
    assert "web book: build and pages" in bench.report({"machine": "here", **results})


def test_a_full_run_rewrites_only_the_readmes_block(tmp_path, monkeypatch):
    (tmp_path / "README.md").write_text("# Course\n\nbefore\n<!-- make bench: start -->\nold\n<!-- make bench: end -->\nafter\n")
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    results = {"machine": "a test machine", "kilostep_s": 0.5,
               "notebooks": [dict(notebook="01_x.ipynb", seconds=2.0, kilosteps=4.0,
                                  cells=[dict(cell=3, first_line="train(a | b)", seconds=1.0, kilosteps=2.0)])]}  # fmt: skip
    bench.update_readme(results)
    text = (tmp_path / "README.md").read_text()
    assert text.startswith("# Course\n\nbefore\n<!-- make bench: start -->\nOne run of `make bench` on a test machine")
    assert text.endswith("<!-- make bench: end -->\nafter\n") and "old" not in text
    assert "| every notebook <= 12 kilosteps | met: 01 4.0 |" in text
    assert "| Figure 1 network >= 1.2x torch steps/s | not measured |" in text
    assert "| 01_x | 4.0 | 3: 2.0, `train(a / b)` |" in text  # a table cell cannot hold a bare |


def test_grading_is_set_against_executing_the_notebooks():
    results = {"notebooks": [dict(kilosteps=40.0), dict(kilosteps=40.0)],
               "grading": dict(seconds=10.0, kilosteps=15.9, every_cell_kilosteps=85.0)}
    name = "autograding one submission (all eight notebooks) <= 20% of executing them"
    assert bench.verdicts(results)[name] == ("met", "15.9 kilosteps, 20% (every cell running: 85.0)")
    results["grading"]["kilosteps"] = 16.1
    assert bench.verdicts(results)[name][0] == "MISSED"
