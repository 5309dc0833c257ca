"""One call at the top of every notebook: one BLAS thread and the course's plotting defaults."""

from __future__ import annotations

# Okabe-Ito: distinguishable with every common form of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_blas_limit = None  # kept so the limit is not undone by garbage collection


def setup_notebook():
    """Limit BLAS to one thread, set plotting defaults and rounded array printing.

    One BLAS thread: the course's matrices are small, for which one thread is
    faster on a shared 2-core machine, and results then do not depend on the
    core count. Arrays print with 4 decimals so that last-bit differences
    between CPUs do not change stored notebook outputs. In a Jupyter kernel,
    figures are shown inline even when ``MPLBACKEND`` names another backend
    (many CI configurations set ``MPLBACKEND=Agg``, with which ``plt.show()``
    would show nothing). Prints nothing.
    """
    global _blas_limit
    import matplotlib as mpl
    import numpy as np
    from cycler import cycler
    from threadpoolctl import threadpool_limits

    _blas_limit = threadpool_limits(limits=1)
    _show_figures_inline()
    np.set_printoptions(precision=4, suppress=True)
    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=PALETTE),
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def _show_figures_inline():
    """Select the inline backend when running in a Jupyter kernel; elsewhere do nothing.

    A kernel picks up ``MPLBACKEND`` from its environment; a non-interactive
    value there would make every ``plt.show()`` a silent no-op. Called before
    the rcParams are set, because activating the backend may set its own.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: matplotlib's own choice stands
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:  # no shell, or a terminal IPython
        return
    import matplotlib as mpl

    if "inline" not in mpl.get_backend():
        shell.run_line_magic("matplotlib", "inline")
