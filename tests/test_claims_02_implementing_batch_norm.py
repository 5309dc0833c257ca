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
    assert "condition number: raw" in w.stats.value and "steps to converge" in w.stats.value
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
