"""The course's 28x28 DCGAN and its conditional (cGAN) variant.

Generator: noise (B, z) -> 256 -> 128 -> 64 -> 1 channels with transposed convolutions of kernel
3/4/3/4 and stride 2/1/2/2, BatchNorm + ReLU between, tanh at the end: 1x1 -> 3 -> 6 -> 13 -> 28.
Discriminator: 1 -> 16 -> 32 -> 1 channels, kernel 4 stride 2, BatchNorm + LeakyReLU(0.2):
28 -> 13 -> 5 -> 1. It returns a logit per image; the sigmoid lives in the losses.
The conditional variant concatenates a one-hot label to the noise, and feeds D the label as ten
extra constant input channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from playground.models.tricks import MinibatchStdDev

IMAGE_SHAPE = (1, 28, 28)
NUM_CLASSES = 10


def _g_block(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, kernel, stride),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _d_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 4, 2),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(0.2, inplace=True),
    )


def weights_init(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm weights ~ N(1, 0.02), bias 0.

    Pass a seeded `generator` (via functools.partial) to draw from it instead of the global RNG.
    """
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02, generator=generator)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02, generator=generator)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """G(z): noise (B, z_dim) -> images (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            _g_block(z_dim, hidden * 4, 3, 2),  # 1 -> 3
            _g_block(hidden * 4, hidden * 2, 4, 1),  # 3 -> 6
            _g_block(hidden * 2, hidden, 3, 2),  # 6 -> 13
            nn.ConvTranspose2d(hidden, 1, 4, 2),  # 13 -> 28
            nn.Tanh(),
        )

    def forward(self, noise: Tensor) -> Tensor:
        return self.net(noise.view(noise.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """D(x): images (B, c, 28, 28) -> logits (B,). With `minibatch_std` (a training trick) the
    last convolution also sees the batch's spread as one more 5x5 channel."""

    def __init__(self, in_channels: int = 1, hidden: int = 16, minibatch_std: bool = False) -> None:
        super().__init__()
        spread = [MinibatchStdDev()] if minibatch_std else []
        self.net = nn.Sequential(
            _d_block(in_channels, hidden),  # 28 -> 13
            _d_block(hidden, hidden * 2),  # 13 -> 5
            *spread,  # 2h -> 2h + 1 channels: the batch's spread as a constant 5x5 plane
            nn.Conv2d(hidden * 2 + len(spread), 1, 4, 2),  # 5 -> 1
        )

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images).view(images.shape[0])


def one_hot(labels: Tensor, dtype: torch.dtype) -> Tensor:
    """Labels (B,) -> one-hot (B, 10)."""
    return F.one_hot(labels.long(), NUM_CLASSES).to(dtype)


class ConditionalGenerator(nn.Module):
    """G(z, y): the DCGAN generator fed [z, one_hot(y)]."""

    def __init__(self, z_dim: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.body = Generator(z_dim + NUM_CLASSES, hidden)

    def forward(self, noise: Tensor, labels: Tensor) -> Tensor:
        return self.body(torch.cat([noise, one_hot(labels, noise.dtype)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """D(x, y): the DCGAN discriminator fed the image plus ten one-hot label channels."""

    def __init__(self, hidden: int = 16, minibatch_std: bool = False) -> None:
        super().__init__()
        self.body = Discriminator(1 + NUM_CLASSES, hidden, minibatch_std)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        b, _, h, w = images.shape
        label_planes = one_hot(labels, images.dtype)[:, :, None, None].expand(b, NUM_CLASSES, h, w)
        return self.body(torch.cat([images, label_planes], dim=1))
