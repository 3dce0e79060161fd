"""Links that carry the presses: the log of what led to a step, written for a link, read back and
replayed, reopens the experiment at the same step with exactly the same numbers; a press sequence
a link must not carry is refused with a message."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.links import experiment_params, lesson_link, preset_note, read_link
from playground.toy import (
    MAX_PRESSES_CHARS,
    PressesError,
    ToyGAN,
    ToySettings,
    read_presses,
    replay_presses,
    written,
)
from playground.toy import replay as replay_module  # the module: its function is replay_presses

SMALL = ToySettings(g_hidden=8, d_hidden=8, batch_size=32, seed=5)


def reopened(gan: ToyGAN) -> ToyGAN:
    """The experiment a link to `gan`'s current step opens in a fresh session."""
    start, presses = written(gan.presses(), gan.settings)
    fresh = ToyGAN(start)
    replay_presses(fresh, read_presses(presses, start))
    return fresh


def assert_same_state(first: ToyGAN, second: ToyGAN, same_press: bool = True) -> None:
    assert first.current.step == second.current.step
    assert (first.d_steps, first.g_steps) == (second.d_steps, second.g_steps)
    assert first.settings == second.settings
    for a, b in zip(first.generator.parameters(), second.generator.parameters(), strict=True):
        assert torch.equal(a, b), "bit for bit: the same updates on the same batches"
    for a, b in zip(
        first.discriminator.parameters(), second.discriminator.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    assert first.current.measures == second.current.measures
    assert first.last_losses() == second.last_losses()
    if same_press:  # (after a rewind the original has no last press; the replay does)
        assert first.explain() == second.explain(), "the last press is the same press"


def test_a_link_reopens_the_same_step_with_the_same_numbers() -> None:
    gan = ToyGAN(SMALL)
    gan.d_step()
    gan.d_step()
    gan.g_step()
    gan.step(3)
    gan.run(12)
    gan.apply(replace(gan.settings, lr_g=7e-4, g_loss="minimax"))
    gan.run(4, k_d=2)
    fresh = reopened(gan)
    assert_same_state(gan, fresh)
    curves, again = gan.curves(), fresh.curves()
    assert (curves.js == again.js).all() and (curves.step == again.step).all()
    fresh.d_step()
    gan.d_step()
    assert_same_state(gan, fresh), "and the next press continues exactly alike"


def test_a_rewind_and_a_new_press_replace_the_future_in_the_link() -> None:
    gan = ToyGAN(SMALL)
    gan.d_step()
    gan.run(10)
    gan.g_step()
    gan.rewind(6)  # inside the Run: the link opens at step 6 (a Run of 5)
    assert written(gan.presses(), gan.settings)[1] == "d,5r"
    assert_same_state(gan, reopened(gan), same_press=False)
    gan.apply(replace(gan.settings, lr_d=3e-3))  # a change after the last press
    gan.step(2)
    start, presses = written(gan.presses(), gan.settings)
    assert presses == "d,5r,lr_d-0.003,s2" and start == SMALL
    assert_same_state(gan, reopened(gan))


def test_presses_are_written_run_length_encoded() -> None:
    gan = ToyGAN(SMALL)
    for _ in range(3):
        gan.d_step()
    gan.g_step()
    gan.step()
    gan.step()
    gan.run(3)
    gan.run(3)  # two Run presses stay two
    gan.step(4)
    assert written(gan.presses(), gan.settings)[1] == "3d,g,2s,3r,3r,s4"


def test_a_change_before_the_first_press_is_part_of_the_starting_settings() -> None:
    gan = ToyGAN(SMALL)
    gan.apply(replace(SMALL, lr_d=1e-3))
    assert written(gan.presses(), gan.settings) == (replace(SMALL, lr_d=1e-3), "")
    gan.d_step()
    assert written(gan.presses(), gan.settings) == (replace(SMALL, lr_d=1e-3), "d")


@pytest.mark.parametrize(
    ("presses", "message"),
    [
        ("d,x", r"'x', which is neither a press"),
        ("0d", "counts start at 1"),
        ("d3", "only s and r presses take a k"),
        ("s21", r"k is in \[1, 20\]"),
        ("3000r", "more work than one Run press may do"),
        ("seed-4", "changes seed mid-experiment, which needs new networks"),
        ("lr_g-fast", "lr_g must be a number"),
        ("lr_g-2", r"lr_g must be a number in \[1e-05, 1\], got 2.0"),
        ("lr_q-1", "unknown setting 'lr_q'"),
        ("2000r,2000r", "more work than a link may replay"),
        ("d," * 600, "a link carries at most 1,000"),
    ],
)
def test_presses_a_link_must_not_carry_are_refused_with_a_message(
    presses: str, message: str
) -> None:
    with pytest.raises(PressesError, match=message) as refused:
        read_presses(presses, ToySettings())
    assert len(str(refused.value)) < 400


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.lists(st.from_regex(r"\d{0,6}[dgsrx]\d{0,3}|[a-z_]{1,12}-[-\w.]{0,12}", fullmatch=True),
                 max_size=12).map(",".join),
    )
)  # fmt: skip
def test_any_press_text_is_read_or_refused_with_a_message(text: str) -> None:
    try:
        presses = read_presses(text, SMALL)
    except PressesError as exc:
        assert str(exc).startswith("presses=")
        return
    assert len(text) <= MAX_PRESSES_CHARS
    assert all(p.count >= 1 and p.settings.validate() for p in presses.presses)


def test_a_link_with_bad_presses_opens_at_step_0_with_a_message() -> None:
    opened = read_link({"seed": ["3"], "presses": ["3d,nope"], "lock": ["lr_d"]})
    assert opened.settings == ToySettings(seed=3) and opened.locked == {"lr_d"}
    assert opened.presses is None
    assert opened.problems[0].startswith("This link's presses cannot be replayed: presses=")
    assert opened.problems[0].endswith("Opening at step 0.")
    twice = read_link({"presses": ["d", "g"]})
    assert twice.presses is None and "presses is given 2 times" in twice.problems[0]


def test_the_lesson_link_builder_carries_presses() -> None:
    settings = ToySettings(seed=7, lr_d=3e-3)
    link = lesson_link("https://gan.example.edu/course/", settings, ["lr_d"], presses="2d,g,10r")
    query = parse_qs(urlsplit(link).query)
    assert query["presses"] == ["2d,g,10r"]
    opened = read_link(query)
    assert opened.settings == settings and opened.presses is not None
    fresh = ToyGAN(opened.settings)
    replay_presses(fresh, opened.presses)
    by_hand = ToyGAN(settings)
    by_hand.d_step()
    by_hand.d_step()
    by_hand.g_step()
    by_hand.run(10)
    assert_same_state(by_hand, fresh)
    with pytest.raises(ValueError, match="neither a press"):
        lesson_link("https://gan.example.edu/", settings, presses="jump")


def test_a_history_too_long_for_a_link_opens_at_step_0(monkeypatch) -> None:
    monkeypatch.setattr(replay_module, "REPLAY_STEPS", 5)
    gan = ToyGAN(SMALL)
    gan.run(10)
    params, note = experiment_params(gan, ["lr_d"], "circling")
    assert "presses" not in params and params["lock"] == "lr_d" and params["preset"] == "circling"
    assert note.startswith("This page's address opens the experiment at step 0")
    gan.rewind(2)
    params, note = experiment_params(gan)
    assert params["presses"] == "2r" and note == ""


def test_a_preset_link_says_which_preset_it_is_and_what_changed() -> None:
    note = preset_note("vanishing_gradients", ToySettings())
    assert note.startswith("This is the preset “Overpowered discriminator")
    assert "changed since: real_mean" in note
    from playground.failures import LESSONS

    failing = replace(LESSONS["vanishing_gradients"].failure.settings, seed=9)
    assert preset_note("vanishing_gradients", failing).endswith("(seed 9).")
    assert preset_note("", ToySettings()) == ""
    assert "no known preset" in read_link({"preset": ["nope"]}).problems[0]
