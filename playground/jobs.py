"""Background training jobs owned by a session: queue, slots, live progress, checkpoints, recovery.

One `JobManager` per server process (the app shares it through `st.cache_resource`). A job is a
`TrainSettings` plus an owner. Worker threads drive the one training engine
(`playground.train.Trainer`) through its step API, `run(n)` in chunks of about a quarter of a
second, and publish progress that pages read with `snapshot()`: a page never waits on training.

    queued (position) -> running <-> paused -> finished | stopped | failed
    after a server restart, a job that was queued or running is "interrupted": resumable from
    its last checkpoint

Fair sharing: `gpu_slots` jobs train at once (one per GPU by default; one on a CPU-only host), one
owner holds at most `max_jobs_per_owner` of them, and the rest wait in one queue in submission
order. Every call names the owner; another owner's job is answered exactly like a missing one, so
job ids reveal nothing. A job that raises, runs out of GPU memory or produces a NaN/inf loss ends
"failed" with a readable reason; its last good checkpoint stays and the other jobs keep running.
Jobs whose owner's sessions have all ended are stopped after a grace period; checkpoints stay.

On disk, under `runs_dir/<owner key>/<job id>/`: job.json (settings, owner key, state, progress),
checkpoint.safetensors (full training state, `Trainer.save`), generator.safetensors (G weights +
settings: the student's download), history.csv (loss history), samples.npy (latest fixed-noise
samples, uint8). No pickle anywhere.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import hashlib
import io
import json
import logging
import math
import os
import re
import secrets
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from playground.checkpoints import write_atomic
from playground.data import DATA_ENV, DEFAULT_DATA_DIR, data_dir, load_mnist
from playground.gan import StepRecord
from playground.metrics import DEFAULT_SAMPLES, load_evaluator
from playground.settings import Range, field_problems, join_problems, shown
from playground.train import EVAL_NOISE_STREAM, SettingsError, Trainer, TrainSettings, stream_seed

log = logging.getLogger(__name__)

JOB_FILE = "job.json"
CHECKPOINT_FILE = "checkpoint.safetensors"
GENERATOR_FILE = "generator.safetensors"
HISTORY_FILE = "history.csv"
SAMPLES_FILE = "samples.npy"
JOB_FORMAT = 1

RUNS_ENV = "PLAYGROUND_RUNS"
SYNTHETIC_ENV = "PLAYGROUND_SYNTHETIC_DATA"
MAX_HISTORY = 20_000
"""Loss points kept per job; beyond this every other old point is dropped (CSV stays readable)."""
SNAPSHOT_HISTORY = 400
"""Loss points a snapshot carries: a smooth curve, yet cheap to redraw every second."""
MAX_CHUNK = 5_000
METRICS_SAMPLES = DEFAULT_SAMPLES
"""Samples scored per evaluation; FID depends on n, so jobs use the shipped models' n."""


class JobError(ValueError):
    """A job request cannot be honoured; the message says why (shown to the student as is)."""


class JobNotFound(JobError):
    """No such job for this owner (another owner's job is reported exactly like a missing one)."""


class JobLimitReached(JobError):
    """The owner already has as many jobs as the server allows."""


class JobStateError(JobError):
    """The job is not in a state that allows this action (e.g. resuming a finished job)."""


class ConfigError(ValueError):
    """A JobManager setting (usually from an environment variable) is out of range."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite: the run has diverged and cannot continue."""


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


LIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.PAUSED})
"""States of a job that has not ended (it may still train without being resubmitted)."""
RESUMABLE_STATES = frozenset({JobState.PAUSED, JobState.INTERRUPTED})


class _Command(StrEnum):
    """What the owner (or the manager) asked a running job to do at its next chunk boundary."""

    PAUSE = "pause"
    STOP = "stop"
    INTERRUPT = "interrupt"  # server shutting down: checkpoint, list as interrupted
    ABANDON = "abandon"  # crash-like shutdown: write nothing more


# ---------------------------------------------------------------------------------------------
# Settings of the manager (hosting limits)


@dataclass(frozen=True)
class ManagerSettings:
    """How one server shares its compute between students. Every field has an env variable."""

    runs_dir: Path = DEFAULT_DATA_DIR / "runs"
    gpu_slots: int = 1
    max_jobs_per_owner: int = 2
    max_queued_per_owner: int = 4
    max_kept_per_owner: int = 20
    max_epochs: float = 50.0
    checkpoint_every: int = 500
    orphan_grace_s: float = 900.0
    sample_every_s: float = 1.0
    chunk_s: float = 0.25
    cpu_threads: int = 0  # torch intra-op threads for CPU training; 0 leaves torch's setting

    def validate(self) -> None:
        """Raise ConfigError naming every setting (and its variable) out of its range."""
        problems = [
            problem.replace(name, f"{name} ({ENV_VARIABLES[name]})", 1)
            for name, allowed in _RANGES.items()
            for problem in field_problems(self, {name: allowed}, {})
        ]
        if problems:
            raise ConfigError(join_problems(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ManagerSettings:
        """Defaults, overridden by the PLAYGROUND_* variables in ENV_VARIABLES; validated.

        Derived defaults: one slot per GPU (1 without); on a CPU-only host, training leaves one
        core to the web server: cpu_threads = max(1, (cores - 1) // gpu_slots).
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {"runs_dir": default_runs_dir(environ)}
        for f in fields(cls):
            raw = environ.get(ENV_VARIABLES[f.name], "").strip()
            if f.name != "runs_dir" and raw:
                values[f.name] = _parse_number(ENV_VARIABLES[f.name], raw, f.type in ("int", int))
        values.setdefault("gpu_slots", max(1, torch.cuda.device_count()))
        if not torch.cuda.is_available():
            cores = os.cpu_count() or 1
            values.setdefault("cpu_threads", max(1, (cores - 1) // max(1, values["gpu_slots"])))
        settings = cls(**values)
        settings.validate()
        return settings


def _parse_number(variable: str, raw: str, integer: bool) -> int | float:
    try:
        return int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{variable} must be {kind}, got {shown(raw)}") from None


ENV_VARIABLES = {
    "runs_dir": RUNS_ENV,
    "gpu_slots": "PLAYGROUND_GPU_SLOTS",
    "max_jobs_per_owner": "PLAYGROUND_MAX_JOBS_PER_OWNER",
    "max_queued_per_owner": "PLAYGROUND_MAX_QUEUED_PER_OWNER",
    "max_kept_per_owner": "PLAYGROUND_MAX_KEPT_PER_OWNER",
    "max_epochs": "PLAYGROUND_MAX_EPOCHS",
    "checkpoint_every": "PLAYGROUND_CHECKPOINT_EVERY",
    "orphan_grace_s": "PLAYGROUND_ORPHAN_GRACE_S",
    "sample_every_s": "PLAYGROUND_SAMPLE_EVERY_S",
    "chunk_s": "PLAYGROUND_CHUNK_S",
    "cpu_threads": "PLAYGROUND_CPU_THREADS",
}

_RANGES = {
    "gpu_slots": Range(1, 64),
    "max_jobs_per_owner": Range(1, 64),
    "max_queued_per_owner": Range(0, 1000),
    "max_kept_per_owner": Range(1, 10_000),
    "max_epochs": Range(0.01, 100.0),
    "checkpoint_every": Range(1, 10_000_000),
    "orphan_grace_s": Range(0.0, 7 * 24 * 3600.0),
    "sample_every_s": Range(0.05, 3600.0),
    "chunk_s": Range(0.01, 10.0),
    "cpu_threads": Range(0, 1024),
}


def prepare_runs_dir(runs_dir: Path, environ: Mapping[str, str] | None = None) -> None:
    """Create the runs folder, or raise ConfigError naming the variable that moves it.

    The message is shown on the page, so it names the folder only when it is the variable's own
    value, which the admin wrote; other server paths stay in the log.
    """
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        problem = None if os.access(runs_dir, os.W_OK | os.X_OK) else "is not writable"
    except OSError as exc:
        problem = f"cannot be created ({exc.strerror or type(exc).__name__})"
    if problem is None:
        return
    log.error("the runs folder %s %s", runs_dir, problem)
    environ = os.environ if environ is None else environ
    raw = environ.get(RUNS_ENV, "").strip()
    named = raw and Path(raw).expanduser() == runs_dir
    folder = f"{RUNS_ENV}={raw}" if named else "the runs folder"
    raise ConfigError(
        f"{folder} {problem}, so jobs have nowhere to save their checkpoints. "
        f"Set {RUNS_ENV} to a folder this server can write."
    )


def default_runs_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$PLAYGROUND_RUNS, else runs/ inside the data cache ($PLAYGROUND_DATA or ~/.cache/...)."""
    environ = os.environ if environ is None else environ
    if environ.get(RUNS_ENV, "").strip():
        return Path(environ[RUNS_ENV]).expanduser()
    data = environ.get(DATA_ENV, "").strip()
    return (Path(data) if data else DEFAULT_DATA_DIR).expanduser() / "runs"


# ---------------------------------------------------------------------------------------------
# Training data


@dataclass(frozen=True)
class TrainingData:
    """What jobs train on: uint8 images (N, 28, 28), int64 labels (N,), and where they came from."""

    images: Tensor
    labels: Tensor
    description: str


def synthetic_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """PLAYGROUND_SYNTHETIC_DATA=1: train on generated seven-segment digits (demo and test mode)."""
    environ = os.environ if environ is None else environ
    return environ.get(SYNTHETIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def load_training_data() -> TrainingData:
    """Real MNIST from the local cache (never downloads), or synthetic digits in demo mode.

    Loaded once per process (per source). Raises playground.data.DataUnavailable, whose message
    gives the command that fills the cache; a failure is not cached, so fetching fixes it live.
    """
    return _training_data(synthetic_enabled(), str(data_dir()))


@functools.lru_cache(maxsize=2)
def _training_data(synthetic: bool, root: str) -> TrainingData:
    if synthetic:
        return synthetic_digits()
    mnist = load_mnist(root, fetch=False)
    n = mnist.train_images.shape[0]
    return TrainingData(
        mnist.train_images, mnist.train_labels, f"MNIST training set ({n:,} digits)"
    )


# Which of the segments a (top), b (top right), c (bottom right), d (bottom), e (bottom left),
# f (top left), g (middle) light up for each digit, as on a calculator display.
_SEGMENTS = (
    "abcdef",
    "bc",
    "abdeg",
    "abcdg",
    "bcfg",
    "acdfg",
    "acdefg",
    "abc",
    "abcdefg",
    "abcdfg",
)
_SEGMENT_BOXES = {  # (row0, row1, col0, col1) on a 28x28 canvas, strokes 3 px wide
    "a": (4, 7, 9, 20),
    "g": (13, 16, 9, 20),
    "d": (22, 25, 9, 20),
    "f": (4, 16, 8, 11),
    "b": (4, 16, 18, 21),
    "e": (13, 25, 8, 11),
    "c": (13, 25, 18, 21),
}


def synthetic_digits(n: int = 1024, seed: int = 0) -> TrainingData:
    """n seven-segment digits 0-9 (uint8, 28x28), randomly shifted and dimmed, labels i % 10.

    A stand-in for MNIST where it is not on disk: small, instant, and still ten visible classes.
    """
    gen = torch.Generator().manual_seed(seed)
    templates = torch.zeros(10, 28, 28)
    for digit, segments in enumerate(_SEGMENTS):
        for segment in segments:
            r0, r1, c0, c1 = _SEGMENT_BOXES[segment]
            templates[digit, r0:r1, c0:c1] = 1.0
    labels = torch.arange(n) % 10
    shifts = torch.randint(-3, 4, (n, 2), generator=gen)
    images = torch.stack(
        [
            templates[y].roll((int(dy), int(dx)), dims=(0, 1))
            for y, (dy, dx) in zip(labels, shifts, strict=True)
        ]
    )
    brightness = 0.6 + 0.4 * torch.rand(n, 1, 1, generator=gen)
    noise = 0.08 * torch.rand(n, 28, 28, generator=gen)
    pixels = ((images * brightness + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    return TrainingData(pixels, labels.to(torch.int64), f"synthetic seven-segment digits ({n:,})")


# ---------------------------------------------------------------------------------------------
# What a page reads


@dataclass(frozen=True)
class HistoryPoint:
    """The losses and D outputs after one chunk of training (the chunk's last iteration)."""

    step: int
    epoch: float
    seconds: float
    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float


HISTORY_COLUMNS = tuple(f.name for f in fields(HistoryPoint))


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable copy of one job's state and progress; safe to read from any thread."""

    job_id: str
    state: JobState
    settings: TrainSettings
    position: int | None  # 1-based place in the queue while queued
    reason: str  # why it failed, stopped or was interrupted
    device: str
    step: int  # generator updates done
    total_steps: int | None  # known once the job has started
    epoch: float
    images_per_s: float
    eta_s: float | None
    d_real: float | None
    d_fake: float | None
    history: tuple[HistoryPoint, ...]  # thinned to at most SNAPSHOT_HISTORY points
    samples: np.ndarray | None  # (n, 28, 28) uint8, read-only: G(fixed noise) at samples_step
    samples_step: int | None
    metrics: Mapping[str, float]
    metrics_step: int | None
    checkpoint_step: int | None
    created_at: float

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def is_live(self) -> bool:
        """Queued, running or paused: the job has not ended."""
        return self.state in LIVE_STATES

    @property
    def progress(self) -> float:
        """Fraction of the planned generator updates done, in [0, 1]."""
        if not self.total_steps:
            return 0.0
        return min(1.0, self.step / self.total_steps)


@dataclass
class _Job:
    """The manager's mutable record of a job; only touched under the manager's lock."""

    job_id: str
    owner_key: str
    settings: TrainSettings
    directory: Path
    seq: int
    created_at: float
    state: JobState = JobState.QUEUED
    reason: str = ""
    command: _Command | None = None
    stop_reason: str = ""
    device: str = ""
    step: int = 0
    total_steps: int | None = None
    epoch: float = 0.0
    steps_per_s: float = 0.0
    seconds: float = 0.0
    d_real: float | None = None
    d_fake: float | None = None
    history: list[HistoryPoint] = field(default_factory=list)
    samples: np.ndarray | None = None
    samples_step: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_step: int | None = None
    checkpoint_step: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": JOB_FORMAT,
            "job_id": self.job_id,
            "owner_key": self.owner_key,
            "settings": self.settings.to_dict(),
            "seq": self.seq,
            "created_at": self.created_at,
            "state": str(self.state),
            "reason": self.reason,
            "device": self.device,
            "step": self.step,
            "total_steps": self.total_steps,
            "epoch": self.epoch,
            "seconds": self.seconds,
            "metrics": self.metrics,
            "metrics_step": self.metrics_step,
            "checkpoint_step": self.checkpoint_step,
            "samples_step": self.samples_step,
        }


class Evaluator(Protocol):
    """The slice of playground.metrics.Evaluator that jobs use."""

    def evaluate(self, images: Tensor, labels: Tensor | None = None) -> Any: ...


EvaluatorLoader = Callable[[torch.device], Evaluator]


def shipped_evaluator(device: torch.device) -> Evaluator:
    """The metric classifier shipped in trained_models/ (CheckpointError when it is missing)."""
    return load_evaluator(device=device)


def owner_key(owner: str) -> str:
    """A stable, non-reversible folder name for an owner id (user ids never reach the disk)."""
    if not isinstance(owner, str) or not owner.strip():
        raise JobError("a job needs an owner (a session or user id)")
    return hashlib.sha256(owner.encode()).hexdigest()[:24]


# ---------------------------------------------------------------------------------------------
# The manager


class JobManager:
    """Owner-checked background training jobs on `settings.gpu_slots` worker threads.

    `data` returns the training set (called once, on the first job's thread; failures become that
    job's "failed" reason and are retried for the next job). `evaluator` (optional) returns the
    metric evaluator for a device; metrics are computed at each epoch's end and at the finish.
    `trainer_class` is the engine (playground.train.Trainer, or a subclass in tests).
    """

    def __init__(
        self,
        settings: ManagerSettings | None = None,
        data: Callable[[], TrainingData] = load_training_data,
        evaluator: EvaluatorLoader | None = None,
        trainer_class: type[Trainer] = Trainer,
    ) -> None:
        self.settings = settings or ManagerSettings.from_env()
        self.settings.validate()
        self._data_loader = data
        self._data: TrainingData | None = None
        self._data_lock = threading.Lock()
        self._evaluator_loader = evaluator
        self._trainer_class = trainer_class
        self._cond = threading.Condition()
        self._jobs: dict[str, _Job] = {}
        self._seq = 0
        self._closing = False
        self._sessions: dict[str, int] = {}
        self._orphaned_since: dict[str, float] = {}
        if self.settings.cpu_threads:
            # Process-wide: more intra-op threads than free cores makes every op wait on the
            # scheduler, which slows training many-fold and stalls the pages served meanwhile.
            torch.set_num_threads(self.settings.cpu_threads)
        prepare_runs_dir(self.settings.runs_dir)
        self._recover()
        self._threads = [
            threading.Thread(
                target=self._slot_loop,
                args=(slot,),
                name=f"playground-job-slot-{slot}",
                daemon=True,
            )
            for slot in range(self.settings.gpu_slots)
        ]
        self._threads.append(
            threading.Thread(target=self._reap_loop, name="playground-job-reaper", daemon=True)
        )
        for thread in self._threads:
            thread.start()
        _LIVE_MANAGERS.add(self)

    # -- the owner's API -----------------------------------------------------------------------

    def submit(self, owner: str, spec: TrainSettings | Mapping[str, Any]) -> str:
        """Validate `spec`, queue it for `owner` and return the new job's id."""
        key = owner_key(owner)
        settings = self.validate_spec(spec)
        with self._cond:
            if self._closing:
                raise JobError("the server is shutting down; no new jobs are accepted")
            self._check_owner_limits(key)
            job_id = self._new_job_id()
            self._seq += 1
            job = _Job(
                job_id=job_id,
                owner_key=key,
                settings=settings,
                directory=self.settings.runs_dir / key / job_id,
                seq=self._seq,
                created_at=time.time(),
            )
            try:
                job.directory.mkdir(parents=True, exist_ok=False)
            except OSError as exc:
                log.exception("job %s: cannot create its folder", job_id)
                raise JobError(
                    f"the server cannot store a new job right now ({exc.strerror}); try again "
                    "later, or tell whoever runs the server"
                ) from exc
            self._jobs[job_id] = job
            self._persist(job)
            self._cond.notify_all()
        return job_id

    def validate_spec(self, spec: TrainSettings | Mapping[str, Any]) -> TrainSettings:
        """TrainSettings.validate plus this server's limits; raises SettingsError with a message."""
        if isinstance(spec, TrainSettings):
            spec.validate()
            settings = spec
        elif isinstance(spec, Mapping):
            settings = TrainSettings.from_dict(dict(spec))
        else:
            raise SettingsError(
                f"a job spec must be TrainSettings or a mapping, got {type(spec).__name__}"
            )
        if settings.epochs > self.settings.max_epochs:
            raise SettingsError(
                f"epochs must be at most {self.settings.max_epochs:g} on this server "
                f"({ENV_VARIABLES['max_epochs']}), got {settings.epochs:g}"
            )
        if settings.device == "cuda" and not torch.cuda.is_available():
            raise SettingsError(
                "device 'cuda' is not available: this server has no GPU; choose 'auto' or 'cpu'"
            )
        return settings

    def list(self, owner: str) -> list[JobSnapshot]:
        """The owner's jobs, newest first."""
        key = owner_key(owner)
        with self._cond:
            jobs = [job for job in self._jobs.values() if job.owner_key == key]
            jobs.sort(key=lambda job: job.seq, reverse=True)
            return [self._snapshot(job) for job in jobs]

    def get(self, owner: str, job_id: str) -> JobSnapshot:
        """One job of the owner's; JobNotFound for a missing job or anybody else's."""
        with self._cond:
            return self._snapshot(self._owned(owner, job_id))

    def pause(self, owner: str, job_id: str, wait: float = 60.0) -> JobSnapshot:
        """Checkpoint and pause a running job (at its next chunk boundary), or hold a queued one.

        A paused job gives its slot back; `resume` puts it back in the queue at its old place.
        Waits up to `wait` seconds for the running job to reach its checkpoint.
        """
        with self._cond:
            job = self._owned(owner, job_id)
            if job.state == JobState.QUEUED:
                self._set_state(job, JobState.PAUSED, "")
            elif job.state == JobState.RUNNING:
                self._command_and_wait(job, _Command.PAUSE, wait)
            else:
                raise JobStateError(
                    f"job {job_id} is {job.state}: only a running or queued job can be paused"
                )
            return self._snapshot(job)

    def resume(self, owner: str, job_id: str) -> JobSnapshot:
        """Queue a paused or interrupted job again; it continues from its last checkpoint."""
        with self._cond:
            job = self._owned(owner, job_id)
            if job.state not in RESUMABLE_STATES:
                raise JobStateError(
                    f"job {job_id} is {job.state}: only a paused or interrupted job can be resumed"
                )
            self._set_state(job, JobState.QUEUED, "")
            return self._snapshot(job)

    def stop(self, owner: str, job_id: str, wait: float = 60.0) -> JobSnapshot:
        """End a job for good (a running job checkpoints first); its files stay for download."""
        with self._cond:
            job = self._owned(owner, job_id)
            self._stop(job, "stopped by its owner", wait)
            return self._snapshot(job)

    def delete(self, owner: str, job_id: str, wait: float = 60.0) -> None:
        """Stop the job if it is live, then forget it and delete its files."""
        with self._cond:
            job = self._owned(owner, job_id)
            if job.state in LIVE_STATES:
                self._stop(job, "stopped by its owner", wait)
            del self._jobs[job_id]
            self._cond.notify_all()
        shutil.rmtree(job.directory, ignore_errors=True)

    def generator_checkpoint(self, owner: str, job_id: str) -> bytes:
        """The job's generator (weights + settings) at its last checkpoint, as .safetensors."""
        with self._cond:
            job = self._owned(owner, job_id)
            path = job.directory / GENERATOR_FILE
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise JobError(
                f"job {job_id} has no checkpoint yet: one is written every "
                f"{self.settings.checkpoint_every} steps and when the job pauses, stops or finishes"
            ) from None

    def history_csv(self, owner: str, job_id: str) -> str:
        """The job's whole loss history as CSV (one row per chunk of training)."""
        with self._cond:
            history = list(self._owned(owner, job_id).history)
        return history_to_csv(history)

    def has_moving_jobs(self, owner: str) -> bool:
        """True while one of the owner's jobs is queued or running (its page should refresh)."""
        key = owner_key(owner)
        with self._cond:
            return any(
                job.owner_key == key and job.state in (JobState.QUEUED, JobState.RUNNING)
                for job in self._jobs.values()
            )

    # -- sessions and orphans ------------------------------------------------------------------

    def open_session(self, owner: str) -> str:
        """Record that a session of `owner` is alive; returns the owner key to close it with."""
        key = owner_key(owner)
        with self._cond:
            self._sessions[key] = self._sessions.get(key, 0) + 1
            self._orphaned_since.pop(key, None)
        return key

    def close_session(self, key: str) -> None:
        """A session ended; when it was the owner's last, the orphan grace period starts."""
        with self._cond:
            count = self._sessions.get(key, 0) - 1
            if count > 0:
                self._sessions[key] = count
                return
            self._sessions.pop(key, None)
            self._orphaned_since[key] = time.monotonic()
            self._cond.notify_all()

    def stop_orphans(self, now: float | None = None) -> list[str]:
        """Stop the live jobs of owners with no session for longer than the grace period."""
        now = time.monotonic() if now is None else now
        grace = self.settings.orphan_grace_s
        stopped: list[str] = []
        with self._cond:
            expired = [key for key, since in self._orphaned_since.items() if now - since >= grace]
            for key in expired:
                del self._orphaned_since[key]
                for job in self._jobs.values():
                    if job.owner_key == key and job.state in LIVE_STATES:
                        reason = f"stopped: its session ended more than {grace:g} s ago"
                        self._stop(job, reason, wait=0.0)
                        stopped.append(job.job_id)
        return stopped

    # -- lifecycle -------------------------------------------------------------------------------

    def shutdown(self, checkpoint: bool = True, timeout: float = 60.0) -> None:
        """Stop the workers. Running jobs checkpoint and are listed "interrupted" by the next
        manager; with checkpoint=False they write nothing more, as if the process had died."""
        with self._cond:
            self._closing = True
            for job in self._jobs.values():
                if job.state == JobState.RUNNING:
                    job.command = _Command.INTERRUPT if checkpoint else _Command.ABANDON
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _reap_loop(self) -> None:
        interval = min(5.0, max(0.05, self.settings.orphan_grace_s / 4))
        while True:
            with self._cond:
                if self._closing:
                    return
                self._cond.wait(interval)
                if self._closing:
                    return
            self.stop_orphans()

    # -- internals: ownership, limits, states ----------------------------------------------------

    def _owned(self, owner: str, job_id: str) -> _Job:
        key = owner_key(owner)
        job = self._jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None or job.owner_key != key:
            raise JobNotFound(f"there is no job {job_id!r} among your jobs")
        return job

    def _check_owner_limits(self, key: str) -> None:
        mine = [job for job in self._jobs.values() if job.owner_key == key]
        if len(mine) >= self.settings.max_kept_per_owner:
            raise JobLimitReached(
                f"you have {len(mine)} jobs, the most this server keeps per student; "
                "delete one before starting another"
            )
        waiting = sum(job.state in (JobState.QUEUED, JobState.PAUSED) for job in mine)
        if waiting >= self.settings.max_queued_per_owner:
            raise JobLimitReached(
                f"you already have {waiting} jobs waiting (queued or paused), the most allowed; "
                "stop one or wait for it to start"
            )

    def _new_job_id(self) -> str:
        while True:
            job_id = secrets.token_hex(4)
            if job_id not in self._jobs:
                return job_id

    def _set_state(self, job: _Job, state: JobState, reason: str) -> None:
        job.state = state
        job.reason = reason
        job.command = None
        if state != JobState.RUNNING:
            job.steps_per_s = 0.0
        self._persist(job)
        self._cond.notify_all()

    def _command_and_wait(self, job: _Job, command: _Command, wait: float) -> None:
        job.command = command
        self._cond.notify_all()
        if wait > 0 and not self._cond.wait_for(lambda: job.state != JobState.RUNNING, wait):
            raise JobError(
                f"job {job.job_id} did not reach a checkpoint within {wait:g} s; try again"
            )

    def _stop(self, job: _Job, reason: str, wait: float) -> None:
        if job.state == JobState.RUNNING:
            job.stop_reason = reason
            self._command_and_wait(job, _Command.STOP, wait)
        elif job.state in (*LIVE_STATES, JobState.INTERRUPTED):
            self._set_state(job, JobState.STOPPED, reason)
        else:
            raise JobStateError(f"job {job.job_id} has already ended ({job.state})")

    def _snapshot(self, job: _Job) -> JobSnapshot:
        rate = job.steps_per_s
        remaining = None if job.total_steps is None else max(0, job.total_steps - job.step)
        eta = (
            remaining / rate
            if (rate > 0 and remaining is not None and job.state == JobState.RUNNING)
            else None
        )
        last = job.history[-1] if job.history else None
        return JobSnapshot(
            job_id=job.job_id,
            state=job.state,
            settings=job.settings,
            position=self._queue_position(job),
            reason=without_server_paths(job.reason),  # also those job.json kept from before
            device=job.device,
            step=job.step,
            total_steps=job.total_steps,
            epoch=job.epoch,
            images_per_s=rate * job.settings.batch_size * job.settings.k_d,
            eta_s=eta,
            d_real=last.d_real if last else None,
            d_fake=last.d_fake if last else None,
            history=thin(job.history, SNAPSHOT_HISTORY),
            samples=job.samples,
            samples_step=job.samples_step,
            metrics=MappingProxyType(dict(job.metrics)),
            metrics_step=job.metrics_step,
            checkpoint_step=job.checkpoint_step,
            created_at=job.created_at,
        )

    def _queue_position(self, job: _Job) -> int | None:
        if job.state != JobState.QUEUED:
            return None
        return 1 + sum(
            other.state == JobState.QUEUED and other.seq < job.seq for other in self._jobs.values()
        )

    # -- internals: scheduling and the worker ----------------------------------------------------

    def _slot_loop(self, slot: int) -> None:
        device = slot_device(slot)
        with device_stream(device):
            while True:
                job = self._take_next()
                if job is None:
                    return
                try:
                    self._train(job, device)
                except Exception:  # bookkeeping failed (e.g. the disk): keep the slot alive
                    log.exception("job %s: worker error outside training", job.job_id)
                    with self._cond:
                        if job.state == JobState.RUNNING:
                            self._set_state(
                                job, JobState.FAILED, "internal error while saving its state"
                            )

    def _take_next(self) -> _Job | None:
        """Block until a queued job may run (FIFO, owner under its cap); mark it running."""
        with self._cond:
            while True:
                if self._closing:
                    return None
                job = self._first_eligible()
                if job is not None:
                    self._set_state(job, JobState.RUNNING, "")
                    return job
                self._cond.wait()

    def _first_eligible(self) -> _Job | None:
        running: dict[str, int] = {}
        for job in self._jobs.values():
            if job.state == JobState.RUNNING:
                running[job.owner_key] = running.get(job.owner_key, 0) + 1
        queued = sorted(
            (job for job in self._jobs.values() if job.state == JobState.QUEUED),
            key=lambda j: j.seq,
        )
        for job in queued:
            if running.get(job.owner_key, 0) < self.settings.max_jobs_per_owner:
                return job
        return None

    def _train(self, job: _Job, slot: torch.device) -> None:
        """Run one job on this slot until it finishes, is told to pause/stop, or fails."""
        reason = self._train_or_explain(job, slot)
        if reason is not None:  # the trainer is released by now, so its memory can go back
            if slot.type == "cuda":
                torch.cuda.empty_cache()
            self._fail(job, reason)

    def _train_or_explain(self, job: _Job, slot: torch.device) -> str | None:
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

    def _open_trainer(self, job: _Job, slot: torch.device) -> Trainer:
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
            self._persist(job)
        if job.samples is None:
            self._refresh_samples(job, trainer)
        return trainer

    def _training_data(self) -> TrainingData:
        with self._data_lock:
            if self._data is None:
                self._data = self._data_loader()
            return self._data

    def _train_until_told(self, job: _Job, trainer: Trainer) -> _Command | None:
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
        self, job: _Job, trainer: Trainer, record: StepRecord, n: int, elapsed: float
    ) -> None:
        rate = n / max(elapsed, 1e-9)
        with self._cond:
            job.steps_per_s = rate if job.steps_per_s == 0 else 0.7 * job.steps_per_s + 0.3 * rate
            job.seconds += elapsed
            job.step = trainer.iteration
            job.epoch = trainer.epoch
            job.history.append(
                HistoryPoint(
                    step=trainer.iteration,
                    epoch=trainer.epoch,
                    seconds=job.seconds,
                    d_loss=_number(record.d_loss),
                    g_loss=_number(record.g_loss),
                    d_real=_number(record.d_real),
                    d_fake=_number(record.d_fake),
                )
            )
            if len(job.history) > MAX_HISTORY:
                half = MAX_HISTORY // 2
                job.history = job.history[:-half:2] + job.history[-half:]

    def _refresh_samples(self, job: _Job, trainer: Trainer) -> None:
        samples = to_uint8(trainer.fixed_noise_samples())
        with self._cond:
            job.samples = samples
            job.samples_step = trainer.iteration

    def _evaluate(self, job: _Job, trainer: Trainer) -> None:
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

    def _checkpoint(self, job: _Job, trainer: Trainer) -> None:
        """Write the full state, the generator download, the history and samples; then job.json."""
        with self._cond:
            metrics = dict(job.metrics)
            history = list(job.history)
            samples = job.samples
        trainer.save(job.directory / CHECKPOINT_FILE, metrics=metrics)
        write_atomic(job.directory / GENERATOR_FILE, trainer.generator_checkpoint())
        write_atomic(job.directory / HISTORY_FILE, history_to_csv(history).encode())
        if samples is not None:
            buffer = io.BytesIO()
            np.save(buffer, samples, allow_pickle=False)
            write_atomic(job.directory / SAMPLES_FILE, buffer.getvalue())
        with self._cond:
            job.checkpoint_step = trainer.iteration
            self._persist(job)

    def _settle(self, job: _Job, trainer: Trainer, command: _Command | None) -> None:
        """The run ended normally or on request: final samples, metrics, checkpoint, new state."""
        if command == _Command.ABANDON:
            return
        self._refresh_samples(job, trainer)
        if command is None:
            self._evaluate(job, trainer)
        self._checkpoint(job, trainer)
        with self._cond:
            if command is None:
                self._set_state(job, JobState.FINISHED, "")
            elif command == _Command.PAUSE:
                self._set_state(job, JobState.PAUSED, "")
            elif command == _Command.STOP:
                self._set_state(job, JobState.STOPPED, job.stop_reason)
            else:
                self._set_state(
                    job,
                    JobState.INTERRUPTED,
                    f"the server shut down; resume continues from step {job.step}",
                )

    def _fail(self, job: _Job, reason: str) -> None:
        with self._cond:
            kept = (
                f" The last good checkpoint (step {job.checkpoint_step}) is kept."
                if job.checkpoint_step is not None
                else ""
            )
            self._set_state(job, JobState.FAILED, reason + kept)

    # -- internals: disk -------------------------------------------------------------------------

    def _persist(self, job: _Job) -> None:
        """Rewrite job.json (small; called under the lock on every state change)."""
        try:
            write_atomic(job.directory / JOB_FILE, json.dumps(job.to_json(), indent=1).encode())
        except OSError:
            log.exception("job %s: could not write %s", job.job_id, JOB_FILE)

    def _recover(self) -> None:
        """List the jobs a previous server left on disk; queued or running ones are interrupted."""
        for path in sorted(self.settings.runs_dir.glob(f"*/*/{JOB_FILE}")):
            try:
                job = read_job(path)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable job file %s: %s", path, exc)
                continue
            if job.state in (JobState.QUEUED, JobState.RUNNING):
                step = job.checkpoint_step or 0
                job.reason = (
                    f"the server restarted while this job was {job.state}; "
                    f"resume continues from step {step}"
                )
                job.state = JobState.INTERRUPTED
                job.step = step
                self._persist(job)
            self._jobs[job.job_id] = job
            self._seq = max(self._seq, job.seq)


_LIVE_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()


@atexit.register
def _checkpoint_at_exit() -> None:
    """On a normal interpreter exit (e.g. the server stopped with Ctrl-C), checkpoint running jobs.

    Worker threads are daemons; left alone they would be killed inside a torch call.
    """
    for manager in list(_LIVE_MANAGERS):
        manager.shutdown(checkpoint=True, timeout=20.0)


# ---------------------------------------------------------------------------------------------
# Pure helpers


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


def thin(points: list[HistoryPoint], limit: int) -> tuple[HistoryPoint, ...]:
    """At most `limit` points, evenly strided, always keeping the newest."""
    if len(points) <= limit:
        return tuple(points)
    stride = math.ceil(len(points) / limit)
    kept = points[::stride]
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return tuple(kept)


def to_uint8(images: Tensor) -> np.ndarray:
    """Images (n, 1, 28, 28) in [-1, 1] -> read-only uint8 (n, 28, 28): round((x + 1) * 127.5)."""
    pixels = ((images.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    array = pixels.reshape(pixels.shape[0], *pixels.shape[-2:]).numpy().copy()
    array.setflags(write=False)
    return array


def failure_reason(exc: Exception) -> str:
    """Why training raised, for its owner: the problem in plain words (the log has the rest;
    snapshots blank out any path left in the words)."""
    if isinstance(exc, OSError):
        problem = exc.strerror or type(exc).__name__
        return f"the server could not read or write this job's files ({problem})"
    return f"training raised {type(exc).__name__}: {exc}"


_SERVER_PATH = re.compile(r"(?<![\w.)\]])~?/[^\s'\"(),;]+")
_OWNER_KEY = re.compile(r"\b[0-9a-f]{24}\b")  # owner_key's 24 hex digits


def without_server_paths(text: str) -> str:
    """`text` with absolute paths and owner keys blanked out: a student's message must not show
    the server's folders, nor the folder names (owner keys) of other students' jobs."""
    return _OWNER_KEY.sub("…", _SERVER_PATH.sub("<server path>", text))


def diverged_message(record: StepRecord, step: int) -> str:
    """Why a job failed on a non-finite loss, with the numbers that gave it away."""
    values = ", ".join(f"{k}={v:.4g}" for k, v in record.losses().items() if v is not None)
    return (
        f"the losses became NaN or infinite by step {step} ({values}): training diverged. "
        "Try lower learning rates."
    )


def history_to_csv(history: list[HistoryPoint]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for point in history:
        writer.writerow([getattr(point, name) for name in HISTORY_COLUMNS])
    return buffer.getvalue()


def history_from_csv(text: str) -> list[HistoryPoint]:
    rows = csv.DictReader(io.StringIO(text))
    if tuple(rows.fieldnames or ()) != HISTORY_COLUMNS:
        raise ValueError(f"history columns are {rows.fieldnames}, expected {list(HISTORY_COLUMNS)}")
    return [
        HistoryPoint(
            step=int(row["step"]),
            epoch=float(row["epoch"]),
            seconds=float(row["seconds"]),
            d_loss=float(row["d_loss"]),
            g_loss=float(row["g_loss"]),
            d_real=float(row["d_real"]),
            d_fake=float(row["d_fake"]),
        )
        for row in rows
    ]


def read_job(path: Path) -> _Job:
    """A job record from its job.json (and its history/samples files when present)."""
    raw = json.loads(path.read_text())
    if raw.get("format") != JOB_FORMAT:
        raise ValueError(f"unsupported job format {raw.get('format')!r}")
    directory = path.parent
    job = _Job(
        job_id=str(raw["job_id"]),
        owner_key=str(raw["owner_key"]),
        settings=TrainSettings.from_dict(raw["settings"]),
        directory=directory,
        seq=int(raw["seq"]),
        created_at=float(raw["created_at"]),
        state=JobState(raw["state"]),
        reason=str(raw.get("reason", "")),
        device=str(raw.get("device", "")),
        step=int(raw.get("step", 0)),
        total_steps=raw.get("total_steps"),
        epoch=float(raw.get("epoch", 0.0)),
        seconds=float(raw.get("seconds", 0.0)),
        metrics={str(k): float(v) for k, v in (raw.get("metrics") or {}).items()},
        metrics_step=raw.get("metrics_step"),
        checkpoint_step=raw.get("checkpoint_step"),
        samples_step=raw.get("samples_step"),
    )
    if directory.name != job.job_id or directory.parent.name != job.owner_key:
        raise ValueError("job.json does not match its folder")
    history = directory / HISTORY_FILE
    if history.exists():
        job.history = history_from_csv(history.read_text())
    samples = directory / SAMPLES_FILE
    if samples.exists():
        array = np.load(samples, allow_pickle=False)
        if array.dtype == np.uint8 and array.ndim == 3:
            array.setflags(write=False)
            job.samples = array
    return job


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)
