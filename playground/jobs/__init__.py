"""Background training jobs owned by a session: queue, slots, live progress, checkpoints, recovery.

    manager  JobManager: the owner's API (submit, list, pause, resume, stop, delete, downloads),
             the instructor's (cohort, pause, resume, stop with a reason), the server-wide cap,
             sessions and orphans, the queue and the slot threads
    executor where a slot's job trains: the interface, the thread executor, the one `record`
             that applies a worker's events to the job's record
    local    the default executor: one warm worker process per slot; crashes and hangs fail a job
    ray_executor  one Ray actor per job on a cluster; jobs outlive the web server
    worker   Worker: trains one job on one device through the engine's step API, reports events
    events   what a worker reports (Opened, Trained, Sampled, ..., Ended, Failed) and JobOrder
    owners   owner keys (the one-way hash the disk sees), pseudonyms, the instructor's reasons
    store    the on-disk store: job.json, checkpoints, history CSV, samples; recovery after a restart
    config   ManagerSettings.from_env: the hosting limits, one PLAYGROUND_* variable each
    states   JobState, the refusals (JobError and kin) and the JobSnapshot a page reads

The public names are re-exported here: `from playground.jobs import JobManager, ManagerSettings`.
"""

from playground.jobs.config import (
    ENV_VARIABLES,
    EXECUTORS,
    RUNS_ENV,
    ConfigError,
    ManagerSettings,
    compute_description,
    default_runs_dir,
    has_gpu,
    prepare_runs_dir,
)
from playground.jobs.executor import Executor
from playground.jobs.manager import JobManager
from playground.jobs.owners import clean_reason, owner_key, pseudonym, without_server_paths
from playground.jobs.states import (
    LIVE_STATES,
    RESUMABLE_STATES,
    JobError,
    JobLimitReached,
    JobNotFound,
    JobSnapshot,
    JobState,
    JobStateError,
)
from playground.jobs.store import (
    HISTORY_COLUMNS,
    SNAPSHOT_HISTORY,
    history_from_csv,
    history_to_csv,
)
from playground.jobs.worker import (
    MAX_HISTORY,
    METRICS_SAMPLES,
    Evaluator,
    EvaluatorLoader,
    TrainingDiverged,
    next_chunk,
    shipped_evaluator,
)

__all__ = [
    "ENV_VARIABLES",
    "EXECUTORS",
    "HISTORY_COLUMNS",
    "LIVE_STATES",
    "MAX_HISTORY",
    "METRICS_SAMPLES",
    "RESUMABLE_STATES",
    "RUNS_ENV",
    "SNAPSHOT_HISTORY",
    "ConfigError",
    "Evaluator",
    "EvaluatorLoader",
    "Executor",
    "JobError",
    "JobLimitReached",
    "JobManager",
    "JobNotFound",
    "JobSnapshot",
    "JobState",
    "JobStateError",
    "ManagerSettings",
    "TrainingDiverged",
    "clean_reason",
    "compute_description",
    "default_runs_dir",
    "has_gpu",
    "history_from_csv",
    "history_to_csv",
    "next_chunk",
    "owner_key",
    "prepare_runs_dir",
    "pseudonym",
    "shipped_evaluator",
    "without_server_paths",
]
