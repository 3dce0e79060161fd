"""Turning noise into digits: a generator (or the VAE's decoder) in eval mode, seeded noise, and the
fixed noise batch of a run's progress images."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from playground.models import NUM_CLASSES, ConditionalGenerator
from playground.seeds import FIXED_NOISE_STREAM, stream_seed
from playground.train.settings import TrainSettings

SAMPLE_CHUNK = 500
"""Samples drawn per forward pass (bounded memory for any n)."""
FIXED_SAMPLES_PER_DIGIT = 8
FIXED_SAMPLES = 64


def generate(generator: nn.Module, noise: Tensor, labels: Tensor | None = None) -> Tensor:
    """G(z) or G(z, y) in eval mode and without grad; G's train/eval mode is restored after."""
    conditional = isinstance(generator, ConditionalGenerator)
    if conditional != (labels is not None):
        need = "needs labels" if conditional else "takes no labels"
        raise ValueError(f"this generator {need}")
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            noise = noise.to(device)
            if labels is None:
                return generator(noise)
            return generator(noise, labels.to(device))
    finally:
        generator.train(was_training)


def draw_samples(
    generator: nn.Module, n: int, seed: int, device: str | torch.device | None = None
) -> tuple[Tensor, Tensor | None]:
    """n samples (n, 1, 28, 28) from noise seeded by `seed`; labels cycle 0-9 for a cGAN.

    The noise is drawn on the CPU, so a seed gives the same z on every device.
    """
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    z_dim = generator.z_dim
    rng = torch.Generator().manual_seed(seed)
    labels = None
    if isinstance(generator, ConditionalGenerator):
        labels = torch.arange(n) % NUM_CLASSES
    chunks = []
    for start in range(0, n, SAMPLE_CHUNK):
        size = min(SAMPLE_CHUNK, n - start)
        noise = torch.randn(size, z_dim, generator=rng)
        chunk_labels = None if labels is None else labels[start : start + size]
        chunks.append(generate(generator, noise.to(device), chunk_labels).cpu())
    return torch.cat(chunks), labels


def fixed_noise(settings: TrainSettings, device: torch.device) -> tuple[Tensor, Tensor | None]:
    """The fixed noise batch for progress images (cGAN: 8 per digit, digits 0-9 in order)."""
    generator = torch.Generator().manual_seed(stream_seed(settings.seed, FIXED_NOISE_STREAM))
    if settings.conditional:
        labels = torch.arange(NUM_CLASSES).repeat_interleave(FIXED_SAMPLES_PER_DIGIT)
        noise = torch.randn(len(labels), settings.z_dim, generator=generator)
        return noise.to(device), labels.to(device)
    return torch.randn(FIXED_SAMPLES, settings.z_dim, generator=generator).to(device), None
