"""`make lab`, the README's first command: JupyterLab on 127.0.0.1 with a token, serving the course folder.

Runs the real make target with a free port and private Jupyter folders (the
user's own Jupyter setup is never touched), and always stops the server.
"""

from __future__ import annotations

import json

import pytest
from lab_server import ROOT, free_port, get, running


@pytest.mark.skipif(not (ROOT / ".venv" / ".course-installed").exists(), reason="needs .venv set up by make")
def test_make_lab_serves_the_notebooks_with_a_token(tmp_path):
    port = free_port()
    cmd = ["make", "lab", f"LAB_ARGS=--no-browser --port={port} --ServerApp.port_retries=0"]
    with running(cmd, tmp_path, port) as (base, token):
        # the page opens in notebooks/, the first folder a learner needs
        assert (tmp_path / "server.log").read_text().count(f"http://127.0.0.1:{port}/lab/tree/notebooks?token=") >= 1
        assert get(f"{base}/api/contents")[0] == 403  # the token is required
        status, body = get(f"{base}/api/contents", token)
        assert status == 200
        names = {item["name"] for item in json.loads(body)["content"]}
        assert {"notebooks", "exercises"} <= names  # the solutions and the learner's copies, side by side
        assert not any(n.startswith(".") for n in names)  # .venv and other hidden folders stay hidden
        status, body = get(f"{base}/api/contents/exercises", token)
        assert status == 200 and len(json.loads(body)["content"]) == len(list((ROOT / "notebooks").glob("*.ipynb")))
