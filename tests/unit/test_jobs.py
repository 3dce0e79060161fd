"""The job suite: the JobManager on the CPU with the real Trainer on tiny random data (128
images, batch 16), on each executor where the test is marked `every_executor` (threads, worker
processes, and Ray actors on a real local Ray cluster), else on threads."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from playground import jobs
from playground.figures import mnist as figures
from playground.gan import HistoryPoint
from playground.history import thin
from playground.jobs import (
    ConfigError,
    JobError,
    JobLimitReached,
    JobManager,
    JobNotFound,
    JobSnapshot,
    JobState,
    JobStateError,
    ManagerSettings,
)
from playground.pixels import model_to_uint8
from playground.shipped import interpolation_noise
from playground.train import SettingsError, Trainer, load_generator
from tests.unit.job_doubles import STEPS_PER_EPOCH, FaultyTrainer, spec, tiny_data

CHUNK_S = 0.05
"""Training time between two progress updates of a test job."""
TINY = tiny_data()
EXECUTORS = ("threads", "local", "ray")
RAY_JOB_CPUS = 0.25
"""CPUs a Ray test job asks for: four fit in the two-CPU test cluster, as four slots need."""

every_executor = pytest.mark.usefixtures("executor")
"""Run the test once per executor (see the `executor` fixture)."""


def on_executors(*names: str) -> Callable[[Callable], Callable]:
    """Run the test once on each of the named executors."""

    def mark(test: Callable) -> Callable:
        return every_executor(pytest.mark.parametrize("executor", names, indirect=True)(test))

    return mark


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> str:
    """Where the test's jobs train; "ray" starts the session's local Ray cluster."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return request.param


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Workers share two cores with the test runner; one intra-op thread each avoids thrashing."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def make_manager(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., JobManager]]:
    """Managers on the test's executor (threads unless the test asks for `executor`)."""
    managers: list[JobManager] = []
    executor = request.getfixturevalue("executor") if "executor" in request.fixturenames else None

    def make(
        runs: Path | None = None, trainer_class: type[Trainer] = Trainer, evaluator=None, **limits
    ) -> JobManager:
        defaults = {"gpu_slots": 1, "sample_every_s": 0.5, "chunk_s": CHUNK_S, "cpu_threads": 1}
        settings = ManagerSettings(
            runs_dir=runs or tmp_path / "runs",
            **{**defaults, **executor_settings(executor or "threads"), **limits},
        )
        data = (lambda: TINY) if executor is None else tiny_data  # a lambda stays in-process
        manager = JobManager(settings, data=data, evaluator=evaluator, trainer_class=trainer_class)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.shutdown(checkpoint=False, timeout=30)
        if manager.executor.name == "ray":
            manager.executor.kill_all()  # shutdown leaves Ray jobs training, as on a restart


def executor_settings(name: str) -> dict:
    if name == "ray":
        return {"executor": "ray", "ray_address": "local", "ray_job_cpus": RAY_JOB_CPUS}
    return {"executor": name}


def wait_for(
    manager: JobManager,
    owner: str,
    job_id: str,
    done: Callable[[JobSnapshot], bool],
    timeout: float = 90,
) -> JobSnapshot:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = manager.get(owner, job_id)
        if done(snapshot):
            return snapshot
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never got there: {manager.get(owner, job_id)}")


def ended(s: JobSnapshot) -> bool:
    return not s.is_live


def generator_weights(data: bytes) -> dict[str, torch.Tensor]:
    generator, _, _ = load_generator(data)
    return generator.state_dict()


# ---------------------------------------------------------------------------------------------
# The life of a job


@every_executor
def test_job_goes_from_queued_to_finished_with_progress_samples_and_checkpoint(
    make_manager,
) -> None:
    manager = make_manager()
    job_id = manager.submit("alice", spec(epochs=2))
    first = manager.get("alice", job_id)
    assert first.state in (JobState.QUEUED, JobState.RUNNING) and first.step == 0
    done = wait_for(manager, "alice", job_id, ended)
    assert done.state == JobState.FINISHED, done.reason
    assert done.step == done.total_steps == 2 * STEPS_PER_EPOCH
    assert done.epoch == pytest.approx(2.0) and done.progress == 1.0
    assert done.checkpoint_step == done.step and done.samples_step == done.step
    steps = [p.step for p in done.history]
    assert steps == sorted(steps) and steps[-1] == done.step
    assert (
        done.samples is not None
        and done.samples.shape == (64, 28, 28)
        and done.samples.dtype.name == "uint8"
    )
    assert not done.samples.flags.writeable
    # The download is the generator that the full checkpoint holds at that step.
    trainer = Trainer.load(
        Path(manager.settings.runs_dir).glob(f"*/{job_id}/checkpoint.safetensors").__next__(),
        TINY.images,
        TINY.labels,
        device="cpu",
    )
    assert trainer.iteration == done.step
    downloaded = generator_weights(manager.generator_checkpoint("alice", job_id))
    for key, value in trainer.stepper.generator.state_dict().items():
        torch.testing.assert_close(downloaded[key], value.cpu(), rtol=0, atol=0)
    # The samples are G(fixed noise) of that generator.
    expected = model_to_uint8(trainer.fixed_noise_samples())
    assert (expected == done.samples).all()
    csv_rows = manager.history_csv("alice", job_id).splitlines()
    assert csv_rows[0] == ",".join(jobs.HISTORY_COLUMNS) and len(csv_rows) == 1 + len(steps)


@every_executor
def test_pause_holds_the_step_count_and_resume_continues_to_the_end(make_manager) -> None:
    manager = make_manager()
    job_id = manager.submit("alice", spec(epochs=4))
    wait_for(manager, "alice", job_id, lambda s: s.step >= 3)
    paused = manager.pause("alice", job_id)
    assert paused.state == JobState.PAUSED and paused.checkpoint_step == paused.step
    time.sleep(3 * CHUNK_S)  # a training job would have published a chunk by now
    assert manager.get("alice", job_id).step == paused.step
    assert manager.resume("alice", job_id).state in (JobState.QUEUED, JobState.RUNNING)
    done = wait_for(manager, "alice", job_id, ended)
    assert done.state == JobState.FINISHED and done.step == 4 * STEPS_PER_EPOCH
    steps = [p.step for p in done.history]
    assert paused.step in steps and steps == sorted(set(steps))
    with pytest.raises(JobStateError, match="only a paused or interrupted job"):
        manager.resume("alice", job_id)


@pytest.mark.slow
@every_executor
def test_a_paused_and_resumed_job_ends_where_an_uninterrupted_one_does(
    make_manager, tmp_path: Path
) -> None:
    """Pause checkpoints and frees the trainer; resume reloads it: the maths must not notice."""
    manager = make_manager()
    straight = manager.submit("alice", spec(epochs=2, seed=3))
    wait_for(manager, "alice", straight, ended)
    interrupted = manager.submit("alice", spec(epochs=2, seed=3))
    wait_for(manager, "alice", interrupted, lambda s: s.step >= 2)
    manager.pause("alice", interrupted)
    manager.resume("alice", interrupted)
    wait_for(manager, "alice", interrupted, ended)
    a = generator_weights(manager.generator_checkpoint("alice", straight))
    b = generator_weights(manager.generator_checkpoint("alice", interrupted))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


@every_executor
def test_stop_leaves_a_loadable_checkpoint_at_the_step_reached(make_manager) -> None:
    manager = make_manager()
    job_id = manager.submit("alice", spec(epochs=20))
    wait_for(manager, "alice", job_id, lambda s: s.step >= 2)
    stopped = manager.stop("alice", job_id)
    assert stopped.state == JobState.STOPPED and stopped.reason == "stopped by its owner"
    assert stopped.step < stopped.total_steps and stopped.checkpoint_step == stopped.step
    path = next(manager.settings.runs_dir.glob(f"*/{job_id}/checkpoint.safetensors"))
    trainer = Trainer.load(path, TINY.images, TINY.labels, device="cpu")
    assert trainer.iteration == stopped.step
    record = trainer.run(1)  # and it trains on from there
    assert record.is_finite() and trainer.iteration == stopped.step + 1
    generator, settings, meta = load_generator(manager.generator_checkpoint("alice", job_id))
    assert settings == spec(epochs=20) and meta["step"] == stopped.step
    with pytest.raises(JobStateError, match="already ended"):
        manager.stop("alice", job_id)


@every_executor
def test_delete_removes_the_job_and_its_files(make_manager) -> None:
    manager = make_manager()
    job_id = manager.submit("alice", spec(epochs=20))
    wait_for(manager, "alice", job_id, lambda s: s.step >= 1)
    folder = next(manager.settings.runs_dir.glob(f"*/{job_id}"))
    manager.delete("alice", job_id)
    assert manager.list("alice") == [] and not folder.exists()
    with pytest.raises(JobNotFound):
        manager.get("alice", job_id)


# ---------------------------------------------------------------------------------------------
# Owners


@every_executor
def test_another_owner_cannot_list_touch_or_download_a_job(make_manager) -> None:
    manager = make_manager()
    job_id = manager.submit("alice", spec(epochs=20))
    wait_for(manager, "alice", job_id, lambda s: s.checkpoint_step is not None or s.step >= 1)
    manager.pause("alice", job_id)  # now there is a checkpoint worth stealing
    assert manager.list("bob") == []
    missing = "0000ffff"
    for action in (
        manager.get,
        manager.pause,
        manager.resume,
        manager.stop,
        manager.delete,
        manager.generator_checkpoint,
        manager.history_csv,
    ):
        with pytest.raises(JobNotFound) as theirs:
            action("bob", job_id)
        with pytest.raises(JobNotFound) as nobodys:
            action("bob", missing)
        # Refused exactly like a job that does not exist: the id leaks nothing.
        assert str(theirs.value) == str(nobodys.value).replace(missing, job_id)
    still = manager.get("alice", job_id)
    assert still.state == JobState.PAUSED
    assert len(manager.generator_checkpoint("alice", job_id)) > 1000
    with pytest.raises(JobError, match="owner"):
        manager.submit("", spec())


@every_executor
def test_per_owner_cap_and_fifo_queue_order_hold(make_manager) -> None:
    manager = make_manager(gpu_slots=3, max_jobs_per_owner=2)
    a1, a2, a3 = (manager.submit("alice", spec(epochs=50, seed=i)) for i in range(3))
    b1 = manager.submit("bob", spec(epochs=50))
    c1 = manager.submit("carol", spec(epochs=50))
    running = lambda s: s.state == JobState.RUNNING  # noqa: E731
    for owner, job_id in (("alice", a1), ("alice", a2), ("bob", b1)):
        wait_for(manager, owner, job_id, running)
    # Alice holds her two slots; her third job waits although bob (later) got the third slot.
    assert (
        manager.get("alice", a3).state == JobState.QUEUED and manager.get("alice", a3).position == 1
    )
    assert manager.get("carol", c1).position == 2
    # Stopping a1 frees a slot and one of alice's two: the queue's head, a3, goes before carol.
    manager.stop("alice", a1)
    wait_for(manager, "alice", a3, running)
    assert manager.get("carol", c1).position == 1
    manager.stop("bob", b1)
    wait_for(manager, "carol", c1, running)
    with pytest.raises(JobLimitReached, match="waiting"):
        for _ in range(manager.settings.max_queued_per_owner + 1):
            manager.submit("dave", spec())
    for owner, job_id in (("alice", a2), ("alice", a3), ("carol", c1)):
        manager.stop(owner, job_id)


@every_executor
def test_queued_jobs_show_their_position_and_a_paused_one_keeps_its_place(make_manager) -> None:
    manager = make_manager(gpu_slots=1)
    first = manager.submit("alice", spec(epochs=50))
    wait_for(manager, "alice", first, lambda s: s.state == JobState.RUNNING)
    second = manager.submit("bob", spec(epochs=50))
    third = manager.submit("carol", spec(epochs=50))
    assert [manager.get("bob", second).position, manager.get("carol", third).position] == [1, 2]
    assert manager.pause("bob", second).state == JobState.PAUSED
    assert manager.get("carol", third).position == 1
    manager.resume("bob", second)  # back in front of carol: it was submitted first
    assert [manager.get("bob", second).position, manager.get("carol", third).position] == [1, 2]
    for owner, job_id in (("alice", first), ("bob", second), ("carol", third)):
        manager.stop(owner, job_id)


# ---------------------------------------------------------------------------------------------
# Faults


@pytest.mark.slow
@every_executor
def test_a_raising_a_diverging_and_an_oom_job_fail_while_a_concurrent_job_finishes(
    make_manager,
) -> None:
    manager = make_manager(
        gpu_slots=4, max_jobs_per_owner=4, checkpoint_every=2, trainer_class=FaultyTrainer
    )
    healthy = manager.submit("alice", spec(epochs=3, seed=0))
    raising = manager.submit("alice", spec(epochs=3, seed=1))
    diverging = manager.submit("alice", spec(epochs=3, seed=2))
    oom = manager.submit("alice", spec(epochs=3, seed=3))
    results = {
        job_id: wait_for(manager, "alice", job_id, ended)
        for job_id in (healthy, raising, diverging, oom)
    }
    assert (
        results[healthy].state == JobState.FINISHED and results[healthy].step == 3 * STEPS_PER_EPOCH
    )
    assert results[raising].state == JobState.FAILED
    assert "RuntimeError: boom" in results[raising].reason
    assert results[diverging].state == JobState.FAILED
    assert (
        "NaN or infinite" in results[diverging].reason and "diverged" in results[diverging].reason
    )
    assert results[oom].state == JobState.FAILED and "ran out of GPU memory" in results[oom].reason
    for job_id in (raising, diverging, oom):
        failed = results[job_id]
        # The last good checkpoint stays, is loadable, and holds finite weights.
        assert failed.checkpoint_step == 4 and "checkpoint (step 4) is kept" in failed.reason
        weights = generator_weights(manager.generator_checkpoint("alice", job_id))
        assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


@pytest.mark.parametrize(
    ("executor", "seed", "words"),
    [
        ("local", 7, "the training process died (signal 9, SIGKILL"),
        ("local", 8, "the training process died (signal 6, SIGABRT"),
        pytest.param("ray", 7, "the Ray actor training this job died", marks=pytest.mark.slow),
    ],
    indirect=["executor"],
)
def test_a_worker_killed_by_a_signal_fails_only_its_job_and_the_server_answers(
    make_manager, executor: str, seed: int, words: str
) -> None:
    """SIGKILL (the out-of-memory killer) or os.abort() (a crash in native code) in training."""
    manager = make_manager(
        gpu_slots=2, max_jobs_per_owner=2, checkpoint_every=2, trainer_class=FaultyTrainer
    )
    healthy = manager.submit("alice", spec(epochs=3, seed=0))
    crashing = manager.submit("bob", spec(epochs=3, seed=seed))
    failed = wait_for(manager, "bob", crashing, ended, timeout=180)
    assert failed.state == JobState.FAILED and words in failed.reason, failed.reason
    # A process's pipe still holds what it sent before it died; a dead actor's last events
    # (checkpoint 4, just before the crash) may be lost with it, never the checkpoint itself.
    kept = "checkpoint (step 4) is kept" if executor == "local" else "checkpoint (step"
    assert kept in failed.reason
    assert wait_for(manager, "alice", healthy, ended).state == JobState.FINISHED
    # The manager still answers, and the slot trains the next job in a fresh worker.
    again = manager.submit("bob", spec(epochs=1, seed=4))
    assert wait_for(manager, "bob", again, ended).state == JobState.FINISHED
    assert len(manager.generator_checkpoint("bob", crashing)) > 1000


@on_executors("local", "ray")
def test_a_job_that_hangs_is_killed_at_the_stall_deadline(make_manager) -> None:
    manager = make_manager(checkpoint_every=4, stall_s=4.0, trainer_class=FaultyTrainer)
    hanging = manager.submit("alice", spec(epochs=3, seed=9))
    failed = wait_for(manager, "alice", hanging, ended, timeout=180)
    assert failed.state == JobState.FAILED and "made no progress for 4 s" in failed.reason
    next_job = manager.submit("alice", spec(epochs=1))
    assert wait_for(manager, "alice", next_job, ended).state == JobState.FINISHED


@pytest.mark.slow
@on_executors("ray")
def test_a_ray_actor_killed_once_resumes_the_job_from_its_last_checkpoint(
    make_manager, ray_cluster
) -> None:
    """What a lost node does to a job: Ray restarts its actor, which reopens the checkpoint."""
    manager = make_manager(checkpoint_every=8)
    job_id = manager.submit("alice", spec(epochs=8))
    at_kill = wait_for(
        manager, "alice", job_id, lambda s: (s.checkpoint_step or 0) >= 8 and s.step > 10
    )
    actor = ray_cluster.get_actor(f"job-{job_id}", namespace=manager.executor.namespace)
    ray_cluster.kill(actor, no_restart=False)
    done = wait_for(manager, "alice", job_id, ended, timeout=180)
    assert done.state == JobState.FINISHED and done.step == 8 * STEPS_PER_EPOCH, done.reason
    saved = tuple(p for p in at_kill.history if p.step <= at_kill.checkpoint_step)
    assert continued_from(saved, done.history)
    # The steps trained after the checkpoint were lost with the actor, and trained again.
    lost = at_kill.history[len(saved)]
    assert lost.step > at_kill.checkpoint_step and lost not in done.history


class PathLeakingTrainer(Trainer):
    """Fails as a full disk or a vanished folder does, with the job's own path in the error."""

    where: Path

    def run(self, iterations: int):
        path = str(self.where / "checkpoint.safetensors")
        if self.settings.seed == 1:
            raise FileNotFoundError(2, "No such file or directory", path)
        raise RuntimeError(f"could not write {path!r}: disk full")


def test_a_failed_jobs_reason_names_the_problem_but_no_server_path(
    make_manager, tmp_path: Path
) -> None:
    runs = tmp_path / "server-runs"
    PathLeakingTrainer.where = runs / jobs.owner_key("alice") / "a1b2c3d4"
    manager = make_manager(runs=runs, trainer_class=PathLeakingTrainer)
    file_error = manager.submit("alice", spec(seed=1))
    other_error = manager.submit("alice", spec(seed=2))
    reasons = [wait_for(manager, "alice", j, ended).reason for j in (file_error, other_error)]
    assert "could not read or write this job's files (No such file or directory)" in reasons[0]
    assert reasons[1] == "training raised RuntimeError: could not write '<server path>': disk full"
    for reason in reasons:
        assert str(tmp_path) not in reason and jobs.owner_key("alice") not in reason


def test_without_server_paths_blanks_paths_and_owner_keys_only() -> None:
    key = jobs.owner_key("bob")
    assert jobs.without_server_paths(f"open('/srv/runs/{key}/x.csv') failed") == (
        "open('<server path>') failed"
    )
    assert jobs.without_server_paths(f"~/runs and {key}") == "<server path> and …"
    plain = "step 1/10 of D/G, lr / 10 (epoch 0.5)"
    assert jobs.without_server_paths(plain) == plain


def test_a_runs_folder_that_cannot_be_created_is_a_config_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_RUNS", "/proc/nope/runs")
    with pytest.raises(ConfigError) as refused:
        JobManager(ManagerSettings.from_env(), data=lambda: TINY)
    assert str(refused.value).startswith("PLAYGROUND_RUNS=/proc/nope/runs cannot be created")
    assert "Set PLAYGROUND_RUNS to a folder this server can write" in str(refused.value)
    # A folder the variable did not name is not shown: the page must not reveal server paths.
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(ConfigError, match="^the runs folder cannot be created") as refused:
        JobManager(ManagerSettings(runs_dir=blocked / "runs"), data=lambda: TINY)
    assert str(tmp_path) not in str(refused.value)


def test_a_job_the_disk_cannot_hold_is_refused_with_a_message(make_manager, tmp_path: Path) -> None:
    runs = tmp_path / "vanishing-runs"
    manager = make_manager(runs=runs)
    runs.rmdir()
    runs.write_text("")  # the folder is gone: nothing can be created under it
    with pytest.raises(JobError, match="the server cannot store a new job right now") as refused:
        manager.submit("alice", spec())
    assert str(tmp_path) not in str(refused.value)
    assert manager.list("alice") == []


# ---------------------------------------------------------------------------------------------
# Restart recovery, orphans


@pytest.mark.slow
@on_executors("threads", "local")
def test_after_a_crash_a_new_manager_lists_the_job_interrupted_and_resumes_from_its_checkpoint(
    make_manager, tmp_path: Path
) -> None:
    runs = tmp_path / "shared-runs"
    before = make_manager(runs=runs, checkpoint_every=4)
    job_id = before.submit("alice", spec(epochs=4, seed=5))
    wait_for(
        before,
        "alice",
        job_id,
        lambda s: (s.checkpoint_step or 0) >= 8 and s.step > s.checkpoint_step,
    )
    before.shutdown(checkpoint=False)  # as if the process died: nothing more is written
    on_disk = json.loads(next(runs.glob(f"*/{job_id}/job.json")).read_text())
    assert on_disk["state"] == "running"
    checkpoint_step = on_disk["checkpoint_step"]

    after = make_manager(runs=runs, checkpoint_every=4)
    listed = after.list("alice")
    assert [s.job_id for s in listed] == [job_id]
    assert listed[0].state == JobState.INTERRUPTED and listed[0].step == checkpoint_step
    assert "restarted" in listed[0].reason and after.list("bob") == []
    assert all(p.step <= checkpoint_step for p in listed[0].history)
    after.resume("alice", job_id)
    done = wait_for(after, "alice", job_id, ended)
    assert done.state == JobState.FINISHED and done.step == 4 * STEPS_PER_EPOCH
    assert continued_from(listed[0].history, done.history)


def continued_from(saved: tuple[HistoryPoint, ...], final: tuple[HistoryPoint, ...]) -> bool:
    """True when a run's final history begins with the points its checkpoint held, unchanged
    (to the float): it continued from there. A run started over would have replaced them."""
    steps = [p.step for p in final]
    return bool(saved) and final[: len(saved)] == saved and steps == sorted(set(steps))


@pytest.mark.slow
@on_executors("ray")
def test_ray_jobs_keep_training_while_the_web_server_restarts(
    make_manager, tmp_path: Path, ray_cluster
) -> None:
    runs = tmp_path / "shared-runs"
    before = make_manager(runs=runs)
    job_id = before.submit("alice", spec(epochs=40))
    reached = wait_for(before, "alice", job_id, lambda s: s.step >= 2)
    before.shutdown(checkpoint=True)  # the web server goes; the actor trains on
    assert before.get("alice", job_id).state == JobState.RUNNING
    time.sleep(1.0)

    after = make_manager(runs=runs)
    assert re.fullmatch(
        r"a Ray cluster \(\d+ GPUs, 2 CPUs\), one actor per job", after.executor.description()
    )
    found = after.get("alice", job_id)
    assert found.state == JobState.RUNNING and found.reason == ""
    moved = wait_for(after, "alice", job_id, lambda s: s.step > reached.step + 8)
    assert moved.history[: len(reached.history)] == reached.history  # the same run, followed
    assert after.list("bob") == []
    stopped = after.stop("alice", job_id)
    assert stopped.state == JobState.STOPPED and stopped.checkpoint_step == stopped.step
    deadline = time.monotonic() + 30  # the manager kills a job's actor once it has ended
    while any(a["name"] == f"job-{job_id}" for a in ray_cluster.util.list_named_actors(True)):
        assert time.monotonic() < deadline, "the ended job's actor is still alive"
        time.sleep(0.1)


@on_executors("threads", "local")
def test_a_graceful_shutdown_checkpoints_running_jobs_as_interrupted(
    make_manager, tmp_path: Path
) -> None:
    runs = tmp_path / "shared-runs"
    before = make_manager(runs=runs)
    job_id = before.submit("alice", spec(epochs=50))
    wait_for(before, "alice", job_id, lambda s: s.step >= 2)
    before.shutdown(checkpoint=True)
    reached = before.get("alice", job_id)
    assert reached.state == JobState.INTERRUPTED and reached.checkpoint_step == reached.step
    after = make_manager(runs=runs)
    assert after.get("alice", job_id).step == reached.step
    with pytest.raises(JobError, match="shutting down"):
        before.submit("alice", spec())


@every_executor
def test_orphaned_jobs_are_stopped_after_the_grace_period_and_keep_their_checkpoint(
    make_manager,
) -> None:
    manager = make_manager(gpu_slots=2, orphan_grace_s=0.3)
    session = manager.open_session("alice")
    running = manager.submit("alice", spec(epochs=50))
    queued_then_paused = manager.submit("alice", spec(epochs=50))
    manager.pause("alice", queued_then_paused)
    other_tab = manager.open_session("bob")
    bobs = manager.submit("bob", spec(epochs=50))
    wait_for(manager, "alice", running, lambda s: s.step >= 1)
    manager.close_session(session)
    assert manager.stop_orphans() == []  # still within the grace period
    stopped = wait_for(manager, "alice", running, ended, timeout=30)
    assert stopped.state == JobState.STOPPED and "session ended" in stopped.reason
    assert stopped.checkpoint_step == stopped.step
    assert manager.get("alice", queued_then_paused).state == JobState.STOPPED
    assert manager.get("bob", bobs).is_live  # bob's session is still open
    manager.close_session(other_tab)
    manager.open_session("bob")  # bob came back (a reconnect) before the grace ran out
    assert manager.stop_orphans(now=time.monotonic() + 60) == []  # even a minute later
    assert manager.get("bob", bobs).is_live
    manager.stop("bob", bobs)


# ---------------------------------------------------------------------------------------------
# Validation and configuration


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 1000}, "epochs"),
        ({"batch_size": "64"}, "batch_size"),
        ({"batch_size": 4}, "batch_size"),
        ({"lr_g": -1.0}, "lr_g"),
        ({"beta1": 1.0}, "beta1"),
        ({"z_dim": 0}, "z_dim"),
        ({"model": "vae2"}, "model"),
        ({"seed": -3}, "seed"),
        ({"learning_rate": 0.1}, "unknown setting"),
        ({"epochs": 60}, "PLAYGROUND_MAX_EPOCHS"),
        ({"device": "cuda"}, "cuda"),
    ],
)
def test_invalid_specs_are_refused_with_a_message_before_queuing(
    make_manager, bad: dict, words: str
) -> None:
    if bad.get("device") == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    manager = make_manager(max_epochs=50)
    with pytest.raises(SettingsError, match=words):
        manager.submit("alice", {"batch_size": 32, **bad})
    with pytest.raises(SettingsError, match="mapping"):
        manager.submit("alice", ["epochs", 1])
    assert manager.list("alice") == []
    assert not any(manager.settings.runs_dir.glob("*/*"))


def test_manager_settings_come_from_the_environment_and_are_checked(tmp_path: Path) -> None:
    env = {
        "PLAYGROUND_RUNS": str(tmp_path),
        "PLAYGROUND_GPU_SLOTS": "3",
        "PLAYGROUND_MAX_JOBS_PER_OWNER": "1",
        "PLAYGROUND_CHECKPOINT_EVERY": "250",
        "PLAYGROUND_ORPHAN_GRACE_S": "60",
        "PLAYGROUND_MAX_EPOCHS": "10",
    }
    settings = ManagerSettings.from_env(env)
    assert (settings.runs_dir, settings.gpu_slots, settings.max_jobs_per_owner) == (tmp_path, 3, 1)
    assert (settings.checkpoint_every, settings.orphan_grace_s, settings.max_epochs) == (
        250,
        60.0,
        10.0,
    )
    default = ManagerSettings.from_env({"PLAYGROUND_DATA": str(tmp_path / "data")})
    assert default.runs_dir == tmp_path / "data" / "runs"
    assert (
        default.gpu_slots == max(1, torch.cuda.device_count()) and default.max_jobs_per_owner == 2
    )
    if not torch.cuda.is_available():  # a CPU host keeps one core for the web server
        assert default.cpu_threads == max(1, (os.cpu_count() - 1) // default.gpu_slots)
    assert ManagerSettings.from_env({**env, "PLAYGROUND_CPU_THREADS": "3"}).cpu_threads == 3
    assert ManagerSettings().cpu_threads == 0  # made in code: torch's thread count is left alone
    with pytest.raises(ConfigError, match="PLAYGROUND_GPU_SLOTS must be an integer"):
        ManagerSettings.from_env({**env, "PLAYGROUND_GPU_SLOTS": "two"})
    with pytest.raises(
        ConfigError, match=r"PLAYGROUND_MAX_JOBS_PER_OWNER\) must be a whole number in \[1, 64\]"
    ):
        ManagerSettings.from_env({**env, "PLAYGROUND_MAX_JOBS_PER_OWNER": "0"})


def test_the_executor_comes_from_the_environment_and_is_checked(tmp_path: Path) -> None:
    env = {"PLAYGROUND_RUNS": str(tmp_path)}
    default = ManagerSettings.from_env(env)
    assert (default.executor, default.stall_s) == ("local", 300.0)
    threads = ManagerSettings.from_env({**env, "PLAYGROUND_EXECUTOR": "Threads"})
    assert threads.executor == "threads"
    on_ray = ManagerSettings.from_env({**env, "PLAYGROUND_RAY_ADDRESS": "ray://head:10001"})
    assert (on_ray.executor, on_ray.ray_address) == ("ray", "ray://head:10001")
    assert ManagerSettings.from_env({**env, "PLAYGROUND_JOB_STALL_S": "60"}).stall_s == 60.0
    with pytest.raises(
        ConfigError, match=r"executor \(PLAYGROUND_EXECUTOR\) must be one of local, threads, ray"
    ):
        ManagerSettings.from_env({**env, "PLAYGROUND_EXECUTOR": "processes"})
    with pytest.raises(ConfigError, match="executor ray needs PLAYGROUND_RAY_ADDRESS"):
        ManagerSettings(executor="ray").validate()
    with pytest.raises(TypeError, match="data cannot be sent to a worker process"):
        JobManager(ManagerSettings(runs_dir=tmp_path), data=lambda: TINY)
    manager = JobManager(ManagerSettings(runs_dir=tmp_path, gpu_slots=1), data=tiny_data)
    try:
        assert manager.executor.name == "local"
        assert manager.executor.description().endswith(", one worker process per slot")
    finally:
        manager.shutdown()


# ---------------------------------------------------------------------------------------------
# Metrics and the small pure pieces


class RecordingEvaluator:
    """Stands in for metrics.Evaluator: returns numbers computed from what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, ...], torch.Tensor | None]] = []

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor | None = None):
        self.calls.append((tuple(images.shape), labels))
        return SimpleNamespace(
            as_dict=lambda: {
                "fid": float(images.mean()),
                "classes_covered": 7,
                "label_accuracy": None,
            }
        )


@pytest.mark.slow
def test_metrics_are_computed_at_each_epoch_end_and_at_the_finish(make_manager) -> None:
    evaluator = RecordingEvaluator()
    manager = make_manager(evaluator=lambda device: evaluator)
    job_id = manager.submit("alice", spec(epochs=2, model="cgan"))
    done = wait_for(manager, "alice", job_id, ended)
    assert done.state == JobState.FINISHED
    assert len(evaluator.calls) == 2  # end of epoch 1, and the finish
    shape, labels = evaluator.calls[-1]
    assert shape == (jobs.METRICS_SAMPLES, 1, 28, 28)
    assert labels is not None and (labels == torch.arange(jobs.METRICS_SAMPLES) % 10).all()
    assert done.metrics_step == done.step and done.metrics["classes_covered"] == 7.0
    assert "label_accuracy" not in done.metrics  # None values are not numbers to show


def test_thin_keeps_the_newest_point_and_at_most_the_limit() -> None:
    points = [HistoryPoint(i, i / 8, i * 0.1, 1.0, 2.0, 0.6, 0.4) for i in range(1, 1001)]
    thinned = thin(points, 400)
    assert len(thinned) <= 401 and thinned[-1].step == 1000 and thinned[0].step == 1
    assert thin(points[:10], 400) == tuple(points[:10])
    text = jobs.history_to_csv(points[:3])
    assert jobs.history_from_csv(text) == points[:3]


def test_next_chunk_aims_at_the_target_duration() -> None:
    assert jobs.next_chunk(10, 1.0, 0.25) == 2  # too slow: shrink
    assert jobs.next_chunk(10, 0.01, 0.25) == 20  # fast: grow, at most doubling
    assert jobs.next_chunk(1, 10.0, 0.25) == 1


# ---------------------------------------------------------------------------------------------
# The pictures a job panel shows (playground.figures.mnist)


def test_latent_interpolation_runs_on_the_straight_line_between_two_noise_vectors() -> None:
    start, end = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    line = interpolation_noise(start, end, 5)
    assert line.shape == (5, 16)
    torch.testing.assert_close(line[0], start)
    torch.testing.assert_close(line[-1], end)
    torch.testing.assert_close(line[2], (start + end) / 2)
    with pytest.raises(ValueError, match="at least 2"):
        interpolation_noise(start, end, 1)


def test_sample_grid_tiles_digits_with_pixels_mapped_from_minus_one_one() -> None:
    images = torch.full((10, 1, 28, 28), -1.0)
    images[3] = 1.0  # one white digit: the 4th of the first row
    grid = figures.sample_grid(images, per_row=8)
    pad = figures.GRID_PADDING
    assert grid.shape == (pad + 2 * (28 + pad), pad + 8 * (28 + pad)) and grid.dtype.name == "uint8"
    cell = grid[pad : pad + 28, pad + 3 * (28 + pad) : pad + 3 * (28 + pad) + 28]
    assert (cell == 255).all() and grid.sum() == 255 * 28 * 28
    as_uint8 = model_to_uint8(images)  # what a snapshot stores gives the same picture
    assert (figures.sample_grid(as_uint8, per_row=8) == grid).all()
    assert figures.image_row(images[:4]).shape == (28 + 2 * pad, pad + 4 * (28 + pad))


def test_loss_curves_plot_the_history_it_is_given() -> None:
    points = [HistoryPoint(i, i / 8, i * 0.1, 1.0 + i, 2.0 - i, 0.6, 0.4) for i in range(5)]
    fig = figures.loss_curves(points)
    by_name = {trace.name: trace for trace in fig.data}
    assert list(by_name) == ["D loss", "G loss", "D(x), real", "D(G(z)), fake"]
    assert list(by_name["D loss"].x) == [0, 1, 2, 3, 4]
    assert list(by_name["G loss"].y) == [2.0, 1.0, 0.0, -1.0, -2.0]
