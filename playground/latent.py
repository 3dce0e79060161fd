"""Latent space: what directions of the noise z mean to a trained generator.

- **Latent arithmetic** (Radford et al. 2016, "DCGAN", section 6.3). Average the noise vectors of
  samples that share a style (group A) and of samples that lack it (group B). The difference
  d = mean_z(A) - mean_z(B) points from one style to the other, and G(z + s d) adds the style
  to any digit z, s times as strongly. Averaging first matters: one sample's z carries its
  digit and many other quirks, which the mean of several cancels out.
- **The cGAN's split** of a digit into its label y (which digit) and z (everything else:
  slant, thickness, width). G(z, y) for one z and every y keeps the style and changes only the
  digit: style transfer from one sample to all ten digits.

Noise comes from `shipped.draw_noise` (a seed gives the same z everywhere) and every picture
is decoded by the generator itself, in eval mode, through `train.generate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from playground.checkpoints import CheckpointError
from playground.metrics import load_evaluator
from playground.models import NUM_CLASSES
from playground.pixels import to_shown
from playground.settings import Range, check_fields
from playground.shipped import draw_noise
from playground.train import generate

ARITHMETIC_SAMPLES = 32
"""Samples of the DCGAN a student picks groups from (four rows of eight)."""
CONDITIONAL_SAMPLES = 20
"""Samples of the cGAN a student picks styles from: two rows, digits 0-9 in each."""
MAX_TARGETS = 8
DEFAULT_TARGETS = 5
MAX_STYLE_ROWS = 5
GROUP_SIZE = 4
"""How many samples each suggested group holds."""
STRENGTH = Range(-3.0, 3.0)
"""How far along d = mean_z(A) - mean_z(B) a digit is moved (negative: towards B's style)."""
SEED = Range(0, 2**31 - 1)


class LatentSettingsError(ValueError):
    """A latent-space choice out of range: an index, a group, a strength; the message names it."""


# ---------------------------------------------------------------------------------------------
# Styles a student can read off a digit, to suggest groups A and B


def ink(images: Tensor) -> Tensor:
    """How much ink each digit has: the mean brightness in [0, 1] of its pixels, (n,).

    Thick strokes put more ink on the page than thin ones of the same digit."""
    return to_shown(images).flatten(1).mean(dim=1)


def slant(images: Tensor) -> Tensor:
    """How far each digit leans to the right, (n,): the shear cov(x, y) / var(y) of its ink.

    x runs right, y runs up, every pixel weighted by its brightness: a stroke like "/" has ink
    further right the higher it goes (slant > 0), "\\" the opposite, an upright "|" about 0.
    (The same moment that "deskewing" MNIST undoes.)"""
    weights = to_shown(images)[:, 0]  # (n, 28, 28)
    side = weights.shape[-1]
    rows = torch.arange(side, dtype=weights.dtype)
    y = (side - 1 - rows).view(1, side, 1)  # row 0 is the top of the picture
    x = rows.view(1, 1, side)
    total = weights.sum(dim=(1, 2)).clamp_min(1e-8)
    mean_x = (weights * x).sum(dim=(1, 2)) / total
    mean_y = (weights * y).sum(dim=(1, 2)) / total
    dx = x - mean_x.view(-1, 1, 1)
    dy = y - mean_y.view(-1, 1, 1)
    cov = (weights * dx * dy).sum(dim=(1, 2)) / total
    var_y = (weights * dy * dy).sum(dim=(1, 2)) / total
    return cov / var_y.clamp_min(1e-8)


@dataclass(frozen=True)
class Style:
    """A style a digit can have more or less of, and how to measure it."""

    name: str
    more: str  # what group A (the most of it) looks like
    less: str  # what group B (the least of it) looks like
    measure: Callable[[Tensor], Tensor]


STYLES = {
    "slant": Style("slant", "leaning right", "upright or leaning left", slant),
    "ink": Style("ink", "thick strokes", "thin strokes", ink),
}
"""The styles the page can suggest groups by."""


def suggested_groups(
    images: Tensor, style: str, digits: Tensor | None = None, size: int = GROUP_SIZE
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """`size` samples with much of `style` (group A) and `size` with little (B), in index order.

    Without `digits` (n,), the extremes of the whole set. With them (what a classifier reads
    each sample as), pairs of the same digit: the most and the least of the style among each
    digit's samples, the pairs that differ most first. Then both groups hold the same digits,
    and mean_z(A) - mean_z(B) keeps the style while the digits' own directions cancel.
    """
    if style not in STYLES:
        raise LatentSettingsError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    if not 1 <= size <= len(images) // 2:
        raise LatentSettingsError(f"group size must be in [1, {len(images) // 2}], got {size}")
    measure = STYLES[style].measure(images)
    pairs = [] if digits is None else _same_digit_pairs(measure, digits)
    if len(pairs) < size:  # too few repeated digits: the extremes of the whole set
        order = torch.argsort(measure, descending=True, stable=True).tolist()
        pairs = list(zip(order[:size], reversed(order[-size:]), strict=True))
    chosen = pairs[:size]
    return tuple(sorted(a for a, _ in chosen)), tuple(sorted(b for _, b in chosen))


def _same_digit_pairs(measure: Tensor, digits: Tensor) -> list[tuple[int, int]]:
    """(most, least) of the measure among each digit's samples, largest difference first."""
    pairs = []
    for digit in digits.unique().tolist():
        where = (digits == digit).nonzero().flatten()
        if len(where) >= 2:
            values = measure[where]
            most, least = where[values.argmax()].item(), where[values.argmin()].item()
            pairs.append((values.max().item() - values.min().item(), most, least))
    pairs.sort(key=lambda pair: -pair[0])
    return [(most, least) for _, most, least in pairs]


def contrasting_styles(images: Tensor) -> list[int]:
    """One sample of each extreme: the most and the least of every style (without repeats)."""
    picks: list[int] = []
    for style in STYLES:
        for group in suggested_groups(images, style, size=1):
            picks += [i for i in group if i not in picks]
    return picks


# ---------------------------------------------------------------------------------------------
# Latent arithmetic on the DCGAN


def _check_indices(name: str, indices: tuple[int, ...], n: int, most: int) -> list[str]:
    """Problems of a choice of sample indices: 1..most distinct whole numbers in [0, n)."""
    if not isinstance(indices, tuple) or not 1 <= len(indices) <= most:
        return [f"{name} must hold 1 to {most} samples, got {len(indices)}"]
    if len(set(indices)) != len(indices):
        return [f"{name} names a sample twice"]
    bad = [i for i in indices if not Range(0, n - 1).allows(i)]
    return [f"{name} must name samples 0 to {n - 1}, got {bad}"] if bad else []


@dataclass(frozen=True)
class ArithmeticSettings:
    """One latent-arithmetic question: from the samples of noise seed `seed`, move each of
    `targets` by strength * (mean_z(group_a) - mean_z(group_b)); `style` is what the groups
    are meant to differ in, which the reading measures."""

    seed: int = 0
    style: str = "slant"
    group_a: tuple[int, ...] = (0,)
    group_b: tuple[int, ...] = (1,)
    targets: tuple[int, ...] = (2,)
    strength: float = 1.0

    def validate(self) -> ArithmeticSettings:
        """Return self, or raise LatentSettingsError naming every problem."""
        ranges = {"seed": SEED, "strength": STRENGTH}
        check_fields(self, ranges, {"style": tuple(STYLES)}, LatentSettingsError)
        n, half = ARITHMETIC_SAMPLES, ARITHMETIC_SAMPLES // 2
        problems = _check_indices("group A", self.group_a, n, half)
        problems += _check_indices("group B", self.group_b, n, half)
        problems += _check_indices("the digits to change", self.targets, n, MAX_TARGETS)
        if not problems and set(self.group_a) & set(self.group_b):
            shared = sorted(set(self.group_a) & set(self.group_b))
            problems.append(f"a sample is in group A or group B, not both: {shared}")
        if problems:
            raise LatentSettingsError("; ".join(problems))
        return self


def style_direction(
    noise: Tensor, group_a: tuple[int, ...], group_b: tuple[int, ...]
) -> tuple[Tensor, Tensor, Tensor]:
    """mean_z(A), mean_z(B) and the direction d = mean_z(A) - mean_z(B), each (z_dim,)."""
    mean_a = noise[list(group_a)].mean(dim=0)
    mean_b = noise[list(group_b)].mean(dim=0)
    return mean_a, mean_b, mean_a - mean_b


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class Arithmetic:
    """What the equation of pictures shows, images (k, 1, 28, 28) in [-1, 1] unless said.

    noise, samples: the ARITHMETIC_SAMPLES z and G(z) the groups are picked from;
    mean_a, mean_b, direction: mean_z(A), mean_z(B), d = mean_z(A) - mean_z(B), (z_dim,);
    picture_a, picture_b: G(mean_z(A)) and G(mean_z(B)), (1, 1, 28, 28);
    moved: z + strength * d for each target z, (k, z_dim); targets: G(z); results: G(moved).
    """

    noise: Tensor
    samples: Tensor
    mean_a: Tensor
    mean_b: Tensor
    direction: Tensor
    picture_a: Tensor
    picture_b: Tensor
    moved: Tensor
    targets: Tensor
    results: Tensor


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class LatentSamples:
    """Samples with the noise they came from: noise (n, z_dim), images G(z) (or G(z, y))
    (n, 1, 28, 28) in [-1, 1], for a cGAN the labels y (n,), and for a GAN the digit the metric
    classifier reads in each (n,) (None without the classifier)."""

    noise: Tensor
    images: Tensor
    labels: Tensor | None = None
    digits: Tensor | None = None


def arithmetic_samples(generator: nn.Module, seed: int) -> LatentSamples:
    """The ARITHMETIC_SAMPLES noise vectors of `seed`, the digits G makes of them and what the
    classifier reads them as."""
    noise = draw_noise(generator, ARITHMETIC_SAMPLES, seed)
    images = generate(generator, noise)
    return LatentSamples(noise, images, digits=classifier_digits(images))


def latent_arithmetic(generator: nn.Module, settings: ArithmeticSettings) -> Arithmetic:
    """G(mean_z(A)) - G(mean_z(B)) + G(z) = G(z + s d) for each target z (see the module doc)."""
    settings.validate()
    noise = draw_noise(generator, ARITHMETIC_SAMPLES, settings.seed)
    samples = generate(generator, noise)
    mean_a, mean_b, direction = style_direction(noise, settings.group_a, settings.group_b)
    targets = list(settings.targets)
    moved = noise[targets] + settings.strength * direction
    means = generate(generator, torch.stack([mean_a, mean_b]))
    return Arithmetic(
        noise=noise,
        samples=samples,
        mean_a=mean_a,
        mean_b=mean_b,
        direction=direction,
        picture_a=means[:1],
        picture_b=means[1:],
        moved=moved,
        targets=samples[targets],
        results=generate(generator, moved),
    )


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class ClassifierReading:
    """What the shipped metric classifier reads in images, each (n,): the digit, its confidence
    (the probability it gives that digit) and the realism score (at least 1 on the real digits'
    manifold, as precision measures it; `metrics.realism_scores`)."""

    digits: Tensor
    confidence: Tensor
    realism: Tensor


def classifier_reading(images: Tensor) -> ClassifierReading | None:
    """The classifier's reading of images (n, 1, 28, 28) in [-1, 1], or None when its file is
    not on this server."""
    try:
        evaluator = load_evaluator()
    except CheckpointError:
        return None
    features, logits = evaluator.classify(images)
    confidence, digits = logits.float().softmax(dim=1).max(dim=1)
    return ClassifierReading(digits.cpu(), confidence.cpu(), evaluator.realism(features).cpu())


def classifier_digits(images: Tensor) -> Tensor | None:
    """The digit the classifier reads in each image (n,), or None without its file (groups are
    then suggested without knowing the digits)."""
    reading = classifier_reading(images)
    return None if reading is None else reading.digits


@dataclass(frozen=True)
class ArithmeticReading:
    """What the move did, measured: the style's mean over the digits before (G(z)) and after
    (G(z + s d)), and how many results the classifier still reads as the digit they were
    (None without the classifier)."""

    style: str
    before: float
    after: float
    same_digit: int | None
    n: int


def read_arithmetic(result: Arithmetic, style: str) -> ArithmeticReading:
    """The style measure and the classifier's digits of the targets and the results."""
    if style not in STYLES:
        raise LatentSettingsError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    measure = STYLES[style].measure
    before, after = classifier_digits(result.targets), classifier_digits(result.results)
    same = None if before is None or after is None else int((before == after).sum())
    return ArithmeticReading(
        style=style,
        before=measure(result.targets).mean().item(),
        after=measure(result.results).mean().item(),
        same_digit=same,
        n=len(result.targets),
    )


# ---------------------------------------------------------------------------------------------
# The cGAN: z is the style, y the digit


def conditional_samples(generator: nn.Module, seed: int) -> LatentSamples:
    """The cGAN's CONDITIONAL_SAMPLES samples of noise seed `seed`: sample i is asked for
    digit i mod 10."""
    noise = draw_noise(generator, CONDITIONAL_SAMPLES, seed)
    labels = torch.arange(CONDITIONAL_SAMPLES) % NUM_CLASSES
    return LatentSamples(noise, generate(generator, noise, labels), labels)


def every_label(generator: nn.Module, noise: Tensor) -> Tensor:
    """Each noise vector of (k, z_dim) decoded as every digit: (10 k, 1, 28, 28), row r of ten
    images is G(z_r, 0), ..., G(z_r, 9)."""
    labels = torch.arange(NUM_CLASSES).repeat(len(noise))
    return generate(generator, noise.repeat_interleave(NUM_CLASSES, dim=0), labels)


def check_style_rows(chosen: tuple[int, ...]) -> tuple[int, ...]:
    """The cGAN samples whose style is kept: 1 to MAX_STYLE_ROWS distinct indices of the grid
    (LatentSettingsError otherwise)."""
    problems = _check_indices("the samples to keep", chosen, CONDITIONAL_SAMPLES, MAX_STYLE_ROWS)
    if problems:
        raise LatentSettingsError("; ".join(problems))
    return chosen


def style_transfer(generator: nn.Module, seed: int, chosen: tuple[int, ...]) -> Tensor:
    """The chosen samples' z (from noise seed `seed`) each decoded as every digit 0-9:
    (10 k, 1, 28, 28), one row of ten per chosen sample."""
    noise = draw_noise(generator, CONDITIONAL_SAMPLES, seed)
    return every_label(generator, noise[list(check_style_rows(chosen))])
