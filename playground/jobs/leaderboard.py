"""The class leaderboard: a student publishes one of their finished MNIST jobs under a display
name, and everyone sees the ranked entries, each with its sample grid.

    DCGAN entries are ranked by FID (lower is better), cGAN entries by label accuracy (higher is
    better): the numbers the worker's evaluator wrote into the job's metrics when it finished.

An entry is a copy of what the job showed when it was published (its ranking metric, step and
samples), so publishing reveals nothing else of the job, and the job may be deleted afterwards.
Entries name their owner only by owner key, which no page shows; another owner's entry is
answered exactly like a missing one. Publishing the same job again replaces its entry.

On disk, `runs_dir/leaderboard/` holds `<entry id>.npy` (the uint8 samples) and `<entry id>.json`
per entry, each written atomically, the JSON last: an entry is read only once both are whole. A
corrupt or crafted file is skipped with a log line: files are read with a size cap, the JSON is
parsed as data and checked field by field, and the samples are loaded with allow_pickle=False
(a pickle in a .npy runs code) and checked for dtype and shape.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from playground.checkpoints import write_atomic
from playground.jobs.owners import owner_key
from playground.jobs.states import JobError, JobSnapshot, JobState
from playground.settings import shown

log = logging.getLogger(__name__)

FOLDER = "leaderboard"
"""The leaderboard's folder inside the JobManager's runs folder."""
ENTRY_FORMAT = 1
MAX_NAME_CHARS = 24
NAME_PUNCTUATION = " ._-"
ALLOWED_NAME = f"1 to {MAX_NAME_CHARS} characters: letters, digits, spaces and the marks . _ - only"
MAX_SAMPLES = 100
"""Samples kept per entry (a job's fixed-noise grid has 64, or 80 for the cGAN)."""
MAX_JSON_BYTES = 16 * 1024
MAX_NPY_BYTES = 1024 * 1024
_ENTRY_ID = re.compile(r"[0-9a-f]{16}")
_OWNER_KEY = re.compile(r"[0-9a-f]{24}")
_JOB_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


class LeaderboardError(JobError):
    """A leaderboard request cannot be honoured; the message says why (shown to the student)."""


@dataclass(frozen=True)
class Ranking:
    """How one model's entries are ranked: by which metric of the job, and in which direction."""

    metric_name: str  # the key in the job's metrics (SampleMetrics.as_dict)
    label: str
    lower_is_better: bool


RANKINGS = {
    "dcgan": Ranking("fid", "FID", lower_is_better=True),
    "cgan": Ranking("label_accuracy", "label accuracy", lower_is_better=False),
}
"""The ranking of each model that can be published."""


@dataclass(frozen=True)
class Entry:
    """One published job: a copy of its ranking metric, step and samples, under a display name."""

    entry_id: str
    owner_key: str  # who may withdraw it; never shown on a page
    job_id: str  # publishing this job again replaces the entry; never shown to others
    display_name: str
    model: str
    metric_name: str
    metric_value: float
    step: int
    samples: np.ndarray = field(compare=False, repr=False)  # (n, 28, 28) uint8, read-only
    published_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "format": ENTRY_FORMAT,
            "entry_id": self.entry_id,
            "owner_key": self.owner_key,
            "job_id": self.job_id,
            "display_name": self.display_name,
            "model": self.model,
            "metric_name": self.metric_name,
            "metric_value": self.metric_value,
            "step": self.step,
            "published_at": self.published_at,
        }


def ranking(model: str) -> Ranking:
    """The ranking of `model`'s entries; LeaderboardError for a model that has none."""
    if model not in RANKINGS:
        raise LeaderboardError(f"only DCGAN and cGAN jobs have a leaderboard, not {shown(model)}")
    return RANKINGS[model]


def checked_display_name(name: object) -> str:
    """The display name as it is published (NFC, stripped), or LeaderboardError saying what a
    name may hold. Only letters, digits, spaces and . _ - : no markup, no control or invisible
    characters, nothing that can pose as a line of the page."""
    if not isinstance(name, str):
        raise LeaderboardError(f"a display name is text of {ALLOWED_NAME}")
    text = unicodedata.normalize("NFC", name).strip()
    if not 1 <= len(text) <= MAX_NAME_CHARS:
        raise LeaderboardError(f"a display name must be {ALLOWED_NAME}; this one has {len(text)}")
    refused = "".join(sorted({c for c in text if not _allowed_in_name(c)}))
    if refused:
        raise LeaderboardError(
            f"a display name must be {ALLOWED_NAME}; {shown(refused)} is not allowed"
        )
    return text


def _allowed_in_name(char: str) -> bool:
    return char.isalpha() or char.isdecimal() or char in NAME_PUNCTUATION


def ranked_metric(snapshot: JobSnapshot) -> tuple[Ranking, float]:
    """The job's ranking and its value of the ranked metric, or LeaderboardError saying why the
    job cannot be ranked (not finished, not a GAN with a ranking, no finite score)."""
    rank_by = ranking(snapshot.model)
    if snapshot.state != JobState.FINISHED:
        raise LeaderboardError(
            f"job {snapshot.job_id} is {snapshot.state}: only a finished job can be published"
        )
    value = finite_number(snapshot.metrics.get(rank_by.metric_name))
    if value is None:
        raise LeaderboardError(
            f"job {snapshot.job_id} has no {rank_by.label} score, so it cannot be ranked "
            "(jobs are scored when they finish, where the server has its metric classifier)"
        )
    return rank_by, value


def checked_samples(samples: object) -> np.ndarray:
    """A read-only uint8 copy (n, 28, 28), n <= MAX_SAMPLES; ValueError for anything else."""
    if not isinstance(samples, np.ndarray) or samples.dtype != np.uint8:
        raise ValueError("samples must be a uint8 array")
    if samples.ndim != 3 or samples.shape[1:] != (28, 28) or len(samples) == 0:
        raise ValueError(f"samples must have shape (n, 28, 28), got {samples.shape}")
    copy = np.array(samples[:MAX_SAMPLES], dtype=np.uint8, copy=True)
    copy.setflags(write=False)
    return copy


def finite_number(value: object) -> float | None:
    """`value` as a float when it is a finite int or float (not a bool), else None."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range
        return None
    return number if math.isfinite(number) else None


class Leaderboard:
    """The class's published entries, kept in `directory`; thread-safe (one lock) and shared by
    every session. An owner holds at most `max_per_owner` entries, the board `max_entries`."""

    def __init__(self, directory: Path, max_per_owner: int = 3, max_entries: int = 500) -> None:
        self.directory = Path(directory)
        self.max_per_owner = max_per_owner
        self.max_entries = max_entries
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.error("the leaderboard folder %s cannot be created: %s", self.directory, exc)
            raise LeaderboardError(
                "the leaderboard is unavailable: this server cannot store it "
                f"({exc.strerror or type(exc).__name__})"
            ) from exc
        self._entries = {entry.entry_id: entry for entry in read_entries(self.directory)}

    def publish(self, owner: str, snapshot: JobSnapshot, display_name: str) -> Entry:
        """Publish the owner's finished job under `display_name` (again: replace its entry).

        `snapshot` must come from `JobManager.get(owner, job_id)`, which checks the owner.
        """
        key = owner_key(owner)
        rank_by, value = ranked_metric(snapshot)
        if snapshot.samples is None:
            raise LeaderboardError(f"job {snapshot.job_id} has no samples to show")
        samples = checked_samples(snapshot.samples)
        name = checked_display_name(display_name)
        step = snapshot.metrics_step if snapshot.metrics_step is not None else snapshot.step
        with self._lock:
            previous = self._entry_of_job(key, snapshot.job_id)
            if previous is None:
                self._check_room(key)
            entry = Entry(
                entry_id=previous.entry_id if previous else self._new_entry_id(),
                owner_key=key,
                job_id=snapshot.job_id,
                display_name=name,
                model=snapshot.model,
                metric_name=rank_by.metric_name,
                metric_value=value,
                step=int(step),
                samples=samples,
                published_at=time.time(),
            )
            self._write(entry)
            self._entries[entry.entry_id] = entry
        return entry

    def withdraw(self, owner: str, entry_id: str) -> None:
        """Remove one of the owner's entries (another owner's is answered like a missing one)."""
        key = owner_key(owner)
        with self._lock:
            entry = self._entries.get(entry_id) if isinstance(entry_id, str) else None
            if entry is None or entry.owner_key != key:
                raise LeaderboardError(f"there is no entry {shown(entry_id)} among yours")
            try:
                # The JSON first: without it the samples are never read, even after a restart.
                (self.directory / f"{entry_id}.json").unlink(missing_ok=True)
                (self.directory / f"{entry_id}.npy").unlink(missing_ok=True)
            except OSError as exc:
                log.exception("leaderboard: could not remove entry %s", entry_id)
                raise LeaderboardError(
                    f"the server could not withdraw the entry ({exc.strerror}); try again"
                ) from exc
            del self._entries[entry_id]

    def entries(self, model: str) -> list[Entry]:
        """`model`'s entries, best first (ties: the earlier published first)."""
        rank_by = ranking(model)
        sign = 1.0 if rank_by.lower_is_better else -1.0
        with self._lock:
            chosen = [e for e in self._entries.values() if e.model == model]
        return sorted(chosen, key=lambda e: (sign * e.metric_value, e.published_at))

    def mine(self, owner: str) -> list[Entry]:
        """The owner's entries, newest first."""
        key = owner_key(owner)
        with self._lock:
            chosen = [e for e in self._entries.values() if e.owner_key == key]
        return sorted(chosen, key=lambda e: e.published_at, reverse=True)

    def display_name(self, key: str) -> str | None:
        """The name the owner (by owner key) last published under, while an entry of theirs is
        on the board; None otherwise."""
        with self._lock:
            chosen = [e for e in self._entries.values() if e.owner_key == key]
        if not chosen:
            return None
        return max(chosen, key=lambda e: e.published_at).display_name

    # -- internals -------------------------------------------------------------------------------

    def _entry_of_job(self, key: str, job_id: str) -> Entry | None:
        return next(
            (e for e in self._entries.values() if e.owner_key == key and e.job_id == job_id), None
        )

    def _check_room(self, key: str) -> None:
        held = sum(e.owner_key == key for e in self._entries.values())
        if held >= self.max_per_owner:
            raise LeaderboardError(
                f"you already have {held} entries on the leaderboard, the most allowed; "
                "withdraw one before publishing another"
            )
        if len(self._entries) >= self.max_entries:
            raise LeaderboardError(
                f"the leaderboard is full ({self.max_entries} entries): nothing new can be "
                "published until entries are withdrawn"
            )

    def _new_entry_id(self) -> str:
        while True:
            entry_id = secrets.token_hex(8)
            if entry_id not in self._entries:
                return entry_id

    def _write(self, entry: Entry) -> None:
        """The samples, then the JSON that makes the entry readable; each atomically."""
        buffer = io.BytesIO()
        np.save(buffer, entry.samples, allow_pickle=False)
        text = json.dumps(entry.to_json(), indent=1).encode()
        try:
            write_atomic(self.directory / f"{entry.entry_id}.npy", buffer.getvalue())
            write_atomic(self.directory / f"{entry.entry_id}.json", text)
        except OSError as exc:
            log.exception("leaderboard: could not write entry %s", entry.entry_id)
            raise LeaderboardError(
                f"the server could not save the entry ({exc.strerror}); try again later"
            ) from exc


# -- reading the folder ----------------------------------------------------------------------------


def read_entries(directory: Path) -> list[Entry]:
    """Every readable entry in `directory`; a corrupt or crafted one is skipped with a log line."""
    entries = []
    for path in sorted(directory.glob("*.json")):
        try:
            entries.append(read_entry(path))
        except (OSError, ValueError, KeyError, TypeError, EOFError, RecursionError) as exc:
            log.warning("leaderboard: skipping unreadable entry %s: %s", path.name, exc)
    return entries


def read_entry(path: Path) -> Entry:
    """One entry from its JSON and .npy; ValueError (or OSError) for anything out of shape."""
    raw = json.loads(_read_capped(path, MAX_JSON_BYTES))
    if not isinstance(raw, dict) or raw.get("format") != ENTRY_FORMAT:
        raise ValueError("not a leaderboard entry of a known format")
    entry_id = _matching(raw, "entry_id", _ENTRY_ID)
    if entry_id != path.stem:
        raise ValueError("the entry id does not match the file name")
    model = raw["model"]
    rank_by = RANKINGS.get(model) if isinstance(model, str) else None
    if rank_by is None or raw["metric_name"] != rank_by.metric_name:
        raise ValueError("unknown model or metric")
    name = raw["display_name"]
    if checked_display_name(name) != name:  # a LeaderboardError is a ValueError
        raise ValueError("the display name is not in its published form")
    npy = _read_capped(path.with_suffix(".npy"), MAX_NPY_BYTES)
    return Entry(
        entry_id=entry_id,
        owner_key=_matching(raw, "owner_key", _OWNER_KEY),
        job_id=_matching(raw, "job_id", _JOB_ID),
        display_name=name,
        model=model,
        metric_name=rank_by.metric_name,
        metric_value=_finite(raw, "metric_value"),
        step=_whole(raw, "step"),
        samples=load_samples(npy),
        published_at=_finite(raw, "published_at"),
    )


def load_samples(npy: bytes) -> np.ndarray:
    """Samples from .npy bytes: the header is checked (uint8, (n, 28, 28), n <= MAX_SAMPLES)
    before any array is allocated, and no pickle is ever loaded."""
    stream = io.BytesIO(npy)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype != np.uint8 or len(shape) != 3 or shape[1:] != (28, 28) or shape[0] > MAX_SAMPLES:
        raise ValueError(f"samples must be uint8 (n, 28, 28), n <= {MAX_SAMPLES}")
    return checked_samples(np.load(io.BytesIO(npy), allow_pickle=False))


def _read_capped(path: Path, cap: int) -> bytes:
    """A regular file's bytes, refused beyond `cap` (a device or a huge file is never read whole)."""
    if not path.is_file():
        raise ValueError(f"{path.name} is missing or not a regular file")
    with path.open("rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"{path.name} is larger than {cap} bytes")
    return data


def _matching(raw: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = raw[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{name} is malformed")
    return value


def _finite(raw: dict[str, Any], name: str) -> float:
    value = finite_number(raw[name])
    if value is None:
        raise ValueError(f"{name} is not a finite number")
    return value


def _whole(raw: dict[str, Any], name: str) -> int:
    value = raw[name]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} is not a whole number >= 0")
    return value
