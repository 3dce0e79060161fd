"""The MNIST numbers taken apart, for a student who meets them for the first time.

- FID splits into two terms: how far apart the mean features are, |mu_r - mu_g|^2, and how
  differently they spread, tr(S_r) + tr(S_g) - 2 tr((S_r S_g)^1/2) (`fid_parts`). Its picture is
  the two feature clouds seen along the two directions in which the real digits vary most.
- IS is exp(H(p(y)) - E_x H(p(y|x))): high when each digit is classified with confidence (low
  conditional entropy) and all ten digits appear equally often (high marginal entropy), at most 10
  (`is_parts`); the identity holds because E_x KL(p(y|x) || p(y)) = H(p(y)) - E_x H(p(y|x)).
- D's verdicts: early in training D can rate the fakes as *more* real than the real digits
  (`fakes_above_real` finds that stretch in a run's history).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from playground.gan import HistoryPoint
from playground.metrics.scores import gaussian_stats, psd_sqrt, symmetric_eigenvalues

PICTURE_AXES = 2
"""The FID picture shows the feature clouds along this many directions."""


@dataclass(frozen=True)
class FidParts:
    """FID = mean_term + spread_term, and what its picture draws: both feature Gaussians and the
    generated features projected on the real digits' two main directions."""

    mean_term: float
    spread_term: float
    real_center: np.ndarray  # (2,)
    real_cov: np.ndarray  # (2, 2)
    fake_center: np.ndarray  # (2,)
    fake_cov: np.ndarray  # (2, 2)
    fake_points: np.ndarray  # (n, 2)

    @property
    def total(self) -> float:
        return max(self.mean_term + self.spread_term, 0.0)


def fid_parts(real_mean: Tensor, real_cov: Tensor, features: Tensor) -> FidParts:
    """The two terms of FID between the real Gaussian N(real_mean, real_cov) and the Gaussian of
    generated `features` (n, d), and the picture's 2-D projections (float64 throughout)."""
    real_mean, real_cov = real_mean.to(torch.float64), real_cov.to(torch.float64)
    mean, cov = gaussian_stats(features)
    root = psd_sqrt(real_cov)
    trace_sqrt = symmetric_eigenvalues(root @ cov @ root).clamp(min=0).sqrt().sum()
    spread = real_cov.trace() + cov.trace() - 2 * trace_sqrt
    axes = _main_directions(real_cov)  # (d, 2)
    return FidParts(
        mean_term=(real_mean - mean).square().sum().item(),
        spread_term=spread.item(),
        real_center=(real_mean @ axes).numpy(),
        real_cov=(axes.T @ real_cov @ axes).numpy(),
        fake_center=(mean @ axes).numpy(),
        fake_cov=(axes.T @ cov @ axes).numpy(),
        fake_points=(features.to(torch.float64) @ axes).numpy(),
    )


def _main_directions(cov: Tensor) -> Tensor:
    """The eigenvectors of the PICTURE_AXES largest eigenvalues, signs fixed (largest entry > 0)."""
    _, vectors = np.linalg.eigh(((cov + cov.T) / 2).numpy())
    top = vectors[:, ::-1][:, :PICTURE_AXES].copy()
    signs = np.sign(top[np.abs(top).argmax(axis=0), range(PICTURE_AXES)])
    return torch.from_numpy(top * signs)


@dataclass(frozen=True)
class IsParts:
    """IS = exp(marginal_entropy - mean_conditional_entropy), in nats, and what its picture draws:
    how often each digit is predicted, and how sure the classifier is of each image."""

    marginal: np.ndarray  # (classes,) p(y), the mean prediction
    confidence: np.ndarray  # (n,) max_y p(y|x) of each image
    marginal_entropy: float
    mean_conditional_entropy: float

    @property
    def score(self) -> float:
        return math.exp(self.marginal_entropy - self.mean_conditional_entropy)

    @property
    def best_possible(self) -> int:
        """exp(log classes): every image certain, every class equally often."""
        return len(self.marginal)


def is_parts(logits: Tensor) -> IsParts:
    """The two entropies behind the Inception Score of classifier `logits` (n, classes)."""
    log_p = torch.log_softmax(logits.to(torch.float64), dim=1)
    p = log_p.exp()
    marginal = p.mean(dim=0)
    marginal_entropy = -(marginal * marginal.clamp_min(1e-300).log()).sum()
    conditional_entropy = -(p * log_p).sum(dim=1)
    return IsParts(
        marginal=marginal.numpy(),
        confidence=p.max(dim=1).values.numpy(),
        marginal_entropy=marginal_entropy.item(),
        mean_conditional_entropy=conditional_entropy.mean().item(),
    )


@dataclass(frozen=True)
class Stretch:
    """Generator steps first..last (history points) in which D rated the fakes above the real
    digits, and its widest point: D's mean verdicts there."""

    first: int
    last: int
    points: int
    widest_step: int
    d_real: float
    d_fake: float


def fakes_above_real(history: Sequence[HistoryPoint]) -> Stretch | None:
    """The first run of consecutive history points with D(G(z)) > D(x) (a point with a missing
    value breaks a run), or None when D always rated the real digits higher."""
    run: list[HistoryPoint] = []
    for point in history:
        if math.isfinite(point.d_real) and point.d_fake > point.d_real:
            run.append(point)
        elif run:
            break
    if not run:
        return None
    widest = max(run, key=lambda p: p.d_fake - p.d_real)
    return Stretch(
        first=run[0].step,
        last=run[-1].step,
        points=len(run),
        widest_step=widest.step,
        d_real=widest.d_real,
        d_fake=widest.d_fake,
    )


__all__ = ["FidParts", "IsParts", "Stretch", "fakes_above_real", "fid_parts", "is_parts"]
