"""Predict, then press: every question is answered by the real update (the numbers before and after
it), the integrals it asks about match torch's losses, and what an update cannot change is judged
unchanged."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground.toy import ToyGAN, ToySettings
from playground.toy.quiz import (
    QUESTIONS,
    d_loss,
    distance_to_best_d,
    g_loss,
    judge,
    outcome,
    questions_for,
)

SMALL = ToySettings(g_hidden=8, d_hidden=8, batch_size=32, seed=2)


def press(gan: ToyGAN, kind: str) -> None:
    {"d": gan.d_step, "g": gan.g_step, "dg": gan.step}[kind]()


def test_there_are_at_least_eight_questions_about_every_kind_of_press() -> None:
    assert len(QUESTIONS) >= 8 and len({q.key for q in QUESTIONS}) == len(QUESTIONS)
    assert {q.press for q in QUESTIONS} == {"d", "g", "dg"}
    for question in QUESTIONS:
        assert len(set(question.words)) == 3, question.key


def test_the_losses_over_the_distributions_are_torchs_bce_on_the_grid() -> None:
    gan = ToyGAN(SMALL)
    gan.run(5)
    r = gan.readout()
    dx = r.x[1] - r.x[0]
    d = torch.tensor(r.d_x)
    real = F.binary_cross_entropy(d, torch.ones_like(d), torch.tensor(r.p_data), reduction="sum")
    fake = F.binary_cross_entropy(d, torch.zeros_like(d), torch.tensor(r.p_g), reduction="sum")
    assert d_loss(r) == pytest.approx(float(real + fake) * dx, rel=1e-9)
    # non-saturating G loss -log D(G(z)) is BCE against "real" over p_g
    nonsat = F.binary_cross_entropy(d, torch.ones_like(d), torch.tensor(r.p_g), reduction="sum")
    assert g_loss(r) == pytest.approx(float(nonsat) * dx, rel=1e-9)


def test_at_the_optimum_d_is_its_own_best_and_its_loss_is_log_4() -> None:
    gan = ToyGAN(SMALL)
    r = gan.readout()
    everywhere_half = np.full_like(r.d_x, 0.5)
    half = replace(r, d_x=everywhere_half, p_g=r.p_data, d_star=everywhere_half)  # p_g = p_data
    assert d_loss(half) == pytest.approx(math.log(4), rel=1e-3)  # the grid holds ~all the mass
    assert distance_to_best_d(half) == 0.0


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.key)
def test_each_question_is_answered_by_the_update_it_asks_about(question) -> None:
    gan = ToyGAN(SMALL)
    gan.run(3)
    before = gan.readout()
    was = question.measure(before)
    press(gan, question.press)
    after = gan.readout()
    now = question.measure(after)
    truth = question.words[2] if now == was else question.words[0 if now > was else 1]
    for answer in question.words:
        verdict = judge(question, answer, before, after, gan.current.step)
        assert verdict.outcome == truth and verdict.right == (answer == truth)
        assert (verdict.before, verdict.after) == (was, now)
        assert verdict.message().startswith("Right" if answer == truth else "Not this time")
        assert f"step {gan.current.step}" in verdict.message()


def test_what_an_update_cannot_change_is_judged_unchanged() -> None:
    gan = ToyGAN(SMALL)
    by_key = {q.key: q for q in QUESTIONS}
    before = gan.readout()
    gan.d_step()  # G untouched: the fakes stay exactly where they were
    verdict = judge(by_key["fakes_after_d"], "the fakes move left", before, gan.readout(), 1)
    assert verdict.outcome == "the fakes stay where they are" and not verdict.right
    before = gan.readout()
    gan.g_step()  # D untouched: its rating of real data is the same number
    answer = "D(real) stays the same"
    assert judge(by_key["d_real_after_g"], answer, before, gan.readout(), 2).right


def test_a_tiny_but_real_change_is_a_change() -> None:
    question = QUESTIONS[0]
    assert outcome(question, 0.5, 0.5) == question.words[2]
    assert outcome(question, 0.5, 0.5 + 1e-7) == question.words[0]
    assert outcome(question, 0.5, 0.5 - 1e-7) == question.words[1]


def test_an_answer_that_is_not_offered_is_refused() -> None:
    gan = ToyGAN(SMALL)
    r = gan.readout()
    with pytest.raises(ValueError, match="is not an answer"):
        judge(QUESTIONS[0], "maybe", r, r, 0)


def test_the_losses_questions_need_ds_bce_objective() -> None:
    keys = {q.key for q in questions_for(ToySettings())}
    assert {"d_loss_after_d", "g_loss_after_g"} <= keys
    if "objective" in ToySettings.__dataclass_fields__:  # with the WGAN-GP critic switched on
        critic = {q.key for q in questions_for(ToySettings(objective="wgan-gp"))}
        assert not {"d_loss_after_d", "g_loss_after_g"} & critic
        assert len(critic) >= 8
