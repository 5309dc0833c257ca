"""The sliders' precomputed frames: one picture and text per setting, linked in the browser, the same every run."""

from __future__ import annotations

import numpy as np
import pytest


from bn_helpers.widgets import (BETAS, GAMMAS, SCALE_RATIOS, batch_size_widget, ewa_widget, family_widget,
                                format_gamma_beta_stats, gamma_beta_stats, gamma_beta_widget, scale_ratio_widget)  # fmt: skip


@pytest.fixture(scope="module")
def z_norm():
    z = np.random.default_rng(0).normal(3.0, 2.0, 2000)
    return (z - z.mean()) / z.std()


def test_one_frame_per_combination_of_settings_each_with_its_own_numbers(z_norm):
    box = gamma_beta_widget(z_norm)
    assert len(box.frames) == len(GAMMAS) * len(BETAS)
    for (gamma, beta), (image, stats) in box.frames.items():
        assert bytes(image.value[:4]) == b"\x89PNG"
        assert format_gamma_beta_stats(gamma_beta_stats(z_norm, gamma, beta)).split("\n")[0] in stats.value
    assert len({bytes(image.value) for image, _ in box.frames.values()}) == len(box.frames)  # every picture differs


def test_every_control_is_linked_in_the_browser_to_every_stack_of_its_level(z_norm):
    import ipywidgets as widgets

    box = gamma_beta_widget(z_norm)
    gamma, beta = box.controls["gamma"], box.controls["beta"]
    links = [(link.source, link.target) for link in box.links]
    assert all(isinstance(t[0], widgets.Stack) and t[1] == "selected_index" for _, t in links)
    assert sum(s == (gamma, "index") for s, _ in links) == 1  # the outer stack: one child per gamma
    assert sum(s == (beta, "index") for s, _ in links) == len(GAMMAS)  # an inner stack per gamma, one child per beta
    # the stacks start at the controls' setting, and the kernel's copy follows a move too
    _, outer = links[0]
    assert outer[0].selected_index == gamma.index
    beta.value = 2.0
    assert all(t[0].selected_index == BETAS.index(2.0) for s, t in links if s[0] is beta)


def test_the_frames_are_the_same_every_time(z_norm):
    # re-executing a notebook must not change its stored pictures
    first = [bytes(i.value) for i, _ in scale_ratio_widget().frames.values()]
    assert first == [bytes(i.value) for i, _ in scale_ratio_widget().frames.values()]
    assert len(first) == len(SCALE_RATIOS)


def test_the_note_says_what_the_slider_is(z_norm):
    note = batch_size_widget(z_norm, 4).children[-1].value
    assert "9 settings drawn when the cell ran" in note and "no kernel needed" in note and "make lab" in note


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda z: gamma_beta_widget(z, gamma=1.2), r"gamma must be one of the settings \[0.25, 0.5, 1.0"),
        (lambda z: batch_size_widget(z, batch_size=5), r"batch_size must be one of the settings \[2, 4, 8"),
        (lambda z: ewa_widget(z, beta=0.7), r"beta must be one of the settings"),
        (lambda z: family_widget(groups=4), r"groups must be one of the settings \[1, 2, 3, 6\]; got 4"),
        (lambda z: scale_ratio_widget(scale_ratio=12), r"scale_ratio must be one of the settings"),
    ],
)
def test_a_setting_without_a_picture_is_refused_by_name(z_norm, build, message):
    with pytest.raises(ValueError, match=message):
        build(z_norm)


def test_the_course_s_frames_stay_small(z_norm):
    """The five widgets' pictures together: the notebooks store them (as base64) in their widget state."""
    rng = np.random.default_rng(0)
    boxes = [scale_ratio_widget(), gamma_beta_widget(z_norm), batch_size_widget(rng.normal(0.5, 1.4, 4000), 4),
             ewa_widget(0.1 * rng.standard_normal(400) + 0.05, reference=0.05, beta=0.99), family_widget()]  # fmt: skip
    total = sum(len(i.value) for b in boxes for i, _ in b.frames.values())
    assert total * 4 / 3 < 2.5e6, total  # within the 3 MB the course allows for them, with room to spare
