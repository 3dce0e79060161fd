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
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
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


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the app exactly as the README does, on a free loopback port."""
    port = _free_port()
    runs = tmp_path_factory.mktemp("e2e-runs")
    log_path = tmp_path_factory.mktemp("e2e-log") / "streamlit.log"
    env = {**os.environ, "PLAYGROUND_RUNS": str(runs)}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "playground/Home.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.returncode not in (0, -15, None):
            print(log_path.read_text()[-4000:])


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


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    yield page
    context.close()


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
