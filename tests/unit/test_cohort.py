# ruff: noqa: F811  (the fixtures of test_jobs are imported by name and used as parameters)
"""The instructor's side of the job manager: every job of the cohort, pause/resume/stop with a
reason the student reads, the server-wide queue cap, pseudonyms."""

from __future__ import annotations

import pytest

from playground.jobs import (
    JobLimitReached,
    JobNotFound,
    JobState,
    JobStateError,
    clean_reason,
    owner_key,
    pseudonym,
)
from playground.jobs.owners import MAX_REASON
from tests.unit.test_jobs import (  # noqa: F401
    _one_torch_thread,
    every_executor,
    executor,
    make_manager,
    spec,
    wait_for,
)

LONG = 50.0  # epochs: a job that is still training whenever a test looks


def running(s) -> bool:
    return s.state == JobState.RUNNING and s.step > 0


@every_executor
def test_the_server_wide_queue_cap_refuses_submits_and_resumes_past_it(make_manager) -> None:
    manager = make_manager(max_queued_total=2, max_jobs_per_owner=1)
    first = manager.submit("alice", spec(epochs=LONG))
    wait_for(manager, "alice", first, running)
    bob = manager.submit("bob", spec(epochs=LONG))
    manager.submit("carol", spec(epochs=LONG))
    with pytest.raises(JobLimitReached, match="queue is full \\(2 jobs waiting"):
        manager.submit("dave", spec(epochs=LONG))
    manager.pause("bob", bob)  # a paused job does not hold a place in the queue
    manager.submit("dave", spec(epochs=LONG))
    with pytest.raises(JobLimitReached, match="queue is full"):
        manager.resume("bob", bob)
    assert manager.get("bob", bob).state == JobState.PAUSED


@every_executor
def test_an_instructor_pause_shows_its_reason_and_only_the_instructor_resumes(
    make_manager,
) -> None:
    manager = make_manager()
    job_id = manager.submit("alice", spec(epochs=LONG))
    wait_for(manager, "alice", job_id, running)
    manager.instructor_pause(job_id, "  the demo needs\nthe GPU  ")
    seen = manager.get("alice", job_id)
    assert seen.state == JobState.PAUSED and seen.held
    assert seen.reason == "paused by the instructor: the demo needs the GPU"
    with pytest.raises(JobStateError, match="only they can resume it"):
        manager.resume("alice", job_id)
    manager.instructor_resume(job_id)
    assert not manager.get("alice", job_id).held
    wait_for(manager, "alice", job_id, running)
    manager.instructor_stop(job_id, "out of time for today")
    seen = manager.get("alice", job_id)
    assert seen.state == JobState.STOPPED
    assert seen.reason == "stopped by the instructor: out of time for today"
    assert seen.checkpoint_step == seen.step > 0  # stopped at a checkpoint, files kept


def test_an_instructor_hold_survives_a_server_restart(make_manager, tmp_path) -> None:
    runs = tmp_path / "held"
    manager = make_manager(runs=runs, max_jobs_per_owner=1)
    manager.submit("alice", spec(epochs=LONG))
    queued = manager.submit("alice", spec(epochs=LONG))
    manager.instructor_pause(queued, "wait for the lecture")
    manager.shutdown(checkpoint=True)
    again = make_manager(runs=runs)
    seen = again.get("alice", queued)
    assert seen.held and seen.reason == "paused by the instructor: wait for the lecture"
    with pytest.raises(JobStateError):
        again.resume("alice", queued)


def test_the_cohort_lists_every_owners_jobs_running_first_with_its_slot(make_manager) -> None:
    manager = make_manager(max_jobs_per_owner=1)
    alice = manager.submit("alice", spec(epochs=LONG))
    wait_for(manager, "alice", alice, running)
    bob = manager.submit("bob", spec(epochs=LONG))
    carol = manager.submit("carol", spec(epochs=LONG))
    cohort = manager.cohort()
    assert [s.job_id for _, s in cohort] == [alice, bob, carol]
    assert [key for key, _ in cohort] == [owner_key(o) for o in ("alice", "bob", "carol")]
    assert cohort[0][1].slot == 0 and cohort[1][1].slot is None
    assert [s.position for _, s in cohort] == [None, 1, 2]


def test_the_instructor_api_refuses_unknown_jobs_and_empty_or_hostile_reasons(
    make_manager,
) -> None:
    manager = make_manager()
    with pytest.raises(JobNotFound):
        manager.instructor_stop("nope", "because")
    for bad in ("", "   ", "a\x00b", "tab\u200bhidden", "x" * (MAX_REASON + 1)):
        with pytest.raises(ValueError):
            clean_reason(bad)
    assert clean_reason("x" * MAX_REASON) == "x" * MAX_REASON


def test_pseudonyms_are_stable_readable_and_do_not_show_the_key() -> None:
    keys = [owner_key(f"session:{i}") for i in range(200)]
    names = [pseudonym(key) for key in keys]
    assert names == [pseudonym(key) for key in keys]
    assert len(set(names)) >= 195  # 102,400 names: collisions are rare in a class
    for key, name in zip(keys, names, strict=True):
        adjective, animal, number = name.split()
        assert adjective.isalpha() and animal.isalpha() and 0 <= int(number) < 100
        assert key[:6] not in name
