"""A training process killed under a running job (as by the out-of-memory killer, or a crash in
native code): the MNIST page keeps answering and shows that job failed, with the reason."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from playground.jobs import JobState
from playground.train import TrainSettings
from playground.ui import jobs as jobs_ui
from tests.app.conftest import open_page


@pytest.fixture
def manager_on_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The page's own JobManager on the default executor (a worker process per slot)."""
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")
    monkeypatch.setenv("PLAYGROUND_EXECUTOR", "local")
    jobs_ui.job_manager.clear()
    yield
    jobs_ui.job_manager.clear()


def page_text(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.error, *at.warning, *at.info]
    return " ".join(str(p.value) for p in parts)


@pytest.mark.parametrize(
    ("signum", "words"), [(signal.SIGKILL, "signal 9"), (signal.SIGABRT, "signal 6")]
)
def test_a_killed_training_process_fails_its_job_and_the_page_keeps_answering(
    manager_on_processes: None, signum: int, words: str
) -> None:
    at = open_page("mnist_gan.py")
    owner = f"browser:{at.session_state['owner.session_id']}"
    manager = jobs_ui.job_manager()
    assert manager.executor.name == "local"
    job_id = manager.submit(owner, TrainSettings(epochs=20, batch_size=32, device="cpu"))
    deadline = time.monotonic() + 120
    while manager.get(owner, job_id).step < 1:
        assert time.monotonic() < deadline, manager.get(owner, job_id)
        time.sleep(0.1)
    (pid,) = manager.executor.worker_pids().values()
    os.kill(pid, signum)
    while manager.get(owner, job_id).is_live:
        assert time.monotonic() < deadline, manager.get(owner, job_id)
        time.sleep(0.05)
    failed = manager.get(owner, job_id)
    assert failed.state == JobState.FAILED and words in failed.reason
    at.run()
    assert not at.exception
    assert "the training process died" in page_text(at) and words in page_text(at)
    # The same server trains the next job, in a fresh process.
    again = manager.submit(owner, TrainSettings(epochs=0.05, batch_size=32, device="cpu"))
    while manager.get(owner, again).is_live:
        assert time.monotonic() < deadline + 120, manager.get(owner, again)
        time.sleep(0.1)
    assert manager.get(owner, again).state == JobState.FINISHED
    at.run()
    assert not at.exception
