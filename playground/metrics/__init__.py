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

    scores               the formulas on features and logits, SampleMetrics, the collapse alarm
    evaluator            ReferenceStats, Evaluator, load_evaluator (the shipped classifier file)
    classifier_training  ClassifierSettings, train_classifier, build_reference, save_classifier
    cli                  `python -m playground.metrics`

The public names are re-exported here: `from playground.metrics import load_evaluator`.
"""

from playground.metrics.classifier_training import (
    CLASSIFIER_RANGES,
    ClassifierSettings,
    ClassifierSettingsError,
    build_reference,
    classifier_accuracy,
    random_affine,
    save_classifier,
    train_classifier,
)
from playground.metrics.evaluator import (
    CLASSIFIER_KIND,
    DEFAULT_CLASSIFIER_PATH,
    Evaluator,
    ReferenceStats,
    load_evaluator,
)
from playground.metrics.scores import (
    COLLAPSE_LARGEST_FRACTION,
    COLLAPSE_MIN_CLASSES,
    COVERAGE_SHARE,
    DEFAULT_SAMPLES,
    PR_NEIGHBOURS,
    MetricsInputError,
    SampleMetrics,
    class_shares,
    classes_covered,
    collapse_alarm,
    frechet_distance,
    gaussian_stats,
    inception_score,
    knn_radii,
    label_accuracy,
    per_label_accuracy,
    precision_recall,
    psd_sqrt,
    realism_scores,
    symmetric_eigenvalues,
)

__all__ = [
    "CLASSIFIER_KIND",
    "CLASSIFIER_RANGES",
    "COLLAPSE_LARGEST_FRACTION",
    "COLLAPSE_MIN_CLASSES",
    "COVERAGE_SHARE",
    "DEFAULT_CLASSIFIER_PATH",
    "DEFAULT_SAMPLES",
    "PR_NEIGHBOURS",
    "ClassifierSettings",
    "ClassifierSettingsError",
    "Evaluator",
    "MetricsInputError",
    "ReferenceStats",
    "SampleMetrics",
    "build_reference",
    "class_shares",
    "classes_covered",
    "classifier_accuracy",
    "collapse_alarm",
    "frechet_distance",
    "gaussian_stats",
    "inception_score",
    "knn_radii",
    "label_accuracy",
    "load_evaluator",
    "per_label_accuracy",
    "precision_recall",
    "psd_sqrt",
    "random_affine",
    "realism_scores",
    "save_classifier",
    "symmetric_eigenvalues",
    "train_classifier",
]
