"""The local executor: each slot trains its jobs in a worker process of its own.

A slot's process is spawned for its first job (a fresh interpreter: no CUDA state or locks
inherited from the web server), sets torch's threads, loads the training data once, and stays
warm for the slot's next jobs. The slot thread of the manager sends it a `JobOrder` and then
reads its events (`jobs.events`) from a pipe, applying each to the job's record under the
manager's lock; the owner's commands (pause, stop, interrupt) go down the same pipe.

A worker that dies (killed by the out-of-memory killer, a segfault in native code, `os.abort()`)
fails its job alone, with the signal in the reason; the slot spawns a fresh process for its next
job, and the web server and the other slots carry on. A job that sends nothing for
`ManagerSettings.stall_s` seconds is killed and failed the same way.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection  # also registers multiprocessing's atexit

import torch

from playground.jobs.config import ENV_VARIABLES, ManagerSettings
from playground.jobs.events import TERMINAL, Event, JobOrder, WorkerParts
from playground.jobs.executor import Executor, order_of
from playground.jobs.states import Command
from playground.jobs.store import JobRecord
from playground.jobs.worker import Worker, device_stream, slot_device

log = logging.getLogger(__name__)

POLL_S = 0.05
"""How often a slot thread looks for a new command while it waits for its worker's events."""
START_S = 600.0
"""How long a job may take to open (a process or actor starting, torch imported, the data loaded,
a Ray actor waiting for its resources) before the stall deadline applies to it."""
EXIT_WAIT_S = 10.0
WORKER_NICENESS = 10
"""Workers run at a lower CPU priority than the web server: where cores are few, a page rerun
goes first and training takes the rest (a thread of the server's own process cannot do that)."""
"""How long a worker process may take to exit when the manager closes before it is killed."""

_SIGNAL_HINTS = {
    signal.SIGKILL: "the system's out-of-memory killer sends this",
    signal.SIGSEGV: "a crash inside native code",
    signal.SIGABRT: "an abort inside native code",
}


class WorkerDied(Exception):
    """The worker process is gone; the message says how, for the job's owner."""


class LocalExecutor(Executor):
    """One warm worker process per slot (see the module docstring)."""

    name = "local"
    where = "one worker process per slot"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._context = multiprocessing.get_context("spawn")
        self._processes: dict[int, WorkerProcess] = {}
        self._processes_lock = threading.Lock()

    def train(self, job: JobRecord, slot: int) -> None:
        try:
            process = self._process(slot)
            process.send(order_of(job))
            self._follow(job, slot, process)
        except WorkerDied as died:
            self._discard(slot)
            self.fail(job, str(died))

    def _follow(self, job: JobRecord, slot: int, process: WorkerProcess) -> None:
        """Forward commands and apply events until the job's run ends; raises WorkerDied."""
        sent: Command | None = None
        heard, opened = time.monotonic(), False
        while True:
            with self.lock:
                command = job.command
            if command == Command.ABANDON:  # the server is dying: write nothing more
                self._discard(slot)
                return
            if command is not None and command != sent:
                process.send(command)
                sent = command
            event = process.receive(POLL_S)
            if event is not None:
                heard, opened = time.monotonic(), True
                with self.lock:
                    self.record(job, event)
                if isinstance(event, TERMINAL):
                    return
            elif time.monotonic() - heard > stall_deadline(self.settings, opened):
                self._discard(slot)
                self.fail(job, stalled_reason(self.settings.stall_s))
                return

    def _process(self, slot: int) -> WorkerProcess:
        with self._processes_lock:
            process = self._processes.get(slot)
            if process is None or not process.alive():
                process = WorkerProcess(self._context, self.settings, self.parts, slot)
                self._processes[slot] = process
            return process

    def _discard(self, slot: int) -> None:
        """Kill the slot's process (if it lives); the slot's next job gets a fresh one."""
        with self._processes_lock:
            process = self._processes.pop(slot, None)
        if process is not None:
            process.kill()

    def worker_pids(self) -> dict[int, int]:
        """The process id of each slot's live worker (for an admin's `kill`, and the tests)."""
        with self._processes_lock:
            return {slot: p.pid for slot, p in self._processes.items() if p.alive()}

    def close(self, abandon: bool = False) -> None:
        with self._processes_lock:
            processes = list(self._processes.values())
            self._processes.clear()
        for process in processes:
            if abandon:
                process.kill()
            else:
                process.stop(EXIT_WAIT_S)


class WorkerProcess:
    """A spawned process that trains one job at a time (`serve`), and the pipe to it."""

    def __init__(
        self,
        context: multiprocessing.context.SpawnContext,
        settings: ManagerSettings,
        parts: WorkerParts,
        slot: int,
    ) -> None:
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve,
            args=(child, settings, parts, slot),
            name=f"playground-job-worker-{slot}",
            daemon=True,  # never outlives the server, even one that did not close its manager
        )
        self._process.start()
        child.close()  # the child's end lives in the child alone, so its death closes the pipe

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.is_alive()

    def send(self, message: JobOrder | Command | None) -> None:
        try:
            self._conn.send(message)
        except OSError:  # BrokenPipeError and kin: it died
            raise WorkerDied(self._death()) from None

    def receive(self, timeout: float) -> Event | None:
        """The worker's next event, or None when none came within `timeout`."""
        try:
            if self._conn.poll(timeout):
                return self._conn.recv()
        except (EOFError, OSError):
            raise WorkerDied(self._death()) from None
        if not self._process.is_alive() and not self._conn.poll(0):
            raise WorkerDied(self._death())
        return None

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5.0)
        self._conn.close()

    def stop(self, wait: float) -> None:
        """Ask the worker to exit; kill it if it has not after `wait` seconds."""
        with contextlib.suppress(OSError):  # already gone
            self._conn.send(None)
        self._process.join(wait)
        self.kill()

    def _death(self) -> str:
        self._process.join(5.0)
        return death_reason(self._process.exitcode)


def death_reason(exitcode: int | None) -> str:
    """Why a worker process ended, for the job's owner: the signal or exit code, in words."""
    if exitcode is None:
        return "the training process stopped answering and was stopped"
    if exitcode >= 0:
        return f"the training process exited unexpectedly (exit code {exitcode})"
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "unknown signal"
    hint = _SIGNAL_HINTS.get(number)
    said = f"{name}: {hint}" if hint else name
    return f"the training process died (signal {number}, {said}); the other jobs carry on"


def stall_deadline(settings: ManagerSettings, opened: bool) -> float:
    """Seconds of silence after which a job counts as hung: stall_s once it has reported."""
    return settings.stall_s if opened else max(settings.stall_s, START_S)


def stalled_reason(stall_s: float) -> str:
    return (
        f"the job made no progress for {stall_s:g} s, so its training process was stopped "
        f"(the server's limit, {ENV_VARIABLES['stall_s']})"
    )


# ---------------------------------------------------------------------------------------------
# In the worker process


def serve(conn: Connection, settings: ManagerSettings, parts: WorkerParts, slot: int) -> None:
    """The worker process's main loop: train each JobOrder that arrives, until told to exit
    (None) or the server is gone (the pipe closed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server: it shuts us down
    os.nice(WORKER_NICENESS)
    if settings.cpu_threads:
        torch.set_num_threads(settings.cpu_threads)
    worker = Worker(settings, parts)
    device = slot_device(slot)
    with device_stream(device):
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            if message is None:
                return
            if isinstance(message, JobOrder):
                worker.train(message, device, PipeChannel(conn))
            # else: a command for a job that has already ended; nothing to do


class PipeChannel:
    """A worker process reports down its pipe and reads its commands from it between chunks."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._command: Command | None = None

    def emit(self, event: Event) -> None:
        self._conn.send(event)

    def command(self) -> Command | None:
        try:
            while self._conn.poll():
                message = self._conn.recv()
                if isinstance(message, Command):
                    self._command = message
        except (EOFError, OSError):  # the server is gone: nobody will read another checkpoint
            self._command = Command.ABANDON
        return self._command


__all__ = ["LocalExecutor", "WorkerDied", "death_reason", "serve"]
