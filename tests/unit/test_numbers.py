"""FID and IS taken apart: the parts add up to the metrics the jobs report (checked against the
formulas of playground.metrics.scores and direct numpy/torch computations), the pictures draw what
the parts say, and the early phase of D's verdicts is found where it is."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground.figures.numbers import ellipse, fid_figure, is_figure
from playground.gan import HistoryPoint
from playground.metrics.evaluator import load_evaluator
from playground.metrics.explained import fakes_above_real, fid_parts, is_parts
from playground.metrics.scores import frechet_distance, gaussian_stats, inception_score
from playground.mnist_numbers import numbers_of
from playground.models import Generator
from playground.shipped import draw_noise
from playground.train.sampling import generate


def clouds(seed: int = 0, d: int = 6, n: int = 300) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g)
    fake = 0.5 * torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g) + 1.0
    return real, fake


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_two_fid_terms_add_up_to_the_frechet_distance(seed: int) -> None:
    real, fake = clouds(seed)
    real_mean, real_cov = gaussian_stats(real)
    parts = fid_parts(real_mean, real_cov, fake)
    fake_mean, fake_cov = gaussian_stats(fake)
    assert parts.total == pytest.approx(
        frechet_distance(real_mean, real_cov, fake_mean, fake_cov), rel=1e-9
    )
    gap = real_mean.numpy() - fake.double().numpy().mean(axis=0)
    assert parts.mean_term == pytest.approx(float(gap @ gap), rel=1e-9)
    # The spread term alone: the distance of two Gaussians with the same mean.
    assert parts.spread_term == pytest.approx(
        frechet_distance(fake_mean, real_cov, fake_mean, fake_cov), rel=1e-9
    )


def test_the_fid_picture_looks_along_the_real_features_main_directions() -> None:
    real, fake = clouds(3)
    real_mean, real_cov = gaussian_stats(real)
    parts = fid_parts(real_mean, real_cov, fake)
    top = np.linalg.eigvalsh(real_cov.numpy())[::-1][:2]
    assert np.diag(parts.real_cov) == pytest.approx(top, rel=1e-9)  # the two largest variances
    assert parts.real_cov[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert parts.fake_points.mean(axis=0) == pytest.approx(parts.fake_center, abs=1e-9)
    assert np.cov(parts.fake_points.T) == pytest.approx(parts.fake_cov, rel=1e-9)
    figure = fid_figure(parts)
    assert len(figure.data[0].x) == len(fake)


def test_an_ellipse_is_the_two_sigma_contour() -> None:
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    center = np.array([1.0, -2.0])
    points = ellipse(center, cov)
    offsets = points - center
    mahalanobis = np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(cov), offsets)
    assert mahalanobis == pytest.approx(np.full(len(points), 4.0))


@pytest.mark.parametrize("seed", [0, 1])
def test_is_is_exp_of_the_marginal_minus_the_conditional_entropy(seed: int) -> None:
    logits = 3 * torch.randn(500, 10, generator=torch.Generator().manual_seed(seed))
    parts = is_parts(logits)
    assert parts.score == pytest.approx(inception_score(logits), rel=1e-9)
    p = torch.softmax(logits.double(), dim=1)
    kl = F.kl_div(p.mean(0).log().expand_as(p), p, reduction="none").sum(1)  # KL(p(y|x) || p(y))
    assert math.log(parts.score) == pytest.approx(kl.mean().item(), rel=1e-9)
    assert parts.marginal.sum() == pytest.approx(1.0)
    assert parts.confidence == pytest.approx(p.max(1).values.numpy())
    assert len(is_figure(parts).data) == 2


def test_is_reaches_ten_only_with_every_digit_sure_and_equally_often() -> None:
    sure_and_even = 50.0 * F.one_hot(torch.arange(1000) % 10, 10).double()
    assert is_parts(sure_and_even).score == pytest.approx(10.0, rel=1e-6)
    one_digit = 50.0 * F.one_hot(torch.zeros(1000, dtype=torch.long), 10).double()
    assert is_parts(one_digit).score == pytest.approx(1.0, rel=1e-6)


def point(step: int, d_real: float, d_fake: float) -> HistoryPoint:
    return HistoryPoint(step, 0.0, 0.0, 1.0, 1.0, d_real, d_fake)


def test_the_first_stretch_of_fakes_rated_above_real_is_found() -> None:
    history = [
        point(10, 0.6, 0.4),
        point(20, 0.5, 0.6),
        point(30, 0.45, 0.7),
        point(40, 0.6, 0.5),
        point(50, 0.4, 0.9),  # a later stretch: not the early phase
    ]
    stretch = fakes_above_real(history)
    assert stretch is not None
    assert (stretch.first, stretch.last, stretch.points) == (20, 30, 2)
    assert (stretch.widest_step, stretch.d_real, stretch.d_fake) == (30, 0.45, 0.7)


def test_no_stretch_when_d_always_rates_real_higher_and_nan_breaks_a_run() -> None:
    assert fakes_above_real([point(1, 0.7, 0.3), point(2, 0.6, 0.6)]) is None
    assert fakes_above_real([]) is None
    stretch = fakes_above_real([point(1, 0.4, 0.6), point(2, math.nan, 0.9), point(3, 0.4, 0.8)])
    assert stretch is not None and stretch.last == 1


def test_a_generators_parts_add_up_to_the_fid_its_job_reports() -> None:
    torch.manual_seed(0)
    generator = Generator().eval()
    evaluator = load_evaluator()
    numbers = numbers_of(generator, False, evaluator, n=200, seed=5)
    assert numbers.n == 200
    images = generate(generator, draw_noise(generator, 200, 5))
    reported = evaluator.evaluate(images)
    assert numbers.fid.total == pytest.approx(reported.fid, rel=1e-6)
    assert numbers.inception.score == pytest.approx(reported.inception_score, rel=1e-6)
