"""The tricks that change the discriminator's layers: a minibatch standard-deviation feature and
spectral normalisation. Both are switched on when D is built (see `playground.tricks`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

MINIBATCH_STD_EPS = 1e-8
"""Added to the variance before the square root, as Karras et al. do: a batch of identical
samples has std 0, whose square root has an infinite gradient."""


def minibatch_std(features: Tensor) -> Tensor:
    """s = mean over features (and positions) of sqrt(Var_batch[feature] + eps), a 0-d tensor:
    how much the samples of a batch differ from each other (the biased variance, over dim 0)."""
    variance = features.var(dim=0, unbiased=False)
    return torch.sqrt(variance + MINIBATCH_STD_EPS).mean()


class MinibatchStdDev(nn.Module):
    """Appends one feature to every sample: the spread `minibatch_std` of its whole batch
    (Karras et al. 2018, "Progressive growing of GANs", section 3). (B, C) -> (B, C + 1);
    (B, C, H, W) -> (B, C + 1, H, W).

    A D that sees the spread can tell a collapsed batch of fakes (s ~ 0) from real data, so G
    gains by spreading out. In eval mode (read-outs, figures) D is shown one point at a time, not
    a batch: the layer then uses the spread of the last batch it saw in training, kept in the
    buffer `last_std` (G's fakes: they are the last batch of every update).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("last_std", torch.zeros(()))

    def forward(self, features: Tensor) -> Tensor:
        if self.training:
            spread = minibatch_std(features)
            self.last_std.copy_(spread.detach())
        else:
            spread = self.last_std
        column = spread.to(features.dtype).expand(features.shape[0], 1, *features.shape[2:])
        return torch.cat([features, column], dim=1)


NORMALISED_LAYERS = (nn.Linear, nn.Conv2d)

POWER_ITERATIONS_AT_START = 15
"""torch's own spectral_norm runs 15 power iterations when it is applied; we do the same after
drawing the start vector from a seeded generator."""


def add_spectral_norm(network: nn.Module, generator: torch.Generator) -> nn.Module:
    """Every linear and convolutional layer of `network` uses W / sigma(W), sigma(W) its largest
    singular value (Miyato et al. 2018), through torch.nn.utils.parametrizations.spectral_norm:
    one power iteration per forward pass in training mode estimates sigma.

    torch draws the power iteration's start vectors from its global RNG; here the global RNG is
    left as it was and the start vector comes from `generator`, so a seed gives the same D.
    Returns `network`, changed in place.
    """
    layers = [m for m in network.modules() if isinstance(m, NORMALISED_LAYERS)]
    for layer in layers:
        devices = [layer.weight.device] if layer.weight.is_cuda else []
        with torch.random.fork_rng(devices=devices):
            spectral_norm(layer)
        _seed_power_iteration(layer, generator)
    return network


@torch.no_grad()
def _seed_power_iteration(layer: nn.Module, generator: torch.Generator) -> None:
    """Restart the layer's power iteration from v ~ N(0, I) drawn from `generator`."""
    # The parametrization's own matrix view and power method, so the maths stays torch's.
    normaliser = layer.parametrizations.weight[0]
    matrix = normaliser._reshape_weight_to_matrix(layer.parametrizations.weight.original)
    start = torch.randn(matrix.shape[1], generator=generator).to(matrix)
    normaliser._v.copy_(F.normalize(start, dim=0, eps=normaliser.eps))
    normaliser._power_method(matrix, POWER_ITERATIONS_AT_START)
