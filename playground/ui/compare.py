"""Widgets of the VAE vs GAN page: the shipped VAE and DCGAN (loaded once per file, cached), their
samples and latent interpolations from one noise seed, their metrics beside the real test digits',
and the VAE's reconstructions of real test digits.

Metrics come from the checkpoints (the same numbers as the manifest): both models were scored by
the training CLI's Evaluator with the shipped classifier, on the same number of samples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch
from torch import Tensor, nn

from playground import jobs
from playground.checkpoints import CheckpointError, file_version
from playground.data import DataUnavailable, data_dir, load_mnist, to_unit_range
from playground.figures import compare as figures
from playground.figures.mnist import image_row, interpolation_noise, sample_grid
from playground.metrics import DEFAULT_CLASSIFIER_PATH
from playground.models import VAE, VAESampler
from playground.train import file_sha256, generate, load_generator, load_vae
from playground.ui.state import SessionValue

MODELS_DIR = Path(__file__).resolve().parents[2] / "trained_models"
COMPARED = {"vae": "VAE", "dcgan": "DCGAN"}
"""The shipped models the page compares (file stem -> the name the page uses)."""
REAL_ROW = "real test digits"
GRID_SAMPLES = 64
INTERPOLATION_STEPS = 10
TABLE_COLUMNS = {
    "fid": ("FID ↓", "{:.1f}"),
    "inception_score": ("IS ↑", "{:.2f}"),
    "classes_covered": ("digits covered", "{:.0f}/10"),
    "largest_class_fraction": ("largest digit share", "{:.0%}"),
    "precision": ("precision ↑", "{:.2f}"),
    "recall": ("recall ↑", "{:.2f}"),
    "n": ("samples", "{:,}"),
    "epoch": ("kept epoch", "{}"),
}
"""Metric key -> (column title, how its values are written)."""

_NOISE_SEED: SessionValue[int] = SessionValue("compare.noise_seed", lambda: 0)


# ---------------------------------------------------------------------------------------------
# The shipped models


@dataclass(frozen=True)
class ShippedModel:
    """A shipped model as a sampler z -> images in [-1, 1], with its checkpoint metadata."""

    name: str
    label: str
    sampler: nn.Module
    metadata: dict[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.metadata.get("metrics") or {})


def model_file(name: str) -> tuple[Path, int]:
    """trained_models/<name>.safetensors and its mtime; CheckpointError saying how to train it."""
    path = MODELS_DIR / f"{name}.safetensors"
    return file_version(
        path,
        f"The shipped {COMPARED[name]} ({path.name}) is not in trained_models/ on this server. "
        f"`python -m playground.train {name} --threads 1 --out trained_models/{name}.safetensors` "
        "trains one (see the README for the exact command of the shipped file).",
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def _load(name: str, path: str, mtime_ns: int) -> ShippedModel:
    del mtime_ns  # part of the cache key: a replaced file is loaded afresh
    if name == "vae":
        vae, _, metadata = load_vae(path)
        return ShippedModel(name, COMPARED[name], VAESampler(vae), metadata)
    generator, _, metadata = load_generator(path)
    return ShippedModel(name, COMPARED[name], generator, metadata)


def shipped_model(name: str) -> ShippedModel:
    """The shipped model `name` (cached); CheckpointError when it is missing or unreadable."""
    path, mtime = model_file(name)
    return _load(name, str(path), mtime)


def shipped_models() -> tuple[dict[str, ShippedModel], dict[str, str]]:
    """The models that load, and for the others the message saying why not."""
    models: dict[str, ShippedModel] = {}
    problems: dict[str, str] = {}
    for name in COMPARED:
        try:
            models[name] = shipped_model(name)
        except CheckpointError as exc:
            problems[name] = str(exc)
    return models, problems


# ---------------------------------------------------------------------------------------------
# Samples and interpolations


@dataclass(frozen=True)
class ModelPictures:
    """A sample grid, the pixels behind it (in [0, 1]) and a latent interpolation row."""

    grid: np.ndarray
    pixels: np.ndarray
    interpolation: np.ndarray


def sampler_pictures(sampler: nn.Module, seed: int) -> ModelPictures:
    """GRID_SAMPLES digits from z ~ N(0, I) drawn with `seed`, and the straight line from the
    first noise vector to the second."""
    noise = torch.randn(GRID_SAMPLES, sampler.z_dim, generator=torch.Generator().manual_seed(seed))
    images = generate(sampler, noise)
    line = interpolation_noise(noise[0], noise[1], INTERPOLATION_STEPS)
    return ModelPictures(
        grid=sample_grid(images, 8),
        pixels=((images + 1) / 2).clamp(0, 1).numpy(),
        interpolation=image_row(generate(sampler, line)),
    )


@st.cache_resource(show_spinner=False, max_entries=64)
def _pictures(name: str, path: str, mtime_ns: int, seed: int) -> ModelPictures:
    return sampler_pictures(_load(name, path, mtime_ns).sampler, seed)


def pictures(model: ShippedModel, seed: int) -> ModelPictures:
    path, mtime = model_file(model.name)
    return _pictures(model.name, str(path), mtime, seed)


def noise_button() -> int:
    """The "New noise" button; returns this session's noise seed (shared by both models)."""
    if st.button("New noise", key="compare_noise", icon=":material/casino:"):
        _NOISE_SEED.set(_NOISE_SEED.get() + 1)
    return _NOISE_SEED.get()


# ---------------------------------------------------------------------------------------------
# Metrics


def manifest_entries() -> dict[str, Any] | None:
    """trained_models/manifest.json's entries by name (None when it is missing or unreadable)."""
    try:
        entries = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return entries if isinstance(entries, dict) else None


def real_metrics() -> dict[str, Any] | None:
    """The real-data row: held-out real test digits scored exactly like samples, as recorded in
    the manifest when the shipped classifier was built (None when the manifest lacks it)."""
    classifier = (manifest_entries() or {}).get("classifier")
    reference = classifier.get("reference_metrics") if isinstance(classifier, dict) else None
    return dict(reference) if isinstance(reference, dict) else None


def comparison_rows(
    models: dict[str, ShippedModel], real: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """{row name: metrics}: each model's kept-epoch metrics, then the real test digits."""
    rows = {model.label: model.metrics for model in models.values() if model.metrics}
    if real is not None:
        rows[REAL_ROW] = real
    return rows


def metrics_table(rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The rows as a table of text with the course's column names ("–" where a row has no value,
    e.g. the real digits have no training epoch)."""
    return pd.DataFrame(
        [
            {
                title: "–" if row.get(key) is None else form.format(row[key])
                for key, (title, form) in TABLE_COLUMNS.items()
            }
            for row in rows.values()
        ],
        index=list(rows),
    )


def measurement_problem(names: list[str]) -> str | None:
    """None when the manifest says every model (and the real row) was scored alike: the same n,
    with the classifier that ships now; else what differs."""
    entries = manifest_entries()
    if entries is None:
        return "manifest.json is missing or unreadable, so how the models were scored is unknown."
    missing = [name for name in names if name not in entries]
    if missing:
        return f"manifest.json has no entry for {', '.join(missing)}."
    classifiers = {entries[name].get("classifier_sha256") for name in names}
    if isinstance(entries.get("classifier"), dict):  # the real row was scored with this file
        classifiers.add(entries["classifier"].get("sha256"))
    counts = {(entries[name].get("metrics") or {}).get("n") for name in names}
    if len(counts) > 1:
        return f"the models were scored on different numbers of samples ({sorted(counts)})."
    try:
        shipped = file_sha256(DEFAULT_CLASSIFIER_PATH)
    except OSError:
        return "the metric classifier file is missing, so the scores cannot be checked."
    if classifiers != {shipped}:
        return (
            "the rows were not all scored with the classifier that ships now; rescore the models with "
            "`python -m playground.train <model> --rescore --out trained_models/<model>.safetensors`."
        )
    return None


# ---------------------------------------------------------------------------------------------
# Reconstructions of real test digits


@dataclass(frozen=True)
class TestDigits:
    """uint8 images (n, 28, 28) and their labels, and where they came from."""

    images: Tensor
    labels: Tensor
    description: str


@st.cache_resource(show_spinner=False, max_entries=2)
def _test_digits(synthetic: bool, root: str) -> TestDigits:
    if synthetic:
        data = jobs.synthetic_digits(200, seed=1)
        return TestDigits(data.images, data.labels, data.description)
    mnist = load_mnist(root, fetch=False)
    return TestDigits(mnist.test_images, mnist.test_labels, "the MNIST test set")


def test_digits() -> TestDigits:
    """MNIST's test digits from the local cache (never downloaded; DataUnavailable says how to
    get them), or synthetic digits in demo mode (PLAYGROUND_SYNTHETIC_DATA=1)."""
    return _test_digits(jobs.synthetic_enabled(), str(data_dir()))


def one_of_each_digit(labels: Tensor, seed: int) -> Tensor:
    """Indices of one randomly chosen example of each digit 0-9 present in `labels`, in order."""
    rng = torch.Generator().manual_seed(seed)
    picks = []
    for digit in range(10):
        where = (labels == digit).nonzero().flatten()
        if len(where):
            picks.append(where[torch.randint(len(where), (1,), generator=rng)])
    return torch.cat(picks)


def reconstruction_grid(vae: VAE, digits: TestDigits, seed: int) -> np.ndarray:
    """Top row: real digits (one of each); bottom row: decode(mu(x)), the VAE's reconstruction."""
    chosen = to_unit_range(digits.images[one_of_each_digit(digits.labels, seed)])
    vae_was_training = vae.training
    vae.eval()
    try:
        with torch.no_grad():
            mu, _ = vae.encode(chosen)
            reconstructions = vae.decode(mu)
    finally:
        vae.train(vae_was_training)
    return sample_grid(torch.cat([chosen, reconstructions]), per_row=len(chosen))


@st.cache_resource(show_spinner=False, max_entries=64)
def _reconstructions(path: str, mtime_ns: int, seed: int, synthetic: bool, root: str) -> np.ndarray:
    sampler = _load("vae", path, mtime_ns).sampler
    assert isinstance(sampler, VAESampler)
    return reconstruction_grid(sampler.vae, _test_digits(synthetic, root), seed)


def reconstructions(model: ShippedModel, seed: int) -> np.ndarray:
    """The VAE's reconstruction grid of test digits picked by `seed` (DataUnavailable without them)."""
    path, mtime = model_file(model.name)
    return _reconstructions(str(path), mtime, seed, jobs.synthetic_enabled(), str(data_dir()))


@st.cache_resource(show_spinner=False, max_entries=64)
def _real_pixels(synthetic: bool, root: str, seed: int) -> np.ndarray:
    digits = _test_digits(synthetic, root)
    rng = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(digits.labels), generator=rng)[:GRID_SAMPLES]
    return digits.images[chosen].numpy() / 255.0


def real_pixels(seed: int) -> np.ndarray | None:
    """GRID_SAMPLES real test digits' pixels in [0, 1] (None when the digits are not on disk)."""
    try:
        return _real_pixels(jobs.synthetic_enabled(), str(data_dir()), seed)
    except DataUnavailable:
        return None


def stroke_figure(
    pictures_by_label: dict[str, ModelPictures], seed: int
) -> tuple[go.Figure, dict[str, float]]:
    """The stroke-brightness histogram of each model's grid (and of real digits when available)."""
    pixels = {label: p.pixels for label, p in pictures_by_label.items()}
    real = real_pixels(seed)
    if real is not None:
        pixels[REAL_ROW] = real
    return figures.stroke_histogram(pixels), {k: figures.grey_share(v) for k, v in pixels.items()}
