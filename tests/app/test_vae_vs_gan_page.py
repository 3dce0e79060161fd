"""The VAE vs GAN page under AppTest: both models sampled from one seed, the same metrics for both
beside the real digits, the measures that see blur with their verdicts, reconstructions, the 2-D
VAE's grid and plane; missing models, data or scores explained, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from playground import shipped as shipped_files
from playground.checkpoints import file_sha256
from playground.compare import REAL
from playground.compare.recorded import SCORES_ENTRY, scored_files
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
    plane = VAETrainer(VAESettings(batch_size=32, device="cpu", z_dim=2), data.images)
    plane.run(1)
    plane.save(tmp_path / "vae2d.safetensors")
    sha = file_sha256(DEFAULT_CLASSIFIER_PATH)
    entries = {m: {"metrics": scores(m), "classifier_sha256": sha} for m in SCORES}
    entries["classifier"] = json.loads(SHIPPED_MANIFEST.read_text())["models"]["classifier"]
    monkeypatch.setattr(shipped_files, "MODELS_DIR", tmp_path)
    entries[SCORES_ENTRY] = blur_entry()
    (tmp_path / "manifest.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setenv("PLAYGROUND_SYNTHETIC_DATA", "1")
    return tmp_path


BLUR_ROWS = {
    "vae": dict(classifier_fid=93.1, classifier_kid=50, deep_fid=170, deep_kid=110, sharpness=0.05),
    "dcgan": dict(classifier_fid=91.5, classifier_kid=48, deep_fid=84, deep_kid=60, sharpness=0.2),
    REAL: dict(classifier_fid=3.4, classifier_kid=0.3, deep_fid=2.0, deep_kid=0.3, sharpness=0.15),
}
"""Scores as `python -m playground.compare score` records them (made-up values)."""


def blur_entry() -> dict:
    """The comparison's manifest entry for the files now in MODELS_DIR."""
    rows = {name: {**row, "n": 2000} for name, row in BLUR_ROWS.items()}
    sha = {name: file_sha256(path) for name, path in scored_files().items()}
    return {"rows": rows, "samples": 2000, "seed": 0, "command": "score it", "sha256": sha}


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


def test_measures_that_see_blur_sit_beside_the_classifier_s_with_verdicts(shipped: Path) -> None:
    at = open_page(PAGE)
    assert not at.exception and not at.error and not at.warning
    table = at.dataframe[1].value
    assert list(table.index) == ["VAE", "DCGAN", "real test digits"]
    assert table["FID on the classifier's features ↓"]["VAE"] == "93.1"
    assert table["FID on the deep features ↓"]["VAE"] == "170.0"
    text = texts(at.markdown)
    assert "FID on the classifier's features ranks them about level: VAE 93.1, DCGAN 91.5" in text
    assert "FID on the deep features ranks the VAE behind the DCGAN: VAE 170.0, DCGAN 84.0" in text
    assert "3 of the 3 measures that see blur rank the VAE behind" in text
    assert "FID and KID on the classifier's features do not" in text


def test_scores_of_files_that_changed_are_flagged(shipped: Path) -> None:
    (shipped / "dcgan.safetensors").write_bytes((shipped / "vae.safetensors").read_bytes())
    at = open_page(PAGE)
    assert not at.exception
    assert "changed since the scores were recorded: dcgan. Rerun `score it`" in texts(at.warning)


def test_missing_blur_scores_say_how_to_compute_them(shipped: Path) -> None:
    manifest = json.loads((shipped / "manifest.json").read_text())
    del manifest["models"][SCORES_ENTRY]
    (shipped / "manifest.json").write_text(json.dumps(manifest))
    at = open_page(PAGE)
    assert not at.exception and not at.error
    assert "`python -m playground.compare score`" in texts(at.warning)
    assert len(at.dataframe) == 1  # the classifier's table is still there


def test_the_2d_vae_shows_its_decoded_grid_and_the_digits_codes(shipped: Path) -> None:
    at = open_page(PAGE)
    specs = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    grid = next(s for key, s in specs.items() if "plane-grid" in key)
    plane = next(s for key, s in specs.items() if "plane-codes" in key)
    assert grid["data"][0]["type"] == "image" and len(grid["layout"]["xaxis"]["ticktext"]) == 15
    assert [t["name"] for t in plane["data"]] == [*map(str, range(10)), "grid"]


def test_a_missing_2d_vae_says_how_to_train_it(shipped: Path) -> None:
    (shipped / "vae2d.safetensors").unlink()
    at = open_page(PAGE)
    assert not at.exception and not at.error
    assert "python -m playground.train vae --z-dim 2 --name vae2d" in texts(at.warning)
