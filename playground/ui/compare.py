"""Widgets of the VAE vs GAN page: the "New noise" button, and the page's pictures of the shipped VAE
and DCGAN (samples, reconstructions, stroke brightness) cached once per server for each file
version and seed.

The models, their sampling and the manifest are `playground.shipped`'s; the pictures are built by
`playground.figures`. Metrics come from the checkpoints (the same numbers as the manifest): both
models were scored by the training CLI's Evaluator with the shipped classifier, on the same number
of samples.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from playground import shipped
from playground.data import DataUnavailable, data_dir, synthetic_enabled
from playground.figures import compare as figures
from playground.figures.mnist import SamplePictures, reconstruction_grid, sample_pictures
from playground.shipped import ShippedModel
from playground.ui.state import SessionValue

COMPARED = {name: shipped.LABELS[name] for name in ("vae", "dcgan")}
"""The shipped models the page compares (file stem -> the name the page uses)."""

_NOISE_SEED: SessionValue[int] = SessionValue("compare.noise_seed", lambda: 0)


def shipped_models() -> tuple[dict[str, ShippedModel], dict[str, str]]:
    """The compared models that load, and for the others the message saying why not."""
    return shipped.load_all(tuple(COMPARED))


def noise_button() -> int:
    """The "New noise" button; returns this session's noise seed (shared by both models)."""
    if st.button("New noise", key="compare_noise", icon=":material/casino:"):
        _NOISE_SEED.set(_NOISE_SEED.get() + 1)
    return _NOISE_SEED.get()


@st.cache_resource(show_spinner=False, max_entries=64)
def _pictures(name: str, path: str, mtime_ns: int, seed: int) -> SamplePictures:
    del path, mtime_ns  # part of the cache key: a replaced file is sampled afresh
    return sample_pictures(shipped.sample_digits(shipped.load(name).sampler, seed))


def pictures(model: ShippedModel, seed: int) -> SamplePictures:
    """The model's sample grid and latent interpolation from noise seed `seed` (cached)."""
    path, mtime = shipped.model_file(model.name)
    return _pictures(model.name, str(path), mtime, seed)


@st.cache_resource(show_spinner=False, max_entries=64)
def _reconstructions(path: str, mtime_ns: int, seed: int, synthetic: bool, root: str) -> np.ndarray:
    del path, mtime_ns  # part of the cache key
    digits = shipped.real_digits(synthetic, root)
    return reconstruction_grid(shipped.reconstructions(shipped.load("vae").vae, digits, seed))


def reconstructions(model: ShippedModel, seed: int) -> np.ndarray:
    """The VAE's reconstruction grid of test digits picked by `seed` (DataUnavailable without them)."""
    path, mtime = shipped.model_file(model.name)
    return _reconstructions(str(path), mtime, seed, synthetic_enabled(), str(data_dir()))


@st.cache_resource(show_spinner=False, max_entries=64)
def _real_pixels(synthetic: bool, root: str, seed: int) -> np.ndarray:
    return shipped.real_pixels(shipped.real_digits(synthetic, root), seed)


def real_pixels(seed: int) -> np.ndarray | None:
    """GRID_SAMPLES real test digits' pixels in [0, 1] (None when the digits are not on disk)."""
    try:
        return _real_pixels(synthetic_enabled(), str(data_dir()), seed)
    except DataUnavailable:
        return None


def stroke_figure(
    pictures_by_label: dict[str, SamplePictures], seed: int
) -> tuple[go.Figure, dict[str, float]]:
    """The stroke-brightness histogram of each model's grid (and of real digits when available)."""
    pixels = {label: p.pixels for label, p in pictures_by_label.items()}
    real = real_pixels(seed)
    if real is not None:
        pixels[figures.REAL_ROW] = real
    return figures.stroke_histogram(pixels), {k: figures.grey_share(v) for k, v in pixels.items()}
