"""The 1-D world: real data x from the target (`playground.toy.targets`; by default
N(real_mean, real_std^2)), noise z ~ U(-1, 1)^d (as in the classic 50-line GAN) or N(0, I_d), the
two tiny networks and their optimizers, and the one-thread rule of their maths."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from playground.models.mlp import mlp
from playground.models.tricks import add_spectral_norm
from playground.toy.settings import ToySettings
from playground.toy.targets import target_of


def sample_noise(kind: str, count: int, dim: int, generator: torch.Generator) -> Tensor:
    """z of shape (count, dim): U(-1, 1) or N(0, 1) in each coordinate."""
    if kind == "uniform":
        return torch.rand(count, dim, generator=generator) * 2.0 - 1.0
    return torch.randn(count, dim, generator=generator)


class ToySource:
    """The BatchSource of the 1-D GAN: real x from the target and noise z, from one RNG."""

    def __init__(self, settings: ToySettings, generator: torch.Generator) -> None:
        self.settings = settings
        self.generator = generator

    def real(self) -> tuple[Tensor, None]:
        s = self.settings
        return target_of(s).sample(s.batch_size, self.generator), None

    def noise(self) -> tuple[Tensor, None]:
        s = self.settings
        return sample_noise(s.noise, s.batch_size, s.noise_dim, self.generator), None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["rng"])


def make_generator(settings: ToySettings, generator: torch.Generator) -> nn.Sequential:
    """G: z (batch, noise_dim) -> x (batch, 1); smooth (ELU) so the map z -> x is a curve."""
    return mlp(settings.noise_dim, settings.g_hidden, 1, nn.ELU, generator)


def make_discriminator(settings: ToySettings, generator: torch.Generator) -> nn.Sequential:
    """D: x (batch, 1) -> logit (batch, 1). No sigmoid: the losses take logits. The tricks
    minibatch_std and spectral_norm are built in when switched on (drawn after D's weights)."""
    activation = partial(nn.LeakyReLU, 0.2)
    network = mlp(1, settings.d_hidden, 1, activation, generator, settings.minibatch_std)
    return add_spectral_norm(network, generator) if settings.spectral_norm else network


def make_optimizer(settings: ToySettings, params: Any, lr: float) -> torch.optim.Optimizer:
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(settings.beta1, settings.beta2))
    return torch.optim.SGD(params, lr=lr, momentum=settings.momentum)


_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_saved = 1


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one thread inside the block (restored when the last user leaves).

    The toy's matrices are 64 x 32: handing them to a second BLAS thread costs far more than the
    maths, and on a loaded 2-core machine a 2-thread 64x32 matmul can take milliseconds.
    """
    global _threads_users, _threads_saved
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)
