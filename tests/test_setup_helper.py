"""The notebook setup helper, and that importing bn_helpers changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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
