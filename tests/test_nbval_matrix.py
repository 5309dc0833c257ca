"""The portability matrix's runner: its rows, and how it decides what a row can do on this machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nbval_matrix as matrix  # noqa: E402


def row(name):
    return next(r for r in matrix.ROWS if r.name == name)


def test_the_rows_cover_the_backend_two_cpus_and_the_newest_python():
    assert [r.name for r in matrix.ROWS] == ["default", "agg", "avx2", "sse4", "newest"]
    assert row("agg").env == {"MPLBACKEND": "Agg"}
    assert row("avx2").disable_numpy == ("X86_V4",) and row("avx2").env["OPENBLAS_CORETYPE"] == "Haswell"
    assert row("sse4").disable_numpy == ("X86_V4", "X86_V3")
    assert row("newest").newest_python
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "nbval_matrix.py"), "--list"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "NPY_DISABLE_CPU_FEATURES=X86_V4,X86_V3" in out and "OPENBLAS_CORETYPE=Nehalem" in out


def test_every_row_runs_the_notebooks_and_cpu_rows_the_claims_tests():
    targets = matrix.targets(row("avx2"))
    assert targets[0] == "notebooks" and "tests/test_claims_05_why_batch_norm_works.py" in targets
    assert targets[-2:] == ["-m", "unchecked_cell or not claims"]  # the notebooks, and the claims behind unchecked cells
    assert matrix.targets(row("agg")) == ["notebooks"]


def test_an_unknown_row_is_refused():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "nbval_matrix.py"), "avx3"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown row(s) ['avx3']" in result.stderr


def test_cpu_rows_are_skipped_off_x86(monkeypatch):
    monkeypatch.setattr(matrix.platform, "machine", lambda: "arm64")
    with pytest.raises(matrix.Skip, match="emulates an x86-64 CPU; this machine is arm64"):
        matrix.cpu_env(row("avx2"), Path(sys.executable))
    assert matrix.cpu_env(row("agg"), Path(sys.executable)) == {"MPLBACKEND": "Agg"}


def test_only_features_the_cpu_has_are_switched_off(monkeypatch):
    """numpy warns about disabling a feature the CPU lacks, and the warning would land in a cell's stderr."""
    monkeypatch.setattr(matrix.platform, "machine", lambda: "x86_64")
    seen = []

    def fake_probe(python, env):
        seen.append(dict(env))
        return {"features": {"AVX512F": False, "AVX2": True}, "exp": "baseline(X86_V2)", "core": env.get("OPENBLAS_CORETYPE"),
                "stderr": ""}  # fmt: skip

    monkeypatch.setattr(matrix, "probe", fake_probe)
    env = matrix.cpu_env(row("sse4"), Path(sys.executable))
    assert env == {"OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": "X86_V3"}


def test_a_cpu_row_that_does_not_switch_is_an_error(monkeypatch):
    monkeypatch.setattr(matrix.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(matrix, "probe", lambda python, env: {"features": {"AVX512F": True, "AVX2": True},
                                                              "exp": "X86_V4", "core": "SkylakeX", "stderr": ""})  # fmt: skip
    with pytest.raises(RuntimeError, match="OpenBLAS runs 'SkylakeX' kernels, not 'Haswell'"):
        matrix.cpu_env(row("avx2"), Path(sys.executable))


def test_the_newest_row_is_skipped_without_a_newer_python(monkeypatch):
    monkeypatch.setattr(matrix, "newest_interpreter", lambda: (Path(sys.executable), (3, 11)))
    monkeypatch.setattr(matrix, "python_version", lambda exe: (3, 11))
    with pytest.raises(matrix.Skip, match=r"the newest Python here \(3.11\) is the course's own"):
        matrix.newest_venv(print)


def test_a_cpu_row_is_skipped_where_this_cpu_is_what_it_emulates(monkeypatch):
    """On an AVX2 machine whose OpenBLAS already runs Haswell kernels, the avx2 row would repeat the default row."""
    monkeypatch.setattr(matrix.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(matrix, "probe", lambda python, env: {"features": {"AVX512F": False, "AVX2": True},
                                                              "exp": "baseline" if "NPY_DISABLE_CPU_FEATURES" in env else "X86_V3",
                                                              "core": env.get("OPENBLAS_CORETYPE", "Haswell"), "stderr": ""})  # fmt: skip
    with pytest.raises(matrix.Skip, match="this CPU already is what the row emulates"):
        matrix.cpu_env(row("avx2"), Path(sys.executable))
    # The sse4 row still has something to switch off here.
    assert matrix.cpu_env(row("sse4"), Path(sys.executable))["NPY_DISABLE_CPU_FEATURES"] == "X86_V3"


def test_rows_run_side_by_side_and_report_in_order(monkeypatch, capsys):
    import threading

    running, most = set(), []

    def fake(row, extra):
        running.add(row.name)
        most.append(len(running))
        threading.Event().wait(0.2)
        running.discard(row.name)
        return dict(row=row.name, status="passed", detail="", seconds=0.2)

    monkeypatch.setattr(matrix, "run_row", fake)
    assert matrix.main(["agg", "avx2", "sse4", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert max(most) == 2
    assert [ln.split()[0] for ln in out.splitlines() if ln.split()[:1] in (["agg"], ["avx2"], ["sse4"])] == ["agg", "avx2", "sse4"]
    assert "matrix: 3 passed, 0 failed" in out


def test_arguments_after_the_double_dash_go_to_pytest(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(matrix, "run_row", lambda row, extra: seen.append((row.name, extra)) or
                        dict(row=row.name, status="passed", detail="", seconds=0.0))  # fmt: skip
    assert matrix.main(["agg", "--", "-k", "04 or 05"]) == 0
    assert seen == [("agg", ["-k", "04 or 05"])]


def test_the_newest_row_resolves_as_of_the_date_in_pyproject():
    """A release elsewhere cannot change the newest row: it installs what PyPI had published by a dated cutoff,
    the same date make lock pins with, moved only by make lock (a change that shows in a diff)."""
    import datetime
    import tomllib

    settings = tomllib.loads((matrix.ROOT / "pyproject.toml").read_text())["tool"]["course"]
    date = datetime.date.fromisoformat(settings["newest-as-of"])
    assert date <= datetime.date.today()
    cmd = matrix.newest_install(Path("/venv/bin/python"))
    assert cmd[:3] == ["/venv/bin/uv", "pip", "install"] and cmd[cmd.index("--exclude-newer") + 1] == str(date)
    assert "--upgrade" in cmd and str(matrix.ROOT / "requirements.in") in cmd  # the ranges, not the lock
    makefile = (matrix.ROOT / "Makefile").read_text()
    assert "--exclude-newer $(call COURSE_SETTING,newest-as-of)" in makefile  # make lock pins with the same date
    assert "newest-as-of" in makefile.split("\nlock:")[1].split("\n\n")[0]  # and moves it
