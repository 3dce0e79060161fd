"""Scores that see blur: FID and KID on the deeper classifier's features, and pixel sharpness.

The metric classifier's features (`evaluator.py`) tell digits apart but barely notice blur. The
shipped deep feature network (`models.DeepDigitClassifier`, file DEFAULT_DEEP_FEATURES_PATH) was
trained the same way, on the same digits, with five 3x3 convolutions instead of two strided
ones; its file holds the real test digits in its feature space (`ReferenceStats`, the same split
as the metric classifier's) and the Laplacian variance of the held-out ones, so the real row and
every score work without MNIST on disk.

    BlurScores         deep FID, deep KID and sharpness of one set of images
    DeepEvaluator      scores images (n, 1, 28, 28) in [-1, 1]; `reference_scores` the real row
    load_deep_evaluator  the shipped file, loaded once per file version and device
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from playground.checkpoints import SHIPPED_DIR, CheckpointError, load_checkpoint, load_state_into
from playground.metrics.evaluator import CLASSIFY_CHUNK, ReferenceStats
from playground.metrics.kernel_distance import kernel_distance
from playground.metrics.scores import MetricsInputError, frechet_distance, gaussian_stats, psd_sqrt
from playground.metrics.sharpness import laplacian_variance
from playground.models.deep_classifier import DeepDigitClassifier

DEEP_FEATURES_KIND = "deep_features"
"""Checkpoint kind of the deep feature network file (weights, reference, real sharpness)."""
DEFAULT_DEEP_FEATURES_PATH = SHIPPED_DIR / "deep_features.safetensors"


@dataclass(frozen=True)
class BlurScores:
    """One set of n images: FID and KID on the deep features (lower: closer to real digits), and
    the mean Laplacian variance of its pixels (higher: crisper strokes)."""

    deep_fid: float
    deep_kid: float
    sharpness: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DeepEvaluator:
    """Scores images against the real test digits with the deep feature network."""

    def __init__(
        self,
        network: DeepDigitClassifier,
        reference: ReferenceStats,
        real_sharpness: Tensor,
        metadata: dict[str, Any] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.network = network.eval().to(self.device, memory_format=torch.channels_last)
        self.reference = reference.to(self.device)
        self.real_sharpness = real_sharpness.to(torch.float64)
        self.metadata = dict(metadata or {})
        self._reference_cov_sqrt = psd_sqrt(self.reference.cov)

    @property
    def test_accuracy(self) -> float | None:
        """The network's accuracy on the MNIST test set, as recorded when it was trained."""
        value = self.metadata.get("metrics", {}).get("test_accuracy")
        return None if value is None else float(value)

    @torch.inference_mode()
    def features(self, images: Tensor) -> Tensor:
        """Images (n, 1, 28, 28) in [-1, 1] -> the deep features (n, 128)."""
        chunks = [
            self.network.features(
                chunk.to(self.device, torch.float32).contiguous(memory_format=torch.channels_last)
            )
            for chunk in images.split(CLASSIFY_CHUNK)
        ]
        return torch.cat(chunks)

    def evaluate(self, images: Tensor) -> BlurScores:
        """Deep FID, deep KID and sharpness of generated images (n, 1, 28, 28) in [-1, 1]."""
        if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28) or len(images) < 2:
            raise MetricsInputError(
                f"images must be (n >= 2, 1, 28, 28), got {tuple(images.shape)}"
            )
        if not torch.isfinite(images).all():
            raise MetricsInputError("images contain NaN or infinite values")
        per_image = laplacian_variance((images.detach().cpu() + 1) / 2)
        return self.evaluate_features(self.features(images), per_image)

    def evaluate_features(self, features: Tensor, sharpness: Tensor) -> BlurScores:
        """The scores from deep features (n, 128) and each image's Laplacian variance (n,)."""
        features = features.to(self.device, torch.float32)
        mean, cov = gaussian_stats(features)
        return BlurScores(
            deep_fid=frechet_distance(
                self.reference.mean, self.reference.cov, mean, cov, self._reference_cov_sqrt
            ),
            deep_kid=kernel_distance(self.reference.features, features),
            sharpness=sharpness.to(torch.float64).mean().item(),
            n=int(features.shape[0]),
        )

    def reference_scores(self) -> BlurScores:
        """The real row: held-out real test digits (never in the reference) scored like samples."""
        return self.evaluate_features(self.reference.heldout_features, self.real_sharpness)


def load_deep_evaluator(
    path: str | Path = DEFAULT_DEEP_FEATURES_PATH, device: str | torch.device = "cpu"
) -> DeepEvaluator:
    """The DeepEvaluator of a deep feature file (cached per file version and device);
    CheckpointError with a readable message when the file is missing or of another kind."""
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise CheckpointError(
            f"the deep feature network {path.name} is missing ({exc.strerror}); rebuild it with "
            "`python -m playground.compare features`"
        ) from exc
    return _cached(str(path), str(torch.device(device)), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _cached(path: str, device: str, mtime_ns: int, size: int) -> DeepEvaluator:
    del mtime_ns, size  # part of the cache key only: a rewritten file is loaded afresh
    checkpoint = load_checkpoint(path)
    if checkpoint.kind != DEEP_FEATURES_KIND:
        raise CheckpointError(
            f"{Path(path).name} is a {checkpoint.kind or 'unknown'!r} checkpoint, not the deep "
            "feature network"
        )
    network = DeepDigitClassifier()
    load_state_into(network, checkpoint.part("classifier"), "classifier")
    reference = ReferenceStats.from_state(checkpoint.part("reference"))
    real_sharpness = checkpoint.part("sharpness").get("heldout")
    if real_sharpness is None or real_sharpness.shape != reference.heldout_labels.shape:
        raise CheckpointError("the deep feature file lacks the held-out digits' sharpness")
    return DeepEvaluator(network, reference, real_sharpness, checkpoint.metadata, device)
