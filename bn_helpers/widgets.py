"""Interactive views for the notebooks.

Each view has three parts, so that a notebook cell is one call and the logic is
tested without a browser:

- a pure function computing what is shown (``*_view`` or ``*_stats``);
- a draw function rendering one setting with matplotlib (also used for the
  static figure a notebook stores, which a viewer without a kernel shows);
- a builder returning the ipywidgets object with its sliders.
"""

from __future__ import annotations

import numpy as np

from . import linreg
from ._validation import as_float_array, check_finite, check_scalar
from .layers import activation_forward
from .normalize import input_statistics, normalize_inputs
from .notebook import PALETTE
from .ewa import ewa_series
from .quiz import QUESTION, STATEMENTS, grade
from .synthetic import make_two_scale_regression

# --- fast redraws ----------------------------------------------------------------------


class LiveFigure:
    """A matplotlib figure redrawn by blitting: the static parts once, the changing artists per update.

    ``artists`` are the ones that change (lines, images, titles); they are
    marked animated, so the background render leaves them out. :meth:`png`
    restores the background, draws only those artists and encodes the image:
    about 5-10 ms instead of the 40-60 ms of a full figure draw.
    The axes limits must not change after construction.
    """

    def __init__(self, fig, artists):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig, self.artists = fig, list(artists)
        self.canvas = FigureCanvasAgg(fig)
        for a in self.artists:
            a.set_animated(True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def render(self, fmt="png"):
        """The current picture as PNG (sharp lines) or JPEG (faster for smooth colour images) bytes."""
        import io

        from PIL import Image

        self.canvas.restore_region(self.background)
        for a in self.artists:
            a.axes.draw_artist(a) if a.axes is not None else self.fig.draw_artist(a)
        buf = io.BytesIO()
        rgba = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba())
        if fmt == "jpeg":
            rgba.convert("RGB").save(buf, format="jpeg", quality=90)
        else:
            rgba.save(buf, format="png", compress_level=1)
        return buf.getvalue()


def _live_widget(controls, render, fmt="png"):
    """Sliders, an image and a text line, wired together.

    ``render(**values)`` updates the figure's artists and returns ``(image bytes, text)``.
    The returned VBox has ``.controls`` (name -> widget), ``.image``, ``.stats``
    and ``.update(**values)``, so the logic can be driven without a browser.
    """
    import html

    import ipywidgets as widgets

    image = widgets.Image(format=fmt)
    stats = widgets.HTML()

    def update(**values):
        picture, text = render(**values)
        # Text first: a front end applies the two changes in order, so once the
        # new image shows, the text beside it is already the new one.
        stats.value = "<pre style='margin:0'>" + html.escape(text) + "</pre>"
        image.value = picture
        return picture, text

    def on_change(_):
        update(**{name: w.value for name, w in controls.items()})

    for w in controls.values():
        w.observe(on_change, names="value")
    box = widgets.VBox([*controls.values(), image, stats])
    box.controls, box.image, box.stats, box.update = controls, image, stats, update
    on_change(None)
    return box


def _figure(width, height):
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context({"figure.dpi": 80}):
        return Figure(figsize=(width, height), layout="constrained")


# --- 01: normalizing inputs ---------------------------------------------------


def scale_ratio_view(scale_ratio, m=200, seed=0, lr_fraction=0.9, tol=1e-6, max_steps=20_000):
    """Gradient descent on raw and on normalized features of :func:`make_two_scale_regression`.

    Both runs start at ``w = 0`` with ``lr_fraction`` of their largest stable
    learning rate ``2 / lambda_max``. Returns ``{"raw": ..., "normalized": ...}``,
    each a dict with ``X``, ``y``, ``w_star``, ``kappa``, ``learning_rate``,
    ``path`` ``(k + 1, 2)`` and ``steps`` (to reach ``tol`` of the initial
    excess cost; None if not within ``max_steps``).
    """
    scale_ratio = check_scalar(scale_ratio, "scale_ratio", low=0.0, low_open=True)
    X, y = make_two_scale_regression(m, np.random.default_rng(seed), scale_ratio=scale_ratio)
    mu, var = input_statistics(X)
    out = {}
    for name, XX in {"raw": X, "normalized": normalize_inputs(X, mu, var)}.items():
        w0 = np.zeros(2)
        lr = lr_fraction * linreg.max_stable_learning_rate(XX)
        w_star = linreg.optimum(XX, y)
        path, steps = linreg.descend_until_converged(XX, y, w0, lr, tol=tol, max_steps=max_steps)
        out[name] = dict(
            X=XX, y=y, w_star=w_star, kappa=linreg.condition_number(XX),
            learning_rate=lr, path=path, steps=steps,
        )  # fmt: skip
    return out


def draw_cost_contours(ax, view, title):
    """Contours of the cost around ``w*`` (equal axis scales) with the descent path."""
    X, y, w_star, path = view["X"], view["y"], view["w_star"], view["path"]
    half = 1.2 * max(np.abs(path - w_star).max(), 1e-3)
    g = np.linspace(-half, half, 201)  # fine enough for thin ellipses
    W1, W2 = np.meshgrid(w_star[0] + g, w_star[1] + g)
    J = linreg.cost(np.vstack([W1.ravel(), W2.ravel()]), X, y).reshape(W1.shape)
    excess = J - linreg.cost(w_star, X, y)
    levels = np.geomspace(max(excess.max(), 1e-12) * 1e-4, excess.max(), 12)
    ax.contour(W1, W2, excess, levels=levels, cmap="viridis", linewidths=0.8)
    shown = path[:200]  # the first steps carry the picture; later ones crowd the centre
    ax.plot(shown[:, 0], shown[:, 1], ".-", color=PALETTE[3], lw=1, ms=3, label="gradient descent")
    ax.plot(*w_star, "*", color="k", ms=10, label="minimum $w^*$")
    ax.set_aspect("equal")
    ax.set_xlim(w_star[0] - half, w_star[0] + half)
    ax.set_ylim(w_star[1] - half, w_star[1] + half)
    ax.set_xlabel("$w_1$ (weight of feature 1)")
    ax.set_ylabel("$w_2$ (weight of feature 2)")
    steps = view["steps"]
    ax.set_title(f"{title}\n$\\kappa$ = {view['kappa']:.3g}, steps to converge: {steps if steps else '> max'}")
    ax.legend(loc="lower right", fontsize="small")


def draw_scale_ratio(scale_ratio, **kw):
    """Both panels side by side for one ``scale_ratio``; returns the figure."""
    import matplotlib.pyplot as plt

    view = scale_ratio_view(scale_ratio, **kw)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    draw_cost_contours(axes[0], view["raw"], f"raw features (feature 2 is {scale_ratio:g}x wider)")
    draw_cost_contours(axes[1], view["normalized"], "normalized features")
    fig.tight_layout()
    return fig, view


def scale_ratio_widget(scale_ratio=10.0):
    """A slider for the ratio of the two features' scales (starting at ``scale_ratio``), redrawing both cost surfaces.

    The slider view shows each bowl as an image of log10(excess cost) over a
    fixed window (the contour lines of :func:`draw_cost_contours` would cost
    too much time per update), with the first 200 descent steps.
    """
    import ipywidgets as widgets

    fig = _figure(8.4, 4.5)
    axes = fig.subplots(1, 2)
    # Fixed windows: w* stays near (2, -1/ratio) raw and near (2, -1) normalized.
    windows = {"raw": (-0.6, 4.6, -2.6, 2.6), "normalized": (-0.6, 4.6, -3.6, 1.6)}
    g = np.linspace(0, 1, 121)
    artists = {}
    for ax, (name, (x0, x1, y0, y1)) in zip(axes, windows.items()):
        img = ax.imshow(np.zeros((121, 121)), extent=(x0, x1, y0, y1), origin="lower", cmap="viridis_r",
                        vmin=-4, vmax=0, aspect="equal", interpolation="nearest")  # fmt: skip
        (path,) = ax.plot([], [], ".-", color=PALETTE[3], lw=1, ms=3, label="gradient descent")
        (star,) = ax.plot([], [], "*", color="w", ms=12, mec="k", label="minimum $w^*$")
        ax.set(xlabel="$w_1$", ylabel="$w_2$", xlim=(x0, x1), ylim=(y0, y1))
        ax.legend(loc="lower right", fontsize="small")
        W1, W2 = np.meshgrid(x0 + g * (x1 - x0), y0 + g * (y1 - y0))
        # Static titles: kappa and the step counts are printed below the picture, and
        # re-rendering changing titles would cost more than the rest of an update.
        ax.set_title("raw features (feature 2 is wider)" if name == "raw" else "normalized features")
        artists[name] = dict(img=img, path=path, star=star, grid=np.vstack([W1.ravel(), W2.ravel()]))
    fig.colorbar(artists["raw"]["img"], ax=axes, label="log10 of excess cost / its max in view", shrink=0.8)
    live = LiveFigure(fig, [a for v in artists.values() for k, a in v.items() if k != "grid"])

    def render(scale_ratio):
        view = scale_ratio_view(scale_ratio)
        for name, v in view.items():
            a = artists[name]
            D = a["grid"] - v["w_star"][:, None]  # (2, 121 * 121)
            excess = 0.5 * np.einsum("ik,ij,jk->k", D, linreg.hessian(v["X"]), D)  # exact for a quadratic
            a["img"].set_data(np.log10(np.maximum(excess, 1e-12) / excess.max()).reshape(121, 121))
            a["path"].set_data(v["path"][:200, 0], v["path"][:200, 1])
            a["star"].set_data([v["w_star"][0]], [v["w_star"][1]])
        raw, nrm = view["raw"], view["normalized"]
        text = (f"feature 2 is {scale_ratio:.3g}x wider than feature 1\n"
                f"condition number: raw {raw['kappa']:.3g}, normalized {nrm['kappa']:.3g}\n"
                f"steps to converge: raw {raw['steps']}, normalized {nrm['steps']}")  # fmt: skip
        return live.render("jpeg"), text  # JPEG: two smooth colour images encode much faster than PNG

    slider = widgets.FloatLogSlider(value=scale_ratio, base=10, min=0, max=1.5, step=0.05, description="scale ratio")
    return _live_widget({"scale_ratio": slider}, render, fmt="jpeg")


# --- 02: what gamma and beta do -------------------------------------------------

# A sigmoid output within this distance of 0 or 1 counts as saturated: there
# its slope is below 0.0475, under a fifth of its maximum 0.25.
SATURATION = 0.05


def gamma_beta_stats(z_norm, gamma, beta):
    """What one unit's batch-norm output and sigmoid activation look like for given gamma, beta.

    Parameters
    ----------
    z_norm : array ``(m,)``, normalized values of one unit (mean 0, std 1)
    gamma, beta : floats

    Returns
    -------
    dict with ``z_tilde`` and ``a`` ``(m,)``; ``z_mean``, ``z_std``, ``a_mean``,
    ``a_std``; ``saturated`` (fraction with ``a`` within ``SATURATION`` of 0 or 1).
    """
    z_norm = as_float_array(z_norm, "z_norm").ravel()
    check_finite(z_norm, "z_norm")
    gamma = check_scalar(gamma, "gamma")
    beta = check_scalar(beta, "beta")
    z_tilde = gamma * z_norm + beta
    a = activation_forward(z_tilde, "sigmoid")
    return dict(
        z_tilde=z_tilde, a=a,
        z_mean=float(z_tilde.mean()), z_std=float(z_tilde.std()),
        a_mean=float(a.mean()), a_std=float(a.std()),
        saturated=float(np.mean((a < SATURATION) | (a > 1 - SATURATION))),
    )  # fmt: skip


def format_gamma_beta_stats(stats):
    """The statistics as printed under the sliders (rounded; -0.000 shown as +0.000)."""
    z_mean = round(stats["z_mean"], 3) + 0.0  # a mean of 0 computes as +-1e-17: drop the sign
    return (
        f"z_tilde: mean {z_mean:+.3f}, std {stats['z_std']:.3f}\n"
        f"sigmoid(z_tilde): mean {stats['a_mean']:.3f}, std {stats['a_std']:.3f}\n"
        f"saturated (a < {SATURATION} or a > {1 - SATURATION}): {100 * stats['saturated']:.1f}% of examples"
    )


def draw_gamma_beta(z_norm, gamma, beta, ax=None):
    """Histogram of ``z_tilde`` over the sigmoid curve, saturated regions shaded; returns (figure, stats)."""
    import matplotlib.pyplot as plt

    stats = gamma_beta_stats(z_norm, gamma, beta)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    lim = 10.0
    z_sat = np.log((1 - SATURATION) / SATURATION)  # sigmoid(z_sat) = 1 - SATURATION
    ax.axvspan(-lim, -z_sat, color="0.9")
    ax.axvspan(z_sat, lim, color="0.9", label="saturated")
    ax.hist(np.clip(stats["z_tilde"], -lim, lim), bins=np.linspace(-lim, lim, 81), density=True,
            color=PALETTE[0], alpha=0.7, label=r"histogram of $\tilde z$")  # fmt: skip
    ax.set_xlim(-lim, lim)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(r"$\tilde z = \gamma z_{norm} + \beta$")
    ax.set_ylabel("density / activation")
    z = np.linspace(-lim, lim, 400)
    ax.plot(z, activation_forward(z, "sigmoid"), color=PALETTE[3], lw=2, label=r"sigmoid($\tilde z$)")
    ax.set_title(rf"$\gamma$ = {gamma:.2f}, $\beta$ = {beta:.2f}: {100 * stats['saturated']:.0f}% saturated")
    ax.legend(loc="upper left", fontsize="small")
    return ax.figure, stats


def gamma_beta_widget(z_norm, gamma=1.0, beta=0.0):
    """Sliders for gamma and beta (starting values given) over one unit's normalized values ``z_norm`` ``(m,)``."""
    import ipywidgets as widgets

    fig = _figure(7, 4)
    ax = fig.add_subplot()
    lim, bins = 10.0, np.linspace(-10.0, 10.0, 81)
    z_sat = np.log((1 - SATURATION) / SATURATION)
    ax.axvspan(-lim, -z_sat, color="0.9")
    ax.axvspan(z_sat, lim, color="0.9", label="saturated")
    hist = ax.stairs(np.zeros(80), bins, fill=True, color=PALETTE[0], alpha=0.7, label=r"histogram of $\tilde z$")
    z = np.linspace(-lim, lim, 400)
    ax.plot(z, activation_forward(z, "sigmoid"), color=PALETTE[3], lw=2, label=r"sigmoid($\tilde z$)")
    ax.set(xlim=(-lim, lim), ylim=(0, 1.05), xlabel=r"$\tilde z = \gamma z_{norm} + \beta$", ylabel="density / activation")
    ax.legend(loc="upper left", fontsize="small")
    title = ax.set_title("Ag")  # placeholder: the layout leaves room for the title
    live = LiveFigure(fig, [hist, title])

    def render(gamma, beta):
        stats = gamma_beta_stats(z_norm, gamma, beta)
        hist.set_data(np.histogram(np.clip(stats["z_tilde"], -lim, lim), bins=bins, density=True)[0])
        title.set_text(rf"$\gamma$ = {gamma:.2f}, $\beta$ = {beta:.2f}: {100 * stats['saturated']:.0f}% saturated")
        return live.render(), format_gamma_beta_stats(stats)

    return _live_widget(
        {
            "gamma": widgets.FloatSlider(value=gamma, min=0.1, max=5.0, step=0.1, description="gamma"),
            "beta": widgets.FloatSlider(value=beta, min=-5.0, max=5.0, step=0.1, description="beta"),
        },
        render,
    )


# --- 02: the quiz -----------------------------------------------------------------


def quiz_widget():
    """The lecture's question as checkboxes, a Check button and feedback per statement.

    Returns a VBox; its ``.checkboxes``, ``.button`` and ``.feedback`` (an HTML
    widget) are exposed so the logic can be driven without a browser.
    """
    import html

    import ipywidgets as widgets

    layout = widgets.Layout(width="95%")
    boxes = [widgets.Checkbox(value=False, description=s.text, indent=False, layout=layout) for s in STATEMENTS]
    button = widgets.Button(description="Check answers", button_style="primary")
    feedback = widgets.HTML(value="")

    def on_click(_):
        results, n_right = grade([b.value for b in boxes])
        items = "".join(
            f"<li style='color:{'#006d2c' if right else '#a50f15'}'>{html.escape(msg)}</li>" for right, msg in results
        )
        feedback.value = f"<b>{n_right} of {len(STATEMENTS)} right.</b><ol>{items}</ol>"

    button.on_click(on_click)
    box = widgets.VBox([widgets.HTML(f"<b>{html.escape(QUESTION)}</b> Tick every true statement."), *boxes,
                        button, feedback])  # fmt: skip
    box.checkboxes, box.button, box.feedback = boxes, button, feedback
    return box


# --- 04: the noise of mini-batch statistics ----------------------------------------


def batch_statistics(z, batch_size, rng, min_batches=200):
    """Mean and biased variance of each mini-batch of one unit's values, over whole epochs.

    Parameters
    ----------
    z : array ``(m,)``, one unit's values over the training set
    batch_size : int in ``[2, m]``
    rng : np.random.Generator, draws each epoch's shuffle
    min_batches : run as many epochs as it takes to collect at least this many batches

    Returns
    -------
    means, variances : arrays ``(n_batches,)``; each epoch contributes ``m // batch_size`` batches.
    """
    z = as_float_array(z, "z").ravel()
    check_finite(z, "z")
    m = z.size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 2 <= batch_size <= m:
        raise ValueError(f"batch_size must be an integer in [2, {m}]; got {batch_size!r}")
    per_epoch = m // batch_size
    epochs = -(-min_batches // per_epoch)
    batches = np.concatenate(
        [z[rng.permutation(m)[: per_epoch * batch_size]].reshape(per_epoch, batch_size) for _ in range(epochs)]
    )
    return batches.mean(axis=1), batches.var(axis=1)


def batch_statistics_summary(z, batch_size, seed=0):
    """Measured spread of the batch statistics next to what sampling theory predicts.

    Mini-batches draw ``m`` of the ``N`` training examples without replacement,
    so the batch mean's standard deviation is ``sigma / sqrt(m) * sqrt((N - m) / (N - 1))``
    (the second factor is near 1 unless ``m`` is a sizeable part of ``N``), and
    the biased batch variance averages ``(m - 1) / m * N / (N - 1) * sigma^2``.
    """
    means, variances = batch_statistics(z, batch_size, np.random.default_rng(seed))
    z = np.asarray(z, dtype=float).ravel()
    N, m = z.size, batch_size
    return dict(
        means=means, variances=variances, batch_size=m,
        mu=float(z.mean()), sigma2=float(z.var()),
        mean_std=float(means.std()),
        predicted_mean_std=float(z.std() / np.sqrt(m) * np.sqrt((N - m) / (N - 1))),
        variance_mean=float(variances.mean()),
        predicted_variance_mean=float(z.var() * (m - 1) / m * N / (N - 1)),
    )  # fmt: skip


def format_batch_statistics(s):
    return (
        f"batch size {s['batch_size']}: {len(s['means'])} batches\n"
        f"std of the batch means:  {s['mean_std']:.3f} (theory: {s['predicted_mean_std']:.3f})\n"
        f"mean of batch variances: {s['variance_mean']:.3f} (theory: {s['predicted_variance_mean']:.3f}; "
        f"sigma^2 = {s['sigma2']:.3f})"
    )


def draw_batch_statistics(z, batch_size, seed=0):
    """Histograms of one unit's batch means and batch variances; returns (figure, summary)."""
    import matplotlib.pyplot as plt

    s = batch_statistics_summary(z, batch_size, seed)
    z = np.asarray(z, dtype=float).ravel()
    fig, (ax_m, ax_v) = plt.subplots(1, 2, figsize=(10, 3.6))
    spread = 3 * z.std()
    ax_m.hist(s["means"], bins=np.linspace(s["mu"] - spread, s["mu"] + spread, 61), color=PALETTE[0], alpha=0.8)
    ax_m.axvline(s["mu"], color="k", ls="--", label=r"training-set $\mu$")
    ax_m.set(xlabel=r"mini-batch mean $\mu_{batch}$", ylabel="number of batches",
             title=f"batch means, m = {batch_size}")  # fmt: skip
    v_max = 4.0 * z.var()
    ax_v.hist(np.clip(s["variances"], 0, v_max), bins=np.linspace(0, v_max, 61), color=PALETTE[1], alpha=0.8)
    ax_v.axvline(s["sigma2"], color="k", ls="--", label=r"training-set $\sigma^2$")
    ax_v.set(xlabel=r"mini-batch variance $\sigma^2_{batch}$", ylabel="number of batches",
             title=f"batch variances, m = {batch_size}")  # fmt: skip
    for ax in (ax_m, ax_v):
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig, s


def batch_size_widget(z, batch_size=64):
    """A batch-size slider (starting at ``batch_size``) over one unit's values ``z`` ``(m,)``: how noisy are its batch statistics?

    Each histogram is scaled to its own peak, so its width, the point of the
    picture, shows at every batch size.
    """
    import ipywidgets as widgets

    z = np.asarray(z, dtype=float).ravel()
    fig = _figure(9, 3.4)
    ax_m, ax_v = fig.subplots(1, 2)
    spread, v_max = 3 * z.std(), 4.0 * z.var()
    bins_m = np.linspace(z.mean() - spread, z.mean() + spread, 61)
    bins_v = np.linspace(0, v_max, 61)
    h_m = ax_m.stairs(np.zeros(60), bins_m, fill=True, color=PALETTE[0], alpha=0.8)
    h_v = ax_v.stairs(np.zeros(60), bins_v, fill=True, color=PALETTE[1], alpha=0.8)
    ax_m.axvline(z.mean(), color="k", ls="--", label=r"training-set $\mu$")
    ax_v.axvline(z.var(), color="k", ls="--", label=r"training-set $\sigma^2$")
    ax_m.set(xlabel=r"mini-batch mean $\mu_{batch}$", ylabel="batches (scaled to peak)", ylim=(0, 1.1))
    ax_v.set(xlabel=r"mini-batch variance $\sigma^2_{batch}$", ylabel="batches (scaled to peak)", ylim=(0, 1.1))
    titles = [ax_m.set_title("Ag"), ax_v.set_title("Ag")]  # placeholders reserve room
    for ax in (ax_m, ax_v):
        ax.legend(fontsize="small")
    live = LiveFigure(fig, [h_m, h_v, *titles])

    def render(batch_size):
        s = batch_statistics_summary(z, batch_size)
        for h, values, bins in [(h_m, s["means"], bins_m), (h_v, np.clip(s["variances"], 0, v_max), bins_v)]:
            counts = np.histogram(values, bins=bins)[0].astype(float)
            h.set_data(counts / counts.max())
        titles[0].set_text(f"batch means, m = {batch_size}")
        titles[1].set_text(f"batch variances, m = {batch_size}")
        return live.render(), format_batch_statistics(s)

    options = [2, 4, 8, 16, 32, 64, 128, 256, 512]
    slider = widgets.SelectionSlider(options=options, value=batch_size, description="batch size")
    return _live_widget({"batch_size": slider}, render)
# --- 06: the running average of the batch statistics ---------------------------------


def ewa_view(values, beta, bias_correction=False, reference=None):
    """The exponentially weighted average of one unit's batch means, and how far it ends from a reference.

    Parameters
    ----------
    values : array ``(T,)``, the batch mean of one unit at each training step
    beta : float in [0, 1), the average's beta (0.9 is PyTorch's momentum 0.1)
    bias_correction : divide by ``1 - beta**t`` (the average starts from 0)
    reference : optional float, e.g. the unit's mean over the whole training set

    Returns
    -------
    dict with ``average`` ``(T,)``, ``final`` (its last value), ``window``
    (about ``1 / (1 - beta)`` steps), and ``final_error`` (``final - reference``, or None).
    """
    average = ewa_series(values, beta=beta, bias_correction=bias_correction)
    final = float(average[-1])
    return dict(
        average=average, final=final, window=1.0 / (1.0 - beta),
        final_error=None if reference is None else final - float(reference),
    )


def format_ewa(view):
    text = f"average of the last ~{view['window']:.0f} steps; final value {view['final']:.3f}"
    if view["final_error"] is not None:
        text += f", off the training-set mean by {round(view['final_error'], 3) + 0.0:+.3f}"
    return text


def draw_ewa(values, beta, bias_correction=False, reference=None):
    """The noisy batch means and their running average over training; returns (figure, view)."""
    import matplotlib.pyplot as plt

    values = np.asarray(values, dtype=float).ravel()
    view = ewa_view(values, beta, bias_correction, reference)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    steps = np.arange(1, values.size + 1)
    ax.plot(steps, values, ".", ms=3, color=PALETTE[0], alpha=0.5, label=r"batch mean $\mu^{\{t\}}$")
    label = "running average" + (" (bias-corrected)" if bias_correction else "")
    ax.plot(steps, view["average"], color=PALETTE[3], lw=2, label=f"{label}, beta = {beta:g}")
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label="mean over the whole training set")
    lo, hi = np.quantile(values, [0.01, 0.99])
    pad = 0.3 * (hi - lo)
    ax.set_ylim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)
    ax.set(xlabel="training step t", ylabel="mean of one unit's z", title="Exponentially weighted average of the batch means")
    ax.legend(fontsize="small", loc="lower right")
    return fig, view


def ewa_widget(values, reference=None, beta=0.9, bias_correction=False):
    """A slider for the average's beta and a bias-correction toggle (starting values given) over one unit's batch means."""
    import ipywidgets as widgets

    values = np.asarray(values, dtype=float).ravel()
    fig = _figure(9, 3.6)
    ax = fig.add_subplot()
    steps = np.arange(1, values.size + 1)
    ax.plot(steps, values, ".", ms=3, color=PALETTE[0], alpha=0.5, label=r"batch mean $\mu^{\{t\}}$")
    (line,) = ax.plot(steps, np.zeros_like(values), color=PALETTE[3], lw=2, label="running average")
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label="mean over the whole training set")
    lo, hi = np.quantile(values, [0.01, 0.99])
    pad = 0.3 * (hi - lo)
    ax.set(xlim=(0, values.size + 1), ylim=(min(lo, 0.0) - pad, max(hi, 0.0) + pad), xlabel="training step t",
           ylabel="mean of one unit's z")  # fmt: skip
    ax.legend(fontsize="small", loc="lower right")
    title = ax.set_title("Ag")  # placeholder: the layout leaves room for the title
    live = LiveFigure(fig, [line, title])

    def render(beta, bias_correction):
        view = ewa_view(values, beta, bias_correction, reference)
        line.set_ydata(view["average"])
        title.set_text(f"running average, beta = {beta:g}" + (", bias-corrected" if bias_correction else ""))
        return live.render(), format_ewa(view)

    return _live_widget(
        {
            "beta": widgets.SelectionSlider(options=[0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999], value=beta,
                                            description="beta"),  # fmt: skip
            "bias_correction": widgets.Checkbox(value=bias_correction, description="bias correction"),
        },
        render,
    )
