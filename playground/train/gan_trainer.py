"""The MNIST GAN trainer: the course DCGAN or cGAN, driven through the shared step API.

A `Trainer` owns G, D, their Adam optimizers and a seeded batch source over the resident data set,
and drives them through `gan.GANStepper`: d_step(), g_step(), step(), run().

- CPU: run(n) is GANStepper.run, an eager loop with one host sync at the end. Networks use the
  channels_last layout, whose oneDNN transposed convolutions are the fast ones on a CPU.
- CUDA: run(n) replays one CUDA graph per iteration (`train.cuda_graph`). If capture fails the
  trainer falls back to the eager loop and says why (`fallback_reason`).

`save()` / `load()` carry everything a job needs to continue exactly (networks, both optimizers,
the batch order and RNG position); `load_generator` reads a full or generator-only file.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
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
    to_bytes,
)
from playground.gan import GANStepper, StepRecord
from playground.pixels import checked_model_images
from playground.settings import is_whole_number
from playground.train.batches import MnistBatches, TrainingDataError, prepare_labels
from playground.train.cuda_graph import CudaGraphStep, cuda_graph_decision, state_fingerprint
from playground.train.networks import (
    build_generator,
    build_models,
    build_optimizers,
    memory_format_for,
)
from playground.train.run import (
    CheckpointedRun,
    Progress,
    checked_iterations,
    open_training_checkpoint,
)
from playground.train.sampling import draw_samples, fixed_noise, generate
from playground.train.settings import SettingsError, TrainSettings, resolve_device

log = logging.getLogger(__name__)

GAN_TRAINING_KIND = "gan"
"""Checkpoint kind of a GAN's full training state (G, D, both optimizers, batch source)."""
GENERATOR_KIND = "generator"
"""Checkpoint kind of a generator-only download (G's weights and the run's settings)."""


class Trainer(CheckpointedRun):
    """Trains one MNIST GAN through the shared step API; see the module docstring for the paths.

    Not thread-safe: one thread drives a Trainer (a job's worker), others read its Progress.
    """

    def __init__(
        self,
        settings: TrainSettings,
        images: Tensor,
        labels: Tensor | None,
        device: str | torch.device | None = None,
        cuda_graph: bool = True,
    ) -> None:
        settings.validate()
        self.settings = settings
        self.device = resolve_device(settings.device if device is None else device)
        real = checked_model_images(images, TrainingDataError)
        labels = prepare_labels(labels, real.shape[0], settings.conditional)
        self.source = MnistBatches(
            real.to(self.device),
            None if labels is None else labels.to(self.device),
            settings.batch_size,
            settings.z_dim,
            settings.seed,
            settings.conditional,
        )
        generator, discriminator = build_models(settings)
        layout = memory_format_for(self.device)
        generator.to(self.device, memory_format=layout)
        discriminator.to(self.device, memory_format=layout)
        g_opt, d_opt = build_optimizers(generator, discriminator, settings, self.device)
        self.stepper = GANStepper(
            generator,
            discriminator,
            g_opt,
            d_opt,
            self.source,
            settings.g_loss,
            tricks=settings.tricks,
            rng=self.source.generator,
        )
        self.steps_per_epoch = max(1, self.source.batches_per_epoch // settings.k_d)
        self.total_iterations = max(1, math.ceil(settings.epochs * self.steps_per_epoch))
        self.images_per_s = 0.0
        self.fallback_reason = cuda_graph_decision(self.device, cuda_graph, settings.tricks)
        self.fast_path = self.fallback_reason is None
        self._graph: CudaGraphStep | None = None
        self.fixed_noise, self.fixed_labels = fixed_noise(settings, self.device)

    # -- counters ----------------------------------------------------------------------------

    @property
    def iteration(self) -> int:
        """G updates done (one per training iteration)."""
        return self.stepper.g_steps

    def progress(self, record: StepRecord) -> Progress:
        return Progress(
            self.iteration, self.epoch, self.total_iterations, self.images_per_s, record
        )

    # -- the step API --------------------------------------------------------------------------

    def d_step(self) -> StepRecord:
        """Exactly one D update (eager on every device)."""
        return self.stepper.d_step()

    def g_step(self) -> StepRecord:
        """Exactly one G update (eager on every device)."""
        return self.stepper.g_step()

    def step(self) -> StepRecord:
        """One training iteration: k_d D updates, then one G update."""
        return self.run(1)

    def run(self, iterations: int) -> StepRecord:
        """`iterations` training iterations; numbers are read back once, at the end.

        Returns the record of the last iteration and sets images_per_s (real images through D).
        """
        checked_iterations(iterations)
        started = time.perf_counter()
        if self.fast_path:
            record = self._run_graph(iterations)
        else:
            record = self.stepper.run(iterations, self.settings.k_d)
        elapsed = max(time.perf_counter() - started, 1e-9)
        self.images_per_s = iterations * self.settings.k_d * self.settings.batch_size / elapsed
        return record

    def _run_graph(self, iterations: int) -> StepRecord:
        graph = self._graph
        # A captured graph updates the tensors it was captured with: if a restore swapped the
        # optimizer's state tensors since, capture afresh (warm-up iterations are eager anyway).
        captured = graph is not None and graph.graph is not None
        if graph is None or (captured and graph.fingerprint != state_fingerprint(self.stepper)):
            graph = self._graph = CudaGraphStep(self.stepper, self.source, self.settings.k_d)
        done = 0
        stats = None
        if graph.graph is None:
            done = min(iterations, graph.warmup_left)
            if done:
                stats = graph.warm_up(done)
                self.stepper.advance(done, self.settings.k_d)
            if graph.warmup_left == 0 and done < iterations and not self._capture(graph):
                return self.stepper.run(iterations - done, self.settings.k_d)
        if done < iterations:
            stats = graph.replay(iterations - done)
            self.stepper.advance(iterations - done, self.settings.k_d)
        assert stats is not None
        return self.stepper.iteration_record(stats)

    def _capture(self, graph: CudaGraphStep) -> bool:
        """Capture the graph; on failure switch to the eager loop for good and say why."""
        try:
            graph.capture()
        except Exception as exc:  # any capture error means "run eagerly"; it is logged, not hidden
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.fallback_reason = f"CUDA graph capture failed ({first_line}); eager loop"
            self.fast_path = False
            self._graph = None
            log.warning("%s", self.fallback_reason)
            return False
        graph.fingerprint = state_fingerprint(self.stepper)
        return True

    # -- samples -------------------------------------------------------------------------------

    def sample(self, noise: Tensor, labels: Tensor | None = None) -> Tensor:
        """G(z) or G(z, y) in eval mode (BatchNorm running statistics), no grad, in [-1, 1]."""
        return generate(self.stepper.generator, noise, labels)

    def fixed_noise_samples(self) -> Tensor:
        """Samples (n, 1, 28, 28) from one fixed noise batch; cGAN: row r of 8 shows digit r."""
        return self.sample(self.fixed_noise, self.fixed_labels)

    def samples(self, n: int, seed: int) -> tuple[Tensor, Tensor | None]:
        """n samples from noise seeded by `seed` (cGAN: labels cycle 0-9), for metrics."""
        return draw_samples(self.stepper.generator, n, seed, self.device)

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self, metrics: dict[str, Any] | None = None) -> Checkpoint:
        """The full training state as a Checkpoint (tensors + JSON metadata)."""
        g_tensors, g_meta = pack_optimizer_state(self.stepper.g_opt)
        d_tensors, d_meta = pack_optimizer_state(self.stepper.d_opt)
        source_tensors, source_meta = self._source_parts()
        tensors = pack_parts(
            {
                "generator": self.stepper.generator.state_dict(),
                "discriminator": self.stepper.discriminator.state_dict(),
                "g_opt": g_tensors,
                "d_opt": d_tensors,
                "source": source_tensors,
            }
        )
        metadata = {
            **self._description(),
            "kind": GAN_TRAINING_KIND,
            "d_steps": self.stepper.d_steps,
            "dataset_size": self.source.size,
            "g_opt": g_meta,
            "d_opt": d_meta,
            "source": source_meta,
            "metrics": dict(metrics or {}),
        }
        return Checkpoint(tensors=tensors, metadata=metadata)

    def generator_checkpoint(self) -> bytes:
        """G's weights + settings only: the file a student downloads (load with load_generator)."""
        tensors = pack_parts({"generator": self.stepper.generator.state_dict()})
        metadata = {**self._description(), "kind": GENERATOR_KIND}
        return to_bytes(Checkpoint(tensors=tensors, metadata=metadata))

    @classmethod
    def load(
        cls,
        path: str | Path,
        images: Tensor,
        labels: Tensor | None,
        device: str | torch.device | None = None,
        cuda_graph: bool = True,
    ) -> Trainer:
        """A Trainer that continues exactly where `path` was saved; CheckpointError on a bad file.

        `device` defaults to the checkpoint's settings.device.
        """
        checkpoint = open_training_checkpoint(path, GAN_TRAINING_KIND, images, _wrong_kind_message)
        settings = checkpoint_settings(checkpoint)
        trainer = cls(settings, images, labels, device=device, cuda_graph=cuda_graph)
        trainer._restore(checkpoint)
        return trainer

    def retune(self, settings: TrainSettings) -> None:
        """Continue with new learning rates, betas or length (a fine-tuning phase).

        The optimizers keep their moments: only their parameter groups change. Anything else
        (model, batch, noise, loss, seed, ...) would make a different run and is refused.
        """
        settings.validate()
        tunable = {"lr_g", "lr_d", "beta1", "beta2", "epochs", "device"}
        changed = sorted(
            name
            for name, value in settings.to_dict().items()
            if name not in tunable and value != self.settings.to_dict()[name]
        )
        if changed:
            raise SettingsError(
                "a resumed run can change only the learning rates, betas and epochs; "
                f"these differ from the checkpoint: {', '.join(changed)}"
            )
        self.stepper.retune(settings.lr_d, settings.lr_g, betas=(settings.beta1, settings.beta2))
        self.settings = replace(settings, device=self.settings.device)
        self.total_iterations = max(1, math.ceil(settings.epochs * self.steps_per_epoch))

    def _restore(self, checkpoint: Checkpoint) -> None:
        meta = checkpoint.metadata
        load_state_into(self.stepper.generator, checkpoint.part("generator"), "generator")
        load_state_into(
            self.stepper.discriminator, checkpoint.part("discriminator"), "discriminator"
        )
        for name, optimizer in (("g_opt", self.stepper.g_opt), ("d_opt", self.stepper.d_opt)):
            load_optimizer_state_into(optimizer, checkpoint.part(name), meta.get(name), name)
        self._restore_source(checkpoint)
        d_steps, g_steps = meta.get("d_steps"), meta.get("step")
        if not (
            is_whole_number(d_steps) and is_whole_number(g_steps) and d_steps >= 0 and g_steps >= 0
        ):
            raise CheckpointError("checkpoint step counters are missing or negative")
        self.stepper.d_steps, self.stepper.g_steps = d_steps, g_steps


def checkpoint_settings(checkpoint: Checkpoint) -> TrainSettings:
    """The TrainSettings stored in a GAN checkpoint (CheckpointError when absent or invalid)."""
    try:
        return TrainSettings.from_dict(checkpoint.metadata.get("settings"))
    except SettingsError as exc:
        raise CheckpointError(f"checkpoint settings are invalid: {exc}") from exc


def load_generator(
    source: str | Path | bytes,
) -> tuple[nn.Module, TrainSettings, dict[str, Any]]:
    """G in eval mode on the CPU, its settings and the metadata, from a full or G-only checkpoint.

    Safe on any input: no pickle, size cap, shapes checked; a bad file raises CheckpointError.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        checkpoint = from_bytes(bytes(source))
        name = "upload"
    else:
        checkpoint = load_checkpoint(source)
        name = Path(source).name
    if checkpoint.kind not in (GAN_TRAINING_KIND, GENERATOR_KIND):
        raise CheckpointError(_wrong_kind_message(name, checkpoint.kind, generator_ok=True))
    settings = checkpoint_settings(checkpoint)
    generator = build_generator(settings)
    load_state_into(generator, checkpoint.part("generator"), "generator")
    return generator.eval(), settings, checkpoint.metadata


def _wrong_kind_message(name: str, kind: str, generator_ok: bool = False) -> str:
    wanted = "a GAN checkpoint" if generator_ok else "a GAN training checkpoint"
    if kind == GENERATOR_KIND and not generator_ok:
        return f"{name} holds only generator weights; training cannot resume from it"
    return f"{name} is a {kind or 'unknown'!r} checkpoint, not {wanted}"
