"""Building the shipped metric classifier and its reference statistics: a small CNN trained on the
MNIST training set (Adam, cosine schedule, light random affines), then the real test digits
embedded in its feature space."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from playground.checkpoints import Checkpoint, pack_parts, save_checkpoint
from playground.data import Mnist
from playground.metrics.evaluator import CLASSIFIER_KIND, ReferenceStats
from playground.metrics.scores import DEFAULT_SAMPLES, PR_NEIGHBOURS, gaussian_stats
from playground.models import NUM_CLASSES
from playground.models.classifier import DigitClassifier
from playground.pixels import uint8_to_model
from playground.settings import Range, check_fields

Progress = Callable[[str], None]


class ClassifierSettingsError(ValueError):
    """A classifier training setting is out of range; the message names it."""


@dataclass(frozen=True)
class ClassifierSettings:
    """How the metric classifier is trained: Adam with a cosine schedule, light random affines."""

    epochs: int = 8
    seed: int = 0
    batch_size: int = 128
    lr: float = 1e-3
    augment: bool = True
    max_rotation_deg: float = 10.0
    max_shift_px: float = 2.0
    max_scale_change: float = 0.1
    reference_size: int = DEFAULT_SAMPLES
    heldout_size: int = DEFAULT_SAMPLES

    def validate(self) -> ClassifierSettings:
        """Return self, or raise ClassifierSettingsError naming every field out of its range."""
        check_fields(self, CLASSIFIER_RANGES, {}, ClassifierSettingsError)
        return self


CLASSIFIER_RANGES = {
    "epochs": Range(1, 100),
    "seed": Range(0, 2**31 - 1),
    "batch_size": Range(8, 4096),
    "lr": Range(1e-6, 1.0),
    "max_rotation_deg": Range(0.0, 45.0),
    "max_shift_px": Range(0.0, 6.0),
    "max_scale_change": Range(0.0, 0.5),
    "reference_size": Range(PR_NEIGHBOURS + 1, 5000),
    "heldout_size": Range(PR_NEIGHBOURS + 1, 5000),
}


def random_affine(
    images: Tensor, settings: ClassifierSettings, generator: torch.Generator
) -> Tensor:
    """Rotate, shift and rescale each image (n, 1, 28, 28) in [-1, 1] by a small random amount."""
    n = images.shape[0]

    def uniform(limit: float) -> Tensor:
        return (torch.rand(n, generator=generator) * 2 - 1) * limit

    angle = uniform(math.radians(settings.max_rotation_deg))
    scale = 1 + uniform(settings.max_scale_change)
    shift = torch.stack([uniform(settings.max_shift_px), uniform(settings.max_shift_px)], dim=1)
    cos, sin = angle.cos() / scale, angle.sin() / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, shift[:, 0] / 14], 1),
            torch.stack([sin, cos, shift[:, 1] / 14], 1),
        ],
        dim=1,
    ).to(images.device)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # Sample in [0, 2] so the zero padding is the black background, then shift back.
    return F.grid_sample(images + 1, grid, align_corners=False) - 1


def train_classifier(
    mnist: Mnist,
    settings: ClassifierSettings,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    network: Callable[[], nn.Module] = DigitClassifier,
) -> DigitClassifier:
    """Train `network()` (DigitClassifier by default) on the MNIST train set with cross-entropy
    and Adam (seeded)."""
    settings.validate()
    say = progress or (lambda message: None)
    device = torch.device(device)
    images, labels = uint8_to_model(mnist.train_images), mnist.train_labels
    generator = torch.Generator().manual_seed(settings.seed)
    steps = settings.epochs * math.ceil(len(images) / settings.batch_size)
    # Weight init and dropout draw from torch's global RNG: fork it so the seed fixes both
    # without touching the caller's random state.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(settings.seed)
        classifier = network().to(device, memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(classifier.parameters(), lr=settings.lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        for epoch in range(settings.epochs):
            started = time.perf_counter()
            loss = _train_epoch(
                classifier, optimizer, schedule, images, labels, settings, generator
            )
            accuracy = classifier_accuracy(classifier, mnist.test_images, mnist.test_labels, device)
            say(
                f"epoch {epoch + 1}/{settings.epochs}: train loss {loss:.4f}, "
                f"test accuracy {accuracy:.4f} ({time.perf_counter() - started:.0f} s)"
            )
    return classifier.eval()


def _train_epoch(
    classifier: DigitClassifier,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    images: Tensor,
    labels: Tensor,
    settings: ClassifierSettings,
    generator: torch.Generator,
) -> float:
    """One shuffled pass over (images, labels); returns the mean cross-entropy."""
    device = next(classifier.parameters()).device
    classifier.train()
    total = 0.0
    for batch in torch.randperm(len(images), generator=generator).split(settings.batch_size):
        x = images[batch]
        if settings.augment:
            x = random_affine(x, settings, generator)
        x = x.to(device).contiguous(memory_format=torch.channels_last)
        loss = F.cross_entropy(classifier(x), labels[batch].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        total += loss.item() * len(batch)
    return total / len(images)


@torch.inference_mode()
def classifier_accuracy(
    classifier: DigitClassifier, images: Tensor, labels: Tensor, device: str | torch.device = "cpu"
) -> float:
    """Share of uint8 images (N, 28, 28) the classifier labels correctly."""
    classifier.eval()
    correct = 0
    for chunk, chunk_labels in zip(images.split(1000), labels.split(1000), strict=True):
        x = uint8_to_model(chunk).to(device).contiguous(memory_format=torch.channels_last)
        correct += (classifier(x).argmax(dim=1).cpu() == chunk_labels).sum().item()
    return correct / len(labels)


def heldout_split(test_size: int, settings: ClassifierSettings) -> tuple[Tensor, Tensor]:
    """The seeded split of the test set's indices: (held-out digits, reference pool)."""
    order = torch.randperm(test_size, generator=torch.Generator().manual_seed(settings.seed))
    return order[: settings.heldout_size], order[settings.heldout_size :]


@torch.inference_mode()
def build_reference(
    classifier: DigitClassifier,
    mnist: Mnist,
    settings: ClassifierSettings,
    device: str | torch.device = "cpu",
) -> ReferenceStats:
    """Split the test set (seeded) into a held-out set and a reference pool, and embed both.

    The pool's Gaussian is FID's reference; its first `reference_size` digits are the
    precision/recall reference; the held-out digits never enter any reference statistic.
    """
    classifier.eval()
    heldout, pool = heldout_split(len(mnist.test_labels), settings)

    def embed(indices: Tensor) -> Tensor:
        chunks = [
            classifier.features(
                uint8_to_model(mnist.test_images[part])
                .to(device)
                .contiguous(memory_format=torch.channels_last)
            ).cpu()
            for part in indices.split(1000)
        ]
        return torch.cat(chunks)

    pool_features = embed(pool)
    mean, cov = gaussian_stats(pool_features)
    counts = torch.bincount(mnist.test_labels[pool], minlength=NUM_CLASSES).to(torch.float64)
    return ReferenceStats(
        features=pool_features[: settings.reference_size].contiguous(),
        mean=mean,
        cov=cov,
        class_shares=counts / counts.sum(),
        heldout_features=embed(heldout),
        heldout_labels=mnist.test_labels[heldout].clone(),
    )


def save_classifier(
    path: str | Path,
    classifier: DigitClassifier,
    reference: ReferenceStats,
    metadata: dict[str, Any],
    kind: str = CLASSIFIER_KIND,
    extra_parts: dict[str, dict[str, Tensor]] | None = None,
) -> Path:
    """Write weights ("classifier") and reference statistics ("reference") in one checkpoint of
    `kind` (the metric classifier's by default), with any `extra_parts` beside them."""
    state = {key: value.contiguous() for key, value in classifier.state_dict().items()}
    parts = {"classifier": state, "reference": reference.state_dict(), **(extra_parts or {})}
    tensors = pack_parts(parts)
    return save_checkpoint(path, Checkpoint(tensors=tensors, metadata={"kind": kind, **metadata}))
