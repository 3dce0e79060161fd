"""The comparison's scores as `python -m playground.compare score` recorded them in the manifest,
and whether they still describe the files that ship: a page shows them without scoring anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.checkpoints import CheckpointError, file_sha256
from playground.compare.scores import COMPARED, MEASURES, REAL
from playground.metrics import DEFAULT_CLASSIFIER_PATH
from playground.metrics.deep_features import DEFAULT_DEEP_FEATURES_PATH
from playground.shipped import manifest_entries, model_file

SCORES_ENTRY = "vae_vs_gan"
"""The manifest entry of the comparison's scores."""
SCORE_COMMAND = "python -m playground.compare score"


@dataclass(frozen=True)
class RecordedScores:
    """The rows ("vae", "dcgan", REAL: measure -> value), how they were made, and the sha256 of
    each file they depend on."""

    rows: dict[str, dict[str, float]]
    samples: int
    seed: int
    command: str
    sha256: dict[str, str]


def recorded_scores(entries: dict[str, Any] | None = None) -> RecordedScores | None:
    """The manifest's comparison scores (None when missing or not whole)."""
    entries = manifest_entries() if entries is None else entries
    entry = (entries or {}).get(SCORES_ENTRY)
    if not isinstance(entry, dict) or not isinstance(entry.get("rows"), dict):
        return None
    rows = entry["rows"]
    keys = {measure.key for measure in MEASURES}
    if not all(isinstance(rows.get(n), dict) and keys <= set(rows[n]) for n in (*COMPARED, REAL)):
        return None
    return RecordedScores(
        rows={name: dict(rows[name]) for name in (*COMPARED, REAL)},
        samples=int(entry.get("samples", 0)),
        seed=int(entry.get("seed", 0)),
        command=str(entry.get("command", SCORE_COMMAND)),
        sha256=dict(entry.get("sha256") or {}),
    )


def scored_files() -> dict[str, Path]:
    """Every file the comparison's scores depend on, by name (CheckpointError when a model's
    file is missing)."""
    files = {name: model_file(name)[0] for name in COMPARED}
    return files | {
        "classifier": DEFAULT_CLASSIFIER_PATH,
        "deep_features": DEFAULT_DEEP_FEATURES_PATH,
    }


def stale_files(recorded: RecordedScores) -> list[str]:
    """The files that changed (or are missing) since the scores were recorded."""
    try:
        files = scored_files()
    except CheckpointError:
        return list(COMPARED)
    stale = []
    for name, path in files.items():
        try:
            current = file_sha256(path)
        except OSError:
            current = None
        if current is None or recorded.sha256.get(name) != current:
            stale.append(name)
    return stale
