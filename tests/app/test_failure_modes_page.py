"""The failure-modes page through the real navigation: Run shows the core's verdicts and figures,
the results survive a visit to another page, and a 1-D preset opens in the stepper."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from playground.failures import LESSONS, lesson_for_seed, run_preset, stepper_params, verdict
from playground.ui import failures, stepper
from tests.app.conftest import open_page

PAGE = "failure_modes.py"


def run_lesson(at: AppTest, key: str, seed: int | None = None) -> AppTest:
    if seed is not None:
        at.number_input(key=failures.seed_key(key)).set_value(seed)
    at.button(key=failures.run_key(key)).click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    return at


def verdicts(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [s.value for s in at.success]


def test_the_page_offers_every_lesson_and_trains_nothing_before_run() -> None:
    at = open_page(PAGE)
    assert not at.exception
    assert [t.label for t in at.tabs] == [lesson.title for lesson in LESSONS.values()]
    assert len(at.info) == len(LESSONS)
    assert not at.get("plotly_chart")


def test_run_shows_the_cores_verdicts_and_survives_a_page_switch() -> None:
    at = run_lesson(open_page(PAGE), "vanishing_gradients", seed=2)
    lesson = lesson_for_seed("vanishing_gradients", 2)
    expected = [f"**{p.title}**: {verdict(run_preset(p))}" for p in lesson.presets]
    assert verdicts(at) == expected
    assert len(at.get("plotly_chart")) == 2 + 3  # one state per run + three histories
    at.switch_page("../pages/bce_loss.py").run()
    at.switch_page(f"../pages/{PAGE}").run()
    assert not at.exception
    assert verdicts(at) == expected  # no new press needed


def test_mode_collapse_runs_show_the_ring_for_each_run() -> None:
    at = run_lesson(open_page(PAGE), "mode_collapse")
    texts = verdicts(at)
    assert texts[0].startswith(f"**{LESSONS['mode_collapse'].failure.title}**: collapsed")
    assert "covers" in texts[1]
    assert len(at.get("plotly_chart")) == 2 + 2
    at.select_slider(key="failures.frame.mode_collapse").set_value(0).run()
    assert not at.exception


def test_step_through_by_hand_opens_the_preset_in_the_stepper() -> None:
    at = run_lesson(open_page(PAGE), "vanishing_gradients")
    at.button(key="failures.open.vanishing_gradients").click().run()
    assert not at.exception
    preset = LESSONS["vanishing_gradients"].failure
    assert dict(at.query_params) == dict(stepper_params(preset))
    assert at.session_state[stepper.GAN.key].settings == preset.settings
    assert {m.label: m.value for m in at.metric}["G updates"] == "0"
