"""The job manager: background training jobs owned by sessions, queued for a few worker slots.

One `JobManager` per server process (the app shares it through `st.cache_resource`). A job is a
`TrainSettings` plus an owner. Each slot thread hands its job to the executor (`jobs.executor`:
a worker process per slot by default, threads of this process, or Ray actors), where
`jobs.worker.Worker` trains it with the one engine, `playground.train.Trainer`, through its step
API; its progress lands in the job's record, which pages read with `snapshot()`: a page never
waits on training.

Fair sharing: `gpu_slots` jobs train at once (one per GPU by default; one on a CPU-only host), one
owner holds at most `max_jobs_per_owner` of them, and the rest wait in one queue in submission
order. Every call names the owner; another owner's job is answered exactly like a missing one, so
job ids reveal nothing. Jobs whose owner's sessions have all ended are stopped after a grace
period; checkpoints stay. Files live in the store (`jobs.store`), limits in `jobs.config`.
"""

from __future__ import annotations

import atexit
import logging
import secrets
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from playground.data import TrainingData, load_training_data
from playground.jobs.config import ENV_VARIABLES, ManagerSettings, prepare_runs_dir
from playground.jobs.events import EvaluatorLoader, WorkerParts
from playground.jobs.executor import Executor, make_executor
from playground.jobs.owners import clean_reason, owner_key
from playground.jobs.states import (
    LIVE_STATES,
    RESUMABLE_STATES,
    Command,
    JobError,
    JobLimitReached,
    JobNotFound,
    JobSnapshot,
    JobState,
    JobStateError,
)
from playground.jobs.store import GENERATOR_FILE, JobRecord, history_to_csv, recover, snapshot
from playground.train import SettingsError, Trainer, TrainSettings

log = logging.getLogger(__name__)


class JobManager:
    """Owner-checked background training jobs on `settings.gpu_slots` slots.

    `data` returns the training set (called once per worker, on its first job; failures become
    that job's "failed" reason and are retried for the next job). `evaluator` (optional) returns
    the metric evaluator for a device; metrics are computed at each epoch's end and at the finish.
    `trainer_class` is the engine (playground.train.Trainer, or a subclass in tests). Outside the
    threads executor the three are sent to worker processes: module-level functions and classes.
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
        self._cond = threading.Condition()
        self._jobs: dict[str, JobRecord] = {}
        self._seq = 0
        self._closing = False
        self._sessions: dict[str, int] = {}
        self._orphaned_since: dict[str, float] = {}
        prepare_runs_dir(self.settings.runs_dir)
        parts = WorkerParts(data, evaluator, trainer_class)
        self._executor = make_executor(self.settings, parts, self._cond, self._set_state)
        self._recover()
        self._threads = [
            threading.Thread(target=self._slot_loop, args=(slot,), name=f"job-slot-{slot}")
            for slot in range(self.settings.gpu_slots)
        ]
        self._threads.append(threading.Thread(target=self._reap_loop, name="job-reaper"))
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        # (Re-)registered last, after multiprocessing's exit handler (which kills worker
        # processes), so that it runs first: running jobs checkpoint before that.
        atexit.unregister(_checkpoint_at_exit)
        atexit.register(_checkpoint_at_exit)
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
            job = JobRecord(
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
            job.save()
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
        if settings.device == "cuda" and not self._executor.has_gpu():
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
            self._pause(job, "", wait)
            return self._snapshot(job)

    def resume(self, owner: str, job_id: str) -> JobSnapshot:
        """Queue a paused or interrupted job again; it continues from its last checkpoint."""
        with self._cond:
            job = self._owned(owner, job_id)
            if job.held:
                raise JobStateError(
                    f"the instructor paused job {job_id} ({job.reason}); only they can resume it"
                )
            self._resume(job)
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

    # -- the instructor's API: any job, by id; the reason reaches the student's page ------------

    def cohort(self) -> list[tuple[str, JobSnapshot]]:
        """Every job on the server with its owner key: running, then queued in queue order,
        then paused, then the ended ones newest first (for the instructor's view only)."""
        rank = {JobState.RUNNING: 0, JobState.QUEUED: 1, JobState.PAUSED: 2}
        with self._cond:
            jobs = sorted(
                self._jobs.values(),
                key=lambda job: (
                    rank.get(job.state, 3),
                    job.seq * (1 if job.state in LIVE_STATES else -1),
                ),
            )
            return [(job.owner_key, self._snapshot(job)) for job in jobs]

    def students_online(self) -> int:
        """How many owners have a live browser session with this server now."""
        with self._cond:
            return len(self._sessions)

    def instructor_pause(self, job_id: str, reason: str, wait: float = 60.0) -> JobSnapshot:
        """Pause any student's job, with a reason they see; it stays paused until
        `instructor_resume` (the student may still stop or delete it)."""
        reason = clean_reason(reason)
        with self._cond:
            job = self._any(job_id)
            self._pause(job, f"paused by the instructor: {reason}", wait)
            job.held = True
            job.save()
            return self._snapshot(job)

    def instructor_resume(self, job_id: str) -> JobSnapshot:
        """Queue a paused or interrupted job of any student again."""
        with self._cond:
            job = self._any(job_id)
            self._resume(job)
            return self._snapshot(job)

    def instructor_stop(self, job_id: str, reason: str, wait: float = 60.0) -> JobSnapshot:
        """End any student's job for good, with a reason they see; its files stay theirs."""
        reason = clean_reason(reason)
        with self._cond:
            job = self._any(job_id)
            self._stop(job, f"stopped by the instructor: {reason}", wait)
            return self._snapshot(job)

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
            if self._closing:
                return
            self._closing = True
            if self._executor.keeps_jobs_on_shutdown:
                self._executor.detach()
            else:
                for job in self._jobs.values():
                    if job.state == JobState.RUNNING:
                        job.command = Command.INTERRUPT if checkpoint else Command.ABANDON
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._executor.close(abandon=not checkpoint)

    @property
    def executor(self) -> Executor:
        """Where this manager's jobs train (its `name`: local, threads or ray)."""
        return self._executor

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

    def _owned(self, owner: str, job_id: str) -> JobRecord:
        key = owner_key(owner)
        job = self._jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None or job.owner_key != key:
            raise JobNotFound(f"there is no job {job_id!r} among your jobs")
        return job

    def _any(self, job_id: str) -> JobRecord:
        job = self._jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None:
            raise JobNotFound(f"there is no job {job_id!r} on this server")
        return job

    def _pause(self, job: JobRecord, reason: str, wait: float) -> None:
        if job.state == JobState.QUEUED:
            self._set_state(job, JobState.PAUSED, reason)
        elif job.state == JobState.RUNNING:
            job.command_reason = reason
            self._command_and_wait(job, Command.PAUSE, wait)
        else:
            raise JobStateError(
                f"job {job.job_id} is {job.state}: only a running or queued job can be paused"
            )

    def _resume(self, job: JobRecord) -> None:
        if job.state not in RESUMABLE_STATES:
            raise JobStateError(
                f"job {job.job_id} is {job.state}: only a paused or interrupted job can be resumed"
            )
        self._check_queue_room()
        job.held = False
        self._set_state(job, JobState.QUEUED, "")

    def _check_queue_room(self) -> None:
        """The server-wide cap: a cohort of 200 must not queue 800 jobs nobody will see finish."""
        queued = sum(job.state == JobState.QUEUED for job in self._jobs.values())
        if queued >= self.settings.max_queued_total:
            raise JobLimitReached(
                f"the server's queue is full ({queued} jobs waiting for a slot); "
                "try again when some have started"
            )

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
        self._check_queue_room()

    def _new_job_id(self) -> str:
        while True:
            job_id = secrets.token_hex(4)
            if job_id not in self._jobs:
                return job_id

    def _set_state(self, job: JobRecord, state: JobState, reason: str) -> None:
        """The one way a job changes state: the record (and its job.json), then every waiter."""
        job.set_state(state, reason)
        self._cond.notify_all()

    def _command_and_wait(self, job: JobRecord, command: Command, wait: float) -> None:
        job.command = command
        self._cond.notify_all()
        if wait > 0 and not self._cond.wait_for(lambda: job.state != JobState.RUNNING, wait):
            raise JobError(
                f"job {job.job_id} did not reach a checkpoint within {wait:g} s; try again"
            )

    def _stop(self, job: JobRecord, reason: str, wait: float) -> None:
        if job.state == JobState.RUNNING:
            job.command_reason = reason
            self._command_and_wait(job, Command.STOP, wait)
        elif job.state in (*LIVE_STATES, JobState.INTERRUPTED):
            self._set_state(job, JobState.STOPPED, reason)
        else:
            raise JobStateError(f"job {job.job_id} has already ended ({job.state})")

    def _snapshot(self, job: JobRecord) -> JobSnapshot:
        return snapshot(job, self._queue_position(job))

    def _queue_position(self, job: JobRecord) -> int | None:
        if job.state != JobState.QUEUED:
            return None
        return 1 + sum(
            other.state == JobState.QUEUED and other.seq < job.seq for other in self._jobs.values()
        )

    # -- internals: scheduling and the worker ----------------------------------------------------

    def _slot_loop(self, slot: int) -> None:
        while True:
            job = self._take_next(slot)
            if job is None:
                return
            try:
                self._executor.train(job, slot)
            except Exception:  # bookkeeping failed (e.g. the disk): keep the slot alive
                log.exception("job %s: worker error outside training", job.job_id)
                with self._cond:
                    if job.state == JobState.RUNNING:
                        self._set_state(
                            job, JobState.FAILED, "internal error while saving its state"
                        )

    def _take_next(self, slot: int) -> JobRecord | None:
        """Block until a job needs this slot: one found still training after a restart (Ray),
        else a queued one that may run (FIFO, owner under its cap), then marked running."""
        with self._cond:
            while True:
                if self._closing:
                    return None
                job = self._unfollowed() or self._first_eligible()
                if job is not None:
                    if job.state == JobState.QUEUED:
                        self._set_state(job, JobState.RUNNING, "")
                    job.slot = slot
                    return job
                self._cond.wait()

    def _unfollowed(self) -> JobRecord | None:
        """A running job no slot follows: one a previous server left training on Ray."""
        found = (j for j in self._jobs.values() if j.state == JobState.RUNNING and j.slot is None)
        return min(found, key=lambda job: job.seq, default=None)

    def _first_eligible(self) -> JobRecord | None:
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

    # -- internals: disk -------------------------------------------------------------------------

    def _recover(self) -> None:
        """List the jobs a previous server left on disk (queued or running ones: interrupted)."""
        for job in recover(self.settings.runs_dir, self._executor.still_training):
            self._jobs[job.job_id] = job
            self._seq = max(self._seq, job.seq)


_LIVE_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()


def _checkpoint_at_exit() -> None:
    """On a normal interpreter exit (e.g. the server stopped with Ctrl-C), checkpoint running jobs.

    Slot threads and worker processes are daemons; left alone they would be killed inside a
    torch call. (Jobs on Ray are left training: a restarted server finds them.)
    """
    for manager in list(_LIVE_MANAGERS):
        manager.shutdown(checkpoint=True, timeout=20.0)
