"""The latent-space page under AppTest: the shipped DCGAN's samples with suggested groups, the
equation of pictures decoded by the shipped G, the cGAN's styles under every label, the
autoencoder's and the VAE's paths and priors; a bad choice, a missing model or missing test
digits is a message, never a traceback."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from playground import autoencoding, latent, shipped
from playground.figures import latent as figures
from playground.figures.mnist import sample_grid
from playground.ui.latent import OPENING_SEEDS, OPENING_STRENGTH
from tests.conftest import ROOT

PAGE = ROOT / "pages" / "latent_space.py"
CHARTS = 7  # DCGAN grid, equation, cGAN grid, its styles, both paths, their measures, priors


@pytest.fixture(autouse=True)
def synthetic_test_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The autoencoder section encodes test digits: synthetic ones here, never a download."""
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")


def open_page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.run()
    return at


def charts(at: AppTest) -> list[dict]:
    """The page's plotly figures in page order, as the browser receives them."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def shown_image(chart: dict) -> np.ndarray:
    """The grayscale picture inside a chart (its image trace's PNG), as ints (h, w)."""
    png = base64.b64decode(chart["data"][0]["source"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L")).astype(int)


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def multiselect(at: AppTest, label_start: str):
    return next(m for m in at.multiselect if m.label.startswith(label_start))


def test_the_page_opens_with_suggested_groups_the_equation_and_the_styles() -> None:
    at = open_page()
    assert not at.exception and not at.error and not at.warning
    assert [h.value for h in at.header] == [
        "1. Arithmetic on z",
        "2. The cGAN: z is the style, y is the digit",
        "3. Autoencoder vs VAE: holes in the latent space",
    ]
    samples = latent.arithmetic_samples(shipped.load("dcgan").sampler, OPENING_SEEDS["dcgan"])
    group_a, group_b = latent.suggested_groups(samples.images, "slant", samples.digits)
    assert multiselect(at, "group A").value == list(group_a)
    assert multiselect(at, "group B").value == list(group_b)
    assert len(charts(at)) == CHARTS
    assert "Measured: the slant of the digits went from" in texts(at.markdown)
    assert "Midway between two test digits of different kinds (t = 0.5" in texts(at.markdown)
    assert "How long are the codes |z| of test digits" in texts(at.markdown)


def test_the_mean_of_group_a_shown_is_g_of_the_mean_z() -> None:
    """The first picture of the equation is the shipped G's decoding of mean_z(A), for the page's
    own seed and groups."""
    at = open_page()
    group_a, group_b = multiselect(at, "group A").value, multiselect(at, "group B").value
    targets = multiselect(at, "digits to change").value
    generator = shipped.load("dcgan").sampler
    noise = shipped.draw_noise(generator, latent.ARITHMETIC_SAMPLES, OPENING_SEEDS["dcgan"])
    mean_a = noise[group_a].mean(dim=0)
    generator.eval()
    picture_a = sample_grid(generator(mean_a[None]).detach(), 1, padding=0).astype(int)
    equation = shown_image(charts(at)[1])
    x, y = (round(v + 0.5) for v in figures.cell_origin(0, 4, figures.EQUATION_GAP))
    assert np.abs(equation[y : y + 28, x : x + 28] - picture_a).max() <= 1
    rows = (equation.shape[0] - figures.EQUATION_GAP) // (28 + figures.EQUATION_GAP)
    assert rows == len(targets)
    expected = latent.latent_arithmetic(
        generator,
        latent.ArithmeticSettings(
            seed=OPENING_SEEDS["dcgan"],
            group_a=tuple(group_a),
            group_b=tuple(group_b),
            targets=tuple(targets),
            strength=OPENING_STRENGTH,
        ),
    )
    result = sample_grid(expected.results[:1], 1, padding=0).astype(int)
    x, y = (round(v + 0.5) for v in figures.cell_origin(3, 4, figures.EQUATION_GAP))
    assert np.abs(equation[y : y + 28, x : x + 28] - result).max() <= 1


def test_a_stronger_move_changes_the_result_but_not_the_samples() -> None:
    at = open_page()
    before = charts(at)
    at.slider[0].set_value(2.0).run()
    assert not at.exception and not at.error
    after = charts(at)
    assert after[0]["data"][0]["source"] == before[0]["data"][0]["source"]
    assert after[1]["data"][0]["source"] != before[1]["data"][0]["source"]
    headings = [a["text"] for a in after[1]["layout"]["annotations"]]
    assert any("G(z + 2·(" in text for text in headings)


def test_a_new_seed_draws_new_samples_and_suggests_groups_afresh() -> None:
    at = open_page()
    before = charts(at)[0]["data"][0]["source"]
    at.number_input[0].set_value(7).run()
    assert not at.exception and not at.error
    assert charts(at)[0]["data"][0]["source"] != before
    samples = latent.arithmetic_samples(shipped.load("dcgan").sampler, 7)
    group_a, _ = latent.suggested_groups(samples.images, "slant", samples.digits)
    assert multiselect(at, "group A").value == list(group_a)


def test_a_sample_in_both_groups_is_a_message_and_the_grid_stays() -> None:
    at = open_page()
    shared = multiselect(at, "group B").value[0]
    multiselect(at, "group A").set_value([shared]).run()
    assert not at.exception
    assert f"a sample is in group A or group B, not both: [{shared}]" in texts(at.error)
    assert len(charts(at)) == CHARTS - 1  # only the equation is missing
    multiselect(at, "group A").set_value([]).run()
    assert "group A must hold 1 to 16 samples, got 0" in texts(at.error)


def test_no_kept_style_is_a_message() -> None:
    at = open_page()
    multiselect(at, "samples whose style").set_value([]).run()
    assert not at.exception
    assert "the samples to keep must hold 1 to 5 samples, got 0" in texts(at.error)


def test_the_kept_styles_are_the_cgans_z_under_every_label() -> None:
    at = open_page()
    kept = multiselect(at, "samples whose style").value
    rows = latent.style_transfer(shipped.load("cgan").sampler, OPENING_SEEDS["cgan"], tuple(kept))
    expected = sample_grid(rows, 10).astype(int)
    # The figure's image is exactly the grid of G(z_i, y) for y = 0..9 (one grey level at most).
    assert np.abs(shown_image(charts(at)[3]) - expected).max() <= 1


def test_missing_models_are_explained_with_the_command_that_trains_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shipped, "MODELS_DIR", tmp_path)
    at = open_page()
    assert not at.exception and not at.error
    for model in ("dcgan", "cgan", "ae", "vae"):
        assert f"python -m playground.train {model} --threads 1" in texts(at.warning)
    assert not charts(at)


def test_the_paths_are_both_models_decoding_the_line_through_the_chosen_digits() -> None:
    at = open_page()
    choice = autoencoding.PathSettings()  # what the page opens on
    assert [b.value for b in at.selectbox] == [choice.digit_a, choice.digit_b]
    digits = shipped.real_digits(True, "unused")
    ends = autoencoding.path_ends(digits, choice)
    rows = [autoencoding.latent_path(shipped.load(n).vae, ends).images for n in ("ae", "vae")]
    expected = sample_grid(torch.cat(rows), len(autoencoding.PATH_T)).astype(int)
    assert np.abs(shown_image(charts(at)[4]) - expected).max() <= 1
    measures = charts(at)[5]
    assert [trace["name"] for trace in measures["data"]] == ["autoencoder", "VAE"] * 2


def test_another_digit_changes_the_paths_but_not_the_prior() -> None:
    at = open_page()
    before = charts(at)
    at.selectbox[1].set_value(5).run()
    assert not at.exception and not at.error
    after = charts(at)
    assert after[4]["data"][0]["source"] != before[4]["data"][0]["source"]
    assert after[6]["data"][0]["source"] == before[6]["data"][0]["source"]


def test_missing_test_digits_say_how_to_fetch_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLAYGROUND_SYNTHETIC_DATA")
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path / "empty"))
    at = open_page()
    assert not at.exception and not at.error
    assert "python -m playground.data fetch" in texts(at.warning)
    assert len(charts(at)) == 4  # sections 1 and 2 need no data
