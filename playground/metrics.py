"""How good are generated digits? Metrics computed with the shipped MNIST classifier.

The classifier's 128-d feature layer stands in for Inception's, so the numbers are "classifier
FID/IS": comparable with each other (same classifier, same n), not with published Inception FIDs.

- FID = |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r^1/2 S_g S_r^1/2)^1/2), feature Gaussians.
- Inception Score IS = exp(E_x KL(p(y|x) || p(y))): 10 for confident, balanced digits, 1 for one digit.
- Classes covered: digits predicted for at least 1/4 of the uniform share (>= 2.5% of samples).
- Largest class fraction: the share of the most predicted digit, the mode-collapse alarm.
- Precision / recall (Kynkaenniemi et al. 2019): each real feature gets a ball reaching its 3rd
  nearest real neighbour; precision = share of fakes inside some real ball, recall = share of
  reals inside some fake ball (fake balls built the same way). Computed on L2-normalised
  features: raw ReLU features of noise or blank images sit near the origin, inside the wide balls
  of faint real digits, which scored pure noise a precision of ~0.9; on the unit sphere it is ~0.04.
- Label accuracy (cGAN): share of samples the classifier reads as the label they were asked for.

The shipped file also holds the reference statistics of real MNIST test digits in feature space,
so metrics work without MNIST on disk. `python -m playground.metrics train-classifier` rebuilds it.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from playground.checkpoints import (
    SHIPPED_DIR,
    Checkpoint,
    CheckpointError,
    file_sha256,
    load_checkpoint,
    load_state_into,
    pack_parts,
    save_checkpoint,
    update_manifest,
)
from playground.data import Mnist, load_mnist
from playground.models.classifier import FEATURE_DIM, DigitClassifier
from playground.pixels import uint8_to_model
from playground.settings import Range, check_fields

NUM_CLASSES = 10
DEFAULT_SAMPLES = 2000
"""FID is biased by sample size: compare models only at the same n (this one by default)."""
PR_NEIGHBOURS = 3
COVERAGE_SHARE = 0.25 / NUM_CLASSES
"""A digit counts as covered when at least 2.5% of samples are predicted as it."""
COLLAPSE_LARGEST_FRACTION = 0.3
COLLAPSE_MIN_CLASSES = 8
CLASSIFY_CHUNK = 500
KIND = "classifier"
DEFAULT_CLASSIFIER_PATH = SHIPPED_DIR / "classifier.safetensors"

Progress = Callable[[str], None]


class MetricsInputError(ValueError):
    """Images or labels handed to the evaluator have the wrong shape, type or values."""


@dataclass(frozen=True)
class SampleMetrics:
    """Quality of one set of n images, as plain numbers (label_accuracy only for a cGAN)."""

    fid: float
    inception_score: float
    classes_covered: int
    largest_class_fraction: float
    precision: float
    recall: float
    label_accuracy: float | None
    n: int
    class_shares: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["class_shares"] = list(self.class_shares)
        return values


# ---------------------------------------------------------------------------------------------
# The formulas, on tensors


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (d,) and unbiased covariance (d, d) of features (n, d), in float64."""
    features = features.to(torch.float64)
    return features.mean(dim=0), torch.cov(features.T)


def symmetric_eigenvalues(matrix: Tensor) -> Tensor:
    """Eigenvalues of a symmetric matrix (float64, ascending), computed by numpy's LAPACK.

    torch's CPU eigensolvers run MKL-threaded and stall for up to a second on a 2-core machine
    whose other core is busy (each of their many parallel regions waits for a descheduled
    thread); numpy's take milliseconds there, and the same when the machine is idle.
    """
    return torch.from_numpy(np.linalg.eigvalsh(_symmetric_array(matrix))).to(matrix.device)


def _symmetric_array(matrix: Tensor) -> np.ndarray:
    """(M + M^T) / 2 as a float64 numpy array: rounding makes computed covariances slightly asymmetric."""
    return ((matrix + matrix.T) / 2).detach().to("cpu", torch.float64).numpy()


def psd_sqrt(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh(_symmetric_array(matrix))  # numpy: see above
    # Rounding leaves tiny negative eigenvalues on singular covariances; they are zeros.
    root = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    return torch.from_numpy(root).to(matrix.device)


def frechet_distance(
    mean_a: Tensor, cov_a: Tensor, mean_b: Tensor, cov_b: Tensor, sqrt_cov_a: Tensor | None = None
) -> float:
    """Fréchet distance of N(mean_a, cov_a) and N(mean_b, cov_b).

    d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2).
    The middle matrix is symmetric PSD with the eigenvalues of S_a S_b, so a symmetric
    eigensolver gives tr sqrt(S_a S_b) without the unstable general sqrtm. Pass `sqrt_cov_a`
    (= psd_sqrt(cov_a)) when comparing many sets with one reference: then only eigenvalues are
    needed, and those cost far less than the eigenvectors behind a square root.
    """
    mean_a, cov_a, mean_b, cov_b = (t.to(torch.float64) for t in (mean_a, cov_a, mean_b, cov_b))
    root_a = psd_sqrt(cov_a) if sqrt_cov_a is None else sqrt_cov_a.to(torch.float64)
    trace_sqrt = symmetric_eigenvalues(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    distance = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)


def inception_score(logits: Tensor) -> float:
    """IS = exp(mean_x KL(p(y|x) || p(y))), p(y) the mean prediction; logits (n, classes)."""
    log_p = torch.log_softmax(logits.to(torch.float64), dim=1)
    log_marginal = torch.logsumexp(log_p, dim=0) - math.log(log_p.shape[0])
    kl = (log_p.exp() * (log_p - log_marginal)).sum(dim=1)
    return math.exp(kl.mean().item())


def class_shares(logits: Tensor) -> Tensor:
    """Share of samples whose argmax prediction is each class, (classes,) summing to 1."""
    predictions = logits.argmax(dim=1)
    return torch.bincount(predictions, minlength=logits.shape[1]).to(torch.float64) / len(
        predictions
    )


def classes_covered(shares: Tensor, min_share: float = COVERAGE_SHARE) -> int:
    """How many classes hold at least `min_share` of the predictions."""
    return int((shares >= min_share).sum().item())


def knn_radii(features: Tensor, k: int = PR_NEIGHBOURS) -> Tensor:
    """Distance from each feature to its k-th nearest neighbour in the same set (self excluded)."""
    if features.shape[0] <= k:
        raise MetricsInputError(
            f"need more than k={k} samples for k-NN radii, got {features.shape[0]}"
        )
    distances = torch.cdist(features, features)
    # The k+1 smallest include the point itself at distance 0.
    return distances.topk(k + 1, dim=1, largest=False).values[:, k]


def precision_recall(
    real: Tensor, fake: Tensor, k: int = PR_NEIGHBOURS, real_radii: Tensor | None = None
) -> tuple[float, float]:
    """Improved precision and recall (Kynkaenniemi et al. 2019) with k-NN balls in feature space.

    precision = share of fakes within radius_k(r) of some real r;
    recall = share of reals within radius_k(f) of some fake f.
    """
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    fake_radii = knn_radii(fake, k)
    distances = torch.cdist(fake, real)  # (n_fake, n_real), shared by both directions
    precision = (distances <= real_radii.unsqueeze(0)).any(dim=1)
    recall = (distances <= fake_radii.unsqueeze(1)).any(dim=0)
    return precision.to(torch.float64).mean().item(), recall.to(torch.float64).mean().item()


def label_accuracy(logits: Tensor, labels: Tensor) -> float:
    """Share of samples whose argmax prediction equals the label they were generated for."""
    return (logits.argmax(dim=1) == labels.to(logits.device)).to(torch.float64).mean().item()


def per_label_accuracy(logits: Tensor, labels: Tensor) -> dict[int, float]:
    """Label accuracy for each requested label that occurs in `labels`."""
    hits = logits.argmax(dim=1) == labels.to(logits.device)
    return {
        int(label): hits[labels == label].to(torch.float64).mean().item()
        for label in labels.unique().tolist()
    }


def collapse_alarm(metrics: SampleMetrics) -> str | None:
    """A readable verdict when samples concentrate on few digits, else None."""
    top = metrics.largest_class_fraction
    if top >= COLLAPSE_LARGEST_FRACTION:
        digit = max(range(len(metrics.class_shares)), key=lambda c: metrics.class_shares[c])
        return (
            f"mode collapse: {top:.0%} of samples look like a {digit} (real data: about 10% each)"
        )
    if metrics.classes_covered < COLLAPSE_MIN_CLASSES:
        return f"mode collapse: only {metrics.classes_covered} of 10 digits appear in the samples"
    return None


# ---------------------------------------------------------------------------------------------
# Reference statistics of real digits


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class ReferenceStats:
    """Real MNIST test digits in feature space, stored beside the classifier's weights.

    features: a fixed subset (for precision/recall); mean/cov: the FID Gaussian of the reference
    pool; class_shares: its label histogram; heldout_*: other real test digits, scored like samples
    to give the "real data" row.
    """

    features: Tensor
    mean: Tensor
    cov: Tensor
    class_shares: Tensor
    heldout_features: Tensor
    heldout_labels: Tensor

    def state_dict(self) -> dict[str, Tensor]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_state(cls, state: dict[str, Tensor]) -> ReferenceStats:
        """Rebuild from a checkpoint part, refusing missing, mis-shaped or non-finite tensors."""
        for name, shape in _REFERENCE_SHAPES.items():
            _check_reference_tensor(name, state.get(name), shape)
        if state["features"].shape[0] <= PR_NEIGHBOURS:
            raise CheckpointError("reference.features holds too few digits for k-NN radii")
        if state["heldout_labels"].shape[0] != state["heldout_features"].shape[0]:
            raise CheckpointError("reference.heldout_labels and heldout_features differ in length")
        return cls(**{name: state[name] for name in _REFERENCE_SHAPES})

    def to(self, device: torch.device) -> ReferenceStats:
        return ReferenceStats(**{k: v.to(device) for k, v in self.state_dict().items()})


_REFERENCE_SHAPES: dict[str, tuple[int | None, ...]] = {
    "features": (None, FEATURE_DIM),
    "mean": (FEATURE_DIM,),
    "cov": (FEATURE_DIM, FEATURE_DIM),
    "class_shares": (NUM_CLASSES,),
    "heldout_features": (None, FEATURE_DIM),
    "heldout_labels": (None,),
}
"""Each reference tensor's shape (None: any length)."""


def _check_reference_tensor(
    name: str, tensor: Tensor | None, shape: tuple[int | None, ...]
) -> None:
    if tensor is None:
        raise CheckpointError(f"classifier file has no reference.{name}")
    fits = tensor.dim() == len(shape) and all(
        want is None or got == want for got, want in zip(tensor.shape, shape, strict=True)
    )
    if not fits:
        raise CheckpointError(f"reference.{name} has shape {tuple(tensor.shape)}, expected {shape}")
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        raise CheckpointError(f"reference.{name} contains NaN or infinite values")


# ---------------------------------------------------------------------------------------------
# The evaluator


class Evaluator:
    """Scores images (n, 1, 28, 28) in [-1, 1] against the real reference; safe to share by threads.

    Build one with `load_evaluator()`; `evaluate(images)` returns SampleMetrics.
    """

    def __init__(
        self,
        classifier: DigitClassifier,
        reference: ReferenceStats,
        device: str | torch.device = "cpu",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device = torch.device(device)
        # channels_last is oneDNN's preferred layout: ~1.7x faster for this CNN on CPU.
        self.classifier = classifier.eval().to(self.device, memory_format=torch.channels_last)
        self.reference = reference.to(self.device)
        self.metadata = dict(metadata or {})
        # Computed once: eigenvectors are the slowest step of FID; per set only eigenvalues remain.
        self._reference_cov_sqrt = psd_sqrt(self.reference.cov)
        self._reference_directions = F.normalize(self.reference.features.float(), dim=1)
        self._reference_radii = knn_radii(self._reference_directions)
        self._reference_metrics: SampleMetrics | None = None

    @property
    def test_accuracy(self) -> float | None:
        """The classifier's accuracy on the MNIST test set, as recorded when it was trained."""
        value = self.metadata.get("metrics", {}).get("test_accuracy")
        return None if value is None else float(value)

    @torch.inference_mode()
    def classify(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Images (n, 1, 28, 28) in [-1, 1] -> features (n, 128) and logits (n, 10)."""
        features = [
            self.classifier.features(
                chunk.to(self.device, torch.float32).contiguous(memory_format=torch.channels_last)
            )
            for chunk in images.split(CLASSIFY_CHUNK)
        ]
        features = torch.cat(features)
        return features, self.classifier.head(features)

    def evaluate(self, images: Tensor, labels: Tensor | None = None) -> SampleMetrics:
        """All metrics for generated images (n, 1, 28, 28) in [-1, 1]; labels (n,) for a cGAN."""
        _check_images(images)
        if labels is not None:
            _check_labels(labels, images.shape[0])
        features, logits = self.classify(images)
        return self.evaluate_features(features, logits, labels)

    @torch.inference_mode()
    def evaluate_features(
        self, features: Tensor, logits: Tensor, labels: Tensor | None = None
    ) -> SampleMetrics:
        """The metrics from already computed classifier features (n, 128) and logits (n, 10)."""
        features = features.to(self.device, torch.float32)
        logits = logits.to(self.device)
        mean, cov = gaussian_stats(features)
        shares = class_shares(logits)
        precision, recall = precision_recall(
            self._reference_directions,
            F.normalize(features, dim=1),
            real_radii=self._reference_radii,
        )
        return SampleMetrics(
            fid=frechet_distance(
                self.reference.mean, self.reference.cov, mean, cov, self._reference_cov_sqrt
            ),
            inception_score=inception_score(logits),
            classes_covered=classes_covered(shares),
            largest_class_fraction=shares.max().item(),
            precision=precision,
            recall=recall,
            label_accuracy=None if labels is None else label_accuracy(logits, labels),
            n=int(features.shape[0]),
            class_shares=tuple(round(s, 6) for s in shares.tolist()),
        )

    def reference_metrics(self) -> SampleMetrics:
        """The "real data" row: held-out real test digits scored exactly like samples."""
        if self._reference_metrics is None:
            features = self.reference.heldout_features
            with torch.inference_mode():
                logits = self.classifier.head(features.float())
            self._reference_metrics = self.evaluate_features(
                features, logits, self.reference.heldout_labels
            )
        return self._reference_metrics


def _check_images(images: Tensor) -> None:
    if not isinstance(images, Tensor) or not images.is_floating_point():
        kind = images.dtype if isinstance(images, Tensor) else type(images).__name__
        raise MetricsInputError(
            f"images must be a float tensor in [-1, 1], got {kind} (use pixels.uint8_to_model for uint8)"
        )
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise MetricsInputError(f"images must be (n, 1, 28, 28), got {tuple(images.shape)}")
    if images.shape[0] <= PR_NEIGHBOURS:
        raise MetricsInputError(f"need more than {PR_NEIGHBOURS} images, got {images.shape[0]}")
    if not torch.isfinite(images).all():
        raise MetricsInputError("images contain NaN or infinite values (has training diverged?)")


def _check_labels(labels: Tensor, n: int) -> None:
    if not isinstance(labels, Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise MetricsInputError("labels must be an integer tensor of digits 0-9")
    if tuple(labels.shape) != (n,):
        raise MetricsInputError(
            f"labels must be ({n},) to match the images, got {tuple(labels.shape)}"
        )
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise MetricsInputError("labels must lie in 0..9")


def load_evaluator(
    path: str | Path = DEFAULT_CLASSIFIER_PATH, device: str | torch.device = "cpu"
) -> Evaluator:
    """The Evaluator of a classifier file (cached per file version and device).

    Raises CheckpointError with a readable message when the file is missing or not a classifier.
    """
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise CheckpointError(
            f"metric classifier {path} is missing ({exc.strerror}); rebuild it with "
            "`python -m playground.metrics train-classifier`"
        ) from exc
    return _cached_evaluator(str(path), str(torch.device(device)), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _cached_evaluator(path: str, device: str, mtime_ns: int, size: int) -> Evaluator:
    del mtime_ns, size  # part of the cache key only: a rewritten file is loaded afresh
    checkpoint = load_checkpoint(path)
    if checkpoint.kind != KIND:
        raise CheckpointError(
            f"{Path(path).name} is a {checkpoint.kind or 'unknown'!r} checkpoint, not the metric classifier"
        )
    classifier = DigitClassifier()
    load_state_into(classifier, checkpoint.part("classifier"), "classifier")
    reference = ReferenceStats.from_state(checkpoint.part("reference"))
    return Evaluator(classifier, reference, device, checkpoint.metadata)


# ---------------------------------------------------------------------------------------------
# Building the shipped classifier and its reference statistics


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
) -> DigitClassifier:
    """Train DigitClassifier on the MNIST train set with cross-entropy and Adam (seeded)."""
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
        classifier = DigitClassifier().to(device, memory_format=torch.channels_last)
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
    order = torch.randperm(
        len(mnist.test_labels), generator=torch.Generator().manual_seed(settings.seed)
    )
    heldout, pool = order[: settings.heldout_size], order[settings.heldout_size :]

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
) -> Path:
    """Write weights ("classifier") and reference statistics ("reference") in one checkpoint."""
    state = {key: value.contiguous() for key, value in classifier.state_dict().items()}
    tensors = pack_parts({"classifier": state, "reference": reference.state_dict()})
    return save_checkpoint(path, Checkpoint(tensors=tensors, metadata={"kind": KIND, **metadata}))


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({_cpu_model()}, {torch.get_num_threads()} threads)"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # not Linux: fall back to what the platform module knows
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------
# Command line


def _train_command(args: argparse.Namespace) -> int:
    settings = ClassifierSettings(epochs=args.epochs, seed=args.seed).validate()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    out = Path(args.out)
    mnist = load_mnist(args.data_root, fetch=False)
    started = time.perf_counter()
    classifier = train_classifier(mnist, settings, device, progress=print)
    accuracy = classifier_accuracy(classifier, mnist.test_images, mnist.test_labels, device)
    reference = build_reference(classifier, mnist, settings, device)
    record = {
        "command": _reproduce_command(args),
        "seed": settings.seed,
        "epochs": settings.epochs,
        "device": _device_name(device),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "torch_version": torch.__version__,
    }
    real_row = Evaluator(classifier, reference, device).reference_metrics().as_dict()
    steps = settings.epochs * math.ceil(len(mnist.train_labels) / settings.batch_size)
    metadata = {
        **record,
        "settings": asdict(settings),
        "step": steps,
        "metrics": {"test_accuracy": accuracy, "reference": real_row},
    }
    save_classifier(out, classifier, reference, metadata)
    entry = {
        "file": out.name,
        "kind": KIND,
        **record,
        "test_accuracy": round(accuracy, 4),
        "reference_metrics": real_row,
        "bytes": out.stat().st_size,
        "sha256": file_sha256(out),
    }
    manifest = update_manifest(args.manifest or out.parent / "manifest.json", "classifier", entry)
    print(
        f"test accuracy {accuracy:.4f}; wrote {out} ({out.stat().st_size / 2**20:.1f} MiB), {manifest}"
    )
    print("real data row:", json.dumps(real_row))
    return 0


def _reproduce_command(args: argparse.Namespace) -> str:
    """The exact command line that rebuilds this file, every option spelled out."""
    words = ["python", "-m", "playground.metrics", "train-classifier"]
    words += ["--epochs", str(args.epochs), "--seed", str(args.seed)]
    words += ["--threads", str(args.threads), "--device", args.device, "--out", str(args.out)]
    return shlex.join(words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.metrics")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train-classifier", help="train the metric classifier + reference")
    train.add_argument("--epochs", type=int, default=ClassifierSettings.epochs)
    train.add_argument("--seed", type=int, default=ClassifierSettings.seed)
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--device", default="cpu")
    train.add_argument("--out", type=Path, default=DEFAULT_CLASSIFIER_PATH)
    train.add_argument("--manifest", type=Path, default=None)
    train.add_argument("--data-root", type=Path, default=None)
    show = commands.add_parser("reference", help="print the real-data row of a classifier file")
    show.add_argument("--path", type=Path, default=DEFAULT_CLASSIFIER_PATH)
    args = parser.parse_args(argv)
    if args.command == "train-classifier":
        return _train_command(args)
    evaluator = load_evaluator(args.path)
    print(
        json.dumps(
            {"test_accuracy": evaluator.test_accuracy, **evaluator.reference_metrics().as_dict()}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
