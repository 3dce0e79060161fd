"""The data of the 2-D world: six preset shapes and a distribution a student drew, each a sampler
that draws only from the `torch.Generator` it is given; the modes of the shapes that have them,
and which modes a batch of samples covers.

    ring       K Gaussians N(c_k, s^2 I), c_k evenly on a circle of the radius r
    two-hills  two broad Gaussians of std r/4 at ±(r/2, r/2): one smooth G can cover both
    line       a segment from (-r, -r/2) to (r, r/2), blurred by s
    clusters   two tight Gaussians at (±r, 0): disjoint supports, far apart
    spiral     a spiral arm of 1.5 turns out to the radius, blurred by s
    grid       3 x 3 Gaussians at {-r, 0, r}^2
    drawn      the drawn points, each blurred by s, in equal shares
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from playground.plane.settings import PlaneSettings

MODE_KINDS = ("ring", "two-hills", "clusters", "grid")
"""The shapes made of modes: their samples are scored by modes covered."""


def mode_centers(settings: PlaneSettings) -> np.ndarray:
    """The modes' centres, shape (K, 2) (empty for a shape without modes)."""
    r = settings.radius
    if settings.data == "ring":
        angle = np.arange(settings.modes) * 2.0 * math.pi / settings.modes
        return r * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    if settings.data == "two-hills":
        return np.array([[-r / 2, -r / 2], [r / 2, r / 2]])
    if settings.data == "clusters":
        return np.array([[-r, 0.0], [r, 0.0]])
    if settings.data == "grid":
        axis = np.array([-r, 0.0, r])
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    return np.empty((0, 2))


def mode_std(settings: PlaneSettings) -> float:
    """Each mode's std: the settings' mode_std, except the broad hills' r/4."""
    return settings.radius / 4 if settings.data == "two-hills" else settings.mode_std


def sample_real(settings: PlaneSettings, count: int, generator: torch.Generator) -> Tensor:
    """`count` real samples (count, 2), drawn from `generator` only."""
    if settings.data in MODE_KINDS:
        return _mixture(settings, count, generator)
    if settings.data == "drawn":
        points = torch.tensor(settings.drawn, dtype=torch.float32)
        k = torch.randint(0, len(points), (count,), generator=generator)
        return points[k] + settings.mode_std * torch.randn(count, 2, generator=generator)
    t = torch.rand(count, generator=generator)
    eps = torch.randn(count, 2, generator=generator)
    r = settings.radius
    if settings.data == "line":
        curve = torch.stack([(2 * t - 1) * r, (t - 0.5) * r], dim=1)
    else:  # spiral: from near the centre out to the radius in 1.5 turns
        angle = 3.0 * math.pi * t
        length = r * (0.15 + 0.85 * t)
        curve = torch.stack([length * torch.cos(angle), length * torch.sin(angle)], dim=1)
    return curve + settings.mode_std * eps


def _mixture(settings: PlaneSettings, count: int, generator: torch.Generator) -> Tensor:
    """x = c_k + std * eps, k uniform over the modes (the ring's draws, in the ring's order)."""
    centers = torch.tensor(mode_centers(settings), dtype=torch.float32)
    k = torch.randint(0, len(centers), (count,), generator=generator)
    eps = torch.randn(count, 2, generator=generator)
    return centers[k] + mode_std(settings) * eps


def sample_noise(kind: str, count: int, dim: int, generator: torch.Generator) -> Tensor:
    """z of shape (count, dim): U(-1, 1) or N(0, 1) in each coordinate."""
    if kind == "uniform":
        return torch.rand(count, dim, generator=generator) * 2.0 - 1.0
    return torch.randn(count, dim, generator=generator)


QUALITY_STDS = 3.0
"""A sample is *on* a mode when it lies within 3 mode std of the mode's centre."""

COVERED_SHARE = 0.25
"""A mode is covered when at least a quarter of its fair share 1/K of the samples lies on it."""


@dataclass(frozen=True)
class Coverage:
    """Which modes a batch of samples covers.

    shares[k] = fraction of all samples on mode k; quality = fraction on any mode.
    """

    covered: int
    shares: np.ndarray
    quality: float


def coverage_of(samples: np.ndarray, centers: np.ndarray, std: float) -> Coverage:
    """Modes covered by `samples` (n, 2): mode k counts when share_k >= COVERED_SHARE / K."""
    distance = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)
    on_mode = distance.min(axis=1) <= QUALITY_STDS * std
    counts = np.bincount(nearest[on_mode], minlength=len(centers))
    shares = counts / max(len(samples), 1)
    covered = int((shares >= COVERED_SHARE / len(centers)).sum())
    return Coverage(covered=covered, shares=shares, quality=float(on_mode.mean()))


def mode_coverage(samples: np.ndarray, settings: PlaneSettings) -> Coverage | None:
    """Modes of `settings`' data covered by `samples` (None for a shape without modes)."""
    if settings.data not in MODE_KINDS:
        return None
    return coverage_of(samples, mode_centers(settings), mode_std(settings))


__all__ = [
    "COVERED_SHARE",
    "MODE_KINDS",
    "QUALITY_STDS",
    "Coverage",
    "coverage_of",
    "mode_centers",
    "mode_coverage",
    "mode_std",
    "sample_noise",
    "sample_real",
]
