"""The course's DCGAN generator with the knobs the batch-norm lesson turns: batch normalization on
or off, extra layers, and the scale of the initial weights.

Every variant is `models.dcgan.Generator` itself: its blocks, in its order, initialised by its
`weights_init`. Extra layers are blocks of the same kind (transposed convolution, BatchNorm,
ReLU) that keep the 13x13 size, inserted before the output layer; `batch_norm=False` swaps every
BatchNorm2d for an identity; `init_std` rescales the N(0, 0.02) convolution weights (the same
random draws, so variants of one seed differ only by the knob that was turned).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from playground.models.dcgan import Generator, weights_init

DCGAN_INIT_STD = 0.02
"""The standard deviation of DCGAN's initial convolution weights (weights_init)."""


def _same_size_block(channels: int) -> nn.Sequential:
    """A generator block that keeps the image size: 3x3 transposed convolution, padding 1."""
    return nn.Sequential(
        nn.ConvTranspose2d(channels, channels, 3, 1, 1),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


def _without_batch_norm(module: nn.Module) -> None:
    """Replace every BatchNorm2d inside `module` by an identity, in place."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.Identity())
        else:
            _without_batch_norm(child)


def generator_variant(
    batch_norm: bool = True,
    extra_layers: int = 0,
    init_std: float = DCGAN_INIT_STD,
    seed: int = 0,
    z_dim: int = 64,
    hidden: int = 64,
) -> Generator:
    """The DCGAN generator, optionally deeper, with or without BatchNorm, its convolution weights
    drawn from N(0, init_std²) by a generator seeded with `seed` (torch's global RNG is untouched).

    With the defaults it is exactly `Generator(z_dim, hidden)` after DCGAN's initialisation.
    """
    with torch.random.fork_rng(devices=[]):  # the modules' own default init draws globally
        generator = Generator(z_dim, hidden)
        blocks = list(generator.net)
        extra = [_same_size_block(hidden) for _ in range(extra_layers)]
    generator.net = nn.Sequential(*blocks[:-2], *extra, *blocks[-2:])
    generator.apply(partial(weights_init, generator=torch.Generator().manual_seed(seed)))
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, nn.ConvTranspose2d):
                module.weight.mul_(init_std / DCGAN_INIT_STD)
    if not batch_norm:
        _without_batch_norm(generator)
    return generator


__all__ = ["DCGAN_INIT_STD", "generator_variant"]
