"""One run seed, many independent random streams: weights, batches, fixed noise, evaluation noise.

Every trainer in the course draws each kind of randomness from its own `torch.Generator`, seeded
by `stream_seed(run_seed, stream)`. numpy's SeedSequence mixes the words [run seed, stream], so the
streams are independent of each other and of the run seed itself. A stream is named by a number
(the MNIST engine's) or by a word (the toy worlds'; its UTF-8 bytes become the words): both kinds
are kept exactly as the shipped models and shipped failure runs were made with them, so a seed
gives the same run today as on the day those files were written.
"""

from __future__ import annotations

import numpy as np

# The MNIST engine's streams (its batch source uses the run seed itself).
INIT_STREAM = 1
"""Weight initialisation of G and D (or the VAE)."""
FIXED_NOISE_STREAM = 2
"""The fixed noise batch of the progress images."""
EVAL_NOISE_STREAM = 3
"""The noise of the samples every epoch is scored on (the same z at every epoch)."""
RESUMED_BATCHES_STREAM = 1000
"""Batches after a resume on another kind of device, plus the epochs already started: a CPU and a
CUDA generator have different states, so the run goes on from a fresh stream."""

# The toy worlds' streams (the 1-D GAN and the ring of modes).
TOY_INIT = "init"
TOY_BATCHES = "batches"
TOY_EVALUATION = "evaluation"


def stream_seed(seed: int, stream: int | str) -> int:
    """The seed of one random stream of the run seeded by `seed`, a 63-bit integer.

    `stream` is a number (INIT_STREAM, ...) or a word (TOY_INIT, ...); a word enters the mix as
    its UTF-8 bytes, one word of the SeedSequence each.
    """
    words = [seed, *stream.encode()] if isinstance(stream, str) else [seed, stream]
    state = np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


__all__ = [
    "EVAL_NOISE_STREAM",
    "FIXED_NOISE_STREAM",
    "INIT_STREAM",
    "RESUMED_BATCHES_STREAM",
    "TOY_BATCHES",
    "TOY_EVALUATION",
    "TOY_INIT",
    "stream_seed",
]
