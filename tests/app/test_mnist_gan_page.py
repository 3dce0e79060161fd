"""The MNIST GAN page under AppTest: a background job started, watched, paused, resumed, stopped;
shipped and uploaded generators sampled; missing data and bad files explained, never a traceback."""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_plain_safetensors
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from playground import shipped as shipped_files
from playground.data import synthetic_digits
from playground.jobs import JobSnapshot, JobState
from playground.train import Trainer, TrainSettings
from playground.ui import jobs as jobs_ui
from tests.app.conftest import open_page
from tests.conftest import ROOT

PAGE = "mnist_gan.py"


@pytest.fixture
def fresh_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own JobManager (on its own runs folder), shut down afterwards."""
    monkeypatch.setenv("PLAYGROUND_SAMPLE_EVERY_S", "0.2")
    jobs_ui.job_manager.clear()
    yield
    jobs_ui.job_manager.clear()  # on_release shuts the workers down


@pytest.fixture
def synthetic(monkeypatch: pytest.MonkeyPatch, fresh_manager: None) -> None:
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """trained_models/ holding a (barely trained) DCGAN and cGAN."""
    data = synthetic_digits(64)
    for model in ("dcgan", "cgan"):
        trainer = Trainer(
            TrainSettings(model=model, batch_size=32), data.images, data.labels, device="cpu"
        )
        trainer.run(1)
        trainer.save(
            tmp_path / f"{model}.safetensors", metrics={"fid": 123.4, "inception_score": 2.5}
        )
    monkeypatch.setattr(shipped_files, "MODELS_DIR", tmp_path)
    return tmp_path


def progress_step(at: AppTest) -> int:
    texts = [p.text for p in at.get("progress")]
    assert texts, "no progress bar on the page"
    return int(re.match(r"step (\d[\d,]*)", texts[0]).group(1).replace(",", ""))


def job_state(at: AppTest) -> str:
    cards = [m.value for m in at.markdown if " · job `" in m.value]
    assert cards, "no job card on the page"
    return re.search(r"\*\*(\w+)\*\*$", cards[0]).group(1)


def rerun_until(at: AppTest, done, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return
        assert time.monotonic() < deadline, "the page never showed the expected state"
        time.sleep(0.3)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


@pytest.mark.slow
def test_start_a_job_watch_progress_advance_then_pause_resume_and_stop(synthetic: None) -> None:
    at = open_page(PAGE)
    assert not at.exception
    assert "Jobs train on CPU" in " ".join(c.value for c in at.caption)
    next(s for s in at.selectbox if s.label == "batch size").set_value(32)
    next(n for n in at.number_input if n.label == "epochs").set_value(20.0)
    button(at, "Train").click()
    at.run()
    assert not at.exception and not at.error
    assert job_state(at) in ("queued", "running")

    rerun_until(at, lambda at: progress_step(at) >= 2)
    first = progress_step(at)
    rerun_until(at, lambda at: progress_step(at) > first)  # it trains between reruns
    assert job_state(at) == "running"
    assert any("G(fixed noise) at step" in c for image in at.get("image") for c in image.captions)

    button(at, "Pause").click()
    at.run()
    assert job_state(at) == "paused"
    held = progress_step(at)
    time.sleep(1.0)
    at.run()
    assert progress_step(at) == held

    button(at, "Resume").click()
    at.run()
    rerun_until(at, lambda at: progress_step(at) > held)

    button(at, "Stop").click()
    at.run()
    assert not at.exception
    assert job_state(at) == "stopped" and "stopped by its owner" in " ".join(
        c.value for c in at.caption
    )
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Generator", "Losses CSV"]
    assert progress_step(at) > held


def test_the_page_says_how_to_get_mnist_when_it_is_not_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_manager: None
) -> None:
    monkeypatch.delenv("PLAYGROUND_SYNTHETIC_DATA", raising=False)
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path / "empty"))
    at = open_page(PAGE)
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "MNIST is not available" in warning and "python -m playground.data fetch" in warning
    assert "Train" not in [b.label for b in at.button]


def test_a_bad_hosting_setting_is_reported_by_name_instead_of_a_traceback(
    monkeypatch: pytest.MonkeyPatch, synthetic: None
) -> None:
    monkeypatch.setenv("PLAYGROUND_GPU_SLOTS", "0")
    at = open_page(PAGE)
    assert not at.exception
    assert "PLAYGROUND_GPU_SLOTS) must be a whole number in [1, 64], got 0" in " ".join(
        e.value for e in at.error
    )
    assert "Train" not in [b.label for b in at.button]


def test_a_missing_shipped_model_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synthetic: None
) -> None:
    monkeypatch.setattr(shipped_files, "MODELS_DIR", tmp_path)
    at = open_page(PAGE)
    assert not at.exception
    assert "dcgan.safetensors) is not in trained_models/" in " ".join(i.value for i in at.info)


def grid_urls(at: AppTest) -> list[str]:
    return [url for image in at.get("image") for url in image.value]


def test_shipped_generators_show_samples_new_noise_a_digit_picker_and_an_interpolation(
    shipped: Path, synthetic: None
) -> None:
    at = open_page(PAGE)
    assert not at.exception
    grid, row = grid_urls(at)[:2]
    assert any("FID 123.4" in c.value for c in at.caption)
    button(at, "New noise").click()
    at.run()
    assert grid_urls(at)[0] != grid  # new noise, new digits
    assert grid_urls(at)[1] != row

    at.button_group(key="mnist_model").set_value("cgan").run()
    assert not at.exception
    captions = [c for image in at.get("image") for c in image.captions]
    assert any("row r shows digit r" in c for c in captions)
    all_digits = grid_urls(at)[0]
    at.button_group(key="shipped_cgan_digit").set_value(7).run()
    assert grid_urls(at)[0] != all_digits


def crafted_metadata(text: str) -> bytes:
    """A sound safetensors file whose playground metadata is `text`, as a crafted upload has it."""
    return save_plain_safetensors({"w": torch.ones(2)}, metadata={"playground": text})


def test_an_uploaded_generator_is_sampled_and_bad_files_are_refused_with_a_message(
    synthetic: None,
) -> None:
    data = synthetic_digits(64)
    trainer = Trainer(
        TrainSettings(model="cgan", z_dim=16, batch_size=32), data.images, data.labels, device="cpu"
    )
    at = open_page(PAGE)
    at.file_uploader(key="mnist_upload").set_value(
        ("g.safetensors", trainer.generator_checkpoint(), "application/octet-stream")
    )
    at.run()
    assert not at.exception and not at.error
    assert "cGAN (conditional), noise size 16" in " ".join(c.value for c in at.caption)
    assert at.button_group(key="upload_digit") is not None

    for payload, message in (
        (b"definitely not a checkpoint", "not a valid .safetensors checkpoint"),
        (crafted_metadata("[1, 2]"), "the playground metadata is a JSON list, not an object"),
        (crafted_metadata("[" * 100_000 + "]" * 100_000), "the metadata is nested too deeply"),
        (crafted_metadata('{"format": 1, "kind": "generator", "settings": []}'), "'settings'"),
    ):
        at.file_uploader(key="mnist_upload").set_value(
            ("bad.safetensors", payload, "application/octet-stream")
        )
        at.run()
        assert not at.exception
        assert [message in e.value for e in at.error] == [True]  # shown once, and only it


@pytest.fixture
def project_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """Streamlit's options as `streamlit run` reads them from the repository root (AppTest reads
    .streamlit/config.toml only when the tests happen to start there)."""
    monkeypatch.chdir(ROOT)
    streamlit_config.get_config_options(force_reparse=True)
    yield tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    streamlit_config.get_config_options(force_reparse=True)


def test_one_upload_cap_is_configured_shown_by_the_uploader_and_enforced(
    project_config: dict, synthetic: None
) -> None:
    configured = project_config["server"]["maxUploadSize"]
    assert 1 <= configured <= 64  # MB: our generators are ~3 MB; Streamlit's default is 200
    at = open_page(PAGE)
    uploader = at.file_uploader(key="mnist_upload")
    assert uploader.proto.max_upload_size_mb == configured  # the widget's "Limit N MB per file"
    assert jobs_ui.upload_cap_bytes() == configured * 2**20
    for size, message in (
        (configured * 2**20, "not a valid .safetensors checkpoint"),  # at the cap: parsed
        (configured * 2**20 + 1, f"larger than {configured} MB, the most this server accepts"),
    ):
        at.file_uploader(key="mnist_upload").set_value(
            ("big.safetensors", b"\0" * size, "application/octet-stream")
        )
        at.run()
        assert not at.exception
        assert [message in e.value for e in at.error] == [True]


def test_a_runs_folder_that_cannot_be_created_leaves_the_rest_of_the_page_working(
    monkeypatch: pytest.MonkeyPatch, shipped: Path, synthetic: None
) -> None:
    monkeypatch.setenv("PLAYGROUND_RUNS", "/proc/nope/runs")
    at = open_page(PAGE)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Training is unavailable on this server")
    assert "PLAYGROUND_RUNS=/proc/nope/runs cannot be created" in errors[0]
    assert "Set PLAYGROUND_RUNS to a folder this server can write" in errors[0]
    assert "Train" not in [b.label for b in at.button]
    assert len(grid_urls(at)) >= 2  # the shipped generator's samples and interpolation
    upload = (shipped / "dcgan.safetensors").read_bytes()
    at.file_uploader(key="mnist_upload").set_value(
        ("g.safetensors", upload, "application/octet-stream")
    )
    at.run()
    assert not at.exception
    assert "DCGAN, noise size 64" in " ".join(c.value for c in at.caption)


@pytest.mark.slow
def test_a_finished_job_is_listed_with_its_downloads_and_can_be_deleted(synthetic: None) -> None:
    at = open_page(PAGE)
    assert "No jobs yet" in " ".join(c.value for c in at.caption)
    owner = f"browser:{at.session_state['owner.session_id']}"
    manager = jobs_ui.job_manager()
    job_id = manager.submit(owner, TrainSettings(epochs=0.05, batch_size=32, device="cpu"))
    deadline = time.monotonic() + 90
    while manager.get(owner, job_id).is_live:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    at.run()
    assert not at.exception
    assert "Ended jobs" in [s.value for s in at.subheader]
    assert job_state(at) == "finished" and progress_step(at) == manager.get(owner, job_id).step
    assert [b.label for b in at.get("download_button")] == ["Generator", "Losses CSV"]
    button(at, "Delete for good").click()
    at.run()
    assert not at.exception and manager.list(owner) == []
    assert "No jobs yet" in " ".join(c.value for c in at.caption)


def snapshot(epochs: float, epoch: float, step: int, total: int) -> JobSnapshot:
    return JobSnapshot(
        job_id="0a1b2c3d",
        state=JobState.FINISHED,
        settings=TrainSettings(epochs=epochs, batch_size=32),
        position=None,
        reason="",
        device="cpu",
        step=step,
        total_steps=total,
        epoch=epoch,
        images_per_s=0.0,
        eta_s=None,
        d_real=None,
        d_fake=None,
        history=(),
        samples=None,
        samples_step=None,
        metrics={},
        metrics_step=None,
        checkpoint_step=None,
        created_at=0.0,
    )


@pytest.mark.parametrize(
    ("epochs", "epoch", "progress", "summary"),
    [
        (1.0, 1.0, "step 32/32 · epoch 1/1", "1 epoch · batch 32"),
        (0.5, 0.5, "step 16/16 · epoch 0.5/0.5", "0.5 epochs · batch 32"),
        (2.25, 1.2345, "step 40/72 · epoch 1.23/2.25", "2.25 epochs · batch 32"),
    ],
)
def test_epochs_are_written_as_a_person_writes_them(
    epochs: float, epoch: float, progress: str, summary: str
) -> None:
    s = snapshot(epochs, epoch, round(epoch * 32), round(epochs * 32))
    assert jobs_ui.progress_text(s) == progress
    assert jobs_ui._settings_summary(s).startswith(summary)


def test_the_epochs_field_shows_whole_numbers_without_decimals(synthetic: None) -> None:
    at = open_page(PAGE)
    epochs = next(n for n in at.number_input if n.label == "epochs")
    assert epochs.value == 1.0 and epochs.proto.format == "%g"  # shown as "1", not "1.00"
