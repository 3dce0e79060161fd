"""Widgets of the failure-modes page: pick a seed, run a lesson's presets, play the runs back.

The default seed's runs ship with the app (`playground.failures.shipped_traces`), so a lecture's
first Run shows at once. Any other seed trains in a worker thread while the page shows a progress
bar with the time left; runs are deterministic given (preset, seed), so the server keeps them
(`LessonRuns`) and a cohort pressing the same seed trains it once. The work lives in the worker,
not in the script: a rerun while the page waits (a second press, a slider) stops only the waiting,
and the next run of the script picks the same training up. What this session has run lives in one
SessionValue, so the results are still there after a visit to another page.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import plotly.graph_objects as go
import streamlit as st

from playground import failures as core
from playground.checkpoints import CheckpointError
from playground.failures import (
    DEFAULT_FRAMES,
    LESSONS,
    FailureLesson,
    Preset,
    Trace,
    lesson_for_seed,
    read_only,
    run_preset,
    verdict,
)
from playground.figures import failures as figures
from playground.figures.toy import densities_figure
from playground.toy import ToySettings
from playground.ui import experiment, run_quiz
from playground.ui.layout import errors_shown
from playground.ui.live_chart import live_chart
from playground.ui.state import SessionValue, owner_id

_LOG = logging.getLogger(__name__)

RUNS: SessionValue[dict[str, int]] = SessionValue("failures.runs", dict)
"""Lesson key -> the seed this session last ran it with."""

SEED_MAX = 2**31 - 1
PROGRESS_EVERY_S = 0.25
"""How often the progress bar is redrawn while a lesson trains."""


def run_key(lesson_key: str) -> str:
    """Key of a lesson's "Run" button (tests press it by key)."""
    return f"failures.run.{lesson_key}"


def seed_key(lesson_key: str) -> str:
    return f"failures.seed.{lesson_key}"


TRAINING_SLOT_COUNT = 2
TRAINING_SLOTS = threading.BoundedSemaphore(TRAINING_SLOT_COUNT)
"""At most two preset runs train at once in the server: a cohort trying many seeds at the same
moment queues here instead of taking every core from the training jobs and the other pages."""

STILL_TRAINING = (
    "Still training the previous run… this press was ignored. Press **Run** again once that run "
    "has finished."
)


class StillTraining(Exception):
    """The session asked for a training while one it started is still going (one at a time)."""

    def __init__(self) -> None:
        super().__init__(
            "Still training the previous run… these runs train after it: press **Run** again "
            "once it has finished."
        )


# -- training in the background ----------------------------------------------------------------


@dataclass(frozen=True)
class TrainingProgress:
    """How far a lesson's training has come: iterations trained of all it trains, the training
    seconds up to the last recorded frame and since it, and the preset training now ("" while
    the run waits for a training slot)."""

    done: int
    total: int
    seconds: float
    since_frame: float
    training: str

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 1.0

    @property
    def seconds_left(self) -> float | None:
        """Iterations left x the seconds per iteration measured so far, less the time since the
        last frame; None before the first frame has measured anything."""
        if self.done == 0:
            return None
        return max((self.total - self.done) * self.seconds / self.done - self.since_frame, 0.0)


def progress_text(progress: TrainingProgress) -> str:
    """The progress bar's line: what trains, how far it is, and the time left."""
    if not progress.training:
        return (
            "Waiting for a free training slot (the server trains "
            f"{TRAINING_SLOT_COUNT} runs at a time)…"
        )
    left = progress.seconds_left
    estimate = "estimating the time left…" if left is None else f"about {math.ceil(left)} s left"
    return f"Training *{progress.training}*: {progress.fraction:.0%} done, {estimate}"


class LessonRun:
    """The presets of one lesson (from one seed) that no one has run yet, trained one after the
    other in a worker thread; progress and results are read under a lock from any thread."""

    def __init__(
        self,
        lesson: FailureLesson,
        known: Mapping[str, Trace],
        slots: threading.BoundedSemaphore,
        keep: Callable[[Trace], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lesson = lesson
        self._traces = dict(known)
        self._todo = [p for p in lesson.presets if p.key not in known]
        self._total = sum(p.iterations for p in self._todo)
        self._slots, self._keep, self._clock = slots, keep, clock
        self._lock = threading.Lock()
        self._done = 0  # iterations of the presets already finished
        self._current = 0  # iterations of the preset training now
        self._seconds_done = 0.0  # training seconds of the presets already finished
        self._seconds = 0.0  # training seconds up to the last frame
        self._started: float | None = None  # when the preset training now got its slot
        self._frame_at: float | None = None  # when the last frame was recorded
        self._training = ""
        self._error: Exception | None = None
        self._finished = threading.Event()
        self._on_finish: list[Callable[[LessonRun], None]] = []

    def start(self, on_finish: Callable[[LessonRun], None]) -> None:
        """Start training; `on_finish` hears of the end before any waiter wakes up."""
        self._on_finish.append(on_finish)
        threading.Thread(target=self._train, name="failure-run", daemon=True).start()

    def progress(self) -> TrainingProgress:
        with self._lock:
            since = 0.0 if self._frame_at is None else self._clock() - self._frame_at
            return TrainingProgress(
                self._done + self._current, self._total, self._seconds, since, self._training
            )

    def wait(self, timeout: float) -> bool:
        """True once the training has finished (waits at most `timeout` seconds)."""
        return self._finished.wait(timeout)

    def traces(self) -> list[Trace]:
        """The lesson's runs, the failure first; raises what the training raised, if anything."""
        if not self._finished.is_set():
            raise RuntimeError("the lesson is still training")
        if self._error is not None:
            raise self._error
        with self._lock:
            return [self._traces[p.key] for p in self.lesson.presets]

    def _train(self) -> None:
        try:
            for preset in self._todo:
                with self._slots:
                    self._begin(preset)
                    trace = run_preset(preset, DEFAULT_FRAMES, self._frame_done)
                self._end(trace)
        except Exception as exc:  # a bug: kept for the page that waits, which raises it there
            self._error = exc
        finally:
            for hear in self._on_finish:
                hear(self)
            self._finished.set()

    def _begin(self, preset: Preset) -> None:
        with self._lock:
            self._started = self._frame_at = self._clock()
            self._current, self._training = 0, preset.title

    def _frame_done(self, iteration: int, _iterations: int) -> None:
        with self._lock:
            assert self._started is not None
            self._frame_at = self._clock()
            self._current = iteration
            self._seconds = self._seconds_done + self._frame_at - self._started

    def _end(self, trace: Trace) -> None:
        self._keep(trace)
        with self._lock:
            self._traces[trace.preset.key] = trace
            self._done += trace.preset.iterations
            self._current = 0
            self._seconds_done = self._seconds
            self._training = ""


class LessonRuns:
    """The server's failure-mode runs (one per process, thread-safe): the shipped ones, the last
    `capacity` trained ones, the lessons training now and the run each session waits for.

    A session drives at most one training at a time: two script threads of one session (a second
    press while the first waits) must not train twice, nor hold two of the server's slots.
    """

    def __init__(
        self,
        shipped: Callable[[], Mapping[str, Trace]],
        slots: threading.BoundedSemaphore = TRAINING_SLOTS,
        capacity: int = 64,
    ) -> None:
        self._shipped = shipped
        self._slots = slots
        self._capacity = capacity
        self._lock = threading.Lock()
        self._kept: OrderedDict[Preset, Trace] = OrderedDict()
        self._training: dict[tuple[Preset, ...], LessonRun] = {}
        self._waiting: dict[str, LessonRun] = {}  # session -> the training it waits for

    def ready(self, lesson: FailureLesson) -> list[Trace] | None:
        """Every run of `lesson`, the failure first, if all are shipped or kept; else None."""
        known = self._known(lesson)
        if len(known) < len(lesson.presets):
            return None
        return [known[p.key] for p in lesson.presets]

    def busy(self, session: str) -> bool:
        """Whether `session` waits for a training that has not finished."""
        with self._lock:
            return session in self._waiting

    def start(self, session: str, lesson: FailureLesson) -> LessonRun:
        """The training of `lesson`'s missing runs: the one `session` already waits for, another
        session's of the same lesson and seed, or a new one. Raises StillTraining when `session`
        waits for the training of something else."""
        known = self._known(lesson)
        with self._lock:
            mine = self._waiting.get(session)
            if mine is not None and mine.lesson != lesson:
                raise StillTraining()
            run = self._training.get(lesson.presets)
            if run is None:
                run = LessonRun(lesson, known, self._slots, self._keep)
                self._training[lesson.presets] = run
                run.start(self._finished)
            self._waiting[session] = run
            return run

    def _known(self, lesson: FailureLesson) -> dict[str, Trace]:
        shipped = self._shipped()
        found: dict[str, Trace] = {}
        with self._lock:
            for preset in lesson.presets:
                trace = shipped.get(preset.key)
                if trace is None or trace.preset != preset:
                    trace = self._kept.get(preset)
                    if trace is not None:
                        self._kept.move_to_end(preset)
                if trace is not None:
                    found[preset.key] = trace
        return found

    def _keep(self, trace: Trace) -> None:
        read_only(trace)  # shown to every session that asks for it
        with self._lock:
            self._kept[trace.preset] = trace
            self._kept.move_to_end(trace.preset)
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)

    def _finished(self, run: LessonRun) -> None:
        with self._lock:
            self._training.pop(run.lesson.presets, None)
            for session in [s for s, waited in self._waiting.items() if waited is run]:
                del self._waiting[session]


SHIPPED_PATH = core.SHIPPED_TRACES


@st.cache_resource(show_spinner=False)
def _load_shipped(path: str) -> dict[str, Trace]:
    try:
        return core.shipped_traces(path)
    except CheckpointError as exc:  # not fatal: every seed then trains, with its progress bar
        _LOG.warning("the shipped failure-mode runs are not used (%s); Run trains them", exc)
        return {}


def shipped_runs() -> Mapping[str, Trace]:
    """The shipped runs of the default seed that match the presets (loaded once per server)."""
    return _load_shipped(str(SHIPPED_PATH))


@st.cache_resource(show_spinner=False)
def lesson_runs() -> LessonRuns:
    """The server's one LessonRuns."""
    return LessonRuns(shipped_runs)


class Waited(Protocol):  # a training a page waits for: a LessonRun, a tricks TableRun
    def progress(self) -> TrainingProgress: ...
    def wait(self, timeout: float) -> bool: ...


def lesson_traces(lesson: FailureLesson) -> list[Trace] | None:
    """Every run of `lesson`, the failure first: at once when shipped or kept, else after a
    training this page waits for with a progress bar; None (and a note) when this session is
    still training something else."""
    runs = lesson_runs()
    ready = runs.ready(lesson)
    if ready is not None:
        return ready
    try:
        training = runs.start(owner_id(), lesson)
    except StillTraining as exc:
        st.warning(str(exc), icon=":material/hourglass_top:")
        return None
    wait_for(training)
    return training.traces()


def wait_for(training: Waited) -> None:
    """Redraw a progress bar until `training` ends. A rerun stops this script at the bar's next
    update; the worker trains on, and the next run of the page waits for it again."""
    progress = training.progress()
    bar = st.progress(progress.fraction, text=progress_text(progress))
    while not training.wait(PROGRESS_EVERY_S):
        progress = training.progress()
        bar.progress(progress.fraction, text=progress_text(progress))
    bar.empty()


def _press(lesson_key: str, seed: int, runs: dict[str, int]) -> None:
    """Run `lesson_key` from `seed`, unless that needs a training while this session's previous
    one is still going: then the press is ignored, and the page says so."""
    lesson = lesson_for_seed(lesson_key, seed)
    shared = lesson_runs()
    if shared.ready(lesson) is None and shared.busy(owner_id()):
        st.warning(STILL_TRAINING, icon=":material/hourglass_top:")
        return
    runs[lesson_key] = seed


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
    if lesson.measured is not None:
        st.caption(measured_text(lesson))
    runs = RUNS.get()
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    seed = left.number_input(
        "seed",
        min_value=0,
        max_value=SEED_MAX,
        value=runs.get(lesson_key, core.SHIPPED_SEED),
        step=1,
        key=seed_key(lesson_key),
        help="Same seed, same run. Try others: the failure is not a fluke.",
    )
    pressed = right.button("Run the failure and its fix", key=run_key(lesson_key), type="primary")
    with errors_shown():
        if pressed:
            _press(lesson_key, int(seed), runs)
        if lesson_key not in runs:
            st.info(
                f"Press **Run** to see these presets run. Seed {core.SHIPPED_SEED} shows at once; "
                "another seed trains them first (a progress bar shows the time left)."
            )
            return
        lesson = lesson_for_seed(lesson_key, runs[lesson_key])
        traces = lesson_traces(lesson)
        if traces is not None:
            _show_runs(lesson, traces)


MEASURED_WORDS = {
    "ring": ("collapses", "covers the ring (at least 7 of 8 modes)"),
    "line": ("stays stuck", "reaches the data"),
}
"""What the failure and its fix do, by world, as the measured rates say it."""


def measured_text(lesson: FailureLesson) -> str:
    """The lesson's rates on held-out seeds, in words ("collapses in 10 of 10 seeds we tried")."""
    measured = lesson.measured
    assert measured is not None
    fails, fixes = MEASURED_WORDS[lesson.failure.world]
    n, seeds = len(measured.seeds), measured.seeds
    return (
        f"Not a lucky seed: *{lesson.failure.title}* {fails} in {measured.failed} of {n} seeds "
        f"we tried, and the fix {fixes} in {measured.fixed} of {n} (seeds {seeds[0]}–{seeds[-1]}, "
        "which no test and no shipped run uses)."
    )


def _show_runs(lesson: FailureLesson, traces: list[Trace]) -> None:
    for index, trace in enumerate(traces):
        message = f"**{trace.preset.title}**: {verdict(trace)}"
        (st.error if index == 0 else st.success)(message, icon=None)
    if any(isinstance(trace.preset.settings, ToySettings) for trace in traces):
        # one button above each 1-D run's pictures (outside the playback, which it leaves)
        for column, trace in zip(st.columns(len(traces)), traces, strict=True):
            if isinstance(trace.preset.settings, ToySettings):
                with column:
                    _open_in_stepper(trace.preset)
    st.fragment(_playback)(lesson, traces)


def _playback(lesson: FailureLesson, traces: list[Trace]) -> None:
    """The slider and every picture of the runs: moving the slider reruns only this part, and
    the charts are redrawn in place."""
    iterations = [int(i) for i in traces[0].iterations]
    shown = st.select_slider(
        "iteration shown",
        options=iterations,
        value=iterations[-1],
        key=f"failures.frame.{lesson.key}",
        help="Play the runs back: every picture shows the state after this many iterations.",
    )
    frame = iterations.index(shown)
    run_quiz.quiz_panel(lesson, traces, frame)
    columns = st.columns(len(traces))
    for column, trace in zip(columns, traces, strict=True):
        with column:
            st.markdown(f"##### {trace.preset.title}")
            live_chart(_state_figure(trace, frame), key=f"failures.{trace.preset.key}")
    for key, figure in _histories(lesson, traces, shown).items():
        live_chart(figure, key=f"failures.{lesson.key}.{key}")


def _state_figure(trace: Trace, frame: int) -> go.Figure:
    if trace.preset.world == "ring":
        return figures.ring_figure(trace, frame)
    readout = trace.frames[frame].readout
    assert readout is not None
    return densities_figure(readout)


def _open_in_stepper(preset: Preset) -> None:
    if st.button(
        "Step through it by hand",
        key=f"failures.open.{preset.key}",
        icon=":material/open_in_new:",
        help=f"Opens “{preset.title}” on the 1-D GAN page, replacing your experiment there.",
    ):
        assert isinstance(preset.settings, ToySettings)
        experiment.open_experiment(preset.settings, preset.key)


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
