"""How GAN training fails, each failure reproducible from a preset, with its fix run beside it.

Two toy worlds, both trained through the one step API (`playground.gan.GANStepper`):

- a 2-D **ring** of Gaussian modes (`RingGAN`, here), where a generator that outruns its
  discriminator collapses onto one mode and hops between modes instead of covering them all;
- the **1-D Gaussian GAN** of the stepper page (`playground.toy.ToyGAN`), where a discriminator
  trained far ahead of G makes the minimax generator loss log(1 - D(G(z))) flat: its gradient
  d/dlogit = -D(G(z)) vanishes as D(G(z)) -> 0 and G stops moving, while the non-saturating loss
  -log D(G(z)) keeps a gradient of 1 - D(G(z)) ~ 1 (Goodfellow et al., 2014, section 3).

A `Preset` is settings plus a number of iterations; `run_preset` trains it and returns a `Trace`
of evenly spaced frames (samples, D's outputs, G's gradient norm) that the page plays back. A
`FailureLesson` pairs one failing preset with the presets that fix it, which differ from it in
only the settings the lesson names.

Every preset's run from the default seed ships in trained_models/failure_traces.safetensors (the
project's checkpoint format), so a lecture's first Run shows at once; `python -m
playground.failures ship` rebuilds that file with `run_preset` itself.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from playground.checkpoints import (
    SHIPPED_DIR,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    update_manifest,
)
from playground.gan import GANStepper, StepRecord
from playground.losses import G_LOSSES
from playground.seeds import TOY_BATCHES, TOY_EVALUATION, TOY_INIT, stream_seed
from playground.settings import check_fields
from playground.toy import (
    Measures,
    Readout,
    ToyGAN,
    ToySettings,
    ToySettingsError,
    seeded_linear,
    single_threaded,
)

# -- the ring of modes -------------------------------------------------------------------------


class RingSettingsError(ValueError):
    """A ring-GAN setting outside its allowed range (the message names the field and the range)."""


RING_RANGES: dict[str, tuple[float, float]] = {
    "modes": (2, 16),
    "radius": (0.5, 10.0),
    "mode_std": (0.01, 1.0),
    "noise_dim": (1, 64),
    "hidden": (8, 256),
    "lr_d": (1e-5, 0.1),
    "lr_g": (1e-5, 0.1),
    "beta1": (0.0, 0.999),
    "beta2": (0.0, 0.9999),
    "batch_size": (8, 1024),
    "k_d": (1, 20),
    "seed": (0, 2**31 - 1),
}
RING_CHOICES: dict[str, tuple[str, ...]] = {"g_loss": G_LOSSES}


@dataclass(frozen=True)
class RingSettings:
    """A GAN on a ring of `modes` Gaussians N(c_k, mode_std^2 I), c_k on a circle of `radius`."""

    modes: int = 8
    radius: float = 2.0
    mode_std: float = 0.1
    noise_dim: int = 2
    hidden: int = 128  # width of both hidden layers of G and of D
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 256
    k_d: int = 1
    g_loss: str = "nonsaturating"
    seed: int = 0

    def validate(self) -> RingSettings:
        """Return self, or raise RingSettingsError naming the first bad field and its range."""
        check_fields(self, RING_RANGES, RING_CHOICES, RingSettingsError)
        return self


def mode_centers(settings: RingSettings) -> np.ndarray:
    """The modes' centres c_k = radius (cos 2 pi k / K, sin 2 pi k / K), shape (K, 2)."""
    angle = np.arange(settings.modes) * 2.0 * math.pi / settings.modes
    return settings.radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


class RingSource:
    """The BatchSource of the ring GAN: x = c_k + mode_std * eps with k uniform, and z ~ N(0, I)."""

    def __init__(self, settings: RingSettings, generator: torch.Generator) -> None:
        self.settings = settings
        self.generator = generator
        self.centers = torch.tensor(mode_centers(settings), dtype=torch.float32)

    def real(self) -> tuple[Tensor, None]:
        s = self.settings
        k = torch.randint(0, s.modes, (s.batch_size,), generator=self.generator)
        eps = torch.randn(s.batch_size, 2, generator=self.generator)
        return self.centers[k] + s.mode_std * eps, None

    def noise(self) -> tuple[Tensor, None]:
        s = self.settings
        return torch.randn(s.batch_size, s.noise_dim, generator=self.generator), None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["rng"])


def _mlp(fan_in: int, hidden: int, fan_out: int, generator: torch.Generator) -> nn.Sequential:
    return nn.Sequential(
        seeded_linear(fan_in, hidden, generator), nn.ReLU(),
        seeded_linear(hidden, hidden, generator), nn.ReLU(),
        seeded_linear(hidden, fan_out, generator),
    )  # fmt: skip


QUALITY_STDS = 3.0
"""A sample is *on* a mode when it lies within 3 mode_std of the mode's centre."""

COVERED_SHARE = 0.25
"""A mode is covered when at least a quarter of its fair share 1/K of the samples lies on it."""


@dataclass(frozen=True)
class Coverage:
    """Which modes a batch of samples covers.

    shares[k] = fraction of all samples on mode k; quality = fraction on any mode.
    """

    covered: int
    shares: np.ndarray
    quality: float


def mode_coverage(samples: np.ndarray, settings: RingSettings) -> Coverage:
    """Modes covered by `samples` (n, 2): mode k counts when share_k >= COVERED_SHARE / K."""
    centers = mode_centers(settings)
    distance = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)
    on_mode = distance.min(axis=1) <= QUALITY_STDS * settings.mode_std
    counts = np.bincount(nearest[on_mode], minlength=settings.modes)
    shares = counts / max(len(samples), 1)
    covered = int((shares >= COVERED_SHARE / settings.modes).sum())
    return Coverage(covered=covered, shares=shares, quality=float(on_mode.mean()))


class RingGAN:
    """A GAN on the ring of modes, trained through GANStepper, read out on fixed noise."""

    EVAL_SAMPLES = 1000

    def __init__(self, settings: RingSettings) -> None:
        self.settings = settings.validate()
        init = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_INIT))
        generator = _mlp(settings.noise_dim, settings.hidden, 2, init)
        discriminator = _mlp(2, settings.hidden, 1, init)
        betas = (settings.beta1, settings.beta2)
        self.source = RingSource(
            settings, torch.Generator().manual_seed(stream_seed(settings.seed, TOY_BATCHES))
        )
        self.stepper = GANStepper(
            generator,
            discriminator,
            g_opt=torch.optim.Adam(generator.parameters(), lr=settings.lr_g, betas=betas),
            d_opt=torch.optim.Adam(discriminator.parameters(), lr=settings.lr_d, betas=betas),
            source=self.source,
            g_loss=settings.g_loss,
        )
        evaluation = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_EVALUATION))
        self.eval_noise = torch.randn(self.EVAL_SAMPLES, settings.noise_dim, generator=evaluation)

    def run(self, iterations: int) -> StepRecord:
        """`iterations` training iterations of k_d D updates and one G update."""
        with single_threaded():
            return self.stepper.run(iterations, self.settings.k_d)

    def samples(self) -> np.ndarray:
        """G applied to the fixed evaluation noise, shape (EVAL_SAMPLES, 2)."""
        with torch.no_grad(), single_threaded():
            return self.stepper.generator(self.eval_noise).double().numpy()

    def d_outputs(self, samples: np.ndarray) -> np.ndarray:
        """D(x) = sigmoid(D's logit) at each row of `samples`."""
        with torch.no_grad(), single_threaded():
            x = torch.as_tensor(samples, dtype=torch.float32)
            return torch.sigmoid(self.stepper.discriminator(x)).reshape(-1).double().numpy()


# -- presets, lessons and traces ---------------------------------------------------------------

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
    for iteration in _frame_iterations(iterations, frames):
        record = train(iteration - shown[-1].iteration)
        shown.append(capture(iteration, record))
        if on_frame is not None:
            on_frame(iteration, iterations)
    return tuple(shown)


def _frame_iterations(iterations: int, frames: int) -> list[int]:
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
class FailureLesson:
    """One way GAN training fails: the failing preset and the presets that fix it."""

    key: str
    title: str
    symptom: str
    cause: str
    failure: Preset
    fixes: tuple[Preset, ...]

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


def verdict(trace: Trace) -> str:
    """One line saying what the run ended as, from its numbers."""
    last = trace.last.numbers
    settings = trace.preset.settings
    if trace.preset.world == "ring":
        assert isinstance(settings, RingSettings)
        late = trace.late("modes_covered")
        if late.mean() <= settings.modes / 4:
            state = "collapsed"
        elif late.min() == settings.modes:
            state = "covers the ring"
        else:
            state = "covers part of the ring"
        return (
            f"{state}: {late.mean():.1f} of {settings.modes} modes covered on average over the "
            f"second half of the run (now {int(last['modes_covered'])}, with "
            f"{last['on_mode']:.0%} of samples on a mode)"
        )
    assert isinstance(settings, ToySettings)
    gap = abs(last["fake_mean"] - settings.real_mean)
    moved = abs(last["fake_mean"] - trace.frames[0].numbers["fake_mean"])
    state = "reached the data" if gap < 0.5 * settings.real_std else "stuck far from the data"
    return (
        f"{state}: fakes' mean {last['fake_mean']:.2f} (data {settings.real_mean:g}), moved "
        f"{moved:.2f}; D(G(z)) = {last['d_fake']:.3f}, G's gradient norm "
        f"{last.get('g_grad_norm', math.nan):.1e}"
    )


# -- the course's presets ----------------------------------------------------------------------

_COLLAPSING_RING = RingSettings(lr_g=3e-3, lr_d=3e-4)
_OVERPOWERED_D = ToySettings(
    real_mean=7.0,
    real_std=1.0,
    optimizer="sgd",
    momentum=0.0,
    lr_d=0.05,
    lr_g=0.005,
    k_d=10,
    g_loss="minimax",
)

LESSONS: dict[str, FailureLesson] = {
    lesson.key: lesson
    for lesson in (
        FailureLesson(
            key="mode_collapse",
            title="Mode collapse",
            symptom=(
                "The data has eight modes, but G's samples pile onto one or two of them, and "
                "over time the pile hops from mode to mode instead of spreading out."
            ),
            cause=(
                "G learns ten times faster than D. Each G step moves *all* fakes towards "
                "whatever spot D currently rates most real; D is too slow to punish the pile "
                "before G has moved on, so G never has a reason to spread its samples."
            ),
            failure=Preset(
                "mode_collapse",
                "G outruns D (lr_g = 3e-3, lr_d = 3e-4)",
                _COLLAPSING_RING,
                iterations=2000,
            ),
            fixes=(
                Preset(
                    "mode_collapse_fast_d",
                    "D keeps up (lr_d = 3e-3)",
                    replace(_COLLAPSING_RING, lr_d=3e-3),
                    iterations=2000,
                    change="lr_d 3e-4 → 3e-3: D learns as fast as G",
                ),
            ),
        ),
        FailureLesson(
            key="vanishing_gradients",
            title="Overpowered discriminator, vanishing gradients",
            symptom=(
                "D quickly tells every fake from the data (D(x) → 1, D(G(z)) → 0, D's loss → "
                "0) and then G does not move at all: its samples stay where they started, far "
                "from N(7, 1), and G's gradient norm shrinks towards zero."
            ),
            cause=(
                "D gets ten updates at ten times G's learning rate, so it is nearly perfect. "
                "The minimax loss log(1 − D(G(z))) is flat where D(G(z)) ≈ 0: its gradient with "
                "respect to D's logit is −D(G(z)), so a confident D hands G almost no gradient, "
                "and plain SGD takes steps as small as that gradient. The non-saturating loss "
                "−log D(G(z)) has gradient −(1 − D(G(z))) ≈ −1 there: the better D is, the "
                "harder it pushes G."
            ),
            failure=Preset(
                "vanishing_gradients",
                "Minimax loss against a strong D",
                _OVERPOWERED_D,
                iterations=500,
            ),
            fixes=(
                Preset(
                    "vanishing_gradients_nonsaturating",
                    "Non-saturating loss",
                    replace(_OVERPOWERED_D, g_loss="nonsaturating"),
                    iterations=500,
                    change="g_loss minimax → non-saturating; D just as strong",
                ),
            ),
        ),
    )
}
"""The failure modes the page teaches, by key, in the page's order."""


def lesson_for_seed(key: str, seed: int) -> FailureLesson:
    """The lesson `key` from `seed`; raises ValueError with a clear message for bad input."""
    if key not in LESSONS:
        raise ValueError(f"unknown failure mode {key!r}; known: {', '.join(LESSONS)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, got {seed!r}")
    try:
        return LESSONS[key].with_seed(seed)
    except (RingSettingsError, ToySettingsError) as exc:
        raise ValueError(str(exc)) from None


def stepper_params(preset: Preset) -> Mapping[str, str]:
    """The 1-D stepper page's link parameters that open `preset` for stepping by hand."""
    if not isinstance(preset.settings, ToySettings):
        raise ValueError(f"{preset.title!r} is not a 1-D experiment")
    return preset.settings.to_params()


# -- the shipped runs of the default seed ------------------------------------------------------

SHIPPED_SEED = 0
SHIPPED_TRACES = SHIPPED_DIR / "failure_traces.safetensors"
"""Every lesson's runs from SHIPPED_SEED: a lecture's first Run shows them instead of training."""
TRACES_KIND = "failure_traces"

_READOUT_ARRAYS = tuple(f.name for f in fields(Readout) if f.name not in ("measures", "settings"))
_MEASURES = tuple(f.name for f in fields(Measures))


def preset_record(preset: Preset, frames: int = DEFAULT_FRAMES) -> dict[str, Any]:
    """What decides a run's frames, as JSON: a stored run stands in for `run_preset` only when its
    record is identical, so a preset changed after the file was made is trained, not misshown."""
    record = {
        "world": preset.world,
        "iterations": preset.iterations,
        "frames": frames,
        "settings": asdict(preset.settings),
    }
    return json.loads(json.dumps(record))  # as it reads back from the file


def save_traces(
    path: str | Path, traces: Sequence[Trace], frames: int = DEFAULT_FRAMES, **facts: Any
) -> Path:
    """Write `traces` (run with `frames`) as one checkpoint: each preset's frames as tensors named
    "<preset key>.<part>", its record in the JSON metadata beside `facts` (command, seed, ...)."""
    tensors: dict[str, Tensor] = {}
    records: dict[str, Any] = {}
    for trace in traces:
        names = sorted({name for frame in trace.frames for name in frame.numbers})
        tensors.update(_packed_trace(trace, names))
        records[trace.preset.key] = {**preset_record(trace.preset, frames), "numbers": names}
    metadata = {"kind": TRACES_KIND, **facts, "presets": records}
    return save_checkpoint(path, Checkpoint(tensors, metadata))


def load_traces(
    path: str | Path, presets: Iterable[Preset], frames: int = DEFAULT_FRAMES
) -> dict[str, Trace]:
    """The runs stored in `path` of those `presets` it recorded with exactly their settings,
    iterations and frames, by preset key; the others are left out (to be trained).

    Raises CheckpointError when the file is missing, unreadable or holds something else.
    """
    checkpoint = load_checkpoint(path)
    if checkpoint.kind != TRACES_KIND:
        raise CheckpointError(f"{Path(path).name} holds {checkpoint.kind!r}, not failure-mode runs")
    records = checkpoint.metadata.get("presets")
    if not isinstance(records, dict):
        raise CheckpointError(f"{Path(path).name} lists no presets")
    return {
        preset.key: _stored_trace(checkpoint, preset, frames, records[preset.key])
        for preset in presets
        if _records_match(records.get(preset.key), preset_record(preset, frames))
    }


def shipped_traces(path: str | Path = SHIPPED_TRACES) -> dict[str, Trace]:
    """Every lesson's shipped runs from SHIPPED_SEED that still match the presets, by preset key
    (CheckpointError when the file is missing or unreadable)."""
    presets = [p for key in LESSONS for p in lesson_for_seed(key, SHIPPED_SEED).presets]
    return load_traces(path, presets)


def read_only(trace: Trace) -> Trace:
    """`trace` with every array made read-only, for a run that many sessions are shown at once
    (one page cannot then change what another draws)."""
    for frame in trace.frames:
        arrays = [frame.samples] if frame.readout is None else _readout_arrays(frame.readout)
        for array in arrays:
            if array is not None:
                array.flags.writeable = False
    trace.centers.flags.writeable = False
    return trace


def _readout_arrays(readout: Readout) -> list[np.ndarray]:
    return [getattr(readout, name) for name in _READOUT_ARRAYS]


def _records_match(stored: Any, wanted: dict[str, Any]) -> bool:
    return isinstance(stored, dict) and all(stored.get(k) == v for k, v in wanted.items())


def _packed_trace(trace: Trace, names: list[str]) -> dict[str, Tensor]:
    key = trace.preset.key
    measured = [[name in f.numbers for name in names] for f in trace.frames]
    numbers = [[f.numbers.get(name, math.nan) for name in names] for f in trace.frames]
    tensors = {
        f"{key}.iterations": torch.tensor(trace.iterations, dtype=torch.int64),
        f"{key}.numbers": torch.tensor(numbers, dtype=torch.float64),
        f"{key}.measured": torch.tensor(measured, dtype=torch.bool),
    }
    if trace.preset.world == "ring":
        tensors[f"{key}.samples"] = _compact([f.samples for f in trace.frames])
        return tensors
    readouts = [f.readout for f in trace.frames]
    for name in _READOUT_ARRAYS:
        tensors[f"{key}.readout.{name}"] = _compact([getattr(r, name) for r in readouts])
    measures = [[getattr(r.measures, name) for name in _MEASURES] for r in readouts]
    tensors[f"{key}.measures"] = torch.tensor(measures, dtype=torch.float64)
    return tensors


def _compact(arrays: Sequence[Any]) -> Tensor:
    """The arrays stacked, in float32 where that loses nothing (G's and D's outputs are float32
    numbers held as float64), else in float64: the file stays small and reads back exactly."""
    values = np.stack(arrays).astype(np.float64)
    single = values.astype(np.float32)
    if np.array_equal(single.astype(np.float64), values, equal_nan=True):
        return torch.from_numpy(single)
    return torch.from_numpy(values)


def _stored_trace(checkpoint: Checkpoint, preset: Preset, frames: int, record: Any) -> Trace:
    key = preset.key
    names = record.get("numbers")
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise CheckpointError(f"the stored run of {key} does not name its numbers")
    iterations = [0, *_frame_iterations(preset.iterations, frames)]
    count = len(iterations)
    if _stored(checkpoint, f"{key}.iterations", (count,)).tolist() != iterations:
        raise CheckpointError(f"the stored run of {key} has other frames than the preset")
    values = _stored(checkpoint, f"{key}.numbers", (count, len(names)))
    measured = _stored(checkpoint, f"{key}.measured", (count, len(names)))
    numbers = [
        {name: float(v) for name, v, m in zip(names, row, mask, strict=True) if m}
        for row, mask in zip(values, measured, strict=True)
    ]
    if preset.world == "ring":
        samples = _stored(checkpoint, f"{key}.samples", (count, None, 2))
        shown = [
            Frame(i, n, samples=s) for i, n, s in zip(iterations, numbers, samples, strict=True)
        ]
        return Trace(preset, tuple(shown), centers=mode_centers(preset.settings))
    readouts = _stored_readouts(checkpoint, preset, count)
    shown = [Frame(i, n, readout=r) for i, n, r in zip(iterations, numbers, readouts, strict=True)]
    return Trace(preset, tuple(shown))


def _stored_readouts(checkpoint: Checkpoint, preset: Preset, count: int) -> list[Readout]:
    assert isinstance(preset.settings, ToySettings)
    arrays = {
        name: _stored(checkpoint, f"{preset.key}.readout.{name}", (count, None))
        for name in _READOUT_ARRAYS
    }
    measures = _stored(checkpoint, f"{preset.key}.measures", (count, len(_MEASURES)))
    return [
        Readout(
            **{name: values[i] for name, values in arrays.items()},
            measures=Measures(
                **{name: float(v) for name, v in zip(_MEASURES, measures[i], strict=True)}
            ),
            settings=preset.settings,
        )
        for i in range(count)
    ]


def _stored(checkpoint: Checkpoint, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """Tensor `name` as a read-only array (a stored run is shared by every session that shows
    it), after checking its shape (None: any length); CheckpointError otherwise."""
    tensor = checkpoint.tensors.get(name)
    fits = tensor is not None and tensor.ndim == len(shape)
    fits = fits and all(want in (None, got) for want, got in zip(shape, tensor.shape, strict=True))
    if not fits:
        raise CheckpointError(f"the traces file has no {name} of shape {shape}")
    values = tensor.double().numpy() if tensor.is_floating_point() else tensor.numpy()
    values.flags.writeable = False
    return values


# -- command line ------------------------------------------------------------------------------


def ship(out: Path = SHIPPED_TRACES) -> tuple[Path, list[Trace]]:
    """Run every lesson's presets from SHIPPED_SEED with `run_preset` and write them to `out`."""
    started = time.perf_counter()
    traces = [
        run_preset(preset)
        for key in LESSONS
        for preset in lesson_for_seed(key, SHIPPED_SEED).presets
    ]
    facts = {
        "command": shlex.join(["python", "-m", "playground.failures", "ship", "--out", str(out)]),
        "seed": SHIPPED_SEED,
        "device": f"cpu ({platform.machine()}, 1 thread)",
        "wall_time_s": round(time.perf_counter() - started, 1),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }
    path = save_traces(out, traces, **facts)
    entry = {
        "file": path.name,
        "kind": TRACES_KIND,
        "bytes": path.stat().st_size,
        "presets": {trace.preset.key: verdict(trace) for trace in traces},
        **facts,
    }
    update_manifest(path.parent / "manifest.json", TRACES_KIND, entry)
    return path, traces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.failures")
    commands = parser.add_subparsers(dest="command", required=True)
    shipped = commands.add_parser(
        "ship", help="run every lesson's presets from the default seed and write them for the page"
    )
    shipped.add_argument(
        "--out", type=Path, default=SHIPPED_TRACES, help="where to write the runs (.safetensors)"
    )
    args = parser.parse_args(argv)
    path, traces = ship(args.out)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB)")
    for trace in traces:
        print(f"  {trace.preset.key}: {verdict(trace)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
