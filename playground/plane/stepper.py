"""`PlaneGAN`: the 2-D GAN a student drives one update at a time, with a rewindable history.

Every update goes through `playground.gan.GANStepper`. On top, as the 1-D stepper does: one
history entry per update (its record, the step's numbers, a snapshot), bounded and thinned by
the 1-D stepper's rules (`playground.toy.presses`), so any kept step can be restored exactly;
the log of presses a link replays; hyper-parameters changed in place; and the picture of the
current step (`playground.plane.readout`), cached until the next change.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from playground.gan import Snapshot, StepRecord, evaluating
from playground.history import halve_older
from playground.plane.data import mode_centers, sample_noise, sample_real
from playground.plane.readout import (
    COARSE,
    EVAL_SAMPLES,
    SHOWN,
    Measures,
    Picture,
    Resolution,
    fake_arrows,
    manifold_noise,
    measures_of,
    probability,
    view_limit,
)
from playground.plane.settings import PlaneSettings, PlaneSettingsError
from playground.plane.world import build_stepper
from playground.seeds import TOY_EVALUATION, stream_seed
from playground.settings import shown
from playground.toy import HistoryLimits, LoggedPress, PressLog, single_threaded

RUN_LIMIT = 500
"""The most iterations one Run press may do with the default networks and batch."""


def run_limit(settings: PlaneSettings) -> int:
    """The most iterations one Run press may do: RUN_LIMIT of the default experiment's work,
    fewer with wider or deeper networks, bigger batches or more D updates per G update."""

    def work(s: PlaneSettings) -> float:
        g = s.noise_dim * s.g_neurons + (s.g_layers - 1) * s.g_neurons**2 + 2 * s.g_neurons
        d = 2 * s.d_neurons + (s.d_layers - 1) * s.d_neurons**2 + s.d_neurons
        return (s.k_d + 1) * s.batch_size * (g + d) + 4e5  # + the step's fixed cost

    return max(1, min(RUN_LIMIT, int(RUN_LIMIT * work(PlaneSettings()) / work(settings))))


@dataclass(frozen=True)
class PlaneEntry:
    """One step of the history: what the press did and the state right after it."""

    step: int  # 0 = the freshly built GAN, then one per update call
    label: str  # "start", "d", "g" or "dg"
    record: StepRecord | None
    measures: Measures
    snapshot: Snapshot | None  # None once thinned away: this step can no longer be restored


@dataclass(frozen=True)
class Curves:
    """The history's numbers up to the current step, one array per curve."""

    step: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    kl: np.ndarray
    js: np.ndarray
    covered: np.ndarray


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


class PlaneGAN:
    """A 2-D GAN driven one update at a time, with a rewindable history and its picture."""

    def __init__(self, settings: PlaneSettings, limits: HistoryLimits | None = None) -> None:
        self.settings = settings.validate()
        self.limits = limits or HistoryLimits()
        self.stepper = build_stepper(settings)
        evaluation = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_EVALUATION))
        # Fixed evaluation noise and reals: the shown fakes move only when G moves.
        s = settings
        self.eval_noise = sample_noise(s.noise, EVAL_SAMPLES, s.noise_dim, evaluation)
        self.eval_real = sample_real(s, EVAL_SAMPLES, evaluation)
        self._real_np = self.eval_real.double().numpy()
        self._lock = threading.RLock()  # two script threads of one session may press at once
        self._version = 0
        self._picture: tuple[tuple[int, Resolution], Picture] | None = None
        with single_threaded():
            start = PlaneEntry(0, "start", None, self._measure(), self.stepper.snapshot())
        self.entries: list[PlaneEntry] = [start]
        self.cursor = 0
        self.log = PressLog()

    @property
    def d_steps(self) -> int:
        return self.stepper.d_steps

    @property
    def g_steps(self) -> int:
        return self.stepper.g_steps

    @property
    def current(self) -> PlaneEntry:
        return self.entries[self.cursor]

    # -- presses ----------------------------------------------------------------------------

    def d_step(self) -> StepRecord:
        """Exactly one D update on one mini-batch of real and fake samples."""
        return self._press("d", 1, 1, self.stepper.d_step)

    def g_step(self) -> StepRecord:
        """Exactly one G update."""
        return self._press("g", 1, 0, self.stepper.g_step)

    def step(self, k_d: int | None = None) -> StepRecord:
        """k_d D updates then one G update (k_d from the settings by default)."""
        k = self.settings.k_d if k_d is None else k_d
        return self._press("dg", 1, k, lambda: self.stepper.step(k))

    def run(self, iterations: int, k_d: int | None = None) -> StepRecord:
        """`iterations` times step(k_d), one history entry each, as one press (at most
        run_limit(settings) iterations: PlaneSettingsError beyond)."""
        k = self.settings.k_d if k_d is None else k_d
        limit = run_limit(replace(self.settings, k_d=k))
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise PlaneSettingsError(f"N must be a whole number ≥ 1, got {shown(iterations)}")
        if iterations > limit:
            raise PlaneSettingsError(
                f"Run {iterations} is more work than one press may do with these settings "
                f"(k = {k}, batch {self.settings.batch_size}): at most {limit} steps"
            )
        return self._press("run", iterations, k, lambda: self.stepper.step(k))

    def _press(self, kind: str, count: int, k: int, update: Callable[[], StepRecord]) -> StepRecord:
        with self._lock, single_threaded():
            del self.entries[self.cursor + 1 :]  # a press after a rewind drops the future
            record = None
            for index in range(count):
                step = self.entries[-1].step
                self.log.record(step, kind, k, self.settings, continues=index > 0)
                record = update()
                self._version += 1
                label = "dg" if kind == "run" else kind
                entry = PlaneEntry(
                    step + 1, label, record, self._measure(), self.stepper.snapshot()
                )
                self.entries.append(entry)
                self._thin()
            self.cursor = len(self.entries) - 1
            assert record is not None
            return record

    def _thin(self) -> None:
        """Keep the history bounded: the 1-D stepper's rule (recent snapshots all, older ones
        halved, entries halved), by the newest snapshot's size."""
        newest = self.entries[-1].snapshot
        limits = self.limits.for_snapshot(newest.nbytes) if newest else self.limits
        older = self.entries[: max(0, len(self.entries) - limits.recent)]
        with_snapshot = [i for i, e in enumerate(older) if e.snapshot is not None and i > 0]
        if len(with_snapshot) > limits.older:
            for i in with_snapshot[1::2]:
                self.entries[i] = replace(self.entries[i], snapshot=None)
        if len(self.entries) > limits.entries:
            self.entries[:] = halve_older(self.entries, limits.recent)

    # -- rewind -----------------------------------------------------------------------------

    def rewind_steps(self) -> list[int]:
        """The steps that can be restored (the future after a rewind included, until a press)."""
        with self._lock:
            return [e.step for e in self.entries if e.snapshot is not None]

    def rewind(self, step: int) -> None:
        """Go back (or forward again) to history step `step`; the next press drops later steps."""
        with self._lock:
            for position, entry in enumerate(self.entries):
                if entry.step == step and entry.snapshot is not None:
                    self.stepper.restore(entry.snapshot)
                    self.stepper.retune_to(self.settings)
                    self.cursor = position
                    self._version += 1
                    return
            raise ValueError(f"step {step} cannot be restored; restorable: {self.rewind_steps()}")

    def presses(self) -> list[LoggedPress]:
        """The presses that led to the current step, with the settings each ran under."""
        with self._lock:
            return self.log.upto(self.current.step)

    # -- settings ---------------------------------------------------------------------------

    def apply(self, settings: PlaneSettings) -> None:
        """Change hyper-parameters in place (the optimizers keep their moments); raises
        PlaneSettingsError for a change that needs new networks or data."""
        with self._lock:
            settings.validate()
            rebuild = self.settings.rebuild_fields(settings)
            if rebuild:
                raise PlaneSettingsError(
                    f"changing {', '.join(rebuild)} needs new networks: start over to apply it"
                )
            self.settings = settings
            self.stepper.source.settings = settings
            self.stepper.retune_to(self.settings)
            self._version += 1

    # -- read-outs --------------------------------------------------------------------------

    def _measure(self) -> Measures:
        g, d = self.stepper.generator, self.stepper.discriminator
        with torch.no_grad(), evaluating(d):
            fake = g(self.eval_noise)
            d_real = probability(d(self.eval_real), self.settings)
            d_fake = probability(d(fake), self.settings)
        return measures_of(self.settings, self._real_np, fake.double().numpy(), d_real, d_fake)

    def picture(self, resolution: Resolution = COARSE) -> Picture:
        """The current step's picture at `resolution` (cached until the next change)."""
        with self._lock:
            key = (self._version, resolution)
            if self._picture is None or self._picture[0] != key:
                with single_threaded(), evaluating(self.stepper.discriminator):
                    self._picture = (key, self._draw(resolution))
            return self._picture[1]

    def _draw(self, resolution: Resolution) -> Picture:
        s, g, d = self.settings, self.stepper.generator, self.stepper.discriminator
        limit = view_limit(s)
        cells = resolution.heatmap
        grid = (np.arange(cells) + 0.5) / cells * 2 * limit - limit
        gx, gy = np.meshgrid(grid, grid)  # row i at y = grid[i]
        points = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
        lines = manifold_noise(s, resolution)
        with torch.no_grad():
            d_grid = probability(d(points), s).reshape(cells, cells).double().numpy()
            fake = g(self.eval_noise[:SHOWN])
            manifold = g(lines.reshape(-1, s.noise_dim)).reshape(*lines.shape[:2], 2)
        arrows = fake_arrows(d, fake, s.g_loss, s.objective)
        return Picture(
            grid=grid,
            d_grid=d_grid,
            real=self._real_np[:SHOWN],
            fake=fake.double().numpy(),
            arrows=arrows.double().numpy(),
            manifold=manifold.double().numpy(),
            limit=limit,
            centers=mode_centers(s),
            measures=self.current.measures,
        )

    def curves(self) -> Curves:
        """Losses, D outputs, KL/JS and modes covered of every kept step up to the current one."""
        with self._lock:
            entries = self.entries[: self.cursor + 1]
        rows = np.array(
            [
                (
                    e.step,
                    _number(e.record.d_loss if e.record else None),
                    _number(e.record.g_loss if e.record else None),
                    e.measures.d_real,
                    e.measures.d_fake,
                    e.measures.kl,
                    e.measures.js,
                    e.measures.covered,
                )
                for e in entries
            ],
            dtype=np.float64,
        ).reshape(-1, 8)
        columns = [np.ascontiguousarray(rows[:, i]) for i in range(8)]
        return Curves(columns[0].astype(np.int64), *columns[1:])

    def diverged(self) -> bool:
        """True when the last update produced a NaN or infinite number."""
        record = self.current.record
        return record is not None and not (
            record.is_finite() and math.isfinite(self.current.measures.kl)
        )


__all__ = ["RUN_LIMIT", "Curves", "PlaneEntry", "PlaneGAN", "run_limit"]
