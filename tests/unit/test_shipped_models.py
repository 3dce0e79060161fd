"""The DCGAN and cGAN in trained_models/: their manifest entries describe the files, and their
scores, recomputed here from the files with the shipped classifier, hold the quality targets."""

from __future__ import annotations

import json

import pytest

from playground.checkpoints import load_checkpoint
from playground.metrics import DEFAULT_CLASSIFIER_PATH, load_evaluator
from playground.train import (
    EVAL_NOISE_STREAM,
    draw_samples,
    file_sha256,
    load_generator,
    stream_seed,
)

MODELS_DIR = DEFAULT_CLASSIFIER_PATH.parent
MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]


@pytest.fixture(scope="module")
def rescored() -> dict[str, dict]:
    """Each shipped GAN scored again: its run's evaluation noise, the shipped classifier."""
    evaluator = load_evaluator()
    scores = {}
    for model in ("dcgan", "cgan"):
        generator, settings, _ = load_generator(MODELS_DIR / f"{model}.safetensors")
        n = MANIFEST[model]["metrics"]["n"]
        images, labels = draw_samples(generator, n, stream_seed(settings.seed, EVAL_NOISE_STREAM))
        scores[model] = evaluator.evaluate(images, labels).as_dict()
    return scores


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_manifest_entry_describes_the_shipped_file(model: str) -> None:
    entry = MANIFEST[model]
    path = MODELS_DIR / entry["file"]
    assert entry["bytes"] == path.stat().st_size
    assert entry["command"].startswith(f"python -m playground.train {model} ")
    assert entry["command"].endswith(f"--out trained_models/{model}.safetensors")
    kept = load_checkpoint(path).metadata["metrics"]
    assert kept == entry["metrics"] and kept["epoch"] == entry["epoch_kept"]
    assert entry["classifier_sha256"] == file_sha256(DEFAULT_CLASSIFIER_PATH)
    # The kept epoch is the best-FID one of its run (among epochs meeting any accuracy floor).
    floor = entry.get("min_label_accuracy") or 0.0
    eligible = [h for h in entry["history"] if (h.get("label_accuracy") or 0.0) >= floor]
    assert kept["fid"] == min(h["fid"] for h in eligible)


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_recomputed_scores_match_the_manifest(model: str, rescored: dict[str, dict]) -> None:
    shipped = MANIFEST[model]["metrics"]
    # Another CPU may round convolutions differently: equal up to that.
    assert rescored[model]["fid"] == pytest.approx(shipped["fid"], rel=0.02)
    assert rescored[model]["classes_covered"] == 10


def test_dcgan_is_clearly_better_than_after_ten_epochs(rescored: dict[str, dict]) -> None:
    tenth = next(h for h in MANIFEST["dcgan"]["history"] if h["epoch"] == 10)
    assert rescored["dcgan"]["fid"] < 0.6 * tenth["fid"]
    assert rescored["dcgan"]["inception_score"] > tenth["inception_score"] + 1.0


def test_cgan_draws_the_asked_digit_at_least_nine_times_in_ten(rescored: dict[str, dict]) -> None:
    assert rescored["cgan"]["label_accuracy"] >= 0.90
