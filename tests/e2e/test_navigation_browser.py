"""In a real Chromium: every page in the navigation bar renders without an exception; BCE reacts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, open_app, wait_for_idle

pytestmark = pytest.mark.e2e


def test_every_page_in_the_navigation_renders_without_exception(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    expect(page.get_by_role("heading", name="GAN Playground")).to_be_visible()
    links = page.get_by_role("navigation", name="App pages").get_by_role("link")
    expect(links.first).to_be_visible()
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) == 10, hrefs
    for href in hrefs:
        page.goto(href)
        wait_for_idle(page)
        expect(page.locator("h1").first).to_be_visible()
        assert_no_exception(page)


def test_bce_slider_changes_the_loss_shown(page: Page, app_url: str) -> None:
    open_app(page, app_url, "bce_loss")
    loss = (
        page.get_by_test_id("stMetric").filter(has_text="BCE loss").get_by_test_id("stMetricValue")
    )
    expect(loss).to_have_text("1.2040")  # -log(0.3), the slider's starting point
    slider = page.get_by_role("slider", name="prediction ŷ = D(x)")
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")  # 0.30 -> 0.40 in steps of 0.01
    wait_for_idle(page)
    expect(loss).to_have_text("0.9163")  # -log(0.4)
    assert_no_exception(page)
