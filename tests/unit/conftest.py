"""Shared by the unit tests: random digits, an offline training CLI, and how a metric recorded on
one machine is compared with the same metric recomputed on another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import Tensor

from playground.metrics import SampleMetrics
from playground.train import cli
from tests.conftest import ROOT

N_IMAGES = 96


@pytest.fixture(scope="module")
def one_thread():
    """Batches of 32 gain nothing from intra-op threads; on a busy 2-core machine they contend."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_digits(n: int = N_IMAGES, seed: int = 0) -> tuple[Tensor, Tensor]:
    """uint8 images (n, 28, 28) and labels: enough to exercise the engine's plumbing."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    return images, torch.randint(0, 10, (n,), generator=g)


class ScriptedEvaluator:
    """Stands in for the metric classifier: returns the given FIDs in turn."""

    def __init__(self, fids: list[float]) -> None:
        self.fids = list(fids)
        self.label_accuracies: list[float] = []  # one per call for a cGAN, else none
        self.calls: list[tuple[Tensor, Tensor | None]] = []

    def evaluate(self, images: Tensor, labels: Tensor | None = None) -> SampleMetrics:
        self.calls.append((images, labels))
        accuracy = self.label_accuracies.pop(0) if self.label_accuracies else None
        return SampleMetrics(
            self.fids.pop(0), 5.0, 10, 0.12, 0.5, 0.4, accuracy, len(images), (0.1,) * 10
        )


@pytest.fixture
def offline_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The command line on 64 random digits, scored by a ScriptedEvaluator (set its fids)."""
    images, labels = random_digits(64)
    evaluator = ScriptedEvaluator([])
    monkeypatch.setattr(
        cli,
        "load_mnist",
        lambda *a, **k: SimpleNamespace(train_images=images, train_labels=labels),
    )
    monkeypatch.setattr(cli, "load_evaluator", lambda *a, **k: evaluator)
    classifier = tmp_path / "classifier.safetensors"
    classifier.write_bytes(b"first classifier")
    monkeypatch.setattr(cli, "DEFAULT_CLASSIFIER_PATH", classifier)
    return SimpleNamespace(evaluator=evaluator, classifier=classifier)


SCORE_REL_TOLERANCE = 1e-4
"""FID and IS recomputed on another CPU: the classifier's float32 convolutions sum in an order
that depends on the CPU's vector width and thread count, and the FID's matrix square root
amplifies that (two x86-64 CPUs gave 3.417071815832969 vs 3.4170731710360087, 4e-7 relative).
1e-4 leaves a wide margin and still catches any real change: another classifier, sample set or
formula moves the FID by more than 1e-2 relative."""

BORDERLINE_SAMPLES = 2
"""Scores that count samples (precision, recall, shares, accuracies) move by whole samples: one
or two borderline digits may fall the other way on another CPU, never more."""


def assert_same_metric(key: str, recorded: Any, live: Any, n: int) -> None:
    """A metric recorded on one machine equals the one recomputed here, up to what another CPU
    may change (see SCORE_REL_TOLERANCE and BORDERLINE_SAMPLES)."""
    if isinstance(recorded, list | tuple):
        assert len(recorded) == len(live), key
        for part, value in zip(recorded, live, strict=True):
            assert_same_metric(key, part, value, n)
    elif key in ("fid", "inception_score"):
        assert recorded == pytest.approx(live, rel=SCORE_REL_TOLERANCE), key
    elif key in ("n", "classes_covered") or recorded is None:
        assert recorded == live, key
    else:
        assert recorded == pytest.approx(live, abs=BORDERLINE_SAMPLES / n), key


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A real Ray cluster on this machine (2 CPUs), started once per session for the job suite's
    Ray runs. Its workers import the test modules the jobs name (tests.unit.job_doubles)."""
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    yield ray
    ray.shutdown()
