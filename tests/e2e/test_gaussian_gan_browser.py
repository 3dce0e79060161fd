"""In a real Chromium: the 1-D GAN page counts D and G updates, and a shared link restores its
settings and seed (the first D step shows the core's number for those settings)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from playground.toy import ToyGAN, ToySettings
from tests.e2e.conftest import assert_no_exception, open_app, wait_for_idle

pytestmark = pytest.mark.e2e


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
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_label("seed", exact=True)).to_have_value("7")
    expect(sidebar.get_by_label("D learning rate", exact=True)).to_have_value("0.00100")
    g_loss = sidebar.get_by_role("combobox", name="G loss")
    expect(g_loss).to_have_value("minimax")
    expect(g_loss).to_be_disabled()  # lock=g_loss
    press(page, "D step")
    expected = ToyGAN(settings).d_step()
    expect(metric(page, "D loss")).to_have_text(f"{expected.d_loss:.4f}")
    expect(metric(page, "D updates")).to_have_text("1")
    assert "seed=7" in page.url and "g_loss=minimax" in page.url
    assert_no_exception(page)
