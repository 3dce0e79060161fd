"""The tiny multilayer perceptrons of the toy worlds (the 1-D GAN and the ring of modes), drawn from
a seeded generator instead of torch's global RNG."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from playground.models.tricks import MinibatchStdDev


def seeded_linear(fan_in: int, fan_out: int, generator: torch.Generator) -> nn.Linear:
    """nn.Linear with PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) init, drawn from
    `generator` instead of the global RNG."""
    layer = torch.nn.utils.skip_init(nn.Linear, fan_in, fan_out)
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def mlp(
    fan_in: int,
    hidden: int,
    fan_out: int,
    activation: Callable[[], nn.Module],
    generator: torch.Generator,
    minibatch_std: bool = False,
) -> nn.Sequential:
    """fan_in -> hidden -> hidden -> fan_out, `activation()` after each hidden layer; the layers
    drawn from `generator` in order. With `minibatch_std` (a discriminator trick) the first
    hidden layer's features get the batch's spread appended: hidden + 1 -> hidden next."""
    if not minibatch_std:
        return nn.Sequential(
            seeded_linear(fan_in, hidden, generator), activation(),
            seeded_linear(hidden, hidden, generator), activation(),
            seeded_linear(hidden, fan_out, generator),
        )  # fmt: skip
    return nn.Sequential(
        seeded_linear(fan_in, hidden, generator), activation(), MinibatchStdDev(),
        seeded_linear(hidden + 1, hidden, generator), activation(),
        seeded_linear(hidden, fan_out, generator),
    )  # fmt: skip
