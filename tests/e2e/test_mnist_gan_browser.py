"""In a real Chromium: a background job keeps training while the student reads another page.

The server here runs in demo mode (PLAYGROUND_SYNTHETIC_DATA=1: small generated digits), so the
job is small and fast on a CPU and no MNIST is needed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    assert_no_exception,
    choose_option,
    fresh_page,
    open_app,
    streamlit_server,
    wait_for_idle,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app started as the README does, in demo mode, with its own runs folder."""
    log_path = tmp_path_factory.mktemp("e2e-mnist-log") / "streamlit.log"
    runs = str(tmp_path_factory.mktemp("e2e-mnist-runs"))
    env = {
        "PLAYGROUND_RUNS": runs,
        "PLAYGROUND_SYNTHETIC_DATA": "1",
        "PLAYGROUND_SAMPLE_EVERY_S": "0.5",
    }
    with streamlit_server(log_path, **env) as url:
        yield url


@pytest.fixture
def demo_page(browser: Browser, demo_url: str) -> Iterator[Page]:
    with fresh_page(browser, 60_000) as page:
        yield page


def shown_step(page: Page) -> int:
    text = page.get_by_test_id("stProgress").first.inner_text()
    match = re.search(r"step (\d[\d,]*)", text)
    assert match, text
    return int(match.group(1).replace(",", ""))


def wait_for_step_above(page: Page, step: int, timeout: float = 90) -> int:
    """The panel refreshes itself every second; wait until it shows more than `step`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.get_by_test_id("stProgress").count() and shown_step(page) > step:
            return shown_step(page)
        page.wait_for_timeout(300)
    raise AssertionError(f"the job never passed step {step}")


def go_to(page: Page, title: str) -> None:
    """Navigate inside the app (same session), as a student does with the sidebar."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)).to_have_attribute(
        "aria-current", "page"
    )
    wait_for_idle(page)


def test_a_job_keeps_training_while_the_student_reads_another_page(
    demo_page: Page, demo_url: str
) -> None:
    page = demo_page
    open_app(page, demo_url, "mnist_gan")
    expect(
        page.get_by_role("heading", name="MNIST digits: DCGAN and conditional GAN")
    ).to_be_visible()
    choose_option(page, "batch size", "32")
    epochs = page.get_by_label("epochs")
    epochs.fill("20")
    epochs.press("Tab")
    page.get_by_role("button", name="Train").click()
    wait_for_idle(page)
    card = page.get_by_text(re.compile(r"· job [0-9a-f]{8} · (queued|running)"))
    expect(card).to_be_visible()
    job_id = re.search(r"job ([0-9a-f]{8})", card.inner_text()).group(1)
    before = wait_for_step_above(page, 0)

    go_to(page, "BCE loss")
    expect(
        page.get_by_role("heading", name="Binary cross-entropy: the loss of the game")
    ).to_be_visible()
    page.wait_for_timeout(3_000)  # the student reads; the server trains
    go_to(page, "MNIST DCGAN / cGAN")

    expect(page.get_by_text(f"job {job_id} · running")).to_be_visible()
    after = wait_for_step_above(page, before)
    assert after > before
    grid = page.get_by_test_id("stImage").filter(has_text="G(fixed noise) at step")
    expect(grid.locator("img")).to_be_visible()
    assert grid.locator("img").evaluate("img => img.naturalWidth") > 100
    assert_no_exception(page)

    page.get_by_role("button", name="Stop").click()  # leave the CPU to the other tests
    expect(page.get_by_text(f"job {job_id} · stopped")).to_be_visible()
    assert_no_exception(page)
