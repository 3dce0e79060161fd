"""The Ray executor: each job trains in a Ray actor, placed by the cluster on any node.

Set `PLAYGROUND_RAY_ADDRESS` (`auto` on a machine of the cluster, `ray://head:10001` from
elsewhere, `local` for a one-machine cluster started here, as the tests do). Each job is a named,
detached actor (`JobActor`) that asks for 1/`ray_slots_per_gpu` of a GPU on a cluster with GPUs
(and `ray_job_cpus` CPUs). Ray is imported only when this executor is chosen.

- The actor trains on a thread of its own with the same `Worker` as every executor and keeps its
  events; the manager's slot thread polls them (`poll(cursor)`) and sends commands (`tell`).
- Checkpoints are written to the job's folder under the runs directory, so every node must see
  the web server's runs directory at the same path (NFS or the like).
- Jobs outlive the web server: `shutdown` only stops following them. A restarted server finds
  each job that was running by its actor's name (`job-<id>` in a namespace made from the runs
  directory) and follows it again, from a full `Synced` copy of its progress.
- An actor that dies (its node lost, its process killed) is restarted once by Ray: it reopens
  the job from its last checkpoint and trains on. A second death fails the job with a reason.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from typing import Any

import torch

from playground.jobs.config import ENV_VARIABLES, ConfigError, ManagerSettings
from playground.jobs.events import (
    TERMINAL,
    Event,
    JobOrder,
    Opened,
    Progress,
    Synced,
    WorkerParts,
    apply_progress,
)
from playground.jobs.executor import Executor, order_of
from playground.jobs.local import stall_deadline, stalled_reason
from playground.jobs.states import Command
from playground.jobs.store import JobRecord
from playground.jobs.worker import Worker, device_stream

log = logging.getLogger(__name__)

RESTARTS = 1
"""Times Ray restarts a dead job actor (on any node); each restart resumes from the checkpoint."""
MAX_EVENTS = 2_000
"""Events an actor keeps for a server that is away; past this, a returning server gets a Synced."""
POLL_TIMEOUT_S = 10.0

Cursor = tuple[str, int] | None
"""(the actor's incarnation, the number of events read): where a poll left off."""


class RayExecutor(Executor):
    """One Ray actor per job (see the module docstring)."""

    name = "ray"
    keeps_jobs_on_shutdown = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._ray = connect(self.settings.ray_address)
        self._actor_class = self._ray.remote(JobActor)
        self.namespace = namespace_of(self.settings)
        self._gpus = self._ray.cluster_resources().get("GPU", 0) > 0
        self._found: set[str] = set()
        self._detached = threading.Event()
        self._poll_s = max(0.05, min(0.5, self.settings.chunk_s))

    def has_gpu(self) -> bool:
        return self._gpus

    def description(self) -> str:
        resources = self._ray.cluster_resources()
        gpus, cpus = resources.get("GPU", 0), resources.get("CPU", 0)
        return f"a Ray cluster ({gpus:g} GPUs, {cpus:g} CPUs), one actor per job"

    def still_training(self, job: JobRecord) -> bool:
        if self._actor(job.job_id) is None:
            return False
        self._found.add(job.job_id)
        return True

    def detach(self) -> None:
        self._detached.set()

    def train(self, job: JobRecord, slot: int) -> None:
        actor = self._actor(job.job_id) if job.job_id in self._found else None
        self._found.discard(job.job_id)
        if actor is None:
            actor = self._start(job)
        self._follow(job, actor)

    def _start(self, job: JobRecord) -> Any:
        stale = self._actor(job.job_id)  # one left from an earlier run of this job: done with
        if stale is not None:
            self._ray.kill(stale, no_restart=True)
        options: dict[str, Any] = {
            "name": actor_name(job.job_id),
            "namespace": self.namespace,
            "lifetime": "detached",
            "max_restarts": RESTARTS,
            "num_cpus": self.settings.ray_job_cpus,
        }
        if self._gpus:
            options["num_gpus"] = 1 / self.settings.ray_slots_per_gpu
        return self._actor_class.options(**options).remote(order_of(job), self.settings, self.parts)

    def _follow(self, job: JobRecord, actor: Any) -> None:
        """Poll the actor's events into the record and send it commands, until the run ends,
        the actor is dead for good, or the server detaches."""
        cursor: Cursor = None
        sent: Command | None = None
        heard = time.monotonic()
        while not self._detached.is_set():
            with self.lock:
                command = job.command
            if command is not None and command != sent:
                actor.tell.remote(command)
                sent = command
            try:
                after, events = self._poll(actor, cursor)
            except self._ray.exceptions.ActorDiedError:
                self.fail(job, ACTOR_DIED)
                return
            if after is not None and cursor is not None and after[0] != cursor[0]:
                sent = None  # a restarted actor has not heard the command
            cursor = after
            if events:
                heard = time.monotonic()
                if self._record_all(job, events):
                    self._ray.kill(actor, no_restart=True)
                    return
            elif time.monotonic() - heard > stall_deadline(self.settings, cursor is not None):
                self._ray.kill(actor, no_restart=True)
                self.fail(job, stalled_reason(self.settings.stall_s))
                return
            else:
                time.sleep(self._poll_s)

    def _poll(self, actor: Any, cursor: Cursor) -> tuple[Cursor, list[Event]]:
        """The actor's events since `cursor`; none while it restarts or answers slowly."""
        exceptions = self._ray.exceptions
        try:
            return self._ray.get(actor.poll.remote(cursor), timeout=POLL_TIMEOUT_S)
        except (exceptions.ActorUnavailableError, exceptions.GetTimeoutError):
            return cursor, []

    def _record_all(self, job: JobRecord, events: list[Event]) -> bool:
        """Apply the events to the record; True when the run has ended."""
        with self.lock:
            for event in events:
                self.record(job, event)
                if isinstance(event, TERMINAL):
                    return True
        return False

    def _actor(self, job_id: str) -> Any | None:
        try:
            return self._ray.get_actor(actor_name(job_id), namespace=self.namespace)
        except ValueError:  # no live actor of that name
            return None

    def kill_all(self) -> int:
        """Kill every job actor of this runs directory (tests; an admin's clean slate)."""
        named = self._ray.util.list_named_actors(all_namespaces=True)
        mine = [a["name"] for a in named if a.get("namespace") == self.namespace]
        for name in mine:
            actor = self._ray.get_actor(name, namespace=self.namespace)
            self._ray.kill(actor, no_restart=True)
        return len(mine)


ACTOR_DIED = (
    "the Ray actor training this job died and was not restarted (its node was lost, or its "
    "process was killed, e.g. out of memory, once more than Ray restarts it); the other jobs "
    "carry on"
)


def connect(address: str) -> Any:
    """The `ray` module, connected to the cluster at `address` (once per process)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            f"{ENV_VARIABLES['executor']}=ray needs the ray package on the web server and every "
            "node (pip install ray)"
        ) from None
    if not ray.is_initialized():
        if address == "local":
            ray.init(include_dashboard=False)
        else:
            ray.init(address=address)
    return ray


def namespace_of(settings: ManagerSettings) -> str:
    """The Ray namespace of one runs directory: two courses on one cluster never meet."""
    digest = hashlib.sha256(str(settings.runs_dir.expanduser().resolve()).encode()).hexdigest()
    return f"playground-{digest[:12]}"


def actor_name(job_id: str) -> str:
    return f"job-{job_id}"


# ---------------------------------------------------------------------------------------------
# On a node of the cluster


class JobActor:
    """Trains one job inside a Ray actor (wrapped by `ray.remote` where it is used).

    The constructor starts training on a thread, so a restart by Ray (the same constructor call)
    resumes the job from its checkpoint without the manager asking. Remote methods: `poll` and
    `tell`; `emit` and `command` are the worker's channel.
    """

    def __init__(self, order: JobOrder, settings: ManagerSettings, parts: WorkerParts) -> None:
        if settings.cpu_threads:
            torch.set_num_threads(settings.cpu_threads)
        self._log = EventLog()
        self._command: Command | None = None
        self._thread = threading.Thread(
            target=self._train, args=(order, settings, parts), name="playground-job", daemon=True
        )
        self._thread.start()

    def _train(self, order: JobOrder, settings: ManagerSettings, parts: WorkerParts) -> None:
        # Ray shows an actor only the GPU (or fraction) it was given: it is always cuda:0.
        device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
        with device_stream(device):
            Worker(settings, parts).train(order, device, self)

    def emit(self, event: Event) -> None:
        self._log.add(event)

    def command(self) -> Command | None:
        return self._command

    def tell(self, command: Command) -> None:
        self._command = command

    def poll(self, cursor: Cursor) -> tuple[Cursor, list[Event]]:
        return self._log.since(cursor)


class EventLog:
    """One actor incarnation's events, and its progress so far for a server that comes back."""

    def __init__(self) -> None:
        self.incarnation = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._first = 0  # the number of the oldest event kept
        self._progress = Progress()
        self._opened = False
        self._final: Event | None = None

    def add(self, event: Event) -> None:
        with self._lock:
            apply_progress(self._progress, event)
            self._opened = self._opened or isinstance(event, Opened)
            if isinstance(event, TERMINAL):
                self._final = event
            self._events.append(event)
            if len(self._events) > MAX_EVENTS:
                dropped = len(self._events) // 2
                del self._events[:dropped]
                self._first += dropped

    def since(self, cursor: Cursor) -> tuple[Cursor, list[Event]]:
        """The events after `cursor`; a full Synced (and the end, if any) when `cursor` is from
        another incarnation, too old, or None (a server that has not heard from this one)."""
        with self._lock:
            end = (self.incarnation, self._first + len(self._events))
            if cursor is not None and cursor[0] == self.incarnation and cursor[1] >= self._first:
                return end, self._events[cursor[1] - self._first :]
            ending = [self._final] if self._final is not None else []
            if not self._opened:
                return (end, ending) if ending else (cursor, [])
            progress = Progress(**vars(self._progress))
            progress.history = list(progress.history)
            progress.metrics = dict(progress.metrics)
            return end, [Synced(progress), *ending]


__all__ = ["JobActor", "RayExecutor", "actor_name", "connect", "namespace_of"]
