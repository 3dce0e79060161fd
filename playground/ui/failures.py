"""Widgets of the failure-modes page: pick a seed, run a lesson's presets, play the runs back.

Runs are deterministic given (lesson, preset, seed), so they are cached once for the whole server
(`st.cache_data`): a cohort pressing the same preset trains it once. What this session has run
lives in one SessionValue, so the results are still there after a visit to another page.
"""

from __future__ import annotations

import threading

import plotly.graph_objects as go
import streamlit as st

from playground.failures import (
    LESSONS,
    FailureLesson,
    Preset,
    Trace,
    lesson_for_seed,
    run_preset,
    verdict,
)
from playground.figures import failures as figures
from playground.figures.toy import densities_figure
from playground.toy import ToySettings
from playground.ui import stepper
from playground.ui.layout import errors_shown
from playground.ui.state import SessionValue

RUNS: SessionValue[dict[str, int]] = SessionValue("failures.runs", dict)
"""Lesson key -> the seed this session last ran it with."""

SEED_MAX = 2**31 - 1


def run_key(lesson_key: str) -> str:
    """Key of a lesson's "Run" button (tests press it by key)."""
    return f"failures.run.{lesson_key}"


def seed_key(lesson_key: str) -> str:
    return f"failures.seed.{lesson_key}"


TRAINING_SLOTS = threading.BoundedSemaphore(2)
"""At most two preset runs train at once in the server: a cohort trying many seeds at the same
moment queues here instead of taking every core from the training jobs and the other pages."""


@st.cache_data(max_entries=64, show_spinner=False)
def cached_trace(lesson_key: str, preset_key: str, seed: int) -> Trace:
    """The run of one preset of one lesson from `seed` (computed once per server)."""
    lesson = lesson_for_seed(lesson_key, seed)
    preset = next(p for p in lesson.presets if p.key == preset_key)
    with TRAINING_SLOTS:
        return run_preset(preset)


def lesson_traces(lesson: FailureLesson, seed: int) -> list[Trace]:
    """Every preset of `lesson` run from `seed`, the failure first."""
    return [cached_trace(lesson.key, p.key, seed) for p in lesson.presets]


def lesson_panel(lesson_key: str) -> None:
    """Symptom and cause, the seed and Run controls, then the runs side by side."""
    lesson = LESSONS[lesson_key]
    st.markdown(f"**What you see.** {lesson.symptom}\n\n**Why.** {lesson.cause}")
    st.markdown(
        "**The runs.** "
        + "; ".join(
            [f"*{lesson.failure.title}* fails"]
            + [f"*{fix.title}* changes {fix.change}" for fix in lesson.fixes]
        )
        + ". Everything else, including the seed, is the same."
    )
    runs = RUNS.get()
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    seed = left.number_input(
        "seed",
        min_value=0,
        max_value=SEED_MAX,
        value=runs.get(lesson_key, 0),
        step=1,
        key=seed_key(lesson_key),
        help="Same seed, same run, on every machine. Try others: the failure is not a fluke.",
    )
    if right.button("Run the failure and its fix", key=run_key(lesson_key), type="primary"):
        runs[lesson_key] = int(seed)
    if lesson_key not in runs:
        st.info("Press **Run** to train these presets (a few seconds the first time).")
        return
    with errors_shown():
        lesson = lesson_for_seed(lesson_key, runs[lesson_key])
        with st.spinner("Training the failing run and its fix…"):
            traces = lesson_traces(lesson, runs[lesson_key])
        _show_runs(lesson, traces)


def _show_runs(lesson: FailureLesson, traces: list[Trace]) -> None:
    for index, trace in enumerate(traces):
        message = f"**{trace.preset.title}**: {verdict(trace)}"
        (st.error if index == 0 else st.success)(message, icon=None)
    iterations = [int(i) for i in traces[0].iterations]
    shown = st.select_slider(
        "iteration shown",
        options=iterations,
        value=iterations[-1],
        key=f"failures.frame.{lesson.key}",
        help="Play the runs back: every picture shows the state after this many iterations.",
    )
    frame = iterations.index(shown)
    columns = st.columns(len(traces))
    for index, (column, trace) in enumerate(zip(columns, traces, strict=True)):
        with column:
            st.markdown(f"##### {trace.preset.title}")
            st.plotly_chart(
                _state_figure(trace, frame), key=f"failures.{trace.preset.key}", width="stretch"
            )
            if isinstance(trace.preset.settings, ToySettings):
                _open_in_stepper(trace.preset, index)
    for key, figure in _histories(lesson, traces, shown).items():
        st.plotly_chart(figure, key=f"failures.{lesson.key}.{key}", width="stretch")


def _state_figure(trace: Trace, frame: int) -> go.Figure:
    if trace.preset.world == "ring":
        return figures.ring_figure(trace, frame)
    readout = trace.frames[frame].readout
    assert readout is not None
    return densities_figure(readout)


def _open_in_stepper(preset: Preset, index: int) -> None:
    if st.button(
        "Step through it by hand",
        key=f"failures.open.{preset.key}",
        icon=":material/open_in_new:",
        help="Opens this experiment on the 1-D GAN page, replacing your experiment there.",
    ):
        assert isinstance(preset.settings, ToySettings)
        stepper.open_experiment(preset.settings)


def _histories(lesson: FailureLesson, traces: list[Trace], shown: int) -> dict[str, go.Figure]:
    settings = lesson.failure.settings
    if lesson.failure.world == "ring":
        return {
            "modes": figures.history_figure(
                traces,
                "modes_covered",
                "Modes covered by G's samples",
                "modes covered",
                reference=float(settings.modes),
                reference_name="all modes",
                at_iteration=shown,
            ),
            "d_fake": figures.history_figure(
                traces, "d_fake", "D(G(z)): how real D finds the fakes", "mean D(G(z))",
                at_iteration=shown,
            ),
        }  # fmt: skip
    assert isinstance(settings, ToySettings)
    return {
        "fake_mean": figures.history_figure(
            traces,
            "fake_mean",
            "Where G's samples are: their mean",
            "mean of G(z)",
            reference=settings.real_mean,
            reference_name="data mean",
            at_iteration=shown,
        ),
        "g_grad_norm": figures.history_figure(
            traces,
            "g_grad_norm",
            "How hard G is pushed: the norm of G's gradient",
            "‖∇G loss‖ (log scale)",
            log_y=True,
            at_iteration=shown,
        ),
        "d_fake": figures.history_figure(
            traces, "d_fake", "D(G(z)): how real D finds the fakes", "mean D(G(z))",
            at_iteration=shown,
        ),
    }  # fmt: skip
