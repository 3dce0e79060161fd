"""Predict, then press: questions about what the next update will do, answered by the update.

Each `Question` names a press (one D step, one G step, or k D + 1 G) and one number of the
1-D GAN's state; the answer is which way that number moved between the read-outs before and
after the real update, so nothing is scripted: a student who predicts "D(fake) falls after a D
step" is right exactly when the update made it fall. Some questions have "stays the same" as
their answer on purpose (a D step does not move the fakes; a G step does not change D(real)).

The numbers over whole distributions are integrals on the read-out's x grid (dx apart):

    D's loss      -sum_x [p_data log D(x) + p_g log(1 - D(x))] dx      (its two-term BCE)
    G's loss      sum_x p_g(x) loss(D(x)) dx, with the settings' G loss (minimax or not)
    D vs D*       sum_x (p_data + p_g) / 2 |D(x) - D*(x)| dx
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.toy.readout import Readout
from playground.toy.settings import ToySettings

SAME_TOLERANCE = 1e-9
"""Relative change below which a number "stays the same". A network that an update did not
touch gives bit-identical read-outs; one it did touch moves them by far more than this."""

EPS = 1e-12


def _dx(readout: Readout) -> float:
    return float(readout.x[1] - readout.x[0])


def d_loss(readout: Readout) -> float:
    """D's two-term BCE over the whole data and fake distributions (log 4 when D = 1/2)."""
    d = np.clip(readout.d_x, EPS, 1 - EPS)
    inner = readout.p_data * np.log(d) + readout.p_g * np.log(1 - d)
    return float(-np.sum(inner) * _dx(readout))


def g_loss(readout: Readout) -> float:
    """G's loss over the fakes' distribution: -log D (non-saturating) or log(1 - D) (minimax)."""
    d = np.clip(readout.d_x, EPS, 1 - EPS)
    per_x = np.log(1 - d) if readout.settings.g_loss == "minimax" else -np.log(d)
    return float(np.sum(readout.p_g * per_x) * _dx(readout))


def distance_to_best_d(readout: Readout) -> float:
    """How far D(x) is from the best D*(x), weighted where the data and the fakes are."""
    weight = (readout.p_data + readout.p_g) / 2
    return float(np.sum(weight * np.abs(readout.d_x - readout.d_star)) * _dx(readout))


def gap_to_data_mean(readout: Readout) -> float:
    """How far the fakes' mean is from the data's."""
    return abs(readout.measures.fake_mean - readout.settings.real_mean)


@dataclass(frozen=True)
class Question:
    """A prediction about one press: which way will `quantity` move?"""

    key: str
    press: str  # "d", "g" or "dg"
    text: str
    quantity: str  # what the numbers in the verdict are, e.g. "mean D(fake)"
    measure: Callable[[Readout], float]
    words: tuple[str, str, str]  # the answers if it goes up, down, or stays the same
    gan_only: bool = False  # only with D's BCE objective (not a WGAN critic)

    def applies_to(self, settings: ToySettings) -> bool:
        return not self.gan_only or getattr(settings, "objective", "gan") == "gan"


def _m(name: str) -> Callable[[Readout], float]:
    return lambda readout: float(getattr(readout.measures, name))


def _moves(
    subject: str, up: str = "rises", down: str = "falls", same: str = "stays the same"
) -> tuple[str, str, str]:
    """The three answers, as sentences: "D(fake) rises", "D(fake) falls", ..."""
    return (f"{subject} {up}", f"{subject} {down}", f"{subject} {same}")


QUESTIONS: tuple[Question, ...] = (
    Question("d_fake_after_d", "d", "Will D's mean rating of the fakes rise or fall?",
             "mean D(fake)", _m("d_fake"), _moves("D(fake)")),
    Question("fake_mean_after_g", "g", "Will the fakes move left or right?", "the fakes' mean",
             _m("fake_mean"), ("the fakes move right", "the fakes move left",
                               "the fakes stay where they are")),
    Question("d_loss_after_d", "d", "Will D's loss over the data and the fakes fall?",
             "D's loss", d_loss, _moves("D's loss"), gan_only=True),
    Question("js_after_g", "g", "Will JS(p_data ‖ p_g) go down?", "JS", _m("js"),
             _moves("JS", "goes up", "goes down")),
    Question("d_real_after_d", "d", "Will D's mean rating of real data rise or fall?",
             "mean D(real)", _m("d_real"), _moves("D(real)")),
    Question("d_fake_after_g", "g", "Will D's mean rating of the fakes rise or fall?",
             "mean D(fake)", _m("d_fake"), _moves("D(fake)")),
    Question("best_d_after_d", "d", "Will D(x) get closer to the best discriminator D*(x)?",
             "the distance from D to D*", distance_to_best_d,
             _moves("D", "moves away from D*", "gets closer to D*", "stays as far from D*")),
    Question("fake_std_after_g", "g", "Will the fakes spread out or narrow?", "the fakes' std",
             _m("fake_std"), _moves("the fakes", "spread out", "narrow", "keep their spread")),
    Question("fakes_after_d", "d", "Will the fakes move?", "the fakes' mean", _m("fake_mean"),
             _moves("the fakes", "move right", "move left", "stay where they are")),
    Question("g_loss_after_g", "g", "Will G's loss fall?", "G's loss", g_loss,
             _moves("G's loss"), gan_only=True),
    Question("d_real_after_g", "g", "Will D's rating of real data change?", "mean D(real)",
             _m("d_real"), _moves("D(real)")),
    Question("closer_after_dg", "dg", "Will the fakes' mean get closer to the data's?",
             "the distance from the fakes' mean to the data's", gap_to_data_mean,
             _moves("the fakes' mean", "moves away from the data's", "gets closer to the data's",
                    "stays as far from the data's")),
    Question("js_after_dg", "dg", "Will JS(p_data ‖ p_g) go down?", "JS", _m("js"),
             _moves("JS", "goes up", "goes down")),
)  # fmt: skip
"""Every question, in the order a session asks them (D and G presses alternate)."""


def questions_for(settings: ToySettings) -> tuple[Question, ...]:
    """The questions that make sense with `settings` (D's loss needs D's BCE objective)."""
    return tuple(q for q in QUESTIONS if q.applies_to(settings))


@dataclass(frozen=True)
class Verdict:
    """What the update really did to the question's number, and the student's answer."""

    question: Question
    answer: str  # the student's word
    outcome: str  # the word that was true
    before: float
    after: float
    step: int  # the history step the update made

    @property
    def right(self) -> bool:
        return self.answer == self.outcome

    def message(self) -> str:
        """The verdict in one line, with the numbers of the update."""
        change = self.after - self.before
        # enough decimals to show the change (at least 4, at most 8)
        places = (
            4
            if abs(change) >= 1e-4 or change == 0
            else min(8, 2 - math.floor(math.log10(abs(change))))
        )
        numbers = (
            f"{self.question.quantity}: {self.before:.{places}f} → {self.after:.{places}f} "
            f"({change:+.{places}f}) in the update to step {self.step}"
        )
        if self.right:
            return f"Right: {self.outcome}. {numbers}."
        return f"Not this time: you said “{self.answer}”, but {self.outcome}. {numbers}."


def outcome(question: Question, before: float, after: float) -> str:
    """Which of the question's words the change before -> after makes true."""
    if abs(after - before) <= SAME_TOLERANCE * max(1.0, abs(before)):
        return question.words[2]
    return question.words[0] if after > before else question.words[1]


def judge(question: Question, answer: str, before: Readout, after: Readout, step: int) -> Verdict:
    """The verdict on `answer`, from the read-outs before and after the real update."""
    if answer not in question.words:
        raise ValueError(f"{answer!r} is not an answer to {question.text!r}: {question.words}")
    was, now = question.measure(before), question.measure(after)
    return Verdict(question, answer, outcome(question, was, now), was, now, step)
