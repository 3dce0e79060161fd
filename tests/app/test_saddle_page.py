"""The saddle-point page: its charts, verdicts and update matrices are the core's, and the D step /
G step buttons move one player at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from playground.saddle import (
    METHODS,
    Players,
    SaddleSettings,
    TurnByTurn,
    fate,
    growth_per_step,
    trajectory,
    verdict,
)
from playground.ui import saddle
from tests.app.conftest import live_charts, numbers
from tests.conftest import ROOT

PAGE = ROOT / "pages" / "saddle_point.py"
DEFAULTS = {"lr": 0.2, "steps": 100, "x0": 1.0, "y0": 1.0, "lr_d": 0.8, "gamma": 0.5}
TURN_PLAYERS = Players(0.3, 0.3, 0.0)
"""The page's default step sizes for the buttons."""


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    assert not app.exception
    return app


def said(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def charts(at: AppTest) -> dict[str, dict]:
    turns, landscape, distance = live_charts(at)
    return {"turns": turns, "landscape": landscape, "distance": distance}


def traces(figure: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_page_shows_each_methods_path_verdict_and_fate(at: AppTest) -> None:
    text = said(at)
    for method in METHODS:
        settings = SaddleSettings(method, **DEFAULTS)
        assert verdict(settings) in text
        assert f"| {method} |" in text and fate(growth_per_step(settings)) in text
    drawn = charts(at)
    expected = trajectory(SaddleSettings("gradient penalty", **DEFAULTS))
    assert np.allclose(numbers(traces(drawn["landscape"])["gradient penalty"]["x"]), expected[:, 0])
    assert [trace["name"] for trace in drawn["distance"]["data"]] == list(METHODS)


def test_two_time_scales_are_said_to_circle_and_the_penalty_to_converge(at: AppTest) -> None:
    text = said(at)
    assert "two time-scales steps circle the equilibrium for ever" in text
    assert "gradient penalty steps spiral into the equilibrium" in text
    assert "does **not** converge" in text


def test_a_bigger_step_makes_simultaneous_steps_escape_faster(at: AppTest) -> None:
    at.slider(key="saddle_lr").set_value(0.5).run()
    assert not at.exception
    settings = SaddleSettings("simultaneous", **{**DEFAULTS, "lr": 0.5})
    assert verdict(settings) in said(at)


def test_d_and_g_steps_move_one_player_each_and_reset_returns_to_the_start(at: AppTest) -> None:
    assert metric(at, "steps") == "0"
    at.button(key=saddle.D_STEP).click().run()
    at.button(key=saddle.G_STEP).click().run()
    assert not at.exception
    expected = TurnByTurn.start(1.0, 1.0).d_step(TURN_PLAYERS).g_step(TURN_PLAYERS)
    assert at.session_state[saddle.TURNS.key] == expected
    assert metric(at, "steps") == "2"
    assert metric(at, "distance to (0, 0)") == f"{expected.distance:.3f}"
    drawn = traces(charts(at)["turns"])
    assert np.allclose(numbers(drawn["path"]["x"]), expected.path()[:, 0])
    assert np.allclose(numbers(drawn["D step (y moves)"]["y"]), [expected.points[1][1]])
    at.button(key=saddle.RESET).click().run()
    assert metric(at, "steps") == "0"
    assert at.session_state[saddle.TURNS.key].point == (1.0, 1.0)


def test_the_penalty_slider_changes_d_steps(at: AppTest) -> None:
    at.slider(key="saddle_turn_gamma").set_value(0.5).run()
    at.button(key=saddle.D_STEP).click().run()
    y = 1.0 + 0.3 * (1.0 - 0.5 * 1.0)
    assert at.session_state[saddle.TURNS.key].point == pytest.approx((1.0, y))
    assert metric(at, "distance to (0, 0)") == f"{math.hypot(1.0, y):.3f}"


def test_moving_the_start_starts_a_fresh_game(at: AppTest) -> None:
    at.button(key=saddle.G_STEP).click().run()
    at.slider(key="saddle_x0").set_value(-2.0).run()
    assert not at.exception
    turns = at.session_state[saddle.TURNS.key]
    assert turns.points == ((-2.0, 1.0),) and metric(at, "steps") == "0"
