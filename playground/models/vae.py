"""The course's convolutional VAE for 28x28 MNIST digits (Kingma & Welling 2014).

Images come in as everywhere else in the project, (B, 1, 28, 28) in [-1, 1]. The decoder models
each pixel as a Bernoulli variable whose probability is the pixel's brightness in [0, 1]: it
returns logits, and `decode` returns the Bernoulli means mapped back to [-1, 1].

Encoder q(z|x): 1 -> 32 -> 64 channels, kernel 4 stride 2 padding 1 (28 -> 14 -> 7), then a
linear layer to `hidden` units and two heads, mu and log sigma^2, each (B, z_dim).
Decoder p(x|z): z -> hidden -> 64x7x7, transposed convolutions 64 -> 32 -> 1 (7 -> 14 -> 28).

The plain autoencoder of the latent-space lesson is this same network trained without sampling
or the KL term (training setting model="ae"): its code is mu(x), its log-variance head unused.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from playground.settings import Range, check_fields

VAE_SHAPE_RANGES = {"z_dim": Range(1, 256), "hidden": Range(8, 2048)}
"""The allowed network shapes (the VAE's training settings check the same table)."""
_CHANNELS = (32, 64)
_SIDE = 7  # 28 -> 14 -> 7


class VAEConfigError(ValueError):
    """A VAE shape setting is out of range; the message names it."""


@dataclass(frozen=True)
class VAEConfig:
    """The network's shape; stored in every VAE checkpoint so the file rebuilds its model."""

    z_dim: int = 16
    hidden: int = 128

    def validate(self) -> VAEConfig:
        """Return self, or raise VAEConfigError naming every field out of its range."""
        check_fields(self, VAE_SHAPE_RANGES, {}, VAEConfigError)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def vae_init(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """PyTorch's default layer initialisation, drawn from `generator` instead of the global RNG.

    weight ~ U(-b, b) with b = 1 / sqrt(fan_in) (kaiming_uniform with a = sqrt(5)); bias the same.
    """
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(module.bias, -bound, bound, generator=generator)


class VAE(nn.Module):
    """x -> q(z|x) = N(mu, diag(sigma^2)) -> z = mu + sigma * eps -> p(x|z), Bernoulli pixels."""

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = (config or VAEConfig()).validate()
        z_dim, hidden = self.config.z_dim, self.config.hidden
        c1, c2 = _CHANNELS
        self.z_dim = z_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 4, 2, 1),  # 28 -> 14
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, 4, 2, 1),  # 14 -> 7
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(c2 * _SIDE * _SIDE, hidden),
            nn.ReLU(inplace=True),
        )
        self.to_mu = nn.Linear(hidden, z_dim)
        self.to_logvar = nn.Linear(hidden, z_dim)
        self.decoder = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, c2 * _SIDE * _SIDE),
            nn.ReLU(inplace=True),
            nn.Unflatten(1, (c2, _SIDE, _SIDE)),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1),  # 7 -> 14
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c1, 1, 4, 2, 1),  # 14 -> 28, Bernoulli logits
        )

    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Images (B, 1, 28, 28) in [-1, 1] -> mu (B, z_dim) and log sigma^2 (B, z_dim)."""
        h = self.encoder(images)
        return self.to_mu(h), self.to_logvar(h)

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
        """z = mu + sigma * eps, sigma = exp(logvar / 2): a sample of q(z|x) that gradients pass.

        eps ~ N(0, I) is an argument (drawn by the caller's seeded generator), so the sample is a
        differentiable function of mu and logvar.
        """
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, noise: Tensor) -> Tensor:
        """z (B, z_dim) -> Bernoulli logits (B, 1, 28, 28) of each pixel being ink."""
        return self.decoder(noise)

    def decode(self, noise: Tensor) -> Tensor:
        """z (B, z_dim) -> the mean image E[x|z] (B, 1, 28, 28), in [-1, 1]."""
        return 2.0 * torch.sigmoid(self.decode_logits(noise)) - 1.0

    def forward(self, images: Tensor, eps: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Reconstruction logits (B, 1, 28, 28), mu and logvar (B, z_dim) for images in [-1, 1].

        Without `eps` the code is the mean mu (what the page shows as "the reconstruction").
        """
        mu, logvar = self.encode(images)
        noise = mu if eps is None else self.reparameterize(mu, logvar, eps)
        return self.decode_logits(noise), mu, logvar


class VAESampler(nn.Module):
    """The VAE used as a generator: G(z) = decode(z) for z ~ N(0, I), images in [-1, 1].

    It has a GAN generator's interface (`z_dim`, forward(noise) -> images), so the same sampling,
    interpolation and metric code serves both kinds of model.
    """

    def __init__(self, vae: VAE) -> None:
        super().__init__()
        self.vae = vae
        self.z_dim = vae.z_dim

    def forward(self, noise: Tensor) -> Tensor:
        return self.vae.decode(noise)
