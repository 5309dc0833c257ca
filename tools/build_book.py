"""Build the course as a static web site in build/book/ (make book), from the notebooks' stored outputs.

Steps:

1. install the JavaScript the site serves itself (MathJax, RequireJS, the
   Jupyter widget manager) from the npm registry, exactly as pinned in
   book/package-lock.json (``npm ci``), unless already installed;
2. assemble the sources in build/book-src/: book/ (conf.py, the landing,
   API and data pages), the notebooks as stored (nothing is executed; the
   hidden part of each grade cell is cut out, as in the student copies),
   data/README.md, and the vendored JavaScript under _static/vendor/;
3. run Sphinx with warnings as errors.

Open the result with ``python -m http.server -d build/book`` and a browser
at http://127.0.0.1:8000 (or open build/book/index.html directly).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK, SRC, OUT = ROOT / "book", ROOT / "build" / "book-src", ROOT / "build" / "book"
NODE_MODULES = BOOK / "node_modules"
# What each page loads, copied from the npm packages; everything else stays out of the site.
VENDOR = {
    "mathjax": (NODE_MODULES / "mathjax" / "es5", ["tex-mml-chtml.js", "input", "output", "ui", "a11y", "adaptors", "sre"]),
    "html-manager": (NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist", None),  # embed-amd.js and its fonts
    "require.js": (NODE_MODULES / "requirejs" / "require.js", None),
}


def install_javascript():
    if not (NODE_MODULES / ".package-lock.json").exists():
        if shutil.which("npm") is None:
            raise SystemExit("make book needs Node.js and npm (e.g. apt-get install nodejs npm)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=BOOK, check=True, timeout=600)


def without_hidden_tests(text):
    """A notebook's JSON with its grade cells' hidden part (for the grader, not the reader) cut out, by nbgrader."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests

    nb, _ = ClearHiddenTests().preprocess(nbformat.reads(text, as_version=4), {})
    return nbformat.writes(nb)


def assemble():
    shutil.rmtree(SRC, ignore_errors=True)
    shutil.copytree(BOOK, SRC, ignore=shutil.ignore_patterns("node_modules", "package*.json"))
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        (SRC / nb.name).write_text(without_hidden_tests(nb.read_text()))
    # data/README.md's links point at files next to it in the repository, not pages of the site: keep their text.
    readme = (ROOT / "data" / "README.md").read_text()
    (SRC / "data_README.md").write_text(re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]+\)", r"\1", readme))
    vendor = SRC / "_static" / "vendor"
    for name, (source, parts) in VENDOR.items():
        if source.is_file():
            vendor.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, vendor / name)
        elif parts is None:
            shutil.copytree(source, vendor / name, ignore=shutil.ignore_patterns("*.map", "*.LICENSE.txt"))
        else:
            (vendor / name).mkdir(parents=True, exist_ok=True)
            for part in parts:
                (shutil.copytree if (source / part).is_dir() else shutil.copy)(source / part, vendor / name / part)


def main():
    start = time.perf_counter()
    install_javascript()
    assemble()
    shutil.rmtree(OUT, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(ROOT / "build" / "book-doctrees"),
           str(SRC), str(OUT)]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=900)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"built {OUT.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s ({size / 1e6:.1f} MB); "
          f"view it with: python -m http.server -d build/book  (then http://127.0.0.1:8000)")  # fmt: skip


if __name__ == "__main__":
    main()
