"""Real-browser tests: the app served by `streamlit run` on a free port, driven by Chromium.

Chromium is found at $PLAYWRIGHT_CHROMIUM, /usr/bin/chromium (Debian's `chromium` package), or
Playwright's own browser (`python -m playwright install chromium`). Without one the tests skip
locally, but fail under CI (CI=true), where they must run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    """A Chromium binary to use, or None to try Playwright's own download."""
    for candidate in (os.environ.get("PLAYWRIGHT_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not answer /_stcore/health in time")


@contextmanager
def streamlit_server(log_path: Path, address: str = "127.0.0.1", **env: str) -> Iterator[str]:
    """Start the app exactly as the README does, on a free port of `address` (loopback unless a
    test needs another interface); yield its URL.

    `env` adds environment variables (e.g. PLAYGROUND_RUNS). The server log must hold no
    traceback when the server stops.
    """
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "playground/Home.py",
        "--server.port", str(port), "--server.address", address,
        "--server.headless", "true", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://{address}:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    log_text = log_path.read_text()
    assert "Traceback" not in log_text, log_text[-4000:]


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as the README starts it, with runs in a temporary folder."""
    log_path = tmp_path_factory.mktemp("e2e-log") / "streamlit.log"
    runs = str(tmp_path_factory.mktemp("e2e-runs"))
    with streamlit_server(log_path, PLAYGROUND_RUNS=runs) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        executable = chromium_executable()
        try:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:  # no browser installed at all
            message = (
                f"no Chromium to drive ({exc.__class__.__name__}); install Debian's `chromium` "
                "or run `python -m playwright install chromium`, or set PLAYWRIGHT_CHROMIUM"
            )
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        yield browser
        browser.close()


@contextmanager
def fresh_page(browser: Browser, timeout_ms: int) -> Iterator[Page]:
    """A page in its own browser context (no shared session), waiting up to timeout_ms."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    expect.set_options(timeout=timeout_ms)
    yield page
    context.close()


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    with fresh_page(browser, 30_000) as page:
        yield page


def wait_for_idle(page: Page) -> None:
    """Wait until the script of the current page has finished running."""
    expect(page.locator("[data-test-script-state=notRunning]")).to_have_count(1)


def open_app(page: Page, app_url: str, path: str = "") -> None:
    """Open a page of the app (its url path, e.g. "bce_loss") and wait for it to render."""
    page.goto(f"{app_url}/{path}")
    expect(page.locator("[data-testid=stApp]")).to_be_visible()
    wait_for_idle(page)


def assert_no_exception(page: Page) -> None:
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def choose_option(page: Page, label: str, option: str, tries: int = 10) -> None:
    """Pick `option` in the selectbox labelled `label`.

    A click that lands while the page is still mounting its widgets can be lost, so the dropdown
    is opened until its list is really shown.
    """
    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(tries):
        box.get_by_role("button", name="Open").click()
        try:
            choice.wait_for(state="visible", timeout=2_000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    choice.click()
    expect(box.locator("input")).to_have_value(option)
