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
from playground.checkpoints import CheckpointError
from playground.compare import (
    DecodedGrid,
    PlaneCodes,
    decoded_grid,
    encode_plane,
    findings,
)
from playground.compare.recorded import RecordedScores, recorded_scores, scored_files, stale_files
from playground.compare.scores import LEVEL_RATIO, Finding, summary
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


# ---------------------------------------------------------------------------------------------
# Measures that see blur, as the score command recorded them


@st.cache_data(show_spinner=False, max_entries=8)
def _recorded(versions: tuple[tuple[str, int], ...]) -> tuple[RecordedScores | None, list[str]]:
    del versions  # the cache key: a replaced file or manifest is read and hashed afresh
    recorded = recorded_scores()
    return recorded, ([] if recorded is None else stale_files(recorded))


def _versions() -> tuple[tuple[str, int], ...]:
    try:
        files = scored_files()
    except CheckpointError:
        files = {}
    files = {**files, "manifest": shipped.MODELS_DIR / "manifest.json"}
    return tuple(
        (name, path.stat().st_mtime_ns if path.exists() else 0) for name, path in files.items()
    )


def blur_scores() -> tuple[RecordedScores | None, list[str], list[Finding]]:
    """The recorded scores (None when the manifest lacks them), the files changed since, and
    each measure's verdict on the VAE against the DCGAN."""
    recorded, stale = _recorded(_versions())
    if recorded is None:
        return None, stale, []
    return recorded, stale, findings(recorded.rows)


def verdict_summary(found: list[Finding]) -> str:
    """The plain-words summary of the verdicts (see compare.scores.summary)."""
    return summary(found)


LEVEL = LEVEL_RATIO
"""Two distances within this factor of each other count as level."""


# ---------------------------------------------------------------------------------------------
# The 2-D VAE

PLANE_MODEL = "vae2d"


@st.cache_resource(show_spinner=False, max_entries=4)
def _plane_grid(path: str, mtime_ns: int) -> DecodedGrid:
    del path, mtime_ns  # the cache key
    return decoded_grid(shipped.load(PLANE_MODEL).vae)


def plane_grid() -> DecodedGrid:
    """The shipped 2-D VAE's decoded grid (CheckpointError when it does not ship)."""
    path, mtime = shipped.model_file(PLANE_MODEL)
    return _plane_grid(str(path), mtime)


@st.cache_resource(show_spinner=False, max_entries=4)
def _plane_codes(path: str, mtime_ns: int, synthetic: bool, root: str) -> PlaneCodes:
    del path, mtime_ns  # the cache key
    return encode_plane(shipped.load(PLANE_MODEL).vae, shipped.real_digits(synthetic, root))


def plane_codes() -> PlaneCodes:
    """The test digits' codes in the 2-D VAE's plane (DataUnavailable without the digits)."""
    path, mtime = shipped.model_file(PLANE_MODEL)
    return _plane_codes(str(path), mtime, synthetic_enabled(), str(data_dir()))
