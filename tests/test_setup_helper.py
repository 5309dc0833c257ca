"""The notebook setup helper, and that importing bn_helpers changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import json, matplotlib as mpl, numpy as np
    from threadpoolctl import threadpool_info
    def snapshot():
        return {"threads": sorted({p["num_threads"] for p in threadpool_info()}),
                "grid": mpl.rcParams["axes.grid"], "precision": np.get_printoptions()["precision"]}
    before = snapshot()
    import bn_helpers
    after_import = snapshot()
    bn_helpers.setup_notebook()
    after_setup = snapshot()
    print(json.dumps([before, after_import, after_setup]))
    """
)


def test_import_has_no_side_effects_and_setup_limits_blas():
    # A fresh interpreter with no thread limit from the environment.
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    before, after_import, after_setup = json.loads(out.stdout.strip().splitlines()[-1])
    assert after_import == before
    assert after_setup["threads"] == [1]
    assert after_setup["grid"] is True and after_setup["precision"] == 4
    assert out.stderr == ""


FIGURE_CELLS = [
    "import matplotlib.pyplot as plt\nfrom bn_helpers import setup_notebook\nsetup_notebook()",
    "fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\nplt.show()",
]


@pytest.mark.parametrize("backend", [None, "Agg", "pdf"])
def test_figures_show_inline_in_a_kernel_whatever_mplbackend_says(backend, monkeypatch):
    """A kernel started with MPLBACKEND=Agg (as many CIs set it) still shows figures inline."""
    import nbformat
    from nbclient import NotebookClient

    if backend is None:
        monkeypatch.delenv("MPLBACKEND", raising=False)
    else:
        monkeypatch.setenv("MPLBACKEND", backend)  # the kernel inherits this environment
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in FIGURE_CELLS])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[1].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs
    assert {"image/png", "text/plain"} <= set(outputs[0].data)
    assert outputs[0].data["text/plain"] == "<Figure size 576x360 with 1 Axes>"


def test_setup_outside_a_kernel_leaves_the_backend_alone():
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "pdf"}
    code = "import matplotlib; from bn_helpers import setup_notebook; setup_notebook(); print(matplotlib.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "pdf" and out.stderr == ""
