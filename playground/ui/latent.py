"""Widgets of the latent-space page: the noise seeds, the groups and digits a student picks, the
strength of the move, and the page's pictures of the shipped DCGAN and cGAN, cached once per
server for each file version and choice.

The arithmetic is `playground.latent`'s; the pictures are built by `playground.figures.latent`.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from playground import autoencoding, latent, shipped
from playground.data import DataUnavailable, data_dir, synthetic_enabled
from playground.figures import latent as figures
from playground.latent import ArithmeticSettings
from playground.shipped import ShippedModel

USED = ("dcgan", "cgan")
"""The shipped models the page explores."""
SEED_LIMIT = 9999
OPENING_SEEDS = {"dcgan": 2, "cgan": 1}
"""The draws the page opens on: ones whose suggested choices show the lesson clearly (any seed
works; some show it less cleanly, which the page says)."""
OPENING_STRENGTH = 0.75


def shipped_models() -> tuple[dict[str, ShippedModel], dict[str, str]]:
    """The page's models that load, and for the others the message saying why not."""
    return shipped.load_all(USED)


def seed_input(name: str) -> int:
    """A noise seed for the model `name` (each section has its own)."""
    return int(
        st.number_input(
            f"noise seed ({shipped.LABELS[name]})",
            0,
            SEED_LIMIT,
            OPENING_SEEDS[name],
            key=f"latent.seed.{name}",
        )
    )


def _version(name: str) -> tuple[str, int]:
    path, mtime_ns = shipped.model_file(name)
    return str(path), mtime_ns


# ---------------------------------------------------------------------------------------------
# 1. Latent arithmetic on the DCGAN


@st.cache_resource(show_spinner=False, max_entries=32)
def _arithmetic_samples(path: str, mtime_ns: int, seed: int) -> latent.LatentSamples:
    del path, mtime_ns  # part of the cache key: a replaced file is sampled afresh
    return latent.arithmetic_samples(shipped.load("dcgan").sampler, seed)


def _style_radio() -> latent.Style:
    name = st.radio(
        "suggest groups by",
        list(latent.STYLES),
        format_func=lambda name: (
            f"{name}: {latent.STYLES[name].more} vs {latent.STYLES[name].less}"
        ),
        horizontal=True,
        key="latent.style",
    )
    return latent.STYLES[name]


def group_pickers(seed: int) -> ArithmeticSettings:
    """The student's groups A and B (suggested by a style), the digits to change and the
    strength, as settings (checked later, where a problem is shown as a message)."""
    samples = _arithmetic_samples(*_version("dcgan"), seed)
    style = _style_radio()
    suggested_a, suggested_b = latent.suggested_groups(samples.images, style.name, samples.digits)
    others = [i for i in range(latent.ARITHMETIC_SAMPLES) if i not in suggested_a + suggested_b]
    options = list(range(latent.ARITHMETIC_SAMPLES))
    fresh = f"{seed}.{style.name}"  # a new seed or style starts from its own suggestion
    left, right = st.columns(2)
    group_a = left.multiselect(
        f"group A ({style.more})", options, default=suggested_a, key=f"latent.a.{fresh}"
    )
    group_b = right.multiselect(
        f"group B ({style.less})", options, default=suggested_b, key=f"latent.b.{fresh}"
    )
    left, right = st.columns(2)
    targets = left.multiselect(
        "digits to change",
        options,
        default=others[: latent.DEFAULT_TARGETS],
        max_selections=latent.MAX_TARGETS,
        key=f"latent.targets.{fresh}",
    )
    strength = right.slider(
        "strength s",
        latent.STRENGTH.low,
        latent.STRENGTH.high,
        OPENING_STRENGTH,
        0.25,
        key="latent.strength",
    )
    return ArithmeticSettings(
        seed=seed,
        style=style.name,
        group_a=tuple(group_a),
        group_b=tuple(group_b),
        targets=tuple(targets),
        strength=strength,
    )


def arithmetic_grid(choice: ArithmeticSettings) -> go.Figure:
    """The DCGAN's numbered samples of the chosen seed, groups A and B outlined."""
    samples = _arithmetic_samples(*_version("dcgan"), choice.seed)
    marks = {"group A": choice.group_a, "group B": choice.group_b}
    return figures.numbered_grid(samples.images, figures.ARITHMETIC_PER_ROW, marks)


@dataclass(frozen=True, eq=False)
class EquationPictures:
    """The equation of pictures and what the move did, in words."""

    figure: go.Figure
    reading: str


def reading_text(reading: latent.ArithmeticReading) -> str:
    """What the move did, as the page says it."""
    text = (
        f"Measured: the {reading.style} of the digits went from {reading.before:.2f} to "
        f"{reading.after:.2f} on average"
    )
    if reading.same_digit is None:
        return text + "."
    return (
        text + f"; the metric classifier still reads {reading.same_digit} of {reading.n} "
        "results as the digit they started as."
    )


@st.cache_resource(show_spinner=False, max_entries=64)
def _equation(path: str, mtime_ns: int, choice: ArithmeticSettings) -> EquationPictures:
    del path, mtime_ns  # part of the cache key
    result = latent.latent_arithmetic(shipped.load("dcgan").sampler, choice)
    reading = reading_text(latent.read_arithmetic(result, choice.style))
    return EquationPictures(figures.equation_figure(result, choice.strength), reading)


def equation(choice: ArithmeticSettings) -> EquationPictures:
    """The equation of pictures for the choice (LatentSettingsError when the choice is not one)."""
    return _equation(*_version("dcgan"), choice.validate())


# ---------------------------------------------------------------------------------------------
# 2. The cGAN: z is the style, y the digit


@dataclass(frozen=True)
class StyleChoice:
    """The cGAN's noise seed and the samples whose z is decoded as every digit."""

    seed: int
    chosen: tuple[int, ...]


@st.cache_resource(show_spinner=False, max_entries=32)
def _conditional_samples(path: str, mtime_ns: int, seed: int) -> latent.LatentSamples:
    del path, mtime_ns  # part of the cache key
    return latent.conditional_samples(shipped.load("cgan").sampler, seed)


def style_picker(seed: int) -> StyleChoice:
    """The cGAN samples whose style to keep (suggested: the most and least slanted and inked)."""
    samples = _conditional_samples(*_version("cgan"), seed)
    chosen = st.multiselect(
        "samples whose style to keep",
        list(range(latent.CONDITIONAL_SAMPLES)),
        default=latent.contrasting_styles(samples.images),
        max_selections=latent.MAX_STYLE_ROWS,
        key=f"latent.kept.{seed}",
    )
    return StyleChoice(seed, tuple(chosen))


def conditional_grid(choice: StyleChoice) -> go.Figure:
    """The cGAN's numbered samples (sample i drawn as digit i mod 10), the kept ones outlined."""
    samples = _conditional_samples(*_version("cgan"), choice.seed)
    marks = {"style kept below": choice.chosen}
    return figures.numbered_grid(samples.images, figures.CONDITIONAL_PER_ROW, marks)


@st.cache_resource(show_spinner=False, max_entries=64)
def _style_rows(path: str, mtime_ns: int, choice: StyleChoice) -> go.Figure:
    del path, mtime_ns  # part of the cache key
    images = latent.style_transfer(shipped.load("cgan").sampler, choice.seed, choice.chosen)
    return figures.style_rows(images, choice.chosen)


def style_rows(choice: StyleChoice) -> go.Figure:
    """Each kept sample's z decoded as every digit (LatentSettingsError for an empty choice)."""
    return _style_rows(*_version("cgan"), choice)


# ---------------------------------------------------------------------------------------------
# 3. Autoencoder vs VAE


AUTOENCODERS = ("ae", "vae")
"""The shipped plain autoencoder and VAE: one network, two objectives."""
LABELS = {"ae": "autoencoder", "vae": "VAE"}


def autoencoder_models() -> tuple[dict[str, ShippedModel], dict[str, str]]:
    """The autoencoder and the VAE when they load, and for the others the message why not."""
    return shipped.load_all(AUTOENCODERS)


def path_pickers() -> autoencoding.PathSettings:
    """The two kinds of digit the path joins and the seed that picks the examples."""
    left, middle, right = st.columns(3)
    digits = list(range(10))
    opening = autoencoding.PathSettings()
    start = left.selectbox("from digit", digits, index=opening.digit_a, key="latent.path.from")
    end = middle.selectbox("to digit", digits, index=opening.digit_b, key="latent.path.to")
    seed = right.number_input("examples seed", 0, SEED_LIMIT, opening.seed, key="latent.path.seed")
    return autoencoding.PathSettings(int(start), int(end), int(seed))


@dataclass(frozen=True, eq=False)
class Measured:
    """What the section measures of one model once: how long its codes of test digits are,
    and the statistics of many paths and of its prior (None without the classifier)."""

    code_length: float
    prior_length: float  # sqrt(z_dim): about how long points of N(0, I) are
    paths: autoencoding.PathStatistics | None
    prior: autoencoding.PriorStatistics | None


@st.cache_resource(show_spinner="Encoding test digits ...", max_entries=8)
def _measured(name: str, path: str, mtime_ns: int, synthetic: bool, root: str) -> Measured:
    del path, mtime_ns  # part of the cache key
    network = shipped.load(name).vae
    encoded = autoencoding.encode_digits(network, shipped.real_digits(synthetic, root))
    return Measured(
        encoded.length,
        network.z_dim**0.5,
        autoencoding.path_statistics(network, encoded),
        autoencoding.prior_statistics(network, seed=0),
    )


@dataclass(frozen=True, eq=False)
class Walk:
    """One model's decoded path between the chosen digits and its decoded prior samples."""

    path: autoencoding.DecodedPoints
    prior: autoencoding.DecodedPoints


@st.cache_resource(show_spinner=False, max_entries=32)
def _walk(
    name: str,
    path: str,
    mtime_ns: int,
    synthetic: bool,
    root: str,
    choice: autoencoding.PathSettings,
) -> Walk:
    del path, mtime_ns  # part of the cache key
    network = shipped.load(name).vae
    ends = autoencoding.path_ends(shipped.real_digits(synthetic, root), choice)
    return Walk(
        autoencoding.latent_path(network, ends), autoencoding.prior_points(network, choice.seed)
    )


@dataclass(frozen=True, eq=False)
class AutoencoderPictures:
    """The section's pictures: both decoded paths, their measures (None without the
    classifier), both models' decoded prior samples, and what the prior statistics say."""

    paths: go.Figure
    measures: go.Figure | None
    paths_text: str
    prior: go.Figure
    prior_text: str


def autoencoder_pictures(choice: autoencoding.PathSettings) -> AutoencoderPictures | None:
    """The pictures for the choice, or None when the MNIST test digits are not on this server
    (LatentSettingsError for a choice out of range)."""
    choice.validate()
    where = (synthetic_enabled(), str(data_dir()))
    try:
        walks = {LABELS[n]: _walk(n, *_version(n), *where, choice) for n in AUTOENCODERS}
    except DataUnavailable:
        return None
    measured = {LABELS[n]: _measured(n, *_version(n), *where) for n in AUTOENCODERS}
    statistics = {label: m.paths for label, m in measured.items() if m.paths is not None}
    t = autoencoding.PATH_T.tolist()
    paths = {label: walk.path for label, walk in walks.items()}
    return AutoencoderPictures(
        paths=figures.path_rows({label: p.images for label, p in paths.items()}, t),
        measures=figures.path_measures(t, paths, statistics) if statistics else None,
        paths_text=paths_text(statistics),
        prior=figures.prior_rows({label: walk.prior.images for label, walk in walks.items()}),
        prior_text=prior_text(measured),
    )


def paths_text(statistics: dict[str, autoencoding.PathStatistics]) -> str:
    """What the statistics of many paths say midway between the two digits ("" without them)."""
    middle = autoencoding.PATH_T.tolist().index(0.5)
    parts = [f"{label} {s.on_manifold[middle]:.0%}" for label, s in statistics.items()]
    if not parts:
        return ""
    pairs = next(iter(statistics.values())).pairs
    return (
        f"Midway between two test digits of different kinds (t = 0.5, {pairs} pairs), the "
        "share of decoded points the classifier finds among real digits: " + ", ".join(parts) + "."
    )


def prior_text(measured: dict[str, Measured]) -> str:
    """What the codes' lengths and the prior statistics say, as the page says it."""
    lengths = " and ".join(f"{m.code_length:.0f} for the {label}" for label, m in measured.items())
    prior = max(m.prior_length for m in measured.values())
    text = (
        f"How long are the codes |z| of test digits (median)? {lengths}; points of N(0, I) "
        f"are about {prior:.0f} long."
    )
    parts = [
        f"**{label}** {s.on_manifold:.0%} on the real digits' manifold, {s.digits_covered} kinds "
        f"of digit, the most common one {s.largest_share:.0%}"
        for label, s in ((label, m.prior) for label, m in measured.items())
        if s is not None
    ]
    if not parts:
        return text
    n = autoencoding.PRIOR_STATISTICS_SAMPLES
    return text + f" Of {n} decoded points z ~ N(0, I): " + "; ".join(parts) + "."
