"""Batch norm's forward pass as a computation graph, drawn with the local derivative on each edge.

The graph of one unit, with the lecture's names (``zc`` is ``z - mu``)::

    z --> mu --> zc --> var --> std --> inv --> z_norm --> z_tilde
     \\__________^  \\________________________^    gamma, beta --^

Nodes with one value per example have shape ``(n_l, m)``; ``mu``, ``var``,
``std`` and ``inv`` have one value per unit, ``(n_l, 1)``, and each of them
reaches all m examples.
"""

from __future__ import annotations

from .notebook import PALETTE

# node: (x, y, label, one value per unit?)
NODES = {
    "z": (0.0, 0.0, r"$z$", False),
    "mu": (1.7, 1.6, r"$\mu$", True),
    "zc": (3.4, 0.0, r"$z_c$", False),
    "var": (5.1, 1.6, r"$\sigma^2$", True),
    "std": (6.8, 1.6, r"std", True),
    "inv": (8.5, 1.6, r"inv", True),
    "z_norm": (10.2, 0.0, r"$z_{norm}$", False),
    "gamma": (11.9, 1.6, r"$\gamma$", True),
    "beta": (11.9, -1.6, r"$\beta$", True),
    "z_tilde": (13.6, 0.0, r"$\tilde z$", False),
}

# (from, to, the forward step, the local derivative d(to)/d(from)), in the order of the forward pass
EDGES = [
    ("z", "mu", r"$\mu = \frac{1}{m}\sum_i z_i$", r"$\frac{1}{m}$"),
    ("z", "zc", r"$z_c = z - \mu$", r"$1$"),
    ("mu", "zc", "", r"$-1$"),
    ("zc", "var", r"$\sigma^2 = \frac{1}{m}\sum_i z_{c,i}^2$", r"$\frac{2 z_c}{m}$"),
    ("var", "std", r"std $= \sqrt{\sigma^2 + \varepsilon}$", r"$\frac{1}{2\,\mathrm{std}}$"),
    ("std", "inv", r"inv $= 1/$std", r"$-\frac{1}{\mathrm{std}^2}$"),
    ("zc", "z_norm", r"$z_{norm} = z_c \cdot$ inv", r"inv"),
    ("inv", "z_norm", "", r"$z_c$"),
    ("z_norm", "z_tilde", r"$\tilde z = \gamma z_{norm} + \beta$", r"$\gamma$"),
    ("gamma", "z_tilde", "", r"$z_{norm}$"),
    ("beta", "z_tilde", "", r"$1$"),
]


def draw_batchnorm_graph():
    """Batch norm's computation graph for one unit, with each edge's local derivative; returns the figure.

    Round boxes hold one value per example ``(n_l, m)``; square boxes one
    value per unit ``(n_l, 1)``. The forward steps are listed under the graph.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(13, 4.6), layout="constrained")
    ax.set(xlim=(-0.8, 14.4), ylim=(-3.9, 2.5), title="Batch norm for one unit: the forward pass as a graph, "
           "with the local derivative on each edge")  # fmt: skip
    ax.axis("off")
    for a, b, _, local in EDGES:
        (x0, y0, *_), (x1, y1, *_) = NODES[a], NODES[b]
        ax.annotate("", (x1, y1), (x0, y0), arrowprops=dict(arrowstyle="-|>", color="0.35", lw=1.3,
                                                                shrinkA=19, shrinkB=19))  # fmt: skip
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.05, local, ha="center", va="center", fontsize=15,
                color=PALETTE[3], bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))  # fmt: skip
    for x, y, label, per_unit in NODES.values():
        ax.text(x, y, label, ha="center", va="center", fontsize=14, bbox=dict(
            boxstyle="square,pad=0.45" if per_unit else "round,pad=0.45",
            fc=PALETTE[1] if per_unit else PALETTE[0], alpha=0.35 if per_unit else 0.3, ec="0.3"))  # fmt: skip
    steps = [forward for _, _, forward, _ in EDGES if forward]
    ax.text(-0.6, -2.6, "forward:   " + "     ".join(steps), fontsize=11, va="center")
    ax.text(-0.6, -3.4, "round boxes: one value per example, shape $(n_l, m)$;   square boxes: one value per unit, "
            "$(n_l, 1)$, shared by all $m$ examples;   in colour: the local derivative on each edge", fontsize=10, va="center",
            color="0.3")  # fmt: skip
    return fig
