"""The class leaderboard on the MNIST page under AppTest: one student publishes a finished job,
another sees the entry (and nothing else of the first student's jobs), the owner withdraws it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from playground.jobs import JobState, owner_key
from playground.jobs.store import SAMPLES_FILE, JobRecord
from playground.train import TrainSettings
from playground.ui import jobs as jobs_ui
from playground.ui import leaderboard as leaderboard_ui
from tests.app.conftest import ENTRY

PAGE = "mnist_gan.py"
JOB_ID = "5eed1e55"


STUDENT_KEY = "leaderboard_test.student"
"""Where a test session names its student (see `signed_in_student`)."""


def signed_in_student() -> str:
    """Stands in for the page's owner: the student the test session named, as a login proxy
    would name them (two AppTest sessions are two students, whatever a browser would be)."""
    return f"user:{streamlit.session_state[STUDENT_KEY]}"


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Synthetic data, students named by the test, and a JobManager and leaderboard of this
    test's own runs folder."""
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")
    monkeypatch.setattr(jobs_ui, "session_owner", signed_in_student)
    jobs_ui.job_manager.clear()
    leaderboard_ui.shared_leaderboard.clear()
    yield
    jobs_ui.job_manager.clear()  # on_release shuts the workers down
    leaderboard_ui.shared_leaderboard.clear()


def finished_job(student: str, model: str = "dcgan", fid: float = 41.3) -> None:
    """A finished job of `student`, left on disk as a previous server left it (the page's
    JobManager lists it on start)."""
    runs = Path(os.environ["PLAYGROUND_RUNS"])
    key = owner_key(f"user:{student}")
    job = JobRecord(
        job_id=JOB_ID,
        owner_key=key,
        settings=TrainSettings(model=model, epochs=1.0, batch_size=32),
        directory=runs / key / JOB_ID,
        seq=1,
        created_at=time.time(),
        state=JobState.FINISHED,
        step=1870,
        total_steps=1870,
        epoch=1.0,
        metrics={"fid": fid, "label_accuracy": 0.9},
        metrics_step=1870,
        samples_step=1870,
    )
    job.directory.mkdir(parents=True)
    job.save()
    np.save(job.directory / SAMPLES_FILE, np.full((64, 28, 28), 200, np.uint8))


def open_as(student: str) -> AppTest:
    """The MNIST page in a new session of `student`."""
    at = AppTest.from_file(str(ENTRY), default_timeout=60)
    at.session_state[STUDENT_KEY] = student
    at.run()
    at.switch_page(f"../pages/{PAGE}")
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Every text of the page, in one string."""
    parts = [e.value for kind in ("markdown", "caption", "error") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def board_rows(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**#")]


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def publish(at: AppTest, name: str) -> None:
    at.text_input(key="publish_dcgan_name").set_value(name)
    button(at, "Publish").click()
    at.run()
    assert not at.exception, at.exception


def test_the_leaderboard_section_renders_and_invites_a_first_entry(fresh: None) -> None:
    at = open_as("carol")
    assert "5. Class leaderboard" in [h.value for h in at.header]
    page = texts(at)
    assert "No DCGAN entries yet" in page
    assert "When one of your DCGAN jobs has finished, you can publish it here." in page
    assert "Publish" not in [b.label for b in at.button]


def test_a_published_entry_is_seen_by_another_student_and_gone_once_withdrawn(
    fresh: None,
) -> None:
    finished_job("alice")
    alice = open_as("alice")
    assert alice.selectbox(key="publish_dcgan_job").value == JOB_ID
    publish(alice, "Alice_K.")
    assert not alice.error
    assert board_rows(alice) == ["**#1 · Alice\\_K\\.**"]  # the marks stay literal text
    assert "FID 41.3 · step 1,870" in texts(alice)
    assert "Withdraw" in [b.label for b in alice.button]

    bob = open_as("bob")
    assert board_rows(bob) == ["**#1 · Alice\\_K\\.**"]
    assert any(image.value for image in bob.get("image"))  # the entry's sample grid
    page = texts(bob)
    assert JOB_ID not in page and owner_key("user:alice") not in page
    assert "Withdraw" not in [b.label for b in bob.button]
    assert "No jobs yet" in page  # Alice's job is hers alone

    button(alice, "Withdraw").click()
    alice.run()
    assert not alice.exception and board_rows(alice) == []
    bob.run()
    assert board_rows(bob) == [] and "No DCGAN entries yet" in texts(bob)


def test_a_bad_display_name_is_explained_and_nothing_is_published(fresh: None) -> None:
    finished_job("alice")
    alice = open_as("alice")
    publish(alice, "<b>me</b>")
    assert [e.value for e in alice.error] == [
        "a display name must be 1 to 24 characters: letters, digits, spaces and the marks "
        ". _ - only; '/<>' is not allowed"
    ]
    assert board_rows(alice) == []


def test_each_model_has_its_own_board(fresh: None) -> None:
    finished_job("alice", model="cgan")
    alice = open_as("alice")
    alice.button_group(key="mnist_model").set_value("cgan").run()
    alice.text_input(key="publish_cgan_name").set_value("Alice")
    button(alice, "Publish").click()
    alice.run()
    assert not alice.exception and not alice.error
    assert board_rows(alice) == ["**#1 · Alice**"]
    assert "label accuracy 90% · step 1,870" in texts(alice)
    alice.button_group(key="mnist_model").set_value("dcgan").run()
    assert board_rows(alice) == [] and "No DCGAN entries yet" in texts(alice)
    assert "Alice · cGAN (conditional)" in texts(alice)  # still among your entries
