"""The failure-modes page through the real navigation: Run shows the core's verdicts and figures
(the default seed's from the shipped file, without training), the results survive a visit to
another page, a 1-D preset opens in the stepper, and a session trains one thing at a time."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from playground.failures import (
    DEFAULT_FRAMES,
    LESSONS,
    FailureLesson,
    Frame,
    Preset,
    Trace,
    lesson_for_seed,
    run_preset,
    save_traces,
    shipped_traces,
    stepper_params,
    verdict,
)
from playground.ui import failures, stepper
from playground.ui.failures import LessonRun, LessonRuns, StillTraining, TrainingProgress
from tests.app.conftest import live_charts, open_page

PAGE = "failure_modes.py"


def run_lesson(at: AppTest, key: str, seed: int | None = None) -> AppTest:
    if seed is not None:
        at.number_input(key=failures.seed_key(key)).set_value(seed)
    at.button(key=failures.run_key(key)).click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    return at


def verdicts(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [s.value for s in at.success]


def test_the_page_offers_every_lesson_and_trains_nothing_before_run() -> None:
    at = open_page(PAGE)
    assert not at.exception
    assert [t.label for t in at.tabs] == [lesson.title for lesson in LESSONS.values()] + ["Tricks"]
    assert len(at.info) == len(LESSONS)
    assert len(live_charts(at)) == 1  # the Tricks tab's shipped table: measured, not trained now
    text = " ".join(m.value for m in at.markdown)
    assert "*digits covered*" in text and "classes covered" not in text  # the MNIST page's words


@pytest.mark.slow
def test_run_shows_the_cores_verdicts_and_survives_a_page_switch() -> None:
    at = run_lesson(open_page(PAGE), "vanishing_gradients", seed=2)
    lesson = lesson_for_seed("vanishing_gradients", 2)
    expected = [f"**{p.title}**: {verdict(run_preset(p))}" for p in lesson.presets]
    assert verdicts(at) == expected
    assert len(live_charts(at)) == 2 + 3 + 1  # one state per run + three histories + Tricks tab
    at.switch_page("../pages/bce_loss.py").run()
    at.switch_page(f"../pages/{PAGE}").run()
    assert not at.exception
    assert verdicts(at) == expected  # no new press needed


def test_mode_collapse_runs_show_the_ring_for_each_run() -> None:
    at = run_lesson(open_page(PAGE), "mode_collapse")
    texts = verdicts(at)
    assert texts[0].startswith(f"**{LESSONS['mode_collapse'].failure.title}**: collapsed")
    assert "covers" in texts[1]
    assert len(live_charts(at)) == 2 + 2 + 1  # and the Tricks tab's chart
    at.select_slider(key="failures.frame.mode_collapse").set_value(0).run()
    assert not at.exception


def test_step_through_by_hand_opens_the_preset_in_the_stepper() -> None:
    at = run_lesson(open_page(PAGE), "vanishing_gradients")
    at.button(key="failures.open.vanishing_gradients").click().run()
    assert not at.exception
    preset = LESSONS["vanishing_gradients"].failure
    assert dict(at.query_params) == {**stepper_params(preset), "preset": preset.key}
    assert at.session_state[stepper.GAN.key].settings == preset.settings
    assert {m.label: m.value for m in at.metric}["G updates"] == "0"
    title = LESSONS["vanishing_gradients"].title
    expected = f"This is the preset “{title}: {preset.title}” (seed {preset.settings.seed})."
    assert at.info[0].value == expected, "the stepper says which preset it is"


# -- the shipped runs, and training when they cannot be used -------------------------------------


@pytest.fixture
def fresh_runs(monkeypatch: pytest.MonkeyPatch) -> LessonRuns:
    """This test's own LessonRuns: nothing another test trained is kept in it."""
    runs = LessonRuns(failures.shipped_runs)
    monkeypatch.setattr(failures, "lesson_runs", lambda: runs)
    return runs


def test_the_first_run_of_the_default_seed_shows_the_shipped_runs_without_training(
    monkeypatch: pytest.MonkeyPatch, fresh_runs: LessonRuns
) -> None:
    def no_training(*args: object, **kwargs: object) -> Trace:
        raise AssertionError("the default seed trained instead of showing the shipped runs")

    monkeypatch.setattr(failures, "run_preset", no_training)
    shipped = shipped_traces()
    for key, lesson in LESSONS.items():
        at = run_lesson(open_page(PAGE), key)
        assert verdicts(at) == [f"**{p.title}**: {verdict(shipped[p.key])}" for p in lesson.presets]
        assert not at.get("progress")


def shortened(monkeypatch: pytest.MonkeyPatch, iterations: int) -> FailureLesson:
    """The 1-D lesson with its presets cut to `iterations` (cheap to train) for this test."""
    lesson = LESSONS["vanishing_gradients"]
    presets = [replace(p, iterations=iterations) for p in lesson.presets]
    short = replace(lesson, failure=presets[0], fixes=tuple(presets[1:]))
    monkeypatch.setitem(LESSONS, lesson.key, short)
    return short


@pytest.mark.slow
@pytest.mark.parametrize("case", ["usable", "missing", "corrupt", "outdated"])
def test_a_missing_corrupt_or_outdated_runs_file_means_training_never_a_crash(
    case: str, tmp_path, monkeypatch: pytest.MonkeyPatch, fresh_runs: LessonRuns
) -> None:
    made_for = shortened(monkeypatch, 30)
    path = tmp_path / "failure_traces.safetensors"
    save_traces(path, [run_preset(p) for p in made_for.presets], seed=0)
    if case == "missing":
        path = tmp_path / "absent.safetensors"
    elif case == "corrupt":
        path.write_bytes(path.read_bytes()[:5000])
    lesson = shortened(monkeypatch, 32) if case == "outdated" else made_for
    monkeypatch.setattr(failures, "SHIPPED_PATH", path)
    trained: list[str] = []

    def counted(preset: Preset, *args: object, **kwargs: object) -> Trace:
        trained.append(preset.key)
        return run_preset(preset, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(failures, "run_preset", counted)
    at = run_lesson(open_page(PAGE), lesson.key)
    assert verdicts(at) == [f"**{p.title}**: {verdict(run_preset(p))}" for p in lesson.presets]
    assert trained == ([] if case == "usable" else [p.key for p in lesson.presets])


# -- one training at a time per session, two in the server ---------------------------------------


class BlockedTraining:
    """Stands in for run_preset: records who trains, holds each training until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.active = 0
        self.most_at_once = 0

    def __call__(self, preset: Preset, frames: int = DEFAULT_FRAMES, on_frame=None) -> Trace:
        with self.lock:
            self.started.append(f"{preset.key}@{preset.settings.seed}")
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        try:
            assert self.release.wait(30), "never released"
        finally:
            with self.lock:
                self.active -= 1
        return Trace(preset, (Frame(0, {}),))

    def wait_for_active(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.active != count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.active == count


def test_one_session_drives_one_training_at_a_time_and_the_server_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    training = BlockedTraining()
    monkeypatch.setattr(failures, "run_preset", training)
    runs = LessonRuns(lambda: {}, slots=threading.BoundedSemaphore(2))  # nothing shipped
    collapse, vanishing = (
        lesson_for_seed("mode_collapse", 5),
        lesson_for_seed("vanishing_gradients", 5),
    )
    # two script threads of one session press Run at the same moment, on the two tabs
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def press(lesson: FailureLesson) -> None:
        barrier.wait()
        try:
            outcomes.append(runs.start("session:a", lesson))
        except StillTraining as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=press, args=(lesson,)) for lesson in (collapse, vanishing)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["LessonRun", "StillTraining"]
    training.wait_for_active(1)
    assert runs.busy("session:a") and not runs.busy("session:b")
    first = next(o for o in outcomes if isinstance(o, LessonRun))
    assert runs.start("session:a", first.lesson) is first  # the same press again: same training
    # other sessions: one more trains, the next waits for one of the server's two slots
    others = [
        runs.start(f"session:{s}", lesson_for_seed("mode_collapse", seed))
        for s, seed in (("b", 6), ("c", 7))
    ]
    training.wait_for_active(2)
    time.sleep(0.2)
    assert training.active == 2 and len(training.started) == 2
    assert others[1].progress().training == ""  # waiting for a slot, and the bar says so
    training.release.set()
    for run in (first, *others):
        assert run.wait(30)
    assert training.most_at_once == 2
    assert not runs.busy("session:a")
    assert len(training.started) == 3 * 2  # three lessons of two presets each, each trained once


def test_a_press_while_this_session_still_trains_is_ignored_and_said_so(
    monkeypatch: pytest.MonkeyPatch, fresh_runs: LessonRuns
) -> None:
    training = BlockedTraining()
    monkeypatch.setattr(failures, "run_preset", training)
    at = open_page(PAGE)
    at.session_state["owner.session_id"] = "press-test"
    earlier = fresh_runs.start("browser:press-test", lesson_for_seed("mode_collapse", 5))
    training.wait_for_active(1)
    run_lesson(at, "vanishing_gradients", seed=5)
    assert [w.value for w in at.warning] == [failures.STILL_TRAINING]
    assert training.started == ["mode_collapse@5"]  # no second training
    assert "vanishing_gradients" not in at.session_state[failures.RUNS.key]
    run_lesson(at, "vanishing_gradients", seed=0)  # shipped: shown at once, even now
    assert verdicts(at)[0].startswith(f"**{LESSONS['vanishing_gradients'].failure.title}**")
    assert not at.warning
    training.release.set()
    assert earlier.wait(30)


def test_the_progress_bar_estimates_the_time_left_from_the_time_per_iteration_so_far() -> None:
    lesson = lesson_for_seed("vanishing_gradients", 5)
    lesson = replace(
        lesson,
        failure=replace(lesson.failure, iterations=400),
        fixes=tuple(replace(p, iterations=400) for p in lesson.fixes),
    )
    now = [0.0]
    halfway, go_on = threading.Event(), threading.Event()

    def two_seconds_per_200_iterations(preset: Preset, frames: int, on_frame) -> Trace:
        for done in (100, 200, 300, 400):
            now[0] += 1.0
            on_frame(done, preset.iterations)
            if done == 200 and preset == lesson.failure:
                halfway.set()
                assert go_on.wait(30)
        return Trace(preset, (Frame(0, {}),))

    kept: list[Trace] = []
    run = LessonRun(lesson, {}, threading.BoundedSemaphore(1), kept.append, clock=lambda: now[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(failures, "run_preset", two_seconds_per_200_iterations)
        run.start(lambda finished: None)
        assert halfway.wait(30)
        progress = run.progress()
        assert (progress.done, progress.total, progress.seconds) == (200, 800, 2.0)
        assert progress.seconds_left == pytest.approx(600 * 2.0 / 200)
        assert failures.progress_text(progress) == (
            f"Training *{lesson.failure.title}*: 25% done, about 6 s left"
        )
        now[0] += 2.5  # no frame for 2.5 s: the estimate counts down
        assert run.progress().seconds_left == pytest.approx(3.5)
        go_on.set()
        assert run.wait(30)
    assert [t.preset for t in run.traces()] == list(lesson.presets) == [t.preset for t in kept]
    assert run.progress().fraction == 1.0
    unmeasured = TrainingProgress(0, 800, 0.0, 0.0, "x")
    assert unmeasured.seconds_left is None
    assert "estimating the time left" in failures.progress_text(unmeasured)
    assert "Waiting for a free training slot" in failures.progress_text(
        replace(unmeasured, training="")
    )
