"""The shipped runs: every lesson's presets run from the default seed, stored in
trained_models/failure_traces.safetensors (the project's checkpoint format), so a lecture's first
Run shows at once. A stored run stands in for `run_preset` only when its record (world,
iterations, frames, settings) is identical to the preset's, so a preset changed after the file was
made is trained, not misshown."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from playground.checkpoints import (
    SHIPPED_DIR,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from playground.failures.lessons import LESSONS, lesson_for_seed
from playground.failures.presets import DEFAULT_FRAMES, Frame, Preset, Trace, frame_iterations
from playground.failures.ring import mode_centers
from playground.toy import Measures, Readout, ToySettings

SHIPPED_SEED = 0
SHIPPED_TRACES = SHIPPED_DIR / "failure_traces.safetensors"
"""Every lesson's runs from SHIPPED_SEED: a lecture's first Run shows them instead of training."""
TRACES_KIND = "failure_traces"

_READOUT_ARRAYS = tuple(f.name for f in fields(Readout) if f.name not in ("measures", "settings"))
_MEASURES = tuple(f.name for f in fields(Measures))


def preset_record(preset: Preset, frames: int = DEFAULT_FRAMES) -> dict[str, Any]:
    """What decides a run's frames, as JSON: a stored run stands in for `run_preset` only when its
    record is identical, so a preset changed after the file was made is trained, not misshown."""
    record = {
        "world": preset.world,
        "iterations": preset.iterations,
        "frames": frames,
        "settings": asdict(preset.settings),
    }
    return json.loads(json.dumps(record))  # as it reads back from the file


def save_traces(
    path: str | Path, traces: Sequence[Trace], frames: int = DEFAULT_FRAMES, **facts: Any
) -> Path:
    """Write `traces` (run with `frames`) as one checkpoint: each preset's frames as tensors named
    "<preset key>.<part>", its record in the JSON metadata beside `facts` (command, seed, ...)."""
    tensors: dict[str, Tensor] = {}
    records: dict[str, Any] = {}
    for trace in traces:
        names = sorted({name for frame in trace.frames for name in frame.numbers})
        tensors.update(_packed_trace(trace, names))
        records[trace.preset.key] = {**preset_record(trace.preset, frames), "numbers": names}
    metadata = {"kind": TRACES_KIND, **facts, "presets": records}
    return save_checkpoint(path, Checkpoint(tensors, metadata))


def load_traces(
    path: str | Path, presets: Iterable[Preset], frames: int = DEFAULT_FRAMES
) -> dict[str, Trace]:
    """The runs stored in `path` of those `presets` it recorded with exactly their settings,
    iterations and frames, by preset key; the others are left out (to be trained).

    Raises CheckpointError when the file is missing, unreadable or holds something else.
    """
    checkpoint = load_checkpoint(path)
    if checkpoint.kind != TRACES_KIND:
        raise CheckpointError(f"{Path(path).name} holds {checkpoint.kind!r}, not failure-mode runs")
    records = checkpoint.metadata.get("presets")
    if not isinstance(records, dict):
        raise CheckpointError(f"{Path(path).name} lists no presets")
    return {
        preset.key: _stored_trace(checkpoint, preset, frames, records[preset.key])
        for preset in presets
        if _records_match(records.get(preset.key), preset_record(preset, frames))
    }


def shipped_traces(path: str | Path = SHIPPED_TRACES) -> dict[str, Trace]:
    """Every lesson's shipped runs from SHIPPED_SEED that still match the presets, by preset key
    (CheckpointError when the file is missing or unreadable)."""
    presets = [p for key in LESSONS for p in lesson_for_seed(key, SHIPPED_SEED).presets]
    return load_traces(path, presets)


def read_only(trace: Trace) -> Trace:
    """`trace` with every array made read-only, for a run that many sessions are shown at once
    (one page cannot then change what another draws)."""
    for frame in trace.frames:
        arrays = [frame.samples] if frame.readout is None else _readout_arrays(frame.readout)
        for array in arrays:
            if array is not None:
                array.flags.writeable = False
    trace.centers.flags.writeable = False
    return trace


def _readout_arrays(readout: Readout) -> list[np.ndarray]:
    return [getattr(readout, name) for name in _READOUT_ARRAYS]


def _records_match(stored: Any, wanted: dict[str, Any]) -> bool:
    return isinstance(stored, dict) and all(stored.get(k) == v for k, v in wanted.items())


def _packed_trace(trace: Trace, names: list[str]) -> dict[str, Tensor]:
    key = trace.preset.key
    measured = [[name in f.numbers for name in names] for f in trace.frames]
    numbers = [[f.numbers.get(name, math.nan) for name in names] for f in trace.frames]
    tensors = {
        f"{key}.iterations": torch.tensor(trace.iterations, dtype=torch.int64),
        f"{key}.numbers": torch.tensor(numbers, dtype=torch.float64),
        f"{key}.measured": torch.tensor(measured, dtype=torch.bool),
    }
    if trace.preset.world == "ring":
        tensors[f"{key}.samples"] = _compact([f.samples for f in trace.frames])
        return tensors
    readouts = [f.readout for f in trace.frames]
    for name in _READOUT_ARRAYS:
        tensors[f"{key}.readout.{name}"] = _compact([getattr(r, name) for r in readouts])
    measures = [[getattr(r.measures, name) for name in _MEASURES] for r in readouts]
    tensors[f"{key}.measures"] = torch.tensor(measures, dtype=torch.float64)
    return tensors


def _compact(arrays: Sequence[Any]) -> Tensor:
    """The arrays stacked, in float32 where that loses nothing (G's and D's outputs are float32
    numbers held as float64), else in float64: the file stays small and reads back exactly."""
    values = np.stack(arrays).astype(np.float64)
    single = values.astype(np.float32)
    if np.array_equal(single.astype(np.float64), values, equal_nan=True):
        return torch.from_numpy(single)
    return torch.from_numpy(values)


def _stored_trace(checkpoint: Checkpoint, preset: Preset, frames: int, record: Any) -> Trace:
    key = preset.key
    names = record.get("numbers")
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise CheckpointError(f"the stored run of {key} does not name its numbers")
    iterations = [0, *frame_iterations(preset.iterations, frames)]
    count = len(iterations)
    if _stored(checkpoint, f"{key}.iterations", (count,)).tolist() != iterations:
        raise CheckpointError(f"the stored run of {key} has other frames than the preset")
    values = _stored(checkpoint, f"{key}.numbers", (count, len(names)))
    measured = _stored(checkpoint, f"{key}.measured", (count, len(names)))
    numbers = [
        {name: float(v) for name, v, m in zip(names, row, mask, strict=True) if m}
        for row, mask in zip(values, measured, strict=True)
    ]
    if preset.world == "ring":
        samples = _stored(checkpoint, f"{key}.samples", (count, None, 2))
        shown = [
            Frame(i, n, samples=s) for i, n, s in zip(iterations, numbers, samples, strict=True)
        ]
        return Trace(preset, tuple(shown), centers=mode_centers(preset.settings))
    readouts = _stored_readouts(checkpoint, preset, count)
    shown = [Frame(i, n, readout=r) for i, n, r in zip(iterations, numbers, readouts, strict=True)]
    return Trace(preset, tuple(shown))


def _stored_readouts(checkpoint: Checkpoint, preset: Preset, count: int) -> list[Readout]:
    assert isinstance(preset.settings, ToySettings)
    arrays = {
        name: _stored(checkpoint, f"{preset.key}.readout.{name}", (count, None))
        for name in _READOUT_ARRAYS
    }
    measures = _stored(checkpoint, f"{preset.key}.measures", (count, len(_MEASURES)))
    return [
        Readout(
            **{name: values[i] for name, values in arrays.items()},
            measures=Measures(
                **{name: float(v) for name, v in zip(_MEASURES, measures[i], strict=True)}
            ),
            settings=preset.settings,
        )
        for i in range(count)
    ]


def _stored(checkpoint: Checkpoint, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """Tensor `name` as a read-only array (a stored run is shared by every session that shows
    it), after checking its shape (None: any length); CheckpointError otherwise."""
    tensor = checkpoint.tensors.get(name)
    fits = tensor is not None and tensor.ndim == len(shape)
    fits = fits and all(want in (None, got) for want, got in zip(shape, tensor.shape, strict=True))
    if not fits:
        raise CheckpointError(f"the traces file has no {name} of shape {shape}")
    values = tensor.double().numpy() if tensor.is_floating_point() else tensor.numpy()
    values.flags.writeable = False
    return values
