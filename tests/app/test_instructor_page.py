"""The instructor's page under AppTest: absent unless the server names an instructor, refused
without the token, shown with it; an instructor's stop reaches the student's own page."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from playground.jobs import JobState
from playground.train import TrainSettings
from playground.ui import jobs as jobs_ui
from playground.ui.access import REFUSED, TOKEN_ENV
from tests.app.conftest import ENTRY, open_page

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture
def fresh_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")
    monkeypatch.setenv("PLAYGROUND_SAMPLE_EVERY_S", "0.2")
    jobs_ui.job_manager.clear()
    yield
    jobs_ui.job_manager.clear()


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.error, *at.warning, *at.info, *at.markdown, *at.caption)]
    return "\n".join(str(p) for p in parts)


def headers(at: AppTest) -> list[str]:
    return [h.value for h in at.header]


def test_without_an_instructor_configured_the_page_is_not_registered(monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    at = open_page()
    with pytest.raises(Exception, match="instructor"):
        at.switch_page("../pages/instructor.py").run()


def test_the_page_refuses_without_the_token_and_counts_wrong_tries(monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    at = open_page("instructor.py")
    assert REFUSED in texts(at) and "Every job" not in headers(at)
    for _ in range(5):
        at.text_input[0].input("guess-guess-guess-guess")
        at.button[0].click().run()
        assert "not the instructor token" in texts(at)
    at.text_input[0].input(TOKEN)
    at.button[0].click().run()  # the right token, but too many wrong ones just now
    assert "Too many wrong tokens" in texts(at) and "Every job" not in headers(at)


def test_a_short_server_token_is_never_accepted(monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "short")
    at = open_page("instructor.py")
    assert REFUSED in texts(at) and "shorter than 16 characters" in texts(at)
    assert not at.text_input


def test_with_the_token_the_instructor_sees_and_stops_a_students_job(
    monkeypatch, fresh_manager
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    manager = jobs_ui.job_manager()
    spec = TrainSettings(model="dcgan", epochs=50, batch_size=32, device="cpu")
    job_id = manager.submit("browser:" + "a" * 32, spec)
    at = open_page("instructor.py")
    at.text_input[0].input(TOKEN)
    at.button[0].click().run()
    assert REFUSED not in texts(at)
    assert headers(at) == ["The server", "Every job", "A lesson link"]
    table = at.dataframe[0].value
    assert list(table["job"]) == [job_id] and table["student"][0].count(" ") == 2
    at.text_input[0].input("the demo needs the CPU")
    stop = next(b for b in at.button if b.label == "Stop")
    stop.click().run()
    deadline = time.monotonic() + 30
    while manager.cohort()[0][1].state != JobState.STOPPED and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = manager.get("browser:" + "a" * 32, job_id)
    assert seen.reason == "stopped by the instructor: the demo needs the CPU"
    student = AppTest.from_file(str(ENTRY), default_timeout=60)
    student.session_state["owner.session_id"] = "a" * 32  # the student's browser token
    student.run()
    student.switch_page("../pages/mnist_gan.py").run()
    assert [w.value for w in student.warning] == [seen.reason]
    other = open_page("mnist_gan.py")  # another student sees nothing of it
    assert seen.reason not in texts(other) and job_id not in texts(other)


def test_the_lesson_link_form_makes_a_link_and_a_qr_code(monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    at = open_page("instructor.py")
    at.text_input[0].input(TOKEN)
    at.button[0].click().run()
    address = next(t for t in at.text_input if t.label == "the app's address")
    address.input("https://gan.example.edu/course/")
    at.multiselect[0].select("lr_g")
    make = next(b for b in at.button if b.label == "Make the link")
    make.click().run()
    code = at.code[0].value
    assert code.startswith("https://gan.example.edu/course/gaussian_gan?seed=")
    assert "lock=lr_g" in code
    assert at.get("image")


def test_a_lesson_link_can_carry_presses_and_refuses_bad_ones(monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    at = open_page("instructor.py")
    at.text_input[0].input(TOKEN)
    at.button[0].click().run()
    presses = next(t for t in at.text_input if t.label.startswith("presses to replay"))
    presses.input("3d,g,200r")
    next(b for b in at.button if b.label == "Make the link").click().run()
    assert "presses=3d,g,200r" in at.code[0].value
    presses = next(t for t in at.text_input if t.label.startswith("presses to replay"))
    presses.input("3d,jump")
    next(b for b in at.button if b.label == "Make the link").click().run()
    assert not at.exception and "neither a press" in at.error[0].value
