"""Strict nbval in several environments: the stored outputs must hold on every machine.

A stored output is a promise to every instructor who runs nbval, on whatever
CPU, Python and numpy they have. This script re-runs every notebook under
strict nbval, together with the claims tests that assert with margins what
ignored, chaotic cells illustrate (``tests/test_claims_*.py``, marked
``unchecked_cell``), once per row of a matrix of environments:

=========  ================================================================
row        what changes
=========  ================================================================
default    nothing: the course environment (``.venv``, the pinned versions)
agg        ``MPLBACKEND=Agg``, as many CI configurations set it
avx2       numpy without AVX-512 (``NPY_DISABLE_CPU_FEATURES=X86_V4``),
           OpenBLAS's Haswell kernels: close to GitHub's AMD runners
sse4       numpy at its SSE4.2 baseline (``X86_V4,X86_V3`` disabled),
           OpenBLAS's Nehalem kernels: an old or a very different CPU
newest     the newest Python on this machine with the newest packages the
           ranges in ``pyproject.toml`` / ``requirements.in`` allow, as
           published up to the date ``[tool.course] newest-as-of`` in
           ``pyproject.toml`` (its own virtual environment, ``.venv-newest``)
=========  ================================================================

Nothing here reaches the notebooks: the variables are read by numpy and
OpenBLAS when the kernel imports numpy (nbval's kernels inherit pytest's
environment). Rows run side by side, ``--jobs`` at a time (default: one per
core): each uses one BLAS thread, and the outputs they compare do not depend
on timing. A CPU row is skipped where this CPU already is what it emulates
(an AVX2 machine needs no AVX2 emulation): the default row ran exactly that.

    python tools/nbval_matrix.py                  # every row
    python tools/nbval_matrix.py avx2 newest      # some rows
    python tools/nbval_matrix.py --skip default   # all but one (make test runs default itself)
    python tools/nbval_matrix.py --list           # the rows and the environment each sets
    python tools/nbval_matrix.py avx2 -- -k 04    # extra pytest arguments after --
    python tools/nbval_matrix.py --jobs 1         # one row at a time

A row that cannot run here (no x86-64 CPU to emulate another with, no newer
Python) is skipped with its reason. The last line counts the rows:
``matrix: N passed, N failed``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWEST_VENV = ROOT / ".venv-newest"
ROW_TIMEOUT_S = 1200
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# numpy 2.4/2.5 group names for its SIMD levels, and the CPU features each needs.
NUMPY_LEVELS = {"X86_V4": "AVX512F", "X86_V3": "AVX2"}


class Skip(Exception):
    """This row cannot run on this machine; the message says why."""


@dataclass
class Row:
    name: str
    what: str
    env: dict = field(default_factory=dict)
    disable_numpy: tuple = ()  # numpy SIMD levels to switch off, highest first
    newest_python: bool = False
    claims: bool = True  # also run tests/test_claims_*.py (they assert what chaotic cells illustrate)


ROWS = [
    Row("default", "the course environment as installed by make test"),
    # The backend changes no number, and the claims tests draw with Agg anyway: notebooks only.
    Row("agg", "MPLBACKEND=Agg set, as many CI configurations do", env={"MPLBACKEND": "Agg"}, claims=False),
    Row("avx2", "an AVX2 CPU without AVX-512 (close to GitHub's AMD runners)",
        env={"OPENBLAS_CORETYPE": "Haswell"}, disable_numpy=("X86_V4",)),
    Row("sse4", "an SSE4.2-only CPU (numpy's baseline, OpenBLAS Nehalem kernels)",
        env={"OPENBLAS_CORETYPE": "Nehalem"}, disable_numpy=("X86_V4", "X86_V3")),
    Row("newest", "the newest Python here, with the newest packages the ranges allow", newest_python=True),
]


# --- interpreters ------------------------------------------------------------------


def course_python() -> Path:
    return ROOT / ".venv" / "bin" / "python"


def python_version(exe) -> tuple[int, int] | None:
    try:
        out = subprocess.run([str(exe), "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None  # e.g. a pyenv shim for a version that is not selected
    major, minor = map(int, out.stdout.split())
    return major, minor


def newest_interpreter() -> tuple[Path, tuple[int, int]]:
    """The newest CPython 3 on this machine: NEWEST_PYTHON, python3.N on PATH, or pyenv's versions."""
    if os.environ.get("NEWEST_PYTHON"):
        exe = Path(os.environ["NEWEST_PYTHON"])
        version = python_version(exe)
        if version is None:
            raise Skip(f"NEWEST_PYTHON={exe} does not run")
        return exe, version
    candidates = []
    for minor in range(11, 30):
        if found := shutil.which(f"python3.{minor}"):
            candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += glob.glob(f"{pyenv_root}/versions/3.*/bin/python3")
    best = None
    for exe in candidates:
        version = python_version(exe)
        if version and (best is None or version > best[1]):
            best = (Path(exe), version)
    if best is None:
        raise Skip("no Python interpreter found besides the course's")
    return best


def newest_venv(log) -> Path:
    """.venv-newest on the newest Python, upgraded to the newest versions the ranges allow."""
    exe, version = newest_interpreter()
    course = python_version(course_python())
    if course is not None and version <= course:
        raise Skip(f"the newest Python here ({version[0]}.{version[1]}) is the course's own; "
                   f"install a newer one (or set NEWEST_PYTHON) to run this row")  # fmt: skip
    python = NEWEST_VENV / "bin" / "python"
    if python_version(python) != version:
        shutil.rmtree(NEWEST_VENV, ignore_errors=True)
        run([str(exe), "-m", "venv", str(NEWEST_VENV)], log)
    run([str(python), "-m", "pip", "install", "--quiet", f"uv=={COURSE['uv-version']}"], log)
    run(newest_install(python), log)
    return python


def course_settings() -> dict:
    """``[tool.course]`` of pyproject.toml: ``newest-as-of`` (a date) and ``uv-version``."""
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["course"]


COURSE = course_settings()


def newest_install(python: Path) -> list[str]:
    """The newest row's install: ranges, not the lock (this row shows whether the pins could move), with what
    PyPI had published by ``newest-as-of``, so that the row changes only when that date is moved (make lock)."""
    uv = python.parent / "uv"
    return [str(uv), "pip", "install", "--quiet", "--python", str(python), "--upgrade",
            "--exclude-newer", COURSE["newest-as-of"], "-r", str(ROOT / "requirements.in"), "-e", f"{ROOT}[test]"]  # fmt: skip


def run(cmd, log, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT, **kw)
    if result.returncode != 0:
        log(result.stdout[-2000:] + result.stderr[-2000:])
        raise RuntimeError(f"command failed ({result.returncode}): {' '.join(cmd)}")
    return result


# --- emulated CPUs -------------------------------------------------------------------


def cpu_env(row: Row, python: Path) -> dict:
    """The row's variables for this CPU, checked: numpy and OpenBLAS must really switch, silently."""
    env = dict(row.env)
    if not (row.disable_numpy or "OPENBLAS_CORETYPE" in env):
        return env
    if platform.machine().lower() not in ("x86_64", "amd64"):
        raise Skip(f"emulates an x86-64 CPU; this machine is {platform.machine()}")
    # Switch off only what this CPU has: numpy warns about a feature it does not have,
    # and that warning would land in the first cell's stderr.
    native = probe(python, {})
    disabled = [level for level in row.disable_numpy if native["features"].get(NUMPY_LEVELS[level])]
    if disabled:
        env["NPY_DISABLE_CPU_FEATURES"] = ",".join(disabled)
    elif env.get("OPENBLAS_CORETYPE") in (None, native["core"]):
        # Nothing to switch: this CPU is what the row emulates, so the default row already ran it.
        raise Skip(f"this CPU already is what the row emulates (numpy {native['exp']}, OpenBLAS {native['core']}); "
                   f"the default row covers it")  # fmt: skip
    seen = probe(python, env)
    if seen["stderr"]:
        raise RuntimeError(f"importing numpy with {env} printed to stderr: {seen['stderr']!r}")
    wanted_core = env.get("OPENBLAS_CORETYPE")
    if wanted_core and seen["core"] != wanted_core:
        raise RuntimeError(f"OpenBLAS runs {seen['core']!r} kernels, not {wanted_core!r}, with {env}")
    for level in row.disable_numpy:
        if level in seen["exp"]:
            raise RuntimeError(f"numpy still dispatches {level} code for exp with {env}: {seen['exp']}")
    return env


PROBE = """
import json, numpy, numpy.lib.introspect as i
from numpy._core._multiarray_umath import __cpu_features__ as f
numpy.ones((2, 2)) @ numpy.ones((2, 2))
info = i.opt_func_info(func_name='^exp$', signature='float64')['exp']['dd']['current']
print('PROBE' + json.dumps({'features': f, 'exp': info}))
"""


def probe(python: Path, env: dict) -> dict:
    full = {**os.environ, **ONE_THREAD, **env, "OPENBLAS_VERBOSE": "2"}
    out = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, env=full, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"numpy does not import with {env}: {out.stderr[-1000:]}")
    # OPENBLAS_VERBOSE=2 names the kernel in use on stderr; anything else there is a problem.
    core = re.search(r"^Core: (\w+)$", out.stderr, re.MULTILINE)
    payload = next(line for line in out.stdout.splitlines() if line.startswith("PROBE"))
    seen = json.loads(payload[len("PROBE"):])
    seen["core"] = core.group(1) if core else None
    seen["stderr"] = re.sub(r"^Core: \w+\n?", "", out.stderr, flags=re.MULTILINE).strip()
    return seen


# --- running a row -------------------------------------------------------------------


# Of the claims tests, a row runs those that assert what an unchecked (chaotic) cell shows. The
# others re-derive numbers of cells that strict nbval compares in the same row anyway, so in a
# row they could fail only where nbval already does: running them again checks nothing more.
UNCHECKED_ONLY = ["-m", "unchecked_cell or not claims"]


def targets(row: Row) -> list[str]:
    claims = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_claims_*.py"))
    return ["notebooks", *(claims + UNCHECKED_ONLY if row.claims else [])]


def run_row(row: Row, extra: list[str]) -> dict:
    lines = []  # printed when the row ends, so that rows running side by side do not interleave

    def log(text):
        lines.append(text)

    try:
        return _run_row(row, extra, log)
    finally:
        print("\n".join(lines), flush=True)


def _run_row(row: Row, extra: list[str], log) -> dict:
    start = time.perf_counter()
    try:
        python = newest_venv(log) if row.newest_python else course_python()
        env = cpu_env(row, python)
    except Skip as why:
        return dict(row=row.name, status="skipped", detail=str(why), seconds=0.0)
    versions = subprocess.run(
        [str(python), "-c", "import sys, numpy, matplotlib; print(f'Python {sys.version.split()[0]}, "
         "numpy {numpy.__version__}, matplotlib {matplotlib.__version__}')"],
        capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    shown = " ".join(f"{k}={v}" for k, v in env.items()) or "(no variables)"
    log(f"\n=== row {row.name}: {row.what}\n    {versions}; {shown}")
    cmd = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", *targets(row), *extra]
    try:
        result = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **ONE_THREAD, **env}, text=True,
                                capture_output=True, timeout=ROW_TIMEOUT_S)  # fmt: skip
        output, code = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as err:
        output, code = f"{err.stdout or ''}\nrow timed out after {ROW_TIMEOUT_S} s", -1
    summary = next((ln for ln in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed)", ln)), "")
    if code != 0:
        log(output[-8000:])
    else:
        log(summary)
    return dict(row=row.name, status="passed" if code == 0 else "failed", detail=f"{versions}; {shown}; "
                f"{summary.strip('= ')}", seconds=time.perf_counter() - start)  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="*", help="rows to run (default: all)")
    parser.add_argument("--skip", action="append", default=[], help="a row not to run")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="rows run side by side (default: cores)")
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after `--` goes to pytest as it is (argparse would take it for rows).
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args, unknown_flags = parser.parse_known_args(argv)
    extra = unknown_flags + extra
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    names = [r.name for r in ROWS]
    if args.list:
        for r in ROWS:
            flags = [*(f"{k}={v}" for k, v in r.env.items()),
                     *([f"NPY_DISABLE_CPU_FEATURES={','.join(r.disable_numpy)}"] if r.disable_numpy else []),
                     *(["python=newest on this machine, .venv-newest"] if r.newest_python else [])]  # fmt: skip
            print(f"{r.name:<8} {r.what}\n         {' '.join(flags) or '(nothing set)'}")
        return 0
    unknown = [n for n in args.rows + args.skip if n not in names]
    if unknown:
        parser.error(f"unknown row(s) {unknown}; rows are {names}")
    chosen = [r for r in ROWS if (not args.rows or r.name in args.rows) and r.name not in args.skip]
    if not course_python().exists():
        parser.error(f"{course_python()} is missing: run `make test` (or `make unit`) once to create .venv")
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each row is a subprocess: threads suffice
        results = list(pool.map(lambda r: run_row(r, extra), chosen))
    print("\nrow       status   seconds  details")
    for r in results:
        print(f"{r['row']:<9} {r['status']:<8} {r['seconds']:7.0f}  {r['detail']}")
    passed = sum(r["status"] == "passed" for r in results)
    failed = sum(r["status"] == "failed" for r in results)
    skipped = sum(r["status"] == "skipped" for r in results)
    print(f"matrix: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
