# Two commands do everything: `make lab` opens the course, `make test` checks it.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOTEBOOKS ?= $(sort $(wildcard notebooks/*.ipynb))
# Extra arguments, e.g. `make lab LAB_ARGS=--no-browser`, `make test PYTEST_ARGS="-x -k ewa"`.
LAB_ARGS ?=
PYTEST_ARGS ?=

# One BLAS thread for tests and executed notebooks (kernels inherit it):
# faster for the course's small matrices and independent of the core count.
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: help lab test unit nbval matrix execute exercises book oracle bench data lock pins clean

help:
	@echo "make lab      set up .venv and open the course in JupyterLab (http://127.0.0.1, with a token)"
	@echo "make test     set up .venv and run all tests: unit tests, strict nbval, the portability matrix"
	@echo "make unit     unit tests only          make nbval    notebooks only"
	@echo "make matrix   strict nbval in every environment of the matrix (ROWS=\"avx2 newest\" for some)"
	@echo "make lock     move the date in pyproject.toml to today and refresh the pins in requirements*.txt"
	@echo "make execute  re-run notebooks in place (NOTEBOOKS=notebooks/02_....ipynb for one)"
	@echo "make exercises  regenerate the learner's copies in exercises/ from notebooks/ (nbgrader)"
	@echo "make book     build the course as a static web site in build/book/ (python -m http.server -d build/book)"
	@echo "make oracle   install PyTorch 2.13.0 (CPU), the conformance tests' oracle"
	@echo "make bench    benchmarks against PyTorch (BENCH=\"kernel train\" for some parts); not part of make test"
	@echo "make data     rebuild data/*.npz from scikit-learn and mnist1d"
	@echo "make clean    remove .venv and caches"

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; got " + sys.version.split()[0] + ". Run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when the pinned versions change. requirements.txt
# (the course) and requirements-test.txt (course + test tools) are lock files
# made from the ranges in requirements*.in and pyproject.toml by `make lock`.
$(VENV)/.course-installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.course-installed requirements-test.txt
	$(BIN)/python -m pip install -r requirements-test.txt
	touch $@

# Refresh the pins: the newest versions the ranges allow, for every Python the
# project supports (a universal lock: where versions must differ, e.g. numpy
# for 3.11 and for 3.12+, each line carries its marker). Then run `make test`;
# the matrix's `newest` row shows beforehand whether the pins can move.
# The date and uv's version are in pyproject.toml ([tool.course]): the matrix's
# `newest` row resolves with the same date, so moving it shows in a diff.
COURSE_SETTING = $(shell $(PYTHON) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["tool"]["course"]["$(1)"])')
LOCK = $(BIN)/uv pip compile --universal --python-version 3.11 --quiet --custom-compile-command "make lock" --exclude-newer $(call COURSE_SETTING,newest-as-of)
lock: | $(BIN)/python
	$(BIN)/python -c 'import datetime, pathlib, re; p = pathlib.Path("pyproject.toml"); p.write_text(re.sub(r"newest-as-of = \"[0-9-]+\"", f"newest-as-of = \"{datetime.date.today()}\"", p.read_text()))'
	$(MAKE) --no-print-directory pins

# The pins as of the date in pyproject.toml (a separate run of make, so that it reads the date lock just moved).
pins: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(call COURSE_SETTING,uv-version)
	$(LOCK) --upgrade requirements.in -o requirements.txt
	mkdir -p build && grep -v '^-e ' requirements.txt > build/course-pins.txt
	$(LOCK) --upgrade requirements-test.in -c build/course-pins.txt -o requirements-test.txt

# Jupyter refuses to run as root without --allow-root; containers and CI
# machines often are root, so pass it there (and only there).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# The server's root is the course folder, so both notebooks/ (with solutions) and
# exercises/ (the learner's copies) are a click away; it opens in notebooks/.
lab: $(VENV)/.course-installed
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(ROOT_FLAG) $(LAB_ARGS)

# Everything: unit tests and strict nbval in the course environment and, side
# by side with them on the second core, strict nbval (with the claims tests) in
# the rows of the portability matrix that can change a number: two emulated
# CPUs, the newest Python and packages. (The agg row changes no number; the
# default run checks that figures show under MPLBACKEND=Agg in a real kernel,
# tests/test_setup_helper.py. `make matrix` runs every row.) The matrix's log
# is printed when both are done; the run fails if either failed.
MATRIX_LOG := build/matrix.log
# Each test's seconds, which `make bench` (its part `tests`) groups by part.
TEST_TIMES := build/test-times.xml
test: $(VENV)/.test-installed
	@mkdir -p build
	@$(BIN)/python tools/nbval_matrix.py --skip default --skip agg --jobs 1 > $(MATRIX_LOG) 2>&1 & matrix=$$!; \
	$(ONE_THREAD) $(BIN)/python -m pytest --junitxml=$(TEST_TIMES) $(PYTEST_ARGS); tests=$$?; \
	echo "waiting for the portability matrix ($(MATRIX_LOG)) ..."; wait $$matrix; rows=$$?; \
	cat $(MATRIX_LOG); test $$tests -eq 0 && test $$rows -eq 0

# One or more rows by hand: make matrix ROWS="avx2 newest" (all rows without ROWS).
ROWS ?=
matrix: $(VENV)/.test-installed
	$(BIN)/python tools/nbval_matrix.py $(ROWS)

unit: $(VENV)/.test-installed
	$(ONE_THREAD) $(BIN)/python -m pytest tests $(PYTEST_ARGS)

nbval: $(VENV)/.test-installed
	$(ONE_THREAD) $(BIN)/python -m pytest notebooks $(PYTEST_ARGS)

execute: $(VENV)/.test-installed
	$(ONE_THREAD) timeout 1200 $(BIN)/python tools/execute_notebooks.py $(NOTEBOOKS)

oracle: $(VENV)/.test-installed
	$(BIN)/python -m pip install torch==2.13.0

# The learner's copies in exercises/, made from notebooks/ with nbgrader's own preprocessors.
exercises: $(VENV)/.test-installed
	$(BIN)/python tools/make_exercises.py

# The web book in build/book/, from the notebooks' stored outputs (nothing runs); needs Node.js and npm.
book: $(VENV)/.test-installed
	timeout 900 $(BIN)/python tools/build_book.py

BENCH ?=
bench: oracle
	$(ONE_THREAD) $(BIN)/python benchmarks/run.py $(BENCH)

data: $(VENV)/.course-installed
	$(BIN)/python -m pip install -e ".[data]"
	$(BIN)/python data/build_data.py

clean:
	rm -rf $(VENV) .venv-newest .pytest_cache .hypothesis build book/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
