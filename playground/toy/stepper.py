"""`ToyGAN`: the 1-D GAN a student drives one update at a time, with a rewindable history.

Every update goes through `playground.gan.GANStepper`; ToyGAN adds what a live lesson needs on top:
a history with one entry per update (losses, KL/JS, a snapshot), bounded and thinned, so any
earlier step can be restored exactly (parameters, optimizer state, batch RNG, counters);
hyper-parameter changes in place (the optimizers keep their state); Run presses capped by their
cost and carried on by any thread of the session; and the read-outs the figures draw.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from playground.gan import GANStepper, Snapshot, StepRecord, evaluating
from playground.history import halve_older
from playground.losses import optimal_discriminator
from playground.seeds import TOY_BATCHES, TOY_EVALUATION, TOY_INIT, stream_seed
from playground.settings import shown
from playground.toy.cost import RunTooLong, run_limit
from playground.toy.explain import explain_press
from playground.toy.modes import ModeReport, mode_report
from playground.toy.presses import Entry, HistoryLimits, LoggedPress, Press, PressLog
from playground.toy.readout import (
    EVAL_SAMPLES,
    SHOWN_FAKES,
    Curves,
    Measures,
    Readout,
    divergences,
    fake_density,
    fake_gradients,
    perfect_map,
    x_grid,
)
from playground.toy.settings import ToySettings, ToySettingsError
from playground.toy.targets import target_of
from playground.toy.world import (
    ToySource,
    make_discriminator,
    make_generator,
    make_optimizer,
    sample_noise,
    single_threaded,
)

ProgressCallback = Callable[[int, int], bool | None]
"""on_progress(done, total) between iterations of a run; returning False stops the run."""


class ToyGAN:
    """A 1-D GAN driven one update at a time, with a rewindable history and figure read-outs."""

    EVAL_SAMPLES: ClassVar[int] = EVAL_SAMPLES
    SHOWN_FAKES: ClassVar[int] = SHOWN_FAKES

    def __init__(self, settings: ToySettings, limits: HistoryLimits | None = None) -> None:
        self.settings = settings.validate()
        self.limits = limits or HistoryLimits()
        init = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_INIT))
        generator = make_generator(settings, init)
        discriminator = make_discriminator(settings, init)
        self.source = ToySource(
            settings, torch.Generator().manual_seed(stream_seed(settings.seed, TOY_BATCHES))
        )
        self.stepper = GANStepper(
            generator,
            discriminator,
            g_opt=make_optimizer(settings, generator.parameters(), settings.lr_g),
            d_opt=make_optimizer(settings, discriminator.parameters(), settings.lr_d),
            source=self.source,
            g_loss=settings.g_loss,
            tricks=settings.tricks,
            rng=self.source.generator,
        )
        evaluation = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_EVALUATION))
        # Fixed evaluation noise: the density and the shown fakes move only when G moves.
        self.eval_noise = sample_noise(
            settings.noise, self.EVAL_SAMPLES, settings.noise_dim, evaluation
        )
        self.grid = x_grid(settings)
        self._grid_t = torch.tensor(self.grid, dtype=torch.float32).reshape(-1, 1)
        self.p_data = target_of(settings).pdf(self.grid)
        self._map_noise = self._map_inputs()
        if settings.noise_dim == 1:  # the exact maps never change: compute them once
            z = self._map_noise[:, 0].double().numpy()
            self._perfect = {up: perfect_map(settings, z, up) for up in (True, False)}
        self._version = 0
        self._readout: tuple[tuple[int, int, int], Readout] | None = None
        # Two script threads of one browser session can reach this object at once (a press
        # while a Run is still going): every method that reads or drives the networks holds
        # this lock, so one thread at a time touches them (torch's in-place optimizer updates
        # under a concurrent backward pass corrupt autograd and can crash the process).
        self._lock = threading.RLock()
        with single_threaded():
            start = Entry(0, "start", None, self.readout().measures, self.stepper.snapshot())
        self.entries: list[Entry] = [start]
        self.cursor = 0
        self.last_press: Press | None = None
        self.log = PressLog()

    @property
    def generator(self) -> nn.Module:
        return self.stepper.generator

    @property
    def discriminator(self) -> nn.Module:
        return self.stepper.discriminator

    @property
    def d_steps(self) -> int:
        return self.stepper.d_steps

    @property
    def g_steps(self) -> int:
        return self.stepper.g_steps

    @property
    def current(self) -> Entry:
        return self.entries[self.cursor]

    # -- presses ----------------------------------------------------------------------------

    def d_step(self) -> StepRecord:
        """Exactly one D update on one mini-batch of real and fake samples."""
        return self._press("d", 1, self.stepper.d_step)

    def g_step(self) -> StepRecord:
        """Exactly one G update."""
        return self._press("g", 1, self.stepper.g_step)

    def step(self, k_d: int | None = None) -> StepRecord:
        """k_d D updates then one G update (k_d from the settings by default)."""
        k = self.settings.k_d if k_d is None else k_d
        return self._press("dg", 1, lambda: self.stepper.step(k))

    def run(
        self,
        iterations: int,
        k_d: int | None = None,
        on_progress: ProgressCallback | None = None,
        resume_from_step: int | None = None,
        keep_going: Callable[[], bool] | None = None,
    ) -> StepRecord | None:
        """`iterations` times step(k_d), each iteration one history entry, as one press.

        Refused (RunTooLong) beyond `run_limit`. The lock is held one iteration at a time, so a
        press from another thread waits at most one iteration. `on_progress(done, total)` is
        called after each iteration, without the lock; returning False stops the run.
        `keep_going()` is asked under the lock before each iteration: once another thread has
        made it False, `run_count` read by that thread is final.

        `resume_from_step` continues the run press that started at that history step, if it is
        still the last press, up to `iterations` in all: a run carried on by another thread
        (a rerun of the page) never does more than asked, even while the first thread is
        finishing its last iteration. Returns the last update's record (None if none ran).
        """
        k = self.settings.k_d if k_d is None else k_d
        self._check_run(iterations, k)
        update = partial(self.stepper.step, k)
        with self._lock:
            last = self.last_press
            resumed = (
                last is not None and last.label == "run" and last.before.step == resume_from_step
            )
            before = last.before if resumed and last is not None else self.current
        record: StepRecord | None = None
        while True:
            with self._lock, single_threaded():
                done = self._run_progress(before)
                if done is None or done >= iterations or (keep_going and not keep_going()):
                    break
                record = self._updates("run", 1, update, before, done)
            if on_progress is not None and on_progress(done + 1, iterations) is False:
                break
        return record

    def _check_run(self, iterations: int, k: int) -> None:
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ToySettingsError(
                f"N must be a whole number of at least 1, got {shown(iterations)}"
            )
        limit = run_limit(replace(self.settings, k_d=k))
        if iterations > limit:
            raise RunTooLong(
                f"Run {iterations} steps is more work than one press may do with these settings "
                f"(k = {k}, batch {self.settings.batch_size}, widths {self.settings.g_hidden}/"
                f"{self.settings.d_hidden}): at most {limit} steps"
            )

    def run_count(self, start_step: int) -> int:
        """Iterations done so far by the run press that started at history step `start_step`
        (0 if the last press is not that run)."""
        with self._lock:
            last = self.last_press
            if last is not None and last.label == "run" and last.before.step == start_step:
                return last.count
            return 0

    def _run_progress(self, before: Entry) -> int | None:
        """Iterations done so far by the run press that started at `before` (by any thread),
        or None when another press has replaced it since."""
        last = self.last_press
        if last is not None and last.label == "run" and last.before is before:
            return last.count
        return 0 if self.current is before else None

    def _press(self, label: str, count: int, update: Callable[[], StepRecord]) -> StepRecord:
        with self._lock, single_threaded():
            return self._updates(label, count, update)

    def _updates(
        self,
        label: str,
        count: int,
        update: Callable[[], StepRecord],
        before: Entry | None = None,
        done: int = 0,
    ) -> StepRecord:
        """`count` updates, one history entry each. A run continues the press that started at
        `before` after `done` iterations (so "last press" spans the whole run)."""
        last = self.last_press
        if before is None or (done and (last is None or last.before is not before)):
            before, done = self.current, 0  # another press came in between: a new press
        # A press after a rewind replaces the future that was rewound past.
        del self.entries[self.cursor + 1 :]
        for index in range(count):
            d_steps = self.d_steps
            record = update()
            self._changed()
            step = self.entries[-1].step
            k = self.d_steps - d_steps
            self.log.record(step, label, k, self.settings, continues=done + index > 0)
            entry_label = "dg" if label == "run" else label
            entry = Entry(
                step + 1,
                entry_label,
                record,
                self.readout().measures,
                self.stepper.snapshot(),
            )
            self.entries.append(entry)
            self._thin()
        self.cursor = len(self.entries) - 1
        self.last_press = Press(label, before, self.current, done + count)
        return record

    def _thin(self) -> None:
        """Keep the history bounded: recent snapshots all, older ones halved, entries halved.

        The snapshot counts come from the newest snapshot's size (it grows once the optimizer
        holds its moments), so the byte budget holds at any network width."""
        newest = self.entries[-1].snapshot
        limits = self.limits.for_snapshot(newest.nbytes) if newest else self.limits
        older = self.entries[: max(0, len(self.entries) - limits.recent)]
        with_snapshot = [i for i, e in enumerate(older) if e.snapshot is not None and i > 0]
        if len(with_snapshot) > limits.older:
            for i in with_snapshot[1::2]:
                self.entries[i] = replace(self.entries[i], snapshot=None)
        if len(self.entries) > limits.entries:
            self.entries[:] = halve_older(self.entries, limits.recent)  # keeps the start (index 0)

    # -- rewind -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Networks, optimizer states, batch RNG and counters, deep-copied."""
        with self._lock:
            return self.stepper.snapshot()

    def restore(self, snapshot: Snapshot) -> None:
        """Put the networks, optimizers, RNG and counters back at `snapshot`; the current
        hyper-parameters (learning rates, betas, loss) stay those of the settings."""
        with self._lock:
            self.stepper.restore(snapshot)
            self.stepper.retune_to(self.settings)
            self._changed()

    def presses(self) -> list[LoggedPress]:
        """The presses that led to the current step, with the settings each ran under."""
        with self._lock:
            return self.log.upto(self.current.step)

    def rewind_steps(self) -> list[int]:
        """The steps that can be restored (the future after a rewind included, until a press)."""
        with self._lock:
            return [e.step for e in self.entries if e.snapshot is not None]

    def rewind(self, step: int) -> None:
        """Go back (or forward again) to history step `step`; the next press drops later steps."""
        with self._lock:
            for position, entry in enumerate(self.entries):
                if entry.step == step and entry.snapshot is not None:
                    self.restore(entry.snapshot)
                    self.cursor = position
                    self.last_press = None
                    return
            raise ValueError(
                f"step {step} cannot be restored; restorable: {self.rewind_steps()[-5:]}"
            )

    # -- settings ---------------------------------------------------------------------------

    def apply(self, settings: ToySettings) -> None:
        """Change hyper-parameters in place: the optimizers keep their moments and step counts.

        Raises ToySettingsError if `settings` changes a field that needs new networks.
        """
        with self._lock:
            settings.validate()
            rebuild = self.settings.rebuild_fields(settings)
            if rebuild:
                raise ToySettingsError(
                    f"changing {', '.join(rebuild)} needs new networks: reset to apply it"
                )
            self.settings = settings
            self.source.settings = settings
            self.stepper.retune_to(self.settings)
            self._changed()

    # -- read-outs --------------------------------------------------------------------------

    def _changed(self) -> None:
        self._version += 1

    def _map_inputs(self) -> Tensor:
        if self.settings.noise_dim == 1:
            # Inside the noise's support: the exact map x = Q(F(z)) is infinite at z = ±1 for
            # uniform noise (Gaussian, mixtures, exponential); ±0.99 already reaches ±2.6 std.
            low, high = (-0.99, 0.99) if self.settings.noise == "uniform" else (-3.0, 3.0)
            return torch.linspace(low, high, 101).reshape(-1, 1)
        order = torch.argsort(self.eval_noise[:200, 0])
        return self.eval_noise[:200][order]

    def readout(self) -> Readout:
        """The current state on the grid (cached until the next change)."""
        with self._lock:
            # The counters are part of the key, so driving `self.stepper` directly is seen too.
            key = (self._version, self.d_steps, self.g_steps)
            if self._readout is not None and self._readout[0] == key:
                return self._readout[1]
            with single_threaded(), evaluating(self.discriminator):
                readout = self._compute_readout()
            self._readout = (key, readout)
            return readout

    def _compute_readout(self) -> Readout:
        with torch.no_grad():
            fake_all = self.generator(self.eval_noise).reshape(-1)
            d_x = torch.sigmoid(self.discriminator(self._grid_t)).reshape(-1).double().numpy()
            d_fake_all = torch.sigmoid(self.discriminator(fake_all.reshape(-1, 1))).reshape(-1)
            map_fake = self.generator(self._map_noise).reshape(-1).double().numpy()
        shown = fake_all[: self.SHOWN_FAKES]
        s = self.settings
        grad = fake_gradients(self.discriminator, shown, s.g_loss, s.objective).double().numpy()
        fakes = fake_all.double().numpy()
        p_g = fake_density(s, fakes, self.grid)
        dx = float(self.grid[1] - self.grid[0])
        kl, js = divergences(self.p_data, p_g, dx)
        map_noise = self._map_noise[:, 0].double().numpy()
        if self.settings.noise_dim == 1:  # the exact map that runs the same way as G's
            map_perfect = self._perfect[bool(map_fake[-1] >= map_fake[0])]
        else:
            map_perfect = np.empty(0)
        measures = Measures(
            kl=kl,
            js=js,
            fake_mean=float(fakes.mean()),
            fake_std=float(fakes.std()),
            d_real=float(np.sum(self.p_data * d_x) * dx),
            d_fake=float(d_fake_all.mean()),
            push=float(-grad.mean()),
        )
        return Readout(
            x=self.grid,
            p_data=self.p_data,
            p_g=p_g,
            d_x=d_x,
            d_star=optimal_discriminator(self.p_data, p_g),
            fake=shown.double().numpy(),
            fake_d=d_fake_all[: self.SHOWN_FAKES].double().numpy(),
            fake_grad=grad,
            map_noise=map_noise,
            map_fake=map_fake,
            map_perfect=map_perfect,
            measures=measures,
            settings=self.settings,
        )

    def modes(self) -> ModeReport | None:
        """How the fakes cover the target's modes, and the slopes that explain it (None for a
        target of one mode), on the fixed evaluation noise."""
        with self._lock:
            readout = self.readout()
            with torch.no_grad(), single_threaded():
                fakes = self.generator(self.eval_noise).reshape(-1).double().numpy()
            return mode_report(readout, fakes)

    def curves(self) -> Curves:
        """Losses, D outputs and KL/JS of every kept step up to the current one."""
        with self._lock:
            entries = self.entries[: self.cursor + 1]
        rows = np.array([entry.curve_row for entry in entries], dtype=np.float64).reshape(-1, 7)
        columns = [np.ascontiguousarray(rows[:, i]) for i in range(7)]
        return Curves(
            step=columns[0].astype(np.int64),
            d_loss=columns[1],
            g_loss=columns[2],
            d_real=columns[3],
            d_fake=columns[4],
            kl=columns[5],
            js=columns[6],
        )

    def last_losses(self) -> dict[str, float | None]:
        """The latest D loss, G loss, D(real) and D(fake) at or before the current step."""
        with self._lock:
            entries = self.entries[: self.cursor + 1]
        latest: dict[str, float | None] = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"))
        for entry in reversed(entries):
            if entry.record is None or all(v is not None for v in latest.values()):
                break
            for name, value in entry.record.losses().items():
                if name in latest and latest[name] is None:
                    latest[name] = value
        return latest

    def diverged(self) -> bool:
        """True when the last update produced a NaN or infinite number."""
        with self._lock:
            record = self.current.record
            return record is not None and not (
                record.is_finite() and math.isfinite(self.current.measures.fake_mean)
            )

    def explain(self) -> str:
        """One line saying what the last press did, built from its numbers."""
        with self._lock:
            if self.last_press is None:
                return (
                    f"At step {self.current.step}: {self.d_steps} D and {self.g_steps} G updates "
                    "so far."
                )
            return explain_press(self.last_press, self.settings)
