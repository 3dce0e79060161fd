"""Predict, then play: on the failure-modes page, before the playback moves on by one frame the
student says what the run will do, and the run's own next frame judges it
(`playground.failures.quiz`).

Opt-in (a toggle per lesson); the session keeps one score for the page. The questions take turns
between the failing run and its fix. The question's button moves the playback slider one frame on,
so the answer is on screen right after the press.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from playground.failures import FailureLesson, Trace
from playground.failures.quiz import RunQuestion, RunVerdict, judge, questions_for
from playground.ui.state import SessionValue


@dataclass
class LessonQuiz:
    """One lesson's quiz in this session: questions asked, and the last verdict."""

    asked: int = 0
    last: RunVerdict | None = None
    hint: str = ""


@dataclass
class RunScore:
    """This session's predictions on the page: judged and right."""

    asked: int = 0
    right: int = 0
    lessons: dict[str, LessonQuiz] = field(default_factory=dict)

    def of(self, lesson_key: str) -> LessonQuiz:
        return self.lessons.setdefault(lesson_key, LessonQuiz())


SCORE: SessionValue[RunScore] = SessionValue("runquiz.score", RunScore)


def slider_key(lesson_key: str) -> str:
    """The playback slider's key (ui.failures owns the slider; the quiz moves it on)."""
    return f"failures.frame.{lesson_key}"


def toggle_key(lesson_key: str) -> str:
    return f"runquiz.on.{lesson_key}"


def answer_key(lesson_key: str) -> str:
    return f"runquiz.answer.{lesson_key}"


def press_key(lesson_key: str) -> str:
    """Key of the "play the next frame and check" button (tests press it by key)."""
    return f"runquiz.press.{lesson_key}"


def current(lesson_key: str, traces: list[Trace]) -> tuple[Trace, RunQuestion]:
    """The run and the question asked now: every question of one run, then the next run."""
    asked = SCORE.get().of(lesson_key).asked
    questions = questions_for(traces[0])
    trace = traces[(asked // len(questions)) % len(traces)]
    return trace, questions[asked % len(questions)]


def quiz_panel(lesson: FailureLesson, traces: list[Trace], frame: int) -> None:
    """The toggle, and when it is on: the score, the last verdict and the next question about
    the frame after `frame`."""
    if not st.toggle("Predict, then play", key=toggle_key(lesson.key),
                     help="Say what the run will do next; its next frame says if you were right"):  # fmt: skip
        return
    score = SCORE.get()
    quiz = score.of(lesson.key)
    if quiz.last is not None:
        (st.success if quiz.last.right else st.error)(quiz.last.message(), icon=":material/quiz:")
    if frame >= len(traces[0].frames) - 1:
        st.info("The run ends here: move the slider back to predict what comes next.")
        return
    trace, question = current(lesson.key, traces)
    start, end = (int(trace.frames[i].iteration) for i in (frame, frame + 1))
    with st.container(border=True):
        st.markdown(f"**In *{trace.preset.title}*, from iteration {start:,} to {end:,}:** "
                    f"{question.text}")  # fmt: skip
        st.radio("Your prediction", question.words, index=None, key=answer_key(lesson.key),
                 horizontal=True, label_visibility="collapsed")  # fmt: skip
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.button("Play the next frame and check", key=press_key(lesson.key), type="primary",
                      on_click=_answer, args=(lesson.key, traces, frame),
                      icon=":material/quiz:")  # fmt: skip
            st.caption(f"Score: {score.right} right of {score.asked}")
        if quiz.hint:
            st.caption(quiz.hint)


def _answer(lesson_key: str, traces: list[Trace], frame: int) -> None:
    """Judge the prediction from the run's next frame, then show that frame."""
    score = SCORE.get()
    quiz = score.of(lesson_key)
    said = st.session_state.get(answer_key(lesson_key))
    if said is None:
        quiz.hint = "Pick what you expect first, then play."
        return
    trace, question = current(lesson_key, traces)
    quiz.last = judge(question, said, trace, frame)
    quiz.asked += 1
    quiz.hint = ""
    score.asked += 1
    score.right += quiz.last.right
    st.session_state[slider_key(lesson_key)] = int(trace.frames[frame + 1].iteration)
    st.session_state[answer_key(lesson_key)] = None
