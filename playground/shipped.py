"""The models that ship in trained_models/: finding them, loading them once, and sampling them.

The MNIST page samples the shipped DCGAN and cGAN (and a generator a student uploads); the VAE vs
GAN page samples the shipped VAE and DCGAN from one noise seed, and shows the VAE's reconstructions
of real test digits. Both draw through `sample_digits`: GRID_SAMPLES digits from z ~ N(0, I) drawn
with a seed, and the latent interpolation from the first noise vector to the second. A model is
loaded once per file version (path + modification time), so a replaced file is read afresh.

`manifest.json` beside the files says how each was trained and scored; `measurement_problem` says
when two models' scores were not measured alike.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from playground.checkpoints import SHIPPED_DIR, CheckpointError, file_sha256, file_version
from playground.data import load_mnist, synthetic_digits
from playground.metrics import DEFAULT_CLASSIFIER_PATH
from playground.models import NUM_CLASSES, VAE, VAESampler
from playground.pixels import uint8_to_model
from playground.train import (
    AUTOENCODER_MODELS,
    TrainSettings,
    VAESettings,
    generate,
    load_generator,
    load_vae,
)

MODELS_DIR = SHIPPED_DIR
LABELS = {
    "dcgan": "DCGAN",
    "cgan": "cGAN (conditional)",
    "vae": "VAE",
    "ae": "autoencoder",
    "vae2d": "VAE with a 2-D latent space",
}
"""The shipped models, by file stem, as the pages name them."""
TRAINED_AS = {"vae2d": "vae --z-dim 2 --name vae2d"}
"""The training command's model and options of a file whose stem is not a model name."""
AUTOENCODER_FILES = (*AUTOENCODER_MODELS, "vae2d")
"""The shipped files that hold a VAE's network (an encoder and a decoder), not a generator."""
GRID_SAMPLES = 64
INTERPOLATION_STEPS = 10
DIGITS_PER_ROW = 8
"""A cGAN's grid of all digits shows this many of each digit, one digit per row."""


@dataclass(frozen=True)
class ShippedModel:
    """A model as a sampler z (-> y) -> images in [-1, 1], with its settings and file metadata."""

    name: str
    sampler: nn.Module  # G, or the VAE's decoder (VAESampler)
    settings: TrainSettings | VAESettings
    metadata: dict[str, Any]

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    @property
    def conditional(self) -> bool:
        """True for the cGAN, whose samples are asked for by digit."""
        return isinstance(self.settings, TrainSettings) and self.settings.conditional

    @property
    def vae(self) -> VAE:
        """The network behind a shipped VAE's (or autoencoder's) sampler (ValueError for a GAN,
        which has no encoder)."""
        if not isinstance(self.sampler, VAESampler):
            raise ValueError(f"the {self.label} is not a VAE")
        return self.sampler.vae

    @property
    def metrics(self) -> dict[str, Any]:
        """The scores the file was kept with (empty when it was saved without any)."""
        return dict(self.metadata.get("metrics") or {})


# ---------------------------------------------------------------------------------------------
# Finding and loading


def model_file(name: str) -> tuple[Path, int]:
    """trained_models/<name>.safetensors and its mtime; CheckpointError saying how to train it."""
    path = MODELS_DIR / f"{name}.safetensors"
    return file_version(
        path,
        f"The shipped {LABELS.get(name, name)} ({path.name}) is not in trained_models/ on this "
        f"server. `python -m playground.train {TRAINED_AS.get(name, name)} --threads 1 --out "
        f"trained_models/{name}.safetensors` trains one (see the README for the exact command "
        "of the shipped file).",
    )


def load(name: str) -> ShippedModel:
    """The shipped model `name`, loaded once per file version; CheckpointError when it is missing
    or unreadable."""
    path, mtime_ns = model_file(name)
    return _load(name, str(path), mtime_ns)


@functools.lru_cache(maxsize=8)
def _load(name: str, path: str, mtime_ns: int) -> ShippedModel:
    del mtime_ns  # part of the cache key: a replaced file is loaded afresh
    if name in AUTOENCODER_FILES:
        vae, vae_settings, metadata = load_vae(path)
        return ShippedModel(name, VAESampler(vae), vae_settings, metadata)
    generator, settings, metadata = load_generator(path)
    return ShippedModel(name, generator, settings, metadata)


def load_all(names: tuple[str, ...]) -> tuple[dict[str, ShippedModel], dict[str, str]]:
    """The models among `names` that load, and for the others the message saying why not."""
    models: dict[str, ShippedModel] = {}
    problems: dict[str, str] = {}
    for name in names:
        try:
            models[name] = load(name)
        except CheckpointError as exc:
            problems[name] = str(exc)
    return models, problems


def load_upload(data: bytes) -> ShippedModel:
    """A generator a student uploads (a full or generator-only GAN checkpoint), as a model to
    sample like a shipped one; CheckpointError for anything else."""
    generator, settings, metadata = load_generator(data)
    return ShippedModel("upload", generator, settings, metadata)


# ---------------------------------------------------------------------------------------------
# Sampling


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class Samples:
    """Digits from one noise seed, (n, 1, 28, 28) in [-1, 1], and the latent interpolation from
    the first noise vector to the second, (INTERPOLATION_STEPS, 1, 28, 28)."""

    images: Tensor
    interpolation: Tensor


def interpolation_noise(start: Tensor, end: Tensor, steps: int) -> Tensor:
    """Noise vectors on the straight line z_t = (1 - t) z_start + t z_end, t = 0 .. 1 (steps)."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    if start.shape != end.shape or start.dim() != 1:
        raise ValueError(
            f"start and end must be two noise vectors of one shape, got {start.shape}, {end.shape}"
        )
    t = torch.linspace(0.0, 1.0, steps, dtype=start.dtype).unsqueeze(1)
    return (1 - t) * start + t * end


def digit_labels(digit: int | None) -> Tensor:
    """The labels a cGAN grid asks for: GRID_SAMPLES of `digit`, or (None) DIGITS_PER_ROW of
    each digit 0-9 in order, so that row r of the grid shows digit r."""
    if digit is None:
        return torch.arange(NUM_CLASSES).repeat_interleave(DIGITS_PER_ROW)
    return torch.full((GRID_SAMPLES,), digit)


def draw_noise(sampler: nn.Module, n: int, seed: int) -> Tensor:
    """n noise vectors z ~ N(0, I) of the sampler's size (n, z_dim), drawn on the CPU with `seed`:
    one seed gives the same z on every machine and every page."""
    return torch.randn(n, sampler.z_dim, generator=torch.Generator().manual_seed(seed))


def sample_digits(sampler: nn.Module, seed: int, labels: Tensor | None = None) -> Samples:
    """len(labels) (else GRID_SAMPLES) digits from z ~ N(0, I) drawn with `seed`, and the
    sampler along the straight line between the first two noise vectors (a cGAN: all of the
    first label)."""
    n = GRID_SAMPLES if labels is None else len(labels)
    noise = draw_noise(sampler, n, seed)
    images = generate(sampler, noise, labels)
    line = interpolation_noise(noise[0], noise[1], INTERPOLATION_STEPS)
    line_labels = None if labels is None else labels[:1].expand(INTERPOLATION_STEPS)
    return Samples(images, generate(sampler, line, line_labels))


# ---------------------------------------------------------------------------------------------
# Real test digits: what the VAE rebuilds and what the samples' strokes are compared with


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class RealDigits:
    """uint8 images (n, 28, 28) and their labels, and where they came from."""

    images: Tensor
    labels: Tensor
    description: str


@functools.lru_cache(maxsize=2)
def real_digits(synthetic: bool, root: str) -> RealDigits:
    """MNIST's test digits from the cache at `root` (never downloaded; DataUnavailable says how
    to get them), or synthetic digits in demo mode; loaded once per source."""
    if synthetic:
        data = synthetic_digits(200, seed=1)
        return RealDigits(data.images, data.labels, data.description)
    mnist = load_mnist(root, fetch=False)
    return RealDigits(mnist.test_images, mnist.test_labels, "the MNIST test set")


def one_of_each_digit(labels: Tensor, seed: int) -> Tensor:
    """Indices of one randomly chosen example of each digit 0-9 present in `labels`, in order."""
    rng = torch.Generator().manual_seed(seed)
    picks = []
    for digit in range(NUM_CLASSES):
        where = (labels == digit).nonzero().flatten()
        if len(where):
            picks.append(where[torch.randint(len(where), (1,), generator=rng)])
    return torch.cat(picks)


def reconstructions(vae: VAE, digits: RealDigits, seed: int) -> Tensor:
    """One real digit of each kind (picked by `seed`) followed by decode(mu(x)), the VAE's
    reconstruction of each: (2 k, 1, 28, 28) in [-1, 1]."""
    chosen = uint8_to_model(digits.images[one_of_each_digit(digits.labels, seed)])
    was_training = vae.training
    vae.eval()
    try:
        with torch.no_grad():
            mu, _ = vae.encode(chosen)
            rebuilt = vae.decode(mu)
    finally:
        vae.train(was_training)
    return torch.cat([chosen, rebuilt])


def real_pixels(digits: RealDigits, seed: int) -> np.ndarray:
    """GRID_SAMPLES real digits picked by `seed`, pixels in [0, 1] (n, 28, 28)."""
    rng = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(digits.labels), generator=rng)[:GRID_SAMPLES]
    return digits.images[chosen].numpy() / 255.0


# ---------------------------------------------------------------------------------------------
# The manifest: how each file was trained and scored


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
