"""The training tricks in the two settings forms: the 1-D stepper applies the update tricks in place
and rebuilds D for the layer tricks after Reset; the MNIST form hands every switch to the job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from playground.jobs import JobManager
from playground.models import MinibatchStdDev
from playground.train import TrainSettings
from playground.ui import jobs as jobs_ui
from playground.ui import stepper
from tests.app.conftest import metrics, open_page, press


def test_the_stepper_applies_update_tricks_in_place_and_d_layer_tricks_after_reset() -> None:
    at = open_page("gaussian_gan.py")
    press(at, stepper.D_STEP)
    gan = at.session_state[stepper.GAN.key]
    at.number_input(key=stepper.FORM["label_smoothing"].key).set_value(0.2)
    at.selectbox(key=stepper.FORM["objective"].key).set_value("wgan-gp")
    press(at, stepper.APPLY)
    assert not at.warning and gan.stepper.tricks.label_smoothing == 0.2
    assert gan.stepper.tricks.objective == "wgan-gp" and metrics(at)["D updates"] == "1"
    at.checkbox(key=stepper.FORM["minibatch_std"].key).check()
    press(at, stepper.APPLY)
    assert "minibatch std in D" in at.warning[0].value and "press **Reset**" in at.warning[0].value
    press(at, stepper.RESET)
    rebuilt = at.session_state[stepper.GAN.key]
    assert any(isinstance(layer, MinibatchStdDev) for layer in rebuilt.discriminator)
    assert at.query_params["minibatch_std"] == "True"
    press(at, stepper.D_STEP)  # the critic with minibatch std trains
    assert metrics(at)["D updates"] == "1"


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[TrainSettings]]:
    """The settings the MNIST page submits (nothing trains)."""
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")
    jobs_ui.job_manager.clear()
    seen: list[TrainSettings] = []

    def submit(self: JobManager, owner: str, settings: TrainSettings) -> str:
        seen.append(settings)
        return "job-under-test"

    monkeypatch.setattr(JobManager, "submit", submit)
    yield seen
    jobs_ui.job_manager.clear()


def test_the_mnist_form_hands_every_trick_to_the_job(submitted: list[TrainSettings]) -> None:
    at = open_page("mnist_gan.py")
    assert not at.exception, [e.value for e in at.exception]
    by_label = {n.label: n for n in at.number_input}
    by_label["label smoothing s"].set_value(0.1)
    by_label["instance noise σ₀"].set_value(0.3)
    next(c for c in at.checkbox if c.label == "spectral norm in D").check()
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (settings,) = submitted
    assert (settings.label_smoothing, settings.instance_noise) == (0.1, 0.3)
    assert settings.spectral_norm and not settings.minibatch_std
    assert settings.objective == "gan" and isinstance(settings.instance_noise_steps, int)
