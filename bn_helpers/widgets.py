"""Interactive views for the notebooks.

Each view has three parts, so that a notebook cell is one call and the logic is
tested without a browser:

- a pure function computing what is shown (``*_view`` or ``*_stats``) and one
  formatting the numbers printed beside the picture (``format_*``);
- a picture class that draws the view on a matplotlib figure: it builds the
  fixed parts once, and ``show(...)`` updates the artists that change with the
  setting. The same class draws the static figure a notebook stores
  (``draw_*``, what a reader without a kernel sees) and the slider's picture
  (``*_widget``, which redraws only the changing artists);
- a builder returning the ipywidgets object with its controls.
"""

from __future__ import annotations

import functools

import numpy as np

from . import linreg
from ._validation import as_float_array, check_finite, check_scalar
from .ewa import ewa_series
from .layers import activation_forward
from .normalize import input_statistics, normalize_inputs
from .notebook import PALETTE
from .quiz import QUESTION, STATEMENTS, grade
from .synthetic import make_two_scale_regression

# --- fast redraws ----------------------------------------------------------------------


def _encode(canvas):
    """The canvas as a PNG of at most 256 colours.

    The pictures are flat colours, lines, text and smooth shading, so a
    palette loses nothing one notices and the PNG is 3-4 times smaller than a
    full-colour one (and smaller than a JPEG): every slider stores a picture
    per setting in the notebook, so their size counts.
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    rgb = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    palette = rgb.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette.save(buf, format="png", compress_level=6)
    return buf.getvalue()


class LiveFigure:
    """A matplotlib figure redrawn by blitting: the static parts once, the changing artists per frame.

    ``artists`` are the ones that change (lines, images, titles); they are
    marked animated, so the background render leaves them out. :meth:`render`
    restores the background, draws only those artists and encodes the image:
    a few milliseconds instead of the 40-60 ms of a full figure draw.
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

    def render(self):
        """The current picture as PNG bytes."""
        self.canvas.restore_region(self.background)
        for a in self.artists:
            a.axes.draw_artist(a) if a.axes is not None else self.fig.draw_artist(a)
        return _encode(self.canvas)


FRAMES_NOTE = ("The controls move over {n} settings drawn when the cell ran, in the notebook and in the web book "
               "alike, with no kernel needed. For other settings, run the notebook (<code>make lab</code>) and "
               "call the drawing function that the text above the controls names, with your values.")  # fmt: skip


def _choice(label, options, value, buttons=False):
    """A slider (or toggle buttons) over fixed settings, and those settings: ``(widget, values)``.

    ``options`` is a list of values, or a dict label -> value. ``value`` must be
    one of them: the pictures exist for these settings only.
    """
    import ipywidgets as widgets

    pairs = list(options.items()) if isinstance(options, dict) else [(str(v), v) for v in options]
    values = [v for _, v in pairs]
    if value not in values:
        raise ValueError(f"{label.replace(' ', '_')} must be one of the settings {values}; got {value!r}")
    if buttons:
        style = {"description_width": "initial", "button_width": "6em"}
        return widgets.ToggleButtons(options=pairs, value=value, description=label, style=style), values
    return widgets.SelectionSlider(options=pairs, value=value, description=label), values


def _frames_widget(controls, render):
    """Controls over a precomputed picture and text for every combination of their settings.

    ``controls`` maps a keyword of ``render`` to ``(widget, values)``: a
    selection widget (``SelectionSlider``, ``ToggleButtons``) whose options
    are ``values``. ``render(**setting)`` returns ``(image bytes, text)``.

    Every combination is drawn once, here, into nested ``Stack`` widgets (one
    level per control); each control's ``index`` is linked to its level's
    stacks with ``jslink``, so the browser switches pictures by itself. That
    works wherever the widget state is saved with the page (the web book, an
    exported HTML file), with no kernel, and in a live kernel the same way.

    The returned VBox has ``.controls`` (name -> widget), ``.image`` and
    ``.stats`` (the frame now selected) and ``.update(**setting)`` (sets the
    controls, returns the frame's ``(image bytes, text)``), so the logic can
    be driven without a browser.
    """
    import html
    import itertools

    import ipywidgets as widgets

    names = list(controls)
    grids = [list(controls[n][1]) for n in names]
    frames, texts = {}, {}
    for setting in itertools.product(*grids):
        picture, texts[setting] = render(**dict(zip(names, setting)))
        frames[setting] = (widgets.Image(value=picture, format="png"),
                           widgets.HTML("<pre style='margin:0'>" + html.escape(texts[setting]) + "</pre>"))  # fmt: skip
    stacks = [[] for _ in names]

    def nest(level, prefix):
        if level == len(names):
            return widgets.VBox(list(frames[prefix]))
        stack = widgets.Stack([nest(level + 1, (*prefix, v)) for v in grids[level]],
                              selected_index=controls[names[level]][0].index)  # fmt: skip
        stacks[level].append(stack)
        return stack

    view = nest(0, ())
    links = []
    for level, name in enumerate(names):
        control = controls[name][0]
        for stack in stacks[level]:
            links.append(widgets.jslink((control, "index"), (stack, "selected_index")))

        # the kernel's copy follows too (for code that reads .image or .stats, and in case no front end is attached)
        def follow(change, level=level):
            for stack in stacks[level]:
                stack.selected_index = change["new"]

        control.observe(follow, names="index")

    def setting():
        return tuple(controls[n][0].value for n in names)

    def update(**values):
        for name, value in values.items():
            controls[name][0].value = value
        return bytes(frames[setting()][0].value), texts[setting()]

    note = widgets.HTML(f"<small>{FRAMES_NOTE.format(n=len(frames))}</small>")
    box = _frames_box_class()([*(c for c, _ in controls.values()), view, note])
    box.controls = {n: controls[n][0] for n in names}
    box.frames, box.links, box.update = frames, links, update
    box._selected = lambda: frames[setting()]
    return box


@functools.cache
def _frames_box_class():
    import ipywidgets as widgets

    class FramesBox(widgets.VBox):
        """A VBox whose ``image`` and ``stats`` are the widgets of the frame its controls select."""

        @property
        def image(self):
            return self._selected()[0]

        @property
        def stats(self):
            return self._selected()[1]

    return FramesBox


def _static_figure(picture_cls, size, args, setting):
    """The stored figure: a pyplot figure (so ``plt.show()`` displays it), drawn at one setting.

    Returns ``(figure, data)``, where ``data`` is what ``show`` computed.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=size, layout="constrained")
    data, _ = picture_cls(fig, *args).show(**setting)
    return fig, data


def _slider_widget(picture_cls, size, args, controls):
    """The slider's view: the same picture on an off-screen figure, drawn once for every setting of the controls."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context({"figure.dpi": 80}):
        fig = Figure(figsize=size, layout="constrained")
    picture = picture_cls(fig, *args)
    live = LiveFigure(fig, picture.changing)

    def render(**values):
        _, text = picture.show(**values)
        return live.render(), text

    return _frames_widget(controls, render)


# --- 01: normalizing inputs ---------------------------------------------------


def scale_ratio_view(scale_ratio, m=200, seed=0, lr_fraction=None, tol=1e-6, max_steps=20_000):
    """Gradient descent on raw and on normalized features of :func:`make_two_scale_regression`.

    Both runs start at ``w = 0``, each with its own best fixed learning rate
    ``2 / (lambda_min + lambda_max)`` (:func:`~bn_helpers.linreg.best_learning_rate`),
    or with ``lr_fraction`` of its largest stable rate ``2 / lambda_max`` if
    that is given. Returns ``{"raw": ..., "normalized": ...}``, each a dict
    with ``X``, ``y``, ``w_star``, ``kappa``, ``learning_rate``, ``path``
    ``(k + 1, 2)`` and ``steps`` (to reach ``tol`` of the initial excess cost;
    None if not within ``max_steps``).
    """
    scale_ratio = check_scalar(scale_ratio, "scale_ratio", low=0.0, low_open=True)
    if lr_fraction is not None:
        lr_fraction = check_scalar(lr_fraction, "lr_fraction", low=0.0, low_open=True)
    X, y = make_two_scale_regression(m, np.random.default_rng(seed), scale_ratio=scale_ratio)
    mu, var = input_statistics(X)
    out = {}
    for name, XX in {"raw": X, "normalized": normalize_inputs(X, mu, var)}.items():
        w0 = np.zeros(2)
        lr = linreg.best_learning_rate(XX) if lr_fraction is None else lr_fraction * linreg.max_stable_learning_rate(XX)
        w_star = linreg.optimum(XX, y)
        path, steps = linreg.descend_until_converged(XX, y, w0, lr, tol=tol, max_steps=max_steps)
        out[name] = dict(
            X=XX, y=y, w_star=w_star, kappa=linreg.condition_number(XX),
            learning_rate=lr, path=path, steps=steps,
        )  # fmt: skip
    return out


def format_scale_ratio(scale_ratio, view):
    raw, nrm = view["raw"], view["normalized"]
    return (f"feature 2 is {scale_ratio:.3g}x wider than feature 1\n"
            f"condition number: raw {raw['kappa']:.3g}, normalized {nrm['kappa']:.3g}\n"
            f"steps at the best fixed learning rate: raw {raw['steps']}, normalized {nrm['steps']}")  # fmt: skip


class ScaleRatioPicture:
    """Both cost bowls side by side, each coloured by log10 of its excess cost, with the first 200 descent steps.

    Each bowl is drawn over a fixed window with equal scales on both axes
    (``w*`` stays near ``(2, -1/ratio)`` raw and near ``(2, -1)`` normalized),
    so moving the slider changes the bowl, never the axes. On the raw bowl the
    zigzag across the valley is narrower than a pixel at large ratios; an
    inset draws the first steps with ``w2`` stretched by the ratio (``w2*``
    then stays near -1), again on fixed axes.
    """

    WINDOWS = {"raw": (-0.6, 4.6, -2.6, 2.6), "normalized": (-0.6, 4.6, -3.6, 1.6)}
    N = 121  # pixels per side: fine enough for the thin ellipses of large ratios
    INSET_STEPS = 40

    def __init__(self, fig):
        axes = fig.subplots(1, 2)
        g = np.linspace(0, 1, self.N)
        self.artists = {}
        for ax, (name, (x0, x1, y0, y1)) in zip(axes, self.WINDOWS.items()):
            img = ax.imshow(np.zeros((self.N, self.N)), extent=(x0, x1, y0, y1), origin="lower", cmap="viridis_r",
                            vmin=-4, vmax=0, aspect="equal", interpolation="nearest")  # fmt: skip
            (path,) = ax.plot([], [], ".-", color=PALETTE[3], lw=1, ms=3, label="gradient descent")
            (star,) = ax.plot([], [], "*", color="w", ms=12, mec="k", label="minimum $w^*$")
            ax.set(xlabel="$w_1$ (weight of feature 1)", ylabel="$w_2$ (weight of feature 2)", xlim=(x0, x1),
                   ylim=(y0, y1))  # fmt: skip
            ax.legend(loc="lower right", fontsize="small")
            # Static titles: kappa and the step counts are printed beside the picture, and
            # redrawing changing titles would cost more than the rest of an update.
            ax.set_title("raw features (feature 2 is wider)" if name == "raw" else "normalized features")
            W1, W2 = np.meshgrid(x0 + g * (x1 - x0), y0 + g * (y1 - y0))
            self.artists[name] = dict(img=img, path=path, star=star, grid=np.vstack([W1.ravel(), W2.ravel()]))
        inset = axes[0].inset_axes([0.4, 0.6, 0.56, 0.34])  # above the valley, clear of the path and the labels
        (zoom,) = inset.plot([], [], ".-", color=PALETTE[3], lw=0.8, ms=2)
        (zoom_star,) = inset.plot([], [], "*", color="w", ms=8, mec="k")
        inset.set(xlim=(-0.1, 2.3), ylim=(-2.6, 0.6), facecolor="0.97")
        inset.set_title(f"zoom: first {self.INSET_STEPS} steps, $w_2$ x ratio", fontsize="x-small")
        inset.tick_params(labelsize="xx-small")
        self.artists["raw"].update(zoom=zoom, zoom_star=zoom_star)
        fig.colorbar(self.artists["raw"]["img"], ax=axes, label="log10 of excess cost / its max in view", shrink=0.8)
        # Drawn in this order over the static background: each bowl's image would cover its legend and the
        # inset, so they are redrawn after it (the inset's box, ticks and title, then its path and star).
        raw, nrm = self.artists["raw"], self.artists["normalized"]
        self.changing = [raw["img"], raw["path"], raw["star"], axes[0].get_legend(), inset, zoom, zoom_star,
                         nrm["img"], nrm["path"], nrm["star"], axes[1].get_legend()]  # fmt: skip

    def show(self, scale_ratio):
        view = scale_ratio_view(scale_ratio)
        for name, v in view.items():
            a = self.artists[name]
            D = a["grid"] - v["w_star"][:, None]  # (2, N * N)
            excess = 0.5 * np.einsum("ik,ij,jk->k", D, linreg.hessian(v["X"]), D)  # exact for a quadratic
            a["img"].set_data(np.log10(np.maximum(excess, 1e-12) / excess.max()).reshape(self.N, self.N))
            a["path"].set_data(v["path"][:200, 0], v["path"][:200, 1])
            a["star"].set_data([v["w_star"][0]], [v["w_star"][1]])
        raw, a = view["raw"], self.artists["raw"]
        a["zoom"].set_data(raw["path"][: self.INSET_STEPS + 1, 0], raw["path"][: self.INSET_STEPS + 1, 1] * scale_ratio)
        a["zoom_star"].set_data([raw["w_star"][0]], [raw["w_star"][1] * scale_ratio])
        return view, format_scale_ratio(scale_ratio, view)


def draw_scale_ratio(scale_ratio):
    """The slider's picture at one ``scale_ratio``, as a static figure; returns ``(figure, view)``."""
    return _static_figure(ScaleRatioPicture, (10, 4.6), (), dict(scale_ratio=scale_ratio))


SCALE_RATIOS = [1, 1.5, 2, 3, 5, 7, 10, 15, 20, 30]  # the slider's settings


def scale_ratio_widget(scale_ratio=10):
    """A slider for the ratio of the two features' scales (starting at ``scale_ratio``), redrawing both cost bowls."""
    import ipywidgets as widgets

    return _slider_widget(ScaleRatioPicture, (8.4, 4.5), (), {"scale_ratio": _choice("scale ratio", SCALE_RATIOS, scale_ratio)})


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


class GammaBetaPicture:
    """The histogram of ``z_tilde = gamma * z_norm + beta`` under the sigmoid curve, saturated regions shaded.

    Two y-axes: the histogram's density on the left, the sigmoid's output on
    the right. A density above the left axis's top (gamma below about 0.4) is
    cut off there.
    """

    LIM = 10.0

    def __init__(self, fig, z_norm):
        self.z_norm = z_norm
        ax = fig.add_subplot()
        act = ax.twinx()
        self.bins = np.linspace(-self.LIM, self.LIM, 81)
        z_sat = np.log((1 - SATURATION) / SATURATION)  # sigmoid(z_sat) = 1 - SATURATION
        ax.axvspan(-self.LIM, -z_sat, facecolor="0.88", edgecolor="0.6", hatch="//", lw=0)
        ax.axvspan(z_sat, self.LIM, facecolor="0.88", edgecolor="0.6", hatch="//", lw=0,
                   label=f"saturated (a < {SATURATION} or a > {1 - SATURATION})")  # fmt: skip
        self.hist = ax.stairs(np.zeros(80), self.bins, fill=True, color=PALETTE[0], alpha=0.7,
                              label=r"histogram of $\tilde z$ (left axis)")  # fmt: skip
        z = np.linspace(-self.LIM, self.LIM, 400)
        (curve,) = act.plot(z, activation_forward(z, "sigmoid"), color=PALETTE[3], lw=2,
                            label=r"$a$ = sigmoid($\tilde z$) (right axis)")  # fmt: skip
        ax.set(xlim=(-self.LIM, self.LIM), ylim=(0, 1.05), xlabel=r"$\tilde z = \gamma z_{norm} + \beta$",
               ylabel=r"density of $\tilde z$")  # fmt: skip
        act.set(ylim=(0, 1.05), ylabel=r"activation $a$")
        handles, labels = ax.get_legend_handles_labels()
        ax.legend([*handles, curve], [*labels, curve.get_label()], loc="upper left", fontsize="small")
        self.title = ax.set_title("Ag")  # placeholder: the layout leaves room for the title
        self.changing = [self.hist, self.title]

    def show(self, gamma, beta):
        stats = gamma_beta_stats(self.z_norm, gamma, beta)
        self.hist.set_data(np.histogram(np.clip(stats["z_tilde"], -self.LIM, self.LIM), bins=self.bins, density=True)[0])
        self.title.set_text(rf"$\gamma$ = {gamma:.2f}, $\beta$ = {beta:.2f}: {100 * stats['saturated']:.1f}% saturated")
        return stats, format_gamma_beta_stats(stats)


def draw_gamma_beta(z_norm, gamma, beta):
    """The sliders' picture at one setting, as a static figure; returns ``(figure, stats)``."""
    return _static_figure(GammaBetaPicture, (7, 4), (z_norm,), dict(gamma=gamma, beta=beta))


def draw_gamma_beta_grid(z_norm, settings):
    """The sliders' picture at several settings, side by side in rows of two, as one static figure.

    ``z_norm``: one unit's normalized values ``(m,)``; ``settings``: a list of
    ``(gamma, beta)`` pairs. Returns ``(figure, [stats, ...])``, one
    :func:`gamma_beta_stats` per setting, in the order given.
    """
    import matplotlib.pyplot as plt

    if not settings:
        raise ValueError("settings must list at least one (gamma, beta) pair")
    rows = -(-len(settings) // 2)
    fig = plt.figure(figsize=(13, 3.8 * rows), layout="constrained")
    panels = fig.subfigures(rows, 2, squeeze=False).ravel()
    stats = [GammaBetaPicture(panel, z_norm).show(gamma, beta)[0] for panel, (gamma, beta) in zip(panels, settings)]
    return fig, stats


GAMMAS = [0.25, 0.5, 1.0, 2.0, 3.0, 5.0]  # the sliders' settings: a picture is stored for each pair
BETAS = [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]


def gamma_beta_widget(z_norm, gamma=1.0, beta=0.0):
    """Sliders for gamma and beta (starting values given) over one unit's normalized values ``z_norm`` ``(m,)``."""
    import ipywidgets as widgets

    controls = {
        "gamma": _choice("gamma", GAMMAS, gamma),
        "beta": _choice("beta", BETAS, beta),
    }
    return _slider_widget(GammaBetaPicture, (7, 4), (z_norm,), controls)


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


class BatchStatisticsPicture:
    """Histograms of one unit's batch means and batch variances, each scaled to its own peak.

    Scaled to the peak, a histogram's width, the point of the picture, shows
    at every batch size; the dashed lines are the training set's mean and
    variance.
    """

    def __init__(self, fig, z):
        self.z = np.asarray(z, dtype=float).ravel()
        ax_m, ax_v = fig.subplots(1, 2)
        spread, self.v_max = 3 * self.z.std(), 4.0 * self.z.var()
        self.bins_m = np.linspace(self.z.mean() - spread, self.z.mean() + spread, 61)
        self.bins_v = np.linspace(0, self.v_max, 61)
        self.h_m = ax_m.stairs(np.zeros(60), self.bins_m, fill=True, color=PALETTE[0], alpha=0.8)
        self.h_v = ax_v.stairs(np.zeros(60), self.bins_v, fill=True, color=PALETTE[1], alpha=0.8)
        ax_m.axvline(self.z.mean(), color="k", ls="--", label=r"training-set $\mu$")
        ax_v.axvline(self.z.var(), color="k", ls="--", label=r"training-set $\sigma^2$")
        ax_m.set(xlabel=r"mini-batch mean $\mu_{batch}$", ylabel="batches (scaled to peak)", ylim=(0, 1.1))
        ax_v.set(xlabel=r"mini-batch variance $\sigma^2_{batch}$ (clipped at 4 $\sigma^2$)",
                 ylabel="batches (scaled to peak)", ylim=(0, 1.1))  # fmt: skip
        self.titles = [ax_m.set_title("Ag"), ax_v.set_title("Ag")]  # placeholders reserve room
        for ax in (ax_m, ax_v):
            ax.legend(fontsize="small")
        self.changing = [self.h_m, self.h_v, *self.titles]

    def show(self, batch_size, seed=0):
        s = batch_statistics_summary(self.z, batch_size, seed)
        for h, values, bins in [(self.h_m, s["means"], self.bins_m),
                                (self.h_v, np.clip(s["variances"], 0, self.v_max), self.bins_v)]:  # fmt: skip
            counts = np.histogram(values, bins=bins)[0].astype(float)
            h.set_data(counts / counts.max())
        self.titles[0].set_text(f"batch means, m = {batch_size}")
        self.titles[1].set_text(f"batch variances, m = {batch_size}")
        return s, format_batch_statistics(s)


def draw_batch_statistics(z, batch_size, seed=0):
    """The slider's picture at one batch size, as a static figure; returns ``(figure, summary)``."""
    return _static_figure(BatchStatisticsPicture, (10, 3.6), (z,), dict(batch_size=batch_size, seed=seed))


def batch_size_widget(z, batch_size=64):
    """A batch-size slider (starting at ``batch_size``) over one unit's values ``z`` ``(m,)``: how noisy are its batch statistics?"""
    import ipywidgets as widgets

    options = [2, 4, 8, 16, 32, 64, 128, 256, 512]
    return _slider_widget(BatchStatisticsPicture, (9, 3.4), (z,), {"batch_size": _choice("batch size", options, batch_size)})


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


class EwaPicture:
    """A unit's batch statistic at every training step (dots) and its running average (line)."""

    def __init__(self, fig, values, reference=None):
        self.values = np.asarray(values, dtype=float).ravel()
        self.reference = reference
        ax = fig.add_subplot()
        steps = np.arange(1, self.values.size + 1)
        ax.plot(steps, self.values, ".", ms=3, color=PALETTE[0], alpha=0.5, label=r"batch mean $\mu^{\{t\}}$ (training mode)")
        (self.line,) = ax.plot(steps, np.zeros_like(self.values), color=PALETTE[3], lw=2, label="running average")
        if reference is not None:
            ax.axhline(reference, color="k", ls="--", lw=1, label="mean over the whole training set, final weights")
        lo, hi = np.quantile(self.values, [0.01, 0.99])
        pad = 0.3 * (hi - lo)
        ax.set(xlim=(0, self.values.size + 1), ylim=(min(lo, 0.0) - pad, max(hi, 0.0) + pad), xlabel="training step t",
               ylabel="mean of one unit's z")  # fmt: skip
        ax.legend(fontsize="small", loc="upper right")
        self.title = ax.set_title("Ag")  # placeholder: the layout leaves room for the title
        self.changing = [self.line, self.title]

    def show(self, beta, bias_correction=False):
        view = ewa_view(self.values, beta, bias_correction, self.reference)
        self.line.set_ydata(view["average"])
        self.title.set_text(f"Exponentially weighted average, beta = {beta:g}" + (", bias-corrected" if bias_correction else ""))
        return view, format_ewa(view)


def draw_ewa(values, beta, bias_correction=False, reference=None):
    """The slider's picture at one setting, as a static figure; returns ``(figure, view)``."""
    return _static_figure(EwaPicture, (9, 3.8), (values, reference), dict(beta=beta, bias_correction=bias_correction))


def ewa_widget(values, reference=None, beta=0.9, bias_correction=False):
    """A slider for the average's beta and a bias-correction toggle (starting values given) over one unit's batch means."""
    import ipywidgets as widgets

    betas = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]
    controls = {
        "beta": _choice("beta", betas, beta),
        "bias_correction": _choice("bias correction", {"off": False, "on": True}, bias_correction, buttons=True),
    }
    return _slider_widget(EwaPicture, (9, 3.6), (values, reference), controls)


# --- 07: which entries share one mean and variance ------------------------------------

FAMILY_SHAPE = (4, 3, 3, 6)  # the batch drawn: m = 4 examples of 3 x 3 positions and 6 channels


def family_view(method, groups=2, shape=FAMILY_SHAPE):
    """Which entries of a batch ``(m, n_H, n_W, n_C)`` share statistics under ``method`` (and ``groups``).

    Returns a dict: ``sets`` (the labels of
    :func:`~bn_helpers.normalization.statistics_sets`), ``n_sets``, ``set_size``
    (entries per set) and ``method``, ``groups``.
    """
    from .normalization import statistics_sets

    sets = statistics_sets(method, shape, groups)
    n_sets = int(np.unique(sets).size)
    return dict(method=method, groups=groups if method == "group" else None, sets=sets, n_sets=n_sets,
                set_size=int(sets.size // n_sets))  # fmt: skip


def format_family(view):
    m, n_H, n_W, n_C = view["sets"].shape
    over = {"batch": "one per channel, over the examples and all positions",
            "layer": "one per example, over all positions and channels",
            "instance": "one per example and channel, over the positions",
            "group": f"one per example and group of {n_C // (view['groups'] or 1)} consecutive channels, "
                     f"over the positions and those channels"}[view["method"]]  # fmt: skip
    return f"{view['n_sets']} means and variances, each over {view['set_size']} entries: {over}"


class FamilyPicture:
    """A batch laid out flat: one row per channel, one block of columns per example, one column per position.

    Entries drawn in the same colour, inside one outline, share one mean and variance.
    (Colours repeat when there are more sets than colours; outlines tell those apart.)
    """

    def __init__(self, fig, shape=FAMILY_SHAPE):
        from matplotlib.colors import to_rgb

        self.shape = shape
        m, n_H, n_W, n_C = shape
        self.colours = np.array([to_rgb(c) for c in PALETTE])
        self.ax = ax = fig.add_subplot()
        positions = n_H * n_W
        self.image = ax.imshow(np.ones((n_C, m * positions, 3)), aspect="equal", interpolation="nearest")
        # thin lines between entries, thick white gaps between examples; drawn after the image
        # (they are in `changing`, in this order), so that the live view's redraw keeps them on top
        width = m * positions
        cells = [ax.vlines(np.arange(0.5, width - 1), -0.5, n_C - 0.5, color="white", lw=0.6),
                 ax.hlines(np.arange(0.5, n_C - 1), -0.5, width - 0.5, color="white", lw=0.6),
                 ax.vlines([k * positions - 0.5 for k in range(1, m)], -0.5, n_C - 0.5, color="white", lw=5)]  # fmt: skip
        ax.set_xticks([k * positions + (positions - 1) / 2 for k in range(m)], [f"example {k + 1}" for k in range(m)])
        ax.set_yticks(range(n_C), [f"channel {c + 1}" for c in range(n_C)])
        ax.set_xlabel(f"each example's {n_H} x {n_W} = {positions} positions, left to right")
        self.title = ax.set_title("Ag")  # placeholder: the layout leaves room for the title
        self.changing = [self.image, *cells, self.title]

    def show(self, method, groups=2):
        view = family_view(method, groups, self.shape)
        m, n_H, n_W, n_C = self.shape
        # (m, n_H, n_W, n_C) -> (n_C, m * n_H * n_W): channels down, examples and positions across
        flat = view["sets"].reshape(m, n_H * n_W, n_C).transpose(2, 0, 1).reshape(n_C, -1)
        self.image.set_data(self.colours[flat % len(self.colours)])
        name = {"batch": "batch norm", "layer": "layer norm", "instance": "instance norm",
                "group": f"group norm, {groups} groups"}[method]  # fmt: skip
        self.title.set_text(f"{name}: one colour = one mean and variance")
        return view, format_family(view)


def draw_family(method, groups=2):
    """The widget's picture at one setting, as a static figure; returns ``(figure, view)``."""
    return _static_figure(FamilyPicture, (10, 3.4), (), dict(method=method, groups=groups))


def family_widget(method="group", groups=2):
    """Pick a method and a group count (starting values given): which entries share statistics?"""
    import ipywidgets as widgets

    methods, group_counts = ["batch", "layer", "instance", "group"], [1, 2, 3, 6]
    controls = {
        "method": _choice("method", methods, method, buttons=True),
        "groups": _choice("groups", group_counts, groups),
    }
    return _slider_widget(FamilyPicture, (9, 3.2), (), controls)
