"""The on-disk store of the jobs: one folder per job, `runs_dir/<owner key>/<job id>/`, holding

    job.json                  settings, owner key, state, progress (rewritten on every change)
    checkpoint.safetensors    the full training state (`Trainer.save`)
    generator.safetensors     G's weights + settings: the student's download
    history.csv               the loss history, one row per chunk of training
    samples.npy               the latest fixed-noise samples, uint8

No pickle anywhere. After a restart, `recover` lists what a previous server left; jobs that were
queued or running are marked interrupted (resumable from their last checkpoint).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from playground.checkpoints import write_atomic
from playground.gan import HistoryPoint
from playground.history import thin
from playground.jobs.owners import without_server_paths
from playground.jobs.states import Command, JobSnapshot, JobState
from playground.train import Trainer, TrainSettings

log = logging.getLogger(__name__)

JOB_FILE = "job.json"
CHECKPOINT_FILE = "checkpoint.safetensors"
GENERATOR_FILE = "generator.safetensors"
HISTORY_FILE = "history.csv"
SAMPLES_FILE = "samples.npy"
JOB_FORMAT = 1

HISTORY_COLUMNS = tuple(f.name for f in fields(HistoryPoint))
SNAPSHOT_HISTORY = 400
"""Loss points a snapshot carries: a smooth curve, yet cheap to redraw every second."""


@dataclass
class JobRecord:
    """The manager's mutable record of a job; only touched under the manager's lock."""

    job_id: str
    owner_key: str
    settings: TrainSettings
    directory: Path
    seq: int
    created_at: float
    state: JobState = JobState.QUEUED
    reason: str = ""
    command: Command | None = None
    command_reason: str = ""  # the reason a pause or stop command gives the job
    slot: int | None = None  # the worker slot training it, while running
    held: bool = False  # paused by the instructor: only the instructor resumes it
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
            "held": self.held,
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

    def save(self) -> None:
        """Rewrite job.json (small; called under the manager's lock on every state change)."""
        try:
            write_atomic(self.directory / JOB_FILE, json.dumps(self.to_json(), indent=1).encode())
        except OSError:
            log.exception("job %s: could not write %s", self.job_id, JOB_FILE)

    def set_state(self, state: JobState, reason: str) -> None:
        """Move to `state` for `reason` (a pending command is dropped) and save job.json."""
        self.state = state
        self.reason = reason
        self.command = None
        if state != JobState.RUNNING:
            self.steps_per_s = 0.0
            self.slot = None
        self.save()


def snapshot(job: JobRecord, position: int | None) -> JobSnapshot:
    """What a page reads of `job`: an immutable copy, its history thinned to SNAPSHOT_HISTORY."""
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
        position=position,
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
        slot=job.slot,
        held=job.held,
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


def read_job(path: Path) -> JobRecord:
    """A job record from its job.json (and its history/samples files when present)."""
    raw = json.loads(path.read_text())
    if raw.get("format") != JOB_FORMAT:
        raise ValueError(f"unsupported job format {raw.get('format')!r}")
    directory = path.parent
    job = JobRecord(
        job_id=str(raw["job_id"]),
        owner_key=str(raw["owner_key"]),
        settings=TrainSettings.from_dict(raw["settings"]),
        directory=directory,
        seq=int(raw["seq"]),
        created_at=float(raw["created_at"]),
        state=JobState(raw["state"]),
        reason=str(raw.get("reason", "")),
        held=raw.get("held") is True,
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


def write_training_files(
    directory: Path,
    trainer: Trainer,
    metrics: dict[str, float],
    history: list[HistoryPoint],
    samples: np.ndarray | None,
) -> None:
    """A job's checkpoint, generator download, history and samples, each written atomically."""
    trainer.save(directory / CHECKPOINT_FILE, metrics=metrics)
    write_atomic(directory / GENERATOR_FILE, trainer.generator_checkpoint())
    write_atomic(directory / HISTORY_FILE, history_to_csv(history).encode())
    if samples is not None:
        buffer = io.BytesIO()
        np.save(buffer, samples, allow_pickle=False)
        write_atomic(directory / SAMPLES_FILE, buffer.getvalue())


def recover(
    runs_dir: Path, still_training: Callable[[JobRecord], bool] = lambda job: False
) -> list[JobRecord]:
    """The jobs a previous server left under `runs_dir`. A running job that `still_training`
    finds (a Ray actor outlives the server) stays running; other queued or running ones are
    marked interrupted (saved so), resumable from their last checkpoint. Unreadable folders are
    skipped."""
    recovered = []
    for path in sorted(runs_dir.glob(f"*/*/{JOB_FILE}")):
        try:
            job = read_job(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("skipping unreadable job file %s: %s", path, exc)
            continue
        if job.state == JobState.RUNNING and still_training(job):
            job.reason = ""
        elif job.state in (JobState.QUEUED, JobState.RUNNING):
            step = job.checkpoint_step or 0
            job.reason = (
                f"the server restarted while this job was {job.state}; "
                f"resume continues from step {step}"
            )
            job.state = JobState.INTERRUPTED
            job.step = step
            job.save()
        recovered.append(job)
    return recovered
