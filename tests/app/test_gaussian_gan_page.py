"""The 1-D GAN page through the real navigation: buttons move the right counters and numbers,
rewind brings the numbers back, links set and lock settings, bad links show an error."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from playground.figures import toy as figures
from playground.toy import ToyGAN, ToySettings, target_of
from playground.toy.presets import TARGET_PRESETS
from playground.ui import stepper
from tests.app import conftest
from tests.app.conftest import live_charts, metrics, numbers, open_page, press

PAGE = "gaussian_gan.py"


def open_link(params: dict[str, str]) -> AppTest:
    """The 1-D page opened from a link carrying `params`."""
    return conftest.open_link(PAGE, params)


def test_d_step_then_g_step_move_the_right_counters_and_losses() -> None:
    at = open_page(PAGE)
    assert not at.exception
    start = metrics(at)
    assert (start["D updates"], start["G updates"], start["D loss"], start["G loss"]) == (
        "0",
        "0",
        "—",
        "—",
    )
    after_d = metrics(press(at, stepper.D_STEP))
    assert (after_d["D updates"], after_d["G updates"]) == ("1", "0")
    assert after_d["D loss"] != "—" and after_d["G loss"] == "—"
    after_g = metrics(press(at, stepper.G_STEP))
    assert (after_g["D updates"], after_g["G updates"]) == ("1", "1")
    assert after_g["G loss"] != "—" and after_g["D loss"] == after_d["D loss"]
    assert at.info[0].value.startswith("G step 1: the fakes' mean moved")
    # the page shows the numbers of the core with the same (default) settings
    core = ToyGAN(ToySettings())
    assert after_d["D loss"] == f"{core.d_step().d_loss:.4f}"
    assert after_g["G loss"] == f"{core.g_step().g_loss:.4f}"


def test_k_d_and_run_n_steps() -> None:
    at = open_page(PAGE)
    press(at, stepper.DG_STEP)
    assert (metrics(at)["D updates"], metrics(at)["G updates"]) == ("1", "1")
    at.number_input(key=stepper.RUN_N.key).set_value(5).run()
    press(at, stepper.RUN)
    assert (metrics(at)["D updates"], metrics(at)["G updates"]) == ("6", "6")
    assert at.info[0].value.startswith("5 × (1 D + 1 G)")


def test_rewind_returns_the_shown_numbers_to_the_earlier_step() -> None:
    at = open_page(PAGE)
    press(at, stepper.D_STEP)
    press(at, stepper.G_STEP)
    at_step_2 = metrics(at)
    press(at, stepper.D_STEP)
    press(at, stepper.G_STEP)
    assert metrics(at) != at_step_2
    rewind = at.select_slider(key=stepper.REWIND.key)
    assert rewind.value == 4
    rewind.set_value(2).run()
    assert not at.exception
    assert metrics(at) == at_step_2
    # a new press from there continues exactly as the first time
    press(at, stepper.D_STEP)
    first_time = ToyGAN(ToySettings())
    first_time.d_step()
    first_time.g_step()
    assert metrics(at)["D loss"] == f"{first_time.d_step().d_loss:.4f}"


def test_navigation_keeps_the_model() -> None:
    at = open_page(PAGE)
    press(at, stepper.D_STEP)
    at.switch_page("../pages/bce_loss.py")
    at.run()
    assert "D updates" not in metrics(at) and "BCE loss" in metrics(at)
    at.switch_page(f"../pages/{PAGE}")
    at.run()
    assert metrics(at)["D updates"] == "1"
    assert at.query_params["seed"] == "0", "the link is written back after navigation"


def test_a_link_sets_and_locks_settings() -> None:
    at = open_link({"seed": "7", "lr_d": "0.001", "g_loss": "minimax", "lock": "lr_d,g_loss"})
    assert not at.exception and not at.error
    assert at.number_input(key=stepper.FORM["seed"].key).value == 7
    lr_d = at.number_input(key=stepper.FORM["lr_d"].key)
    assert lr_d.value == 0.001 and lr_d.disabled
    assert at.selectbox(key=stepper.FORM["g_loss"].key).disabled
    assert not at.number_input(key=stepper.FORM["lr_g"].key).disabled
    press(at, stepper.D_STEP)
    core = ToyGAN(ToySettings(seed=7, lr_d=0.001, g_loss="minimax"))
    assert metrics(at)["D loss"] == f"{core.d_step().d_loss:.4f}"


def test_a_bad_link_shows_an_error_not_an_exception() -> None:
    at = open_link({"lr_d": "fast", "lock": "everything"})
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "lr_d must be a number, got 'fast'" in errors
    assert "lock= names unknown settings 'everything'" in errors
    assert metrics(at)["D updates"] == "0"
    press(at, stepper.D_STEP)  # the default experiment still works
    assert metrics(at)["D updates"] == "1"


def test_settings_change_in_place_or_wait_for_reset() -> None:
    at = open_page(PAGE)
    press(at, stepper.D_STEP)
    gan = at.session_state[stepper.GAN.key]
    d_opt = gan.stepper.d_opt
    at.number_input(key=stepper.FORM["lr_d"].key).set_value(0.0005)
    press(at, stepper.APPLY)
    assert not at.warning, "a learning rate changes in place"
    assert gan.stepper.d_opt is d_opt and d_opt.param_groups[0]["lr"] == 0.0005
    assert metrics(at)["D updates"] == "1", "the model was kept"
    at.number_input(key=stepper.FORM["g_hidden"].key).set_value(8)
    press(at, stepper.APPLY)
    assert "press **Reset**" in at.warning[0].value and "G hidden width" in at.warning[0].value
    assert at.session_state[stepper.GAN.key] is gan, "no silent rebuild"
    press(at, stepper.RESET)
    rebuilt = at.session_state[stepper.GAN.key]
    assert rebuilt.settings.g_hidden == 8 and rebuilt.settings.lr_d == 0.0005
    assert metrics(at)["D updates"] == "0" and not at.warning
    assert at.query_params["g_hidden"] == "8"


def test_two_sessions_never_share_a_model() -> None:
    first, second = open_page(PAGE), open_page(PAGE)
    press(first, stepper.D_STEP)
    press(first, stepper.D_STEP)
    second.run()
    assert metrics(first)["D updates"] == "2" and metrics(second)["D updates"] == "0"
    assert first.session_state[stepper.GAN.key] is not second.session_state[stepper.GAN.key]


def test_the_charts_draw_the_cores_numbers_after_a_press() -> None:
    at = press(open_page(PAGE), stepper.D_STEP)
    charts = live_charts(at)
    core = ToyGAN(ToySettings())
    core.d_step()
    expected = figures.all_figures(core.readout(), core.curves())
    assert len(charts) == len(expected) == 6
    for sent, figure in zip(charts, expected.values(), strict=True):
        assert [trace["name"] for trace in sent["data"]] == [trace.name for trace in figure.data]
    d_x = numbers(charts[1]["data"][0]["y"])  # the discriminator chart: D(x) after the D step
    assert np.allclose(d_x, core.readout().d_x, atol=1e-12)


def test_each_target_opens_from_its_button_and_draws_its_exact_density() -> None:
    at = open_page(PAGE)
    for kind, (learns, drops) in TARGET_PRESETS.items():
        for preset in (learns, drops):
            press(at, f"stepper.preset.{preset.key}")
            gan = at.session_state[stepper.GAN.key]
            assert gan.settings == preset.settings and at.query_params["target"] == kind
            sent = live_charts(at)[0]["data"][0]  # the densities chart: p_data first
            assert np.allclose(numbers(sent["y"]), target_of(gan.settings).pdf(gan.grid))
        captions = " ".join(c.value for c in at.caption)
        assert ("Fakes in each mode" in captions) == (kind in ("two_modes", "three_modes"))
    press(at, stepper.D_STEP)
    assert metrics(at)["D updates"] == "1"


def test_a_target_chosen_in_the_form_waits_for_reset_and_a_bad_one_is_refused() -> None:
    at = open_page(PAGE)
    at.selectbox(key=stepper.FORM["target"].key).set_value("two_modes")
    press(at, stepper.APPLY)
    assert "real data" in at.warning[0].value and "press **Reset**" in at.warning[0].value
    press(at, stepper.RESET)
    assert at.session_state[stepper.GAN.key].settings.target == "two_modes"
    assert at.query_params["target"] == "two_modes", "the link reopens the target"
    bad = open_link({"target": "cauchy", "real_std": "0"})
    assert not bad.exception
    errors = " ".join(e.value for e in bad.error)
    assert "target must be one of gaussian, two_modes, three_modes, uniform, exponential" in errors
    assert "real_std must be a number in [0.1, 5]" in errors
