"""Presets and their runs: a `Preset` is the settings of a world plus a number of iterations;
`run_preset` trains it from scratch and returns a `Trace` of evenly spaced frames (samples, D's
outputs, G's gradient norm) that the page plays back. A `FailureLesson` pairs one failing preset
with the presets that fix it, and `verdict` says in one line what a run ended as."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from playground.failures.ring import RingGAN, RingSettings, RingSource, mode_centers, mode_coverage
from playground.gan import StepRecord
from playground.toy import Readout, ToyGAN, ToySettings, single_threaded

World = RingSettings | ToySettings


@dataclass(frozen=True)
class Preset:
    """One reproducible experiment: the settings of a world and how long to train it."""

    key: str
    title: str
    settings: World
    iterations: int
    change: str = ""  # what differs from the failing preset, in words ("" for the failure)

    @property
    def world(self) -> str:
        return "ring" if isinstance(self.settings, RingSettings) else "line"

    def with_seed(self, seed: int) -> Preset:
        """The same experiment from another seed (validated: a clear error if out of range)."""
        settings = replace(self.settings, seed=seed)
        return replace(self, settings=settings.validate())


@dataclass(frozen=True)
class Frame:
    """The state after `iteration` training iterations."""

    iteration: int
    numbers: dict[str, float]
    samples: np.ndarray | None = None  # ring: G's samples (n, 2)
    readout: Readout | None = None  # line: everything the 1-D density figure draws


@dataclass(frozen=True)
class Trace:
    """A preset's run as evenly spaced frames (frame 0 = the untrained GAN)."""

    preset: Preset
    frames: tuple[Frame, ...]
    centers: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def iterations(self) -> np.ndarray:
        return np.array([f.iteration for f in self.frames])

    def series(self, name: str) -> np.ndarray:
        """One number over the frames (NaN where a frame did not measure it)."""
        return np.array([f.numbers.get(name, math.nan) for f in self.frames], dtype=np.float64)

    def late(self, name: str) -> np.ndarray:
        """`series(name)` over the second half of the frames: where a run has settled (or not)."""
        values = self.series(name)
        return values[len(values) // 2 :]

    @property
    def last(self) -> Frame:
        return self.frames[-1]


def _ring_numbers(gan: RingGAN, samples: np.ndarray, record: StepRecord | None) -> dict[str, float]:
    coverage = mode_coverage(samples, gan.settings)
    real, _ = RingSource(gan.settings, torch.Generator().manual_seed(0)).real()
    numbers = {
        "modes_covered": float(coverage.covered),
        "on_mode": coverage.quality,
        "d_real": float(gan.d_outputs(real.double().numpy()).mean()),
        "d_fake": float(gan.d_outputs(samples).mean()),
    }
    if record is not None:
        numbers["g_grad_norm"] = float(record.g_grad_norm or 0.0)
    return numbers


FrameDone = Callable[[int, int], None]
"""Told (iterations trained so far, iterations in all) after each recorded frame: how a caller
shows progress while `run_preset` trains."""


def _run_ring(preset: Preset, frames: int, on_frame: FrameDone | None) -> Trace:
    settings = preset.settings
    assert isinstance(settings, RingSettings)
    gan = RingGAN(settings)

    def capture(iteration: int, record: StepRecord | None) -> Frame:
        samples = gan.samples()
        return Frame(iteration, _ring_numbers(gan, samples, record), samples=samples)

    shown = _frames(preset.iterations, frames, gan.run, capture, on_frame)
    return Trace(preset, shown, centers=mode_centers(settings))


def _line_numbers(readout: Readout, record: StepRecord | None) -> dict[str, float]:
    m = readout.measures
    numbers = {
        "fake_mean": m.fake_mean,
        "fake_std": m.fake_std,
        "js": m.js,
        "d_real": m.d_real,
        "d_fake": m.d_fake,
    }
    if record is not None:
        numbers["g_grad_norm"] = float(record.g_grad_norm or 0.0)
    return numbers


def _run_line(preset: Preset, frames: int, on_frame: FrameDone | None) -> Trace:
    settings = preset.settings
    assert isinstance(settings, ToySettings)
    gan = ToyGAN(settings)

    def train(iterations: int) -> StepRecord:
        with single_threaded():
            return gan.stepper.run(iterations, settings.k_d)

    def capture(iteration: int, record: StepRecord | None) -> Frame:
        readout = gan.readout()
        return Frame(iteration, _line_numbers(readout, record), readout=readout)

    return Trace(preset, _frames(preset.iterations, frames, train, capture, on_frame))


def _frames(
    iterations: int,
    frames: int,
    train: Callable[[int], StepRecord],
    capture: Callable[[int, StepRecord | None], Frame],
    on_frame: FrameDone | None = None,
) -> tuple[Frame, ...]:
    """The untrained state, then `train` up to each frame's iteration count and `capture` it."""
    shown = [capture(0, None)]
    for iteration in frame_iterations(iterations, frames):
        record = train(iteration - shown[-1].iteration)
        shown.append(capture(iteration, record))
        if on_frame is not None:
            on_frame(iteration, iterations)
    return tuple(shown)


def frame_iterations(iterations: int, frames: int) -> list[int]:
    """`frames` distinct iteration counts spread evenly over (0, iterations], ending at it."""
    points = np.linspace(0, iterations, frames + 1)[1:]
    return sorted({max(1, round(p)) for p in points})


DEFAULT_FRAMES = 30


def run_preset(
    preset: Preset, frames: int = DEFAULT_FRAMES, on_frame: FrameDone | None = None
) -> Trace:
    """Train `preset` from scratch and record `frames` evenly spaced frames (plus the start);
    `on_frame`, if given, hears of each frame as it is recorded."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if preset.world == "ring":
        return _run_ring(preset, frames, on_frame)
    return _run_line(preset, frames, on_frame)


@dataclass(frozen=True)
class Robustness:
    """How often a lesson holds on seeds no test and no shipped run uses: the failing preset
    ended as it should in `failed` of the seeds, every fix in `fixed` of them."""

    seeds: tuple[int, ...]
    failed: int
    fixed: int


@dataclass(frozen=True)
class FailureLesson:
    """One way GAN training fails: the failing preset and the presets that fix it, and how
    often that held on held-out seeds (measured by a slow test, which keeps it true)."""

    key: str
    title: str
    symptom: str
    cause: str
    failure: Preset
    fixes: tuple[Preset, ...]
    measured: Robustness | None = None

    @property
    def presets(self) -> tuple[Preset, ...]:
        return (self.failure, *self.fixes)

    def with_seed(self, seed: int) -> FailureLesson:
        """Every preset of the lesson from `seed`."""
        return replace(
            self,
            failure=self.failure.with_seed(seed),
            fixes=tuple(p.with_seed(seed) for p in self.fixes),
        )


COLLAPSED = "collapsed"
COVERS = "covers the ring"
PARTLY = "covers part of the ring"
REACHED = "reached the data"
STUCK = "stuck far from the data"
FAILED_STATES = {"ring": COLLAPSED, "line": STUCK}
"""What a failing preset must end as, by world."""
FIXED_STATES = {"ring": COVERS, "line": REACHED}
"""What a fix must end as, by world."""


def outcome(trace: Trace) -> str:
    """What the run ended as, in the lesson's words.

    Ring: "collapsed" when it covered at most a quarter of the modes on average over the second
    half of the run, "covers the ring" when it covered all but at most one (7 of 8: the
    published unrolled GAN reaches 7.6), else "covers part of the ring". Line: "reached the
    data" when the fakes' last mean is within half a data std of the data's mean.
    """
    settings = trace.preset.settings
    if isinstance(settings, RingSettings):
        modes = trace.late("modes_covered").mean()
        if modes <= settings.modes / 4:
            return COLLAPSED
        return COVERS if modes >= settings.modes - 1 else PARTLY
    gap = abs(trace.last.numbers["fake_mean"] - settings.real_mean)
    return REACHED if gap < 0.5 * settings.real_std else STUCK


def held(lesson: FailureLesson, traces: list[Trace]) -> tuple[bool, bool]:
    """(the failing preset failed as taught, every fix worked) for one seed's runs of `lesson`."""
    world = lesson.failure.world
    failed = outcome(traces[0]) == FAILED_STATES[world]
    fixed = all(outcome(trace) == FIXED_STATES[world] for trace in traces[1:])
    return failed, fixed


def verdict(trace: Trace) -> str:
    """One line saying what the run ended as, from its numbers."""
    last = trace.last.numbers
    settings = trace.preset.settings
    state = outcome(trace)
    if trace.preset.world == "ring":
        assert isinstance(settings, RingSettings)
        late = trace.late("modes_covered")
        return (
            f"{state}: {late.mean():.1f} of {settings.modes} modes covered on average over the "
            f"second half of the run (now {int(last['modes_covered'])}, with "
            f"{last['on_mode']:.0%} of samples on a mode)"
        )
    assert isinstance(settings, ToySettings)
    moved = abs(last["fake_mean"] - trace.frames[0].numbers["fake_mean"])
    return (
        f"{state}: fakes' mean {last['fake_mean']:.2f} (data {settings.real_mean:g}), moved "
        f"{moved:.2f}; D(G(z)) = {last['d_fake']:.3f}, G's gradient norm "
        f"{last.get('g_grad_norm', math.nan):.1e}"
    )
