"""The classic picture of a VAE: a 2-D latent space and what its decoder draws over it.

With z_dim = 2 every code is a point of the plane, so the whole learned space can be seen at once:

- the decoded grid: z on a side x side grid of normal quantiles, z_k = Phi^-1(p_k) with p_k evenly
  spaced in [QUANTILE_EDGE, 1 - QUANTILE_EDGE], so each tile covers the same prior mass; decoding
  each gives the "manifold" of digits morphing into one another (Kingma & Welling 2014, fig. 4);
- the test digits' codes mu(x), scattered in the plane and coloured by their label: the KL term
  packs them around 0, and digits of one kind gather in one region.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from playground.autoencoding import encode
from playground.models import VAE, VAESampler
from playground.shipped import RealDigits
from playground.train import generate

GRID_SIDE = 15
QUANTILE_EDGE = 0.05
ENCODED_DIGITS = 2000
"""Test digits whose codes the scatter shows."""


class LatentPlaneError(ValueError):
    """The network's latent space is not 2-D, or a grid setting is out of range."""


def quantile_axis(side: int = GRID_SIDE, edge: float = QUANTILE_EDGE) -> Tensor:
    """Phi^-1(p) for `side` values p evenly spaced in [edge, 1 - edge], ascending (side,)."""
    if not 2 <= side <= 40 or not 0.0 < edge < 0.5:
        raise LatentPlaneError(f"side must be 2-40 and edge in (0, 0.5), got {side}, {edge}")
    p = torch.linspace(edge, 1 - edge, side, dtype=torch.float64)
    return torch.distributions.Normal(0.0, 1.0).icdf(p).to(torch.float32)


def grid_codes(axis: Tensor) -> Tensor:
    """The grid's codes (side * side, 2) in reading order: row r holds z_2 = axis[-1 - r] (top
    row highest, as on a plot's y axis) and column c holds z_1 = axis[c]."""
    z1 = axis.repeat(len(axis))
    z2 = axis.flip(0).repeat_interleave(len(axis))
    return torch.stack([z1, z2], dim=1)


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class DecodedGrid:
    """The quantile axis (side,), the grid's codes (side * side, 2) in reading order, and
    decode(z) of each, (side * side, 1, 28, 28) in [-1, 1]."""

    axis: Tensor
    codes: Tensor
    images: Tensor


def _check_two_dimensional(network: VAE) -> None:
    if network.z_dim != 2:
        raise LatentPlaneError(
            f"the decoded grid needs a 2-D latent space, this VAE has {network.z_dim}"
        )


def decoded_grid(network: VAE, side: int = GRID_SIDE, edge: float = QUANTILE_EDGE) -> DecodedGrid:
    """decode(z) over the side x side grid of normal quantiles."""
    _check_two_dimensional(network)
    axis = quantile_axis(side, edge)
    codes = grid_codes(axis)
    return DecodedGrid(axis, codes, generate(VAESampler(network), codes))


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class PlaneCodes:
    """The codes mu(x) (n, 2) of real test digits and their labels (n,)."""

    codes: Tensor
    labels: Tensor


def encode_plane(network: VAE, digits: RealDigits, n: int = ENCODED_DIGITS) -> PlaneCodes:
    """Where the 2-D VAE puts the first n test digits."""
    _check_two_dimensional(network)
    return PlaneCodes(encode(network, digits.images[:n]), digits.labels[:n].clone())
