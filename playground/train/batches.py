"""Where the MNIST trainers' mini-batches come from: a seeded source over the resident data set, and
the fixed buffers a captured CUDA graph reads.

`MnistBatches` is the engine's `gan.BatchSource`: every draw (the per-epoch permutation, the noise,
the fake labels) comes from one `torch.Generator` on the data's device, so its `state_dict()` is
all a resumed job needs to draw exactly the batches it would have drawn.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from playground.gan import Batch
from playground.models import NUM_CLASSES
from playground.seeds import RESUMED_BATCHES_STREAM, stream_seed
from playground.settings import is_whole_number
from playground.train.settings import SettingsError


class TrainingDataError(ValueError):
    """Images or labels handed to a Trainer have the wrong shape, type or values."""


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
        if not is_whole_number(position) or not 0 <= position <= self.size:
            raise ValueError(f"batch position must be an integer in [0, {self.size}]")
        if not is_whole_number(epochs) or epochs < (0 if permutation is None else 1):
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
            self.generator.manual_seed(stream_seed(self.seed, RESUMED_BATCHES_STREAM + epochs))
            self.exact_resume = False
            return
        try:
            self.generator.set_state(rng_state.cpu())
        except RuntimeError as exc:
            raise ValueError(f"the batch source's RNG state is invalid ({exc})") from exc
        self.exact_resume = True


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
