"""VAE vs GAN, honestly measured: every row's numbers are the metrics' own, the verdicts follow the
numbers, the recorded scores are the shipped files' (a slow test rescores them), and the 2-D VAE's
grid and plane put each picture at its z."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from playground import shipped
from playground.compare import (
    COMPARED,
    REAL,
    LatentPlaneError,
    decoded_grid,
    encode_plane,
    findings,
    grid_codes,
    quantile_axis,
    score_images,
    score_models,
    summary,
)
from playground.compare.recorded import SCORES_ENTRY, recorded_scores, stale_files
from playground.compare.scores import LEVEL_RATIO, model_samples
from playground.data import synthetic_digits
from playground.figures import compare as figures
from playground.metrics import load_evaluator
from playground.metrics.deep_features import DEFAULT_DEEP_FEATURES_PATH, load_deep_evaluator
from playground.metrics.kernel_distance import kernel_distance
from playground.metrics.sharpness import sharpness
from playground.models import VAE, VAEConfig

ROWS = {
    "vae": dict(classifier_fid=93.1, classifier_kid=50, deep_fid=170, deep_kid=110, sharpness=0.05),
    "dcgan": dict(classifier_fid=91.5, classifier_kid=48, deep_fid=84, deep_kid=60, sharpness=0.2),
    REAL: dict(classifier_fid=3.4, classifier_kid=0.3, deep_fid=2.0, deep_kid=0.3, sharpness=0.15),
}


# --- verdicts from numbers -------------------------------------------------------------------


def test_each_measure_ranks_the_vae_from_its_own_numbers() -> None:
    found = {f.measure.key: f for f in findings(ROWS)}
    assert found["classifier_fid"].verdict == "level"  # 93.1 / 91.5 = 1.02
    assert found["deep_fid"].verdict == "behind"
    assert found["deep_fid"].ratio == pytest.approx(170 / 84)
    assert found["sharpness"].ratio == pytest.approx(0.2 / 0.05)  # higher is better: flipped
    assert "VAE 170.0, DCGAN 84.0, real digits 2.00" in found["deep_fid"].sentence
    rows = {**ROWS, "vae": {**ROWS["vae"], "deep_kid": 60 / (LEVEL_RATIO + 0.1)}}
    assert {f.measure.key: f for f in findings(rows)}["deep_kid"].verdict == "ahead"


def test_the_summary_says_where_measures_still_disagree() -> None:
    text = summary(findings(ROWS))
    assert text.startswith("**3 of the 3 measures that see blur rank the VAE behind")
    assert "FID and KID on the classifier's features do not" in text
    assert "even sharper than real digits' (0.2 vs 0.15)" in text
    assert "even the DCGAN's FID is 42× that of held-out real digits" in text
    level_kid = {**ROWS, "vae": {**ROWS["vae"], "deep_kid": 62}}
    text = summary(findings(level_kid))
    assert "**2 of the 3" in text and "Still disagreeing with the eye: KID on the deep" in text


def test_the_table_and_the_verdict_chart_show_the_rows() -> None:
    table = figures.scores_table(ROWS)
    assert list(table.index) == ["VAE", "DCGAN", "real test digits"]
    assert table["FID on the deep features ↓"]["VAE"] == "170.0"
    assert table["sharpness (Laplacian variance) ↑"]["DCGAN"] == "0.200"
    fig = figures.verdict_bars(findings(ROWS), LEVEL_RATIO)
    assert list(fig.data[0].x) == pytest.approx([f.ratio for f in findings(ROWS)])


# --- scores are the metrics' own -------------------------------------------------------------


def test_a_row_is_each_metric_computed_directly() -> None:
    classifier, deep = load_evaluator(), load_deep_evaluator()
    images = model_samples(shipped.load("vae").sampler, n=200, seed=5)
    row = score_images(images, classifier, deep)
    features, _ = classifier.classify(images)
    assert row.classifier_fid == pytest.approx(classifier.evaluate(images).fid, rel=1e-9)
    assert row.classifier_kid == pytest.approx(
        kernel_distance(classifier.reference.features, features), rel=1e-9
    )
    assert row.deep_fid == pytest.approx(deep.evaluate(images).deep_fid, rel=1e-9)
    assert row.sharpness == pytest.approx(sharpness(images), rel=1e-9)
    assert row.n == 200


def test_recorded_scores_are_read_whole_and_flagged_when_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = recorded_scores()
    assert recorded is not None and set(recorded.rows) == {*COMPARED, REAL}
    assert stale_files(recorded) == []
    for name in COMPARED:
        shutil.copy(shipped.MODELS_DIR / f"{name}.safetensors", tmp_path)
    (tmp_path / "dcgan.safetensors").write_bytes(b"another generator")
    monkeypatch.setattr(shipped, "MODELS_DIR", tmp_path)
    assert stale_files(recorded) == ["dcgan"]
    assert recorded_scores({SCORES_ENTRY: {"rows": {"vae": {}}}}) is None


@pytest.mark.slow
def test_the_recorded_scores_are_what_the_shipped_files_score() -> None:
    """Rescore the shipped VAE and DCGAN exactly as `python -m playground.compare score` did.
    1e-3 relative: another CPU moves float32 features by far less (see SCORE_REL_TOLERANCE)."""
    recorded = recorded_scores()
    assert recorded is not None
    samplers = {name: shipped.load(name).sampler for name in COMPARED}
    live = score_models(
        samplers, load_evaluator(), load_deep_evaluator(), recorded.samples, recorded.seed
    )
    for name, row in live.items():
        for key, value in row.as_dict().items():
            assert recorded.rows[name][key] == pytest.approx(value, rel=1e-3, abs=1e-6), (name, key)


# --- the 2-D VAE -----------------------------------------------------------------------------


def test_the_grid_is_normal_quantiles_in_reading_order() -> None:
    axis = quantile_axis(5, 0.1)
    expected = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.1, 0.9, 5))
    assert axis == pytest.approx(expected, abs=1e-6)
    codes = grid_codes(axis)
    assert codes.shape == (25, 2)
    assert codes[:5, 0].tolist() == pytest.approx(axis.tolist())  # first row: z1 left to right
    assert codes[0, 1] == pytest.approx(axis[-1].item())  # top row: the highest z2
    assert codes[-1].tolist() == pytest.approx([axis[-1].item(), axis[0].item()])
    with pytest.raises(LatentPlaneError):
        quantile_axis(1)


def test_the_decoded_grid_and_its_figure_put_each_tile_at_its_z() -> None:
    vae = VAE(VAEConfig(z_dim=2, hidden=16)).eval()
    grid = decoded_grid(vae, side=4)
    assert grid.images.shape == (16, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(grid.images[5], vae.decode(grid.codes[5:6])[0], atol=1e-6)
    fig = figures.latent_grid_figure(grid)
    labels = [f"{v:.1f}" for v in grid.axis.tolist()]
    assert list(fig.layout.xaxis.ticktext) == labels
    assert list(fig.layout.yaxis.ticktext) == labels[::-1]
    assert list(fig.layout.xaxis.tickvals) == [13.5, 41.5, 69.5, 97.5]
    with pytest.raises(LatentPlaneError, match="2-D latent space"):
        decoded_grid(VAE(VAEConfig(z_dim=3, hidden=16)))


def test_the_plane_scatters_each_digit_s_code_by_label_with_the_grid() -> None:
    vae = VAE(VAEConfig(z_dim=2, hidden=16)).eval()
    data = synthetic_digits(60)
    codes = encode_plane(vae, shipped.RealDigits(data.images, data.labels, "synthetic"), n=50)
    grid = decoded_grid(vae, side=3)
    fig = figures.latent_scatter(codes, grid)
    assert [t.name for t in fig.data] == [*map(str, range(10)), "grid"]
    sevens = codes.codes[codes.labels == 7]
    assert list(fig.data[7].x) == pytest.approx(sevens[:, 0].tolist())
    assert list(fig.data[-1].x) == pytest.approx(grid.codes[:, 0].tolist())
    assert list(fig.data[-1].y) == pytest.approx(grid.codes[:, 1].tolist())


def test_the_shipped_2d_vae_loads_and_decodes_its_grid() -> None:
    model = shipped.load("vae2d")
    assert model.vae.z_dim == 2 and model.settings.z_dim == 2
    entry = json.loads((shipped.MODELS_DIR / "manifest.json").read_text())["models"]["vae2d"]
    assert entry["bytes"] == (shipped.MODELS_DIR / "vae2d.safetensors").stat().st_size
    assert "--z-dim 2" in entry["command"] and "--name vae2d" in entry["command"]
    assert decoded_grid(model.vae).images.shape == (15 * 15, 1, 28, 28)
    assert DEFAULT_DEEP_FEATURES_PATH.exists()
