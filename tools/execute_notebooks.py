"""Re-execute notebooks in place, top to bottom in a fresh kernel, reproducibly.

Used by ``make execute``. Each notebook runs in a new kernel of the current
Python environment with a per-cell time limit and no per-cell timestamps, so a
re-run changes only what the code computes. Prints each notebook's time.

    python tools/execute_notebooks.py notebooks/02_implementing_batch_norm.ipynb
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELL_TIMEOUT_S = 300


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
