"""The ring of modes: a 2-D GAN whose data is a ring of Gaussians, where a generator that outruns
its discriminator collapses onto one mode and hops between modes instead of covering them all.

The ring is one world of the 2-D plane (`playground.plane`): `RingSettings` keeps the failure
lessons' few fields and their ranges, `as_plane` names the 2-D world they mean, and `RingGAN`
trains it through the one step API, read out on fixed evaluation noise; `mode_coverage` says
which modes a batch of samples covers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from playground.gan import StepRecord, evaluating
from playground.losses import G_LOSSES
from playground.plane import PlaneSettings, PlaneSource, build_stepper
from playground.plane.data import COVERED_SHARE, QUALITY_STDS, Coverage, coverage_of
from playground.plane.data import mode_centers as plane_mode_centers
from playground.seeds import TOY_EVALUATION, stream_seed
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


def as_plane(settings: RingSettings) -> PlaneSettings:
    """The ring as a 2-D world: its data, Gaussian noise, two hidden ReLU layers of `hidden`
    neurons in each network, Adam, and its own rates, loss, seed and tricks."""
    shared = {f.name: getattr(settings, f.name) for f in fields(RingSettings) if f.name != "hidden"}
    return PlaneSettings(
        data="ring",
        noise="gaussian",
        g_neurons=settings.hidden,
        d_neurons=settings.hidden,
        activation="relu",
        optimizer="adam",
        **shared,
    )


def mode_centers(settings: RingSettings) -> np.ndarray:
    """The modes' centres c_k = radius (cos 2 pi k / K, sin 2 pi k / K), shape (K, 2)."""
    return plane_mode_centers(as_plane(settings))


class RingSource(PlaneSource):
    """The BatchSource of the ring GAN: x = c_k + mode_std * eps with k uniform, and z ~ N(0, I)."""

    def __init__(self, settings: RingSettings, generator: torch.Generator) -> None:
        super().__init__(as_plane(settings), generator)


def mode_coverage(samples: np.ndarray, settings: RingSettings) -> Coverage:
    """Modes covered by `samples` (n, 2): mode k counts when share_k >= COVERED_SHARE / K."""
    return coverage_of(samples, mode_centers(settings), settings.mode_std)


class RingGAN:
    """A GAN on the ring of modes, trained through GANStepper, read out on fixed noise."""

    EVAL_SAMPLES = 1000

    def __init__(self, settings: RingSettings) -> None:
        self.settings = settings.validate()
        self.stepper = build_stepper(as_plane(settings))
        self.source = self.stepper.source
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


__all__ = [
    "COVERED_SHARE",
    "QUALITY_STDS",
    "Coverage",
    "RingGAN",
    "RingSettings",
    "RingSettingsError",
    "RingSource",
    "as_plane",
    "mode_centers",
    "mode_coverage",
]
