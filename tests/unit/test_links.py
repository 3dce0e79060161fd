"""Lesson links: the address an instructor projects reopens the same 1-D experiment, locks included."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from playground.links import LinkError, lesson_link, qr_png, settings_from_link
from playground.toy import ToySettings
from playground.tricks import TRICK_FIELDS


def test_a_lesson_link_reopens_the_same_settings_and_locks() -> None:
    settings = ToySettings(lr_d=0.01, lr_g=0.01, g_loss="minimax", seed=7)
    link = lesson_link("https://gan.example.edu/course/", settings, ["lr_g", "g_loss"])
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "gan.example.edu",
        "/course/gaussian_gan",
    )
    params = parse_qs(parts.query, keep_blank_values=True)
    opened, locked, problems = settings_from_link(params)
    assert (opened, locked, problems) == (settings, frozenset({"lr_g", "g_loss"}), [])


def test_locking_everything_is_written_as_all() -> None:
    link = lesson_link("http://127.0.0.1:8501", ToySettings(), ["all"])
    params = parse_qs(urlsplit(link).query)
    assert params["lock"] == ["all"]
    assert settings_from_link(params)[1] == frozenset(
        {"target", "real_mean", "real_std", "noise", "noise_dim", "g_hidden", "d_hidden"}
        | {"optimizer"}
        | {"lr_d", "lr_g", "momentum", "beta1", "beta2", "batch_size", "g_loss", "k_d", "seed"}
        | set(TRICK_FIELDS)
    )


@pytest.mark.parametrize("address", ["gan.example.edu", "ftp://x/", "javascript:alert(1)", ""])
def test_an_address_that_is_not_http_is_refused(address: str) -> None:
    with pytest.raises(LinkError, match="must start with http"):
        lesson_link(address, ToySettings())


def test_unknown_locks_and_bad_settings_are_refused_with_a_message() -> None:
    with pytest.raises(LinkError, match="unknown settings"):
        lesson_link("http://h/", ToySettings(), ["lr_x"])
    with pytest.raises(ValueError, match="lr_d"):
        lesson_link("http://h/", ToySettings(lr_d=5.0))


def test_the_qr_code_is_a_png_that_encodes_the_link() -> None:
    png = qr_png("https://gan.example.edu/course/gaussian_gan?seed=7")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 200
