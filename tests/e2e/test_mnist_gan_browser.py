"""In a real Chromium: a background job keeps training while the student reads another page,
and its card's downloads work while it trains.

The server here runs in demo mode (PLAYGROUND_SYNTHETIC_DATA=1: small generated digits), so the
job is small and fast on a CPU and no MNIST is needed.
"""

from __future__ import annotations

import csv
import io
import re
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from playground.jobs import HISTORY_COLUMNS
from playground.train import load_generator
from tests.conftest import ROOT
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
        "PLAYGROUND_CHECKPOINT_EVERY": "16",  # a generator to download within seconds
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
    """Navigate inside the app (same session), as a student does with the page menu (in the
    sidebar or along the top)."""
    menu = page.locator("[data-testid=stSidebarNav], [data-testid=stTopNav]")
    link = menu.get_by_role("link", name=title, exact=True)
    address = link.get_attribute("href")
    link.click()
    expect(page).to_have_url(address)
    wait_for_idle(page)


def start_job(page: Page, epochs: str) -> str:
    """Press Train with batch 32 and `epochs`; the new job's id (jobs are listed newest first)."""
    choose_option(page, "batch size", "32")
    field = page.get_by_label("epochs")
    field.fill(epochs)
    field.press("Tab")
    page.get_by_role("button", name="Train").click()
    wait_for_idle(page)
    card = page.get_by_text(re.compile(r"· job [0-9a-f]{8} · (queued|running)")).first
    expect(card).to_be_visible()
    return re.search(r"job ([0-9a-f]{8})", card.inner_text()).group(1)


def test_a_job_keeps_training_while_the_student_reads_another_page(
    demo_page: Page, demo_url: str
) -> None:
    page = demo_page
    open_app(page, demo_url, "mnist_gan")
    expect(
        page.get_by_role("heading", name="MNIST digits: DCGAN and conditional GAN")
    ).to_be_visible()
    job_id = start_job(page, "20")
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


def download(page: Page, button: str) -> bytes:
    """Click a download button and return the file the browser saved."""
    with page.expect_download() as saved:
        page.get_by_role("button", name=button).click()
    return Path(saved.value.path()).read_bytes()


def test_a_running_jobs_generator_and_losses_download_from_its_card(
    demo_page: Page, demo_url: str
) -> None:
    page = demo_page
    open_app(page, demo_url, "mnist_gan")
    job_id = start_job(page, "20")
    expect(page.get_by_role("button", name="Generator")).to_be_visible()  # first checkpoint
    wait_for_idle(page)
    page.wait_for_timeout(2_500)  # the job's view has refreshed itself since: the ids still hold

    for _ in range(3):  # each click may land on a refresh of the job's view
        rows = list(csv.reader(io.StringIO(download(page, "Losses CSV").decode())))
        assert tuple(rows[0]) == HISTORY_COLUMNS and len(rows) > 1
        steps = [int(row[0]) for row in rows[1:]]
        assert steps == sorted(steps) and steps[0] > 0
        generator, settings, meta = load_generator(download(page, "Generator"))
        assert settings.epochs == 20 and settings.batch_size == 32
        assert meta["kind"] == "generator" and meta["step"] >= 16
    expect(page.get_by_text(f"job {job_id} · running")).to_be_visible()
    assert_no_exception(page)

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(f"job {job_id} · stopped")).to_be_visible()


def test_the_page_shows_the_configured_upload_limit_and_plain_epochs(
    demo_page: Page, demo_url: str
) -> None:
    page = demo_page
    open_app(page, demo_url, "mnist_gan")
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit = f"{config['server']['maxUploadSize']}MB per file"
    expect(page.get_by_test_id("stFileUploaderDropzoneInstructions")).to_contain_text(limit)
    expect(page.get_by_label("epochs")).to_have_value("1")  # not "1.00"
