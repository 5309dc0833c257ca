"""The notebook test machinery itself: make execute's script, the sanitize file, strict nbval.

A small notebook that uses bn_helpers the way the course notebooks do is
executed with tools/execute_notebooks.py, then checked with the project's own
pytest options. It must pass as stored, and fail once a stored number is
edited: proof that nbval compares outputs and that the sanitize file hides
only noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    "from bn_helpers import MLP, Adam, setup_notebook, train, load_digits, input_statistics, normalize_inputs\n"
    "import numpy as np\n"
    "setup_notebook()\n"
    "rng = np.random.default_rng(0)",
    # a training run with a progress bar: the bar must leave nothing nbval compares
    "d = load_digits()\n"
    "mu, var = input_statistics(d.X_train)\n"
    "X = normalize_inputs(d.X_train, mu, var)\n"
    "model = MLP([64, 16, 10], batchnorm=True, rng=rng)\n"
    "h = train(model, Adam(0.01), X, d.y_train, epochs=2, batch_size=64, rng=rng, progress=True)\n"
    "print(f\"final training loss {h['train_loss'][-1]:.4f}\")",
    # a memory address: different on every run, hidden by the sanitize file
    "print(object())",
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


def nbval_command(path: Path) -> list[str]:
    opts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    opts = [o.replace("tests/", f"{ROOT}/tests/") for o in opts]
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(path.parent / "empty.ini"), *opts, str(path)]


@pytest.fixture(scope="module")
def executed_notebook(tmp_path_factory):
    import nbformat

    folder = tmp_path_factory.mktemp("nb")
    (folder / "empty.ini").write_text("[pytest]\n")
    path = folder / "probe.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    result = run([sys.executable, str(ROOT / "tools" / "execute_notebooks.py"), str(path)])
    assert result.returncode == 0, result.stderr
    assert "probe.ipynb" in result.stdout and "total" in result.stdout
    return path


def test_execution_is_reproducible_and_clean(executed_notebook):
    nb = json.loads(executed_notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == [1, 2, 3]
    assert all("execution" not in c["metadata"] for c in code)  # no per-cell timestamps
    training = code[1]["outputs"]
    # the progress bar was shown, then blanked: an empty display, then the printed loss
    assert training[0] == {"data": {}, "metadata": {}, "output_type": "display_data"}
    assert training[-1]["text"][0].startswith("final training loss ")
    assert "0x" in "".join(code[2]["outputs"][0]["text"])
    # the finished bar's widget models are not saved in the notebook either
    assert "widgets" not in nb["metadata"]


def test_strict_nbval_passes_on_the_stored_notebook(executed_notebook):
    result = run(nbval_command(executed_notebook), cwd=executed_notebook.parent)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 passed" in result.stdout


def test_strict_nbval_fails_when_a_stored_number_is_edited(executed_notebook, tmp_path):
    nb = json.loads(executed_notebook.read_text())
    out = nb["cells"][1]["outputs"][-1]
    loss = float(out["text"][0].split()[-1])
    out["text"] = [f"final training loss {loss + 0.0001:.4f}\n"]
    edited = executed_notebook.parent / "edited.ipynb"
    edited.write_text(json.dumps(nb))
    result = run(nbval_command(edited), cwd=edited.parent)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed, 2 passed" in result.stdout


def test_saved_widget_state_keeps_what_outputs_show_and_what_it_refers_to():
    import nbformat

    sys.path.insert(0, str(ROOT / "tools"))
    from execute_notebooks import WIDGET_STATE, WIDGET_VIEW, prune_widget_state

    def model(name, **state):
        return {"model_name": name, "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                "state": state}  # fmt: skip

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("w", outputs=[nbformat.v4.new_output(
        "display_data", data={WIDGET_VIEW: {"model_id": "aa", "version_major": 2, "version_minor": 0}})])]  # fmt: skip
    nb.metadata["widgets"] = {WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
        "aa": model("VBoxModel", children=["IPY_MODEL_bb", "IPY_MODEL_ee"]), "bb": model("FloatSliderModel", layout="IPY_MODEL_cc"),
        "cc": model("LayoutModel"), "dd": model("IntProgressModel"), "ee": model("StackModel"),
        # a jslink between two shown widgets (what moves the slider without a kernel), and one to a closed widget
        "ff": model("LinkModel", source=["IPY_MODEL_bb", "index"], target=["IPY_MODEL_ee", "selected_index"]),
        "gg": model("LinkModel", source=["IPY_MODEL_bb", "index"], target=["IPY_MODEL_dd", "value"])}}}  # fmt: skip
    prune_widget_state(nb)
    assert sorted(nb.metadata["widgets"][WIDGET_STATE]["state"]) == ["aa", "bb", "cc", "ee", "ff"]


def test_re_executing_a_notebook_with_widgets_leaves_it_byte_identical(tmp_path):
    """A course change shows as a small diff: widget ids are stable, and the sliders' frames are the same."""
    import shutil

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    path = notebooks / "06_batch_norm_at_test_time.ipynb"
    shutil.copy(ROOT / "notebooks" / path.name, path)
    runs = []
    for _ in range(2):
        result = run([sys.executable, str(ROOT / "tools" / "execute_notebooks.py"), str(path)])
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        runs.append(path.read_bytes())
    assert runs[0] == runs[1]
    nb = json.loads(runs[0])
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["model_name"] == "LinkModel" for m in state.values())  # the links that move the slider are kept
