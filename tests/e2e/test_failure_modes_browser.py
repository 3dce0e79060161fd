"""In a real Chromium: a failure-mode tab shows its presets' runs on Run (the default seed's at
once, from the shipped file), the failure beside the fix, and opens the failing 1-D preset in the
stepper for stepping by hand."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from playground.failures import LESSONS
from tests.e2e.conftest import assert_no_exception, open_app, wait_for_idle

pytestmark = pytest.mark.e2e

FIRST_RUN_S = 5.0
"""A lecture's first Run (the default seed) shows both verdicts this soon after the click: the
runs ship with the app (training them takes 20-40 s on a 2-core server)."""


def run_default_seed(page: Page, key: str, failed: str, fixed: str) -> Locator:
    """Press Run on lesson `key`'s tab; both verdicts must show within FIRST_RUN_S."""
    lesson = LESSONS[key]
    page.get_by_role("tab", name=lesson.title).click()
    panel = page.get_by_role("tabpanel", name=lesson.title)
    started = time.monotonic()
    panel.get_by_role("button", name="Run the failure and its fix").click()
    expect(panel.get_by_test_id("stAlertContentError")).to_contain_text(
        failed, timeout=FIRST_RUN_S * 1000
    )
    expect(panel.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        fixed, timeout=FIRST_RUN_S * 1000
    )
    took = time.monotonic() - started
    assert took <= FIRST_RUN_S, f"{key}: the verdicts took {took:.1f} s"
    wait_for_idle(page)
    return panel


def test_first_run_of_mode_collapse_shows_both_verdicts_at_once(page: Page, app_url: str) -> None:
    open_app(page, app_url, "failure_modes")
    panel = run_default_seed(page, "mode_collapse", "collapsed", "covers the ring")
    expect(panel.locator(".js-plotly-plot")).to_have_count(4)
    assert_no_exception(page)


def test_run_shows_failure_and_fix_then_opens_the_stepper(page: Page, app_url: str) -> None:
    open_app(page, app_url, "failure_modes")
    panel = run_default_seed(
        page, "vanishing_gradients", "stuck far from the data", "reached the data"
    )
    expect(panel.locator(".js-plotly-plot")).to_have_count(5)
    assert_no_exception(page)
    panel.get_by_role("button", name="Step through it by hand").first.click()
    wait_for_idle(page)
    expect(page).to_have_url(re.compile(r"gaussian_gan\?.*g_loss=minimax"))
    expect(
        page.get_by_role("heading", name="A 1-D Gaussian GAN, one update at a time")
    ).to_be_visible()
    assert_no_exception(page)


def test_the_tricks_tab_shows_the_shipped_table_and_its_chart_at_once(
    page: Page, app_url: str
) -> None:
    open_app(page, app_url, "failure_modes")
    page.get_by_role("tab", name="Tricks").click()
    panel = page.get_by_role("tabpanel", name="Tricks")
    expect(panel.get_by_test_id("stDataFrame")).to_be_visible(timeout=FIRST_RUN_S * 1000)
    expect(panel.locator(".js-plotly-plot")).to_have_count(1)
    expect(panel).to_contain_text("What these seeds show.")
    assert_no_exception(page)
