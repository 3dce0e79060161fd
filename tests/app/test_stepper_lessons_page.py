"""The 1-D page's deeper lessons through the real navigation: a link carrying presses reopens the
experiment at that step with the core's numbers and the address follows every press; predictions
are judged right or wrong from the actual update; pinned runs share one chart; named presets
open and say what they are."""

from __future__ import annotations

import json
from dataclasses import replace

from streamlit.testing.v1 import AppTest

from playground.toy import ToyGAN, ToySettings, read_presses, replay_presses
from playground.toy.presets import CIRCLING
from playground.toy.quiz import judge, questions_for
from playground.ui import experiment, overlay, quiz, stepper
from tests.app import conftest
from tests.app.conftest import live_charts, metrics, open_page
from tests.app.conftest import press as click

PAGE = "gaussian_gan.py"


def open_link(params: dict[str, str]) -> AppTest:
    """The 1-D page opened from a link carrying `params`."""
    at = conftest.open_link(PAGE, params)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_with_presses_opens_at_that_step_with_the_cores_numbers() -> None:
    presses = "2d,g,6r,lr_g-0.0007,s3"
    at = open_link({"seed": "4", "presses": presses, "lock": "lr_d"})
    assert not at.error
    core = ToyGAN(ToySettings(seed=4))
    replay_presses(core, read_presses(presses, core.settings))
    shown = metrics(at)
    assert (shown["D updates"], shown["G updates"]) == (str(core.d_steps), str(core.g_steps))
    latest = core.last_losses()
    assert (
        shown["D loss"] == f"{latest['d_loss']:.4f}"
        and shown["G loss"] == f"{latest['g_loss']:.4f}"
    )
    assert shown["JS(p_data ‖ p_g)"] == f"{core.current.measures.js:.4f}"
    assert at.number_input(key=stepper.FORM["lr_g"].key).value == 0.0007
    assert at.number_input(key=stepper.FORM["lr_d"].key).disabled, "locks as before"
    assert at.query_params["presses"] == presses
    click(at, stepper.D_STEP)
    assert at.query_params["presses"] == presses + ",d", "the address follows the press"
    at.select_slider(key=stepper.REWIND.key).set_value(3).run()
    # and the rewind (the settings stay those of the form: the change now follows step 3)
    assert at.query_params["presses"] == "2d,g,lr_g-0.0007"


def test_a_link_whose_presses_cannot_be_replayed_opens_at_step_0() -> None:
    at = open_link({"seed": "4", "presses": "2000r,2000r"})
    assert "presses cannot be replayed" in at.error[0].value
    assert metrics(at)["D updates"] == "0"
    assert "presses" not in at.query_params


def test_a_right_and_a_wrong_prediction_are_judged_from_the_actual_update() -> None:
    at = open_page(PAGE)
    at.toggle(key=quiz.ON.key).set_value(True).run()
    core = ToyGAN(ToySettings())  # the same experiment, pressed alike beside the page
    questions = questions_for(core.settings)
    verdicts = []
    for turn, pick_right in enumerate((True, False)):
        question = questions[at.session_state[quiz.ASKED.key] % len(questions)]
        assert question.text in " ".join(m.value for m in at.markdown)
        before = core.readout()
        {"d": core.d_step, "g": core.g_step, "dg": core.step}[question.press]()
        truth = judge(question, question.words[0], before, core.readout(), turn + 1).outcome
        answer = truth if pick_right else next(w for w in question.words if w != truth)
        at.radio(key=quiz.ANSWER.key).set_value(answer).run()
        click(at, quiz.PRESS)
        verdicts.append(judge(question, answer, before, core.readout(), core.current.step))
    right, wrong = verdicts
    assert right.right and not wrong.right
    assert [e.value for e in at.error] == [wrong.message()], "the page shows the core's numbers"
    assert "Score: 1 right of 2" in [c.value for c in at.caption]
    assert metrics(at)["D updates"] == str(core.d_steps)


def test_a_prediction_needs_an_answer_before_the_press() -> None:
    at = open_page(PAGE)
    at.toggle(key=quiz.ON.key).set_value(True).run()
    click(at, quiz.PRESS)
    assert metrics(at)["D updates"] == "0" and metrics(at)["G updates"] == "0"
    assert "Pick what you expect first, then press." in [c.value for c in at.caption]


def test_pinned_runs_share_one_chart_up_to_three() -> None:
    at = open_page(PAGE)
    click(at, stepper.DG_STEP)
    assert len(live_charts(at)) == 6, "no overlay before a pin"
    click(at, overlay.PIN)
    at.number_input(key=stepper.FORM["lr_g"].key).set_value(0.002)
    click(at, stepper.APPLY)
    click(at, stepper.DG_STEP)
    charts = live_charts(at)
    assert len(charts) == 7
    names = [trace["name"] for trace in charts[-1]["data"]]
    assert names[:2] == ["this run: D loss", "this run: G loss"]
    assert "seed 0, step 1: D loss" in names
    for _ in range(2):
        click(at, overlay.PIN)
    click(at, overlay.PIN)
    assert "3 runs are pinned already" in " ".join(c.value for c in at.caption)
    assert len(at.session_state[overlay.PINNED.key]) == 3
    click(at, "overlay.unpin.0")
    assert len(at.session_state[overlay.PINNED.key]) == 2


def test_the_slow_circling_game_opens_as_a_named_preset() -> None:
    at = open_page(PAGE)
    click(at, stepper.D_STEP)
    click(at, "stepper.preset.circling")
    gan = at.session_state[stepper.GAN.key]
    assert gan.settings == replace(CIRCLING.settings, seed=0) and gan.d_steps == 0
    assert at.info[0].value == f"This is the preset “{CIRCLING.title}” (seed 0)."
    assert at.query_params["preset"] == "circling"
    click(at, experiment.DEFAULTS_KEY)
    assert at.session_state[stepper.GAN.key].settings == ToySettings()
    assert "preset" not in at.query_params


def test_a_locked_link_offers_no_preset_buttons() -> None:
    at = open_link({"seed": "1", "lock": "lr_d"})
    keys = {b.key for b in at.button}
    assert "stepper.preset.circling" not in keys and experiment.DEFAULTS_KEY not in keys


def test_the_overlay_chart_json_is_what_the_builder_makes() -> None:
    at = open_page(PAGE)
    click(at, stepper.D_STEP)
    click(at, overlay.PIN)
    sent = live_charts(at)[-1]
    assert sent["layout"]["yaxis2"]["type"] == "log"
    assert json.dumps(sent)  # plain JSON, as plotly.js receives it
