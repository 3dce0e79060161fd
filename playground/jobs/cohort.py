"""The instructor's table of the cohort: one row per job, the student named by the display name
they chose (on the leaderboard) or by a pseudonym, never by their id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from playground.jobs.owners import pseudonym
from playground.jobs.states import JobSnapshot, JobState

COLUMNS = (
    "student",
    "job",
    "model",
    "state",
    "queue",
    "slot",
    "progress",
    "step",
    "images/s",
    "FID",
    "label accuracy",
    "note",
)


def cohort_rows(
    cohort: Sequence[tuple[str, JobSnapshot]],
    display_name: Callable[[str], str | None] = lambda key: None,
) -> list[dict[str, Any]]:
    """One row per (owner key, job) of `JobManager.cohort()`, in its order, keyed by COLUMNS."""
    rows = []
    for key, job in cohort:
        running = job.state == JobState.RUNNING
        rows.append(
            {
                "student": display_name(key) or pseudonym(key),
                "job": job.job_id,
                "model": job.model,
                "state": str(job.state) + (" (held)" if job.held else ""),
                "queue": job.position,
                "slot": job.slot,
                "progress": job.progress,
                "step": job.step,
                "images/s": round(job.images_per_s, 1) if running else None,
                "FID": job.metrics.get("fid"),
                "label accuracy": job.metrics.get("label_accuracy"),
                "note": job.reason,
            }
        )
    return rows


def cohort_counts(cohort: Sequence[tuple[str, JobSnapshot]]) -> dict[str, int]:
    """How many jobs are in each live state, and how many students have a live job."""
    live = [(key, job) for key, job in cohort if job.is_live]
    return {
        "running": sum(job.state == JobState.RUNNING for _, job in live),
        "queued": sum(job.state == JobState.QUEUED for _, job in live),
        "paused": sum(job.state == JobState.PAUSED for _, job in live),
        "students training": len({key for key, _ in live}),
    }


__all__ = ["COLUMNS", "cohort_counts", "cohort_rows"]
