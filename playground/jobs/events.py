"""What a worker tells the manager about the job it trains, wherever it trains it.

A worker (a slot thread, a worker process or a Ray actor) never touches the manager's records: it
emits events, in order, through a `Channel`, and reads the pending command from it.

    Opened        the trainer is ready (fresh, or loaded from the job's checkpoint), and what
                  the job's files hold (history, samples, metrics)
    Trained       one chunk of training: a loss history point and the chunk's speed
    Sampled       G's samples of the fixed noise
    Scored        the metrics of the current G
    Checkpointed  the job's files on disk now hold this step
    Synced        everything at once (a Ray actor found again after a web-server restart)
    Ended         the run finished, or stopped at a command (pause, stop, interrupt)
    Failed        the run failed; the reason is for the job's owner

The same `apply_progress` keeps the worker's own copy (`Progress`: what it writes to disk at each
checkpoint) and the manager's record (`jobs.store.JobRecord`) in step. Events cross a process's
pipe and Ray's object store: they are small, plain dataclasses (samples: 64 × 28 × 28 bytes).
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from playground.data import TrainingData
from playground.gan import HistoryPoint
from playground.history import halve_older
from playground.jobs.states import Command
from playground.train import Trainer, TrainSettings

MAX_HISTORY = 20_000
"""Loss points kept per job; beyond this every other old point is dropped (CSV stays readable)."""


@dataclass(frozen=True)
class JobOrder:
    """What a worker needs to train a job: the rest (history, samples, metrics) is on disk."""

    job_id: str
    settings: TrainSettings
    directory: Path


@dataclass(frozen=True)
class Trained:
    point: HistoryPoint
    steps_per_s: float  # of this chunk alone


@dataclass(frozen=True)
class Sampled:
    samples: np.ndarray  # (n, 28, 28) uint8
    step: int


@dataclass(frozen=True)
class Scored:
    metrics: dict[str, float]
    step: int


@dataclass(frozen=True)
class Checkpointed:
    step: int


@dataclass(frozen=True)
class Ended:
    command: Command | None  # None: the run finished


@dataclass(frozen=True)
class Failed:
    reason: str


@dataclass
class Progress:
    """A job's progress as its worker knows it; the fields share their names with JobRecord's."""

    step: int = 0
    total_steps: int | None = None
    epoch: float = 0.0
    device: str = ""
    steps_per_s: float = 0.0
    seconds: float = 0.0
    history: list[HistoryPoint] = field(default_factory=list)
    samples: np.ndarray | None = None
    samples_step: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_step: int | None = None
    checkpoint_step: int | None = None


@dataclass(frozen=True)
class Opened:
    step: int
    epoch: float
    total_steps: int
    device: str
    saved: Progress  # the history, samples and metrics the job's files hold


@dataclass(frozen=True)
class Synced:
    progress: Progress


Event = Opened | Trained | Sampled | Scored | Checkpointed | Synced | Ended | Failed
TERMINAL = (Ended, Failed)
"""Events after which the worker is done with the job."""


class Channel(Protocol):
    """How a worker reports on one job and hears its commands."""

    def emit(self, event: Event) -> None: ...

    def command(self) -> Command | None: ...


def apply_progress(target: Progress, event: Event) -> None:
    """Apply a progress event to `target`: the worker's Progress or the manager's JobRecord
    (duck-typed: the same fields). Ended and Failed change no progress: the manager sees to them."""
    if isinstance(event, Opened):
        saved = event.saved
        # A resumed run continues the history of the run it was saved from, no further.
        target.history = [p for p in saved.history if p.step <= event.step]
        target.samples, target.samples_step = saved.samples, saved.samples_step
        target.metrics, target.metrics_step = dict(saved.metrics), saved.metrics_step
        target.checkpoint_step = saved.checkpoint_step
        target.step, target.epoch = event.step, event.epoch
        target.total_steps, target.device = event.total_steps, event.device
        target.seconds = target.history[-1].seconds if target.history else 0.0
    elif isinstance(event, Trained):
        rate = event.steps_per_s
        target.steps_per_s = (
            rate if target.steps_per_s == 0 else 0.7 * target.steps_per_s + 0.3 * rate
        )
        target.seconds = event.point.seconds
        target.step, target.epoch = event.point.step, event.point.epoch
        target.history.append(event.point)
        if len(target.history) > MAX_HISTORY:
            target.history = halve_older(target.history, MAX_HISTORY // 2)
    elif isinstance(event, Sampled):
        target.samples, target.samples_step = event.samples, event.step
    elif isinstance(event, Scored):
        target.metrics, target.metrics_step = dict(event.metrics), event.step
    elif isinstance(event, Checkpointed):
        target.checkpoint_step = event.step
    elif isinstance(event, Synced):
        for f in fields(Progress):
            setattr(target, f.name, copy.copy(getattr(event.progress, f.name)))


class Evaluator(Protocol):
    """The slice of playground.metrics.Evaluator that jobs use."""

    def evaluate(self, images: Tensor, labels: Tensor | None = None) -> Any: ...


EvaluatorLoader = Callable[[torch.device], Evaluator]


@dataclass(frozen=True)
class WorkerParts:
    """What every worker of a manager is built from: where the training data comes from, the
    metric evaluator's loader (optional) and the engine class (a subclass in tests).

    A worker process or a Ray actor receives these pickled: module-level functions and classes
    only (a lambda or a class defined in a function cannot cross)."""

    data: Callable[[], TrainingData]
    evaluator: EvaluatorLoader | None
    trainer_class: type[Trainer]

    def picklable_problem(self) -> str | None:
        """None when the parts can go to another process; else what is wrong, in words."""
        for name in ("data", "evaluator", "trainer_class"):
            try:
                pickle.dumps(getattr(self, name))
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                return f"{name} cannot be sent to a worker process ({exc})"
        return None


__all__ = [
    "MAX_HISTORY",
    "TERMINAL",
    "Channel",
    "Checkpointed",
    "Ended",
    "Evaluator",
    "EvaluatorLoader",
    "Event",
    "Failed",
    "JobOrder",
    "Opened",
    "Progress",
    "Sampled",
    "Scored",
    "Synced",
    "Trained",
    "WorkerParts",
    "apply_progress",
]
