"""The MNIST page's numbers in plain words: FID and IS of the shipped generator taken apart beside
their pictures, and a note on a job's card while D rates the fakes above the real digits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import streamlit as st

from playground.checkpoints import CheckpointError
from playground.figures import numbers as figures
from playground.gan import HistoryPoint
from playground.metrics.evaluator import load_evaluator
from playground.metrics.explained import Stretch, fakes_above_real
from playground.mnist_numbers import Numbers, numbers_of
from playground.shipped import ShippedModel
from playground.ui.live_chart import live_chart

TAKE_APART = "numbers.take_apart"
"""Key of the button that scores the samples (tests press it by key)."""


@st.cache_resource(show_spinner=False)
def _scored() -> dict[tuple[str, str, int], Numbers]:
    """The server's scorings, one per generator file version: each is computed once, on the
    first student's press, and shown at once to everyone after."""
    return {}


def numbers_panel(name: str, model: ShippedModel, path: str, mtime_ns: int) -> None:
    """FID and IS of the shipped generator `name`, each in words, with its parts and picture
    (scored on a press: 2,000 samples take a few seconds, too long for a page's first render)."""
    key, scored = (name, path, mtime_ns), _scored()
    if key not in scored:
        st.markdown(
            "FID and IS are single numbers. Score this generator's samples to see what each "
            "one is made of."
        )
        if not st.button(
            "Take FID and IS apart (scores 2,000 samples, a few seconds)",
            key=f"{TAKE_APART}.{name}",
            icon=":material/biotech:",
        ):
            return
    try:
        evaluator = load_evaluator()
        if key not in scored:
            with st.spinner("Scoring 2,000 samples…"):
                scored[key] = numbers_of(model.sampler, model.conditional, evaluator)
    except CheckpointError as exc:
        st.info(f"The metrics cannot be taken apart here: {exc}", icon=":material/info:")
        return
    numbers, real = scored[key], evaluator.reference_metrics()
    st.markdown(fid_words(numbers, real.fid))
    live_chart(figures.fid_figure(numbers.fid), key=f"numbers.fid.{name}")
    st.markdown(is_words(numbers, real.inception_score))
    live_chart(figures.is_figure(numbers.inception), key=f"numbers.is.{name}")


def fid_words(numbers: Numbers, real_fid: float) -> str:
    """FID in plain words, with this generator's two terms."""
    fid = numbers.fid
    larger = "the spread" if fid.spread_term > fid.mean_term else "the average"
    return (
        f"**FID (Fréchet distance), lower is better.** The metric classifier turns each image "
        "into a list of features (what it looks at to tell digits apart). "
        f"FID sums up the features of {numbers.n:,} generated digits and of real test "
        f"digits as two clouds, each a mean and a spread, and measures how far apart the clouds "
        f"are: FID = |mean_real − mean_gen|² + (how differently they spread) = "
        f"**{fid.mean_term:.1f} + {fid.spread_term:.1f} = {fid.total:.1f}**. Here {larger} "
        f"counts more: the generated digits "
        + (
            "vary differently from real ones (too alike, too odd, or some digits missing)"
            if larger == "the spread"
            else "look different on average (strokes, thickness, blur)"
        )
        + f". Real test digits, scored the same way, reach **{real_fid:.1f}**: the floor that "
        "sampling alone leaves. The picture shows the two clouds along the two directions in "
        "which real digits vary most (2 of the many directions FID uses)."
    )


def is_words(numbers: Numbers, real_is: float) -> str:
    """IS in plain words, with this generator's two entropies."""
    parts = numbers.inception
    most = math.log(parts.best_possible)
    return (
        "**IS (Inception Score), higher is better.** The same classifier says which digit each "
        "image is. IS is high when it is **sure** of every image (here it gives the most likely "
        f"digit {parts.confidence.mean():.0%} on average; uncertainty "
        f"{parts.mean_conditional_entropy:.2f} nats) and when **all ten digits appear equally "
        f"often** (variety {parts.marginal_entropy:.2f} nats of at most log 10 = {most:.2f}): "
        f"IS = exp({parts.marginal_entropy:.2f} − {parts.mean_conditional_entropy:.2f}) = "
        f"**{parts.score:.2f}**, at most {parts.best_possible}. Real test digits score "
        f"**{real_is:.2f}**. IS never compares with real digits: one perfect digit per class "
        "would score 10, which is why FID stands beside it."
    )


def phase_words(stretch: Stretch, latest_step: int) -> str:
    """The early phase in which D rates the fakes above the real digits, when it happened."""
    when = (
        f"Right now (since step {stretch.first:,})"
        if stretch.last == latest_step
        else f"From step {stretch.first:,} to {stretch.last:,}"
    )
    return (
        f"**{when} D rates the fakes above the real digits** (at step {stretch.widest_step:,}: "
        f"D(G(z)) = {stretch.d_fake:.2f} against D(x) = {stretch.d_real:.2f}). This happens "
        "early in training: D has seen only a few blurry blobs and judges by crude cues "
        "(brightness, blur), and each G step moves the fakes onto exactly what the current D "
        "rates most real, faster than D learns what a digit is. D's output is a verdict about "
        "its current opponent, not a calibrated probability. As D learns strokes, D(x) climbs "
        "back above D(G(z)) and both drift towards ½."
    )


def phase_note(history: Sequence[HistoryPoint]) -> None:
    """An info box on a job's card when D rated (or rates) the fakes above the real digits."""
    stretch = fakes_above_real(history)
    if stretch is not None:
        st.info(phase_words(stretch, history[-1].step), icon=":material/swap_vert:")
