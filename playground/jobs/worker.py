"""Training one job on one device: the only part of the job system that touches the engine.

An executor (`jobs.executor`) hands a job to `Worker.train` on a slot thread, in a worker process
or in a Ray actor. The worker opens the job's `Trainer` (fresh, or from its checkpoint), drives its
step API with `run(n)` in chunks of about `chunk_s` seconds, and reports through a `Channel`
(`jobs.events`): the history, G's samples of the fixed noise, metrics at each epoch's end, a
checkpoint every `checkpoint_every` steps. Between chunks it reads the job's pending command
(pause, stop, interrupt, abandon). A run that raises, runs out of GPU memory or diverges ends
"failed" with a readable reason; the other jobs keep running.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import torch

from playground.data import TrainingData
from playground.gan import HistoryPoint, StepRecord
from playground.jobs.config import ManagerSettings
from playground.jobs.events import (
    MAX_HISTORY,
    Channel,
    Checkpointed,
    Ended,
    Evaluator,
    EvaluatorLoader,
    Event,
    Failed,
    JobOrder,
    Opened,
    Progress,
    Sampled,
    Scored,
    Trained,
    WorkerParts,
    apply_progress,
)
from playground.jobs.states import Command
from playground.jobs.store import CHECKPOINT_FILE, JOB_FILE, read_job, write_training_files
from playground.metrics import DEFAULT_SAMPLES, load_evaluator
from playground.pixels import model_to_uint8
from playground.seeds import EVAL_NOISE_STREAM, stream_seed
from playground.train import Trainer

log = logging.getLogger(__name__)

MAX_CHUNK = 5_000
METRICS_SAMPLES = DEFAULT_SAMPLES
"""Samples scored per evaluation; FID depends on n, so jobs use the shipped models' n."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite: the run has diverged and cannot continue."""


def shipped_evaluator(device: torch.device) -> Evaluator:
    """The metric classifier shipped in trained_models/ (CheckpointError when it is missing)."""
    return load_evaluator(device=device)


class JobRun:
    """One job as its worker trains it: the order, the channel, and the worker's own Progress
    (what it writes to disk at a checkpoint), kept in step with what it reports."""

    def __init__(self, order: JobOrder, channel: Channel) -> None:
        self.order = order
        self.channel = channel
        self.progress = Progress()

    def publish(self, event: Event) -> None:
        apply_progress(self.progress, event)
        self.channel.emit(event)


class Worker:
    """Trains jobs, one per call of `train`, for one executor's slots.

    The training data is loaded once per worker (on the first job; a failure becomes that job's
    "failed" reason and is retried for the next job). Metrics are off when `parts.evaluator` is
    None or cannot be loaded (logged once).
    """

    def __init__(self, settings: ManagerSettings, parts: WorkerParts) -> None:
        self.settings = settings
        self._parts = parts
        self._data: TrainingData | None = None
        self._data_lock = threading.Lock()
        self._evaluator_loader = parts.evaluator

    def train(self, order: JobOrder, slot: torch.device, channel: Channel) -> None:
        """Run one job on this slot until it finishes, is told to pause/stop, or fails."""
        run = JobRun(order, channel)
        reason = self._train_or_explain(run, slot)
        if reason is not None:  # the trainer is released by now, so its memory can go back
            if slot.type == "cuda":
                torch.cuda.empty_cache()
            channel.emit(Failed(reason))

    def _train_or_explain(self, run: JobRun, slot: torch.device) -> str | None:
        """None when the run ended normally or on request, else why it failed (for the owner)."""
        try:
            trainer = self._open_trainer(run, slot)
            outcome = self._train_until_told(run, trainer)
            self._settle(run, trainer, outcome)
        except TrainingDiverged as exc:
            return str(exc)
        except torch.cuda.OutOfMemoryError:
            return (
                f"ran out of GPU memory at batch size {run.order.settings.batch_size}; try a "
                "smaller batch size, or start it again when fewer jobs are running"
            )
        except Exception as exc:  # the job's own failure: report it, keep the other jobs running
            log.exception("job %s failed", run.order.job_id)
            return failure_reason(exc)
        return None

    def _open_trainer(self, run: JobRun, slot: torch.device) -> Trainer:
        data = self._training_data()
        settings = run.order.settings
        device = torch.device("cpu") if settings.device == "cpu" else slot
        checkpoint = run.order.directory / CHECKPOINT_FILE
        trainer_class = self._parts.trainer_class
        if checkpoint.exists():
            trainer = trainer_class.load(checkpoint, data.images, data.labels, device=device)
        else:
            trainer = trainer_class(settings, data.images, data.labels, device=device)
        opened = Opened(
            trainer.iteration,
            trainer.epoch,
            trainer.total_iterations,
            str(trainer.device),
            saved=progress_on_disk(run.order),
        )
        run.publish(opened)
        if run.progress.samples is None:
            self._refresh_samples(run, trainer)
        return trainer

    def _training_data(self) -> TrainingData:
        with self._data_lock:
            if self._data is None:
                self._data = self._parts.data()
            return self._data

    def _train_until_told(self, run: JobRun, trainer: Trainer) -> Command | None:
        """Train in chunks of ~chunk_s seconds; return the command that stopped it (None: done)."""
        chunk = 1
        last_samples = time.monotonic()
        every = self.settings.checkpoint_every
        while True:
            command = run.channel.command()
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
            seconds = run.progress.seconds + elapsed
            point = HistoryPoint.from_record(record, trainer.iteration, trainer.epoch, seconds)
            run.publish(Trained(point, n / max(elapsed, 1e-9)))
            if time.monotonic() - last_samples >= self.settings.sample_every_s:
                self._refresh_samples(run, trainer)
                last_samples = time.monotonic()
            if int(trainer.epoch) > epoch_before and trainer.iteration < trainer.total_iterations:
                self._evaluate(run, trainer)
            if trainer.iteration % every == 0:
                self._checkpoint(run, trainer)
            chunk = next_chunk(n, elapsed, self.settings.chunk_s)

    def _refresh_samples(self, run: JobRun, trainer: Trainer) -> None:
        samples = model_to_uint8(trainer.fixed_noise_samples())
        samples.setflags(write=False)
        run.publish(Sampled(samples, trainer.iteration))

    def _evaluate(self, run: JobRun, trainer: Trainer) -> None:
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
            METRICS_SAMPLES, stream_seed(run.order.settings.seed, EVAL_NOISE_STREAM)
        )
        try:
            metrics = evaluator.evaluate(images, labels).as_dict()
        except ValueError as exc:  # e.g. samples the evaluator refuses; training goes on
            log.warning("job %s: metrics skipped: %s", run.order.job_id, exc)
            return
        numbers = {
            k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and v is not None
        }
        run.publish(Scored(numbers, trainer.iteration))

    def _checkpoint(self, run: JobRun, trainer: Trainer) -> None:
        """Write the full state, the generator download, the history and samples; then say so."""
        progress = run.progress
        write_training_files(
            run.order.directory, trainer, progress.metrics, progress.history, progress.samples
        )
        run.publish(Checkpointed(trainer.iteration))

    def _settle(self, run: JobRun, trainer: Trainer, command: Command | None) -> None:
        """The run ended normally or on request: final samples, metrics, checkpoint, the end."""
        if command == Command.ABANDON:
            return
        self._refresh_samples(run, trainer)
        if command is None:
            self._evaluate(run, trainer)
        self._checkpoint(run, trainer)
        run.publish(Ended(command))


def progress_on_disk(order: JobOrder) -> Progress:
    """The job's history, samples and metrics as its files hold them (all empty for a new job):
    the files of its last checkpoint, whichever machine wrote them."""
    try:
        saved = read_job(order.directory / JOB_FILE)
    except FileNotFoundError:
        return Progress()
    return Progress(
        history=saved.history,
        samples=saved.samples,
        samples_step=saved.samples_step,
        metrics=dict(saved.metrics),
        metrics_step=saved.metrics_step,
        checkpoint_step=saved.checkpoint_step,
    )


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


__all__ = [
    "MAX_HISTORY",
    "METRICS_SAMPLES",
    "Evaluator",
    "EvaluatorLoader",
    "TrainingDiverged",
    "Worker",
    "device_stream",
    "next_chunk",
    "shipped_evaluator",
    "slot_device",
]
