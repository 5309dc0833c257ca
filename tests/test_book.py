"""The web book (make book) in a real browser: offline, typeset, every figure and slider shown, pages in order.

Builds the site into build/book/ with tools/build_book.py (which installs the
site's JavaScript from book/package-lock.json with npm), serves it on
127.0.0.1 and opens every page in headless Chromium driven by Playwright.
Every request that leaves 127.0.0.1 is aborted and recorded; the test fails
if there is one. Screenshots of each page go to build/book-shots/.

Needs Node.js and npm (to install the JavaScript), Debian's chromium and the
playwright package; without them the tests are skipped with the reason,
except under CI=true, where that is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from widget_driver import CHROMIUM_ARGS, Widget, number

ROOT = Path(__file__).resolve().parent.parent
SITE, SHOTS = ROOT / "build" / "book", ROOT / "build" / "book-shots"
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOKS = [p.stem for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
PAGES = ["index", *NOTEBOOKS, "api", "data", "instructors"]
# notebook -> how many slider widgets it shows (02: one widget with two sliders, gamma and beta)
WITH_SLIDERS = {"01_normalizing_inputs": 1, "02_implementing_batch_norm": 1, "04_mini_batches_and_optimizers": 1,
                "06_batch_norm_at_test_time": 1, "07_normalizing_along_other_axes": 1}  # fmt: skip

pytestmark = pytest.mark.browser


def _missing():
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "Node.js and npm are needed to install the book's JavaScript"
    if not CHROMIUM.exists():
        return "no browser at /usr/bin/chromium (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
        import sphinx  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed (a test extra)"
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """Build the book, serve it on a free port of 127.0.0.1, open a headless Chromium."""
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"book tests cannot run: {reason}; CI=true requires them")
        pytest.skip(f"book tests skipped: {reason}")
    build = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py")], capture_output=True, text=True,
                           timeout=900)  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-5000:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser, base
            finally:
                browser.close()
    finally:
        server.shutdown()


def open_page(site, name):
    """Open one page with every outside request aborted; returns (page, requests outside, console errors)."""
    browser, base = site
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    outside, errors = [], []

    def route(r):
        if r.request.url.startswith(base + "/"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/{name}.html", wait_until="networkidle")
    # MathJax (on pages with math) typesets asynchronously: wait until it says it is done.
    if page.evaluate("() => !!document.querySelector('script[src*=\"tex-mml-chtml\"]')"):
        page.wait_for_function("() => window.MathJax && window.MathJax.version && window.MathJax.startup.promise")
        page.evaluate("() => window.MathJax.startup.promise")
    return page, outside, errors


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_offline_typeset_and_with_its_figures(site, name):
    page, outside, errors = open_page(site, name)
    try:
        assert outside == [], f"requests outside the site: {outside}"
        assert errors == [], f"console errors: {errors}"
        # the prose, without code (matplotlib labels in code cells legitimately hold $...$)
        text = page.evaluate("""() => { const main = document.querySelector('main').cloneNode(true);
                                         main.querySelectorAll('pre, code, .highlight').forEach(e => e.remove());
                                         return main.innerText; }""")
        assert "$$" not in text and not re.search(r"\$[^$\s][^$]*\$", text), "raw TeX left in the prose"
        if name in NOTEBOOKS:
            code = page.evaluate("() => document.querySelector('main').innerText")
            assert "HIDDEN TESTS" not in code and "hidden=True" not in code, "a grade cell's hidden part is shown"
        if name in NOTEBOOKS or name == "index":
            assert page.locator("mjx-container").count() > 0, "no typeset equation"
        images = page.evaluate(
            "() => [...document.querySelectorAll('main img')].map(i => ({w: i.naturalWidth, alt: i.alt || '',"
            " widget: !!i.closest('.widget-image, .jupyter-widgets'), src: i.src}))"
        )
        for img in images:
            assert img["w"] > 0, f"image did not load: {img['src']}"
            if not img["widget"]:  # a figure: its alt text says what it shows (not a file name or a repr)
                assert len(img["alt"]) > 40 and not img["alt"].startswith(("_images", "<Figure")), img
        if name in NOTEBOOKS:
            figures = [i for i in images if not i["widget"]]
            assert figures, "a notebook page without its figures"
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("name", list(WITH_SLIDERS))
def test_sliders_show_their_stored_state(site, name):
    page, _, _ = open_page(site, name)
    try:
        page.locator(".widget-slider").first.wait_for()
        boxes = page.locator(".widget-vbox").filter(has=page.locator(".widget-slider"))
        assert boxes.count() == WITH_SLIDERS[name]
        for k in range(boxes.count()):
            box = boxes.nth(k)
            assert box.locator(".widget-readout").first.inner_text().strip() != ""
            image = box.locator(".widget-image").first
            assert image.evaluate("img => img.naturalWidth") > 0  # the picture of the starting setting
            assert box.locator(".widget-html-content").last.inner_text().strip() != ""  # its printed statistics
        # and the page says that the sliders move over precomputed settings, and how to draw others
        text = page.inner_text("main")
        assert "settings drawn when the cell ran" in text and "no kernel needed" in text and "make lab" in text
    finally:
        page.close()


def _moves(site, name, label):
    page, outside, errors = open_page(site, name)
    return page, outside, errors, Widget(page, label)


def _no_trouble(page, outside, errors):
    assert outside == [], f"requests outside the site: {outside}"
    assert errors == [], f"console errors: {errors}"
    page.close()


def test_01_the_scale_ratio_slider_moves_without_a_kernel(site):
    page, outside, errors, w = _moves(site, "01_normalizing_inputs", "scale ratio")
    before, after = w.change("scale ratio", "End")  # 10 -> 30
    w.shot(SHOTS / "01-slider-moved.png")
    assert number(after, r"condition number: raw ([\d.e+]+)") > 5 * number(before, r"condition number: raw ([\d.e+]+)")
    assert number(after, r"normalized ([\d.]+)\n") == number(before, r"normalized ([\d.]+)\n")
    _no_trouble(page, outside, errors)


def test_02_gamma_and_beta_move_without_a_kernel(site):
    page, outside, errors, w = _moves(site, "02_implementing_batch_norm", "gamma")
    before, after = w.change("gamma", "ArrowRight")  # 1 -> 2: the std of z_tilde doubles
    assert number(before, r"std ([\d.]+)") == pytest.approx(1.0, abs=0.002)
    assert number(after, r"std ([\d.]+)") == pytest.approx(2.0, abs=0.002)
    _, shifted = w.change("beta", "ArrowRight")  # 0 -> 1: beta moves the mean, gamma stays
    w.shot(SHOTS / "02-sliders-moved.png")
    assert number(shifted, r"z_tilde: mean ([+-][\d.]+)") == pytest.approx(1.0, abs=0.002)
    assert number(shifted, r"std ([\d.]+)") == pytest.approx(2.0, abs=0.002)
    _no_trouble(page, outside, errors)


def test_04_the_batch_size_slider_moves_without_a_kernel(site):
    page, outside, errors, w = _moves(site, "04_mini_batches_and_optimizers", "batch size")
    _, at_64 = w.change("batch size", *["ArrowRight"] * 4)  # 4 -> 64
    _, at_2 = w.change("batch size", "Home")  # 64 -> 2: the batch means spread about sqrt(32) = 5.7 times wider
    w.shot(SHOTS / "04-slider-moved.png")
    assert "batch size 64:" in at_64 and "batch size 2:" in at_2
    spread = number(at_2, r"std of the batch means:\s+([\d.]+)") / number(at_64, r"std of the batch means:\s+([\d.]+)")
    assert 4.5 < spread < 7
    _no_trouble(page, outside, errors)


def test_06_the_average_s_beta_and_the_correction_move_without_a_kernel(site):
    page, outside, errors, w = _moves(site, "06_batch_norm_at_test_time", "beta")
    before, after = w.change("beta", "ArrowLeft", "ArrowLeft")  # 0.99 -> 0.95
    assert "last ~100 steps" in before and "last ~20 steps" in after
    _, corrected = w.change("bias correction", button="on")
    w.shot(SHOTS / "06-slider-moved.png")
    assert number(corrected, r"final value ([+-]?[\d.]+)") == number(after, r"final value ([+-]?[\d.]+)")
    _no_trouble(page, outside, errors)


def test_07_the_family_widget_moves_without_a_kernel(site):
    page, outside, errors, w = _moves(site, "07_normalizing_along_other_axes", "groups")
    before, after = w.change("groups", "ArrowRight")  # 2 -> 3 groups
    assert before.startswith("8 means and variances") and after.startswith("12 means and variances")
    _, batch = w.change("method", button="batch")
    w.shot(SHOTS / "07-widget-moved.png")
    assert batch.startswith("6 means and variances, each over 36 entries")
    _no_trouble(page, outside, errors)


def test_the_api_page_documents_the_package_with_signatures(site):
    page, _, _ = open_page(site, "api")
    try:
        for name, args in [("batchnorm_forward", "Z, gamma, beta, eps=1e-05"), ("batchnorm_backward", "dZ_tilde, cache"),
                           ("BatchNorm", "n_units, eps=1e-05, ewa_beta=0.9"), ("ewa_update", "average, value, beta=0.9")]:  # fmt: skip
            signature = page.locator(f"dt.sig[id$='.{name}']").first
            assert signature.count() == 1, name
            assert args in signature.inner_text().replace("\n", ""), signature.inner_text()
        assert "(n_l, m)" in page.inner_text("main")  # shapes, in course notation
    finally:
        page.close()


def test_previous_and_next_go_through_the_notebooks_in_order(site):
    browser, base = site
    page = browser.new_page()
    try:
        page.goto(f"{base}/index.html")
        visited = []
        for _ in range(len(NOTEBOOKS)):
            page.locator("a.right-next").first.click()
            page.wait_for_load_state()
            visited.append(Path(page.url).stem)
        assert visited == NOTEBOOKS
        for expected in reversed(["index", *NOTEBOOKS[:-1]]):
            page.locator("a.left-prev").first.click()
            page.wait_for_load_state()
            assert Path(page.url).stem == expected
    finally:
        page.close()
