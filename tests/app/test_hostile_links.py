"""Every page opened from a link carrying anything in its query string (random names and text,
huge numbers, NaN, repeated parameters): the page renders, with a message where the link is
refused, and never an exception."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from playground.toy import ToySettings
from tests.app.conftest import ENTRY

PAGES = [
    None,
    "bce_loss.py",
    "gaussian_gan.py",
    "mnist_gan.py",
    "vae_vs_gan.py",
    "failure_modes.py",
    "saddle_point.py",
    "batch_norm.py",
    "latent_space.py",
    "gan_2d.py",
]

names = st.one_of(
    st.sampled_from(
        [f.name for f in fields(ToySettings)]
        + ["lock", "page", "presses", "preset", "data", "drawn", "noise_dim", "g_layers"]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=10),
)
texts = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30),
    st.sampled_from(["9" * 3000, "nan", "-inf", "1e999", "all", "lr_d,nope", "0x1f", ""]),
    st.sampled_from(["3d,g,20r", "2000r,2000r", "d," * 600, "seed-3", "lr_g-nan", "circling"]),
)
query = st.dictionaries(names, st.lists(texts, min_size=1, max_size=2), min_size=1, max_size=4)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p or "home")
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=query)
@example(params={"seed": ["9" * 3000]})  # once an OverflowError on the 1-D page
@example(params={"seed": ["1", "2"], "lr_d": ["nan"], "k_d": ["-5"]})
@example(params={"presses": ["2d,g,5r,lr_g-0.0007,s"], "preset": ["circling"], "seed": ["3"]})
@example(params={"presses": ["99999r"], "preset": ["nope", "circling"]})
@example(params={"data": ["drawn"], "drawn": ["1_2~x"], "presses": ["d,g_layers-3"]})
def test_any_link_renders_the_page_without_an_exception(page: str | None, params) -> None:
    at = AppTest.from_file(str(ENTRY), default_timeout=120)
    at.query_params.update(params)
    at.run()
    if page is not None:
        at.switch_page(f"../pages/{page}")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
