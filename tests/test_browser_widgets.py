"""The widgets in a real browser: JupyterLab (and Notebook 7) in headless Chromium, driven by Playwright.

For each notebook with widgets: open it, run all cells, change each slider
with the keyboard, and check that the plot image changed and that the printed
statistics changed the way they should. The quiz is clicked. Screenshots go to
build/browser/ (ignored by git).

Needs Debian's chromium (/usr/bin/chromium) and the playwright package; no
browser is downloaded. Without them the tests are skipped, except under
CI=true, where that is a failure. The server serves a temporary copy of
notebooks/, so running cells can never save into the repository.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from lab_server import ROOT, free_port, lab_command, running
from widget_driver import CHROMIUM_ARGS, Widget, number

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "build" / "browser"
TIMEOUT_MS = 120_000


def _missing():
    if not CHROMIUM.exists():
        return "no browser at /usr/bin/chromium (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks, and a headless Chromium."""
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run: {reason}; CI=true requires them")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("lab")
    notebooks = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    SHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with running(lab_command(notebooks, port), tmp, port) as (base, token):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser, base, token
            finally:
                browser.close()


def open_and_run(lab, notebook, ui="lab"):
    """Open a notebook, wait for its kernel, run all cells and wait until they finished."""
    browser, base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    if ui == "lab":
        # A workspace of its own, reset: Lab would otherwise reopen the previous test's notebook too,
        # and "Run All Cells" would run whichever tab is active.
        page.goto(f"{base}/lab/workspaces/{Path(notebook).stem}/tree/{notebook}?reset&token={token}")
        page.get_by_text("| Idle").first.wait_for()  # the kernel is ready (not only "starting")
    else:  # Notebook 7 has no status bar: the toolbar's kernel indicator reads "Kernel status: Idle"
        page.goto(f"{base}/notebooks/{notebook}?token={token}")
        page.wait_for_function("() => document.querySelector('.jp-Notebook') !== null")
        page.locator("[title='Kernel status: Idle'], [data-status='idle']").first.wait_for()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-InputPrompt')].map(e => e.textContent);
            return prompts.length > 0 && !prompts.some(t => t.includes('*') || t.trim() === '[ ]:');
        }"""
    )
    return page


def test_01_scale_ratio_slider(lab):
    page = open_and_run(lab, "01_normalizing_inputs.ipynb")
    w = Widget(page, "scale ratio")
    w.shot(SHOTS / "01-before.png")
    before, after = w.change("scale ratio", "End")  # 10 -> the largest setting, 30
    w.shot(SHOTS / "01-after.png")
    assert number(after, r"condition number: raw ([\d.e+]+)") > 5 * number(before, r"condition number: raw ([\d.e+]+)")
    assert number(after, r"best fixed learning rate: raw (\d+)") > number(before, r"best fixed learning rate: raw (\d+)")
    assert number(after, r"normalized ([\d.]+)\n") == number(before, r"normalized ([\d.]+)\n")  # normalizing removes the scale
    page.close()


def test_02_gamma_beta_sliders_and_quiz(lab):
    page = open_and_run(lab, "02_implementing_batch_norm.ipynb")
    w = Widget(page, "gamma")
    w.shot(SHOTS / "02-before.png")
    before, after = w.change("gamma", "ArrowRight")  # 1.0 -> 2.0, the next setting
    assert number(before, r"z_tilde: mean [+-][\d.]+, std ([\d.]+)") == pytest.approx(1.0, abs=0.002)
    assert number(after, r"z_tilde: mean [+-][\d.]+, std ([\d.]+)") == pytest.approx(2.0, abs=0.002)  # doubled
    assert number(after, r"saturated.*: ([\d.]+)%") > number(before, r"saturated.*: ([\d.]+)%")
    _, shifted = w.change("beta", "ArrowRight")  # 0.0 -> 1.0
    w.shot(SHOTS / "02-after.png")
    assert number(shifted, r"z_tilde: mean ([+-][\d.]+)") == pytest.approx(1.0, abs=0.002)  # beta shifts the mean
    assert number(shifted, r"z_tilde: mean [+-][\d.]+, std ([\d.]+)") == pytest.approx(2.0, abs=0.002)

    quiz = page.locator(".widget-vbox").filter(has=page.get_by_role("button", name="Check answers")).last
    quiz.scroll_into_view_if_needed()
    boxes = quiz.locator("input[type=checkbox]")
    assert boxes.count() == 5
    boxes.nth(0).check()
    boxes.nth(3).check()
    quiz.get_by_role("button", name="Check answers").click()
    feedback = quiz.locator(".widget-html-content").last
    feedback.get_by_text("5 of 5 right").wait_for()
    boxes.nth(1).check()  # "hyperparameters tuned by random sampling": false
    quiz.get_by_role("button", name="Check answers").click()
    feedback.get_by_text("4 of 5 right").wait_for()
    assert "Not quite" in feedback.inner_text()
    quiz.screenshot(path=str(SHOTS / "02-quiz.png"))
    page.close()


def test_04_batch_size_slider(lab):
    page = open_and_run(lab, "04_mini_batches_and_optimizers.ipynb")
    w = Widget(page, "batch size")
    w.shot(SHOTS / "04-before.png")
    before, after = w.change("batch size", "ArrowLeft")  # 4 -> 2
    assert "batch size 4:" in before and "batch size 2:" in after
    variance = number(after, r"mean of batch variances: ([\d.]+)") / number(before, r"mean of batch variances: ([\d.]+)")
    assert 0.6 < variance < 0.75  # (1/2) / (3/4): the biased batch variance shrinks with m
    _, wide = w.move_to("batch size", "ArrowRight", "batch size 128:")  # 2 -> 128
    w.shot(SHOTS / "04-after.png")
    spread = number(after, r"std of the batch means:\s+([\d.]+)") / number(wide, r"std of the batch means:\s+([\d.]+)")
    assert 6 < spread < 10  # about sqrt(128 / 2) = 8
    page.close()


def test_06_ewa_slider_and_toggle(lab):
    page = open_and_run(lab, "06_batch_norm_at_test_time.ipynb")
    w = Widget(page, "beta")
    w.shot(SHOTS / "06-lab-before.png")
    before, after = w.move_to("beta", "ArrowLeft", "last ~20 steps")  # 0.99 -> 0.95
    assert "last ~100 steps" in before
    _, corrected = w.change("bias correction", button="on")
    w.shot(SHOTS / "06-lab-after.png")
    # at beta 0.95 the correction 1 / (1 - 0.95^400) is 1 to many digits: the same final value, a different start
    assert number(corrected, r"final value ([+-]?[\d.]+)") == number(after, r"final value ([+-]?[\d.]+)")
    page.close()


def test_06_in_notebook_7(lab):
    """The same widget in Jupyter Notebook 7, where arrow keys do not move sliders but PageUp does."""
    page = open_and_run(lab, "06_batch_norm_at_test_time.ipynb", ui="notebook")
    w = Widget(page, "beta")
    before, after = w.change("beta", "PageDown")  # five options down: 0.99 -> 0.5
    w.shot(SHOTS / "06-notebook-after.png")
    assert "last ~100 steps" in before and "last ~2 steps" in after
    page.close()


def test_07_family_groups_slider_and_method(lab):
    page = open_and_run(lab, "07_normalizing_along_other_axes.ipynb")
    w = Widget(page, "groups")
    w.shot(SHOTS / "07-before.png")
    before, after = w.change("groups", "ArrowRight")  # 2 -> 3 groups of 2 channels
    assert before.startswith("8 means and variances, each over 27 entries")
    assert after.startswith("12 means and variances, each over 18 entries")
    _, batch = w.change("method", button="batch")  # batch norm ignores the groups
    w.shot(SHOTS / "07-after.png")
    assert batch.startswith("6 means and variances, each over 36 entries: one per channel")
    page.close()
