"""In a real Chromium, a class on one server: the instructor's page is refused to students and
shown to the instructor; a student's jobs and limits survive a reload; the instructor's stop
reaches the student's page with its reason."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from playground.ui.access import REFUSED, TOKEN_ENV
from playground.ui.state import OWNER_COOKIE
from tests.e2e.conftest import assert_no_exception, open_app, streamlit_server, wait_for_idle
from tests.e2e.test_mnist_gan_browser import start_job

pytestmark = pytest.mark.e2e

TOKEN = "e2e-instructor-token-0123456789"


@pytest.fixture(scope="module")
def class_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e-cohort")
    env = {
        "PLAYGROUND_RUNS": str(folder / "runs"),
        "PLAYGROUND_SYNTHETIC_DATA": "1",
        TOKEN_ENV: TOKEN,
        "PLAYGROUND_MAX_JOBS_PER_OWNER": "1",
        "PLAYGROUND_MAX_QUEUED_PER_OWNER": "1",
    }
    with streamlit_server(folder / "streamlit.log", **env) as url:
        yield url


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)
    return page


def menu_link(page: Page, title: str):
    menu = page.locator("[data-testid=stSidebarNav], [data-testid=stTopNav]")
    return menu.get_by_role("link", name=title, exact=True)


def sign_in(page: Page, url: str) -> None:
    open_app(page, url, "instructor")
    page.get_by_label("instructor token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Every job")).to_be_visible()


def test_the_instructor_page_is_refused_to_students_and_shown_with_the_token(
    browser: Browser, class_url: str
) -> None:
    student = new_page(browser)
    open_app(student, class_url)
    expect(menu_link(student, "VAE vs GAN")).to_have_count(1)
    expect(menu_link(student, "Instructor")).to_have_count(0)
    open_app(student, class_url, "instructor")
    expect(student.get_by_text(REFUSED)).to_be_visible()
    expect(student.get_by_role("heading", name="Every job")).to_have_count(0)
    student.get_by_label("instructor token").fill("a-wrong-token-of-enough-length")
    student.get_by_role("button", name="Sign in").click()
    expect(student.get_by_text("That is not the instructor token.")).to_be_visible()
    expect(student.get_by_role("heading", name="Every job")).to_have_count(0)
    student.context.close()

    teacher = new_page(browser)
    sign_in(teacher, class_url)
    expect(menu_link(teacher, "Instructor")).to_have_count(1)
    expect(teacher.get_by_text("students online")).to_be_visible()
    assert_no_exception(teacher)
    teacher.context.close()


def test_jobs_and_limits_survive_a_reload_and_the_instructors_stop_shows_its_reason(
    browser: Browser, class_url: str
) -> None:
    student = new_page(browser)
    open_app(student, class_url, "mnist_gan")
    first = start_job(student, "50")
    second = start_job(student, "50")  # waits: one running job per student
    assert {c["name"] for c in student.context.cookies()} >= {OWNER_COOKIE}

    student.reload()
    wait_for_idle(student)
    for job_id in (first, second):
        expect(student.get_by_text(re.compile(f"job {job_id} · "))).to_be_visible()
    student.get_by_role("button", name="Train").click()  # a third: past the cap, reload or not
    expect(student.get_by_text(re.compile("already have 1 jobs waiting"))).to_be_visible()

    teacher = new_page(browser)
    sign_in(teacher, class_url)
    expect(teacher.get_by_test_id("stDataFrame")).to_be_visible()
    teacher.get_by_label("reason (the student sees it on their job)").fill("time for the quiz")
    teacher.get_by_role("button", name="Stop").click()  # the first row: the running job
    expect(teacher.get_by_text(re.compile(f"Job {first}: stop done"))).to_be_visible()

    reason = "stopped by the instructor: time for the quiz"
    expect(student.get_by_text(reason)).to_be_visible(timeout=30_000)  # the panel refreshes
    expect(student.get_by_text(f"job {first} · stopped")).to_be_visible()
    assert_no_exception(student)
    teacher.context.close()
    student.get_by_role("button", name="Stop").first.click()  # free the CPU for other tests
    student.context.close()
