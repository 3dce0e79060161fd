"""In a real Chromium: a student draws a distribution with the lasso on the 2-D page's canvas
and trains on it; a D step changes the heatmap, a G step the manifold; the page's address
reopens the same experiment at the same step, with the same numbers, in a fresh browser."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from playground.plane import read_drawn
from tests.e2e.conftest import assert_no_exception, fresh_page, open_app, wait_for_idle

pytestmark = pytest.mark.e2e

PICTURE = "() => document.querySelector('.live-chart')"
NUMBERS = ("D updates", "G updates", "D(real)", "D(fake)", "JS (estimate)")


def metric(page: Page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def press(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    wait_for_idle(page)


def picture_part(page: Page, trace: int, field: str) -> str:
    """One field of one trace of the plane picture, as the browser holds it."""
    page.wait_for_function("() => document.querySelector('.live-chart .main-svg')")
    return page.evaluate(
        f"() => JSON.stringify(document.querySelector('.live-chart').data[{trace}].{field})"
    )


def draw_with_the_lasso(page: Page) -> None:
    page.get_by_text("Draw your own data").click()
    canvas = page.get_by_test_id("stPlotlyChart").first
    expect(canvas.locator(".nsewdrag").first).to_be_visible()
    box = canvas.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    cx, cy, w, h = (
        box["x"] + box["width"] / 2,
        box["y"] + box["height"] / 2,
        box["width"],
        box["height"],
    )
    page.mouse.move(cx - 0.3 * w, cy - 0.1 * h)
    page.mouse.down()
    for dx, dy in ((-0.1, -0.3), (0.1, -0.3), (0.3, 0.0), (0.1, 0.3), (-0.1, 0.3), (-0.3, 0.0)):
        page.mouse.move(cx + dx * w, cy + dy * h, steps=5)
    page.mouse.up()
    wait_for_idle(page)


def test_draw_train_step_and_reopen_the_link(browser: Browser, page: Page, app_url: str) -> None:
    open_app(page, app_url, "gan_2d")
    draw_with_the_lasso(page)
    use = page.get_by_role("button", name="Train on the selected points", exact=False)
    expect(use).to_be_enabled()
    use.click()
    expect(page).to_have_url(re.compile(r"data=drawn"))
    wait_for_idle(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["data"] == ["drawn"]
    assert len(read_drawn(query["drawn"][0])) >= 10
    heatmap, manifold = picture_part(page, 0, "z"), picture_part(page, 1, "x")
    press(page, "D step")
    expect(metric(page, "D updates")).to_have_text("1")
    page.wait_for_function(
        "(before) => JSON.stringify(document.querySelector('.live-chart').data[0].z) !== before",
        arg=heatmap,
    )
    assert picture_part(page, 1, "x") == manifold  # a D step leaves G alone
    press(page, "G step")
    expect(metric(page, "G updates")).to_have_text("1")
    page.wait_for_function(
        "(before) => JSON.stringify(document.querySelector('.live-chart').data[1].x) !== before",
        arg=manifold,
    )
    shown = {label: metric(page, label).inner_text() for label in NUMBERS}
    assert "presses=d%2Cg" in page.url or "presses=d,g" in page.url
    with fresh_page(browser, 60_000) as other:
        other.goto(page.url)
        wait_for_idle(other)
        expect(metric(other, "G updates")).to_have_text("1")
        assert {label: metric(other, label).inner_text() for label in NUMBERS} == shown
        assert_no_exception(other)
    assert_no_exception(page)
