"""The Tricks tab of the failure-modes page: the collapsing ring of eight beside each training trick,
over ten seeds, as a table and a chart of modes covered.

The default seeds' table ships with the app (`playground.failures.shipped_tricks_table`) and shows
at once. Other seeds are measured in a worker thread, one run at a time through the page's
training slots, while the page shows a progress bar; tables are deterministic given the seeds, so
the server keeps them (`TableRuns`) and a cohort asking for the same seeds measures them once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

import streamlit as st

from playground.checkpoints import CheckpointError
from playground.failures import (
    BASELINE,
    SHIPPED_TRICKS,
    TRICK_PRESETS,
    TRICKS_SEEDS,
    Preset,
    TrickResult,
    measure_tricks,
    shipped_tricks_table,
    table_iterations,
)
from playground.figures.failures import tricks_figure
from playground.ui.failures import (
    SEED_MAX,
    TRAINING_SLOTS,
    StillTraining,
    TrainingProgress,
    wait_for,
)
from playground.ui.layout import errors_shown
from playground.ui.live_chart import live_chart
from playground.ui.state import SessionValue, owner_id

_LOG = logging.getLogger(__name__)

Seeds = tuple[int, ...]
ASKED: SessionValue[Seeds | None] = SessionValue("tricks.seeds", lambda: None)
"""The seeds this session last pressed Measure for (None: no press yet, the shipped table)."""
MEASURE = "tricks.measure"
"""Key of the Measure button (tests press it by key)."""
FIRST_SEED, SEED_COUNT = "tricks.first_seed", "tricks.seed_count"
COVERED_AT_LEAST = 7
"""A run "covers the ring" with at least 7 of the 8 modes covered on average (the published
unrolled GAN reaches 7.6)."""

PUBLISHED = (
    "For comparison, the published numbers on a ring of eight Gaussians: a plain GAN finds about "
    "**1** of the 8 modes, unrolled GANs **7.6**, VEEGAN **8** (Srivastava et al. 2017, table 1) "
    "and PacGAN2 **7.9** (Lin et al. 2018). Their networks, run lengths and test of a covered "
    "mode differ from ours: compare the pattern, not the digits."
)


class TableRun:
    """The tricks table of some seeds, measured one run after the other in a worker thread;
    progress and the result are read under a lock from any thread."""

    def __init__(
        self,
        seeds: Seeds,
        presets: tuple[Preset, ...],
        slots: threading.BoundedSemaphore,
        clock: Callable[[], float],
    ) -> None:
        self.seeds, self.presets = seeds, presets
        self._slots, self._clock = slots, clock
        self._total = table_iterations(seeds, presets)
        self._lock = threading.Lock()
        self._done, self._training = 0, ""
        self._seconds = 0.0  # measuring seconds up to the last progress report
        self._heard_at: float | None = None  # when that report came
        self._results: list[TrickResult] = []
        self._error: Exception | None = None
        self._finished = threading.Event()

    def start(self, on_finish: Callable[[TableRun], None]) -> None:
        def work() -> None:
            try:
                self._measure()
            except Exception as exc:  # a bug: kept for the page that waits, which raises it
                self._error = exc
            finally:
                on_finish(self)
                self._finished.set()

        threading.Thread(target=work, name="tricks-table", daemon=True).start()

    def progress(self) -> TrainingProgress:
        with self._lock:
            since = 0.0 if self._heard_at is None else self._clock() - self._heard_at
            return TrainingProgress(self._done, self._total, self._seconds, since, self._training)

    def wait(self, timeout: float) -> bool:
        return self._finished.wait(timeout)

    @property
    def error(self) -> Exception | None:
        """What the measuring raised, if it did."""
        return self._error

    def results(self) -> list[TrickResult]:
        """The table, the baseline first; raises what the measuring raised, if anything."""
        if self._error is not None:
            raise self._error
        return list(self._results)

    def _measure(self) -> None:
        for preset in self.presets:
            parts = [self._one(preset, seed) for seed in self.seeds]
            modes = tuple(m for part in parts for m in part.modes)
            on_mode = tuple(q for part in parts for q in part.on_mode)
            self._results.append(TrickResult(preset, self.seeds, modes, on_mode))

    def _one(self, preset: Preset, seed: int) -> TrickResult:
        """One run, in one of the server's training slots (waiting for one is not counted)."""
        with self._slots:
            with self._lock:
                started, base, seconds = self._clock(), self._done, self._seconds
                self._heard_at, self._training = started, f"{preset.title}, seed {seed}"

            def heard(done: int, _total: int) -> None:
                with self._lock:
                    self._heard_at = self._clock()
                    self._done = base + done
                    self._seconds = seconds + self._heard_at - started

            result = measure_tricks([seed], [preset], heard)[0]
            with self._lock:
                self._training = ""
            return result


class TableRuns:
    """The server's tricks tables (thread-safe): the shipped one, the last few measured, the
    ones measuring now and the one each session waits for (one at a time per session)."""

    def __init__(
        self,
        shipped: Callable[[], Mapping[str, TrickResult]],
        presets: tuple[Preset, ...] = TRICK_PRESETS,
        slots: threading.BoundedSemaphore = TRAINING_SLOTS,
        capacity: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shipped, self.presets = shipped, presets
        self._slots, self._capacity, self._clock = slots, capacity, clock
        self._lock = threading.Lock()
        self._kept: OrderedDict[Seeds, list[TrickResult]] = OrderedDict()
        self._measuring: dict[Seeds, TableRun] = {}
        self._waiting: dict[str, TableRun] = {}

    def ready(self, seeds: Seeds) -> list[TrickResult] | None:
        """The whole table of `seeds` if it is shipped or kept, else None."""
        if seeds == TRICKS_SEEDS:
            shipped = self._shipped()
            if all(p.key in shipped for p in self.presets):
                return [shipped[p.key] for p in self.presets]
        with self._lock:
            table = self._kept.get(seeds)
            if table is not None:
                self._kept.move_to_end(seeds)
            return table

    def start(self, session: str, seeds: Seeds) -> TableRun:
        """The measuring of `seeds`: the one `session` waits for, another session's of the same
        seeds, or a new one. StillTraining when `session` waits for other seeds."""
        with self._lock:
            mine = self._waiting.get(session)
            if mine is not None and mine.seeds != seeds:
                raise StillTraining()
            run = self._measuring.get(seeds)
            if run is None:
                run = TableRun(seeds, self.presets, self._slots, self._clock)
                self._measuring[seeds] = run
                run.start(self._finished)
            self._waiting[session] = run
            return run

    def _finished(self, run: TableRun) -> None:
        with self._lock:
            self._measuring.pop(run.seeds, None)
            for session in [s for s, waited in self._waiting.items() if waited is run]:
                del self._waiting[session]
            if run.error is None:
                self._kept[run.seeds] = run.results()
                while len(self._kept) > self._capacity:
                    self._kept.popitem(last=False)


@st.cache_resource(show_spinner=False)
def _load_shipped(path: str) -> dict[str, TrickResult]:
    try:
        return shipped_tricks_table(path)
    except CheckpointError as exc:  # not fatal: the default seeds then measure like any others
        _LOG.warning("the shipped tricks table is not used (%s); it is measured instead", exc)
        return {}


@st.cache_resource(show_spinner=False)
def table_runs() -> TableRuns:
    """The server's one TableRuns."""
    return TableRuns(lambda: _load_shipped(str(SHIPPED_TRICKS)))


def tricks_panel() -> None:
    """What the tab teaches, the seeds and Measure controls, then the table and its chart."""
    st.markdown(
        "Mode collapse is the failure the tricks of the trade were invented against. Here the "
        f"collapsing ring of the first tab (*{BASELINE.title}*) runs again with **one trick** "
        "switched on at a time, each from ten seeds, and we count the modes its samples cover "
        "(the mean over the second half of each run). Everything else stays the collapsing "
        "run's, G still learning ten times faster than D: a trick must undo the collapse on its "
        "own. The same switches are in the 1-D stepper's settings and in the MNIST training "
        "form.\n\n" + PUBLISHED
    )
    left, middle, right = st.columns([1, 1, 2], vertical_alignment="bottom")
    first = left.number_input("first seed", 0, SEED_MAX - 9, TRICKS_SEEDS[0], key=FIRST_SEED)
    count = middle.number_input("seeds", 1, 10, len(TRICKS_SEEDS), key=SEED_COUNT)
    if right.button("Measure the tricks on these seeds", key=MEASURE, type="primary"):
        ASKED.set(tuple(range(int(first), int(first) + int(count))))
    seeds = ASKED.get()
    with errors_shown():
        results = _table(seeds) if seeds is not None else table_runs().ready(TRICKS_SEEDS)
        if results is None and seeds is None:
            st.info(
                f"Press **Measure** to run every trick from seeds {TRICKS_SEEDS[0]}–"
                f"{TRICKS_SEEDS[-1]} (a progress bar shows the time left).",
                icon=":material/science:",
            )
        elif results is not None:
            _show(results)


def _table(seeds: Seeds) -> list[TrickResult] | None:
    runs = table_runs()
    ready = runs.ready(seeds)
    if ready is not None:
        return ready
    try:
        run = runs.start(owner_id(), seeds)
    except StillTraining as exc:
        st.warning(str(exc), icon=":material/hourglass_top:")
        return None
    wait_for(run)
    return run.results()


def _show(results: list[TrickResult]) -> None:
    seeds = results[0].seeds
    named = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"
    st.markdown(f"**Measured on {named}** ({len(seeds)} runs per row).")
    st.dataframe(
        {
            "trick": [r.preset.title for r in results],
            "what changes": [r.preset.change or "nothing: the collapsing ring" for r in results],
            "modes covered (mean)": [round(r.mean_modes, 2) for r in results],
            f"seeds with ≥ {COVERED_AT_LEAST} of 8": [
                f"{r.covering(COVERED_AT_LEAST)} of {len(r.modes)}" for r in results
            ],
            "samples on a mode": [f"{r.mean_on_mode:.0%}" for r in results],
        },
        hide_index=True,
        width="stretch",
    )
    live_chart(tricks_figure(results), key="failures.tricks.chart")
    st.markdown(reading(results))


def reading(results: list[TrickResult]) -> str:
    """What the table says, from its numbers: which tricks cover the ring (at least 7 modes on
    average), which leave it collapsed (at most 2), which help partly."""
    groups: dict[str, list[str]] = {"cover": [], "collapsed": [], "partly": []}
    for result in results[1:]:
        mean = result.mean_modes
        group = "cover" if mean >= COVERED_AT_LEAST else "collapsed" if mean <= 2 else "partly"
        groups[group].append(f"*{result.preset.title}* ({mean:.1f})")
    parts = [
        f"{', '.join(groups['cover'])} spread G over the ring" if groups["cover"] else "",
        f"{', '.join(groups['partly'])} cover part of it" if groups["partly"] else "",
        f"{', '.join(groups['collapsed'])} leave it collapsed" if groups["collapsed"] else "",
    ]
    said = "; ".join(part for part in parts if part)
    return f"**What these seeds show.** {said}." if said else ""
