"""Predict, then press: the 1-D page asks what the next update will do, makes that update, and
says whether the student was right with the update's own numbers (`playground.toy.quiz`).

Opt-in (a toggle); the session keeps the score. The question's own button makes the press it
asks about, so a prediction is always judged against the press it was made for; the ordinary
buttons keep working and are not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from playground.toy import ToyGAN
from playground.toy.quiz import Question, Verdict, judge, questions_for
from playground.ui.state import SessionValue
from playground.ui.stepper import GAN, NOTICE, busy, press


@dataclass
class Score:
    """This session's predictions: how many were judged and how many were right."""

    asked: int = 0
    right: int = 0


ON: SessionValue[bool] = SessionValue("quiz.on", lambda: False)
ASKED: SessionValue[int] = SessionValue("quiz.question", lambda: 0)
"""How many questions were asked so far: the next one is questions_for(...)[ASKED % n]."""
ANSWER: SessionValue[str | None] = SessionValue("quiz.answer", lambda: None)
SCORE: SessionValue[Score] = SessionValue("quiz.score", Score)
LAST: SessionValue[Verdict | None] = SessionValue("quiz.last", lambda: None)
HINT: SessionValue[str] = SessionValue("quiz.hint", str)

PRESS, SKIP = "quiz.press", "quiz.skip"
"""Keys of the question's buttons (tests press them by key)."""

PRESS_NAMES = {"d": "D step", "g": "G step"}


def current_question(gan: ToyGAN) -> Question:
    """The question asked now (it depends on the settings: D's loss needs D's BCE)."""
    questions = questions_for(gan.settings)
    return questions[ASKED.get() % len(questions)]


def press_name(question: Question, gan: ToyGAN) -> str:
    return PRESS_NAMES.get(question.press, f"{gan.settings.k_d} D + 1 G")


def quiz_panel(gan: ToyGAN) -> None:
    """The toggle, and when it is on: the score, the last verdict and the next question."""
    st.toggle("Predict, then press", key=ON.key,
              help="Before a press, say what it will do; the update itself says if you were right")  # fmt: skip
    if not ON.get():
        return
    score, last = SCORE.get(), LAST.get()
    if last is not None:
        (st.success if last.right else st.error)(last.message(), icon=":material/quiz:")
    question = current_question(gan)
    name = press_name(question, gan)
    with st.container(border=True):
        st.markdown(f"**Next: one {name}.** {question.text}")
        st.radio("Your prediction", question.words, index=None, key=ANSWER.key,
                 label_visibility="collapsed")  # fmt: skip
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.button(f"Press {name} and check", key=PRESS, on_click=_answer, type="primary",
                      icon=":material/quiz:")  # fmt: skip
            st.button("Another question", key=SKIP, on_click=_next_question)
            st.caption(f"Score: {score.right} right of {score.asked}")
        if HINT.get():
            st.caption(HINT.get())


def _answer() -> None:
    """Make the question's press and judge the prediction from the read-outs around it."""
    gan = GAN.get()
    assert gan is not None
    answer = ANSWER.get()
    if answer is None:
        HINT.set("Pick what you expect first, then press.")
        return
    if busy():
        return
    question = current_question(gan)
    before = gan.readout()
    press(question.press)
    verdict = judge(question, answer, before, gan.readout(), gan.current.step)
    score = SCORE.get()
    score.asked += 1
    score.right += verdict.right
    LAST.set(verdict)
    NOTICE.set("")
    _next_question()


def _next_question() -> None:
    ASKED.set(ASKED.get() + 1)
    ANSWER.set(None)
    HINT.set("")
