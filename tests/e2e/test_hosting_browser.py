"""In a real Chromium, as a course server is hosted: behind a login proxy only connections that
come through the proxy may use the app (a student cannot claim another's name by sending the
owner header himself)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from playground.ui.state import PROXY_SECRET_HEADER
from tests.e2e.conftest import open_app, streamlit_server

pytestmark = pytest.mark.e2e

REFUSED = "only accepts connections through its login proxy"


def visit(browser: Browser, url: str, headers: dict[str, str]):
    """A fresh browser session opening `url` with `headers` on every request (websocket too)."""
    context = browser.new_context(extra_http_headers=headers)
    page = context.new_page()
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)
    open_app(page, url)
    return context, page


def test_only_requests_carrying_the_proxy_secret_are_served(
    browser: Browser, tmp_path: Path
) -> None:
    env = {
        "PLAYGROUND_OWNER_HEADER": "X-Forwarded-User",
        "PLAYGROUND_PROXY_SECRET": "e2e-proxy-secret",
        "PLAYGROUND_RUNS": str(tmp_path / "runs"),
    }
    with streamlit_server(tmp_path / "streamlit.log", **env) as url:
        context, page = visit(browser, url, {"X-Forwarded-User": "alice"})
        expect(page.get_by_text(REFUSED)).to_be_visible()
        expect(page.get_by_role("heading", name="GAN Playground")).to_have_count(0)
        page.goto(f"{url}/mnist_gan")  # no page of the app, whatever the address
        expect(page.get_by_text(REFUSED)).to_be_visible()
        expect(page.get_by_text("Train your own")).to_have_count(0)
        context.close()

        proxied = {"X-Forwarded-User": "alice", PROXY_SECRET_HEADER: "e2e-proxy-secret"}
        context, page = visit(browser, url, proxied)
        expect(page.get_by_role("heading", name="GAN Playground")).to_be_visible()
        expect(page.get_by_text(REFUSED)).to_have_count(0)
        context.close()


def outside_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_without_a_secret_only_this_machine_may_send_the_owner_header(
    browser: Browser, tmp_path: Path
) -> None:
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback interface to connect from")
    env = {"PLAYGROUND_OWNER_HEADER": "X-Forwarded-User", "PLAYGROUND_RUNS": str(tmp_path)}
    with streamlit_server(tmp_path / "streamlit.log", address="0.0.0.0", **env) as url:
        port = url.rsplit(":", 1)[1]
        context, page = visit(browser, f"http://{address}:{port}", {"X-Forwarded-User": "bob"})
        expect(page.get_by_text(REFUSED)).to_be_visible()
        context.close()
        context, page = visit(browser, f"http://127.0.0.1:{port}", {"X-Forwarded-User": "bob"})
        expect(page.get_by_role("heading", name="GAN Playground")).to_be_visible()
        context.close()
