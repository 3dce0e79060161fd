"""The MNIST trainers' networks, built without touching torch's global RNG: fresh ones initialised
from the run's seed, or empty ones (zero weights) for loading a checkpoint into."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from playground.models import (
    VAE,
    ConditionalDiscriminator,
    ConditionalGenerator,
    Discriminator,
    FullyConnectedGenerator,
    Generator,
    VAEConfig,
    ablate_discriminator,
    ablate_generator,
    add_spectral_norm,
    vae_init,
    weights_init,
)
from playground.seeds import INIT_STREAM, stream_seed
from playground.train.settings import TrainSettings, VAESettings

FULLY_CONNECTED_INIT_STREAM = "fully connected generator"
"""The fully connected G's initial weights (a word stream: the MNIST engine's numbered ones are
taken)."""


def memory_format_for(device: torch.device) -> torch.memory_format:
    """channels_last on CPU (oneDNN's transposed convolutions run 1.5-2.5x faster in it)."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def _empty_network(build: Callable[..., nn.Module], *args: int) -> nn.Module:
    """A network with every parameter and buffer zero, built without touching torch's global RNG."""
    with torch.device("meta"):
        network = build(*args)
    # What to_empty(device="cpu") does, minus its empty_like on meta tensors, whose first call
    # imports torch's reference-op machinery (~0.6 s, paid by the first page that loads a model).
    network._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device="cpu"))
    with torch.no_grad():
        for tensor in [*network.parameters(), *network.buffers()]:
            tensor.zero_()
    for module in network.modules():
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            module.reset_running_stats()
    return network


FULLY_CONNECTED = "fully_connected_g"


def _baseline_generator(settings: TrainSettings, fully_connected: bool) -> nn.Module:
    """The DCGAN's G (or the fully connected one) with zero weights, no other ablation."""
    if settings.conditional:
        return _empty_network(partial(ConditionalGenerator, fully_connected=fully_connected),
                              settings.z_dim)  # fmt: skip
    return _empty_network(FullyConnectedGenerator if fully_connected else Generator, settings.z_dim)


def build_generator(settings: TrainSettings) -> nn.Module:
    """G for settings.model and settings.ablation with zero weights (for loading a checkpoint
    into)."""
    fully_connected = settings.ablation == FULLY_CONNECTED
    return ablate_generator(_baseline_generator(settings, fully_connected), settings.ablation)


def _plain_discriminator(settings: TrainSettings) -> nn.Module:
    """The DCGAN's D with zero weights, a minibatch-std layer if asked for, no ablation and no
    spectral norm yet."""
    network = ConditionalDiscriminator if settings.conditional else Discriminator
    if settings.minibatch_std:
        return _empty_network(partial(network, minibatch_std=True))
    return _empty_network(network)


def _ablated_discriminator(settings: TrainSettings) -> nn.Module:
    return ablate_discriminator(_plain_discriminator(settings), settings.ablation)


def build_discriminator(settings: TrainSettings) -> nn.Module:
    """D for settings.model with zero weights (for loading a checkpoint into), with the layers
    of its training tricks (a checkpoint of a D with spectral norm stores W's parametrization)."""
    discriminator = _ablated_discriminator(settings)
    if settings.spectral_norm:  # the power iteration's vectors come from the checkpoint
        add_spectral_norm(discriminator, torch.Generator().manual_seed(0))
    return discriminator


def build_models(settings: TrainSettings) -> tuple[nn.Module, nn.Module]:
    """Fresh G and D on the CPU, DCGAN-initialised from a generator seeded by settings.seed
    (spectral norm wraps D's weights after they are drawn, its start vectors drawn next).

    An ablation rewrites the initialised networks, so every layer it leaves alone starts from
    the baseline's weights; the fully connected G draws from a stream of its own after the
    baseline G's draws, so D still starts from the baseline's weights.
    """
    init = torch.Generator().manual_seed(stream_seed(settings.seed, INIT_STREAM))
    generator = _baseline_generator(settings, fully_connected=False)
    discriminator = _plain_discriminator(settings)
    generator.apply(partial(weights_init, generator=init))
    discriminator.apply(partial(weights_init, generator=init))
    if settings.ablation == FULLY_CONNECTED:
        own = torch.Generator().manual_seed(stream_seed(settings.seed, FULLY_CONNECTED_INIT_STREAM))
        generator = _baseline_generator(settings, fully_connected=True)
        generator.apply(partial(weights_init, generator=own))
    ablate_generator(generator, settings.ablation)
    ablate_discriminator(discriminator, settings.ablation)
    if settings.spectral_norm:
        add_spectral_norm(discriminator, init)
    return generator, discriminator


def build_optimizers(
    generator: nn.Module, discriminator: nn.Module, settings: TrainSettings, device: torch.device
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G and D; capturable on CUDA (step counters on the GPU, as graph capture needs)."""
    betas = (settings.beta1, settings.beta2)
    capturable = device.type == "cuda"
    g_opt = torch.optim.Adam(
        generator.parameters(), lr=settings.lr_g, betas=betas, capturable=capturable
    )
    d_opt = torch.optim.Adam(
        discriminator.parameters(), lr=settings.lr_d, betas=betas, capturable=capturable
    )
    return g_opt, d_opt


def build_vae(settings: VAESettings) -> VAE:
    """A fresh VAE on the CPU, initialised from a generator seeded by settings.seed."""
    init = torch.Generator().manual_seed(stream_seed(settings.seed, INIT_STREAM))
    vae = empty_vae(settings.config)
    vae.apply(partial(vae_init, generator=init))
    return vae


def empty_vae(config: VAEConfig) -> VAE:
    """A VAE with zero weights (for loading a checkpoint into), without touching the global RNG."""
    return _empty_network(VAE, config)
