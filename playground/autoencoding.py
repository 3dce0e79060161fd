"""Autoencoder vs VAE: what the KL term does to a latent space.

A plain autoencoder (AE) learns only to reconstruct, x -> z = mu(x) -> decode(z) ~ x. Nothing
says where its codes should lie, so the encoder spreads them as it likes, with empty space
between them that the decoder never saw in training: decoded, those **holes** are shapes that
are no digit. A VAE's KL term pulls every q(z|x) towards N(0, I), and its sampled codes cover
the space around each mean, so the space between codes and the prior decode to digits.

Both shipped models are the same network (`models.VAE`); the AE was trained with the
reconstruction loss alone (training setting model="ae"). Measured here, on the line
z_t = (1 - t) z_a + t z_b through the codes of two test digits (t in [-0.5, 1.5]: beyond both
ends leaves them) and on points z ~ N(0, I): each decoded image's realism score with the metric
classifier (`latent.classifier_reading`), at least 1 when it lies among real digits as
precision counts them, and over many points the share that does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from playground.latent import ClassifierReading, LatentSettingsError, classifier_reading
from playground.metrics import classes_covered
from playground.models import NUM_CLASSES, VAE, VAESampler
from playground.pixels import uint8_to_model
from playground.settings import Range, check_fields
from playground.shipped import RealDigits, draw_noise, one_of_each_digit
from playground.train import generate

PATH_T = torch.arange(-3, 10) / 6
"""Where the path is decoded, -0.5 to 1.5 in steps of 1/6: t = 0 and t = 1 (exactly) are the
two digits' codes."""
PRIOR_SAMPLES = 16
"""Prior points the page shows decoded."""
PRIOR_STATISTICS_SAMPLES = 300
REGION_SAMPLES = 1000
"""Real test digits whose codes stand for where a model puts digits."""
PAIRS = 100
"""Paths between two test digits the statistics along t are taken over."""


@dataclass(frozen=True)
class PathSettings:
    """Which two test digits the path joins (one example of each, picked by `seed`), and the
    seed of the prior's noise. The defaults are the page's opening path, one that crosses a
    hole of the shipped autoencoder."""

    digit_a: int = 0
    digit_b: int = 2
    seed: int = 0

    def validate(self) -> PathSettings:
        """Return self, or raise LatentSettingsError naming every field out of its range."""
        digit = Range(0, NUM_CLASSES - 1)
        ranges = {"digit_a": digit, "digit_b": digit, "seed": Range(0, 2**31 - 1)}
        check_fields(self, ranges, {}, LatentSettingsError)
        return self


def encode(network: VAE, images: Tensor) -> Tensor:
    """The codes mu(x) (n, z_dim) of uint8 images (n, 28, 28), in eval mode and without grad."""
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            return network.encode(uint8_to_model(images))[0]
    finally:
        network.train(was_training)


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class EncodedDigits:
    """The codes (n, z_dim) of REGION_SAMPLES real test digits, their labels (n,), and their
    median length |z| (N(0, I)'s points have length about sqrt(z_dim))."""

    codes: Tensor
    labels: Tensor
    length: float


def encode_digits(network: VAE, digits: RealDigits) -> EncodedDigits:
    """Where the network puts the first REGION_SAMPLES real digits."""
    codes = encode(network, digits.images[:REGION_SAMPLES])
    labels = digits.labels[:REGION_SAMPLES]
    return EncodedDigits(codes, labels, codes.norm(dim=1).median().item())


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class DecodedPoints:
    """Points z (k, z_dim), their images decode(z) (k, 1, 28, 28) in [-1, 1], and the
    classifier's reading of each image (None without the classifier)."""

    codes: Tensor
    images: Tensor
    reading: ClassifierReading | None


def decode_points(network: VAE, codes: Tensor) -> DecodedPoints:
    """decode(z) for each point, read by the classifier."""
    images = generate(VAESampler(network), codes)
    return DecodedPoints(codes, images, classifier_reading(images))


def path_ends(digits: RealDigits, settings: PathSettings) -> Tensor:
    """The two real digits the path joins, uint8 (2, 28, 28): one example each of digit_a and
    digit_b, picked by the seed (LatentSettingsError when the set lacks one of them)."""
    settings.validate()
    picks = one_of_each_digit(digits.labels, settings.seed)
    chosen = digits.labels[picks].tolist()
    missing = [d for d in (settings.digit_a, settings.digit_b) if d not in chosen]
    if missing:
        raise LatentSettingsError(f"{digits.description} holds no digit {missing[0]}")
    return digits.images[picks[[chosen.index(settings.digit_a), chosen.index(settings.digit_b)]]]


def line(start: Tensor, end: Tensor, t: Tensor = PATH_T) -> Tensor:
    """Points z_t = (1 - t) z_start + t z_end, (len(t), *start.shape)."""
    weights = t.to(start.dtype).view(-1, *([1] * start.dim()))
    return (1 - weights) * start + weights * end


def latent_path(network: VAE, ends: Tensor) -> DecodedPoints:
    """decode(z_t) along the line through z_a and z_b, the codes of the two ends (PATH_T)."""
    start, end = encode(network, ends)
    return decode_points(network, line(start, end))


def prior_points(network: VAE, seed: int, n: int = PRIOR_SAMPLES) -> DecodedPoints:
    """decode(z) for n points z ~ N(0, I) drawn with `seed`: the model as a generator, which
    is what a VAE's prior promises and nothing an AE was trained for."""
    return decode_points(network, draw_noise(VAESampler(network), n, seed))


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class PathStatistics:
    """Over `pairs` paths between test digits of different kinds: at each t of PATH_T, the
    share of decoded points on the real digits' manifold (realism >= 1)."""

    t: Tensor
    on_manifold: Tensor
    pairs: int


def different_digit_pairs(labels: Tensor, pairs: int, seed: int) -> Tensor:
    """`pairs` index pairs (pairs, 2) of digits with different labels, drawn with `seed`."""
    rng = torch.Generator().manual_seed(seed)
    candidates = torch.randint(len(labels), (4 * pairs, 2), generator=rng)
    different = candidates[labels[candidates[:, 0]] != labels[candidates[:, 1]]]
    if len(different) < pairs:
        raise LatentSettingsError("too few digits of different kinds to draw paths between")
    return different[:pairs]


def path_statistics(
    network: VAE, encoded: EncodedDigits, pairs: int = PAIRS, seed: int = 0
) -> PathStatistics | None:
    """The share on the manifold along `pairs` paths between encoded digits of different kinds;
    None without the classifier."""
    ends = different_digit_pairs(encoded.labels, pairs, seed)
    points = line(encoded.codes[ends[:, 0]], encoded.codes[ends[:, 1]])  # (t, pairs, z_dim)
    reading = decode_points(network, points.flatten(0, 1)).reading
    if reading is None:
        return None
    on_manifold = (reading.realism >= 1).float().view(len(PATH_T), pairs).mean(dim=1)
    return PathStatistics(PATH_T, on_manifold, pairs)


@dataclass(frozen=True)
class PriorStatistics:
    """Over n decoded points z ~ N(0, I): the share on the real digits' manifold (realism >= 1),
    how many kinds of digit the classifier reads in them (each at least 2.5% of the points),
    and the share of the most common one."""

    n: int
    on_manifold: float
    digits_covered: int
    largest_share: float


def prior_statistics(
    network: VAE, seed: int, n: int = PRIOR_STATISTICS_SAMPLES
) -> PriorStatistics | None:
    """How the model does as a generator, on n points of the prior; None without the classifier."""
    reading = prior_points(network, seed, n).reading
    if reading is None:
        return None
    shares = torch.bincount(reading.digits, minlength=NUM_CLASSES).double() / n
    return PriorStatistics(
        n=n,
        on_manifold=(reading.realism >= 1).double().mean().item(),
        digits_covered=classes_covered(shares),
        largest_share=shares.max().item(),
    )
