"""In a real Chromium at a small laptop's width (800 px) and a phone's (390 px): every page fits.
No button, image, chart or metric runs off the screen, no label or number is cut to "…", no two
chart titles overlap, and no sidebar squeezes the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import fresh_page, open_app, wait_for_idle

pytestmark = pytest.mark.e2e

WIDTHS = (800, 390)
PAGES = (
    "", "bce_loss", "gaussian_gan", "mnist_gan", "vae_vs_gan", "failure_modes", "saddle_point",
    "batch_norm", "latent_space", "gan_2d",
)  # fmt: skip

LAYOUT_PROBLEMS = """
() => {
  const width = window.innerWidth;
  const problems = [];
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const shownBox = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? r : null;
  };
  const name = (el) => (el.innerText || el.textContent || el.getAttribute('aria-label') || el.tagName).trim().slice(0, 40);
  const boxes = 'button, img, .js-plotly-plot, [data-testid="stMetric"], [data-testid="stDataFrame"], [data-testid="stNumberInput"], [data-testid="stSlider"]';
  for (const el of main.querySelectorAll(boxes)) {
    if (el.closest('[data-testid="stElementToolbar"]')) continue;  // shown on hover, inside
    const r = shownBox(el);
    if (r && (r.right > width + 1 || r.left < -1)) {
      problems.push(`${el.tagName.toLowerCase()} "${name(el)}" spans x ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
    }
  }
  const texts = '.stMarkdownEllipsis, .stMarkdownEllipsis p, button p, [data-testid="stMetricValue"] div, [data-testid="stMetricLabel"] p, [data-testid="stPageLink"] p, [data-testid="stWidgetLabel"] p';
  for (const el of document.querySelectorAll(texts)) {
    if (shownBox(el) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`"${name(el)}" is cut short (${el.scrollWidth} px of text in ${el.clientWidth} px)`);
    }
  }
  for (const plot of main.querySelectorAll('.js-plotly-plot')) {
    const titles = [...plot.querySelectorAll('.annotation-text, .gtitle')].map((e) => [e, shownBox(e)]).filter(([, r]) => r);
    for (let i = 0; i < titles.length; i++) {
      for (let j = i + 1; j < titles.length; j++) {
        const [a, ra] = titles[i], [b, rb] = titles[j];
        const overlap = ra.left < rb.right - 1 && rb.left < ra.right - 1 && ra.top < rb.bottom - 1 && rb.top < ra.bottom - 1;
        if (overlap) problems.push(`chart titles "${name(a)}" and "${name(b)}" overlap`);
      }
    }
  }
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (sidebar && sidebar.getAttribute('data-collapsed') === 'false' && width < 1000) {
    const r = shownBox(sidebar);
    if (r && r.right > 0) problems.push(`the sidebar is open and takes ${Math.round(r.width)} of ${width} px`);
  }
  return problems;
}
"""
"""What does not fit the screen, in words (empty when the page fits)."""


def settled(page: Page) -> None:
    """Wait for the script to finish and every chart to be drawn (plotly mounts after it)."""
    wait_for_idle(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stPlotlyChart], .live-chart')]"
        ".every((chart) => chart.querySelector('.main-svg'))"
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_a_narrow_screen(browser: Browser, app_url: str, width: int) -> None:
    with fresh_page(browser, 60_000) as page:
        page.set_viewport_size({"width": width, "height": 900})
        problems = {}
        for path in PAGES:
            open_app(page, app_url, path)
            if path == "failure_modes":  # the runs and their charts, not only the intro
                page.get_by_role("button", name="Run the failure and its fix").first.click()
                expect(page.get_by_text("iteration shown").first).to_be_visible()
            settled(page)
            problems[path or "home"] = page.evaluate(LAYOUT_PROBLEMS)
        assert problems == {path or "home": [] for path in PAGES}


def test_the_page_map_on_home_is_never_cut_at_a_desktop_width(
    browser: Browser, app_url: str
) -> None:
    with fresh_page(browser, 60_000) as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        open_app(page, app_url)
        settled(page)
        assert page.evaluate(LAYOUT_PROBLEMS) == []
        expect(page.get_by_text("beside the one-setting change that fixes it")).to_be_visible()
