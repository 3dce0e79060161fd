"""What the figures of a 1-D GAN draw, computed from its networks: p_data(x) and a KDE of p_g(x) on
a fixed x grid, D(x) against D*(x) = p_data / (p_data + p_g), KL and JS, the map z -> x, and
dloss/dx for each shown fake. Pure functions and the records that carry their results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from torch import Tensor, nn

from playground.gan import frozen
from playground.losses import generator_loss, js_divergence, kl_divergence
from playground.toy.settings import ToySettings

EVAL_SAMPLES = 1000
"""Fixed evaluation noise: the density and the shown fakes move only when G moves."""
SHOWN_FAKES = 48
"""The fakes drawn as dots, each with its arrow -dloss/dx."""


def x_grid(settings: ToySettings, points: int = 201) -> np.ndarray:
    """The x grid of every curve: the data +- 4 std and the origin, where G starts."""
    low = min(settings.real_mean - 4.0 * settings.real_std, -3.0)
    high = max(settings.real_mean + 4.0 * settings.real_std, 3.0)
    return np.linspace(low, high, points)


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


def perfect_map(settings: ToySettings, noise: np.ndarray, increasing: bool = True) -> np.ndarray:
    """One exact generator for noise_dim = 1: x = mean + std * Phi^-1(F_z(z)) (inverse-CDF map)."""
    u = (noise + 1.0) / 2.0 if settings.noise == "uniform" else _normal_cdf(noise)
    u = u if increasing else 1.0 - u
    u = np.clip(u, 1e-6, 1.0 - 1e-6)
    inv = np.array([NormalDist().inv_cdf(float(p)) for p in u])
    return settings.real_mean + settings.real_std * inv


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(z) / math.sqrt(2.0)))


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
