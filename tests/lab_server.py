"""Start and stop a JupyterLab server for tests, isolated from the user's own Jupyter setup."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# JupyterLab's news and update pop-up would cover part of the page.
NO_NEWS = {"fetchNews": "false", "checkForUpdates": False}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token=None):
    """``(status, body)`` of a GET, with the token header if given."""
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (urllib.error.URLError, ConnectionError):
        return None, b""


def isolated_env(tmp: Path) -> dict:
    """Environment with private Jupyter runtime, config, settings and workspace folders."""
    settings = tmp / "settings" / "@jupyterlab"
    for extension, name, values in [
        ("apputils-extension", "notification", NO_NEWS),
        # Lab 4 renders only the cells near the viewport by default; render them all, so that
        # a widget further down a long notebook is in the page for the test to find.
        ("notebook-extension", "tracker", {"windowingMode": "none"}),
    ]:
        (settings / extension).mkdir(parents=True, exist_ok=True)
        (settings / extension / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    return dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        OMP_NUM_THREADS="1",
    )


@contextlib.contextmanager
def running(cmd, tmp: Path, port: int, cwd=ROOT, timeout=90):
    """Run a command that starts a Jupyter server on ``port``; yield ``(base_url, token)``; always stop it."""
    log = tmp / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=isolated_env(tmp), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        deadline, token = time.monotonic() + timeout, None
        while time.monotonic() < deadline and proc.poll() is None:
            match = re.search(rf"http://127\.0\.0\.1:{port}/[\w/]*\?token=([0-9a-f]+)", log.read_text())
            if match and get(f"http://127.0.0.1:{port}/api/status", match.group(1))[0] == 200:
                token = match.group(1)
                break
            time.sleep(0.25)
        if token is None:
            raise RuntimeError(f"the server did not come up:\n{log.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{port}", token
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # also stops the kernels
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def lab_command(root_dir: Path, port: int) -> list[str]:
    """JupyterLab from this environment, the way `make lab` starts it, without opening a browser."""
    flags = ["--allow-root"] if os.geteuid() == 0 else []
    return [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root_dir}",
            "--no-browser", f"--port={port}", "--ServerApp.port_retries=0", *flags]  # fmt: skip
