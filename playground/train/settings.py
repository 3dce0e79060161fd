"""How one MNIST model is trained: the settings of the GANs and of the VAE, checked by the one
table-driven field check (`playground.settings`), and the device they ask for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

from playground.losses import G_LOSSES
from playground.models import ABLATIONS, NO_ABLATION, VAEConfig
from playground.models.vae import VAE_SHAPE_RANGES
from playground.settings import Range, check_fields
from playground.tricks import TRICK_CHOICES, TRICK_FLAGS, TRICK_RANGES, Tricks

MODELS = ("dcgan", "cgan")
VAE_MODEL = "vae"
AE_MODEL = "ae"
AUTOENCODER_MODELS = (VAE_MODEL, AE_MODEL)
"""What VAETrainer trains: the VAE, and the plain autoencoder (the same network with the code
z = mu(x) and the reconstruction loss alone: no sampling, no KL term)."""
CLI_MODELS = (*MODELS, *AUTOENCODER_MODELS)
DEVICES = ("auto", "cpu", "cuda")


class SettingsError(ValueError):
    """A training setting is missing, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True)
class TrainSettings:
    """How one MNIST GAN is trained: Adam on both networks, k_d D updates per G update, the
    training tricks (all off; see playground.tricks) and the DCGAN rule an ablation breaks
    ("none"; see models.dcgan.ABLATIONS)."""

    model: str = "dcgan"
    epochs: float = 5
    batch_size: int = 128
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    z_dim: int = 64
    g_loss: str = "nonsaturating"
    k_d: int = 1
    seed: int = 0
    device: str = "auto"
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    instance_noise_steps: int = 1000
    objective: str = "gan"
    gp_weight: float = 10.0
    minibatch_std: bool = False
    spectral_norm: bool = False
    ablation: str = NO_ABLATION

    def validate(self) -> None:
        """Raise SettingsError naming every field of the wrong type or out of its range."""
        check_fields(self, TRAIN_RANGES, TRAIN_CHOICES, SettingsError, TRICK_FLAGS)

    @property
    def tricks(self) -> Tricks:
        """The training tricks these settings switch on, for the step API."""
        return Tricks.of(self)

    @property
    def conditional(self) -> bool:
        """True for the cGAN, whose G and D also take the digit label."""
        return self.model == "cgan"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainSettings:
        """Settings from JSON-like data; unknown keys, wrong types and bad ranges raise SettingsError.

        Missing keys take their defaults (a record from before ablations existed: "none").
        """
        return _settings_from_mapping(cls, values)


def _settings_from_mapping(cls: type, values: Mapping[str, Any]) -> Any:
    """cls(**values), validated; unknown keys, wrong types and bad ranges raise SettingsError."""
    if not isinstance(values, Mapping):
        raise SettingsError(f"settings must be a mapping, got {type(values).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(str(k) for k in values if k not in known)
    if unknown:
        raise SettingsError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
    settings = cls(**values)
    settings.validate()
    return settings


@dataclass(frozen=True)
class VAESettings:
    """How the course VAE is trained: Adam on the negative ELBO (see losses.vae_loss); with
    model "ae", the same network as a plain autoencoder (losses.autoencoder_loss)."""

    model: str = VAE_MODEL
    epochs: float = 20
    batch_size: int = 128
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    z_dim: int = 16
    hidden: int = 128
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        """Raise SettingsError naming every field of the wrong type or out of its range."""
        check_fields(self, VAE_RANGES, VAE_CHOICES, SettingsError)

    @property
    def variational(self) -> bool:
        """True for the VAE (a sampled code and a KL term), False for the plain autoencoder."""
        return self.model == VAE_MODEL

    @property
    def config(self) -> VAEConfig:
        """The network's shape."""
        return VAEConfig(z_dim=self.z_dim, hidden=self.hidden)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> VAESettings:
        """Settings from JSON-like data; unknown keys, wrong types and bad ranges raise SettingsError."""
        return _settings_from_mapping(cls, values)


EPOCHS = Range(0.0, 100.0, low_open=True)
LEARNING_RATE = Range(0.0, 0.1, low_open=True)
BETA = Range(0.0, 1.0, high_open=True)
SEED = Range(0, 2**31 - 1)

TRAIN_RANGES = {
    "epochs": EPOCHS,
    "batch_size": Range(8, 1024),
    "lr_g": LEARNING_RATE,
    "lr_d": LEARNING_RATE,
    "beta1": BETA,
    "beta2": BETA,
    "z_dim": Range(1, 256),
    "k_d": Range(1, 10),
    "seed": SEED,
    **TRICK_RANGES,
}
TRAIN_CHOICES = {
    "model": MODELS,
    "g_loss": G_LOSSES,
    "device": DEVICES,
    **TRICK_CHOICES,
    "ablation": ABLATIONS,
}
VAE_RANGES = {
    "epochs": EPOCHS,
    "batch_size": Range(8, 1024),
    "lr": LEARNING_RATE,
    "beta1": BETA,
    "beta2": BETA,
    **VAE_SHAPE_RANGES,
    "seed": SEED,
}
VAE_CHOICES = {"model": AUTOENCODER_MODELS, "device": DEVICES}


def resolve_device(device: str | torch.device) -> torch.device:
    """ "auto" -> CUDA when available, else CPU. Asking for CUDA without a GPU is a SettingsError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise SettingsError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}") from exc
    if resolved.type not in ("cpu", "cuda"):
        raise SettingsError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError(
            "device 'cuda' was asked for, but no CUDA GPU is usable here "
            "(torch.cuda.is_available() is False); choose 'auto' or 'cpu'"
        )
    return resolved
