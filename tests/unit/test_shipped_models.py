"""The DCGAN, cGAN, VAE and plain autoencoder in trained_models/: their manifest entries describe
the files, and their scores, recomputed here from the files with the shipped classifier, hold the
quality targets."""

from __future__ import annotations

import json

import pytest
from torch import nn

from playground.checkpoints import file_sha256, load_checkpoint
from playground.figures.compare import grey_share
from playground.metrics import DEFAULT_CLASSIFIER_PATH, load_evaluator
from playground.models import VAESampler
from playground.seeds import EVAL_NOISE_STREAM, stream_seed
from playground.train import draw_samples, load_generator, load_vae

MODELS_DIR = DEFAULT_CLASSIFIER_PATH.parent
MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]
SHIPPED = ("dcgan", "cgan", "vae", "ae")
GENERATORS = ("dcgan", "cgan", "vae")
"""The models meant to be sampled from N(0, I); the autoencoder is not (its scores say so)."""


def shipped_sampler(model: str) -> tuple[nn.Module, int]:
    """What turns noise into the model's digits (G, or the VAE's decoder), and its run's seed."""
    path = MODELS_DIR / f"{model}.safetensors"
    if model in ("vae", "ae"):
        vae, settings, _ = load_vae(path)
        return VAESampler(vae), settings.seed
    generator, settings, _ = load_generator(path)
    return generator, settings.seed


@pytest.fixture(scope="module")
def samples() -> dict[str, tuple]:
    """Each shipped model's samples from its run's evaluation noise (images, labels)."""
    drawn = {}
    for model in SHIPPED:
        sampler, seed = shipped_sampler(model)
        n = MANIFEST[model]["metrics"]["n"]
        drawn[model] = draw_samples(sampler, n, stream_seed(seed, EVAL_NOISE_STREAM))
    return drawn


@pytest.fixture(scope="module")
def rescored(samples: dict[str, tuple]) -> dict[str, dict]:
    """Each shipped model scored again: its run's evaluation noise, the shipped classifier."""
    evaluator = load_evaluator()
    return {model: evaluator.evaluate(*samples[model]).as_dict() for model in SHIPPED}


@pytest.mark.parametrize("model", SHIPPED)
def test_manifest_entry_describes_the_shipped_file(model: str) -> None:
    entry = MANIFEST[model]
    path = MODELS_DIR / entry["file"]
    assert entry["bytes"] == path.stat().st_size
    assert entry["command"].startswith(f"python -m playground.train {model} ")
    assert entry["command"].endswith(f"--out trained_models/{model}.safetensors")
    kept = load_checkpoint(path).metadata["metrics"]
    assert kept == entry["metrics"] and kept["epoch"] == entry["epoch_kept"]
    assert entry["classifier_sha256"] == file_sha256(DEFAULT_CLASSIFIER_PATH)
    if entry["keep"] == "last":
        assert kept == entry["history"][-1] and kept["epoch"] == entry["epochs"]
        return
    # The kept epoch is the best-FID one of its run (among epochs meeting any accuracy floor).
    floor = entry.get("min_label_accuracy") or 0.0
    eligible = [h for h in entry["history"] if (h.get("label_accuracy") or 0.0) >= floor]
    assert kept["fid"] == min(h["fid"] for h in eligible)


@pytest.mark.slow  # draws and scores thousands of digits of every shipped model
@pytest.mark.parametrize("model", SHIPPED)
def test_recomputed_scores_match_the_manifest(model: str, rescored: dict[str, dict]) -> None:
    shipped = MANIFEST[model]["metrics"]
    # Another CPU may round convolutions differently: equal up to that.
    assert rescored[model]["fid"] == pytest.approx(shipped["fid"], rel=0.02)
    if model in GENERATORS:
        assert rescored[model]["classes_covered"] == 10


@pytest.mark.slow
def test_dcgan_is_clearly_better_than_after_ten_epochs(rescored: dict[str, dict]) -> None:
    tenth = next(h for h in MANIFEST["dcgan"]["history"] if h["epoch"] == 10)
    assert rescored["dcgan"]["fid"] < 0.6 * tenth["fid"]
    assert rescored["dcgan"]["inception_score"] > tenth["inception_score"] + 1.0


@pytest.mark.slow
def test_cgan_draws_the_asked_digit_at_least_nine_times_in_ten(rescored: dict[str, dict]) -> None:
    assert rescored["cgan"]["label_accuracy"] >= 0.90


@pytest.mark.slow
def test_the_autoencoder_sampled_from_n01_is_a_poor_generator(rescored: dict[str, dict]) -> None:
    """Nothing tied the autoencoder's codes to N(0, I): decoded, the prior gives few kinds of
    digit and a far worse FID than the VAE's, the same network with the KL term."""
    ae, vae = rescored["ae"], rescored["vae"]
    assert (
        ae["classes_covered"] < 10
        and ae["largest_class_fraction"] > 2 * vae["largest_class_fraction"]
    )
    assert ae["fid"] > 3 * vae["fid"]


@pytest.mark.slow
def test_vae_covers_every_digit_but_its_strokes_are_greyer_than_the_dcgans(
    samples: dict[str, tuple], rescored: dict[str, dict]
) -> None:
    """What the VAE vs GAN page teaches, checked on the shipped files: the VAE makes every digit
    about equally often, and its average-seeking likelihood leaves more grey in its strokes."""
    vae = rescored["vae"]
    assert vae["classes_covered"] == 10 and vae["largest_class_fraction"] < 0.2

    def greyness(model: str) -> float:
        return grey_share(((samples[model][0] + 1) / 2).numpy())

    assert greyness("vae") > 1.3 * greyness("dcgan")
