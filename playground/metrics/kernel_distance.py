"""The kernel distance between two sets of features (KID, Binkowski et al. 2018).

FID fits one Gaussian to each set and compares those; KID compares the sets themselves through a
kernel, with no assumption about their shape, and is unbiased, so small sets do not inflate it:

    k(x, y) = (x . y / d + 1)^3                       (the cubic polynomial kernel, d features)
    KID = 1/(m(m-1)) sum_{i != j} k(r_i, r_j) + 1/(n(n-1)) sum_{i != j} k(f_i, f_j)
          - 2/(m n) sum_{i, j} k(r_i, f_j)

the unbiased estimate of the squared maximum mean discrepancy MMD^2 between the real features
r (m, d) and the generated ones f (n, d). It is about 0 for two samples of one distribution (and
can then dip slightly below 0); the larger, the further apart the sets.
"""

from __future__ import annotations

import torch
from torch import Tensor

from playground.metrics.scores import MetricsInputError


def polynomial_kernel(a: Tensor, b: Tensor) -> Tensor:
    """k(a_i, b_j) = (a_i . b_j / d + 1)^3 for features a (m, d) and b (n, d), as (m, n) float64."""
    a, b = a.to(torch.float64), b.to(torch.float64)
    return (a @ b.T / a.shape[1] + 1) ** 3


def _mean_off_diagonal(kernel: Tensor) -> Tensor:
    m = kernel.shape[0]
    return (kernel.sum() - kernel.diagonal().sum()) / (m * (m - 1))


def kernel_distance(real: Tensor, fake: Tensor) -> float:
    """KID: the unbiased MMD^2 of features real (m, d) and fake (n, d), cubic polynomial kernel."""
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise MetricsInputError(
            f"KID needs two feature sets (m, d) and (n, d), got {tuple(real.shape)} and "
            f"{tuple(fake.shape)}"
        )
    if min(real.shape[0], fake.shape[0]) < 2:
        raise MetricsInputError("KID needs at least 2 features in each set")
    within_real = _mean_off_diagonal(polynomial_kernel(real, real))
    within_fake = _mean_off_diagonal(polynomial_kernel(fake, fake))
    across = polynomial_kernel(real, fake).mean()
    return (within_real + within_fake - 2 * across).item()
