"""`make lab`, the README's first command: JupyterLab on 127.0.0.1 with a token, serving notebooks/.

Runs the real make target with a free port and private Jupyter runtime and
config folders (the user's own Jupyter setup is never touched), and always
stops the server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


@pytest.mark.skipif(not (ROOT / ".venv" / ".course-installed").exists(), reason="needs .venv set up by make")
def test_make_lab_serves_the_notebooks_with_a_token(tmp_path):
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "lab", f"LAB_ARGS=--no-browser --port={port} --ServerApp.port_retries=0"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        match = None
        while time.monotonic() < deadline and proc.poll() is None:
            match = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]+)", log.read_text())
            if match:
                break
            time.sleep(0.25)
        assert match, f"no URL with a token in the output:\n{log.read_text()[-3000:]}"
        token = match.group(1)
        base = f"http://127.0.0.1:{port}"
        status, _ = get(f"{base}/api/status", token)
        assert status == 200
        assert get(f"{base}/api/contents")[0] == 403  # the token is required
        status, body = get(f"{base}/api/contents", token)
        names = {item["name"] for item in json.loads(body)["content"]}
        expected = {p.name for p in (ROOT / "notebooks").iterdir() if not p.name.startswith(".")}
        assert names == expected  # the server's root is notebooks/
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
