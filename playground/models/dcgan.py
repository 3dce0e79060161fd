"""The course's 28x28 DCGAN and its conditional (cGAN) variant.

Generator: noise (B, z) -> 256 -> 128 -> 64 -> 1 channels with transposed convolutions of kernel
3/4/3/4 and stride 2/1/2/2, BatchNorm + ReLU between, tanh at the end: 1x1 -> 3 -> 6 -> 13 -> 28.
Discriminator: 1 -> 16 -> 32 -> 1 channels, kernel 4 stride 2, BatchNorm + LeakyReLU(0.2):
28 -> 13 -> 5 -> 1. It returns a logit per image; the sigmoid lives in the losses.
The conditional variant concatenates a one-hot label to the noise, and feeds D the label as ten
extra constant input channels.

Ablations break one DCGAN rule each (Radford et al. 2015), for a run to compare with the baseline:
`ablate_generator` / `ablate_discriminator` rewrite an initialised network in place (so every
layer both share keeps its initial weights), and `FullyConnectedGenerator` replaces G's
transposed convolutions by linear layers. See ABLATIONS.
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
    """DCGAN initialisation: conv (and linear) weights ~ N(0, 0.02), BatchNorm weights
    ~ N(1, 0.02), bias 0.

    Pass a seeded `generator` (via functools.partial) to draw from it instead of the global RNG.
    """
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02, generator=generator)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
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


FC_WIDTHS = (256, 512, 1024)
"""Hidden units of the fully connected G: the classic MLP generator of the first GAN papers."""


class FullyConnectedGenerator(nn.Module):
    """G(z) with linear layers instead of transposed convolutions (the "fully connected G"
    ablation): z -> 256 -> 512 -> 1024 -> 784 units, BatchNorm + ReLU between, tanh at the end,
    reshaped to (B, 1, 28, 28). No layer knows that neighbouring pixels belong together."""

    def __init__(self, z_dim: int = 64, widths: tuple[int, ...] = FC_WIDTHS) -> None:
        super().__init__()
        self.z_dim = z_dim
        sizes = (z_dim, *widths)
        blocks = [_fc_block(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
        pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * IMAGE_SHAPE[2]
        self.net = nn.Sequential(
            *blocks,
            nn.Linear(sizes[-1], pixels),  # 1024 -> 784
            nn.Tanh(),
            nn.Unflatten(1, IMAGE_SHAPE),  # 784 -> 1x28x28
        )

    def forward(self, noise: Tensor) -> Tensor:
        return self.net(noise.view(noise.shape[0], -1))


def _fc_block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU(inplace=True))


def one_hot(labels: Tensor, dtype: torch.dtype) -> Tensor:
    """Labels (B,) -> one-hot (B, 10)."""
    return F.one_hot(labels.long(), NUM_CLASSES).to(dtype)


class ConditionalGenerator(nn.Module):
    """G(z, y): the DCGAN generator (or the fully connected one) fed [z, one_hot(y)]."""

    def __init__(self, z_dim: int = 64, hidden: int = 64, fully_connected: bool = False) -> None:
        super().__init__()
        self.z_dim = z_dim
        if fully_connected:
            self.body: nn.Module = FullyConnectedGenerator(z_dim + NUM_CLASSES)
        else:
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


# ---------------------------------------------------------------------------------------------
# Ablations: one DCGAN rule broken at a time

ABLATIONS = (
    "none",
    "no_batch_norm",
    "max_pool_d",
    "relu_d",
    "sigmoid_g",
    "fully_connected_g",
)
"""none: the course DCGAN. no_batch_norm: every BatchNorm of G and D becomes an identity.
max_pool_d: D's two down-sampling convolutions get stride 1 and a 2x2 max pooling after their
activation (the same 28 -> 13 -> 5 sizes). relu_d: ReLU instead of LeakyReLU(0.2) in D.
sigmoid_g: sigmoid instead of tanh at G's output, and D reads real digits in [0, 1] too.
fully_connected_g: FullyConnectedGenerator instead of the convolutional G."""
NO_ABLATION = "none"


class UnitToModelRange(nn.Module):
    """p -> 2p - 1: a sigmoid G's pixels in [0, 1] handed out in the data's range [-1, 1], so that
    samples, pictures and metrics read every G alike. No parameters."""

    def forward(self, pixels: Tensor) -> Tensor:
        return pixels * 2 - 1


class ModelToUnitRange(nn.Module):
    """x -> (x + 1) / 2 on the image channel (the first): D of the sigmoid ablation reads pixels
    in [0, 1]. With UnitToModelRange after G's sigmoid, D sees exactly sigmoid(a) for a fake and
    the real digit scaled to [0, 1]: the game of a [0, 1] data set and a sigmoid G."""

    def forward(self, images: Tensor) -> Tensor:
        return torch.cat([(images[:, :1] + 1) / 2, images[:, 1:]], dim=1)


def _replace_modules(network: nn.Module, kind: type, make: type | None) -> None:
    """Replace every module of type `kind` inside `network` by make() (nn.Identity by default)."""
    for name, child in network.named_children():
        if isinstance(child, kind):
            setattr(network, name, (make or nn.Identity)())
        else:
            _replace_modules(child, kind, make)


def _sigmoid_output(network: nn.Module) -> None:
    for name, child in network.named_children():
        if isinstance(child, nn.Tanh):  # a parameterless Sequential keeps the state dict's keys
            setattr(network, name, nn.Sequential(nn.Sigmoid(), UnitToModelRange()))
        else:
            _sigmoid_output(child)


def ablate_generator(generator: nn.Module, ablation: str) -> nn.Module:
    """Break G's share of `ablation`'s rule, in place; parameters keep their values and keys.
    (The fully connected G is built as such: see FullyConnectedGenerator.)"""
    if ablation == "no_batch_norm":
        _replace_modules(generator, nn.BatchNorm2d, None)
    elif ablation == "sigmoid_g":
        _sigmoid_output(generator)
    return generator


def _d_blocks(discriminator: nn.Module) -> list[nn.Sequential]:
    """D's down-sampling blocks (convolution, BatchNorm, activation)."""
    return [
        m
        for m in discriminator.modules()
        if isinstance(m, nn.Sequential) and len(m) == 3 and isinstance(m[0], nn.Conv2d)
    ]


def _pooled(block: nn.Sequential) -> None:
    """The block's convolution gets stride 1 and a 2x2 max pooling follows its activation
    (ceil_mode keeps the strided sizes: 28 -> 25 -> 13, 13 -> 10 -> 5)."""
    conv = block[0]
    conv.stride = (1, 1)
    block.append(nn.MaxPool2d(2, ceil_mode=True))


def ablate_discriminator(discriminator: nn.Module, ablation: str) -> nn.Module:
    """Break D's share of `ablation`'s rule, in place; parameters keep their values (and their
    keys, except after the sigmoid ablation's input layer, which shifts D's layer numbers)."""
    if ablation == "no_batch_norm":
        _replace_modules(discriminator, nn.BatchNorm2d, None)
    elif ablation == "relu_d":
        _replace_modules(discriminator, nn.LeakyReLU, nn.ReLU)
    elif ablation == "max_pool_d":
        for block in _d_blocks(discriminator):
            _pooled(block)
    elif ablation == "sigmoid_g":
        body = getattr(discriminator, "body", discriminator)  # a cGAN's D wraps the DCGAN's
        body.net.insert(0, ModelToUnitRange())
    return discriminator
