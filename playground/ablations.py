"""The DCGAN's rules, broken one at a time: a baseline run beside an ablation of the same seed.

Each ablation (`models.dcgan.ABLATIONS`) is a job setting; the shipped runs
`trained_models/ablation_<name>.safetensors` were all trained by one CLI command that differs only
in `--ablation` (see the manifest), and a student's own finished jobs compare the same way when
their settings differ only in the ablation. A `Run` is what the comparison reads of either: its
settings, a sample grid, its loss history and the metrics the MNIST page reports for every model.
`verdict` turns two runs' numbers into one sentence; nothing in it is written in advance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from playground import shipped
from playground.gan import HistoryPoint
from playground.jobs import JobSnapshot, JobState
from playground.models import ABLATIONS, NO_ABLATION
from playground.pixels import model_to_uint8
from playground.shipped import ShippedModel, draw_noise, manifest_entries
from playground.train import TrainSettings, generate

LABELS = {
    NO_ABLATION: "baseline DCGAN",
    "no_batch_norm": "batch norm off",
    "max_pool_d": "max pooling in D",
    "relu_d": "ReLU in D",
    "sigmoid_g": "sigmoid at G's output",
    "fully_connected_g": "fully connected G",
}
"""Each ablation as the page names it."""
RULES = {
    "no_batch_norm": (
        "batch normalization after each layer of G and D keeps every layer's activations at one "
        "scale, so gradients reach the first layers and G does not start with all samples alike"
    ),
    "max_pool_d": (
        "strided convolutions let D learn its own down-sampling; max pooling keeps only the "
        "largest response of each 2×2 patch, and passes gradient to that pixel alone"
    ),
    "relu_d": (
        "LeakyReLU (slope 0.2) in D passes a gradient for negative inputs too, so G learns from "
        "every unit of D; a ReLU unit that is off passes none"
    ),
    "sigmoid_g": (
        "tanh at G's output is centred on 0 with slope 1 there; a sigmoid (data in [0, 1]) has "
        "slope ¼ at most, so G's last layer gets weaker gradients"
    ),
    "fully_connected_g": (
        "transposed convolutions build an image from local patches with shared weights; a fully "
        "connected G must learn every pixel's neighbours on its own"
    ),
}
"""What the DCGAN rule each ablation breaks was for (Radford et al. 2015)."""
EXPLANATIONS = {NO_ABLATION: "the course DCGAN, every rule kept", **RULES}
FORM_HELP = (
    "Train a baseline (none) and an ablation with every other setting and the seed the same, "
    "then compare them in the ablations section below. "
    + " ".join(f"**{LABELS[name]}**: {text}." for name, text in EXPLANATIONS.items())
)
"""The job form's explanation of its ablation choice."""
SHIPPED_PREFIX = "ablation_"
SAMPLE_SEED = 0
"""The noise seed of the shipped runs' sample grids (one z for every run: the grids compare)."""
GRID_SAMPLES = 40
FID_CHANGE = 0.1
"""A relative FID change smaller than this counts as "about the same"."""


class AblationError(ValueError):
    """An ablation name or a pair of runs the comparison cannot use; the message says why."""


def checked_ablation(name: object) -> str:
    """`name` when it names an ablation (not the baseline), else AblationError."""
    if not isinstance(name, str) or name not in RULES:
        raise AblationError(f"ablation must be one of {', '.join(RULES)}, got {name!r}")
    return name


def shipped_name(ablation: str) -> str:
    """The file stem of the shipped run of `ablation` ("none": the baseline)."""
    return SHIPPED_PREFIX + ablation


def shipped_command(ablation: str) -> str:
    """The command that trains the shipped run of `ablation` (the manifest keeps the exact one)."""
    name = shipped_name(ablation)
    return (
        "python -m playground.train dcgan --epochs 1 --batch-size 64 --seed 0 --lr-g 0.0005 "
        f"--lr-d 0.0005 --ablation {ablation} --save generator --threads 1 --name {name} "
        f"--out trained_models/{name}.safetensors"
    )


def unavailable_text(ablation: str, reason: str) -> str:
    """What the page says when a shipped run of the comparison cannot be read."""
    missing = [
        a
        for a in (NO_ABLATION, ablation)
        if not (shipped.MODELS_DIR / f"{shipped_name(a)}.safetensors").exists()
    ]
    if not missing:
        return reason
    return (
        "The shipped runs of this comparison are not on this server. "
        + "; ".join(f"`{shipped_command(a)}` trains the {LABELS[a]}" for a in missing)
        + "."
    )


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare
class Run:
    """One trained run as the comparison reads it."""

    label: str
    settings: TrainSettings
    samples: np.ndarray | None  # (n, 28, 28) uint8
    history: tuple[HistoryPoint, ...]
    metrics: Mapping[str, float]

    @property
    def ablation(self) -> str:
        return self.settings.ablation


# ---------------------------------------------------------------------------------------------
# The runs: shipped files, or a student's finished jobs


def shipped_run(model: ShippedModel, entry: Mapping[str, Any] | None) -> Run:
    """A shipped run: G's samples of the noise seeded SAMPLE_SEED, the loss history and metrics
    its manifest entry recorded (the file's own metrics when the entry has none)."""
    settings = model.settings
    if not isinstance(settings, TrainSettings):
        raise AblationError(f"{model.name} is not a GAN")
    noise = draw_noise(model.sampler, GRID_SAMPLES, SAMPLE_SEED)
    samples = model_to_uint8(generate(model.sampler, noise))
    entry = entry or {}
    return Run(
        LABELS[settings.ablation],
        settings,
        samples,
        history_points(entry.get("losses")),
        numbers(entry.get("metrics") or model.metrics),
    )


def shipped_entry(ablation: str) -> Mapping[str, Any] | None:
    """The manifest entry of the shipped run of `ablation` (None when the manifest lacks it)."""
    entry = (manifest_entries() or {}).get(shipped_name(ablation))
    return entry if isinstance(entry, dict) else None


def history_points(columns: object) -> tuple[HistoryPoint, ...]:
    """The manifest's loss columns (cli.loss_columns) as history points; () when absent or
    malformed."""
    if not isinstance(columns, Mapping):
        return ()
    names = ("step", "epoch", "d_loss", "g_loss", "d_real", "d_fake")
    lists = [columns.get(name) for name in names]
    if not all(isinstance(values, list) for values in lists) or len({len(v) for v in lists}) != 1:
        return ()
    try:
        return tuple(
            HistoryPoint(int(step), float(epoch), math.nan, *map(float, rest))
            for step, epoch, *rest in zip(*lists, strict=True)
        )
    except (TypeError, ValueError):
        return ()


def numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers among `metrics` (labels, lists and None left out; counts stay whole)."""
    return {
        key: value
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def job_run(snapshot: JobSnapshot) -> Run:
    """A student's finished job as a run (its last samples, history and metrics)."""
    label = f"job {snapshot.job_id}: {LABELS[snapshot.settings.ablation]}"
    return Run(
        label,
        snapshot.settings,
        snapshot.samples,
        tuple(snapshot.history),
        numbers(snapshot.metrics),
    )


def comparison_problem(baseline: TrainSettings, ablated: TrainSettings) -> str | None:
    """None when two runs' settings differ only in the ablation (the baseline's "none"); else
    what differs (only the device may: it does not change what is learned)."""
    if baseline.ablation != NO_ABLATION:
        return "the first run must be a baseline (ablation none)"
    if ablated.ablation == NO_ABLATION:
        return "the second run must break a rule (an ablation other than none)"
    same = replace(ablated, ablation=NO_ABLATION, device=baseline.device)
    differ = sorted(k for k, v in same.to_dict().items() if baseline.to_dict()[k] != v)
    if differ:
        return f"the runs differ in more than the ablation: {', '.join(differ)}"
    return None


def job_pairs(snapshots: Sequence[JobSnapshot]) -> list[tuple[JobSnapshot, JobSnapshot]]:
    """(baseline, ablation) pairs among one owner's finished jobs with metrics whose settings
    differ only in the ablation, newest ablation first."""
    done = [s for s in snapshots if s.state == JobState.FINISHED and s.metrics]
    baselines = [s for s in done if s.settings.ablation == NO_ABLATION]
    pairs = []
    for ablated in sorted(done, key=lambda s: -s.created_at):
        match = [b for b in baselines if comparison_problem(b.settings, ablated.settings) is None]
        if ablated.settings.ablation != NO_ABLATION and match:
            pairs.append((max(match, key=lambda s: s.created_at), ablated))
    return pairs


# ---------------------------------------------------------------------------------------------
# What the numbers say


def verdict(baseline: Run, ablated: Run) -> str:
    """One sentence: the rule the ablation breaks, what it was for, and what the two runs'
    FID, digits covered and D's last verdict on fakes show."""
    ablation = checked_ablation(ablated.ablation)
    rule = RULES[ablation]
    base_fid, fid = baseline.metrics.get("fid"), ablated.metrics.get("fid")
    if base_fid is None or fid is None:
        return f"{_sentence_start(LABELS[ablation])}: {rule}; these runs have no FID to compare."
    return (
        f"{_sentence_start(LABELS[ablation])}: {rule}. Here the FID {_fid_change(base_fid, fid)} "
        f"({base_fid:.0f} → {fid:.0f}, lower is better){_coverage(baseline, ablated)}"
        f"{_d_fake(baseline, ablated)}."
    )


def _sentence_start(text: str) -> str:
    """`text` with its first letter in upper case (str.capitalize would lower "G" and "D")."""
    return text[:1].upper() + text[1:]


def _fid_change(base: float, other: float) -> str:
    change = (other - base) / max(base, 1e-9)
    if abs(change) < FID_CHANGE:
        return "stays about the same"
    if change > 0:
        return (
            f"is {other / max(base, 1e-9):.1f}× the baseline's: this run did worse without the rule"
        )
    return f"falls by {-change:.0%}: this run did better without the rule"


def _coverage(baseline: Run, ablated: Run) -> str:
    base, other = baseline.metrics.get("classes_covered"), ablated.metrics.get("classes_covered")
    if base is None or other is None:
        return ""
    return f", digits covered {base:.0f} → {other:.0f} of 10"


def _d_fake(baseline: Run, ablated: Run) -> str:
    if not baseline.history or not ablated.history:
        return ""
    base, other = _late_mean(baseline.history), _late_mean(ablated.history)
    return f", and D's late mean D(G(z)) {base:.2f} → {other:.2f}"


def _late_mean(history: Sequence[HistoryPoint]) -> float:
    """Mean D(G(z)) over the last quarter of a history (one point is too noisy to quote)."""
    tail = history[-max(1, len(history) // 4) :]
    return float(np.mean([p.d_fake for p in tail]))


__all__ = [
    "ABLATIONS",
    "EXPLANATIONS",
    "FORM_HELP",
    "LABELS",
    "RULES",
    "AblationError",
    "Run",
    "checked_ablation",
    "comparison_problem",
    "history_points",
    "job_pairs",
    "job_run",
    "numbers",
    "shipped_entry",
    "shipped_name",
    "shipped_run",
    "verdict",
]
