"""Predict, then play: the failure presets ask what the run will do over its next stretch of
training, and the run's own next frame answers.

A question names one number of a preset's run (`Trace`) and asks how it changes from the frame on
screen to the next one: modes covered on the ring, where the biggest pile of fakes sits, how real D
finds the fakes, how far the 1-D fakes are from the data, how hard G is pushed. The answer is read
from the two frames, so nothing is scripted: the same question is right "up" on one seed and
"down" on another.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.failures.presets import Trace
from playground.failures.ring import RingSettings, mode_coverage

UP, DOWN, SAME = "rises", "falls", "stays the same"
RISE_FALL = (UP, DOWN, SAME)
SAME_TOLERANCE = 0.02
"""Relative change below which a measured number "stays the same" between two frames (the
numbers are read out on fixed noise, so an unchanged network gives the same number)."""
BETWEEN = "between modes"


@dataclass(frozen=True)
class RunQuestion:
    """A question about one number of a run, answered by its next frame."""

    key: str
    text: str
    words: tuple[str, ...]
    answer: Callable[[Trace, int], str]  # (trace, frame) -> the right word for frame -> frame+1
    shown: Callable[[Trace, int], str]  # the numbers that decided it, in words


def _direction(before: float, after: float, tolerance: float = SAME_TOLERANCE) -> str:
    if not (math.isfinite(before) and math.isfinite(after)):
        return SAME
    if abs(after - before) <= tolerance * max(abs(before), abs(after), 1e-12):
        return SAME
    return UP if after > before else DOWN


def _number(name: str, tolerance: float = SAME_TOLERANCE) -> Callable[[Trace, int], str]:
    def answer(trace: Trace, frame: int) -> str:
        series = trace.series(name)
        return _direction(series[frame], series[frame + 1], tolerance)

    return answer


def _moved(name: str, fmt: str) -> Callable[[Trace, int], str]:
    def shown(trace: Trace, frame: int) -> str:
        series = trace.series(name)
        return f"{fmt.format(series[frame])} → {fmt.format(series[frame + 1])}"

    return shown


def biggest_pile(trace: Trace, frame: int) -> str:
    """Which mode holds the most of G's samples in `frame` ("mode 3"), or "between modes"
    when most samples sit on no mode."""
    settings = trace.preset.settings
    assert isinstance(settings, RingSettings)
    samples = trace.frames[frame].samples
    assert samples is not None
    coverage = mode_coverage(samples, settings)
    if coverage.quality < 0.5:
        return BETWEEN
    return f"mode {int(np.argmax(coverage.shares)) + 1}"


def _pile_answer(trace: Trace, frame: int) -> str:
    return biggest_pile(trace, frame + 1)


def _pile_shown(trace: Trace, frame: int) -> str:
    return f"{biggest_pile(trace, frame)} → {biggest_pile(trace, frame + 1)}"


def _gap(trace: Trace, frame: int) -> float:
    return abs(trace.frames[frame].numbers["fake_mean"] - trace.preset.settings.real_mean)


def _gap_answer(trace: Trace, frame: int) -> str:
    return _direction(_gap(trace, frame), _gap(trace, frame + 1))


def _gap_shown(trace: Trace, frame: int) -> str:
    return f"{_gap(trace, frame):.2f} → {_gap(trace, frame + 1):.2f}"


RING_QUESTIONS: tuple[RunQuestion, ...] = (
    RunQuestion(
        "modes", "How many of the eight modes will G's samples cover?", RISE_FALL,
        _number("modes_covered", 0.0), _moved("modes_covered", "{:.0f}"),
    ),
    RunQuestion(
        "pile", "Where will the biggest pile of G's samples be?",
        tuple(f"mode {k}" for k in range(1, 9)) + (BETWEEN,), _pile_answer, _pile_shown,
    ),
    RunQuestion(
        "d_fake", "How real will D find the fakes (the mean D(G(z)))?", RISE_FALL,
        _number("d_fake"), _moved("d_fake", "{:.3f}"),
    ),
)  # fmt: skip
"""The questions of the ring presets (modes are numbered 1-8 anticlockwise from the right)."""

LINE_QUESTIONS: tuple[RunQuestion, ...] = (
    RunQuestion(
        "gap", "How far will the fakes' mean be from the data's mean?", RISE_FALL,
        _gap_answer, _gap_shown,
    ),
    RunQuestion(
        "g_grad", "How hard will G be pushed (the norm of G's gradient)?", RISE_FALL,
        _number("g_grad_norm"), _moved("g_grad_norm", "{:.2e}"),
    ),
    RunQuestion(
        "d_fake", "How real will D find the fakes (the mean D(G(z)))?", RISE_FALL,
        _number("d_fake"), _moved("d_fake", "{:.3f}"),
    ),
)  # fmt: skip
"""The questions of the 1-D presets."""


def questions_for(trace: Trace) -> tuple[RunQuestion, ...]:
    return RING_QUESTIONS if trace.preset.world == "ring" else LINE_QUESTIONS


@dataclass(frozen=True)
class RunVerdict:
    """A judged prediction: what was said, what the run did, and the numbers that decided it."""

    question: RunQuestion
    said: str
    truth: str
    run_title: str
    iterations: tuple[int, int]
    numbers: str

    @property
    def right(self) -> bool:
        return self.said == self.truth

    def message(self) -> str:
        head = "Right" if self.right else f"Not this time: it {self._truth_words()}"
        start, end = self.iterations
        return (
            f"**{head}.** {self.question.text} You said it {self._said_words()}. In "
            f"*{self.run_title}*, from iteration {start:,} to {end:,}: {self.numbers}."
        )

    def _said_words(self) -> str:
        return self.said if self.said in RISE_FALL else f"is on {self.said}"

    def _truth_words(self) -> str:
        return self.truth if self.truth in RISE_FALL else f"is on {self.truth}"


def judge(question: RunQuestion, said: str, trace: Trace, frame: int) -> RunVerdict:
    """Judge `said` about `trace` from `frame` to the next frame (which must exist)."""
    if not 0 <= frame < len(trace.frames) - 1:
        raise ValueError(f"frame {frame} has no next frame (the run has {len(trace.frames)})")
    return RunVerdict(
        question=question,
        said=said,
        truth=question.answer(trace, frame),
        run_title=trace.preset.title,
        iterations=(trace.frames[frame].iteration, trace.frames[frame + 1].iteration),
        numbers=question.shown(trace, frame),
    )


__all__ = [
    "BETWEEN",
    "LINE_QUESTIONS",
    "RING_QUESTIONS",
    "RISE_FALL",
    "RunQuestion",
    "RunVerdict",
    "biggest_pile",
    "judge",
    "questions_for",
]
