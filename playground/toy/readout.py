"""What the figures of a 1-D GAN draw, computed from its networks: the target's exact p_data(x)
and a KDE of p_g(x) on a fixed x grid, D(x) against D*(x) = p_data / (p_data + p_g), KL and JS,
the map z -> x, and dloss/dx for each shown fake. Pure functions and the records that carry their results."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from playground.gan import frozen
from playground.losses import generator_loss, js_divergence, kl_divergence
from playground.toy.settings import ToySettings
from playground.toy.targets import target_of

EVAL_SAMPLES = 1000
"""Fixed evaluation noise: the density and the shown fakes move only when G moves."""
SHOWN_FAKES = 48
"""The fakes drawn as dots, each with its arrow -dloss/dx."""


def x_grid(settings: ToySettings, points: int = 201) -> np.ndarray:
    """The x grid of every curve: the data +- 4 std (the exponential's tail further) and the
    origin, where G starts."""
    low, high = target_of(settings).span()
    return np.linspace(min(low, -3.0), max(high, 3.0), points)


def silverman_bandwidth(samples: np.ndarray) -> float:
    """Silverman's rule of thumb h = 0.9 min(std, IQR / 1.34) n^(-1/5)."""
    q75, q25 = np.percentile(samples, [75, 25])
    spread = min(float(samples.std()), float(q75 - q25) / 1.34) or float(samples.std())
    return 0.9 * spread * samples.size**-0.2


def kde(samples: np.ndarray, x: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density estimate p(x) = 1/n sum_i N(x; s_i, h^2) on the uniform grid x.

    Binned: each sample is split linearly between its two nearest grid points (the grid padded
    by 4h so nearby outside samples count), then the counts are convolved with the kernel; this
    is O(n + grid) instead of O(n * grid) and differs from the exact sum by O((dx / h)^2).
    h defaults to Silverman's rule, floored at two grid steps so a collapsed generator still gives
    a narrow bump. Non-finite samples are dropped.
    """
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return np.zeros_like(x, dtype=np.float64)
    dx = float(x[1] - x[0])
    h = max(silverman_bandwidth(s), 2.0 * dx) if bandwidth is None else bandwidth
    pad = math.ceil(4.0 * h / dx)
    size = x.size + 2 * pad
    position = (s - (x[0] - pad * dx)) / dx
    position = position[(position >= 0) & (position < size - 1)]
    left = np.floor(position).astype(np.int64)
    right_share = position - left
    counts = np.bincount(left, 1.0 - right_share, size) + np.bincount(left + 1, right_share, size)
    offsets = np.arange(-pad, pad + 1) * dx
    kernel = np.exp(-0.5 * (offsets / h) ** 2) / (h * math.sqrt(2.0 * math.pi))
    density = np.convolve(counts, kernel, mode="same") / s.size
    return density[pad : pad + x.size]


def divergences(p_data: np.ndarray, p_g: np.ndarray, dx: float) -> tuple[float, float]:
    """(KL(p_data || p_g), JS(p_data || p_g)) of two densities sampled on one grid."""
    return kl_divergence(p_data, p_g, dx), js_divergence(p_data, p_g, dx)


def fake_gradients(
    discriminator: nn.Module, fake: Tensor, g_loss: str, objective: str = "gan"
) -> Tensor:
    """dl/dx~ for each fake x~, l its own generator loss: a G step moves x~ along -dl/dx~.

    non-saturating l = softplus(-D_logit(x~)), minimax l = -softplus(D_logit(x~)); with the
    wgan-gp objective l = -f(x~), f the critic's score.
    """
    x = fake.detach().reshape(-1, 1).clone().requires_grad_(True)
    with frozen(discriminator):
        logits = discriminator(x).reshape(-1)
        # generator_loss is a batch mean; times n it is the sum of each fake's own loss.
        loss = -logits.mean() if objective == "wgan-gp" else generator_loss(logits, g_loss)
        total = loss * logits.numel()
        (grad,) = torch.autograd.grad(total, x)
    return grad.reshape(-1)


def noise_cdf(settings: ToySettings, noise: np.ndarray) -> np.ndarray:
    """F_z(z) of one noise coordinate: (z + 1) / 2 for U(-1, 1), Phi(z) for N(0, 1)."""
    if settings.noise == "uniform":
        return (noise + 1.0) / 2.0
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(noise) / math.sqrt(2.0)))


def noise_pdf(settings: ToySettings, noise: np.ndarray) -> np.ndarray:
    """f_z(z) of one noise coordinate: 1/2 on (-1, 1) for U(-1, 1), the N(0, 1) density."""
    z = np.asarray(noise, dtype=np.float64)
    if settings.noise == "uniform":
        return np.where(np.abs(z) <= 1.0, 0.5, 0.0)
    return np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)


def perfect_map(settings: ToySettings, noise: np.ndarray, increasing: bool = True) -> np.ndarray:
    """One exact generator for noise_dim = 1: x = Q(F_z(z)), Q the target's quantile (for the
    Gaussian x = mean + std * Phi^-1(F_z(z))); decreasing: x = Q(1 - F_z(z))."""
    u = noise_cdf(settings, noise)
    u = u if increasing else 1.0 - u
    u = np.clip(u, 1e-6, 1.0 - 1e-6)
    return target_of(settings).quantile(u)


def fake_density(settings: ToySettings, fakes: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The KDE of p_g on the grid. For a target of several modes the bandwidth is at most half a
    mode's std: Silverman's rule, made for one bump, would blur even perfect fakes' modes."""
    modes = target_of(settings).modes
    if len(modes) < 2:
        return kde(fakes, grid)
    finite = fakes[np.isfinite(fakes)]
    rule = silverman_bandwidth(finite) if finite.size > 1 else math.inf
    floor = 2.0 * float(grid[1] - grid[0])
    return kde(fakes, grid, max(min(rule, 0.5 * min(m.std for m in modes)), floor))


@dataclass(frozen=True)
class Measures:
    """The numbers one history entry keeps, measured on the fixed evaluation samples.

    d_real = integral p_data(x) D(x) dx, d_fake = mean D(G(z)) over the evaluation noise,
    push = mean -dl/dx~ over the shown fakes (> 0: G pushes the fakes right).
    """

    kl: float
    js: float
    fake_mean: float
    fake_std: float
    d_real: float
    d_fake: float
    push: float


@dataclass(frozen=True)
class Readout:
    """Everything the figures draw for the current state, as numpy arrays on one grid."""

    x: np.ndarray
    p_data: np.ndarray
    p_g: np.ndarray
    d_x: np.ndarray  # D(x) = sigmoid(logit)
    d_star: np.ndarray  # p_data / (p_data + p_g)
    fake: np.ndarray  # the shown fakes G(z_i)
    fake_d: np.ndarray  # D(G(z_i))
    fake_grad: np.ndarray  # dl/dx~ at each shown fake
    map_noise: np.ndarray  # z (first coordinate) of the map z -> x
    map_fake: np.ndarray  # G(z)
    map_perfect: np.ndarray  # an exact map for noise_dim = 1 (empty otherwise)
    measures: Measures
    settings: ToySettings


@dataclass(frozen=True)
class Curves:
    """History of the numbers up to the current step (NaN where a step did not measure one)."""

    step: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    kl: np.ndarray
    js: np.ndarray
