"""The VAE trainer: the course VAE on MNIST, the counterpart of the GAN `Trainer` for a model
without a discriminator.

A VAE has one network and one loss, so the GAN step API (d_step / g_step) does not apply: step()
is one Adam update of encoder and decoder on the negative ELBO of a real batch (`losses.vae_loss`),
and run(n) is n of them with one host sync at the end. It shares the rest with the GANs: settings
checks, the seeded batch source (its noise() supplies the eps of the reparameterization trick),
the checkpoint format, sampling and the command line.

With model "ae" the same trainer trains the same network as a plain autoencoder: the code is
z = mu(x) (no eps, no sampling) and the loss is the reconstruction term alone. Only the
objective differs from the VAE, so the latent-space page can compare what the KL term does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from playground.checkpoints import (
    Checkpoint,
    CheckpointError,
    from_bytes,
    load_checkpoint,
    load_optimizer_state_into,
    load_state_into,
    pack_optimizer_state,
    pack_parts,
)
from playground.losses import VAELoss, autoencoder_loss, vae_loss
from playground.models import VAE, VAESampler
from playground.pixels import checked_model_images
from playground.settings import is_whole_number
from playground.train.batches import MnistBatches, TrainingDataError
from playground.train.networks import build_vae, empty_vae, memory_format_for
from playground.train.run import CheckpointedRun, checked_iterations, open_training_checkpoint
from playground.train.sampling import generate
from playground.train.settings import SettingsError, VAESettings, resolve_device

VAE_TRAINING_KIND = "vae"
"""Checkpoint kind of a VAE's full training state (VAE, optimizer, batch source)."""


@dataclass(frozen=True)
class VAEStepRecord:
    """What one VAE update did: the negative ELBO and its two terms (nats per image, batch mean)
    before the optimizer step, and the gradient norm."""

    steps: int
    loss: float
    reconstruction: float
    kl: float
    grad_norm: float
    variational: bool = True  # False: a plain autoencoder's loss, reconstruction only

    def is_finite(self) -> bool:
        """False when any number is NaN or infinite (a diverged run)."""
        values = (self.loss, self.reconstruction, self.kl, self.grad_norm)
        return all(math.isfinite(v) for v in values)


class VAETrainer(CheckpointedRun):
    """Trains the course VAE on MNIST; the counterpart of `Trainer` for a model without D.

    A VAE has one network and one loss, so the GAN step API (d_step / g_step) does not apply:
    step() is one Adam update of encoder and decoder on the negative ELBO of a real batch, and
    run(n) is n of them with one host sync at the end. It reuses the GAN engine's pieces: the
    seeded MnistBatches (its noise() supplies the eps of the reparameterization trick), settings
    validation, the checkpoint format, the sampling code (via `sampler`) and the CLI. It runs the
    eager loop on every device.
    """

    fast_path = False
    fallback_reason = "the VAE trains with the eager loop on every device"

    def __init__(
        self,
        settings: VAESettings,
        images: Tensor,
        labels: Tensor | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        del labels  # a VAE learns p(x) without them; accepted so both trainers are built alike
        settings.validate()
        self.settings = settings
        self.device = resolve_device(settings.device if device is None else device)
        real = checked_model_images(images, TrainingDataError)
        self.source = MnistBatches(
            real.to(self.device), None, settings.batch_size, settings.z_dim, settings.seed, False
        )
        self.vae = build_vae(settings).to(self.device, memory_format=memory_format_for(self.device))
        self.optimizer = torch.optim.Adam(
            self.vae.parameters(), lr=settings.lr, betas=(settings.beta1, settings.beta2)
        )
        self.sampler = VAESampler(self.vae)
        self.iteration = 0
        self.steps_per_epoch = max(1, self.source.batches_per_epoch)
        self.total_iterations = max(1, math.ceil(settings.epochs * self.steps_per_epoch))
        self.images_per_s = 0.0

    def objective(self, real: Tensor) -> VAELoss:
        """-ELBO of a real batch (eps from the batch source), or for the plain autoencoder the
        reconstruction loss of decode(mu(x))."""
        targets = (real + 1.0) / 2.0
        if not self.settings.variational:
            logits, _, _ = self.vae(real)  # no eps: the code is mu(x) itself
            return autoencoder_loss(logits, targets)
        eps, _ = self.source.noise()
        logits, mu, logvar = self.vae(real, eps)
        return vae_loss(logits, targets, mu, logvar)

    def update(self) -> Tensor:
        """One Adam step on the objective of the next real batch; [loss, reconstruction, KL,
        grad norm]."""
        real, _ = self.source.real()
        loss = self.objective(real)
        self.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        grad_norm = nn.utils.clip_grad_norm_(self.vae.parameters(), float("inf"))
        self.optimizer.step()
        self.iteration += 1
        return torch.stack([loss.total, loss.reconstruction, loss.kl, grad_norm]).detach()

    def step(self) -> VAEStepRecord:
        """Exactly one update."""
        return self.run(1)

    def run(self, iterations: int) -> VAEStepRecord:
        """`iterations` updates; numbers are read back once, at the end (the last update's)."""
        checked_iterations(iterations)
        started = time.perf_counter()
        for _ in range(iterations):
            stats = self.update()
        loss, reconstruction, kl, grad_norm = stats.tolist()
        elapsed = max(time.perf_counter() - started, 1e-9)
        self.images_per_s = iterations * self.settings.batch_size / elapsed
        variational = self.settings.variational
        return VAEStepRecord(self.iteration, loss, reconstruction, kl, grad_norm, variational)

    def sample(self, noise: Tensor) -> Tensor:
        """decode(z) in eval mode, no grad, in [-1, 1]."""
        return generate(self.sampler, noise)

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self, metrics: dict[str, Any] | None = None) -> Checkpoint:
        """The full training state as a Checkpoint (tensors + JSON metadata)."""
        opt_tensors, opt_meta = pack_optimizer_state(self.optimizer)
        source_tensors, source_meta = self._source_parts()
        tensors = pack_parts(
            {"vae": self.vae.state_dict(), "opt": opt_tensors, "source": source_tensors}
        )
        metadata = {
            **self._description(),
            "kind": VAE_TRAINING_KIND,
            "dataset_size": self.source.size,
            "opt": opt_meta,
            "source": source_meta,
            "metrics": dict(metrics or {}),
        }
        return Checkpoint(tensors=tensors, metadata=metadata)

    @classmethod
    def load(
        cls,
        path: str | Path,
        images: Tensor,
        labels: Tensor | None = None,
        device: str | torch.device | None = None,
    ) -> VAETrainer:
        """A VAETrainer that continues exactly where `path` was saved; CheckpointError on a bad file."""
        checkpoint = open_training_checkpoint(path, VAE_TRAINING_KIND, images, _not_a_vae_message)
        settings = vae_checkpoint_settings(checkpoint)
        trainer = cls(settings, images, labels, device=device)
        trainer._restore(checkpoint)
        return trainer

    def _restore(self, checkpoint: Checkpoint) -> None:
        meta = checkpoint.metadata
        load_state_into(self.vae, checkpoint.part("vae"), "vae")
        load_optimizer_state_into(self.optimizer, checkpoint.part("opt"), meta.get("opt"), "opt")
        self._restore_source(checkpoint)
        steps = meta.get("step")
        if not (is_whole_number(steps) and steps >= 0):
            raise CheckpointError("checkpoint step counter is missing or negative")
        self.iteration = steps


def vae_checkpoint_settings(checkpoint: Checkpoint) -> VAESettings:
    """The VAESettings stored in a VAE checkpoint (CheckpointError when absent or invalid)."""
    try:
        return VAESettings.from_dict(checkpoint.metadata.get("settings"))
    except SettingsError as exc:
        raise CheckpointError(f"checkpoint settings are invalid: {exc}") from exc


def load_vae(source: str | Path | bytes) -> tuple[VAE, VAESettings, dict[str, Any]]:
    """The VAE in eval mode on the CPU, its settings and the metadata, from a VAE checkpoint.

    Safe on any input: no pickle, size cap, shapes checked; a bad file raises CheckpointError.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        checkpoint, name = from_bytes(bytes(source)), "upload"
    else:
        checkpoint, name = load_checkpoint(source), Path(source).name
    if checkpoint.kind != VAE_TRAINING_KIND:
        raise CheckpointError(_not_a_vae_message(name, checkpoint.kind))
    settings = vae_checkpoint_settings(checkpoint)
    vae = empty_vae(settings.config)
    load_state_into(vae, checkpoint.part("vae"), "vae")
    return vae.eval(), settings, checkpoint.metadata


def _not_a_vae_message(name: str, kind: str) -> str:
    return f"{name} is a {kind or 'unknown'!r} checkpoint, not a VAE checkpoint"
