"""The 2-D world: its batch source, the two networks (hidden layers, neurons and activation set
per network, as in GAN Lab), their optimizers, and the GANStepper that trains them."""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from playground.gan import GANStepper
from playground.models.mlp import mlp, seeded_linear
from playground.models.tricks import MinibatchStdDev, add_spectral_norm
from playground.plane.data import sample_noise, sample_real
from playground.plane.settings import PlaneSettings
from playground.seeds import TOY_BATCHES, TOY_INIT, stream_seed

ACTIVATION_LAYERS: dict[str, Any] = {
    "relu": nn.ReLU,
    "leaky-relu": partial(nn.LeakyReLU, 0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


class PlaneSource:
    """The BatchSource of the 2-D GAN: real samples of the settings' data and noise z, from one
    RNG (so a snapshot of its state rewinds both)."""

    def __init__(self, settings: PlaneSettings, generator: torch.Generator) -> None:
        self.settings = settings
        self.generator = generator

    def real(self) -> tuple[Tensor, None]:
        return sample_real(self.settings, self.settings.batch_size, self.generator), None

    def noise(self) -> tuple[Tensor, None]:
        s = self.settings
        return sample_noise(s.noise, s.batch_size, s.noise_dim, self.generator), None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["rng"])


def network(
    fan_in: int,
    layers: int,
    neurons: int,
    fan_out: int,
    activation: str,
    generator: torch.Generator,
    minibatch_std: bool = False,
) -> nn.Sequential:
    """fan_in -> `layers` hidden layers of `neurons` -> fan_out, drawn from `generator` in order.
    Two hidden layers are the toy worlds' `mlp` itself (the ring's shipped runs depend on it);
    minibatch std, when on, follows the first hidden layer."""
    act = ACTIVATION_LAYERS[activation]
    if layers == 2:
        return mlp(fan_in, neurons, fan_out, act, generator, minibatch_std)
    parts: list[nn.Module] = [seeded_linear(fan_in, neurons, generator), act()]
    if minibatch_std:
        parts.append(MinibatchStdDev())
    width = neurons + int(minibatch_std)
    for _ in range(layers - 1):
        parts += [seeded_linear(width, neurons, generator), act()]
        width = neurons
    parts.append(seeded_linear(width, fan_out, generator))
    return nn.Sequential(*parts)


def make_generator(settings: PlaneSettings, generator: torch.Generator) -> nn.Sequential:
    """G: z (batch, noise_dim) -> x (batch, 2)."""
    s = settings
    return network(s.noise_dim, s.g_layers, s.g_neurons, 2, s.activation, generator)


def make_discriminator(settings: PlaneSettings, generator: torch.Generator) -> nn.Sequential:
    """D: x (batch, 2) -> one raw output (a logit; a score for least squares or WGAN-GP), with
    minibatch std and spectral norm built in when switched on (drawn after D's weights)."""
    s = settings
    d = network(2, s.d_layers, s.d_neurons, 1, s.activation, generator, s.minibatch_std)
    return add_spectral_norm(d, generator) if s.spectral_norm else d


def make_optimizer(settings: PlaneSettings, params: Any, lr: float) -> torch.optim.Optimizer:
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(settings.beta1, settings.beta2))
    return torch.optim.SGD(params, lr=lr, momentum=settings.momentum)


def build_stepper(settings: PlaneSettings) -> GANStepper:
    """G, D, their optimizers and the batch source of `settings`, in one GANStepper; weights
    from the seed's init stream, batches from its batch stream."""
    init = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_INIT))
    generator = make_generator(settings, init)
    discriminator = make_discriminator(settings, init)
    source = PlaneSource(
        settings, torch.Generator().manual_seed(stream_seed(settings.seed, TOY_BATCHES))
    )
    return GANStepper(
        generator,
        discriminator,
        g_opt=make_optimizer(settings, generator.parameters(), settings.lr_g),
        d_opt=make_optimizer(settings, discriminator.parameters(), settings.lr_d),
        source=source,
        g_loss=settings.g_loss,
        tricks=settings.tricks,
        rng=source.generator,
    )


__all__ = [
    "ACTIVATION_LAYERS",
    "PlaneSource",
    "build_stepper",
    "make_discriminator",
    "make_generator",
    "make_optimizer",
    "network",
]
