"""The VAE vs GAN pictures and the page's package code: figures from numbers, samples from a
seed, one real digit of each kind rebuilt by the VAE, and the check that scores are comparable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from playground import shipped
from playground.checkpoints import file_sha256
from playground.data import synthetic_digits
from playground.figures import compare as figures
from playground.figures.mnist import reconstruction_grid, sample_pictures
from playground.metrics import DEFAULT_CLASSIFIER_PATH, load_evaluator
from playground.models import VAE, VAESampler
from playground.train import VAESettings, build_vae
from playground.ui import compare
from tests.unit.conftest import assert_same_metric

ROWS = {
    "VAE": {"fid": 30.0, "inception_score": 8.0, "precision": 0.5, "recall": 0.9, "n": 2000},
    "DCGAN": {"fid": 20.0, "inception_score": 7.0, "precision": 0.45, "recall": 0.7, "n": 2000},
    "real test digits": {"fid": 3.4, "inception_score": 9.7, "precision": 0.88, "recall": 0.87},
}


def test_metrics_bars_show_each_metric_for_each_row() -> None:
    fig = figures.metrics_bars(ROWS)
    assert len(fig.data) == 4
    for bars, (key, _) in zip(fig.data, figures.COMPARED_METRICS, strict=True):
        assert list(bars.x) == list(ROWS)
        assert list(bars.y) == [ROWS[name][key] for name in ROWS]
    assert fig.data[0].marker.color[0] == figures.VAE_COLOUR


def test_digit_shares_draw_one_group_per_row_and_the_balanced_line() -> None:
    shares = {"VAE": [0.1] * 10, "DCGAN": [0.2, 0.0] * 5}
    fig = figures.digit_shares(shares)
    assert [bars.name for bars in fig.data] == ["VAE", "DCGAN"]
    assert list(fig.data[1].y) == shares["DCGAN"]
    assert fig.layout.shapes[0].y0 == 0.1


def test_stroke_shares_are_a_histogram_of_the_stroke_pixels_only() -> None:
    pixels = np.array([0.0, 0.05, 0.2, 0.2, 0.5, 1.0])  # two background pixels are left out
    edges = np.array([0.1, 0.4, 0.7, 1.0])
    assert np.allclose(figures.stroke_shares(pixels, edges), [0.5, 0.25, 0.25])
    assert np.allclose(figures.stroke_shares(np.zeros(5), edges), 0.0)
    fig = figures.stroke_histogram({"VAE": pixels, "DCGAN": np.ones(4)})
    assert [t.name for t in fig.data] == ["VAE", "DCGAN"]
    assert sum(fig.data[1].y) == pytest.approx(1.0) and fig.data[1].y[-1] == 1.0


def test_grey_share_counts_strokes_between_the_thresholds() -> None:
    assert figures.grey_share(np.array([0.0, 0.3, 0.5, 0.9, 1.0])) == pytest.approx(2 / 4)
    assert figures.grey_share(np.zeros(10)) == 0.0


def tiny_vae() -> VAE:
    return build_vae(VAESettings(z_dim=4, hidden=16)).eval()


def test_sampler_pictures_follow_the_seed() -> None:
    sampler = VAESampler(tiny_vae())
    first, again, other = (sample_pictures(shipped.sample_digits(sampler, s)) for s in (3, 3, 4))
    assert np.array_equal(first.grid, again.grid) and not np.array_equal(first.grid, other.grid)
    assert first.pixels.shape == (shipped.GRID_SAMPLES, 1, 28, 28)
    assert first.pixels.min() >= 0 and first.pixels.max() <= 1
    # 8 x 8 digits of 28 px with a 2 px border; the interpolation row holds every step.
    assert first.grid.shape == (8 * 30 + 2, 8 * 30 + 2)
    assert first.interpolation.shape == (30 + 2, shipped.INTERPOLATION_STEPS * 30 + 2)


def test_one_of_each_digit_and_its_reconstruction() -> None:
    data = synthetic_digits(60)
    picked = shipped.one_of_each_digit(data.labels, seed=0)
    assert data.labels[picked].tolist() == list(range(10))
    assert not torch.equal(picked, shipped.one_of_each_digit(data.labels, seed=1))

    vae = tiny_vae()
    digits = shipped.RealDigits(data.images, data.labels, "synthetic")
    grid = reconstruction_grid(shipped.reconstructions(vae, digits, seed=0))
    assert grid.shape == (2 * 30 + 2, 10 * 30 + 2)
    first_real = data.images[picked[0]].numpy()
    assert np.array_equal(grid[2:30, 2:30], first_real)  # top row: the real digits
    with torch.no_grad():
        mu, _ = vae.encode(data.images[picked[:1]].float().div(127.5).sub(1).unsqueeze(1))
        rebuilt = ((vae.decode(mu)[0, 0] + 1) / 2 * 255).round()
    assert np.allclose(grid[32:60, 2:30], rebuilt.numpy(), atol=1)  # bottom: decode(mu(x))


def test_metrics_table_writes_each_value_in_the_course_s_words() -> None:
    table = figures.metrics_table({**ROWS, "VAE": {**ROWS["VAE"], "classes_covered": 10}})
    assert list(table.index) == list(ROWS)
    assert table["FID ↓"]["VAE"] == "30.0" and table["samples"]["VAE"] == "2,000"
    assert table["digits covered"]["VAE"] == "10/10"
    assert table["kept epoch"]["real test digits"] == "–"


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(shipped, "MODELS_DIR", tmp_path)
    return tmp_path


def write_manifest(folder: Path, **changes) -> None:
    sha = file_sha256(DEFAULT_CLASSIFIER_PATH)
    entries = {m: {"classifier_sha256": sha, "metrics": {"n": 2000}} for m in ("vae", "dcgan")}
    entries["classifier"] = {"sha256": sha, "reference_metrics": {"fid": 3.0, "n": 2000}}
    for model, entry in changes.items():
        entries[model].update(entry)
    (folder / "manifest.json").write_text(json.dumps({"models": entries}))


def test_scores_count_as_comparable_only_when_measured_alike(models_dir: Path) -> None:
    names = ["vae", "dcgan"]
    assert "missing or unreadable" in shipped.measurement_problem(names)
    assert shipped.real_metrics() is None
    write_manifest(models_dir)
    assert shipped.measurement_problem(names) is None
    assert shipped.real_metrics() == {"fid": 3.0, "n": 2000}
    write_manifest(models_dir, vae={"metrics": {"n": 500}})
    assert "different numbers of samples" in shipped.measurement_problem(names)
    write_manifest(models_dir, dcgan={"classifier_sha256": "0" * 64})
    assert "--rescore" in shipped.measurement_problem(names)
    write_manifest(models_dir, classifier={"sha256": "0" * 64})
    assert "not all scored with the classifier" in shipped.measurement_problem(names)
    assert "no entry for gan" in shipped.measurement_problem(["gan"])


def test_the_real_row_is_what_the_shipped_classifier_measures_on_held_out_digits() -> None:
    live = load_evaluator().reference_metrics().as_dict()
    recorded = shipped.real_metrics()
    assert recorded is not None and recorded.keys() == live.keys()
    for key, value in live.items():
        assert_same_metric(key, recorded[key], value, live["n"])


def test_a_missing_model_file_says_how_to_train_it(models_dir: Path) -> None:
    models, problems = compare.shipped_models()
    assert models == {}
    assert "python -m playground.train vae --threads 1" in problems["vae"]
    assert "The shipped DCGAN (dcgan.safetensors)" in problems["dcgan"]
