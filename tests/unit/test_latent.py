"""Latent space: the arithmetic on z is the one torch computes, every picture is decoded by the
shipped generator, the style measures read slant and ink, and the figures show those pictures;
the autoencoder and the VAE are walked and measured as the page says."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from playground import autoencoding, latent, shipped
from playground.data import synthetic_digits
from playground.figures import latent as figures
from playground.figures.mnist import sample_grid
from playground.latent import ArithmeticSettings, LatentSettingsError

SEED = 5
CHOICE = ArithmeticSettings(
    seed=SEED, group_a=(1, 4, 9), group_b=(0, 7), targets=(3, 12, 30), strength=1.5
)


@pytest.fixture(scope="module")
def dcgan() -> torch.nn.Module:
    return shipped.load("dcgan").sampler


@pytest.fixture(scope="module")
def cgan() -> torch.nn.Module:
    return shipped.load("cgan").sampler


def decoded(generator: torch.nn.Module, noise: torch.Tensor, labels=None) -> torch.Tensor:
    """G(z) (or G(z, y)) called directly, in eval mode: the reference for every picture."""
    generator.eval()
    with torch.no_grad():
        return generator(noise) if labels is None else generator(noise, labels)


def seeded_noise(n: int, z_dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


def figure_image(figure) -> np.ndarray:
    """The grayscale picture a figure shows (its image trace's PNG), as uint8 (h, w)."""
    uri = figure.data[0].source
    png = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def cell(image: np.ndarray, index: int, per_row: int, padding: int) -> np.ndarray:
    x, y = (round(v + 0.5) for v in figures.cell_origin(index, per_row, padding))
    return image[y : y + figures.SIDE, x : x + figures.SIDE].astype(int)


def shown(picture: torch.Tensor) -> np.ndarray:
    """One picture (1, 28, 28) as a grid shows it: uint8 pixels."""
    return sample_grid(picture[None], 1, padding=0).astype(int)


# ---------------------------------------------------------------------------------------------
# The arithmetic on z


def test_the_style_direction_is_the_difference_of_the_group_means() -> None:
    noise = seeded_noise(32, 64, 0)
    mean_a, mean_b, direction = latent.style_direction(noise, (2, 5, 11), (0, 30))
    expected_a = (noise[2] + noise[5] + noise[11]) / 3
    expected_b = (noise[0] + noise[30]) / 2
    torch.testing.assert_close(mean_a, expected_a)
    torch.testing.assert_close(mean_b, expected_b)
    torch.testing.assert_close(direction, expected_a - expected_b)


def test_arithmetic_moves_each_target_along_the_direction_and_decodes_with_the_shipped_g(
    dcgan: torch.nn.Module,
) -> None:
    result = latent.latent_arithmetic(dcgan, CHOICE)
    noise = seeded_noise(latent.ARITHMETIC_SAMPLES, dcgan.z_dim, SEED)
    torch.testing.assert_close(result.noise, noise, rtol=0, atol=0)
    mean_a, mean_b = noise[[1, 4, 9]].mean(0), noise[[0, 7]].mean(0)
    moved = noise[[3, 12, 30]] + 1.5 * (mean_a - mean_b)
    torch.testing.assert_close(result.moved, moved)
    # Every picture is the shipped G's, called directly (a batch may sum in another order).
    close = dict(rtol=0, atol=1e-5)
    torch.testing.assert_close(result.samples, decoded(dcgan, noise), **close)
    torch.testing.assert_close(result.picture_a, decoded(dcgan, mean_a[None]), **close)
    torch.testing.assert_close(result.picture_b, decoded(dcgan, mean_b[None]), **close)
    torch.testing.assert_close(result.targets, decoded(dcgan, noise[[3, 12, 30]]), **close)
    torch.testing.assert_close(result.results, decoded(dcgan, moved), **close)


def test_zero_strength_leaves_the_digits_as_they_were(dcgan: torch.nn.Module) -> None:
    still = ArithmeticSettings(seed=SEED, group_a=(1,), group_b=(2,), targets=(3, 4), strength=0.0)
    result = latent.latent_arithmetic(dcgan, still)
    torch.testing.assert_close(result.results, result.targets, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"group_a": ()}, "group A must hold 1 to 16 samples, got 0"),
        ({"group_b": (1, 1)}, "group B names a sample twice"),
        ({"targets": (40,)}, "must name samples 0 to 31, got [40]"),
        ({"group_a": (1, 2), "group_b": (2, 3)}, "not both: [2]"),
        ({"strength": 7.0}, "strength must be a number in [-3, 3], got 7.0"),
        ({"style": "bold"}, "style must be one of slant, ink"),
        ({"targets": tuple(range(9))}, "must hold 1 to 8 samples, got 9"),
    ],
)
def test_settings_name_the_problem(changes: dict, message: str) -> None:
    base = {"group_a": (1,), "group_b": (2,), "targets": (3,)}
    with pytest.raises(LatentSettingsError) as caught:
        ArithmeticSettings(**{**base, **changes}).validate()
    assert message in str(caught.value)


# ---------------------------------------------------------------------------------------------
# The styles the page suggests groups by


def stroke(kind: str, width: int = 1) -> torch.Tensor:
    """A line through the middle of a black 28x28 image, in [-1, 1]: "/", "\\" or "|"."""
    image = -torch.ones(1, 28, 28)
    for row in range(4, 24):
        centre = {"/": 27 - row, "\\": row, "|": 14}[kind]
        image[0, row, centre : centre + width] = 1.0
    return image


def test_slant_reads_which_way_a_stroke_leans() -> None:
    values = latent.slant(torch.stack([stroke("/"), stroke("\\"), stroke("|")]))
    assert values[0] == pytest.approx(1.0, abs=1e-4)  # one column right per row up
    assert values[1] == pytest.approx(-1.0, abs=1e-4)
    assert values[2] == pytest.approx(0.0, abs=1e-6)


def test_ink_is_the_mean_brightness_so_thick_strokes_have_more() -> None:
    values = latent.ink(torch.stack([stroke("|", 1), stroke("|", 3), -torch.ones(1, 28, 28)]))
    assert values[0] == pytest.approx(20 / 784)
    assert values[1] == pytest.approx(3 * values[0])
    assert values[2] == 0.0


def test_suggested_groups_pair_samples_of_the_same_digit() -> None:
    images = torch.stack([stroke(k) for k in ("/", "|", "/", "\\", "|", "\\")])
    digits = torch.tensor([1, 1, 7, 7, 4, 4])
    group_a, group_b = latent.suggested_groups(images, "slant", digits, size=3)
    assert group_a == (0, 2, 4) and group_b == (1, 3, 5)
    # Without the digits: the extremes of the whole set.
    assert latent.suggested_groups(images, "slant", None, size=2) == ((0, 2), (3, 5))


# ---------------------------------------------------------------------------------------------
# The cGAN: z is the style, y the digit


def test_every_label_keeps_each_z_and_runs_through_the_digits(cgan: torch.nn.Module) -> None:
    noise = seeded_noise(2, cgan.z_dim, 1)
    images = latent.every_label(cgan, noise)
    assert images.shape == (20, 1, 28, 28)
    expected = decoded(cgan, noise[1:].expand(10, -1), torch.arange(10))
    torch.testing.assert_close(images[10:], expected, rtol=0, atol=1e-5)


def test_style_transfer_row_holds_the_sample_itself_at_its_own_digit(
    cgan: torch.nn.Module,
) -> None:
    samples = latent.conditional_samples(cgan, SEED)
    assert samples.labels.tolist() == list(range(10)) * 2
    rows = latent.style_transfer(cgan, SEED, (13, 4))
    torch.testing.assert_close(rows[3], samples.images[13], rtol=0, atol=1e-5)  # 13 is a 3
    torch.testing.assert_close(rows[10 + 4], samples.images[4], rtol=0, atol=1e-5)
    with pytest.raises(LatentSettingsError, match="samples 0 to 19"):
        latent.style_transfer(cgan, SEED, (20,))


# ---------------------------------------------------------------------------------------------
# The pictures


def test_the_equation_shows_the_decoded_pictures_with_operators_between(
    dcgan: torch.nn.Module,
) -> None:
    result = latent.latent_arithmetic(dcgan, CHOICE)
    figure = figures.equation_figure(result, CHOICE.strength)
    image = figure_image(figure)
    gap = figures.EQUATION_GAP
    # Row r: G(mean z_A), G(mean z_B), the digit, the result; one grey level of rounding at most.
    for row, target in enumerate(CHOICE.targets):
        expected = (result.picture_a[0], result.picture_b[0], result.samples[target])
        for col, picture in enumerate((*expected, result.results[row])):
            assert np.abs(cell(image, 4 * row + col, 4, gap) - shown(picture)).max() <= 1
    operators = [a.text for a in figure.layout.annotations if a.text in figures.OPERATORS]
    assert operators == list(figures.OPERATORS) * len(CHOICE.targets)


def test_the_numbered_grid_numbers_every_sample_and_outlines_each_group(
    dcgan: torch.nn.Module,
) -> None:
    samples = latent.arithmetic_samples(dcgan, SEED)
    marks = {"group A": CHOICE.group_a, "group B": CHOICE.group_b}
    figure = figures.numbered_grid(samples.images, 8, marks)
    numbers = [a.text for a in figure.layout.annotations]
    assert numbers == [str(i) for i in range(latent.ARITHMETIC_SAMPLES)]
    outlined = [s.line.color for s in figure.layout.shapes]
    assert outlined == [figures.MARK_COLOURS[0]] * 3 + [figures.MARK_COLOURS[1]] * 2
    assert [t.name for t in figure.data[1:]] == ["group A", "group B"]
    image = figure_image(figure)
    assert np.abs(cell(image, 9, 8, 2) - shown(samples.images[9])).max() == 0


def test_the_reading_measures_the_style_before_and_after(dcgan: torch.nn.Module) -> None:
    result = latent.latent_arithmetic(dcgan, CHOICE)
    reading = latent.read_arithmetic(result, "slant")
    assert reading.before == pytest.approx(latent.slant(result.targets).mean().item())
    assert reading.after == pytest.approx(latent.slant(result.results).mean().item())
    assert reading.n == 3 and 0 <= reading.same_digit <= 3


# ---------------------------------------------------------------------------------------------
# Autoencoder vs VAE


@pytest.fixture(scope="module")
def vae_network() -> torch.nn.Module:
    return shipped.load("vae").vae


@pytest.fixture(scope="module")
def test_digits() -> shipped.RealDigits:
    """Synthetic digits stand in for MNIST's test set (never downloaded in tests)."""
    data = synthetic_digits(300, seed=3)
    return shipped.RealDigits(data.images, data.labels, data.description)


def test_the_encoded_digits_are_mu_of_each_and_their_median_length(
    vae_network: torch.nn.Module, test_digits: shipped.RealDigits
) -> None:
    encoded = autoencoding.encode_digits(vae_network, test_digits)
    vae_network.eval()
    with torch.no_grad():
        mu, _ = vae_network.encode(test_digits.images.float().div(127.5).sub(1).unsqueeze(1))
    torch.testing.assert_close(encoded.codes, mu)
    assert encoded.length == pytest.approx(mu.norm(dim=1).median().item())
    assert torch.equal(encoded.labels, test_digits.labels)


def test_the_path_is_the_straight_line_through_the_two_codes(
    vae_network: torch.nn.Module, test_digits: shipped.RealDigits
) -> None:
    choice = autoencoding.PathSettings(digit_a=2, digit_b=7, seed=1)
    ends = autoencoding.path_ends(test_digits, choice)
    labels = {int(test_digits.labels[(test_digits.images == e).all(2).all(1)][0]) for e in ends}
    assert labels == {2, 7}
    path = autoencoding.latent_path(vae_network, ends)
    start, end = autoencoding.encode(vae_network, ends)
    t = autoencoding.PATH_T.unsqueeze(1)
    torch.testing.assert_close(path.codes, (1 - t) * start + t * end)
    # t = 0 and t = 1 are the two digits' reconstructions, decode(mu(x)).
    at_ends = path.images[[3, 9]]
    rebuilt = decoded(shipped.load("vae").sampler, torch.stack([start, end]))
    torch.testing.assert_close(at_ends, rebuilt, rtol=0, atol=1e-5)
    assert path.reading is not None and path.reading.realism.shape == (13,)


def test_a_digit_the_set_lacks_is_a_message(test_digits: shipped.RealDigits) -> None:
    only_ones = shipped.RealDigits(
        test_digits.images[test_digits.labels == 1],
        test_digits.labels[test_digits.labels == 1],
        "ones",
    )
    with pytest.raises(LatentSettingsError, match="ones holds no digit 4"):
        autoencoding.path_ends(only_ones, autoencoding.PathSettings(4, 1))
    with pytest.raises(LatentSettingsError, match="digit_a must be a whole number in \\[0, 9\\]"):
        autoencoding.PathSettings(digit_a=10).validate()


def test_path_statistics_count_the_points_on_the_manifold(
    vae_network: torch.nn.Module, test_digits: shipped.RealDigits
) -> None:
    encoded = autoencoding.encode_digits(vae_network, test_digits)
    pairs = autoencoding.different_digit_pairs(test_digits.labels, 6, seed=2)
    assert (test_digits.labels[pairs[:, 0]] != test_digits.labels[pairs[:, 1]]).all()
    statistics = autoencoding.path_statistics(vae_network, encoded, pairs=6, seed=2)
    assert statistics.pairs == 6 and statistics.on_manifold.shape == (13,)
    for t in (0.0, 0.5, 1.5):
        points = (1 - t) * encoded.codes[pairs[:, 0]] + t * encoded.codes[pairs[:, 1]]
        reading = autoencoding.decode_points(vae_network, points).reading
        index = autoencoding.PATH_T.tolist().index(t)
        expected = (reading.realism >= 1).float().mean().item()
        assert statistics.on_manifold[index].item() == pytest.approx(expected)


def test_the_autoencoder_decodes_the_prior_worse_than_the_vae(
    vae_network: torch.nn.Module,
) -> None:
    """What the page teaches, checked on the shipped files: N(0, I) is where a VAE's codes
    are and not where a plain autoencoder put its own."""
    ae = autoencoding.prior_statistics(shipped.load("ae").vae, seed=0)
    vae = autoencoding.prior_statistics(vae_network, seed=0)
    assert ae.n == vae.n == autoencoding.PRIOR_STATISTICS_SAMPLES
    assert ae.on_manifold < vae.on_manifold
    assert vae.digits_covered == 10 and ae.digits_covered < 10
    assert ae.largest_share > 2 * vae.largest_share
