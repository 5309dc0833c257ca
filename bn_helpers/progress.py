"""A progress bar for long training runs that leaves no trace in saved notebooks.

In a Jupyter kernel the bar is an ipywidgets ``IntProgress`` displayed with
only the widget mimetype (no text fallback), and it is blanked through its
display handle when the run ends. So a live notebook shows the bar while it
runs, and a notebook executed by nbconvert stores an empty output that strict
nbval has nothing to compare in (it skips the widget mimetype). Outside a
kernel (scripts, pytest) there is no bar.
"""

from __future__ import annotations

import time

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ProgressBar:
    """``with ProgressBar(total) as bar: ... bar.update(n, "loss 0.31")``.

    Updates are sent at most every ``min_interval`` seconds, so a fast loop
    does not flood the front end with widget messages.
    """

    def __init__(self, total, description="training", enabled=True, min_interval=0.2):
        self.total, self.min_interval = int(total), float(min_interval)
        self._last = 0.0
        self._box = self._handle = None
        if not (enabled and _in_kernel()):
            return
        import ipywidgets as widgets
        from IPython.display import display

        self._bar = widgets.IntProgress(value=0, min=0, max=max(self.total, 1), description=description)
        self._label = widgets.Label(value=f"0/{self.total}")
        self._box = widgets.HBox([self._bar, self._label])
        view = {"version_major": 2, "version_minor": 0, "model_id": self._box.model_id}
        self._handle = display({WIDGET_MIME: view}, raw=True, display_id=True)

    def update(self, n, text=""):
        """Show ``n`` of ``total`` done, with an optional short status ``text``."""
        if self._box is None:
            return
        now = time.monotonic()
        if now - self._last < self.min_interval and n < self.total:
            return
        self._last = now
        self._bar.value = n
        self._label.value = f"{n}/{self.total} {text}".rstrip()

    def close(self):
        """Remove the bar from the page and from the saved output."""
        if self._box is None:
            return
        self._handle.update({}, raw=True)
        # Close every model the bar made (box, bar, label and their layouts and
        # styles): a closed model is dropped from the widget state a saved
        # notebook keeps, so finished bars do not pile up in the file.
        for w in (self._box, self._bar, self._label):
            for model in (w, getattr(w, "layout", None), getattr(w, "style", None)):
                if model is not None:
                    model.close()
        self._box = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
