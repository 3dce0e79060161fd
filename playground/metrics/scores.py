"""The formulas of the course's sample metrics, on tensors: FID, Inception Score, digit shares and
coverage, precision and recall, label accuracy, and the mode-collapse alarm. Each takes classifier
features or logits and returns plain numbers."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from playground.models import NUM_CLASSES

DEFAULT_SAMPLES = 2000
"""FID is biased by sample size: compare models only at the same n (this one by default)."""
PR_NEIGHBOURS = 3
COVERAGE_SHARE = 0.25 / NUM_CLASSES
"""A digit counts as covered when at least 2.5% of samples are predicted as it."""
COLLAPSE_LARGEST_FRACTION = 0.3
COLLAPSE_MIN_CLASSES = 8
CLASSIFY_CHUNK = 500


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


def realism_scores(real: Tensor, fake: Tensor, real_radii: Tensor) -> Tensor:
    """The realism score of each fake (Kynkaenniemi et al. 2019, section 5), (n_fake,):

    R(f) = max_r radius_k(r) / |f - r|. R >= 1 exactly when f lies in some real k-NN ball (the
    test precision counts), and R grows the closer f comes to a real digit. (The paper also
    leaves out the largest real balls; they are kept here so that R >= 1 is precision's test.)
    """
    distances = torch.cdist(fake, real).clamp_min(1e-12)
    return (real_radii.unsqueeze(0) / distances).max(dim=1).values


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
