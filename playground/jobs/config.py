"""How one server shares its compute between students: the JobManager's settings, each read from a
PLAYGROUND_* environment variable and checked by the one field check (`playground.settings`), and
the folder where jobs keep their files."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from playground.data import DATA_ENV, DEFAULT_DATA_DIR
from playground.settings import Range, field_problems, join_problems, shown

log = logging.getLogger(__name__)

RUNS_ENV = "PLAYGROUND_RUNS"


class ConfigError(ValueError):
    """A JobManager setting (usually from an environment variable) is out of range."""


@dataclass(frozen=True)
class ManagerSettings:
    """How one server shares its compute between students. Every field has an env variable."""

    runs_dir: Path = DEFAULT_DATA_DIR / "runs"
    gpu_slots: int = 1
    max_jobs_per_owner: int = 2
    max_queued_per_owner: int = 4
    max_kept_per_owner: int = 20
    max_queued_total: int = 100
    max_epochs: float = 50.0
    checkpoint_every: int = 500
    orphan_grace_s: float = 900.0
    sample_every_s: float = 1.0
    chunk_s: float = 0.25
    cpu_threads: int = 0  # torch intra-op threads for CPU training; 0 leaves torch's setting
    executor: str = "local"  # where jobs train: see EXECUTORS
    stall_s: float = 300.0  # a job silent this long is killed and failed (local and ray)
    ray_address: str = ""  # the Ray cluster: "auto", "ray://host:port", or "local" (tests)
    ray_slots_per_gpu: int = 1  # a Ray job asks for 1/this of a GPU
    ray_job_cpus: float = 1.0  # and for this many CPUs

    def validate(self) -> None:
        """Raise ConfigError naming every setting (and its variable) out of its range."""
        problems = [
            problem.replace(name, f"{name} ({ENV_VARIABLES[name]})", 1)
            for name, allowed in _RANGES.items()
            for problem in field_problems(self, {name: allowed}, {})
        ]
        problems += [
            problem.replace("executor", f"executor ({ENV_VARIABLES['executor']})", 1)
            for problem in field_problems(self, {}, {"executor": tuple(EXECUTORS)})
        ]
        if self.executor == "ray" and not self.ray_address.strip():
            problems.append(
                f"executor ray needs {ENV_VARIABLES['ray_address']}: auto (the cluster this "
                "machine belongs to), ray://host:port, or local (a cluster on this machine)"
            )
        if problems:
            raise ConfigError(join_problems(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ManagerSettings:
        """Defaults, overridden by the PLAYGROUND_* variables in ENV_VARIABLES; validated.

        Derived defaults: one slot per GPU (1 without); on a CPU-only host, training leaves one
        core to the web server: cpu_threads = max(1, (cores - 1) // gpu_slots); the executor is
        "ray" when PLAYGROUND_RAY_ADDRESS is set, else "local".
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {"runs_dir": default_runs_dir(environ)}
        for f in fields(cls):
            raw = environ.get(ENV_VARIABLES[f.name], "").strip()
            if f.name in _TEXT_FIELDS and raw:
                values[f.name] = raw.lower() if f.name == "executor" else raw
            elif f.name != "runs_dir" and raw:
                values[f.name] = _parse_number(ENV_VARIABLES[f.name], raw, f.type in ("int", int))
        values.setdefault("executor", "ray" if values.get("ray_address") else "local")
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
    "max_queued_total": "PLAYGROUND_MAX_QUEUED_TOTAL",
    "max_epochs": "PLAYGROUND_MAX_EPOCHS",
    "checkpoint_every": "PLAYGROUND_CHECKPOINT_EVERY",
    "orphan_grace_s": "PLAYGROUND_ORPHAN_GRACE_S",
    "sample_every_s": "PLAYGROUND_SAMPLE_EVERY_S",
    "chunk_s": "PLAYGROUND_CHUNK_S",
    "cpu_threads": "PLAYGROUND_CPU_THREADS",
    "executor": "PLAYGROUND_EXECUTOR",
    "stall_s": "PLAYGROUND_JOB_STALL_S",
    "ray_address": "PLAYGROUND_RAY_ADDRESS",
    "ray_slots_per_gpu": "PLAYGROUND_RAY_SLOTS_PER_GPU",
    "ray_job_cpus": "PLAYGROUND_RAY_JOB_CPUS",
}

EXECUTORS = {
    "local": "one worker process per slot on this machine (the default)",
    "threads": "threads of the web server's own process",
    "ray": "one Ray actor per job on a Ray cluster",
}
"""Where jobs train (jobs.executor), by the name PLAYGROUND_EXECUTOR takes."""
_TEXT_FIELDS = ("executor", "ray_address")

_RANGES = {
    "gpu_slots": Range(1, 64),
    "max_jobs_per_owner": Range(1, 64),
    "max_queued_per_owner": Range(0, 1000),
    "max_kept_per_owner": Range(1, 10_000),
    "max_queued_total": Range(1, 100_000),
    "max_epochs": Range(0.01, 100.0),
    "checkpoint_every": Range(1, 10_000_000),
    "orphan_grace_s": Range(0.0, 7 * 24 * 3600.0),
    "sample_every_s": Range(0.05, 3600.0),
    "chunk_s": Range(0.01, 10.0),
    "cpu_threads": Range(0, 1024),
    "stall_s": Range(1.0, 7 * 24 * 3600.0),
    "ray_slots_per_gpu": Range(1, 64),
    "ray_job_cpus": Range(0.01, 1024.0),
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


def has_gpu() -> bool:
    """True when this server's jobs train on a CUDA GPU."""
    return torch.cuda.is_available()


def compute_description() -> str:
    """Where this server's jobs train, in words: its GPUs (name and count) or its CPU."""
    if has_gpu():
        return f"GPU ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} in all)"
    return "CPU (this server has no GPU)"
