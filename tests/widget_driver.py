"""Drive a course widget on a page in Chromium (Playwright): JupyterLab, Notebook 7 or the web book alike.

A widget is a VBox of controls, one picture with its printed statistics (the
frame the controls select, from a stack of precomputed frames) and a note.
Moving a control swaps the frame in the browser, so "the picture changed"
means: the image now shown is another element with another source.
"""

from __future__ import annotations

import re

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

# The picture and the text shown now: the first image and the last <pre> of the box that are displayed.
_SHOWN = """box => {
    const shown = [...box.querySelectorAll('.widget-image, .widget-html-content pre')].filter(e => e.offsetParent !== null);
    const img = shown.find(e => e.matches('.widget-image'));
    const pre = shown.filter(e => e.matches('pre')).pop();
    return img && pre && img.complete && img.naturalWidth > 0 ? [img.src, pre.innerText] : null;
}"""


class Widget:
    """One widget on the page, found by the label of one of its controls."""

    def __init__(self, page, label):
        self.page = page
        label_loc = page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(label)}$"))
        self.box = page.locator(".widget-vbox").filter(has=label_loc).first
        self.box.scroll_into_view_if_needed()
        self.handle = self.box.element_handle()
        page.wait_for_function(_SHOWN, arg=self.handle)

    def state(self):
        """(image source, printed text) of the frame shown now."""
        return tuple(self.page.evaluate(_SHOWN, self.handle))

    def change(self, control_label, *keys, button=None):
        """Press keys on a slider (or click a toggle button), each one a change of setting; return (before, after) texts.

        Waits for another picture after every key.
        """
        text = self.state()[1]
        row = self.box.locator(".widget-inline-hbox, .widget-toggle-buttons").filter(has_text=control_label).first
        if button is not None:
            actions = [lambda: row.get_by_role("button", name=button, exact=True).click()]
        else:
            row.locator(".noUi-handle").first.focus()
            actions = [(lambda k=key: self.page.keyboard.press(k)) for key in keys]
        for act in actions:
            src = self.state()[0]
            act()
            self.page.wait_for_function(f"([box, old]) => {{ const s = ({_SHOWN})(box); return s && s[0] !== old; }}",
                                        arg=[self.handle, src])  # fmt: skip
        return text, self.state()[1]

    def move_to(self, control_label, key, shows, most=12):
        """Press ``key`` on a slider until the printed text contains ``shows``; return (before, after) texts.

        For a move of several settings: waiting for the setting itself, not for a
        count of pictures, keeps the result right when a busy page shows an
        intermediate picture twice (seen in JupyterLab with a live kernel while
        the other core was busy). The setting must still show a moment later.
        """
        before = self.state()[1]
        row = self.box.locator(".widget-inline-hbox").filter(has_text=control_label).first
        row.locator(".noUi-handle").first.focus()
        for _ in range(most):
            if shows in self.state()[1]:
                self.page.wait_for_timeout(500)
                if shows in self.state()[1]:
                    return before, self.state()[1]
                continue
            src = self.state()[0]
            self.page.keyboard.press(key)
            self.page.wait_for_function(f"([box, old]) => {{ const s = ({_SHOWN})(box); return s && s[0] !== old; }}",
                                        arg=[self.handle, src])  # fmt: skip
        raise AssertionError(f"{control_label!r} never showed {shows!r} after {most} presses of {key}: {self.state()[1]!r}")

    def shot(self, path):
        self.box.screenshot(path=str(path))


def number(text, pattern):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in {text!r}"
    return float(match.group(1))
