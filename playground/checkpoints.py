"""The one checkpoint format: safetensors tensors + JSON metadata, and its only save/load path.

A checkpoint is a single `.safetensors` file. Its header carries one metadata entry, "playground",
holding JSON: {"format": 1, "kind": ..., "settings": {...}, "step": ..., "metrics": {...}, ...}.
Tensors are named "<part>.<state-dict key>", e.g. "generator.net.0.0.weight". Loading never
unpickles anything, refuses files over a size cap, and checks every tensor against the module it
is loaded into, so a corrupt, truncated, foreign or wrong-shaped file is refused with a message.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes
from torch import Tensor, nn

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "trained_models"
"""Where the files that ship with the app live (models, metric classifier, failure runs), with
manifest.json saying how each was made."""
FORMAT_VERSION = 1
METADATA_KEY = "playground"
MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024
"""Files above this size are refused before parsing (our largest is ~10 MB). Uploads meet the
app's own, smaller cap first: Streamlit's server.maxUploadSize."""
MAX_METADATA_DEPTH = 16
"""Our metadata nests 5 levels deep (metadata > g_opt > param_groups > group > betas)."""


class CheckpointError(ValueError):
    """A checkpoint could not be read or does not fit the model; the message says why."""


@dataclass
class Checkpoint:
    """Tensors grouped by part ("generator", "discriminator", ...) plus the JSON metadata."""

    tensors: dict[str, Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)

    def part(self, name: str) -> dict[str, Tensor]:
        """The state dict stored under `name.` (empty if the part is absent)."""
        prefix = name + "."
        return {k[len(prefix) :]: v for k, v in self.tensors.items() if k.startswith(prefix)}

    def has_part(self, name: str) -> bool:
        return any(k.startswith(name + ".") for k in self.tensors)

    @property
    def kind(self) -> str:
        return str(self.metadata.get("kind", ""))


def pack_parts(parts: dict[str, dict[str, Tensor]]) -> dict[str, Tensor]:
    """{"generator": state_dict, ...} -> flat {"generator.<key>": tensor} (contiguous CPU copies)."""
    flat: dict[str, Tensor] = {}
    for part, state in parts.items():
        for key, tensor in state.items():
            flat[f"{part}.{key}"] = tensor.detach().to("cpu").contiguous().clone()
    return flat


def to_bytes(checkpoint: Checkpoint) -> bytes:
    """Serialise a checkpoint (for downloads and for atomic writes)."""
    meta = {"format": FORMAT_VERSION, **checkpoint.metadata}
    header = {METADATA_KEY: json.dumps(meta, sort_keys=True, default=_json_default)}
    return save_bytes(checkpoint.tensors, metadata=header)


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> Path:
    """Write a checkpoint atomically, so a crash mid-write never leaves a torn file."""
    return write_atomic(path, to_bytes(checkpoint))


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` via a temp file + rename: readers see the old file or the new one, never half.

    The file is made readable by all (0644) like any file the project writes; the temp file's
    private mode would otherwise carry over.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def update_manifest(manifest: str | Path, name: str, entry: dict[str, Any]) -> Path:
    """Set models[name] = entry in manifest.json, keeping every other entry; atomic write."""
    manifest = Path(manifest)
    content: dict[str, Any] = {"models": {}}
    if manifest.exists():
        content = json.loads(manifest.read_text())
        content.setdefault("models", {})
    content["models"][name] = entry
    write_atomic(manifest, (json.dumps(content, indent=2, sort_keys=True) + "\n").encode())
    return manifest


def from_bytes(data: bytes, max_bytes: int = MAX_CHECKPOINT_BYTES) -> Checkpoint:
    """Parse checkpoint bytes without pickle; raise CheckpointError for anything else."""
    if len(data) > max_bytes:
        raise CheckpointError(
            f"file is {len(data) / 2**20:.1f} MiB; checkpoints are at most {max_bytes / 2**20:.0f} MiB"
        )
    if len(data) < 8:
        raise CheckpointError("file is too short to be a checkpoint (expected a .safetensors file)")
    try:
        tensors = load_bytes(data)
        metadata = _read_metadata(data)
    except (SafetensorError, ValueError, OSError) as exc:
        raise CheckpointError(f"not a valid .safetensors checkpoint ({_first_line(exc)})") from exc
    _check_shared_fields(metadata)
    return Checkpoint(tensors=tensors, metadata=metadata)


def _check_shared_fields(metadata: dict[str, Any]) -> None:
    """Refuse metadata whose shared fields ("kind", "step", "settings", "metrics") have the wrong
    type, so a crafted file fails here with a message rather than deep inside the code reading it.
    Fields of one trainer (optimizer groups, batch source) are checked where they are loaded."""
    for name, fits, wanted in _SHARED_FIELDS:
        if name in metadata and not fits(metadata[name]):
            raise CheckpointError(
                f"checkpoint metadata {name!r} must be {wanted}, got {_short(metadata[name])}"
            )


def file_version(path: Path, missing: str) -> tuple[Path, int]:
    """`path` and its modification time in ns (a cache key that changes when the file is
    replaced); CheckpointError(`missing`) when there is no such file."""
    try:
        return path, path.stat().st_mtime_ns
    except OSError:
        raise CheckpointError(missing) from None


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks (a shipped file's fingerprint)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_checkpoint(path: str | Path, max_bytes: int = MAX_CHECKPOINT_BYTES) -> Checkpoint:
    """Read a checkpoint file (size-capped, no pickle)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path.name}: {exc.strerror}") from exc
    if size > max_bytes:
        raise CheckpointError(
            f"{path.name} is {size / 2**20:.1f} MiB; checkpoints are at most {max_bytes / 2**20:.0f} MiB"
        )
    return from_bytes(path.read_bytes(), max_bytes)


def load_state_into(module: nn.Module, state: dict[str, Tensor], part: str) -> None:
    """Copy `state` into `module` after checking names, shapes and dtypes match exactly."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{part} weights do not fit this model: "
            + _describe_keys("missing", missing)
            + _describe_keys("unexpected", unexpected)
        )
    for key, tensor in state.items():
        check_tensor_like(tensor, expected[key], f"{part} weight {key}", "this model needs")
    module.load_state_dict(state)


def check_tensor_like(tensor: Tensor, reference: Tensor, label: str, needs: str) -> None:
    """Refuse `tensor` unless it has `reference`'s shape and dtype and only finite values."""
    if tensor.shape != reference.shape:
        raise CheckpointError(
            f"{label} has shape {tuple(tensor.shape)}, {needs} {tuple(reference.shape)}"
        )
    if tensor.dtype != reference.dtype:
        raise CheckpointError(f"{label} is {tensor.dtype}, {needs} {reference.dtype}")
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        raise CheckpointError(f"{label} contains NaN or infinite values")


IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")
"""Optimizer options that depend on the device a run uses, not on the training maths: on load they
come from the optimizer being restored (a CUDA run's `capturable=True` would break a CPU resume)."""


def pack_optimizer_state(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """An optimizer's state as tensors {"<param index>.<name>": tensor} + JSON {"param_groups": [...]}.

    Adam's moments and step counters become tensors; learning rates, betas and the other group
    settings go to JSON, so the checkpoint stays pickle-free.
    """
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if value is None:
                continue
            tensors[f"{index}.{name}"] = value if isinstance(value, Tensor) else torch.tensor(value)
    groups = [
        {key: _plain(value) for key, value in group.items()} for group in state["param_groups"]
    ]
    return tensors, {"param_groups": groups}


def load_optimizer_state_into(
    optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], meta: Any, part: str
) -> None:
    """Check a packed optimizer state against `optimizer`'s parameters, then load it.

    Every moment must have its parameter's shape and dtype and be finite; the step counters must
    be finite non-negative scalars; the parameter groups must list the same parameters.
    """
    groups = _merged_param_groups(optimizer, meta, part)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    state: dict[int, dict[str, Tensor]] = {}
    for key, tensor in tensors.items():
        index, name = _state_key(key, len(params), part)
        _check_state_tensor(tensor, params[index], f"{part} state {key}", name == "step")
        state.setdefault(index, {})[name] = tensor
    names = {frozenset(values) for values in state.values()}
    if len(names) > 1:
        raise CheckpointError(f"{part} state entries do not all hold the same quantities")
    ordered = dict(sorted(state.items()))  # parameter order, as a fresh optimizer holds it
    optimizer.load_state_dict({"state": ordered, "param_groups": groups})
    _match_parameter_layout(optimizer, params)


def _merged_param_groups(
    optimizer: torch.optim.Optimizer, meta: Any, part: str
) -> list[dict[str, Any]]:
    current = optimizer.state_dict()["param_groups"]
    saved = meta.get("param_groups") if isinstance(meta, dict) else None
    if not isinstance(saved, list) or not all(isinstance(g, dict) for g in saved):
        raise CheckpointError(f"{part} has no readable optimizer parameter groups")
    if len(saved) != len(current):
        raise CheckpointError(
            f"{part} has {len(saved)} parameter groups, this optimizer has {len(current)}"
        )
    merged = []
    for old, now in zip(saved, current, strict=True):
        if old.get("params") != now["params"]:
            count = len(old["params"]) if isinstance(old.get("params"), list) else "?"
            raise CheckpointError(
                f"{part} optimizer holds {count} parameters, this model has {len(now['params'])}"
            )
        unknown = sorted(set(old) - set(now))
        if unknown:
            raise CheckpointError(f"{part} has optimizer settings this optimizer lacks: {unknown}")
        merged.append(_merged_group(old, now, part))
    return merged


def _merged_group(saved: dict[str, Any], fresh: dict[str, Any], part: str) -> dict[str, Any]:
    """The fresh group with the saved settings, each checked against the fresh value's kind;
    the device flags stay the fresh optimizer's."""
    group = dict(fresh)
    for key, value in saved.items():
        if key != "params" and key not in IMPLEMENTATION_FLAGS:
            group[key] = _group_value(key, value, fresh[key], part)
    return group


def _group_value(key: str, saved: Any, fresh: Any, part: str) -> Any:
    """`saved` if it is what `fresh` is: a number for a number (lr, eps, weight_decay), as many
    numbers for a tuple (betas), and the same value for a switch (amsgrad, maximize), which our
    trainers never change; a hand-edited file would otherwise load and fail at the next step."""
    label = f"{part} optimizer setting {key!r}"
    plain = _plain(fresh)
    if isinstance(plain, list):
        if not isinstance(saved, list) or len(saved) != len(plain):
            raise CheckpointError(f"{label} must be {len(plain)} numbers, got {_short(saved)}")
        return type(fresh)(_group_number(key, v, label) for v in saved)
    if _is_number(plain):
        return _group_number(key, saved, label)
    if type(saved) is not type(plain) or saved != plain:
        raise CheckpointError(f"{label} must be {plain!r} for this optimizer, got {_short(saved)}")
    return saved


MAX_GROUP_NUMBER = 1e6
"""The largest optimizer setting (learning rate, weight decay, ...) a checkpoint may hold: far
above any our trainers use (<= 0.1), and small enough that Adam's float32 step size
lr / (1 - beta1**t) cannot overflow (1 - beta1 >= 1.1e-16 for any double below 1)."""


def _group_number(key: str, value: Any, label: str) -> int | float:
    """A finite number in [0, MAX_GROUP_NUMBER]; Adam's betas below 1 and its eps above 0,
    because Adam divides by 1 - beta**t and by sqrt(v) + eps."""
    # Compared, not converted: math.isfinite(10**400) raises OverflowError. NaN fails both.
    if not (_is_number(value) and -MAX_GROUP_NUMBER <= value <= MAX_GROUP_NUMBER):
        raise CheckpointError(
            f"{label} must be a finite number of at most {MAX_GROUP_NUMBER:g}, got {_short(value)}"
        )
    above_low = value > 0 if key == "eps" else value >= 0
    below_high = value < 1 if key == "betas" else True
    if not (above_low and below_high):
        raise CheckpointError(f"{label} is out of its range, got {_short(value)}")
    return value


def _state_key(key: str, n_params: int, part: str) -> tuple[int, str]:
    index, _, name = key.partition(".")
    # isdigit() alone admits "²" and 5,000-digit numbers, which int() refuses with a ValueError.
    number = index.isascii() and index.isdigit() and len(index) < 10
    if not (number and name and int(index) < n_params):
        raise CheckpointError(f"{part} has an unexpected optimizer tensor {key!r}")
    return int(index), name


def _check_state_tensor(tensor: Tensor, param: Tensor, label: str, is_step: bool) -> None:
    if is_step:
        if tensor.numel() != 1 or not tensor.is_floating_point():
            raise CheckpointError(f"{label} must be one floating-point step count")
        if not (torch.isfinite(tensor).all() and tensor.item() >= 0):
            raise CheckpointError(f"{label} must be a finite, non-negative step count")
        return
    check_tensor_like(tensor, param, label, "its parameter has")


def _match_parameter_layout(optimizer: torch.optim.Optimizer, params: list[Tensor]) -> None:
    """Give each loaded moment its parameter's memory layout (e.g. channels_last convolutions),
    as a fresh optimizer would, so a resumed run computes exactly what an unbroken one does."""
    for param in params:
        state = optimizer.state.get(param, {})
        for name, value in list(state.items()):
            moment = isinstance(value, Tensor) and value.shape == param.shape
            if moment and value.stride() != param.stride():
                state[name] = torch.empty_like(param).copy_(value)


def _plain(value: Any) -> Any:
    """Optimizer group values as JSON-ready numbers and lists (betas tuples, 0-d tensors)."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _read_metadata(data: bytes) -> dict[str, Any]:
    """The "playground" JSON of a file safetensors has already parsed (so its header is sound)."""
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len])
    raw = (header.get("__metadata__") or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError("no playground metadata in the file header")
    meta = _parse_shallow_json(raw)
    if not isinstance(meta, dict):
        raise ValueError(f"the playground metadata is a JSON {type(meta).__name__}, not an object")
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported checkpoint format {meta.get('format')!r}")
    return meta


def _parse_shallow_json(text: str) -> Any:
    """JSON nested at most MAX_METADATA_DEPTH levels; ValueError otherwise."""
    try:
        value = json.loads(text)
    except RecursionError:  # json's parser recurses once per level: a crafted file nests 100,000
        raise ValueError("the metadata is nested too deeply") from None
    if _nests_deeper(value, MAX_METADATA_DEPTH):
        raise ValueError(f"the metadata is nested more than {MAX_METADATA_DEPTH} levels deep")
    return value


def _nests_deeper(value: Any, levels: int) -> bool:
    if not isinstance(value, dict | list):
        return False
    children = value.values() if isinstance(value, dict) else value
    return levels == 0 or any(_nests_deeper(child, levels - 1) for child in children)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_metrics(value: Any) -> bool:
    """{"fid": 12.3, "label_accuracy": null, "class_shares": [0.1, ...], "reference": {...}}"""
    return isinstance(value, dict) and all(_is_metric(v) for v in value.values())


def _is_metric(value: Any) -> bool:
    if isinstance(value, list):
        return all(map(_is_number, value))
    return value is None or _is_number(value) or _is_metrics(value)


_SHARED_FIELDS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("kind", lambda v: isinstance(v, str), "text"),
    ("step", _is_count, "a whole number >= 0"),
    ("settings", lambda v: isinstance(v, dict), "an object of settings"),
    ("metrics", _is_metrics, "an object of numbers, lists of numbers or such objects"),
)


def _short(value: Any) -> str:
    return repr(value)[:60]


def _describe_keys(label: str, keys: list[str]) -> str:
    if not keys:
        return ""
    shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
    return f"{label} {shown}. "


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in checkpoint metadata")


# ---------------------------------------------------------------------------------------------
# What a manifest records about the machine a file was made on


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model and torch's thread count (what a run's speed and its
    last bits depend on)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({_cpu_model()}, {torch.get_num_threads()} threads)"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # not Linux: fall back to what the platform module knows
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str]:
    """The versions of Python and the libraries a file's numbers depend on."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }
