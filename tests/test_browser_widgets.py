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
import re
import shutil
from pathlib import Path

import pytest
from lab_server import ROOT, free_port, lab_command, running

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "build" / "browser"
# Flags for a sandboxed machine with no network but the registries (see the testing notes).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
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


class Widget:
    """One live widget on the page, found by the label of one of its controls."""

    def __init__(self, page, label):
        self.page = page
        label_loc = page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(label)}$"))
        self.box = page.locator(".widget-vbox").filter(has=label_loc).last
        self.img = self.box.locator(".widget-image").first
        self.stats = self.box.locator(".widget-html-content pre").last
        self.box.scroll_into_view_if_needed()
        page.wait_for_function("el => el.src && el.src.startsWith('blob:')", arg=self.img.element_handle())
        page.wait_for_function("el => el.textContent.trim().length > 0", arg=self.stats.element_handle())

    def state(self):
        return self.img.get_attribute("src"), self.stats.inner_text()

    def change(self, control_label, *keys, click=False):
        """Press keys on a slider (or click a checkbox), each one a change of value; return (before, after) texts.

        Waits for a new image after every key: the widget sets its text before
        its image, so a new image means the text beside it is current too.
        """
        text = self.state()[1]
        row = self.box.locator(".widget-inline-hbox, .widget-checkbox").filter(has_text=control_label).first
        actions = [lambda: row.locator("input[type=checkbox]").click()] if click else [
            (lambda k=key: self.page.keyboard.press(k)) for key in keys]  # fmt: skip
        if not click:
            row.locator(".noUi-handle").first.focus()
        for act in actions:
            src = self.img.get_attribute("src")
            act()
            self.page.wait_for_function("([el, old]) => el.src !== old", arg=[self.img.element_handle(), src])
        return text, self.stats.inner_text()

    def shot(self, name):
        self.box.screenshot(path=str(SHOTS / f"{name}.png"))


def number(text, pattern):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in {text!r}"
    return float(match.group(1))


def test_01_scale_ratio_slider(lab):
    page = open_and_run(lab, "01_normalizing_inputs.ipynb")
    w = Widget(page, "scale ratio")
    w.shot("01-before")
    before, after = w.change("scale ratio", "End")  # 10 -> the maximum, about 31.6
    w.shot("01-after")
    assert number(after, r"condition number: raw ([\d.e+]+)") > 5 * number(before, r"condition number: raw ([\d.e+]+)")
    assert number(after, r"steps to converge: raw (\d+)") > number(before, r"steps to converge: raw (\d+)")
    assert number(after, r"normalized ([\d.]+)\n") == number(before, r"normalized ([\d.]+)\n")  # normalizing removes the scale
    page.close()


def test_02_gamma_beta_sliders_and_quiz(lab):
    page = open_and_run(lab, "02_implementing_batch_norm.ipynb")
    w = Widget(page, "gamma")
    w.shot("02-before")
    before, after = w.change("gamma", "PageUp", "PageUp")  # 1.0 -> 2.0 (a page is 5 steps of 0.1)
    assert number(before, r"z_tilde: mean [+-][\d.]+, std ([\d.]+)") == pytest.approx(1.0, abs=0.002)
    assert number(after, r"z_tilde: mean [+-][\d.]+, std ([\d.]+)") == pytest.approx(2.0, abs=0.002)  # doubled
    assert number(after, r"saturated.*: ([\d.]+)%") > number(before, r"saturated.*: ([\d.]+)%")
    _, shifted = w.change("beta", "PageUp", "PageUp")  # 0.0 -> 1.0
    w.shot("02-after")
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
    w.shot("04-before")
    before, after = w.change("batch size", "ArrowLeft")  # 4 -> 2
    assert "batch size 4:" in before and "batch size 2:" in after
    variance = number(after, r"mean of batch variances: ([\d.]+)") / number(before, r"mean of batch variances: ([\d.]+)")
    assert 0.6 < variance < 0.75  # (1/2) / (3/4): the biased batch variance shrinks with m
    _, wide = w.change("batch size", *["ArrowRight"] * 6)  # 2 -> 128
    w.shot("04-after")
    spread = number(after, r"std of the batch means:\s+([\d.]+)") / number(wide, r"std of the batch means:\s+([\d.]+)")
    assert 6 < spread < 10  # about sqrt(128 / 2) = 8
    page.close()


def test_06_ewa_slider_and_toggle(lab):
    page = open_and_run(lab, "06_batch_norm_at_test_time.ipynb")
    w = Widget(page, "beta")
    w.shot("06-lab-before")
    before, after = w.change("beta", "ArrowLeft", "ArrowLeft")  # 0.99 -> 0.95
    assert "last ~100 steps" in before and "last ~20 steps" in after
    _, corrected = w.change("bias correction", click=True)
    w.shot("06-lab-after")
    # at beta 0.95 the correction 1 / (1 - 0.95^400) is 1 to many digits: the same final value, a different start
    assert number(corrected, r"final value ([+-]?[\d.]+)") == number(after, r"final value ([+-]?[\d.]+)")
    page.close()


def test_06_in_notebook_7(lab):
    """The same widget in Jupyter Notebook 7, where arrow keys do not move sliders but PageUp does."""
    page = open_and_run(lab, "06_batch_norm_at_test_time.ipynb", ui="notebook")
    w = Widget(page, "beta")
    before, after = w.change("beta", "PageDown")  # five options down: 0.99 -> 0.5
    w.shot("06-notebook-after")
    assert "last ~100 steps" in before and "last ~2 steps" in after
    page.close()


def test_07_family_groups_slider_and_method(lab):
    page = open_and_run(lab, "07_normalizing_along_other_axes.ipynb")
    w = Widget(page, "groups")
    w.shot("07-before")
    before, after = w.change("groups", "ArrowRight")  # 2 -> 3 groups of 2 channels
    assert before.startswith("8 means and variances, each over 27 entries")
    assert after.startswith("12 means and variances, each over 18 entries")
    src = w.img.get_attribute("src")
    w.box.get_by_role("button", name="batch").click()  # the method: batch norm ignores the groups
    page.wait_for_function("([el, old]) => el.src !== old", arg=[w.img.element_handle(), src])
    w.shot("07-after")
    assert w.stats.inner_text().startswith("6 means and variances, each over 36 entries: one per channel")
    page.close()
