"""What the 2-D pictures draw, computed from G and D: D's probability on a grid (the heatmap), the
generator's manifold (a grid of noise space pushed through G), the arrows on the fakes
(-dl/dx of each fake's own generator loss), and the numbers of one step (D(real), D(fake), a
histogram KL/JS estimate, modes covered)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from playground.gan import frozen
from playground.losses import (
    LEAST_SQUARES,
    discriminator_probability,
    generator_loss,
    js_divergence,
    kl_divergence,
)
from playground.plane.data import mode_coverage
from playground.plane.settings import DRAWN_LIMIT, PlaneSettings

EVAL_SAMPLES = 500
"""Fakes G makes from fixed evaluation noise at every step (and as many real reference samples)."""
SHOWN = 200
"""Real and fake points drawn on the picture."""
HIST_BINS = 24
"""Bins per axis of the histograms the KL/JS estimate compares."""
HIST_PSEUDO_COUNT = 0.5
"""Added to every bin of G's histogram, so a bin G misses costs a large, finite KL."""


@dataclass(frozen=True)
class Resolution:
    """How fine the pictures are: heatmap cells per axis, manifold lines and points per line."""

    heatmap: int
    lines: int
    points: int


COARSE = Resolution(heatmap=28, lines=9, points=17)
"""While stepping: a press stays within its time budget."""
FINE = Resolution(heatmap=72, lines=15, points=41)
"""When asked for a sharp picture."""


def view_limit(settings: PlaneSettings) -> float:
    """Half the width of the square the pictures show, [-L, L]^2."""
    if settings.data == "drawn":
        return DRAWN_LIMIT
    spread = settings.radius / 4 if settings.data == "two-hills" else settings.mode_std
    return max(2.0, 1.5 * settings.radius + 3.0 * spread)


def noise_limit(noise: str) -> float:
    """The noise range the manifold spans: U(-1, 1)'s support, or ±2 std of N(0, 1)."""
    return 1.0 if noise == "uniform" else 2.0


def manifold_noise(settings: PlaneSettings, resolution: Resolution) -> Tensor:
    """Noise points on grid lines of noise space, shape (lines, points, noise_dim): for 2-D
    noise lines of constant z1 then of constant z2 (2 x `lines` in all); for 1-D noise one line.
    """
    limit = noise_limit(settings.noise)
    along = torch.linspace(-limit, limit, resolution.points)
    if settings.noise_dim == 1:
        return along.reshape(1, -1, 1)
    across = torch.linspace(-limit, limit, resolution.lines)
    first = torch.stack(torch.meshgrid(across, along, indexing="ij"), dim=-1)  # z1 fixed per line
    second = first.flip(-1)  # z2 fixed per line
    return torch.cat([first, second], dim=0)


def fake_arrows(
    discriminator: nn.Module, fake: Tensor, g_loss: str, objective: str = "gan"
) -> Tensor:
    """-dl/dx~ at each fake x~ (n, 2), l the fake's own generator loss: where a G step pushes it.

    non-saturating l = softplus(-D(x~)), minimax l = -softplus(D(x~)), least squares
    l = 1/2 (D(x~) - 1)^2 on D's raw output; with the wgan-gp objective l = -f(x~).
    """
    x = fake.detach().clone().requires_grad_(True)
    with frozen(discriminator):
        outputs = discriminator(x).reshape(-1)
        loss = -outputs.mean() if objective == "wgan-gp" else generator_loss(outputs, g_loss)
        # generator_loss is a batch mean; times n it is the sum of each fake's own loss.
        (grad,) = torch.autograd.grad(loss * outputs.numel(), x)
    return -grad


def probability(outputs: Tensor, settings: PlaneSettings) -> Tensor:
    """D's raw outputs as the probability "real" the heatmap shows."""
    least_squares = settings.g_loss == LEAST_SQUARES and settings.objective == "gan"
    return discriminator_probability(outputs, LEAST_SQUARES if least_squares else "logit")


def histogram(samples: np.ndarray, limit: float, bins: int = HIST_BINS) -> np.ndarray:
    """Counts of `samples` (n, 2) on a bins x bins grid over [-limit, limit]^2 (outside: dropped)."""
    edges = np.linspace(-limit, limit, bins + 1)
    counts, _, _ = np.histogram2d(samples[:, 0], samples[:, 1], bins=(edges, edges))
    return counts


def divergences(real: np.ndarray, fake: np.ndarray, limit: float) -> tuple[float, float]:
    """(KL(p_data || p_g), JS(p_data || p_g)) estimated from samples on a histogram grid: each
    a sum over bins of the two histograms' probability masses (G's with a pseudo-count)."""
    p = histogram(real, limit)
    q = histogram(fake, limit) + HIST_PSEUDO_COUNT
    p, q = p / max(p.sum(), 1.0), q / q.sum()
    return kl_divergence(p, q, 1.0), js_divergence(p, q, 1.0)


@dataclass(frozen=True)
class Measures:
    """The numbers of one step, on the fixed evaluation samples (NaN: not measured)."""

    d_real: float
    d_fake: float
    kl: float
    js: float
    covered: float  # modes covered (NaN for a shape without modes)
    on_mode: float  # share of fakes on some mode (NaN likewise)


def measures_of(
    settings: PlaneSettings, real: np.ndarray, fake: np.ndarray, d_real: Tensor, d_fake: Tensor
) -> Measures:
    """One step's numbers from the evaluation reals, the fakes and D's probabilities of both."""
    kl, js = divergences(real, fake, view_limit(settings))
    coverage = mode_coverage(fake, settings) if np.isfinite(fake).all() else None
    return Measures(
        d_real=float(d_real.mean()),
        d_fake=float(d_fake.mean()),
        kl=kl,
        js=js,
        covered=math.nan if coverage is None else float(coverage.covered),
        on_mode=math.nan if coverage is None else coverage.quality,
    )


@dataclass(frozen=True)
class Picture:
    """Everything the 2-D picture draws at one step."""

    grid: np.ndarray  # (cells,) the heatmap's cell centres along each axis
    d_grid: np.ndarray  # (cells, cells) D's probability, row i at y = grid[i]
    real: np.ndarray  # (SHOWN, 2)
    fake: np.ndarray  # (SHOWN, 2)
    arrows: np.ndarray  # (SHOWN, 2) -dl/dx at each shown fake
    manifold: np.ndarray  # (lines, points, 2) the noise grid lines pushed through G
    limit: float
    centers: np.ndarray  # (K, 2) the data's modes (empty without)
    measures: Measures


__all__ = [
    "COARSE",
    "EVAL_SAMPLES",
    "FINE",
    "SHOWN",
    "Measures",
    "Picture",
    "Resolution",
    "divergences",
    "fake_arrows",
    "histogram",
    "manifold_noise",
    "measures_of",
    "noise_limit",
    "probability",
    "view_limit",
]
