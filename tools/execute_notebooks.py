"""Re-execute notebooks in place, top to bottom in a fresh kernel, reproducibly.

Used by ``make execute``. Each notebook runs in a new kernel of the current
Python environment with a per-cell time limit and no per-cell timestamps, so a
re-run changes only what the code computes. The saved widget state keeps only
the widgets that a stored output shows (and the models they refer to), as a
front end would: finished progress bars and other closed widgets are dropped.
Prints each notebook's time.

    python tools/execute_notebooks.py notebooks/02_implementing_batch_norm.ipynb
"""

from __future__ import annotations

import json
import re
import sys
import time
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
    prune_widget_state(nb)
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
