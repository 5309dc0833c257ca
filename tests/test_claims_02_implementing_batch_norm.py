"""The claims notebook 02 makes, and its widgets' logic driven without a browser."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bn_helpers import batchnorm_forward
from bn_helpers.quiz import STATEMENTS, grade
from bn_helpers.widgets import (
    draw_gamma_beta,
    format_gamma_beta_stats,
    gamma_beta_stats,
    gamma_beta_widget,
    quiz_widget,
    scale_ratio_widget,
)


@pytest.fixture(scope="module")
def z_norm():
    rng = np.random.default_rng(0)
    rng.normal(size=(3, 8))  # the notebook draws section 1's Z first
    z_raw = rng.normal(3.0, 2.0, size=(1, 2000))
    return batchnorm_forward(z_raw, np.ones(1), np.zeros(1))[0].ravel()


def test_lecture_steps_reproduce_mu_and_sigma2_bitwise(rng):
    Z = rng.normal(loc=[[2.0], [-1.0], [10.0]], scale=[[1.0], [0.5], [4.0]], size=(3, 8))
    mu = Z.mean(axis=1, keepdims=True)
    sigma2 = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
    _, cache = batchnorm_forward(Z, np.ones(3), np.zeros(3))
    assert np.array_equal(mu, cache.mu) and np.array_equal(sigma2, cache.var)
    Z_norm = (Z - mu) / np.sqrt(sigma2 + 1e-5)
    assert np.abs(Z_norm - cache.Z_norm).max() < 1e-12


def test_unit_variance_sigmoid_is_nearly_linear_and_gamma_bends_it(z_norm):
    r2 = {}
    sat = {}
    for g in (0.5, 1.0, 3.0):
        s = gamma_beta_stats(z_norm, g, 0.0)
        r2[g] = np.corrcoef(s["z_tilde"], s["a"])[0, 1] ** 2
        sat[g] = s["saturated"]
    assert r2[0.5] > r2[1.0] > 0.97 > 0.9 > r2[3.0]
    assert sat[0.5] == 0.0 and sat[1.0] < 0.01 and sat[3.0] > 0.25


@pytest.mark.parametrize("gamma, beta", [(1.0, 0.0), (2.0, 0.0), (1.0, 3.0), (3.0, -2.0)])
def test_slider_statistics(z_norm, gamma, beta):
    """The printed mean of z_tilde is beta, its std is gamma: gamma 1 -> 2 doubles the std."""
    s = gamma_beta_stats(z_norm, gamma, beta)
    assert s["z_mean"] == pytest.approx(beta, abs=1e-9)
    assert s["z_std"] == pytest.approx(gamma, rel=1e-4)
    a = 1 / (1 + np.exp(-(gamma * z_norm + beta)))
    assert s["a_mean"] == pytest.approx(a.mean()) and s["a_std"] == pytest.approx(a.std())
    assert s["saturated"] == pytest.approx(np.mean((a < 0.05) | (a > 0.95)))


def test_shifting_beta_saturates_more(z_norm):
    sats = [gamma_beta_stats(z_norm, 1.0, b)["saturated"] for b in (0.0, 1.0, 2.0, 3.0, 4.0)]
    assert sats == sorted(sats) and sats[-1] > 0.75


def test_printed_statistics_never_show_negative_zero(z_norm):
    text = format_gamma_beta_stats(gamma_beta_stats(z_norm, 1.0, 0.0))
    assert "mean +0.000, std 1.000" in text and "-0.000" not in text


def test_gamma_beta_widget_update_and_drawing(z_norm):
    w = gamma_beta_widget(z_norm)
    assert [c.description for c in w.controls.values()] == ["gamma", "beta"]
    first = w.image.value
    assert bytes(first[:4]) == b"\x89PNG" and "std 1.000" in w.stats.value  # drawn at the default setting
    w.controls["gamma"].value = 2.0  # what moving the slider does
    assert "std 2.000" in w.stats.value and w.image.value != first
    png, text = w.update(gamma=2.0, beta=1.0)
    assert "mean +1.000, std 2.000" in text and png == bytes(w.image.value)
    fig, stats = draw_gamma_beta(z_norm, 2.0, 1.0)
    assert "saturated" in fig.axes[0].get_title()
    plt.close("all")


def test_scale_ratio_widget_update():
    w = scale_ratio_widget()
    first = w.image.value
    w.controls["scale_ratio"].value = 20.0
    assert "condition number: raw" in w.stats.value and "steps at the best fixed learning rate" in w.stats.value
    assert w.image.value != first


def test_quiz_answers_follow_the_lecture():
    assert [s.true for s in STATEMENTS] == [True, False, False, True, False]
    feedback, n_right = grade([s.true for s in STATEMENTS])
    assert n_right == 5 and all(right for right, _ in feedback)
    feedback, n_right = grade([True] * 5)
    assert n_right == 2 and [r for r, _ in feedback] == [True, False, False, True, False]
    assert feedback[4][1].startswith("Not quite: this statement is false.")
    with pytest.raises(ValueError, match="5 booleans"):
        grade([True, False])


def test_quiz_widget_gives_feedback_on_click():
    q = quiz_widget()
    assert q.feedback.value == ""
    for box, st in zip(q.checkboxes, STATEMENTS):
        box.value = st.true
    q.button.click()
    assert "5 of 5 right" in q.feedback.value
    q.checkboxes[1].value = True  # wrongly call "hyperparameters" true
    q.button.click()
    assert "4 of 5 right" in q.feedback.value and "Not quite" in q.feedback.value


@pytest.mark.parametrize("gamma, beta", [(1.0, 0.0), (3.0, -2.0)])
def test_the_figure_title_states_the_printed_saturation(z_norm, gamma, beta):
    fig, stats = draw_gamma_beta(z_norm, gamma, beta)
    printed = format_gamma_beta_stats(stats).splitlines()[-1].split(": ")[1].split("%")[0]
    assert f"{printed}% saturated" in fig.axes[0].get_title()  # e.g. 0.4%, never a rounded-away 0%
    assert fig.axes[0].get_ylabel() != fig.axes[1].get_ylabel()  # density and activation on their own axes
    plt.close(fig)


def test_the_quiz_answers_come_after_the_summary():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parent.parent / "notebooks" / "02_implementing_batch_norm.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]]
    summary = next(i for i, s in enumerate(sources) if s.startswith("## Beyond the lecture") or "## Summary" in s)
    quiz = next(i for i, s in enumerate(sources) if "quiz_widget()" in s)
    answers = [i for i, s in enumerate(sources) if "grade([True] * len(STATEMENTS))" in s]
    assert answers and quiz < summary < answers[0]


# --- the learner's versions, as the notebook's solution cells write them ---------------------------------


def _solutions():
    """The notebook's solution functions (forward, staged backward, closed-form backward), executed from its cells."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parent.parent / "notebooks" / "02_implementing_batch_norm.ipynb").read_text())
    namespace = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution") and "def " in "".join(cell["source"]):
            exec("".join(cell["source"]), namespace)
    return namespace["batchnorm_forward"], namespace["batchnorm_backward_staged"], namespace["batchnorm_backward"]


def test_two_examples_give_minus_one_and_plus_one_unless_they_are_close():
    """The prediction at m = 2: -1 and +1 to 3 decimals for the notebook's pairs; not for pairs closer than 0.2."""
    forward = _solutions()[0]
    out = forward(np.array([[3.0, 7.0], [-100.0, 250.0], [0.5, 1.5]]), np.ones((3, 1)), np.zeros((3, 1)))[0]
    assert np.array_equal(out.round(3), [[-1, 1]] * 3)
    close = forward(np.array([[0.0, 0.19], [0.0, 0.21]]), np.ones((2, 1)), np.zeros((2, 1)))[0]
    assert close[0, 1].round(3) < 1 and close[1, 1].round(3) == 1  # the explanation's "closer than about 0.2"


@pytest.mark.parametrize("seed", range(5))
def test_rows_of_dZ_sum_to_zero_and_are_orthogonal_to_z_norm_in_proportion_to_eps(seed):
    forward, staged, closed = _solutions()
    rng = np.random.default_rng(seed)
    Z = rng.normal(loc=[[2.0], [-1.0], [10.0]], scale=[[1.0], [0.5], [4.0]], size=(3, 8))
    gamma, beta, d = np.array([[1.5], [0.5], [2.0]]), np.array([[0.0], [1.0], [-2.0]]), rng.standard_normal((3, 8))
    overlaps = {}
    for eps in (1e-5, 1e-9):
        cache = forward(Z, gamma, beta, eps)[1]
        dZ = staged(d, cache)[0]
        assert np.abs(dZ.sum(axis=1)).max() < 1e-13 * np.abs(dZ).max()  # "below 1e-13 of the largest |dZ|"
        prod = cache[0] * dZ
        overlaps[eps] = np.abs(prod.sum(axis=1)) / np.abs(prod).sum(axis=1)
        for a, b in zip(closed(d, cache), staged(d, cache)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert np.all(overlaps[1e-5] < 1e-3)
    np.testing.assert_allclose(overlaps[1e-9] * 1e4, overlaps[1e-5], rtol=1e-3)  # in proportion to eps


def test_the_closed_form_makes_fewer_arrays_than_the_staged_version():
    """Why the closed form is faster: the memory the staged version allocates, measured, not timed."""
    import tracemalloc

    forward, staged, closed = _solutions()
    rng = np.random.default_rng(0)
    Z, d = rng.standard_normal((256, 1024)), rng.standard_normal((256, 1024))
    cache = forward(Z, np.ones((256, 1)), np.zeros((256, 1)))[1]
    allocated = {}
    for name, backward in (("staged", staged), ("closed", closed)):
        backward(d, cache)  # warm up
        tracemalloc.start()
        backward(d, cache)
        allocated[name] = tracemalloc.get_traced_memory()[1]  # the peak: temporaries alive at once
        tracemalloc.stop()
    array = Z.nbytes
    assert allocated["staged"] > allocated["closed"]
    assert allocated["closed"] <= 4 * array


def test_one_pass_variance_loses_half_the_digits_at_1e4_and_all_near_1e8():
    rng = np.random.default_rng(0)
    z = rng.standard_normal(1000)
    for offset, lost in ((1e4, (1e-10, 1e-6)), (1e8, (0.1, np.inf))):
        x = z + offset
        one_pass = (x**2).mean() - x.mean() ** 2
        err = abs(one_pass - x.var()) / x.var()
        assert lost[0] < err < lost[1], (offset, err)


def test_the_grid_shows_the_printed_settings(z_norm):
    from bn_helpers.widgets import draw_gamma_beta_grid

    settings = [(1.0, 0.0), (2.0, 0.0), (1.0, 3.0), (3.0, -2.0)]
    fig, stats = draw_gamma_beta_grid(z_norm, settings)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 4
    for title, s, (g, b) in zip(titles, stats, settings):
        assert f"{g:.2f}" in title and f"{b:.2f}" in title and f"{100 * s['saturated']:.1f}% saturated" in title
    sats = [round(100 * s["saturated"], 1) for s in stats]
    assert sats == [0.4, 13.5, 51.9, 43.0]  # the numbers the discussion of the figure quotes
    assert round(stats[3]["a_mean"], 3) == 0.284
    plt.close(fig)
    with pytest.raises(ValueError, match="settings"):
        draw_gamma_beta_grid(z_norm, [])


def test_the_graphs_local_derivatives_are_right():
    """Each edge's label in the figure, as a number, equals a finite difference of the forward step it labels."""
    from bn_helpers.diagrams import EDGES

    m, eps, h, gamma, beta = 5, 1e-5, 1e-6, 1.7, -0.3
    z = np.random.default_rng(1).normal(1.0, 2.0, m)
    mu = z.mean()
    zc = z - mu
    var = (zc**2).mean()
    std = np.sqrt(var + eps)
    inv = 1 / std
    z_norm = zc * inv
    first = lambda v, t: np.r_[t, v[1:]]  # noqa: E731 -- move example 0 only
    # edge: (its label in the figure, the label's value, the forward step as a function of the tail, tail's value)
    edges = {
        ("z", "mu"): (r"$\frac{1}{m}$", 1 / m, lambda t: first(z, t).mean(), z[0]),
        ("z", "zc"): (r"$1$", 1.0, lambda t: t - mu, z[0]),
        ("mu", "zc"): (r"$-1$", -1.0, lambda t: z[0] - t, mu),
        ("zc", "var"): (r"$\frac{2 z_c}{m}$", 2 * zc[0] / m, lambda t: (first(zc, t) ** 2).mean(), zc[0]),
        ("var", "std"): (r"$\frac{1}{2\,\mathrm{std}}$", 1 / (2 * std), lambda t: np.sqrt(t + eps), var),
        ("std", "inv"): (r"$-\frac{1}{\mathrm{std}^2}$", -1 / std**2, lambda t: 1 / t, std),
        ("zc", "z_norm"): ("inv", inv, lambda t: t * inv, zc[0]),
        ("inv", "z_norm"): (r"$z_c$", zc[0], lambda t: zc[0] * t, inv),
        ("z_norm", "z_tilde"): (r"$\gamma$", gamma, lambda t: gamma * t + beta, z_norm[0]),
        ("gamma", "z_tilde"): (r"$z_{norm}$", z_norm[0], lambda t: t * z_norm[0] + beta, gamma),
        ("beta", "z_tilde"): (r"$1$", 1.0, lambda t: gamma * z_norm[0] + t, beta),
    }
    assert {(a, b): label for a, b, _, label in EDGES} == {edge: label for edge, (label, *_) in edges.items()}
    for edge, (_, value, step, t0) in edges.items():
        assert (step(t0 + h) - step(t0 - h)) / (2 * h) == pytest.approx(value, rel=1e-6), edge


def test_error_line_reads_the_same_on_every_machine_and_says_when_a_bound_is_missed():
    from bn_helpers import error_line

    a = np.array([1.0, 2.0, 3.0])
    assert error_line("x", a, a * (1 + 1e-15), bound=1e-10, below=1e-13) == \
        "x: relative error below 1e-13 (the bound is 1e-10)"  # fmt: skip
    assert error_line("x", a, a * (1 + 1e-12), bound=1e-10, below=1e-13) == "x: relative error 5.0e-13 (the bound is 1e-10)"
    assert error_line("x", a, a * 1.001, bound=1e-10, below=1e-13).endswith("(the bound is 1e-10): too large")
    with pytest.raises(ValueError, match="same shape"):
        error_line("x", a, a[:2], bound=1e-10, below=1e-13)
