"""Predict, then play on the failure-modes page: a right and a wrong prediction are judged from
the run's own next frame, the playback moves on one frame per answer, and the score is kept."""

from __future__ import annotations

from playground.failures import LESSONS, shipped_traces
from playground.failures.quiz import RING_QUESTIONS, RISE_FALL, judge
from playground.ui import failures, run_quiz
from tests.app.conftest import open_page

KEY = "mode_collapse"


def test_predictions_are_judged_by_the_next_frame() -> None:
    at = open_page("failure_modes.py")
    at.button(key=failures.run_key(KEY)).click().run(timeout=180)
    trace = shipped_traces()[LESSONS[KEY].presets[0].key]
    frame = 2
    at.select_slider(key=run_quiz.slider_key(KEY)).set_value(int(trace.frames[frame].iteration))
    at.toggle(key=run_quiz.toggle_key(KEY)).set_value(True).run()
    assert not at.exception

    truth = judge(RING_QUESTIONS[0], RISE_FALL[0], trace, frame).truth
    wrong = next(w for w in RISE_FALL if w != truth)
    at.radio(key=run_quiz.answer_key(KEY)).set_value(wrong)
    at.button(key=run_quiz.press_key(KEY)).click().run()
    assert not at.exception
    assert at.select_slider(key=run_quiz.slider_key(KEY)).value == trace.frames[3].iteration
    assert any(e.value.startswith(f"**Not this time: it {truth}.**") for e in at.error)

    pile = judge(RING_QUESTIONS[1], "mode 1", trace, frame + 1).truth  # the next question
    at.radio(key=run_quiz.answer_key(KEY)).set_value(pile)
    at.button(key=run_quiz.press_key(KEY)).click().run()
    assert any(s.value.startswith("**Right.**") for s in at.success)
    assert "Score: 1 right of 2" in [c.value for c in at.caption]


def test_no_prediction_is_judged_without_an_answer_or_past_the_last_frame() -> None:
    at = open_page("failure_modes.py")
    at.button(key=failures.run_key(KEY)).click().run(timeout=180)
    at.toggle(key=run_quiz.toggle_key(KEY)).set_value(True).run()
    assert any("The run ends here" in i.value for i in at.info)  # the slider starts at the end
    trace = shipped_traces()[LESSONS[KEY].presets[0].key]
    at.select_slider(key=run_quiz.slider_key(KEY)).set_value(int(trace.frames[0].iteration)).run()
    at.button(key=run_quiz.press_key(KEY)).click().run()
    assert not at.exception
    assert "Pick what you expect first, then play." in [c.value for c in at.caption]
    assert at.select_slider(key=run_quiz.slider_key(KEY)).value == trace.frames[0].iteration
