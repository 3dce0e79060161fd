"""The 2-D GAN page in AppTest: the step buttons drive the core's numbers, bad settings are
refused with a message, a link reopens the same step, the experiment survives a page switch."""

from __future__ import annotations

from playground.plane import PlaneSettings
from playground.plane.links import experiment_params
from playground.plane.stepper import PlaneGAN
from playground.ui import plane
from tests.app.conftest import metrics, open_link, open_page, press

PAGE = "gan_2d.py"


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_the_buttons_step_d_and_g_with_the_cores_numbers() -> None:
    at = open_page(PAGE)
    assert not at.exception and not at.error
    press(at, plane.D_STEP)
    press(at, plane.G_STEP)
    press(at, plane.DG_STEP)
    shown = metrics(at)
    assert (shown["D updates"], shown["G updates"]) == ("2", "2")
    expected = PlaneGAN(PlaneSettings())
    expected.d_step()
    expected.g_step()
    record = expected.step()
    assert shown["D loss"] == f"{record.d_loss:.4f}"
    assert shown["modes covered"].endswith("of 8")
    assert at.query_params["presses"] == "d,g,s"
    at.number_input(key="plane.run_n_input").set_value(20).run()
    press(at, plane.RUN)
    assert metrics(at)["G updates"] == "22"
    at.select_slider(key="plane.rewind_step").set_value(2).run()
    press(at, plane.REWIND)
    assert metrics(at)["G updates"] == "1" and metrics(at)["D updates"] == "1"


def test_bad_settings_are_refused_with_a_message_and_good_ones_apply() -> None:
    at = open_page(PAGE)
    at.number_input(key=plane.FORM_PREFIX + "lr_g").set_value(5.0)
    press(at, plane.APPLY)
    assert "lr_g must be a number in [1e-05, 0.1], got 5.0" in _errors(at)
    at.number_input(key=plane.FORM_PREFIX + "lr_g").set_value(0.002)
    at.selectbox(key=plane.FORM_PREFIX + "g_loss").set_value("least-squares")
    press(at, plane.APPLY)
    assert not at.error
    assert at.query_params["lr_g"] == "0.002" and at.query_params["g_loss"] == "least-squares"
    at.selectbox(key=plane.FORM_PREFIX + "data").set_value("spiral")
    press(at, plane.APPLY)
    assert "Started over" in at.info[0].value and at.query_params["data"] == "spiral"


def test_a_link_reopens_the_same_step_and_a_bad_link_says_why() -> None:
    gan = PlaneGAN(PlaneSettings(data="grid", noise_dim=1, seed=4))
    gan.d_step()
    gan.run(3)
    params, _ = experiment_params(gan)
    at = open_link(PAGE, params)
    assert not at.error
    assert metrics(at)["JS (estimate)"] == f"{gan.current.measures.js:.3f}"
    assert metrics(at)["G updates"] == "3"
    bad = open_link(PAGE, {"noise_dim": "7", "presses": "d"})
    assert "noise_dim must be a whole number in [1, 2], got 7" in _errors(bad)
    assert not bad.exception


def test_the_experiment_survives_a_page_switch() -> None:
    at = open_page(PAGE)
    press(at, plane.D_STEP)
    at.switch_page("../pages/bce_loss.py").run()
    at.switch_page(f"../pages/{PAGE}").run()
    assert metrics(at)["D updates"] == "1"
