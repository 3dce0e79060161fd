"""What the GAN and the VAE trainers share: progress counters, the checkpoint's description of the
run, the batch source's state in a checkpoint, saving, and opening a checkpoint to resume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from playground.checkpoints import (
    Checkpoint,
    CheckpointError,
    library_versions,
    load_checkpoint,
    save_checkpoint,
)
from playground.gan import StepRecord
from playground.settings import is_whole_number
from playground.train.batches import MnistBatches
from playground.train.settings import TrainSettings, VAESettings


def checked_iterations(iterations: object) -> int:
    """`iterations` when it is a positive whole number, else ValueError saying so."""
    if not is_whole_number(iterations) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    return iterations


@dataclass(frozen=True)
class Progress:
    """What a caller reads every N steps."""

    iteration: int
    epoch: float
    total_iterations: int
    images_per_s: float
    record: StepRecord


class CheckpointedRun:
    """What the GAN and VAE trainers share: progress counters, the checkpoint's description of
    the run, the batch source's state in a checkpoint, and saving.

    A subclass has `settings`, `device`, `source` (MnistBatches), `iteration`, `steps_per_epoch`
    and `total_iterations`.
    """

    settings: TrainSettings | VAESettings
    device: torch.device
    source: MnistBatches
    iteration: int
    steps_per_epoch: int
    total_iterations: int

    @property
    def epoch(self) -> float:
        return self.iteration / self.steps_per_epoch

    @property
    def done(self) -> bool:
        return self.iteration >= self.total_iterations

    def checkpoint(self, metrics: dict[str, Any] | None = None) -> Checkpoint:
        raise NotImplementedError

    def save(self, path: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write the full training state atomically (see checkpoint())."""
        return save_checkpoint(path, self.checkpoint(metrics))

    def _description(self) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "settings": self.settings.to_dict(),
            "seed": self.settings.seed,
            "step": self.iteration,
            "epoch": self.epoch,
            "device": self.device.type,
            "versions": library_versions(),
        }

    def _source_parts(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """The batch source's state split into tensors and JSON metadata."""
        state = self.source.state_dict()
        tensors = {k: v for k, v in state.items() if isinstance(v, Tensor)}
        return tensors, {k: v for k, v in state.items() if not isinstance(v, Tensor)}

    def _restore_source(self, checkpoint: Checkpoint) -> None:
        source_meta = checkpoint.metadata.get("source")
        if not isinstance(source_meta, dict):
            raise CheckpointError("checkpoint has no batch-source state")
        try:
            self.source.load_state_dict({**source_meta, **checkpoint.part("source")})
        except ValueError as exc:
            raise CheckpointError(f"batch-source state does not fit: {exc}") from exc


def open_training_checkpoint(
    path: str | Path, kind: str, images: Tensor, wrong_kind: Callable[[str, str], str]
) -> Checkpoint:
    """A full training checkpoint of `kind` for a run on `images`; CheckpointError otherwise."""
    checkpoint = load_checkpoint(path)
    if checkpoint.kind != kind:
        raise CheckpointError(wrong_kind(Path(path).name, checkpoint.kind))
    size = checkpoint.metadata.get("dataset_size")
    if size != images.shape[0]:
        raise CheckpointError(
            f"this checkpoint was trained on {size} images; {images.shape[0]} were given"
        )
    return checkpoint
