"""The tricks against mode collapse, measured: the collapsing ring of eight beside the same run
with one training trick switched on, each over many seeds, as modes covered.

A trick is a `Preset`: the mode-collapse lesson's failing settings with the trick's switches
(`playground.tricks`) changed, trained exactly like every other preset (`run_preset`). A run
scores the mean number of modes covered over the second half of its frames (the lesson's own
`Trace.late`), and the share of samples on a mode. `measure_tricks` fills the table; the table of
the default seeds ships in trained_models/ (`python -m playground.failures tricks`), and a stored
row stands in only for exactly the preset it was measured with (`preset_record`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from playground.checkpoints import (
    SHIPPED_DIR,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from playground.failures.lessons import LESSONS
from playground.failures.presets import FrameDone, Preset, run_preset
from playground.failures.traces import preset_record
from playground.tricks import two_time_scales

TRICKS_SEEDS = tuple(range(10))
"""The seeds of the shipped table."""
SHIPPED_TRICKS = SHIPPED_DIR / "tricks_table.safetensors"
TRICKS_TABLE_KIND = "tricks_table"

BASELINE = LESSONS["mode_collapse"].failure
"""The collapsing ring (G outruns D) that every trick is switched on in."""


def _trick(key: str, title: str, change: str, **switches: Any) -> Preset:
    settings = replace(BASELINE.settings, **switches).validate()
    return Preset(f"trick_{key}", title, settings, BASELINE.iterations, change)


TRICK_PRESETS: tuple[Preset, ...] = (
    replace(BASELINE, key="trick_baseline", title="No trick"),
    _trick(
        "label_smoothing",
        "One-sided label smoothing",
        "D's target for real samples 1 → 0.9",
        label_smoothing=0.1,
    ),
    _trick(
        "instance_noise",
        "Instance noise",
        "D sees x + σ ε, σ falling from 0.5 to 0 over the run",
        instance_noise=0.5,
        instance_noise_steps=BASELINE.iterations,
    ),
    _trick(
        "wgan_gp",
        "WGAN-GP",
        "a critic with gradient penalty λ = 10, 5 critic updates per G update",
        objective="wgan-gp",
        gp_weight=10.0,
        k_d=5,
    ),
    _trick(
        "minibatch_std",
        "Minibatch std",
        "D also sees the spread of the whole batch",
        minibatch_std=True,
    ),
    _trick(
        "spectral_norm",
        "Spectral normalisation",
        "every weight of D divided by its largest singular value",
        spectral_norm=True,
    ),
    _trick(
        "two_time_scales",
        "Two time-scales",
        "D learns 4× faster than G (lr_d = 4 lr_g)",
        **two_time_scales(BASELINE.settings.lr_g, ratio=4.0),
    ),
)
"""The baseline first, then one preset per trick, each changing only the trick's settings."""


@dataclass(frozen=True)
class TrickResult:
    """One preset over a set of seeds: modes covered (mean over the second half of each run) and
    the share of samples on a mode, one number per seed."""

    preset: Preset
    seeds: tuple[int, ...]
    modes: tuple[float, ...]
    on_mode: tuple[float, ...]

    @property
    def mean_modes(self) -> float:
        return float(np.mean(self.modes))

    @property
    def mean_on_mode(self) -> float:
        return float(np.mean(self.on_mode))

    def covering(self, at_least: float) -> int:
        """How many seeds covered at least `at_least` modes."""
        return int(sum(m >= at_least for m in self.modes))


Progress = Callable[[int, int], None]
"""Told (iterations trained so far, iterations in all) as the table is measured."""


def table_iterations(seeds: Sequence[int], presets: Sequence[Preset] = TRICK_PRESETS) -> int:
    """The training work of a table of `seeds`, in iterations (one of WGAN-GP's counts k_d times:
    its k_d critic updates take most of its time); the progress `measure_tricks` reports."""
    return len(seeds) * sum(_cost(preset) for preset in presets)


def _cost(preset: Preset) -> int:
    return preset.iterations * preset.settings.k_d


def score(preset: Preset, on_frame: FrameDone | None = None) -> tuple[float, float]:
    """Train `preset` and score the run: (modes covered, share of samples on a mode), each the
    mean over the second half of its frames."""
    trace = run_preset(preset, on_frame=on_frame)
    return float(trace.late("modes_covered").mean()), float(trace.late("on_mode").mean())


def _score_seed(preset: Preset, seed: int) -> tuple[float, float]:
    return score(preset.with_seed(seed))


def measure_tricks(
    seeds: Sequence[int],
    presets: Sequence[Preset] = TRICK_PRESETS,
    on_progress: Progress | None = None,
    jobs: int = 1,
) -> list[TrickResult]:
    """Train every preset from every seed and score each run; `on_progress` hears of each frame.

    With jobs > 1 the runs go to that many worker processes (each run on one thread, so the
    numbers are those of jobs = 1) and progress is not reported."""
    if jobs > 1:
        return _measure_in_processes(seeds, presets, jobs)
    total = table_iterations(seeds, presets)
    done = 0
    results = []
    for preset in presets:
        modes, on_mode = [], []
        for seed in seeds:

            def frame_done(
                iteration: int, _: int, start: int = done, k_d: int = preset.settings.k_d
            ) -> None:
                if on_progress is not None:
                    on_progress(start + iteration * k_d, total)

            covered, on = score(preset.with_seed(seed), frame_done)
            done += _cost(preset)
            modes.append(covered)
            on_mode.append(on)
        results.append(TrickResult(preset, tuple(seeds), tuple(modes), tuple(on_mode)))
    return results


def _measure_in_processes(
    seeds: Sequence[int], presets: Sequence[Preset], jobs: int
) -> list[TrickResult]:
    runs = [(preset, seed) for preset in presets for seed in seeds]
    context = multiprocessing.get_context("spawn")  # no forked torch state
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        scores = dict(zip(runs, pool.map(_score_seed, *zip(*runs, strict=True)), strict=True))
    return [
        TrickResult(
            preset,
            tuple(seeds),
            tuple(scores[preset, seed][0] for seed in seeds),
            tuple(scores[preset, seed][1] for seed in seeds),
        )
        for preset in presets
    ]


# -- the shipped table -----------------------------------------------------------------------


def _row_record(preset: Preset) -> dict[str, Any]:
    """What decides a row's numbers besides the seeds (the seed field itself left out)."""
    record = preset_record(preset)
    record["settings"].pop("seed")
    return record


def save_tricks_table(path: str | Path, results: Sequence[TrickResult], **facts: Any) -> Path:
    """Write the table as one checkpoint: a (rows, seeds) tensor each of modes covered and of
    samples on a mode; each row's preset record and the seeds in the JSON metadata."""
    seeds = list(results[0].seeds)
    metadata = {
        "kind": TRICKS_TABLE_KIND,
        **facts,
        "seeds": seeds,
        "order": [r.preset.key for r in results],  # the tensors' rows (JSON keys get sorted)
        "rows": {r.preset.key: _row_record(r.preset) for r in results},
    }
    tensors = {
        "modes": torch.tensor([r.modes for r in results], dtype=torch.float64),
        "on_mode": torch.tensor([r.on_mode for r in results], dtype=torch.float64),
    }
    return save_checkpoint(path, Checkpoint(tensors, metadata))


def load_tricks_table(
    path: str | Path, seeds: Sequence[int], presets: Sequence[Preset] = TRICK_PRESETS
) -> dict[str, TrickResult]:
    """The rows stored in `path` for exactly these `seeds` and presets, by preset key (a preset
    changed since the file was made is left out, to be measured). CheckpointError when the file
    is missing, unreadable or holds something else."""
    checkpoint = load_checkpoint(path)
    meta = checkpoint.metadata
    if checkpoint.kind != TRICKS_TABLE_KIND:
        raise CheckpointError(f"{Path(path).name} holds {checkpoint.kind!r}, not a tricks table")
    rows, order, stored_seeds = meta.get("rows"), meta.get("order"), meta.get("seeds")
    if not (isinstance(rows, dict) and isinstance(order, list) and isinstance(stored_seeds, list)):
        raise CheckpointError(f"{Path(path).name} lists no rows or seeds")
    shape = (len(order), len(stored_seeds))
    arrays = {name: checkpoint.tensors.get(name) for name in ("modes", "on_mode")}
    if any(a is None or tuple(a.shape) != shape for a in arrays.values()):
        raise CheckpointError(f"{Path(path).name} has no tables of shape {shape}")
    if stored_seeds != list(seeds):
        return {}
    index = {key: i for i, key in enumerate(order)}
    found = {}
    for preset in presets:
        if preset.key not in index or rows.get(preset.key) != _row_record(preset):
            continue
        i = index[preset.key]
        modes, on_mode = (tuple(arrays[n][i].tolist()) for n in ("modes", "on_mode"))
        found[preset.key] = TrickResult(preset, tuple(seeds), modes, on_mode)
    return found


def shipped_tricks_table(path: str | Path = SHIPPED_TRICKS) -> dict[str, TrickResult]:
    """The shipped rows of the default seeds that still match the presets, by preset key."""
    return load_tricks_table(path, TRICKS_SEEDS)


def table_facts(results: Sequence[TrickResult]) -> dict[str, Any]:
    """Each row's mean modes covered and seeds covering >= 7, for the manifest."""
    return {
        r.preset.key: {
            "mean_modes": round(r.mean_modes, 2),
            "modes": [round(m, 2) for m in r.modes],
            "on_mode": round(r.mean_on_mode, 3),
        }
        for r in results
    }
