"""Training one job on one device: the only part of the job system that touches the engine.

A slot thread hands a queued job to `Worker.train`, which opens the job's `Trainer` (fresh, or
from its checkpoint), drives its step API with `run(n)` in chunks of about `chunk_s` seconds, and
publishes progress into the job's record under the manager's lock: the history, G's samples of
the fixed noise, metrics at each epoch's end, a checkpoint every `checkpoint_every` steps. Between
chunks it reads the job's pending command (pause, stop, interrupt, abandon). A run that raises, runs
out of GPU memory or diverges ends "failed" with a readable reason; the other jobs keep running.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import torch
from torch import Tensor

from playground.data import TrainingData
from playground.gan import HistoryPoint, StepRecord
from playground.history import halve_older
from playground.jobs.config import ManagerSettings
from playground.jobs.states import Command, JobState
from playground.jobs.store import CHECKPOINT_FILE, JobRecord, write_training_files
from playground.metrics import DEFAULT_SAMPLES, load_evaluator
from playground.pixels import model_to_uint8
from playground.seeds import EVAL_NOISE_STREAM, stream_seed
from playground.train import Trainer

log = logging.getLogger(__name__)

MAX_HISTORY = 20_000
"""Loss points kept per job; beyond this every other old point is dropped (CSV stays readable)."""
MAX_CHUNK = 5_000
METRICS_SAMPLES = DEFAULT_SAMPLES
"""Samples scored per evaluation; FID depends on n, so jobs use the shipped models' n."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite: the run has diverged and cannot continue."""


class Evaluator(Protocol):
    """The slice of playground.metrics.Evaluator that jobs use."""

    def evaluate(self, images: Tensor, labels: Tensor | None = None) -> Any: ...


EvaluatorLoader = Callable[[torch.device], Evaluator]


def shipped_evaluator(device: torch.device) -> Evaluator:
    """The metric classifier shipped in trained_models/ (CheckpointError when it is missing)."""
    return load_evaluator(device=device)


class Worker:
    """Trains jobs, one per call of `train`, for the slot threads of one JobManager.

    `data` returns the training set (called once, on the first job's thread; a failure becomes
    that job's "failed" reason and is retried for the next job). `evaluator` (optional) returns the
    metric evaluator for a device. `set_state` is the manager's one way to change a job's state.
    """

    def __init__(
        self,
        settings: ManagerSettings,
        lock: threading.Condition,
        set_state: Callable[[JobRecord, JobState, str], None],
        data: Callable[[], TrainingData],
        evaluator: EvaluatorLoader | None,
        trainer_class: type[Trainer],
    ) -> None:
        self.settings = settings
        self._cond = lock
        self._set_state = set_state
        self._data_loader = data
        self._data: TrainingData | None = None
        self._data_lock = threading.Lock()
        self._evaluator_loader = evaluator
        self._trainer_class = trainer_class

    def train(self, job: JobRecord, slot: torch.device) -> None:
        """Run one job on this slot until it finishes, is told to pause/stop, or fails."""
        reason = self._train_or_explain(job, slot)
        if reason is not None:  # the trainer is released by now, so its memory can go back
            if slot.type == "cuda":
                torch.cuda.empty_cache()
            self._fail(job, reason)

    def _train_or_explain(self, job: JobRecord, slot: torch.device) -> str | None:
        """None when the run ended normally or on request, else why it failed (for the owner)."""
        try:
            trainer = self._open_trainer(job, slot)
            outcome = self._train_until_told(job, trainer)
            self._settle(job, trainer, outcome)
        except TrainingDiverged as exc:
            return str(exc)
        except torch.cuda.OutOfMemoryError:
            return (
                f"ran out of GPU memory at batch size {job.settings.batch_size}; try a smaller "
                "batch size, or start it again when fewer jobs are running"
            )
        except Exception as exc:  # the job's own failure: report it, keep the other jobs running
            log.exception("job %s failed", job.job_id)
            return failure_reason(exc)
        return None

    def _open_trainer(self, job: JobRecord, slot: torch.device) -> Trainer:
        data = self._training_data()
        device = torch.device("cpu") if job.settings.device == "cpu" else slot
        checkpoint = job.directory / CHECKPOINT_FILE
        if checkpoint.exists():
            trainer = self._trainer_class.load(checkpoint, data.images, data.labels, device=device)
        else:
            trainer = self._trainer_class(job.settings, data.images, data.labels, device=device)
        with self._cond:
            # A resumed run continues the history of the run it was saved from, no further.
            job.history = [p for p in job.history if p.step <= trainer.iteration]
            job.step = trainer.iteration
            job.epoch = trainer.epoch
            job.total_steps = trainer.total_iterations
            job.device = str(trainer.device)
            job.seconds = job.history[-1].seconds if job.history else 0.0
            job.save()
        if job.samples is None:
            self._refresh_samples(job, trainer)
        return trainer

    def _training_data(self) -> TrainingData:
        with self._data_lock:
            if self._data is None:
                self._data = self._data_loader()
            return self._data

    def _train_until_told(self, job: JobRecord, trainer: Trainer) -> Command | None:
        """Train in chunks of ~chunk_s seconds; return the command that stopped it (None: done)."""
        chunk = 1
        last_samples = time.monotonic()
        every = self.settings.checkpoint_every
        while True:
            with self._cond:
                command = job.command
            if command is not None:
                return command
            remaining = trainer.total_iterations - trainer.iteration
            if remaining <= 0:
                return None
            n = min(chunk, remaining, every - trainer.iteration % every)
            epoch_before = int(trainer.epoch)
            start = time.perf_counter()
            record = trainer.run(n)
            elapsed = time.perf_counter() - start
            if not record.is_finite():
                raise TrainingDiverged(diverged_message(record, trainer.iteration))
            self._record_progress(job, trainer, record, n, elapsed)
            if time.monotonic() - last_samples >= self.settings.sample_every_s:
                self._refresh_samples(job, trainer)
                last_samples = time.monotonic()
            if int(trainer.epoch) > epoch_before and trainer.iteration < trainer.total_iterations:
                self._evaluate(job, trainer)
            if trainer.iteration % every == 0:
                self._checkpoint(job, trainer)
            chunk = next_chunk(n, elapsed, self.settings.chunk_s)

    def _record_progress(
        self, job: JobRecord, trainer: Trainer, record: StepRecord, n: int, elapsed: float
    ) -> None:
        rate = n / max(elapsed, 1e-9)
        with self._cond:
            job.steps_per_s = rate if job.steps_per_s == 0 else 0.7 * job.steps_per_s + 0.3 * rate
            job.seconds += elapsed
            job.step = trainer.iteration
            job.epoch = trainer.epoch
            point = HistoryPoint.from_record(record, trainer.iteration, trainer.epoch, job.seconds)
            job.history.append(point)
            if len(job.history) > MAX_HISTORY:
                job.history = halve_older(job.history, MAX_HISTORY // 2)

    def _refresh_samples(self, job: JobRecord, trainer: Trainer) -> None:
        samples = model_to_uint8(trainer.fixed_noise_samples())
        with self._cond:
            job.samples = samples
            job.samples_step = trainer.iteration

    def _evaluate(self, job: JobRecord, trainer: Trainer) -> None:
        """Score METRICS_SAMPLES samples of the current G (fixed seed) with the metric classifier.

        Metrics are a bonus: without the classifier file, jobs train without them (logged once).
        """
        if self._evaluator_loader is None:
            return
        try:
            evaluator = self._evaluator_loader(trainer.device)
        except (OSError, ValueError) as exc:
            log.warning("metrics are off for jobs: %s", exc)
            self._evaluator_loader = None
            return
        # The same evaluation noise as the shipped models' manifest, so the numbers compare.
        images, labels = trainer.samples(
            METRICS_SAMPLES, stream_seed(job.settings.seed, EVAL_NOISE_STREAM)
        )
        try:
            metrics = evaluator.evaluate(images, labels).as_dict()
        except ValueError as exc:  # e.g. samples the evaluator refuses; training goes on
            log.warning("job %s: metrics skipped: %s", job.job_id, exc)
            return
        numbers = {
            k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and v is not None
        }
        with self._cond:
            job.metrics = numbers
            job.metrics_step = trainer.iteration

    def _checkpoint(self, job: JobRecord, trainer: Trainer) -> None:
        """Write the full state, the generator download, the history and samples; then job.json."""
        with self._cond:
            metrics = dict(job.metrics)
            history = list(job.history)
            samples = job.samples
        write_training_files(job, trainer, metrics, history, samples)
        with self._cond:
            job.checkpoint_step = trainer.iteration
            job.save()

    def _settle(self, job: JobRecord, trainer: Trainer, command: Command | None) -> None:
        """The run ended normally or on request: final samples, metrics, checkpoint, new state."""
        if command == Command.ABANDON:
            return
        self._refresh_samples(job, trainer)
        if command is None:
            self._evaluate(job, trainer)
        self._checkpoint(job, trainer)
        with self._cond:
            if command is None:
                self._set_state(job, JobState.FINISHED, "")
            elif command == Command.PAUSE:
                self._set_state(job, JobState.PAUSED, job.command_reason)
            elif command == Command.STOP:
                self._set_state(job, JobState.STOPPED, job.command_reason)
            else:
                self._set_state(
                    job,
                    JobState.INTERRUPTED,
                    f"the server shut down; resume continues from step {job.step}",
                )

    def _fail(self, job: JobRecord, reason: str) -> None:
        with self._cond:
            kept = (
                f" The last good checkpoint (step {job.checkpoint_step}) is kept."
                if job.checkpoint_step is not None
                else ""
            )
            self._set_state(job, JobState.FAILED, reason + kept)


def slot_device(slot: int) -> torch.device:
    """The device a worker slot trains on: GPUs round-robin, else the CPU."""
    count = torch.cuda.device_count()
    return torch.device("cuda", slot % count) if count else torch.device("cpu")


@contextlib.contextmanager
def device_stream(device: torch.device) -> Iterator[None]:
    """On a GPU, give the slot its own CUDA stream so concurrent jobs' kernels can overlap."""
    if device.type != "cuda":
        yield
        return
    torch.cuda.set_device(device)
    with torch.cuda.stream(torch.cuda.Stream(device)):
        yield


def next_chunk(n: int, elapsed: float, target_s: float) -> int:
    """Iterations for the next chunk so that it lasts about target_s (at most doubling)."""
    if elapsed <= 0:
        return min(MAX_CHUNK, n * 2)
    return max(1, min(MAX_CHUNK, n * 2, round(n * target_s / elapsed)))


def failure_reason(exc: Exception) -> str:
    """Why training raised, for its owner: the problem in plain words (the log has the rest;
    snapshots blank out any path left in the words)."""
    if isinstance(exc, OSError):
        problem = exc.strerror or type(exc).__name__
        return f"the server could not read or write this job's files ({problem})"
    return f"training raised {type(exc).__name__}: {exc}"


def diverged_message(record: StepRecord, step: int) -> str:
    """Why a job failed on a non-finite loss, with the numbers that gave it away."""
    values = ", ".join(f"{k}={v:.4g}" for k, v in record.losses().items() if v is not None)
    return (
        f"the losses became NaN or infinite by step {step} ({values}): training diverged. "
        "Try lower learning rates."
    )
