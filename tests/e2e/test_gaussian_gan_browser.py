"""In a real Chromium: the 1-D GAN page counts D and G updates, and a shared link restores its
settings and seed (the first D step shows the core's number for those settings) and, carrying
the presses, reopens the experiment at the same step with the same numbers in a fresh browser."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from playground.toy import ToyGAN, ToySettings, read_presses, replay_presses
from tests.e2e.conftest import assert_no_exception, fresh_page, open_app, wait_for_idle

pytestmark = pytest.mark.e2e

CHART_KEYS = (
    "toy_densities", "toy_discriminator", "toy_map", "toy_losses", "toy_d_outputs",
    "toy_divergences",
)  # fmt: skip


def metric(page: Page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def press(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    wait_for_idle(page)


def test_three_d_steps_and_one_g_step_are_counted(page: Page, app_url: str) -> None:
    open_app(page, app_url, "gaussian_gan")
    expect(metric(page, "D updates")).to_have_text("0")
    for count in (1, 2, 3):
        press(page, "D step")
        expect(metric(page, "D updates")).to_have_text(str(count))
    press(page, "G step")
    expect(metric(page, "D updates")).to_have_text("3")
    expect(metric(page, "G updates")).to_have_text("1")
    expect(page.get_by_test_id("stAlertContentInfo").first).to_contain_text("G step 1:")
    assert_no_exception(page)


def test_a_shared_link_restores_its_settings_and_seed(page: Page, app_url: str) -> None:
    settings = ToySettings(seed=7, lr_d=0.001, g_loss="minimax")
    query = "&".join(f"{name}={value}" for name, value in settings.to_params().items())
    open_app(page, app_url, f"gaussian_gan?{query}&lock=g_loss")
    page.get_by_text("Settings: data, networks").click()  # the folded settings form
    form = page.get_by_test_id("stForm")
    expect(form.get_by_label("seed", exact=True)).to_have_value("7")
    expect(form.get_by_label("D learning rate", exact=True)).to_have_value("0.00100")
    g_loss = form.get_by_role("combobox", name="G loss")
    expect(g_loss).to_have_value("minimax")
    expect(g_loss).to_be_disabled()  # lock=g_loss
    press(page, "D step")
    expected = ToyGAN(settings).d_step()
    expect(metric(page, "D loss")).to_have_text(f"{expected.d_loss:.4f}")
    expect(metric(page, "D updates")).to_have_text("1")
    assert "seed=7" in page.url and "g_loss=minimax" in page.url
    assert_no_exception(page)


def test_a_press_during_a_run_waits_for_it_and_stop_ends_the_run(page: Page, app_url: str) -> None:
    """A second click while "Run N steps" trains once started a second script thread on the same
    networks (that corrupted them and once crashed the server). Now the press waits for the run,
    as the page says, and is done once after it; Stop ends the run where it is."""
    open_app(page, app_url, "gaussian_gan")
    n = page.get_by_label("N", exact=True)
    n.fill("600")
    n.press("Enter")
    wait_for_idle(page)
    page.get_by_role("button", name="Run N steps", exact=True).click()
    expect(page.get_by_text("other presses wait for the run to end").first).to_be_visible()
    page.get_by_role("button", name="D step", exact=True).click()
    expect(metric(page, "G updates")).to_have_text("600", timeout=120_000)
    expect(metric(page, "D updates")).to_have_text("601")  # the waiting D step, done once
    wait_for_idle(page)
    assert_no_exception(page)

    page.get_by_role("button", name="Run N steps", exact=True).click()
    expect(page.get_by_text("other presses wait for the run to end").first).to_be_visible()
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text("Stopped after")).to_be_visible()
    wait_for_idle(page)
    stopped = page.get_by_text("Stopped after").inner_text()
    done = int(stopped.split("Stopped after ")[1].split(" of ")[0])
    assert 0 < done < 600
    expect(metric(page, "G updates")).to_have_text(str(600 + done))
    assert_no_exception(page)


def test_a_press_redraws_the_charts_in_place(page: Page, app_url: str) -> None:
    """The charts stay the same elements across presses (the browser does not build them
    again) while what they draw follows the press: the student sees every picture change."""
    open_app(page, app_url, "gaussian_gan")
    charts = page.locator(".live-chart")
    expect(charts).to_have_count(6)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.live-chart')].every((c) => c.querySelector('.main-svg'))"
    )
    before = page.evaluate(
        "() => [...document.querySelectorAll('.live-chart')].map((c, i) => {"
        " c.dataset.tag = i; return JSON.stringify(c.data.map((t) => t.y)); })"
    )
    press(page, "G step")
    expect(metric(page, "G updates")).to_have_text("1")
    page.wait_for_function(
        "(before) => [...document.querySelectorAll('.live-chart')]"
        ".some((c, i) => JSON.stringify(c.data.map((t) => t.y)) !== before[i])",
        arg=before,
    )
    tags = page.evaluate(
        "() => [...document.querySelectorAll('.live-chart')].map((c) => c.dataset.tag)"
    )
    assert tags == [str(i) for i in range(6)], "each chart kept its element"
    after = page.evaluate(
        "() => [...document.querySelectorAll('.live-chart')].map((c) => JSON.stringify(c.data.map((t) => t.y)))"
    )
    changed = [key for key, b, a in zip(CHART_KEYS, before, after, strict=True) if b != a]
    assert {"toy_densities", "toy_map", "toy_losses"} <= set(changed), changed
    assert_no_exception(page)


NUMBERS = ("D updates", "G updates", "D loss", "G loss", "D(real)", "D(fake)", "JS(p_data ‖ p_g)")


def shown_numbers(page: Page) -> dict[str, str]:
    return {label: metric(page, label).inner_text() for label in NUMBERS}


def test_a_link_with_presses_reproduces_the_numbers_in_a_fresh_browser(
    browser: Browser, page: Page, app_url: str
) -> None:
    open_app(page, app_url, "gaussian_gan?seed=11")
    presses = (("D step", 1, 0), ("D step", 2, 0), ("G step", 2, 1), ("1 D + 1 G", 3, 2))
    for label, d_updates, g_updates in presses:
        press(page, label)
        expect(metric(page, "D updates")).to_have_text(str(d_updates))  # each press counted
        expect(metric(page, "G updates")).to_have_text(str(g_updates))
    press(page, "Run N steps")  # N = 200, the default: seconds on a loaded machine
    expect(metric(page, "G updates")).to_have_text("202", timeout=120_000)
    expect(page).to_have_url(re.compile(r"presses=2d(,|%2C)g(,|%2C)s(,|%2C)200r"))  # it follows
    query = parse_qs(urlsplit(page.url).query)
    assert query["presses"] == ["2d,g,s,200r"] and query["seed"] == ["11"]
    first = shown_numbers(page)

    with fresh_page(browser, 60_000) as other:  # a new browser context: no shared session
        open_app(other, app_url, "gaussian_gan?" + urlsplit(page.url).query)
        expect(metric(other, "G updates")).to_have_text("202", timeout=120_000)  # replayed
        assert shown_numbers(other) == first
        assert_no_exception(other)

    core = ToyGAN(ToySettings(seed=11))
    replay_presses(core, read_presses("2d,g,s,200r", core.settings))
    latest = core.last_losses()
    assert first["D loss"] == f"{latest['d_loss']:.4f}"
    assert first["JS(p_data ‖ p_g)"] == f"{core.current.measures.js:.4f}"
