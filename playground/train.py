"""The one MNIST GAN training engine: the course DCGAN or cGAN, fast on a GPU, plain on a CPU.

A `Trainer` owns G, D, their Adam optimizers and a seeded batch source over the resident data set,
and drives them through the shared step API (`gan.GANStepper`): d_step(), g_step(), step(), run().

- CPU: run(n) is GANStepper.run, an eager loop with one host sync at the end. Networks use the
  channels_last layout, whose oneDNN transposed convolutions are the fast ones on a CPU.
- CUDA: run(n) replays one CUDA graph per iteration: k_d D updates and one G update, optimizer
  steps included, captured from GANStepper's own d_update/g_update, so the maths is the eager
  maths. No random number is drawn inside the graph: before each replay the batch indices and the
  noise are drawn from the seeded source into static buffers, in the order eager steps draw them.
  If capture fails the trainer falls back to the eager loop and says why (`fallback_reason`).

`save()` / `load()` carry everything a job needs to continue exactly (networks, both optimizers,
the batch order and RNG position); `python -m playground.train` trains the shipped models.

The VAE has no discriminator, so it has no d_step/g_step: `VAETrainer` gives it step() and run()
on the negative ELBO, and shares the rest with the GANs (settings checks, the seeded batch source,
the checkpoint format, sampling, per-epoch scoring and the command line).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import platform
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import safetensors
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
    save_checkpoint,
    to_bytes,
    update_manifest,
)
from playground.data import DataUnavailable, load_mnist, to_unit_range
from playground.gan import Batch, GANStepper, StepRecord
from playground.losses import G_LOSSES, vae_loss
from playground.metrics import (
    DEFAULT_CLASSIFIER_PATH,
    DEFAULT_SAMPLES,
    Evaluator,
    load_evaluator,
)
from playground.models import (
    NUM_CLASSES,
    VAE,
    ConditionalDiscriminator,
    ConditionalGenerator,
    Discriminator,
    Generator,
    VAEConfig,
    VAESampler,
    vae_init,
    weights_init,
)
from playground.settings import Range, check_fields

log = logging.getLogger(__name__)

MODELS = ("dcgan", "cgan")
VAE_MODEL = "vae"
CLI_MODELS = (*MODELS, VAE_MODEL)
DEVICES = ("auto", "cpu", "cuda")
KIND = "gan"
"""Checkpoint kind of a full training state (G, D, optimizers, batch source)."""
GENERATOR_KIND = "generator"
"""Checkpoint kind of a generator-only download."""
VAE_KIND = "vae"
"""Checkpoint kind of a VAE's full training state (VAE, optimizer, batch source)."""
WARMUP_ITERATIONS = 3
"""Eager iterations on the capture stream before a CUDA graph is captured (PyTorch's recipe)."""
SAMPLE_CHUNK = 500
FIXED_SAMPLES_PER_DIGIT = 8
FIXED_SAMPLES = 64

# Independent random streams derived from one seed (the batch source uses the seed itself).
INIT_STREAM = 1
FIXED_NOISE_STREAM = 2
EVAL_NOISE_STREAM = 3


class SettingsError(ValueError):
    """A training setting is missing, of the wrong type or out of range; the message names it."""


class TrainingDataError(ValueError):
    """Images or labels handed to a Trainer have the wrong shape, type or values."""


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class TrainSettings:
    """How one MNIST GAN is trained: Adam on both networks, k_d D updates per G update."""

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

    def validate(self) -> None:
        """Raise SettingsError naming every field of the wrong type or out of its range."""
        check_fields(self, TRAIN_RANGES, TRAIN_CHOICES, SettingsError)

    @property
    def conditional(self) -> bool:
        """True for the cGAN, whose G and D also take the digit label."""
        return self.model == "cgan"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainSettings:
        """Settings from JSON-like data; unknown keys, wrong types and bad ranges raise SettingsError.

        Missing keys take their defaults.
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
    """How the course VAE is trained: Adam on the negative ELBO (see losses.vae_loss)."""

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
}
TRAIN_CHOICES = {"model": MODELS, "g_loss": G_LOSSES, "device": DEVICES}
VAE_RANGES = {
    "epochs": EPOCHS,
    "batch_size": Range(8, 1024),
    "lr": LEARNING_RATE,
    "beta1": BETA,
    "beta2": BETA,
    "z_dim": Range(1, 256),
    "hidden": Range(8, 2048),
    "seed": SEED,
}
VAE_CHOICES = {"model": (VAE_MODEL,), "device": DEVICES}


# ---------------------------------------------------------------------------------------------
# Device, randomness, networks


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


def cuda_graph_decision(device: torch.device, enabled: bool = True) -> str | None:
    """None when the CUDA-graph fast path can be tried on `device`, else why the loop stays eager."""
    if device.type != "cuda":
        return f"{device.type} device: eager loop (CUDA graphs need a CUDA GPU)"
    if not enabled:
        return "CUDA graph turned off by the caller: eager loop"
    if not torch.cuda.is_available():
        return "CUDA is not available: eager loop"
    return None


def stream_seed(seed: int, stream: int) -> int:
    """A seed for one purpose (weights, fixed noise, ...) derived from the run's seed.

    numpy's SeedSequence mixes (seed, stream) so that the streams are independent of each other
    and of the batch source, which uses `seed` itself.
    """
    state = np.random.SeedSequence([seed, stream]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def memory_format_for(device: torch.device) -> torch.memory_format:
    """channels_last on CPU (oneDNN's transposed convolutions run 1.5-2.5x faster in it)."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def _empty_network(build: type[nn.Module], *args: int) -> nn.Module:
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
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
    return network


def build_generator(settings: TrainSettings) -> nn.Module:
    """G for settings.model with zero weights (for loading a checkpoint into)."""
    if settings.conditional:
        return _empty_network(ConditionalGenerator, settings.z_dim)
    return _empty_network(Generator, settings.z_dim)


def build_discriminator(settings: TrainSettings) -> nn.Module:
    """D for settings.model with zero weights (for loading a checkpoint into)."""
    return _empty_network(ConditionalDiscriminator if settings.conditional else Discriminator)


def build_models(settings: TrainSettings) -> tuple[nn.Module, nn.Module]:
    """Fresh G and D on the CPU, DCGAN-initialised from a generator seeded by settings.seed."""
    init = torch.Generator().manual_seed(stream_seed(settings.seed, INIT_STREAM))
    generator, discriminator = build_generator(settings), build_discriminator(settings)
    generator.apply(partial(weights_init, generator=init))
    discriminator.apply(partial(weights_init, generator=init))
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


def prepare_images(images: Tensor) -> Tensor:
    """uint8 (N, 28, 28) or float (N, 1, 28, 28) in [-1, 1] -> float32 (N, 1, 28, 28) in [-1, 1]."""
    if not isinstance(images, Tensor):
        raise TrainingDataError(f"images must be a tensor, got {type(images).__name__}")
    if images.dtype == torch.uint8:
        try:
            return to_unit_range(images)
        except ValueError as exc:
            raise TrainingDataError(str(exc)) from exc
    if (
        not images.is_floating_point()
        or images.dim() != 4
        or tuple(images.shape[1:]) != (1, 28, 28)
    ):
        raise TrainingDataError(
            f"images must be uint8 (N, 28, 28) or float (N, 1, 28, 28), got "
            f"{images.dtype} {tuple(images.shape)}"
        )
    if not torch.isfinite(images).all() or images.abs().max() > 1.0 + 1e-6:
        raise TrainingDataError("float images must be finite and lie in [-1, 1]")
    return images.to(torch.float32)


def prepare_labels(labels: Tensor | None, n: int, conditional: bool) -> Tensor | None:
    """Digit labels (N,) int64 in 0..9; required for the cGAN, unused by the DCGAN."""
    if labels is None:
        if conditional:
            raise TrainingDataError("the cGAN needs the digit labels of the images")
        return None
    if not isinstance(labels, Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TrainingDataError("labels must be an integer tensor of digits 0-9")
    if tuple(labels.shape) != (n,):
        raise TrainingDataError(
            f"labels must be ({n},) to match the images, got {tuple(labels.shape)}"
        )
    if n and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise TrainingDataError("labels must lie in 0..9")
    return labels.to(torch.int64)


# ---------------------------------------------------------------------------------------------
# Batches


class MnistBatches:
    """Seeded mini-batches of a data set resident on one device (a gan.BatchSource).

    real(): the next B images (and labels) of a per-epoch random permutation; an epoch's last
    N mod B images are skipped, so every batch has the same shape (CUDA graphs need that).
    noise(): z ~ N(0, I) of shape (B, z_dim) and, for a cGAN, fake labels uniform on 0..9.
    Every draw comes from one torch.Generator on the data's device seeded with `seed`, so
    state_dict() (generator state, permutation, position) is all a resumed job needs.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor | None,
        batch_size: int,
        z_dim: int,
        seed: int,
        conditional: bool,
    ) -> None:
        if images.shape[0] < batch_size:
            raise SettingsError(
                f"batch_size {batch_size} is larger than the data set ({images.shape[0]} images)"
            )
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.z_dim = z_dim
        self.seed = seed
        self.conditional = conditional
        self.device = images.device
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.permutation: Tensor | None = None
        self.position = 0
        self.epochs_started = 0
        self.exact_resume = True

    @property
    def size(self) -> int:
        return int(self.images.shape[0])

    @property
    def batches_per_epoch(self) -> int:
        return self.size // self.batch_size

    def next_indices(self) -> Tensor:
        """Indices (B,) of the next real batch; draws a new permutation when an epoch runs out."""
        if self.permutation is None or self.position + self.batch_size > self.size:
            self.permutation = torch.randperm(
                self.size, generator=self.generator, device=self.device
            )
            self.position = 0
            self.epochs_started += 1
        indices = self.permutation[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return indices

    def gather(self, indices: Tensor) -> Batch:
        """The images (and, for a cGAN, labels) at `indices` (no host sync)."""
        real = self.images.index_select(0, indices)
        labels = self.labels.index_select(0, indices) if self.conditional else None
        return real, labels

    def draw_noise(self, noise: Tensor, labels: Tensor | None) -> None:
        """Fill `noise` with N(0, 1) and `labels` with uniform digits, in place."""
        noise.normal_(generator=self.generator)
        if labels is not None:
            labels.random_(0, NUM_CLASSES, generator=self.generator)

    def real(self) -> Batch:
        return self.gather(self.next_indices())

    def noise(self) -> Batch:
        noise = torch.empty(self.batch_size, self.z_dim, device=self.device)
        labels = None
        if self.conditional:
            labels = torch.empty(self.batch_size, dtype=torch.int64, device=self.device)
        self.draw_noise(noise, labels)
        return noise, labels

    def state_dict(self) -> dict[str, Any]:
        """Tensors (RNG state, permutation) and plain numbers (position, epochs started)."""
        empty = torch.empty(0, dtype=torch.int64)
        return {
            "rng_state": self.generator.get_state(),
            "rng_device": self.device.type,
            "permutation": empty if self.permutation is None else self.permutation.cpu(),
            "position": self.position,
            "epochs_started": self.epochs_started,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state_dict(); raises ValueError when it does not fit this data set."""
        permutation = _checked_permutation(state.get("permutation"), self.size)
        position = state.get("position")
        epochs = state.get("epochs_started")
        if not _is_int(position) or not 0 <= position <= self.size:
            raise ValueError(f"batch position must be an integer in [0, {self.size}]")
        if not _is_int(epochs) or epochs < (0 if permutation is None else 1):
            raise ValueError("epochs_started must be a non-negative integer")
        self._restore_generator(state.get("rng_state"), state.get("rng_device"), int(epochs))
        self.permutation = None if permutation is None else permutation.to(self.device)
        self.position = int(position)
        self.epochs_started = int(epochs)

    def _restore_generator(self, rng_state: object, rng_device: object, epochs: int) -> None:
        if not isinstance(rng_state, Tensor) or rng_state.dtype != torch.uint8:
            raise ValueError("the batch source's RNG state is missing or not bytes")
        if rng_device != self.device.type:
            # A CPU and a CUDA generator have different states: continue with a fresh stream
            # derived from the seed (training goes on, but not bit for bit as before).
            self.generator.manual_seed(stream_seed(self.seed, 1000 + epochs))
            self.exact_resume = False
            return
        try:
            self.generator.set_state(rng_state.cpu())
        except RuntimeError as exc:
            raise ValueError(f"the batch source's RNG state is invalid ({exc})") from exc
        self.exact_resume = True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_permutation(permutation: object, size: int) -> Tensor | None:
    if not isinstance(permutation, Tensor) or permutation.dim() != 1:
        raise ValueError("the batch permutation is missing")
    if permutation.numel() == 0:
        return None
    if permutation.numel() != size or permutation.dtype != torch.int64:
        raise ValueError(
            f"the batch permutation has {permutation.numel()} entries, the data set {size} images"
        )
    if not torch.equal(permutation.sort().values, torch.arange(size)):
        raise ValueError("the batch permutation is not a permutation of the data set")
    return permutation


class StaticBatches:
    """One training iteration's batches in fixed buffers, for CUDA-graph capture and replay.

    refill() draws k_d real index batches and k_d noise batches from the seeded source in the
    order eager steps draw them (real then noise per D update; the G update reuses the last D
    update's fakes);
    real()/noise() hand the buffers out in that order. Only the gather from the resident data set
    runs inside the graph.
    """

    def __init__(self, source: MnistBatches, k_d: int) -> None:
        b, device = source.batch_size, source.device
        self.source = source
        self.k_d = k_d
        self.indices = torch.zeros(k_d, b, dtype=torch.int64, device=device)
        self.noise_buffer = torch.zeros(k_d, b, source.z_dim, device=device)
        self.label_buffer = None
        if source.conditional:
            self.label_buffer = torch.zeros(k_d, b, dtype=torch.int64, device=device)
        self._reals = 0
        self._noises = 0

    def refill(self) -> None:
        for i in range(self.k_d):
            self.indices[i].copy_(self.source.next_indices())
            self.source.draw_noise(*self._noise_slot(i))

    def rewind(self) -> None:
        """Start handing out the buffers from the first again (at the start of each iteration)."""
        self._reals = self._noises = 0

    def real(self) -> Batch:
        indices = self.indices[self._reals % self.k_d]
        self._reals += 1
        return self.source.gather(indices)

    def noise(self) -> Batch:
        slot = self._noise_slot(self._noises % self.k_d)
        self._noises += 1
        return slot

    def _noise_slot(self, i: int) -> Batch:
        labels = None if self.label_buffer is None else self.label_buffer[i]
        return self.noise_buffer[i], labels

    def state_dict(self) -> dict[str, Any]:
        return self.source.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.source.load_state_dict(state)


# ---------------------------------------------------------------------------------------------
# The CUDA-graph fast path


class CudaGraphStep:
    """One training iteration (k_d D updates + one G update, optimizer steps included) as one graph.

    Built as in PyTorch's whole-network capture recipe: warm-up iterations on a side stream, grads
    set to None, then capture on that same stream. The captured body is GANStepper's own
    d_update/g_update on a stepper that reads the static buffers. Capture uses the thread-local
    error mode, because other jobs' threads in this process keep using CUDA meanwhile.
    """

    def __init__(self, stepper: GANStepper, source: MnistBatches, k_d: int) -> None:
        self.batches = StaticBatches(source, k_d)
        self.body_stepper = GANStepper(
            stepper.generator,
            stepper.discriminator,
            stepper.g_opt,
            stepper.d_opt,
            self.batches,
            stepper.g_loss,
        )
        self.k_d = k_d
        self.device = source.device
        self.stream: torch.cuda.Stream | None = None
        self.warmup_left = WARMUP_ITERATIONS
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stats: Tensor | None = None
        self.fingerprint = state_fingerprint(stepper)

    def body(self) -> Tensor:
        """[d_update stats (6), g_update stats (3)] of one iteration, as one tensor."""
        self.batches.rewind()
        return self.body_stepper.iteration(self.k_d)

    def eager_iteration(self) -> Tensor:
        """One real training iteration through the static buffers, run eagerly (no graph)."""
        self.batches.refill()
        return self.body()

    def warm_up(self, iterations: int) -> Tensor:
        """Run `iterations` real training iterations eagerly on the capture stream."""
        if self.stream is None:
            self.stream = torch.cuda.Stream(device=self.device)
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)
        with torch.cuda.stream(self.stream):
            for _ in range(iterations):
                stats = self.eager_iteration()
        current.wait_stream(self.stream)
        self.warmup_left -= iterations
        return stats

    def capture(self) -> None:
        """Record one iteration; nothing runs (and no state changes) until replay()."""
        assert self.stream is not None, "warm up before capturing"
        # Grads set to None so that backward() allocates them from the graph's private pool.
        self.body_stepper.g_opt.zero_grad(set_to_none=True)
        self.body_stepper.d_opt.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self.stream, capture_error_mode="thread_local"):
            stats = self.body()
        self.graph, self.stats = graph, stats

    def replay(self, iterations: int) -> Tensor:
        """Refill the buffers from the seeded source and replay, `iterations` times (no sync)."""
        assert self.graph is not None and self.stats is not None
        for _ in range(iterations):
            self.batches.refill()
            self.graph.replay()
        return self.stats


def state_fingerprint(stepper: GANStepper) -> tuple[int, ...]:
    """Addresses of every tensor a captured graph reads; they change when a state is swapped in.

    Loading weights copies in place, but optimizer.load_state_dict() (a rewind, a restore)
    replaces the moment tensors, and a graph would keep updating the old ones.
    """
    tensors: list[Tensor] = []
    for network in (stepper.generator, stepper.discriminator):
        tensors += [*network.parameters(), *network.buffers()]
    for optimizer in (stepper.g_opt, stepper.d_opt):
        for state in optimizer.state.values():
            tensors += [v for v in state.values() if isinstance(v, Tensor)]
    return tuple(t.data_ptr() for t in tensors)


# ---------------------------------------------------------------------------------------------
# The trainer


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
        real = prepare_images(images)
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
            generator, discriminator, g_opt, d_opt, self.source, settings.g_loss
        )
        self.steps_per_epoch = max(1, self.source.batches_per_epoch // settings.k_d)
        self.total_iterations = max(1, math.ceil(settings.epochs * self.steps_per_epoch))
        self.images_per_s = 0.0
        self.fallback_reason = cuda_graph_decision(self.device, cuda_graph)
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
        if not _is_int(iterations) or iterations < 1:
            raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
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
            "kind": KIND,
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
        checkpoint = open_training_checkpoint(path, KIND, images, _wrong_kind_message)
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
        if not (_is_int(d_steps) and _is_int(g_steps) and d_steps >= 0 and g_steps >= 0):
            raise CheckpointError("checkpoint step counters are missing or negative")
        self.stepper.d_steps, self.stepper.g_steps = d_steps, g_steps


def fixed_noise(settings: TrainSettings, device: torch.device) -> tuple[Tensor, Tensor | None]:
    """The fixed noise batch for progress images (cGAN: 8 per digit, digits 0-9 in order)."""
    generator = torch.Generator().manual_seed(stream_seed(settings.seed, FIXED_NOISE_STREAM))
    if settings.conditional:
        labels = torch.arange(NUM_CLASSES).repeat_interleave(FIXED_SAMPLES_PER_DIGIT)
        noise = torch.randn(len(labels), settings.z_dim, generator=generator)
        return noise.to(device), labels.to(device)
    return torch.randn(FIXED_SAMPLES, settings.z_dim, generator=generator).to(device), None


def generate(generator: nn.Module, noise: Tensor, labels: Tensor | None = None) -> Tensor:
    """G(z) or G(z, y) in eval mode and without grad; G's train/eval mode is restored after."""
    conditional = isinstance(generator, ConditionalGenerator)
    if conditional != (labels is not None):
        need = "needs labels" if conditional else "takes no labels"
        raise ValueError(f"this generator {need}")
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            noise = noise.to(device)
            if labels is None:
                return generator(noise)
            return generator(noise, labels.to(device))
    finally:
        generator.train(was_training)


def draw_samples(
    generator: nn.Module, n: int, seed: int, device: str | torch.device | None = None
) -> tuple[Tensor, Tensor | None]:
    """n samples (n, 1, 28, 28) from noise seeded by `seed`; labels cycle 0-9 for a cGAN.

    The noise is drawn on the CPU, so a seed gives the same z on every device.
    """
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    z_dim = generator.z_dim
    rng = torch.Generator().manual_seed(seed)
    labels = None
    if isinstance(generator, ConditionalGenerator):
        labels = torch.arange(n) % NUM_CLASSES
    chunks = []
    for start in range(0, n, SAMPLE_CHUNK):
        size = min(SAMPLE_CHUNK, n - start)
        noise = torch.randn(size, z_dim, generator=rng)
        chunk_labels = None if labels is None else labels[start : start + size]
        chunks.append(generate(generator, noise.to(device), chunk_labels).cpu())
    return torch.cat(chunks), labels


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
    if checkpoint.kind not in (KIND, GENERATOR_KIND):
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


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


# ---------------------------------------------------------------------------------------------
# The VAE trainer


@dataclass(frozen=True)
class VAEStepRecord:
    """What one VAE update did: the negative ELBO and its two terms (nats per image, batch mean)
    before the optimizer step, and the gradient norm."""

    steps: int
    loss: float
    reconstruction: float
    kl: float
    grad_norm: float

    def is_finite(self) -> bool:
        """False when any number is NaN or infinite (a diverged run)."""
        values = (self.loss, self.reconstruction, self.kl, self.grad_norm)
        return all(math.isfinite(v) for v in values)


def build_vae(settings: VAESettings) -> VAE:
    """A fresh VAE on the CPU, initialised from a generator seeded by settings.seed."""
    init = torch.Generator().manual_seed(stream_seed(settings.seed, INIT_STREAM))
    vae = _empty_vae(settings.config)
    vae.apply(partial(vae_init, generator=init))
    return vae


def _empty_vae(config: VAEConfig) -> VAE:
    """A VAE with zero weights (for loading a checkpoint into), without touching the global RNG."""
    return _empty_network(VAE, config)


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
        real = prepare_images(images)
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

    def update(self) -> Tensor:
        """One Adam step on -ELBO of the next real batch; [loss, reconstruction, KL, grad norm]."""
        real, _ = self.source.real()
        eps, _ = self.source.noise()
        logits, mu, logvar = self.vae(real, eps)
        loss = vae_loss(logits, (real + 1.0) / 2.0, mu, logvar)
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
        if not _is_int(iterations) or iterations < 1:
            raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
        started = time.perf_counter()
        for _ in range(iterations):
            stats = self.update()
        loss, reconstruction, kl, grad_norm = stats.tolist()
        elapsed = max(time.perf_counter() - started, 1e-9)
        self.images_per_s = iterations * self.settings.batch_size / elapsed
        return VAEStepRecord(self.iteration, loss, reconstruction, kl, grad_norm)

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
            "kind": VAE_KIND,
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
        checkpoint = open_training_checkpoint(path, VAE_KIND, images, _not_a_vae_message)
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
        if not (_is_int(steps) and steps >= 0):
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
    if checkpoint.kind != VAE_KIND:
        raise CheckpointError(_not_a_vae_message(name, checkpoint.kind))
    settings = vae_checkpoint_settings(checkpoint)
    vae = _empty_vae(settings.config)
    load_state_into(vae, checkpoint.part("vae"), "vae")
    return vae.eval(), settings, checkpoint.metadata


def _not_a_vae_message(name: str, kind: str) -> str:
    return f"{name} is a {kind or 'unknown'!r} checkpoint, not a VAE checkpoint"


# ---------------------------------------------------------------------------------------------
# Command line: train a shipped model, keep its best checkpoint by FID


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = TrainSettings()
    parser = argparse.ArgumentParser(
        prog="python -m playground.train",
        description=(
            "Train the course DCGAN, cGAN or VAE on MNIST; keep the checkpoint with the best FID. "
            "Options left out take the model's defaults."
        ),
    )
    parser.add_argument("model", choices=CLI_MODELS)
    parser.add_argument("--epochs", type=float, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--lr-g", type=float, default=None, help="GANs")
    parser.add_argument("--lr-d", type=float, default=None, help="GANs")
    parser.add_argument("--lr", type=float, default=None, help="VAE")
    parser.add_argument("--beta1", type=float, default=None)
    parser.add_argument("--beta2", type=float, default=None)
    parser.add_argument("--z-dim", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=None, help="VAE: width of its dense layer")
    parser.add_argument("--g-loss", choices=G_LOSSES, default=None, help="GANs")
    parser.add_argument("--k-d", type=int, default=None, help="GANs")
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--eval-every-epochs", type=int, default=1, help="0: never evaluate")
    parser.add_argument("--eval-samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--keep", choices=("best-fid", "last"), default="best-fid")
    parser.add_argument(
        "--min-label-accuracy",
        type=float,
        default=None,
        help="cgan, with --keep best-fid: prefer epochs whose digits match their labels this often",
    )
    parser.add_argument("--manifest", type=Path, default=None, help="default: next to --out")
    parser.add_argument("--name", default=None, help="manifest entry (default: the model name)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument(
        "--resume-from",
        type=Path,
        default=None,
        help="continue a saved run (e.g. with lower learning rates) up to --epochs in total",
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="do not train: score the checkpoint at --out with the current metric classifier",
    )
    return parser.parse_args(argv)


GAN_ONLY_OPTIONS = ("lr_g", "lr_d", "g_loss", "k_d")
VAE_ONLY_OPTIONS = ("lr", "hidden")


def _settings_from_args(args: argparse.Namespace) -> TrainSettings | VAESettings:
    """The model's settings class filled from the options given, its defaults for the rest."""
    vae = args.model == VAE_MODEL
    cls, alien = (VAESettings, GAN_ONLY_OPTIONS) if vae else (TrainSettings, VAE_ONLY_OPTIONS)
    given = sorted(name for name in alien if getattr(args, name) is not None)
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise SettingsError(f"the {args.model} does not take {options}")
    values = {
        f.name: getattr(args, f.name)
        for f in fields(cls)
        if getattr(args, f.name, None) is not None
    }
    settings = cls(**values)
    settings.validate()
    return settings


def reproduce_command(args: argparse.Namespace) -> str:
    """The exact command line that rebuilds the file, every training option spelled out."""
    s = _settings_from_args(args)
    if isinstance(s, VAESettings):
        return _reproduce_vae_command(args, s)
    words = ["python", "-m", "playground.train", s.model, "--epochs", f"{s.epochs:g}"]
    words += ["--batch-size", str(s.batch_size), "--seed", str(s.seed)]
    words += ["--lr-g", f"{s.lr_g:g}", "--lr-d", f"{s.lr_d:g}"]
    words += ["--beta1", f"{s.beta1:g}", "--beta2", f"{s.beta2:g}", "--z-dim", str(s.z_dim)]
    words += ["--g-loss", s.g_loss, "--k-d", str(s.k_d), "--device", s.device]
    words += ["--eval-every-epochs", str(args.eval_every_epochs)]
    words += ["--eval-samples", str(args.eval_samples), "--keep", args.keep]
    if args.min_label_accuracy is not None:
        words += ["--min-label-accuracy", f"{args.min_label_accuracy:g}"]
    if args.threads is not None:
        words += ["--threads", str(args.threads)]
    if args.resume_from is not None:
        words += ["--resume-from", str(args.resume_from)]
    words += ["--out", str(args.out)]
    return shlex.join(words)


def _reproduce_vae_command(args: argparse.Namespace, s: VAESettings) -> str:
    words = ["python", "-m", "playground.train", s.model, "--epochs", f"{s.epochs:g}"]
    words += ["--batch-size", str(s.batch_size), "--seed", str(s.seed), "--lr", f"{s.lr:g}"]
    words += ["--beta1", f"{s.beta1:g}", "--beta2", f"{s.beta2:g}", "--z-dim", str(s.z_dim)]
    words += ["--hidden", str(s.hidden), "--device", s.device]
    words += ["--eval-every-epochs", str(args.eval_every_epochs)]
    words += ["--eval-samples", str(args.eval_samples), "--keep", args.keep]
    if args.threads is not None:
        words += ["--threads", str(args.threads)]
    words += ["--out", str(args.out)]
    return shlex.join(words)


class ProgressLine:
    """A plain-text progress bar: redrawn in place on a terminal, one line per update in a log."""

    def __init__(
        self, total_epochs: int, steps_per_epoch: int, stream: TextIO | None = None
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.started = time.perf_counter()

    def update(
        self,
        epoch: int,
        step_in_epoch: int,
        record: StepRecord | VAEStepRecord,
        images_per_s: float,
    ) -> None:
        share = step_in_epoch / self.steps_per_epoch
        bar = "#" * round(20 * share) + "-" * (20 - round(20 * share))
        elapsed = time.perf_counter() - self.started
        text = (
            f"epoch {epoch:>3}/{self.total_epochs} [{bar}] {share:4.0%} {_losses_text(record)} "
            f"{images_per_s:6.0f} img/s  {elapsed / 60:5.1f} min"
        )
        self.stream.write(("\r" + text) if self.tty else (text + "\n"))
        self.stream.flush()

    def message(self, text: str) -> None:
        self.stream.write(("\n" if self.tty else "") + text + "\n")
        self.stream.flush()


def _losses_text(record: StepRecord | VAEStepRecord) -> str:
    if isinstance(record, VAEStepRecord):
        return (
            f"-ELBO {record.loss:.1f} = reconstruction {record.reconstruction:.1f} "
            f"+ KL {record.kl:.1f}"
        )
    return (
        f"d_loss {record.d_loss:.3f} g_loss {record.g_loss:.3f} "
        f"D(x) {record.d_real:.2f} D(G(z)) {record.d_fake:.2f}"
    )


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def _train_command(args: argparse.Namespace) -> int:
    """Train, evaluate every few epochs, keep the best (or last) checkpoint, update the manifest."""
    settings = _settings_from_args(args)
    floor = args.min_label_accuracy
    if floor is not None and not (
        settings.model == "cgan" and args.keep == "best-fid" and 0.0 <= floor <= 1.0
    ):
        raise SettingsError(
            f"--min-label-accuracy must be in [0, 1] and needs cgan with --keep best-fid, got {floor}"
        )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    mnist = load_mnist(args.data_root, fetch=False)
    evaluator = load_evaluator() if args.eval_every_epochs else None
    classifier_sha256 = None if evaluator is None else file_sha256(DEFAULT_CLASSIFIER_PATH)
    started = time.perf_counter()
    trainer, kept, earlier = _start(args, settings, mnist.train_images, mnist.train_labels)
    epochs = math.ceil(trainer.total_iterations / trainer.steps_per_epoch)
    bar = ProgressLine(epochs, trainer.steps_per_epoch)
    bar.message(
        f"{settings.model} on {_device_name(trainer.device)}: {trainer.total_iterations} iterations, "
        f"{trainer.steps_per_epoch}/epoch; fast path: {trainer.fast_path}"
        + (f" ({trainer.fallback_reason})" if trainer.fallback_reason else "")
    )
    first_epoch = trainer.iteration // trainer.steps_per_epoch + 1
    history = [h for h in earlier.get("history", []) if h.get("epoch", 0) < first_epoch]
    for epoch in range(first_epoch, epochs + 1):
        if not _train_epoch(trainer, epoch, bar):
            return 1
        last = epoch == epochs
        if evaluator is None or (epoch % args.eval_every_epochs and not last):
            if evaluator is None and last:
                trainer.save(args.out)
            continue
        metrics = {
            "epoch": epoch,
            "iteration": trainer.iteration,
            "wall_time_s": round(time.perf_counter() - started, 1),
            **_sample_metrics(_sampler(trainer), evaluator, settings, args.eval_samples),
        }
        history.append(metrics)
        if args.keep == "last" or kept is None or _better(metrics, kept, args.min_label_accuracy):
            trainer.save(args.out, metrics=metrics)
            kept = metrics
        bar.message(_metrics_line(metrics) + ("  <- kept" if kept is metrics else ""))
    wall = time.perf_counter() - started
    entry = {
        "file": args.out.name,
        "kind": VAE_KIND if isinstance(trainer, VAETrainer) else KIND,
        "model": settings.model,
        "command": reproduce_command(args),
        "seed": settings.seed,
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "settings": settings.to_dict(),
        "device": _device_name(trainer.device),
        "fast_path": trainer.fast_path,
        "wall_time_s": round(wall, 1),
        "keep": args.keep,
        "min_label_accuracy": args.min_label_accuracy,
        "epoch_kept": None if kept is None else kept.get("epoch"),
        "metrics": kept,
        "history": history,
        "classifier_sha256": classifier_sha256,
        "versions": library_versions(),
        "bytes": args.out.stat().st_size,
    }
    if args.resume_from is not None:
        entry["resumed_from"] = {k: earlier.get(k) for k in ("command", "epoch_kept", "metrics")}
    manifest = update_manifest(_manifest_path(args), args.name or settings.model, entry)
    bar.message(f"done in {wall / 60:.1f} min; wrote {args.out} and {manifest}")
    return 0


def _better(
    metrics: dict[str, Any], kept: dict[str, Any], min_label_accuracy: float | None
) -> bool:
    """Is this epoch better than the kept one? Lower FID, but an epoch whose label accuracy
    reaches the floor (when one is set) beats any epoch below it."""

    def rank(m: dict[str, Any]) -> tuple[bool, float]:
        below = (
            min_label_accuracy is not None and (m.get("label_accuracy") or 0.0) < min_label_accuracy
        )
        return below, m["fid"]

    return rank(metrics) < rank(kept)


def _start(
    args: argparse.Namespace,
    settings: TrainSettings | VAESettings,
    images: Tensor,
    labels: Tensor,
) -> tuple[Trainer | VAETrainer, dict[str, Any] | None, dict[str, Any]]:
    """A fresh Trainer (VAETrainer for the VAE), or the run saved at --resume-from retuned to
    `settings` (GANs only).

    Also returns the metrics of the checkpoint to beat (a resumed run only replaces its file
    with a better epoch) and the manifest entry of the run it continues.
    """
    if isinstance(settings, VAESettings):
        if args.resume_from is not None:
            raise SettingsError("--resume-from continues GAN runs only, not the vae")
        return VAETrainer(settings, images, labels), None, {}
    if args.resume_from is None:
        return Trainer(settings, images, labels), None, {}
    trainer = Trainer.load(args.resume_from, images, labels, device=resolve_device(settings.device))
    trainer.retune(settings)
    if trainer.done:
        raise SettingsError(
            f"nothing left to train: {args.resume_from.name} is already at epoch "
            f"{trainer.epoch:g} (iteration {trainer.iteration}) and --epochs asks for "
            f"{settings.epochs:g}; ask for more epochs to continue it"
        )
    metrics = load_checkpoint(args.resume_from).metadata.get("metrics") or {}
    earlier = _manifest_entry(_manifest_path(args), args.name or settings.model)
    return trainer, _metrics_to_beat(metrics), earlier


def _metrics_to_beat(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The resumed file's metrics when they hold an FID to compare with (a run saved without
    evaluation has none: then its first evaluated epoch is kept)."""
    fid = metrics.get("fid")
    return metrics if isinstance(fid, int | float) and math.isfinite(fid) else None


def _train_epoch(trainer: Trainer | VAETrainer, epoch: int, bar: ProgressLine) -> bool:
    """Train to the end of `epoch` in tenths, redrawing the bar; False when training diverged."""
    end = min(epoch * trainer.steps_per_epoch, trainer.total_iterations)
    chunk = max(1, trainer.steps_per_epoch // 10)
    while trainer.iteration < end:
        record = trainer.run(min(chunk, end - trainer.iteration))
        if not record.is_finite():
            bar.message(f"training diverged at iteration {trainer.iteration}: {record}")
            return False
        step_in_epoch = trainer.iteration - (epoch - 1) * trainer.steps_per_epoch
        bar.update(epoch, step_in_epoch, record, trainer.images_per_s)
    return True


def _sampler(trainer: Trainer | VAETrainer) -> nn.Module:
    """What turns noise into digits: G for a GAN, the decoder (VAESampler) for the VAE."""
    return trainer.sampler if isinstance(trainer, VAETrainer) else trainer.stepper.generator


def _sample_metrics(
    generator: nn.Module, evaluator: Evaluator, settings: TrainSettings | VAESettings, n: int
) -> dict[str, Any]:
    """Metrics of n samples from the run's evaluation noise (the same z at every epoch)."""
    images, labels = draw_samples(generator, n, stream_seed(settings.seed, EVAL_NOISE_STREAM))
    return evaluator.evaluate(images, labels).as_dict()


def _rescore_command(args: argparse.Namespace) -> int:
    """Score the kept checkpoint at --out with the current metric classifier; update the manifest.

    For when the classifier file was rebuilt after training: the entry's metrics and
    classifier_sha256 are replaced; the per-epoch history keeps the classifier it was made with.
    """
    if args.model == VAE_MODEL:
        vae, settings, meta = load_vae(args.out)
        generator: nn.Module = VAESampler(vae)
    else:
        generator, settings, meta = load_generator(args.out)
    if settings.model != args.model:
        raise CheckpointError(f"{args.out.name} holds a {settings.model}, not a {args.model}")
    evaluator = load_evaluator()
    sha256 = file_sha256(DEFAULT_CLASSIFIER_PATH)
    metrics = {
        "epoch": (meta.get("metrics") or {}).get("epoch"),
        "iteration": meta.get("step"),
        **_sample_metrics(generator, evaluator, settings, args.eval_samples),
    }
    name = args.name or settings.model
    entry = _manifest_entry(_manifest_path(args), name)
    previous = entry.get("classifier_sha256")
    if previous is not None and previous != sha256:
        entry.setdefault("history_classifier_sha256", previous)
    entry.update(
        metrics=metrics,
        classifier_sha256=sha256,
        rescore_command=shlex.join(
            ["python", "-m", "playground.train", args.model, "--rescore"]
            + ["--eval-samples", str(args.eval_samples), "--out", str(args.out)]
        ),
    )
    update_manifest(_manifest_path(args), name, entry)
    print(_metrics_line(metrics))
    return 0


def _manifest_path(args: argparse.Namespace) -> Path:
    return args.manifest or args.out.parent / "manifest.json"


def _manifest_entry(manifest: Path, name: str) -> dict[str, Any]:
    if not manifest.exists():
        return {}
    entry = json.loads(manifest.read_text()).get("models", {}).get(name, {})
    return dict(entry) if isinstance(entry, dict) else {}


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _metrics_line(m: dict[str, Any]) -> str:
    line = (
        f"epoch {m['epoch']}: FID {m['fid']:.2f}  IS {m['inception_score']:.2f}  "
        f"classes {m['classes_covered']}  largest {m['largest_class_fraction']:.2f}  "
        f"precision {m['precision']:.2f}  recall {m['recall']:.2f}"
    )
    if m.get("label_accuracy") is not None:
        line += f"  label accuracy {m['label_accuracy']:.3f}"
    return line


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        return _rescore_command(args) if args.rescore else _train_command(args)
    except CheckpointError as exc:  # its reason may quote a library's multi-line error
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except (SettingsError, TrainingDataError, DataUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
