"""Measures that see blur: sharpness and KID against closed forms and direct numpy sums, the deep
feature network's shape, the shipped file (accuracy on the real test digits), and its CLI."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground.checkpoints import load_checkpoint
from playground.compare import cli as compare_cli
from playground.data import Mnist, data_dir, read_cache, synthetic_digits
from playground.metrics import MetricsInputError, classifier_accuracy
from playground.metrics.deep_features import (
    DEFAULT_DEEP_FEATURES_PATH,
    BlurScores,
    load_deep_evaluator,
)
from playground.metrics.kernel_distance import kernel_distance, polynomial_kernel
from playground.metrics.sharpness import laplacian, laplacian_variance, sharpness
from playground.models.classifier import FEATURE_DIM
from playground.models.deep_classifier import DeepDigitClassifier
from tests.conftest import ROOT

MANIFEST = ROOT / "trained_models" / "manifest.json"

# --- sharpness -------------------------------------------------------------------------------


def test_a_checkerboard_has_laplacian_variance_16() -> None:
    """On a 0/1 checkerboard every interior Laplacian is +4 or -4 in equal numbers: variance 16."""
    i, j = torch.meshgrid(torch.arange(28), torch.arange(28), indexing="ij")
    board = ((i + j) % 2).float().unsqueeze(0)
    assert set(laplacian(board).unique().tolist()) == {-4.0, 4.0}
    assert laplacian_variance(board).item() == pytest.approx(16.0)


def test_flat_images_and_ramps_have_no_sharpness() -> None:
    """A linear ramp's second differences are all zero; so are a flat image's."""
    ramp = torch.linspace(0, 1, 28).expand(28, 28).unsqueeze(0)
    flat = torch.full((1, 28, 28), 0.3)
    assert laplacian_variance(torch.cat([ramp, flat])).tolist() == pytest.approx([0.0, 0.0])


def test_laplacian_variance_matches_a_direct_numpy_sum() -> None:
    images = torch.rand(3, 28, 28, generator=torch.Generator().manual_seed(0))
    x = images.double().numpy()
    lap = x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:] - 4 * x[:, 1:-1, 1:-1]
    expected = lap.reshape(3, -1).var(axis=1)
    assert laplacian_variance(images).numpy() == pytest.approx(expected, rel=1e-12)


def test_blur_lowers_sharpness_and_the_model_range_is_rescaled() -> None:
    """A box blur of random strokes lowers the Laplacian variance; sharpness() of [-1, 1]
    images is that of the [0, 1] pixels."""
    pixels = (torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    blurred = F.avg_pool2d(pixels, 3, stride=1, padding=1)
    assert laplacian_variance(blurred).max() < 0.5 * laplacian_variance(pixels).min()
    assert sharpness(pixels * 2 - 1) == pytest.approx(laplacian_variance(pixels).mean().item())


# --- KID -------------------------------------------------------------------------------------


def direct_kid(real: np.ndarray, fake: np.ndarray) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3, summed pair by pair."""
    d = real.shape[1]

    def k(x: np.ndarray, y: np.ndarray) -> float:
        return (x @ y / d + 1) ** 3

    m, n = len(real), len(fake)
    xx = sum(k(real[i], real[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(fake[i], fake[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(real[i], fake[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_a_direct_numpy_sum() -> None:
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(12, 5, generator=g), torch.randn(9, 5, generator=g) + 0.5
    assert kernel_distance(real, fake) == pytest.approx(
        direct_kid(real.double().numpy(), fake.double().numpy()), rel=1e-10
    )
    assert polynomial_kernel(real, fake).shape == (12, 9)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift() -> None:
    g = torch.Generator().manual_seed(3)
    real, same = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    near, far = kernel_distance(real, same), kernel_distance(real, same + 1.0)
    assert abs(near) < 0.05 * far
    assert far < kernel_distance(real, same + 2.0)


def test_kid_refuses_mismatched_sets() -> None:
    with pytest.raises(MetricsInputError, match="two feature sets"):
        kernel_distance(torch.zeros(5, 3), torch.zeros(5, 4))


# --- the deep feature network ----------------------------------------------------------------


def test_deep_classifier_gives_logits_and_the_feature_layer() -> None:
    network = DeepDigitClassifier().eval()
    images = torch.rand(4, 1, 28, 28) * 2 - 1
    assert network.features(images).shape == (4, FEATURE_DIM)
    assert network(images).shape == (4, 10)


def shipped_entry() -> dict:
    return json.loads(MANIFEST.read_text())["models"]["deep_features"]


def test_the_shipped_deep_features_load_with_their_real_row() -> None:
    evaluator = load_deep_evaluator(DEFAULT_DEEP_FEATURES_PATH)
    entry = shipped_entry()
    assert evaluator.test_accuracy == pytest.approx(entry["test_accuracy"], abs=1e-4)
    real = evaluator.reference_scores()
    for key, value in entry["reference_scores"].items():
        assert getattr(real, key) == pytest.approx(value, rel=1e-3, abs=1e-3), key
    # Real held-out digits sit close to the reference; pure noise sits far away.
    noise = evaluator.evaluate(torch.rand(300, 1, 28, 28, generator=torch.Generator()) * 2 - 1)
    assert isinstance(noise, BlurScores) and noise.deep_fid > 20 * real.deep_fid


def real_mnist() -> Mnist:
    path = data_dir() / "mnist.npz"
    if not path.exists():
        pytest.skip(f"the real MNIST test set is not cached at {path}")
    return read_cache(path)


def test_the_shipped_deep_features_read_real_test_digits() -> None:
    """Accuracy on the 10,000 real MNIST test digits is what the manifest says, and high."""
    mnist = real_mnist()
    network = load_deep_evaluator(DEFAULT_DEEP_FEATURES_PATH).network
    accuracy = classifier_accuracy(network, mnist.test_images, mnist.test_labels)
    assert accuracy >= 0.99
    assert accuracy == pytest.approx(shipped_entry()["test_accuracy"], abs=2e-3)


def tiny_mnist() -> Mnist:
    """Synthetic digits standing in for MNIST: 256 to train on, 300 to test on."""
    train, test = synthetic_digits(256, seed=0), synthetic_digits(300, seed=1)
    return Mnist(train.images, train.labels, test.images, test.labels)


def run_recorded(command: str, out: Path) -> dict:
    """The shipped file's recorded command, made tiny (1 epoch, 256 digits), run to `out`."""
    words = shlex.split(command)[3:]  # after "python -m playground.compare"
    words[words.index("--epochs") + 1] = "1"
    words[words.index("--out") + 1] = str(out)
    words += ["--train-size", "256", "--reference-size", "100"]
    words += ["--manifest", str(out.parent / "manifest.json")]
    assert compare_cli.main(words) == 0
    return json.loads((out.parent / "manifest.json").read_text())["models"]["deep_features"]


def test_the_recorded_command_rebuilds_the_file_exactly_on_a_tiny_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mnist = tiny_mnist()
    monkeypatch.setattr(compare_cli, "load_mnist", lambda *args, **kwargs: mnist)
    torch.set_num_threads(1)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = run_recorded(shipped_entry()["command"], tmp_path / "a" / "deep.safetensors")
    again = run_recorded(first["command"], tmp_path / "b" / "deep.safetensors")
    a = load_checkpoint(tmp_path / "a" / "deep.safetensors").tensors
    b = load_checkpoint(tmp_path / "b" / "deep.safetensors").tensors
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert first["reference_scores"] == again["reference_scores"]
    assert load_deep_evaluator(tmp_path / "b" / "deep.safetensors").reference_scores().n == 100
