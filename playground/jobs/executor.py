"""Where a job trains: the executor interface of the job manager, and the thread executor.

The manager keeps owners, the queue, the caps, the states, the store and recovery; a slot thread
of the manager takes the next job and hands it to `Executor.train`, which returns when the job
has left "running". Three executors, chosen by `ManagerSettings.executor` (PLAYGROUND_EXECUTOR):

    local    one warm worker process per slot (`jobs.local`): a crash, an OOM kill or a hang in
             training fails only its job, and training does not share the web server's GIL
    threads  the slot thread trains the job itself, in the web server's process (`ThreadExecutor`)
    ray      one Ray actor per job on a cluster (`jobs.ray_executor`); jobs outlive the server

Every executor runs the same `jobs.worker.Worker` and reports through the same events
(`jobs.events`); `Executor.record` applies them to the job's record under the manager's lock, so
states change in one place whatever trains the job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar

import torch

from playground.jobs.config import ManagerSettings, compute_description
from playground.jobs.events import (
    Checkpointed,
    Ended,
    Event,
    Failed,
    JobOrder,
    Opened,
    Synced,
    WorkerParts,
    apply_progress,
)
from playground.jobs.states import Command, JobState
from playground.jobs.store import JobRecord
from playground.jobs.worker import Worker, device_stream, slot_device

SetState = Callable[[JobRecord, JobState, str], None]


class Executor:
    """How the manager's slots train jobs. Subclasses implement `train`; the rest has defaults.

    `lock` is the manager's condition: records are read and written only under it; `set_state`
    is the manager's one way to change a job's state (it notifies every waiter).
    """

    name: ClassVar[str]
    keeps_jobs_on_shutdown: ClassVar[bool] = False
    """True when jobs go on training while the web server restarts (Ray)."""

    def __init__(
        self,
        settings: ManagerSettings,
        parts: WorkerParts,
        lock: threading.Condition,
        set_state: SetState,
    ) -> None:
        self.settings = settings
        self.parts = parts
        self.lock = lock
        self._set_state = set_state

    def train(self, job: JobRecord, slot: int) -> None:
        """Train `job` (marked running, or found still training) until it leaves "running"."""
        raise NotImplementedError

    where: ClassVar[str] = ""
    """How this executor runs a job, in words (after the device)."""

    def has_gpu(self) -> bool:
        """True when jobs can train on a CUDA GPU."""
        return torch.cuda.is_available()

    def description(self) -> str:
        """Where jobs train, in words, for the pages: the device, then how."""
        return f"{compute_description()}, {self.where}"

    def still_training(self, job: JobRecord) -> bool:
        """On recovery: is this job, running when the last server stopped, training still?"""
        return False

    def detach(self) -> None:
        """The server is going: stop following jobs that keep training without it."""

    def close(self, abandon: bool = False) -> None:
        """Release the workers (after every slot has returned); `abandon`: as if killed."""

    # -- shared by every executor ----------------------------------------------------------------

    def record(self, job: JobRecord, event: Event) -> None:
        """Apply a worker's event to the job's record (call under the manager's lock)."""
        if isinstance(event, Ended):
            self._set_state(job, *ended_state(job, event.command))
        elif isinstance(event, Failed):
            self._set_state(job, JobState.FAILED, event.reason + kept_checkpoint(job))
        else:
            apply_progress(job, event)
            if job.samples is not None:  # shared by every snapshot of the job
                job.samples.setflags(write=False)
            if isinstance(event, Opened | Checkpointed | Synced):
                job.save()

    def fail(self, job: JobRecord, reason: str) -> None:
        """Fail a running job for a reason found outside its worker (e.g. the worker died)."""
        with self.lock:
            if job.state == JobState.RUNNING:
                self.record(job, Failed(reason))


def order_of(job: JobRecord) -> JobOrder:
    return JobOrder(job.job_id, job.settings, job.directory)


def ended_state(job: JobRecord, command: Command | None) -> tuple[JobState, str]:
    """The state a run that ended on `command` (None: it finished) leaves its job in, and why."""
    if command is None:
        return JobState.FINISHED, ""
    if command == Command.PAUSE:
        return JobState.PAUSED, job.command_reason
    if command == Command.STOP:
        return JobState.STOPPED, job.command_reason
    return JobState.INTERRUPTED, f"the server shut down; resume continues from step {job.step}"


def kept_checkpoint(job: JobRecord) -> str:
    if job.checkpoint_step is None:
        return ""
    return f" The last good checkpoint (step {job.checkpoint_step}) is kept."


class ThreadExecutor(Executor):
    """The slot thread trains the job itself, in this process: no start-up cost and nothing to
    pickle, but training shares the GIL with page reruns and a crash in torch takes the server
    down. Useful for tests, a laptop, and as the comparison point of bench/bench_jobs.py."""

    name = "threads"
    where = "in threads of the web server's process"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._worker = Worker(self.settings, self.parts)
        if self.settings.cpu_threads:
            # Process-wide: more intra-op threads than free cores makes every op wait on the
            # scheduler, which slows training many-fold and stalls the pages served meanwhile.
            torch.set_num_threads(self.settings.cpu_threads)

    def train(self, job: JobRecord, slot: int) -> None:
        device = slot_device(slot)
        with device_stream(device):
            self._worker.train(order_of(job), device, _RecordChannel(self, job))


class _RecordChannel:
    """A worker on a slot thread reports straight into the record, under the manager's lock."""

    def __init__(self, executor: Executor, job: JobRecord) -> None:
        self._executor = executor
        self._job = job

    def emit(self, event: Event) -> None:
        with self._executor.lock:
            self._executor.record(self._job, event)

    def command(self) -> Command | None:
        with self._executor.lock:
            return self._job.command


def make_executor(
    settings: ManagerSettings, parts: WorkerParts, lock: threading.Condition, set_state: SetState
) -> Executor:
    """The executor `settings.executor` names. The local and Ray executors receive `parts`
    pickled: TypeError, naming the part, when one cannot cross (a lambda, a local class)."""
    if settings.executor == "threads":
        return ThreadExecutor(settings, parts, lock, set_state)
    problem = parts.picklable_problem()
    if problem is not None:
        raise TypeError(
            f"the {settings.executor} executor trains in another process, but {problem}: pass "
            "module-level functions and classes, or use the threads executor"
        )
    if settings.executor == "ray":
        from playground.jobs.ray_executor import RayExecutor  # imports Ray: only when asked for

        return RayExecutor(settings, parts, lock, set_state)
    from playground.jobs.local import LocalExecutor  # it subclasses Executor

    return LocalExecutor(settings, parts, lock, set_state)


__all__ = ["Executor", "SetState", "ThreadExecutor", "ended_state", "make_executor", "order_of"]
