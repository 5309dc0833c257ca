"""Re-execute notebooks in place, top to bottom in a fresh kernel, reproducibly.

Used by ``make execute``. Each notebook runs in a new kernel of the current
Python environment with a per-cell time limit and no per-cell timestamps, so a
re-run changes only what the code computes. The saved widget state keeps only
the widgets that a stored output shows (and the models they refer to), as a
front end would: finished progress bars and other closed widgets are dropped.
Widget ids are renumbered the same way on every run and back-to-back prints
are stored as one output, and a cell tagged ``remove-output`` (MyST-NB's tag,
which the web book honours too) stores no output at all: its output differs
on every run (a timing), and the learner sees it when running the cell. So
re-executing a notebook whose outputs did not change leaves its file
byte-identical.
Prints each notebook's time.

    python tools/execute_notebooks.py notebooks/02_implementing_batch_norm.ipynb
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELL_TIMEOUT_S = 300
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def prune_widget_state(nb) -> None:
    """Keep the saved state of the widgets shown in outputs, and of every model they refer to."""
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    if not saved:
        return
    state = saved["state"]
    todo = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells for o in c.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {})]  # fmt: skip
    keep = set()
    while todo:
        model_id = todo.pop()
        if model_id in keep or model_id not in state:
            continue
        keep.add(model_id)
        todo += re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state[model_id]))
    # Links (jslink) are referred to by nothing, but they are what moves a shown widget without a
    # kernel: keep every link between kept widgets.
    for model_id, model in state.items():
        if model.get("model_name") in ("LinkModel", "DirectionalLinkModel"):
            ends = re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(model["state"]))
            if ends and all(e in keep for e in ends):
                keep.add(model_id)
    saved["state"] = {k: v for k, v in state.items() if k in keep}
    if not keep:
        del nb.metadata["widgets"]


def merge_consecutive_streams(nb) -> None:
    """Join back-to-back stream outputs of one name (stdout, stderr) into one.

    The kernel flushes printed text in chunks whose boundaries depend on
    timing, so one cell's prints may be stored as one output on one run and
    two on the next. Merging only neighbours keeps the order of prints and
    figures as the reader saw it.
    """
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            prev = merged[-1] if merged else None
            if prev is not None and out["output_type"] == prev["output_type"] == "stream" and out["name"] == prev["name"]:
                prev["text"] += out["text"]
            else:
                merged.append(out)
        if "outputs" in cell:
            cell["outputs"] = merged


def stable_widget_ids(nb, name: str) -> None:
    """Replace the widgets' random model ids by ids derived from the notebook's name and their order.

    A kernel gives every widget a fresh random id, so a re-executed notebook
    would differ in every widget reference even when nothing it shows changed.
    Renumbered in order of first appearance (outputs top to bottom, then the
    saved state), the ids are the same on every run; front ends only need
    them to be unique within the notebook.
    """
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    order = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells for o in c.get("outputs", [])
             if WIDGET_VIEW in o.get("data", {})]  # fmt: skip
    if saved:
        order += list(saved["state"])
    new = {}
    for old in order:
        if old not in new:
            new[old] = uuid.uuid5(uuid.NAMESPACE_URL, f"bn-helpers/{name}/{len(new)}").hex
    if not new:
        return
    pattern = re.compile("|".join(map(re.escape, new)))
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            view = o.get("data", {}).get(WIDGET_VIEW)
            if view:
                view["model_id"] = new[view["model_id"]]
    if saved:
        text = pattern.sub(lambda m: new[m.group(0)], json.dumps(saved["state"]))
        saved["state"] = {new[k]: v for k, v in zip(saved["state"], json.loads(text).values())}


def drop_run_dependent_outputs(nb) -> None:
    """Clear the outputs of cells tagged ``remove-output`` (their execution count stays, so nbval still runs them)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "remove-output" in cell.metadata.get("tags", []):
            cell.outputs = []


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",  # the kernel of this environment (ipykernel in .venv)
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},  # Jupyter's working directory
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    drop_run_dependent_outputs(nb)
    prune_widget_state(nb)
    merge_consecutive_streams(nb)
    stable_widget_ids(nb, path.name)
    nbformat.write(nb, path)
    return elapsed


def main(paths: list[str]) -> None:
    if not paths:
        raise SystemExit("no notebooks given (and none found in notebooks/)")
    total = 0.0
    for p in map(Path, paths):
        elapsed = execute(p)
        total += elapsed
        print(f"{elapsed:6.1f} s  {p}", flush=True)
    print(f"{total:6.1f} s  total")


if __name__ == "__main__":
    main(sys.argv[1:])
