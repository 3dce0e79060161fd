"""Predict, then play: the failure presets' questions are answered by the run's own next frame,
never scripted; the same question has different answers at different frames."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from playground.failures import LESSONS, run_preset
from playground.failures.quiz import (
    BETWEEN,
    LINE_QUESTIONS,
    RING_QUESTIONS,
    RISE_FALL,
    biggest_pile,
    judge,
)
from playground.failures.ring import mode_coverage
from playground.failures.traces import shipped_traces


@pytest.fixture(scope="module")
def traces():
    return shipped_traces()


@pytest.fixture(scope="module")
def line_runs():
    """The overpowered-D lesson's runs, shortened (a test needs a few frames, not the lesson)."""
    return [run_preset(replace(p, iterations=200)) for p in LESSONS["vanishing_gradients"].presets]


def ring_trace(traces, index: int = 0):
    lesson = LESSONS["mode_collapse"]
    return traces[lesson.presets[index].key]


def test_modes_covered_is_judged_from_the_next_frames_count(traces) -> None:
    trace = ring_trace(traces, 1)  # the fix: coverage grows from the untrained G
    question = RING_QUESTIONS[0]
    covered = trace.series("modes_covered")
    for frame in range(len(trace.frames) - 1):
        truth = judge(question, "rises", trace, frame).truth
        step = covered[frame + 1] - covered[frame]
        assert truth == ("rises" if step > 0 else "falls" if step < 0 else "stays the same")
    answers = {judge(question, "rises", trace, f).truth for f in range(len(trace.frames) - 1)}
    assert len(answers) >= 2, "one answer at every frame would be a scripted quiz"


def test_the_pile_is_the_mode_holding_most_samples(traces) -> None:
    trace = ring_trace(traces, 0)
    settings = trace.preset.settings
    for frame in range(len(trace.frames)):
        coverage = mode_coverage(trace.frames[frame].samples, settings)
        expected = (
            BETWEEN if coverage.quality < 0.5 else f"mode {int(np.argmax(coverage.shares)) + 1}"
        )
        assert biggest_pile(trace, frame) == expected
    frame = len(trace.frames) - 2
    verdict = judge(RING_QUESTIONS[1], "mode 1", trace, frame)
    assert verdict.right == (biggest_pile(trace, frame + 1) == "mode 1")
    assert verdict.iterations == (trace.frames[frame].iteration, trace.frames[frame + 1].iteration)


def test_a_right_and_a_wrong_prediction_and_their_numbers(line_runs) -> None:
    trace = line_runs[1]  # non-saturating: G moves
    gap = [abs(f.numbers["fake_mean"] - trace.preset.settings.real_mean) for f in trace.frames]
    frame = next(i for i in range(len(gap) - 1) if gap[i + 1] < 0.98 * gap[i])
    right = judge(LINE_QUESTIONS[0], "falls", trace, frame)
    wrong = judge(LINE_QUESTIONS[0], "rises", trace, frame)
    assert right.right and not wrong.right
    assert f"{gap[frame]:.2f} → {gap[frame + 1]:.2f}" in right.message()
    assert wrong.message().startswith("**Not this time: it falls.**")


def test_the_minimax_runs_g_barely_moves_and_says_so(line_runs) -> None:
    trace = line_runs[0]
    truths = [judge(LINE_QUESTIONS[0], "falls", trace, f).truth for f in range(3, 10)]
    assert set(truths) <= set(RISE_FALL)
    assert truths.count("stays the same") >= 4  # stuck: the gap hardly changes


def test_the_last_frame_has_no_next_frame(traces) -> None:
    trace = ring_trace(traces)
    with pytest.raises(ValueError, match="no next frame"):
        judge(RING_QUESTIONS[0], "rises", trace, len(trace.frames) - 1)
