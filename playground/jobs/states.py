"""What a job is to its owner: its states, the refusals a request can meet, and the snapshot a page
reads.

    queued (position) -> running <-> paused -> finished | stopped | failed
    after a server restart, a job that was queued or running is "interrupted": resumable from
    its last checkpoint
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from playground.gan import HistoryPoint
from playground.train import TrainSettings


class JobError(ValueError):
    """A job request cannot be honoured; the message says why (shown to the student as is)."""


class JobNotFound(JobError):
    """No such job for this owner (another owner's job is reported exactly like a missing one)."""


class JobLimitReached(JobError):
    """The owner already has as many jobs as the server allows."""


class JobStateError(JobError):
    """The job is not in a state that allows this action (e.g. resuming a finished job)."""


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


class Command(StrEnum):
    """What the owner (or the manager) asked a running job to do at its next chunk boundary."""

    PAUSE = "pause"
    STOP = "stop"
    INTERRUPT = "interrupt"  # server shutting down: checkpoint, list as interrupted
    ABANDON = "abandon"  # crash-like shutdown: write nothing more


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
    slot: int | None = None  # the worker slot training it, while running
    held: bool = False  # paused by the instructor: only the instructor resumes it

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
