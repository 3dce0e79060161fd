"""The ring of modes: a 2-D GAN whose data is a ring of Gaussians, where a generator that outruns
its discriminator collapses onto one mode and hops between modes instead of covering them all.

`RingGAN` trains through the one step API (`playground.gan.GANStepper`) and is read out on fixed
evaluation noise; `mode_coverage` says which modes a batch of samples covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from playground.gan import GANStepper, StepRecord, evaluating
from playground.losses import G_LOSSES
from playground.models.mlp import mlp
from playground.models.tricks import add_spectral_norm
from playground.seeds import TOY_BATCHES, TOY_EVALUATION, TOY_INIT, stream_seed
from playground.settings import check_fields
from playground.toy import single_threaded
from playground.tricks import TRICK_CHOICES, TRICK_FLAGS, TRICK_RANGES, Tricks


class RingSettingsError(ValueError):
    """A ring-GAN setting outside its allowed range (the message names the field and the range)."""


RING_RANGES: dict[str, tuple[float, float]] = {
    "modes": (2, 16),
    "radius": (0.5, 10.0),
    "mode_std": (0.01, 1.0),
    "noise_dim": (1, 64),
    "hidden": (8, 256),
    "lr_d": (1e-5, 0.1),
    "lr_g": (1e-5, 0.1),
    "beta1": (0.0, 0.999),
    "beta2": (0.0, 0.9999),
    "batch_size": (8, 1024),
    "k_d": (1, 20),
    "seed": (0, 2**31 - 1),
    **TRICK_RANGES,
}
RING_CHOICES: dict[str, tuple[str, ...]] = {"g_loss": G_LOSSES, **TRICK_CHOICES}


@dataclass(frozen=True)
class RingSettings:
    """A GAN on a ring of `modes` Gaussians N(c_k, mode_std^2 I), c_k on a circle of `radius`."""

    modes: int = 8
    radius: float = 2.0
    mode_std: float = 0.1
    noise_dim: int = 2
    hidden: int = 128  # width of both hidden layers of G and of D
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 256
    k_d: int = 1
    g_loss: str = "nonsaturating"
    seed: int = 0
    # Training tricks (playground.tricks), all off; wgan-gp's n_critic is k_d.
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    instance_noise_steps: int = 1000
    objective: str = "gan"
    gp_weight: float = 10.0
    minibatch_std: bool = False
    spectral_norm: bool = False

    def validate(self) -> RingSettings:
        """Return self, or raise RingSettingsError naming the first bad field and its range."""
        check_fields(self, RING_RANGES, RING_CHOICES, RingSettingsError, TRICK_FLAGS)
        return self

    @property
    def tricks(self) -> Tricks:
        """The training tricks these settings switch on, for the step API."""
        return Tricks.of(self)


def mode_centers(settings: RingSettings) -> np.ndarray:
    """The modes' centres c_k = radius (cos 2 pi k / K, sin 2 pi k / K), shape (K, 2)."""
    angle = np.arange(settings.modes) * 2.0 * math.pi / settings.modes
    return settings.radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


class RingSource:
    """The BatchSource of the ring GAN: x = c_k + mode_std * eps with k uniform, and z ~ N(0, I)."""

    def __init__(self, settings: RingSettings, generator: torch.Generator) -> None:
        self.settings = settings
        self.generator = generator
        self.centers = torch.tensor(mode_centers(settings), dtype=torch.float32)

    def real(self) -> tuple[Tensor, None]:
        s = self.settings
        k = torch.randint(0, s.modes, (s.batch_size,), generator=self.generator)
        eps = torch.randn(s.batch_size, 2, generator=self.generator)
        return self.centers[k] + s.mode_std * eps, None

    def noise(self) -> tuple[Tensor, None]:
        s = self.settings
        return torch.randn(s.batch_size, s.noise_dim, generator=self.generator), None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["rng"])


QUALITY_STDS = 3.0
"""A sample is *on* a mode when it lies within 3 mode_std of the mode's centre."""

COVERED_SHARE = 0.25
"""A mode is covered when at least a quarter of its fair share 1/K of the samples lies on it."""


@dataclass(frozen=True)
class Coverage:
    """Which modes a batch of samples covers.

    shares[k] = fraction of all samples on mode k; quality = fraction on any mode.
    """

    covered: int
    shares: np.ndarray
    quality: float


def mode_coverage(samples: np.ndarray, settings: RingSettings) -> Coverage:
    """Modes covered by `samples` (n, 2): mode k counts when share_k >= COVERED_SHARE / K."""
    centers = mode_centers(settings)
    distance = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)
    on_mode = distance.min(axis=1) <= QUALITY_STDS * settings.mode_std
    counts = np.bincount(nearest[on_mode], minlength=settings.modes)
    shares = counts / max(len(samples), 1)
    covered = int((shares >= COVERED_SHARE / settings.modes).sum())
    return Coverage(covered=covered, shares=shares, quality=float(on_mode.mean()))


class RingGAN:
    """A GAN on the ring of modes, trained through GANStepper, read out on fixed noise."""

    EVAL_SAMPLES = 1000

    def __init__(self, settings: RingSettings) -> None:
        self.settings = settings.validate()
        init = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_INIT))
        generator = mlp(settings.noise_dim, settings.hidden, 2, nn.ReLU, init)
        discriminator = mlp(2, settings.hidden, 1, nn.ReLU, init, settings.minibatch_std)
        if settings.spectral_norm:
            add_spectral_norm(discriminator, init)
        betas = (settings.beta1, settings.beta2)
        self.source = RingSource(
            settings, torch.Generator().manual_seed(stream_seed(settings.seed, TOY_BATCHES))
        )
        self.stepper = GANStepper(
            generator,
            discriminator,
            g_opt=torch.optim.Adam(generator.parameters(), lr=settings.lr_g, betas=betas),
            d_opt=torch.optim.Adam(discriminator.parameters(), lr=settings.lr_d, betas=betas),
            source=self.source,
            g_loss=settings.g_loss,
            tricks=settings.tricks,
            rng=self.source.generator,
        )
        evaluation = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_EVALUATION))
        self.eval_noise = torch.randn(self.EVAL_SAMPLES, settings.noise_dim, generator=evaluation)

    def run(self, iterations: int) -> StepRecord:
        """`iterations` training iterations of k_d D updates and one G update."""
        with single_threaded():
            return self.stepper.run(iterations, self.settings.k_d)

    def samples(self) -> np.ndarray:
        """G applied to the fixed evaluation noise, shape (EVAL_SAMPLES, 2)."""
        with torch.no_grad(), single_threaded():
            return self.stepper.generator(self.eval_noise).double().numpy()

    def d_outputs(self, samples: np.ndarray) -> np.ndarray:
        """D(x) = sigmoid(D's logit) at each row of `samples`."""
        discriminator = self.stepper.discriminator
        with torch.no_grad(), single_threaded(), evaluating(discriminator):
            x = torch.as_tensor(samples, dtype=torch.float32)
            return torch.sigmoid(discriminator(x)).reshape(-1).double().numpy()
