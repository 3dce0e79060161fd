"""The MNIST page's numbers taken apart for one generator: its samples scored by the metric
classifier, then FID and IS split into the parts a student can see (`playground.metrics.explained`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from playground.metrics.evaluator import Evaluator
from playground.metrics.explained import FidParts, IsParts, fid_parts, is_parts
from playground.metrics.scores import DEFAULT_SAMPLES
from playground.models import NUM_CLASSES
from playground.shipped import draw_noise
from playground.train.sampling import generate


@dataclass(frozen=True)
class Numbers:
    """FID and IS of `n` samples of one generator, in parts."""

    fid: FidParts
    inception: IsParts
    n: int


@torch.inference_mode()
def numbers_of(
    sampler: nn.Module,
    conditional: bool,
    evaluator: Evaluator,
    n: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> Numbers:
    """Score n samples from noise drawn with `seed` (a cGAN: each digit n/10 times), as the
    metrics of the jobs and the shipped models do, and split FID and IS into their parts."""
    labels = torch.arange(NUM_CLASSES).repeat_interleave(n // NUM_CLASSES) if conditional else None
    count = n if labels is None else len(labels)
    images = generate(sampler, draw_noise(sampler, count, seed), labels)
    features, logits = evaluator.classify(images)
    reference = evaluator.reference
    return Numbers(
        fid=fid_parts(reference.mean.cpu(), reference.cov.cpu(), features.cpu()),
        inception=is_parts(logits.cpu()),
        n=count,
    )


__all__ = ["Numbers", "numbers_of"]
