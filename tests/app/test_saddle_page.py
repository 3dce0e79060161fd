"""The saddle-point page through the real navigation: its charts and verdicts are the core's."""

from __future__ import annotations

import numpy as np

from playground.saddle import METHODS, SaddleSettings, trajectory, verdict
from tests.app.conftest import live_charts, numbers, open_page


def test_the_page_shows_each_methods_path_and_verdict() -> None:
    at = open_page("saddle_point.py")
    assert not at.exception
    said = " ".join(m.value for m in at.markdown)
    for method in METHODS:
        assert verdict(SaddleSettings(method, 0.2, 100, 1.0, 1.0)) in said
    landscape, distance = live_charts(at)
    paths = {trace["name"]: trace for trace in landscape["data"]}
    expected = trajectory(SaddleSettings("extragradient", 0.2, 100, 1.0, 1.0))
    assert np.allclose(numbers(paths["extragradient"]["x"]), expected[:, 0])
    assert [trace["name"] for trace in distance["data"]] == list(METHODS)


def test_a_bigger_step_makes_simultaneous_steps_escape_faster() -> None:
    at = open_page("saddle_point.py")
    at.slider[0].set_value(0.5).run()  # the step size
    assert not at.exception
    said = " ".join(m.value for m in at.markdown)
    assert verdict(SaddleSettings("simultaneous", 0.5, 100, 1.0, 1.0)) in said
