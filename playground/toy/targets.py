"""The data distributions of the 1-D GAN: a Gaussian, two separated modes, three modes, a uniform
and a skewed exponential, each with its exact density, CDF and quantile (inverse CDF).

Every target is placed by the settings' real_mean and real_std as its *mean and standard
deviation*: a target is a standard shape s (mean 0, std 1) moved to x = real_mean + real_std * s.
So "data mean ± std" means the same for every target, and only the shape changes:

    gaussian     s ~ N(0, 1)
    two_modes    s ~ ½ N(-a, w²) + ½ N(a, w²),        w = 0.3, a = √(1 - w²)
    three_modes  s ~ ⅓ N(-b, w²) + ⅓ N(0, w²) + ⅓ N(b, w²),   w = 0.2, b = √(3/2 (1 - w²))
    uniform      s ~ U(-√3, √3)
    exponential  s = E - 1, E ~ Exp(1)                  (skewed: a long right tail)

The exact monotone generator for one noise coordinate z is x = Q(F_z(z)), Q the target's
quantile: it pushes the noise's distribution onto the target's exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from torch import Tensor

from playground.losses import gaussian_pdf
from playground.toy.settings import TARGETS, ToySettings

MODE_STDS = {"two_modes": 0.3, "three_modes": 0.2}
"""The width w of each mode of the mixtures, in units of the target's std: the modes' centres
are 6.4 (two modes) and 6 (three) widths apart."""
MODE_REACH = 2.5
"""A fake belongs to a mode when it is within this many of the mode's std of its centre."""


@dataclass(frozen=True)
class Mode:
    """One Gaussian component of a target: weight, centre and std (in x units)."""

    weight: float
    mean: float
    std: float


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return torch.special.ndtr(torch.as_tensor(x, dtype=torch.float64)).numpy()


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.asarray(x, dtype=np.float64) ** 2) / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Target:
    """A 1-D data distribution with mean `mean` and std `std` (`kind` one of TARGETS)."""

    kind: str
    mean: float
    std: float

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The Gaussian components (one for the Gaussian; none for uniform and exponential)."""
        m, s = self.mean, self.std
        if self.kind == "gaussian":
            return (Mode(1.0, m, s),)
        if self.kind == "two_modes":
            w = MODE_STDS["two_modes"]
            a = math.sqrt(1.0 - w**2)
            return tuple(Mode(0.5, m + c * a * s, w * s) for c in (-1.0, 1.0))
        if self.kind == "three_modes":
            w = MODE_STDS["three_modes"]
            b = math.sqrt(1.5 * (1.0 - w**2))
            return tuple(Mode(1.0 / 3.0, m + c * b * s, w * s) for c in (-1.0, 0.0, 1.0))
        return ()

    @property
    def support(self) -> tuple[float, float]:
        """Where the density is positive (±inf where it has a tail)."""
        if self.kind == "uniform":
            half = math.sqrt(3.0) * self.std
            return self.mean - half, self.mean + half
        if self.kind == "exponential":
            return self.mean - self.std, math.inf
        return -math.inf, math.inf

    def span(self) -> tuple[float, float]:
        """The x range a figure shows: ±4 std (the exponential's tail to +6 std, mass e^-7)."""
        if self.kind == "exponential":
            return self.mean - 3.0 * self.std, self.mean + 6.0 * self.std
        return self.mean - 4.0 * self.std, self.mean + 4.0 * self.std

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """p_data(x), exactly."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "gaussian":  # as the 1-D page always drew it
            return gaussian_pdf(x, self.mean, self.std)
        if self.modes:
            return sum(m.weight * _normal_pdf((x - m.mean) / m.std) / m.std for m in self.modes)
        low, high = self.support
        if self.kind == "uniform":
            return np.where((x >= low) & (x <= high), 1.0 / (high - low), 0.0)
        inside = x >= low
        decay = np.exp(-(np.where(inside, x, low) - low) / self.std)
        return np.where(inside, decay / self.std, 0.0)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """F_data(x) = P(X <= x), exactly."""
        x = np.asarray(x, dtype=np.float64)
        if self.modes:
            return sum(m.weight * _normal_cdf((x - m.mean) / m.std) for m in self.modes)
        low, high = self.support
        if self.kind == "uniform":
            return np.clip((x - low) / (high - low), 0.0, 1.0)
        return np.where(x >= low, -np.expm1(-(np.maximum(x, low) - low) / self.std), 0.0)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Q(u) = F_data^-1(u) for u in (0, 1): closed forms, bisection for the mixtures."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "gaussian":  # as the 1-D page always drew it (NormalDist's inverse)
            inv = np.array([NormalDist().inv_cdf(float(p)) for p in u.ravel()]).reshape(u.shape)
            return self.mean + self.std * inv
        low, high = self.support
        if self.kind == "uniform":
            return low + u * (high - low)
        if self.kind == "exponential":
            return low - self.std * np.log1p(-u)
        return self._bisect(u)

    def _bisect(self, u: np.ndarray) -> np.ndarray:
        """The mixture's quantile by bisection on its CDF (60 halvings: below 1e-12 of the span)."""
        lo = np.full(u.shape, min(m.mean - 12.0 * m.std for m in self.modes))
        hi = np.full(u.shape, max(m.mean + 12.0 * m.std for m in self.modes))
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < u
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def sample(self, count: int, generator: torch.Generator) -> Tensor:
        """x of shape (count, 1), every random number drawn from `generator`."""
        if self.kind == "gaussian":  # the draw the 1-D page always made: same batches
            return torch.randn(count, 1, generator=generator) * self.std + self.mean
        if not self.modes:
            u = torch.rand(count, 1, generator=generator, dtype=torch.float64)
            return torch.from_numpy(self.quantile(u.numpy())).float()
        pick = torch.rand(count, 1, generator=generator)
        weights = torch.tensor([m.weight for m in self.modes]).cumsum(0)
        index = torch.searchsorted(weights[:-1].contiguous(), pick.reshape(-1), right=True)
        means = torch.tensor([m.mean for m in self.modes])[index].reshape(-1, 1)
        stds = torch.tensor([m.std for m in self.modes])[index].reshape(-1, 1)
        return torch.randn(count, 1, generator=generator) * stds + means

    def mode_shares(self, samples: np.ndarray) -> np.ndarray:
        """The share of `samples` within MODE_REACH std of each mode's centre (in mode order)."""
        s = np.asarray(samples, dtype=np.float64).ravel()
        s = s[np.isfinite(s)]
        if s.size == 0:
            return np.zeros(len(self.modes))
        return np.array([np.mean(np.abs(s - m.mean) <= MODE_REACH * m.std) for m in self.modes])

    def data_mode_shares(self) -> np.ndarray:
        """The share of the data itself within MODE_REACH std of each mode (weight × 98.8 %)."""
        inside = math.erf(MODE_REACH / math.sqrt(2.0))
        return np.array([m.weight * inside for m in self.modes])

    def ks_distance(self, samples: np.ndarray) -> float:
        """Kolmogorov-Smirnov distance sup_x |F_samples(x) - F_data(x)| (0: the same law)."""
        s = np.sort(np.asarray(samples, dtype=np.float64).ravel())
        if s.size == 0:
            return 1.0
        f = self.cdf(s)
        n = s.size
        above = np.arange(1, n + 1) / n - f
        below = f - np.arange(n) / n
        return float(max(above.max(), below.max()))


def target_of(settings: ToySettings) -> Target:
    """The data distribution `settings` asks for (its kind, mean real_mean and std real_std)."""
    if settings.target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {settings.target!r}")
    return Target(settings.target, settings.real_mean, settings.real_std)
