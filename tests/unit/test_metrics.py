"""Every metric against a closed form or a brute-force reference; the evaluator end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from playground import metrics
from playground.checkpoints import Checkpoint, CheckpointError, save_checkpoint, update_manifest
from playground.data import Mnist
from playground.metrics import (
    ClassifierSettings,
    ClassifierSettingsError,
    Evaluator,
    MetricsInputError,
    ReferenceStats,
    SampleMetrics,
    build_reference,
    class_shares,
    classes_covered,
    classifier_accuracy,
    collapse_alarm,
    frechet_distance,
    gaussian_stats,
    inception_score,
    knn_radii,
    label_accuracy,
    load_evaluator,
    per_label_accuracy,
    precision_recall,
    psd_sqrt,
    random_affine,
    realism_scores,
    save_classifier,
    train_classifier,
)
from playground.metrics import cli as metrics_cli
from playground.models.classifier import DigitClassifier
from playground.pixels import uint8_to_model
from tests.unit.conftest import assert_same_metric

SHIPPED = metrics.DEFAULT_CLASSIFIER_PATH


def random_covariance(d: int, generator: torch.Generator) -> torch.Tensor:
    a = torch.randn(d, d, generator=generator, dtype=torch.float64)
    return a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)


def confident_logits(predicted: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Logits whose softmax is one-hot on `predicted` up to e^-60."""
    return 60.0 * torch.nn.functional.one_hot(predicted, classes).to(torch.float64)


# --- FID -------------------------------------------------------------------------------------


def test_fid_of_a_gaussian_with_itself_is_zero() -> None:
    g = torch.Generator().manual_seed(0)
    mean, cov = torch.randn(16, generator=g, dtype=torch.float64), random_covariance(16, g)
    assert frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-8)


def test_fid_of_diagonal_gaussians_matches_the_closed_form() -> None:
    # Commuting covariances: d^2 = |mu_a - mu_b|^2 + sum (sqrt(a_i) - sqrt(b_i))^2
    a = torch.tensor([1.0, 4.0, 9.0, 0.25], dtype=torch.float64)
    b = torch.tensor([4.0, 1.0, 9.0, 1.0], dtype=torch.float64)
    mean_a = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    mean_b = torch.tensor([1.0, 1.0, 0.0, 3.0], dtype=torch.float64)
    expected = 1.0 + 4.0 + ((a.sqrt() - b.sqrt()) ** 2).sum().item()
    assert frechet_distance(mean_a, a.diag(), mean_b, b.diag()) == pytest.approx(
        expected, rel=1e-10
    )


def test_fid_of_non_commuting_2x2_covariances_matches_the_closed_form() -> None:
    # For 2x2 PSD products, tr sqrt(S_a S_b) = sqrt(tr(S_a S_b) + 2 sqrt(det(S_a S_b))).
    cov_a = torch.tensor([[2.0, 0.9], [0.9, 1.0]], dtype=torch.float64)
    cov_b = torch.tensor([[1.0, -0.5], [-0.5, 3.0]], dtype=torch.float64)
    product = cov_a @ cov_b
    trace_sqrt = math.sqrt(product.trace().item() + 2 * math.sqrt(torch.det(product).item()))
    mean_a = torch.tensor([0.5, -1.0], dtype=torch.float64)
    mean_b = torch.tensor([0.0, 1.0], dtype=torch.float64)
    expected = 0.25 + 4.0 + cov_a.trace().item() + cov_b.trace().item() - 2 * trace_sqrt
    assert frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-10)


def test_fid_matches_the_eigenvalues_of_the_covariance_product() -> None:
    g = torch.Generator().manual_seed(1)
    cov_a, cov_b = random_covariance(12, g), random_covariance(12, g)
    mean_a, mean_b = (
        torch.randn(12, generator=g, dtype=torch.float64),
        torch.zeros(12, dtype=torch.float64),
    )
    # Independent route: the (real, positive) eigenvalues of the non-symmetric S_a S_b.
    trace_sqrt = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0).sqrt().sum().item()
    expected = (
        mean_a.square().sum().item() + cov_a.trace().item() + cov_b.trace().item() - 2 * trace_sqrt
    )
    assert frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-9)


def test_fid_with_a_precomputed_reference_root_is_the_same() -> None:
    g = torch.Generator().manual_seed(12)
    cov_a, cov_b = random_covariance(10, g), random_covariance(10, g)
    mean_a, mean_b = (
        torch.randn(10, generator=g, dtype=torch.float64),
        torch.zeros(10, dtype=torch.float64),
    )
    root = psd_sqrt(cov_a)
    assert torch.allclose(root @ root, cov_a, atol=1e-10)
    assert frechet_distance(mean_a, cov_a, mean_b, cov_b, root) == pytest.approx(
        frechet_distance(mean_a, cov_a, mean_b, cov_b), rel=1e-12
    )


def test_fid_handles_singular_covariances() -> None:
    # Dead ReLU units give rank-deficient covariances: N(0, diag(1, 0)) vs N(0, diag(0, 1)) -> 2.
    cov_a = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    cov_b = torch.tensor([[0.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    zero = torch.zeros(2, dtype=torch.float64)
    assert frechet_distance(zero, cov_a, zero, cov_b) == pytest.approx(2.0, abs=1e-10)


def test_gaussian_stats_are_torch_mean_and_unbiased_cov() -> None:
    features = torch.randn(50, 4, generator=torch.Generator().manual_seed(2))
    mean, cov = gaussian_stats(features)
    centred = features.double() - features.double().mean(0)
    assert torch.allclose(mean, features.double().mean(0))
    assert torch.allclose(cov, centred.T @ centred / 49)


# --- Inception Score, coverage, collapse -----------------------------------------------------


def test_inception_score_of_confident_balanced_predictions_is_ten() -> None:
    logits = confident_logits(torch.arange(1000) % 10)
    assert inception_score(logits) == pytest.approx(10.0, rel=1e-9)


def test_inception_score_of_one_class_is_one() -> None:
    assert inception_score(confident_logits(torch.full((200,), 7))) == pytest.approx(1.0, abs=1e-9)
    assert inception_score(torch.zeros(50, 10)) == pytest.approx(
        1.0, abs=1e-9
    )  # unsure: p(y|x) = p(y)


def test_inception_score_matches_the_definition_on_random_logits() -> None:
    logits = (
        torch.randn(300, 10, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 3
    )
    p = logits.softmax(dim=1)
    marginal = p.mean(dim=0)
    expected = math.exp((p * (p.log() - marginal.log())).sum(dim=1).mean().item())
    assert inception_score(logits) == pytest.approx(expected, rel=1e-10)


def test_one_class_set_is_flagged_as_collapsed() -> None:
    shares = class_shares(confident_logits(torch.full((100,), 3)))
    assert shares[3] == 1.0 and classes_covered(shares) == 1
    verdict = collapse_alarm(_metrics_with(shares))
    assert verdict is not None and "100%" in verdict and "3" in verdict


def test_balanced_set_covers_all_digits_and_raises_no_alarm() -> None:
    shares = class_shares(confident_logits(torch.arange(100) % 10))
    assert classes_covered(shares) == 10 and shares.max() == pytest.approx(0.1)
    assert collapse_alarm(_metrics_with(shares)) is None


def test_a_rare_digit_below_a_quarter_of_its_share_is_not_covered() -> None:
    predicted = torch.cat([torch.arange(980) % 9, torch.full((20,), 9)])  # digit 9: 2% < 2.5%
    shares = class_shares(confident_logits(predicted))
    assert classes_covered(shares) == 9
    assert classes_covered(shares, min_share=0.02) == 10


def test_few_digits_without_a_dominant_one_still_raise_the_alarm() -> None:
    shares = class_shares(confident_logits(torch.arange(100) % 5))  # five digits at 20% each
    verdict = collapse_alarm(_metrics_with(shares))
    assert verdict is not None and "only 5 of 10" in verdict


def _metrics_with(shares: torch.Tensor) -> SampleMetrics:
    return SampleMetrics(
        fid=0.0, inception_score=1.0, classes_covered=classes_covered(shares),
        largest_class_fraction=shares.max().item(), precision=1.0, recall=1.0,
        label_accuracy=None, n=100, class_shares=tuple(shares.tolist()),
    )  # fmt: skip


# --- precision / recall, label accuracy -----------------------------------------------------


def test_knn_radii_are_the_kth_neighbour_distance_by_brute_force() -> None:
    points = torch.randn(30, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    radii = knn_radii(points, k=3)
    for i in range(30):
        others = sorted((points[i] - points[j]).norm().item() for j in range(30) if j != i)
        assert radii[i].item() == pytest.approx(others[2], rel=1e-9)


def test_precision_and_recall_of_identical_sets_are_one() -> None:
    real = torch.randn(200, 8, generator=torch.Generator().manual_seed(5))
    assert precision_recall(real, real.clone()) == (1.0, 1.0)


def test_precision_and_recall_of_disjoint_sets_are_zero() -> None:
    g = torch.Generator().manual_seed(6)
    real, fake = torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g) + 50.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_precision_counts_the_fakes_on_the_real_manifold() -> None:
    g = torch.Generator().manual_seed(7)
    real = torch.randn(200, 8, generator=g)
    fake = torch.cat([real[:150], torch.randn(50, 8, generator=g) + 50.0])  # 75% on the manifold
    precision, recall = precision_recall(real, fake)
    assert precision == pytest.approx(0.75)
    assert 0.75 <= recall < 1.0  # the copied reals are recalled; the far fakes recall nothing new


def test_realism_is_radius_over_distance_and_at_least_one_where_precision_counts() -> None:
    g = torch.Generator().manual_seed(9)
    real = torch.randn(60, 4, generator=g, dtype=torch.float64)
    fake = torch.cat([real[:20] + 0.01, torch.randn(40, 4, generator=g, dtype=torch.float64) * 3])
    radii = knn_radii(real)
    scores = realism_scores(real, fake, radii)
    for i in (0, 25, 59):
        brute = max(radii[j].item() / (fake[i] - real[j]).norm().item() for j in range(60))
        assert scores[i].item() == pytest.approx(brute, rel=1e-12)
    precision, _ = precision_recall(real, fake, real_radii=radii)
    assert (scores >= 1).double().mean().item() == precision
    assert scores[:20].min() > 1 > scores[20:].median()  # near real points vs far away


def test_label_accuracy_is_the_share_of_requested_digits_read_back() -> None:
    requested = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    read_as = torch.tensor([0, 1, 2, 3, 4, 5, 6, 0, 0, 0])  # 7 of 10 right
    logits = confident_logits(read_as)
    assert label_accuracy(logits, requested) == pytest.approx(0.7)
    # requested 7, 7, 1, 1, 1 read back as 7, 0, 1, 1, 2: digit 7 half right, digit 1 two thirds
    read_back = confident_logits(torch.tensor([7, 0, 1, 1, 2]))
    per_label = per_label_accuracy(read_back, torch.tensor([7, 7, 1, 1, 1]))
    assert per_label == {1: pytest.approx(2 / 3), 7: pytest.approx(0.5)}


# --- the evaluator, with a tiny untrained classifier ----------------------------------------


@pytest.fixture(scope="module")
def tiny() -> tuple[DigitClassifier, torch.Tensor, torch.Tensor]:
    """An untrained classifier (seeded) and 64 random images in [-1, 1] with labels."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        classifier = DigitClassifier().eval()
    g = torch.Generator().manual_seed(8)
    images = torch.rand(64, 1, 28, 28, generator=g) * 2 - 1
    return classifier, images, torch.arange(64) % 10


def reference_of(
    classifier: DigitClassifier, images: torch.Tensor, labels: torch.Tensor
) -> ReferenceStats:
    with torch.inference_mode():
        features = classifier.features(images)
    mean, cov = gaussian_stats(features)
    return ReferenceStats(
        features=features, mean=mean, cov=cov, class_shares=torch.full((10,), 0.1, dtype=torch.float64),
        heldout_features=features, heldout_labels=labels,
    )  # fmt: skip


def test_a_set_scored_against_its_own_reference_is_perfect(tiny) -> None:  # type: ignore[no-untyped-def]
    classifier, images, labels = tiny
    evaluator = Evaluator(classifier, reference_of(classifier, images, labels))
    result = evaluator.evaluate(images)
    assert result.fid == pytest.approx(0.0, abs=1e-3)
    assert (result.precision, result.recall) == (1.0, 1.0)
    assert result.n == 64 and result.label_accuracy is None
    assert sum(result.class_shares) == pytest.approx(1.0)
    assert json.loads(json.dumps(result.as_dict()))["n"] == 64


def test_evaluator_scores_match_the_formulas_on_its_own_outputs(tiny) -> None:  # type: ignore[no-untyped-def]
    classifier, images, labels = tiny
    reference = reference_of(classifier, images[:32], labels[:32])
    evaluator = Evaluator(classifier, reference)
    features, logits = evaluator.classify(images[32:])
    with torch.inference_mode():
        assert torch.allclose(logits, classifier(images[32:]), atol=1e-4)
    result = evaluator.evaluate(images[32:], labels[32:])
    mean, cov = gaussian_stats(features)
    assert result.fid == pytest.approx(frechet_distance(reference.mean, reference.cov, mean, cov))
    assert result.inception_score == pytest.approx(inception_score(logits))
    assert result.label_accuracy == pytest.approx(label_accuracy(logits, labels[32:]))
    # precision/recall compare directions: features on the unit sphere
    on_sphere = precision_recall(
        F.normalize(reference.features, dim=1), F.normalize(features, dim=1)
    )
    assert (result.precision, result.recall) == on_sphere
    realism = evaluator.realism(features)
    assert (realism >= 1).double().mean().item() == result.precision


def test_evaluator_refuses_bad_inputs_with_a_reason(tiny) -> None:  # type: ignore[no-untyped-def]
    classifier, images, labels = tiny
    evaluator = Evaluator(classifier, reference_of(classifier, images, labels))
    with pytest.raises(MetricsInputError, match="uint8_to_model"):
        evaluator.evaluate(((images + 1) * 127.5).to(torch.uint8))
    with pytest.raises(MetricsInputError, match=r"\(n, 1, 28, 28\)"):
        evaluator.evaluate(images[:, 0])
    with pytest.raises(MetricsInputError, match="NaN"):
        evaluator.evaluate(torch.full_like(images, float("nan")))
    with pytest.raises(MetricsInputError, match="0..9"):
        evaluator.evaluate(images, labels + 5)
    with pytest.raises(MetricsInputError, match="match the images"):
        evaluator.evaluate(images, labels[:10])


def test_classifier_file_round_trip_and_clear_errors(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    classifier, images, labels = tiny
    reference = reference_of(classifier, images, labels)
    path = save_classifier(
        tmp_path / "clf.safetensors", classifier, reference, {"metrics": {"test_accuracy": 0.5}}
    )
    loaded = load_evaluator(path)
    assert loaded.test_accuracy == 0.5
    assert loaded.evaluate(images[:20]) == Evaluator(classifier, reference).evaluate(images[:20])
    assert load_evaluator(path) is loaded  # cached per file version

    with pytest.raises(CheckpointError, match="train-classifier"):
        load_evaluator(tmp_path / "missing.safetensors")
    save_checkpoint(
        tmp_path / "g.safetensors", Checkpoint({"generator.w": torch.zeros(1)}, {"kind": "dcgan"})
    )
    with pytest.raises(CheckpointError, match="not the metric classifier"):
        load_evaluator(tmp_path / "g.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        load_evaluator(tmp_path / "junk.safetensors")


def test_a_reference_with_a_wrong_shape_is_refused(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    classifier, images, labels = tiny
    reference = reference_of(classifier, images, labels)
    broken = ReferenceStats(**{**reference.state_dict(), "cov": torch.eye(5, dtype=torch.float64)})
    path = save_classifier(tmp_path / "clf.safetensors", classifier, broken, {})
    with pytest.raises(CheckpointError, match="reference.cov"):
        load_evaluator(path)


# --- training the classifier and building its reference --------------------------------------


def tiny_mnist() -> Mnist:
    """Learnable stand-in digits: class c is a bright 6x6 square at its own place, plus noise."""
    g = torch.Generator().manual_seed(9)

    def digits(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(n) % 10
        images = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
        for i, c in enumerate(labels.tolist()):
            row, col = 2 + 8 * (c // 3), 2 + 8 * (c % 3)
            images[i, row : row + 6, col : col + 6] = 255
        return images, labels

    (train_images, train_labels), (test_images, test_labels) = digits(96), digits(40)
    return Mnist(train_images, train_labels, test_images, test_labels)


def test_training_is_reproducible_from_the_seed_and_leaves_the_global_rng_alone() -> None:
    settings = ClassifierSettings(epochs=1, batch_size=32, seed=3)
    rng_before = torch.get_rng_state()
    first = train_classifier(tiny_mnist(), settings)
    second = train_classifier(tiny_mnist(), settings)
    other = train_classifier(tiny_mnist(), ClassifierSettings(epochs=1, batch_size=32, seed=4))
    assert torch.equal(torch.get_rng_state(), rng_before)
    for name, weight in first.state_dict().items():
        assert torch.equal(weight, second.state_dict()[name]), name
    assert any(not torch.equal(w, other.state_dict()[n]) for n, w in first.state_dict().items())


@pytest.mark.slow
def test_training_learns_the_digits_of_a_small_set() -> None:
    mnist = tiny_mnist()
    settings = ClassifierSettings(epochs=10, batch_size=32, augment=False, lr=3e-3)
    trained = train_classifier(mnist, settings)
    assert classifier_accuracy(trained, mnist.test_images, mnist.test_labels) >= 0.9


def test_random_affine_is_identity_at_zero_strength_and_keeps_the_black_background() -> None:
    g = torch.Generator().manual_seed(10)
    images = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1
    still = ClassifierSettings(max_rotation_deg=0, max_shift_px=0, max_scale_change=0)
    assert torch.allclose(random_affine(images, still, g), images, atol=1e-5)
    black = torch.full((8, 1, 28, 28), -1.0)
    moved = random_affine(black, ClassifierSettings(max_shift_px=4, max_rotation_deg=30), g)
    assert torch.allclose(moved, black)  # padding is background (-1), not grey (0)


def test_build_reference_keeps_the_heldout_digits_out_of_the_reference() -> None:
    mnist = tiny_mnist()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        classifier = DigitClassifier().eval()
    reference = build_reference(
        classifier, mnist, ClassifierSettings(reference_size=8, heldout_size=10)
    )
    with torch.inference_mode():
        every = classifier.features(uint8_to_model(mnist.test_images))

    def rows_of(features: torch.Tensor) -> list[int]:
        distances, rows = torch.cdist(features, every).min(dim=1)
        assert distances.max() < 1e-3
        return rows.tolist()

    held = rows_of(reference.heldout_features)
    pool = [i for i in range(len(every)) if i not in held]
    assert len(set(held)) == 10 and set(rows_of(reference.features)) <= set(pool)
    assert reference.heldout_labels.tolist() == mnist.test_labels[held].tolist()
    mean, cov = gaussian_stats(every[pool])
    assert torch.allclose(reference.mean, mean, atol=1e-4) and torch.allclose(
        reference.cov, cov, atol=1e-4
    )
    shares = torch.bincount(mnist.test_labels[pool], minlength=10).double() / len(pool)
    assert torch.allclose(reference.class_shares, shares)


def test_settings_name_the_field_out_of_range() -> None:
    with pytest.raises(ClassifierSettingsError, match="epochs"):
        ClassifierSettings(epochs=0).validate()
    with pytest.raises(ClassifierSettingsError, match="max_shift_px"):
        ClassifierSettings(max_shift_px=-1).validate()


def test_update_manifest_keeps_other_entries(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"models": {"dcgan": {"seed": 1}}}))
    update_manifest(manifest, "classifier", {"seed": 0})
    update_manifest(manifest, "classifier", {"seed": 2})
    assert json.loads(manifest.read_text()) == {
        "models": {"dcgan": {"seed": 1}, "classifier": {"seed": 2}}
    }


# --- the shipped classifier ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Evaluator:
    return load_evaluator(SHIPPED)


def test_shipped_classifier_is_accurate_and_its_real_row_looks_real(shipped: Evaluator) -> None:
    assert shipped.test_accuracy is not None and shipped.test_accuracy >= 0.985
    real = shipped.reference_metrics()
    assert real.n == 2000 and real.classes_covered == 10 and real.largest_class_fraction < 0.13
    assert real.fid < 10 and real.inception_score > 9.0
    assert real.precision > 0.8 and real.recall > 0.8
    assert real.label_accuracy is not None and real.label_accuracy >= 0.98
    assert collapse_alarm(real) is None


def test_shipped_manifest_entry_matches_the_file(shipped: Evaluator) -> None:
    entry = json.loads((SHIPPED.parent / "manifest.json").read_text())["models"]["classifier"]
    assert entry["file"] == SHIPPED.name and entry["bytes"] == SHIPPED.stat().st_size
    assert entry["command"].startswith("python -m playground.metrics train-classifier")
    assert entry["test_accuracy"] == pytest.approx(shipped.test_accuracy, abs=1e-4)
    # recomputed from the file, possibly on another CPU: equal up to what that may change
    live = shipped.reference_metrics().as_dict()
    for key in ("fid", "inception_score", "precision", "recall", "classes_covered"):
        assert_same_metric(key, entry["reference_metrics"][key], live[key], live["n"])


def test_shipped_classifier_tells_noise_and_one_digit_from_real_digits(shipped: Evaluator) -> None:
    noise = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(11)) * 2 - 1
    scored = shipped.evaluate(noise)
    assert scored.fid > 100 * shipped.reference_metrics().fid
    assert scored.precision < 0.2 and scored.recall < 0.05
    blank = torch.full((200, 1, 28, 28), -1.0)  # 200 copies of one image: a fully collapsed G
    collapsed = shipped.evaluate(blank)
    assert collapsed.largest_class_fraction == 1.0 and collapsed.classes_covered == 1
    assert collapsed.inception_score == pytest.approx(1.0, abs=1e-6)
    assert collapsed.recall == 0.0
    assert collapse_alarm(collapsed) is not None


def test_reference_command_prints_the_real_data_row(
    shipped: Evaluator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert metrics_cli.main(["reference"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["test_accuracy"] == shipped.test_accuracy
    assert row["fid"] == pytest.approx(shipped.reference_metrics().fid)
