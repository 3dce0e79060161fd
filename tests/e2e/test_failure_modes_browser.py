"""In a real Chromium: a failure-mode tab trains its presets on Run, shows the failure beside the
fix, and opens the failing 1-D preset in the stepper for stepping by hand."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from playground.failures import LESSONS
from tests.e2e.conftest import assert_no_exception, open_app, wait_for_idle

pytestmark = pytest.mark.e2e


def test_run_shows_failure_and_fix_then_opens_the_stepper(page: Page, app_url: str) -> None:
    open_app(page, app_url, "failure_modes")
    lesson = LESSONS["vanishing_gradients"]
    page.get_by_role("tab", name=lesson.title).click()
    panel = page.get_by_role("tabpanel", name=lesson.title)
    panel.get_by_role("button", name="Run the failure and its fix").click()
    wait_for_idle(page)
    expect(panel.get_by_test_id("stAlertContentError")).to_contain_text(
        "stuck far from the data", timeout=120_000
    )
    expect(panel.get_by_test_id("stAlertContentSuccess")).to_contain_text("reached the data")
    expect(panel.locator(".js-plotly-plot")).to_have_count(5)
    assert_no_exception(page)
    panel.get_by_role("button", name="Step through it by hand").first.click()
    wait_for_idle(page)
    expect(page).to_have_url(re.compile(r"gaussian_gan\?.*g_loss=minimax"))
    expect(
        page.get_by_role("heading", name="A 1-D Gaussian GAN, one update at a time")
    ).to_be_visible()
    assert_no_exception(page)
