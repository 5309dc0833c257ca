"""make bench: speed of bn_helpers measured side by side with PyTorch, as ratios from one run.

Prints one table and writes the same figures to build/bench/results.json.
Every figure is the median of several timed repeats after a warm-up, with BLAS
(and torch) limited to one thread. Targets are printed beside the figures;
they are goals to compare against, not assertions.

    python benchmarks/run.py              # everything (about 3 minutes)
    python benchmarks/run.py kernel train # only some parts: kernel, staged, train, seeds, notebooks, grading, widgets, tests
                                          # (tests reads the last `make test` run's times; it runs nothing)
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench" / "results.json"
SHAPES = [(100, 60), (256, 1024), (1024, 4096)]


def median_time(fn, repeats=7, number=None, budget=0.2):
    """Median seconds per call of ``fn`` over ``repeats`` timings, after one warm-up call."""
    fn()
    if number is None:  # enough calls per timing to last about `budget` seconds
        t = time.perf_counter()
        fn()
        number = max(1, int(budget / max(time.perf_counter() - t, 1e-6)))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return float(np.median(times))


def paired_times(fn_a, fn_b, repeats=7):
    """Seconds per call of ``fn_a`` and ``fn_b``, timed in turn: ``(median a, median b, median of the ratios b / a)``.

    Alternating the two, each ratio compares calls made a moment apart, so a
    change in the machine's load during the run moves both sides of it.
    """
    fn_a(), fn_b()
    pairs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn_a()
        t_a = time.perf_counter() - t
        t = time.perf_counter()
        fn_b()
        pairs.append((t_a, time.perf_counter() - t))
    a, b = np.array(pairs).T
    return float(np.median(a)), float(np.median(b)), float(np.median(b / a))


def copy_bandwidth():
    """Bytes per second that a plain copy of a 32 MB array moves (read + write)."""
    a = np.random.default_rng(0).random(4 * 1024 * 1024)
    b = np.empty_like(a)
    return 2 * a.nbytes / median_time(lambda: np.copyto(b, a), number=5)


def need_torch():
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is the reference: install it with `make oracle` (torch==2.13.0, CPU).")
    torch.set_num_threads(1)
    return torch


def bench_kernel(results):
    """Batch-norm forward + backward: plain, fast kernel and torch.nn.functional.batch_norm."""
    from bn_helpers import batchnorm_backward, batchnorm_forward
    from bn_helpers.fast import FastBatchNorm

    torch = need_torch()
    F = torch.nn.functional
    bandwidth = copy_bandwidth()
    results["copy_bandwidth_GBps"] = bandwidth / 1e9
    rows = []
    for n, m in SHAPES:
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(0)
            Z = rng.standard_normal((n, m)).astype(dtype)
            gamma = (1 + rng.random((n, 1))).astype(dtype)
            beta = rng.random((n, 1)).astype(dtype)
            d = rng.standard_normal((n, m)).astype(dtype)
            kernel = FastBatchNorm()

            def plain():
                _, cache = batchnorm_forward(Z, gamma, beta)
                batchnorm_backward(d, cache)

            def fast():
                _, cache = kernel.forward(Z, gamma, beta)
                kernel.backward(d, cache)

            # torch in its own layout, (m, n_l), contiguous
            x = torch.tensor(Z.T.copy(), requires_grad=True)
            w = torch.tensor(gamma.ravel(), requires_grad=True)
            b = torch.tensor(beta.ravel(), requires_grad=True)
            dd = torch.tensor(d.T.copy())

            def reference():
                y = F.batch_norm(x, None, None, w, b, training=True)
                torch.autograd.grad(y, (x, w, b), dd)

            t_plain, t_fast, t_torch = median_time(plain), median_time(fast), median_time(reference)
            bound = 5 * n * m * Z.itemsize / bandwidth  # read Z, dZ_tilde; write Z_tilde, dZ; one more pass
            rows.append(dict(
                shape=[n, m], dtype=np.dtype(dtype).name, plain_ms=1e3 * t_plain, fast_ms=1e3 * t_fast,
                torch_ms=1e3 * t_torch, fast_vs_torch=t_torch / t_fast, plain_vs_torch=t_torch / t_plain,
                fast_bound_fraction=bound / t_fast, torch_bound_fraction=bound / t_torch,
            ))  # fmt: skip
    results["kernel"] = rows


def bench_staged(results):
    """Closed-form vs staged backward pass (the plain functions), float64."""
    from bn_helpers import batchnorm_backward, batchnorm_backward_staged, batchnorm_forward

    rows = []
    for n, m in SHAPES:
        rng = np.random.default_rng(0)
        _, cache = batchnorm_forward(rng.standard_normal((n, m)), np.ones((n, 1)), np.zeros((n, 1)))
        d = rng.standard_normal((n, m))
        t_closed = median_time(lambda: batchnorm_backward(d, cache))
        t_staged = median_time(lambda: batchnorm_backward_staged(d, cache))
        rows.append(dict(shape=[n, m], closed_ms=1e3 * t_closed, staged_ms=1e3 * t_staged, ratio=t_staged / t_closed))
    results["staged"] = rows


def figure1_batches():
    """The digits' first 1,260 training examples as 21 mini-batches of 60, course layout ``(64, 60)``."""
    from bn_helpers import load_digits, normalize_dataset

    D = normalize_dataset(load_digits())
    return [(D.X_train[:, i : i + 60], D.y_train[i : i + 60]) for i in range(0, 1260, 60)]


def torch_figure1(steps=1000):
    """A function that runs ``steps`` PyTorch training steps of the Figure 1 network (float64, one thread)."""
    torch = need_torch()
    torch.manual_seed(0)
    layers = []
    for a, b in [(64, 100), (100, 100), (100, 100)]:
        layers += [torch.nn.Linear(a, b, bias=False), torch.nn.BatchNorm1d(b, momentum=0.1), torch.nn.Sigmoid()]
    net = torch.nn.Sequential(*layers, torch.nn.Linear(100, 10)).double()
    sgd = torch.optim.SGD(net.parameters(), lr=0.5)
    loss_fn = torch.nn.CrossEntropyLoss()
    tbatches = [(torch.tensor(Xb.T.copy()), torch.tensor(yb)) for Xb, yb in figure1_batches()]

    def reference():
        for s in range(steps):
            Xb, yb = tbatches[s % len(tbatches)]
            sgd.zero_grad(set_to_none=True)
            loss_fn(net(Xb), yb).backward()
            sgd.step()

    return reference


def kilostep():
    """The unit of time: seconds PyTorch takes for 1,000 Figure 1 training steps here (median of 5)."""
    return median_time(torch_figure1(1000), repeats=5, number=1)


def bench_train(results, steps=1000):
    """Steps per second of the Figure 1 network (3 x 100 sigmoid, batch norm, batches of 60, SGD)."""
    from bn_helpers import MLP, GradientDescent

    batches = figure1_batches()
    model = MLP([64, 100, 100, 100, 10], batchnorm=True, rng=np.random.default_rng(0), activation="sigmoid", weight_scale=0.1)
    opt = GradientDescent(0.5)

    def ours():
        for s in range(steps):
            Xb, yb = batches[s % len(batches)]
            _, grads = model.loss_and_grads(Xb, yb)
            opt.step(model.params, grads)

    t_ours = median_time(ours, repeats=5, number=1)
    t_torch = median_time(torch_figure1(steps), repeats=5, number=1)
    results["train"] = dict(ours_steps_per_s=steps / t_ours, torch_steps_per_s=steps / t_torch, ratio=t_torch / t_ours)


def bench_notebooks(results):
    """Execution time of each notebook in a fresh kernel (copies in memory; files untouched), in kilosteps.

    Seconds do not travel between machines; a kilostep (PyTorch's time for
    1,000 Figure 1 steps) measured in the same run does. It is measured before
    and after the notebooks, and the mean of the two is the unit.
    """
    import nbformat
    from nbclient import NotebookClient

    unit_before = kilostep()
    rows = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
        t = time.perf_counter()
        client.execute()
        rows.append(dict(notebook=path.name, seconds=time.perf_counter() - t, cells=costliest_cells(nb)))
    unit = (unit_before + kilostep()) / 2
    for row in rows:
        row["kilosteps"] = row["seconds"] / unit
        for cell in row["cells"]:
            cell["kilosteps"] = cell["seconds"] / unit
    results["kilostep_s"] = unit
    results["notebooks"] = rows


def bench_grading(results):
    """Autograding the eight notebooks with nbgrader, the course's way and with every cell running, in kilosteps.

    nbgrader's own route in temporary courses (tools/nbgrader_course.py,
    configured by tools/nbgrader_config.py), the notebooks as the assignment
    and the solutions submitted; ``nbgrader autograde`` is timed (the kernels,
    the cells it runs, nbgrader's own work and its gradebook). Three runs: one
    submission the course's way, the same with every cell running, and two
    submissions the course's way graded by two processes at once (one per
    student, as the instructor's guide does it; the time per submission).
    """
    import tempfile

    sys.path.insert(0, str(ROOT / "tools"))
    from nbgrader_course import make_course, nbgrader

    def autograde(students, every_cell=False):
        with tempfile.TemporaryDirectory() as course:
            make_course(course, {s: ROOT / "notebooks" for s in students}, every_cell)
            done = nbgrader(course, "generate_assignment", "course", "--force")
            if done.returncode:
                raise SystemExit(f"nbgrader generate_assignment failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            t = time.perf_counter()
            runs = [nbgrader(course, "autograde", "course", "--create", "--student", s, wait=False) for s in students]
            outputs = [run.communicate()[0] for run in runs]
            seconds = time.perf_counter() - t
            for run, out in zip(runs, outputs):
                if run.returncode:
                    raise SystemExit(f"nbgrader autograde failed:\n{out[-3000:]}")
        return seconds

    unit = results.get("kilostep_s") or kilostep()
    ours, every, two = autograde(["learner"]), autograde(["learner"], every_cell=True), autograde(["alice", "bob"])
    results["grading"] = dict(seconds=ours, kilosteps=ours / unit, every_cell_seconds=every,
                              every_cell_kilosteps=every / unit, two_at_once_seconds_each=two / 2)  # fmt: skip


def costliest_cells(nb, top=3):
    """The ``top`` code cells that took longest (nbclient's timing of an executed notebook), by number and first line."""
    from datetime import datetime

    cells = []
    for i, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        timing = cell.metadata.get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            seconds = (datetime.fromisoformat(end.replace("Z", "+00:00")) -
                       datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()  # fmt: skip
            first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("%")), "")
            cells.append(dict(cell=i, first_line=first[:60], seconds=seconds))
    return sorted(cells, key=lambda c: -c["seconds"])[:top]


# make test's parts: pytest's classname of a test ("tests.test_book", "notebooks.02_....ipynb") -> its group.
TEST_PARTS = [("nbgrader: student copies, autograde, the guide's route", ("tests.test_exercises", "tests.test_grading_route")),
              ("browser: JupyterLab and Notebook 7", ("tests.test_browser_widgets", "tests.test_make_lab")),
              ("web book: build and pages", ("tests.test_book",)),
              ("notebooks under strict nbval", ("notebooks.",)),
              ("unit and claims tests", ("tests.",))]  # fmt: skip


def bench_tests(results):
    """Where `make test`'s time went, from its last run: each test's seconds (pytest's --junitxml, which make test
    writes to build/test-times.xml) grouped by part, and the matrix's rows (build/matrix.log), which run beside it."""
    import re
    import xml.etree.ElementTree as ET

    path = ROOT / "build" / "test-times.xml"
    if not path.exists():
        print("tests: no build/test-times.xml; it is written by `make test`", file=sys.stderr)
        return
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    seconds = {name: 0.0 for name, _ in TEST_PARTS}
    for case in suite.iter("testcase"):
        where = case.get("classname", "")
        seconds[next(name for name, prefixes in TEST_PARTS if where.startswith(prefixes))] += float(case.get("time", 0))
    matrix = []
    log = ROOT / "build" / "matrix.log"
    for line in log.read_text().splitlines() if log.exists() else []:
        row = re.match(r"(\w+)\s+(passed|failed|skipped)\s+(\d+)\s", line)
        if row:
            matrix.append(dict(row=row.group(1), status=row.group(2), seconds=float(row.group(3))))
    results["tests"] = dict(parts=[dict(part=name, seconds=s) for name, s in seconds.items()],
                            pytest_seconds=float(suite.get("time", 0)), matrix=matrix, when=suite.get("timestamp", ""))


def bench_seeds(results, steps=300, k=3):
    """Training k seeds at once (MultiSeedMLP) against one seed (MLP), same network, data and steps.

    Two networks of the notebooks: the Figure 1 network (3 x 100 sigmoid, batches
    of 60, SGD) and notebook 04's (2 x 100 ReLU, Adam) at batches of 64 and 4.
    Training steps only (no evaluation); the ratio is the median over 7 runs of
    each, timed in turn (:func:`paired_times`).
    """
    from bn_helpers import MLP, Adam, GradientDescent, load_mnist1d, normalize_dataset, train
    from bn_helpers.multiseed import MultiSeedMLP, train_seeds

    digits = figure1_batches()
    X_dig = np.hstack([x for x, _ in digits])
    y_dig = np.concatenate([y for _, y in digits])
    M = normalize_dataset(load_mnist1d())
    cases = [
        ("Figure 1 network, batches of 60", X_dig, y_dig, dict(layer_sizes=[64, 100, 100, 100, 10], activation="sigmoid",
                                                                 weight_scale=0.1), lambda: GradientDescent(0.5), 60),
        ("notebook 04's network, batches of 64", M.X_train, M.y_train, dict(layer_sizes=[40, 100, 100, 10], activation="relu"),
         lambda: Adam(1e-3), 64),
        ("notebook 04's network, batches of 4", M.X_train, M.y_train, dict(layer_sizes=[40, 100, 100, 10], activation="relu"),
         lambda: Adam(1e-3), 4),
    ]  # fmt: skip
    common = dict(epochs=10**6, max_steps=steps, drop_last=True, eval_train=False, progress=False)  # training steps only
    rows = []
    for name, X, y, net, opt, m in cases:
        def one():
            train(MLP(batchnorm=True, rng=np.random.default_rng(0), **net), opt(), X, y, batch_size=m,
                  rng=np.random.default_rng(100), **common)  # fmt: skip

        def stacked():
            model = MultiSeedMLP(batchnorm=True, rngs=[np.random.default_rng(s) for s in range(k)], **net)
            train_seeds(model, opt(), X, y, batch_size=m, rngs=[np.random.default_rng(100 + s) for s in range(k)], **common)

        t_one, _, ratio = paired_times(one, stacked)
        rows.append(dict(network=name, k=k, one_seed_ms_per_step=1e3 * t_one / steps, ratio=ratio))
    results["seeds"] = rows


def widget_cases():
    """Each widget's builder with the notebook's kind of data (the builder draws every frame of the slider)."""
    from bn_helpers import batchnorm_forward
    from bn_helpers import widgets as w

    rng = np.random.default_rng(0)
    z_norm = batchnorm_forward(rng.normal(3.0, 2.0, (1, 2000)), np.ones(1), np.zeros(1))[0].ravel()
    z_unit = rng.normal(0.5, 1.4, 4000)
    means = 0.1 * rng.standard_normal(400) + 0.05
    return {
        "01 scale ratio": lambda: w.scale_ratio_widget(),
        "02 gamma, beta": lambda: w.gamma_beta_widget(z_norm),
        "04 batch size": lambda: w.batch_size_widget(z_unit, batch_size=4),
        "06 ewa beta": lambda: w.ewa_widget(means, reference=0.05, beta=0.99),
        "07 family": lambda: w.family_widget(),
    }


def bench_widgets(results):
    """Building each slider: every frame computed, drawn and encoded when the cell runs.

    Moving a slider afterwards costs no kernel time at all: the browser shows
    another precomputed frame. So what is timed is the build, per frame, and
    what is weighed is the frames' size, which the notebooks store.
    """
    rows = []
    for name, build in widget_cases().items():
        box = build()  # warm-up (fonts, caches)
        frames = len(box.frames)
        seconds = median_time(build, repeats=3, number=1)
        kb = sum(len(i.value) for i, _ in box.frames.values()) / 1e3
        rows.append(dict(widget=name, frames=frames, build_s=seconds, ms_per_frame=1e3 * seconds / frames, kB=kb))
    if "kilostep_s" not in results:  # the unit the builds are compared with, measured in this run
        results["kilostep_s"] = kilostep()
    for row in rows:
        row["kilosteps"] = row["build_s"] / results["kilostep_s"]
    results["widgets"] = rows


def _staged(r):
    return next(x["ratio"] for x in r["staged"] if x["shape"] == [1024, 4096])


def _notebooks_total(r):
    return sum(x["kilosteps"] for x in r["notebooks"])


def _test_minutes(r):
    """make test's wall time, installs excluded: pytest on one core, the matrix's rows one after another beside it."""
    return max(r["tests"]["pytest_seconds"], sum(x["seconds"] for x in r["tests"]["matrix"])) / 60


# name: (met?, what was measured)
TARGETS = {
    "closed form >= 2x staged at (1024, 4096)": (lambda r: _staged(r) >= 2, lambda r: f"{_staged(r):.2f}x"),
    "fast kernel >= torch at (1024, 4096) float64": (lambda r: _k(r, 1024, "float64")["fast_vs_torch"] >= 1,
                                                     lambda r: f"{_k(r, 1024, 'float64')['fast_vs_torch']:.2f}x"),
    "fast kernel >= 25% of bandwidth bound at (1024, 4096) float64": (
        lambda r: _k(r, 1024, "float64")["fast_bound_fraction"] >= 0.25,
        lambda r: f"{100 * _k(r, 1024, 'float64')['fast_bound_fraction']:.0f}%"),
    "Figure 1 network >= 1.2x torch steps/s": (lambda r: r["train"]["ratio"] >= 1.2,
                                               lambda r: f"{r['train']['ours_steps_per_s']:.0f} vs "
                                                         f"{r['train']['torch_steps_per_s']:.0f} steps/s, "
                                                         f"{r['train']['ratio']:.2f}x"),
    "every notebook <= 12 kilosteps": (lambda r: max(x["kilosteps"] for x in r["notebooks"]) <= 12,
                                       lambda r: ", ".join(f"{x['notebook'][:2]} {x['kilosteps']:.1f}"
                                                           for x in r["notebooks"])),
    "all notebooks together <= 60 kilosteps": (lambda r: sum(x["kilosteps"] for x in r["notebooks"]) <= 60,
                                               lambda r: f"{sum(x['kilosteps'] for x in r['notebooks']):.1f}"),
    "autograding one submission (all eight notebooks) <= 20% of executing them": (
        lambda r: r["grading"]["kilosteps"] <= 0.2 * _notebooks_total(r),
        lambda r: f"{r['grading']['kilosteps']:.1f} kilosteps, {100 * r['grading']['kilosteps'] / _notebooks_total(r):.0f}% "
                  f"(every cell running: {r['grading']['every_cell_kilosteps']:.1f})"),
    "3 seeds at once <= 2x one seed (Figure 1 network)": (lambda r: r["seeds"][0]["ratio"] <= 2,
                                                          lambda r: f"{r['seeds'][0]['ratio']:.2f}x"),
    "3 seeds at once <= 2x one seed (04's network, batches of 64)": (lambda r: r["seeds"][1]["ratio"] <= 2,
                                                                     lambda r: f"{r['seeds'][1]['ratio']:.2f}x"),
    "make test <= 15 minutes, installs excluded (pytest, the matrix beside it)": (
        lambda r: _test_minutes(r) <= 15, lambda r: f"{_test_minutes(r):.1f} min"),
    "every slider built, all its frames, in <= 1 kilostep (a move then costs no kernel time)": (
        lambda r: max(x["kilosteps"] for x in r["widgets"]) <= 1,
        lambda r: f"{max(x['kilosteps'] for x in r['widgets']):.2f} at most"),
    "all sliders' frames together <= 3 MB as stored (base64)": (
        lambda r: sum(x["kB"] for x in r["widgets"]) * 4 / 3 <= 3000,
        lambda r: f"{sum(x['kB'] for x in r['widgets']) * 4 / 3 / 1e3:.1f} MB"),
}  # fmt: skip


def verdicts(r):
    """Each target: ("met" or "MISSED" or "not measured", what was measured or "")."""
    out = {}
    for name, (met, measured) in TARGETS.items():
        try:
            out[name] = ("met" if met(r) else "MISSED", measured(r))
        except (KeyError, StopIteration, IndexError):
            out[name] = ("not measured", "")
    return out


def markdown(r):
    """The README's block: the targets with what was measured, each notebook's cost and costliest cells, the
    parts of make test."""
    lines = [f"One run of `make bench` on {r['machine']}"
             + (f"; a kilostep here: {r['kilostep_s']:.2f} s" if "kilostep_s" in r else "") + ".", "",
             "| target | result |", "| --- | --- |"]  # fmt: skip
    kernel = ["", f"Batch norm forward + backward (copy bandwidth {r.get('copy_bandwidth_GBps', 0):.1f} GB/s; the bound is "
              "the time to move `5 * n_l * m * itemsize` bytes at that bandwidth):", "",
              "| shape | dtype | plain | fast | torch | fast vs torch | fast, % of bound | torch, % of bound |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    kernel += [f"| {tuple(x['shape'])} | {x['dtype']} | {x['plain_ms']:.2f} ms | {x['fast_ms']:.2f} ms | {x['torch_ms']:.2f} ms | "
               f"{x['fast_vs_torch']:.2f}x | {100 * x['fast_bound_fraction']:.0f}% | {100 * x['torch_bound_fraction']:.0f}% |"
               for x in r.get("kernel", [])]  # fmt: skip
    lines += [f"| {name} | {verdict}{': ' + measured if measured else ''} |" for name, (verdict, measured) in verdicts(r).items()]
    if "kernel" in r:
        lines += kernel
    if "notebooks" in r:
        lines += ["", "| notebook | kilosteps | its three costliest cells (cell number, kilosteps, first line) |",
                  "| --- | --- | --- |"]  # fmt: skip
        lines += [f"| {x['notebook'][:-6]} | {x['kilosteps']:.1f} | "
                  + "; ".join(f"{c['cell']}: {c['kilosteps']:.1f}, `{c['first_line'].replace('|', '/')}`" for c in x["cells"])
                  + " |" for x in r["notebooks"]]  # fmt: skip
    if "tests" in r:
        t = r["tests"]
        lines += ["", f"`make test`'s last run before it: pytest {t['pytest_seconds'] / 60:.1f} min on one core ("
                  + ", ".join(f"{x['part']} {x['seconds'] / 60:.1f}" for x in t["parts"]) + "), the matrix "
                  f"{sum(x['seconds'] for x in t['matrix']) / 60:.1f} min beside it ("
                  + ", ".join(f"{x['row']} {x['seconds'] / 60:.1f}" for x in t["matrix"]) + ")."]  # fmt: skip
    return "\n".join(lines)


README_BLOCK = ("<!-- make bench: start -->", "<!-- make bench: end -->")


def update_readme(r):
    """Replace the block between README_BLOCK's markers in README.md with :func:`markdown` of this run."""
    path = ROOT / "README.md"
    text = path.read_text()
    start, end = text.index(README_BLOCK[0]) + len(README_BLOCK[0]), text.index(README_BLOCK[1])
    path.write_text(text[:start] + "\n" + markdown(r) + "\n" + text[end:])


def _k(r, n, dtype):
    return next(x for x in r["kernel"] if x["shape"][0] == n and x["dtype"] == dtype)


def report(r):
    lines = [f"bn_helpers benchmarks: {r['machine']}", ""]
    if "kernel" in r:
        lines += [f"1. batch-norm forward + backward (ms; copy bandwidth {r['copy_bandwidth_GBps']:.1f} GB/s)",
                  f"   {'shape':>12} {'dtype':>8} {'plain':>8} {'fast':>8} {'torch':>8} {'fast/torch speed':>17} {'bound: fast':>12} {'torch':>6}"]  # fmt: skip
        for x in r["kernel"]:
            lines.append(f"   {str(tuple(x['shape'])):>12} {x['dtype']:>8} {x['plain_ms']:8.3f} {x['fast_ms']:8.3f} {x['torch_ms']:8.3f} "
                         f"{x['fast_vs_torch']:16.2f}x {100 * x['fast_bound_fraction']:11.0f}% {100 * x['torch_bound_fraction']:5.0f}%")  # fmt: skip
    if "staged" in r:
        lines += ["", "2. backward, staged vs closed form (float64, ms)"]
        for x in r["staged"]:
            lines.append(f"   {str(tuple(x['shape'])):>12}  staged {x['staged_ms']:8.3f}  closed {x['closed_ms']:8.3f}  closed is {x['ratio']:.2f}x faster")
    if "train" in r:
        t = r["train"]
        lines += ["", "3. Figure 1 network, training steps per second",
                  f"   bn_helpers {t['ours_steps_per_s']:.0f}, PyTorch {t['torch_steps_per_s']:.0f}: ratio {t['ratio']:.2f}x"]  # fmt: skip
    if "notebooks" in r:
        lines += ["", f"4. notebook execution in a fresh kernel (a kilostep here: {r['kilostep_s']:.2f} s)",
                  f"   {'notebook':<45} {'seconds':>7} {'kilosteps':>10}"]  # fmt: skip
        for x in r["notebooks"]:
            lines.append(f"   {x['notebook']:<45} {x['seconds']:7.1f} {x['kilosteps']:10.1f}")
            lines += [f"      cell {c['cell']:>2} {c['kilosteps']:5.1f}  {c['first_line']}" for c in x.get("cells", [])]
        lines.append(f"   {'total':<45} {sum(x['seconds'] for x in r['notebooks']):7.1f} "
                     f"{sum(x['kilosteps'] for x in r['notebooks']):10.1f}")  # fmt: skip
    if "grading" in r:
        g = r["grading"]
        lines += ["", "4b. nbgrader autograde of one submission, all eight notebooks",
                  f"   the course's configuration: {g['seconds']:.1f} s, {g['kilosteps']:.1f} kilosteps",
                  f"   every cell running:         {g['every_cell_seconds']:.1f} s, {g['every_cell_kilosteps']:.1f} kilosteps",
                  f"   the course's, two submissions by two processes at once: {g['two_at_once_seconds_each']:.1f} s each"]  # fmt: skip
    if "seeds" in r:
        lines += ["", "6. k seeds at once (MultiSeedMLP) vs one seed (MLP), same steps"]
        lines += [f"   {x['network']:<40} one seed {x['one_seed_ms_per_step']:5.2f} ms/step; {x['k']} seeds at once "
                  f"{x['ratio']:.2f}x the time of one" for x in r["seeds"]]  # fmt: skip
    if "widgets" in r:
        lines += ["", "5. sliders: every frame drawn when the cell runs (a move is then a swap in the browser)",
                  f"   {'widget':<20} {'frames':>6} {'build s':>8} {'kilosteps':>10} {'ms/frame':>9} {'kB':>7}"]  # fmt: skip
        lines += [f"   {x['widget']:<20} {x['frames']:>6} {x['build_s']:8.2f} {x['kilosteps']:10.2f} {x['ms_per_frame']:9.1f} "
                  f"{x['kB']:7.0f}" for x in r["widgets"]]  # fmt: skip
    if "tests" in r:
        t = r["tests"]
        lines += ["", f"7. make test's last run ({t['when'] or 'build/test-times.xml'}), seconds",
                  f"   pytest, one core: {t['pytest_seconds']:.0f}"]  # fmt: skip
        lines += [f"      {x['part']:<40} {x['seconds']:6.0f}" for x in t["parts"]]
        if t["matrix"]:
            lines.append(f"   the matrix beside it, the other core: {sum(x['seconds'] for x in t['matrix']):.0f}")
            lines += [f"      row {x['row']:<36} {x['seconds']:6.0f}  {x['status']}" for x in t["matrix"]]
    lines += ["", "targets"]
    lines += [f"   {verdict:<13} {name}{': ' + measured if measured else ''}" for name, (verdict, measured) in verdicts(r).items()]
    return "\n".join(lines)


PARTS = {"kernel": bench_kernel, "staged": bench_staged, "train": bench_train, "seeds": bench_seeds,
         "notebooks": bench_notebooks, "grading": bench_grading, "widgets": bench_widgets, "tests": bench_tests}  # fmt: skip


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(parts):
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown parts {sorted(unknown)}; choose from {list(PARTS)}")
    import numpy

    results = {"machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                          f"numpy {numpy.__version__}, one BLAS thread"}  # fmt: skip
    with threadpool_limits(limits=1):
        for name in parts or PARTS:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            PARTS[name](results)
    print(report(results))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    results["targets"] = {name: verdict for name, (verdict, _) in verdicts(results).items()}
    OUT.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {OUT.relative_to(ROOT)}")
    if not parts:  # a full run: the README's block shows it
        update_readme(results)
        print("and to README.md (Performance)")


if __name__ == "__main__":
    main(sys.argv[1:])
