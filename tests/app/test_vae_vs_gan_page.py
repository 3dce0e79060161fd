"""The VAE vs GAN page under AppTest: both models sampled from one seed, the same metrics for both
beside the real digits, reconstructions; missing models, data or scores explained, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from playground import shipped as shipped_files
from playground.checkpoints import file_sha256
from playground.data import synthetic_digits
from playground.metrics import DEFAULT_CLASSIFIER_PATH
from playground.train import Trainer, TrainSettings, VAESettings, VAETrainer
from tests.app.conftest import open_page

PAGE = "vae_vs_gan.py"
SHIPPED_MANIFEST = shipped_files.MODELS_DIR / "manifest.json"
SCORES = {"vae": 111.1, "dcgan": 77.7}


def scores(model: str) -> dict:
    """Metrics as the training command records them (made-up values the page must show)."""
    return {
        "fid": SCORES[model],
        "inception_score": 5.5,
        "classes_covered": 9 if model == "dcgan" else 10,
        "largest_class_fraction": 0.2,
        "precision": 0.4,
        "recall": 0.6,
        "label_accuracy": None,
        "n": 2000,
        "class_shares": [0.1] * 10,
        "epoch": 3,
    }


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """trained_models/ holding a barely trained VAE and DCGAN, and a manifest scoring both alike."""
    data = synthetic_digits(64)
    vae = VAETrainer(VAESettings(batch_size=32, device="cpu"), data.images)
    vae.run(1)
    vae.save(tmp_path / "vae.safetensors", metrics=scores("vae"))
    gan = Trainer(TrainSettings(batch_size=32, device="cpu"), data.images, data.labels)
    gan.run(1)
    gan.save(tmp_path / "dcgan.safetensors", metrics=scores("dcgan"))
    sha = file_sha256(DEFAULT_CLASSIFIER_PATH)
    entries = {m: {"metrics": scores(m), "classifier_sha256": sha} for m in SCORES}
    entries["classifier"] = json.loads(SHIPPED_MANIFEST.read_text())["models"]["classifier"]
    (tmp_path / "manifest.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setattr(shipped_files, "MODELS_DIR", tmp_path)
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")
    return tmp_path


def grid_urls(at: AppTest) -> list[str]:
    return [url for image in at.get("image") for url in image.value]


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_both_models_are_sampled_and_scored_side_by_side(shipped: Path) -> None:
    at = open_page(PAGE)
    assert not at.exception and not at.error and not at.warning
    assert [s.value for s in at.subheader] == ["VAE", "DCGAN"]
    assert [c for image in at.get("image") for c in image.captions][:2] == ["noise seed 0"] * 2
    table = at.dataframe[0].value
    assert list(table.index) == ["VAE", "DCGAN", "real test digits"]
    assert list(table["FID ↓"][:2]) == ["111.1", "77.7"]
    assert list(table["digits covered"][:2]) == ["10/10", "9/10"]
    real = json.loads(SHIPPED_MANIFEST.read_text())["models"]["classifier"]["reference_metrics"]
    assert table["FID ↓"]["real test digits"] == f"{real['fid']:.1f}"
    assert "Grey stroke pixels" in texts(at.caption) and "VAE" in texts(at.caption)
    assert len(grid_urls(at)) == 2 + 1 + 2  # two grids, the reconstructions, two interpolations


def test_new_noise_changes_both_models_samples_and_interpolations(shipped: Path) -> None:
    at = open_page(PAGE)
    before = grid_urls(at)
    next(b for b in at.button if b.label == "New noise").click()
    at.run()
    assert not at.exception
    after = grid_urls(at)
    assert [c for image in at.get("image") for c in image.captions][:2] == ["noise seed 1"] * 2
    vae_grid, gan_grid, reconstructions, vae_line, gan_line = zip(before, after, strict=True)
    for old, new in (vae_grid, gan_grid, reconstructions, vae_line, gan_line):
        assert old != new


def test_missing_test_digits_say_how_to_fetch_them(
    shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLAYGROUND_SYNTHETIC_DATA")
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path / "empty"))
    at = open_page(PAGE)
    assert not at.exception and not at.error
    warning = texts(at.warning)
    assert "python -m playground.data fetch" in warning and "MNIST is not available" in warning
    assert at.dataframe and len(grid_urls(at)) == 4  # everything else is still there


def test_missing_models_are_explained_with_the_command_that_trains_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shipped_files, "MODELS_DIR", tmp_path)
    at = open_page(PAGE)
    assert not at.exception and not at.error
    warning = texts(at.warning)
    for model in ("vae", "dcgan"):
        assert f"python -m playground.train {model} --threads 1" in warning
    assert "No scores to compare yet" in warning and not at.dataframe


def test_scores_measured_differently_are_flagged(shipped: Path) -> None:
    manifest = json.loads((shipped / "manifest.json").read_text())
    manifest["models"]["vae"]["metrics"]["n"] = 500
    (shipped / "manifest.json").write_text(json.dumps(manifest))
    at = open_page(PAGE)
    assert not at.exception
    assert "Compare with care: the models were scored on different numbers of samples" in texts(
        at.warning
    )


def test_the_shipped_models_metrics_are_the_manifests() -> None:
    at = open_page(PAGE)
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    manifest = json.loads(SHIPPED_MANIFEST.read_text())["models"]
    for model, row in (("vae", "VAE"), ("dcgan", "DCGAN")):
        metrics = manifest[model]["metrics"]
        assert table["FID ↓"][row] == f"{metrics['fid']:.1f}"
        assert table["IS ↑"][row] == f"{metrics['inception_score']:.2f}"
        assert table["kept epoch"][row] == str(manifest[model]["epoch_kept"])
