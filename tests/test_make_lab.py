"""`make lab`, the README's first command: JupyterLab on 127.0.0.1 with a token, serving notebooks/.

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
        assert (tmp_path / "server.log").read_text().count(f"http://127.0.0.1:{port}/lab?token=") >= 1
        assert get(f"{base}/api/contents")[0] == 403  # the token is required
        status, body = get(f"{base}/api/contents", token)
        assert status == 200
        names = {item["name"] for item in json.loads(body)["content"]}
        expected = {p.name for p in (ROOT / "notebooks").iterdir() if not p.name.startswith(".")}
        assert names == expected  # the server's root is notebooks/
