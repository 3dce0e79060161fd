"""The cost of a press on the 2-core reference machine, and the cap it puts on a "Run N steps" press:
no press takes minutes of a shared server's CPU, whatever the settings."""

from __future__ import annotations

from playground.toy.readout import EVAL_SAMPLES
from playground.toy.settings import ToySettings, ToySettingsError

UPDATE_SECONDS = 1.5e-3
"""The fixed cost of one update (Python, autograd, the optimizer step) on the 2-core reference
machine; measured with tiny networks, where the maths is negligible."""

ENTRY_SECONDS = 4.5e-3
"""The fixed cost of one history entry: the read-out (KDE, D*, KL/JS, arrows) and the snapshot."""

SECONDS_PER_MULTIPLY_ADD = 2.3e-11
"""One multiply-add of the networks' maths, fitted to batch 1024 with 128-wide networks."""

RUN_LIMIT = 2000
"""The most iterations one "Run N steps" press may ask for, whatever the settings."""


def network_weights(settings: ToySettings) -> int:
    """Multiply-adds of one sample through G and D (their weight counts)."""
    g, d = settings.g_hidden, settings.d_hidden
    return settings.noise_dim * g + g * g + g + d + d * d + d


def iteration_seconds(settings: ToySettings) -> float:
    """Estimated time of one "k D + 1 G" iteration with its history entry on the reference
    machine: k_d + 1 updates, each a forward and backward pass (~3x the forward) over a batch of
    real and fake samples, plus the read-out on the evaluation samples, the grid and the map.

    The constants come from timing ToyGAN.run at the default, the smallest and the largest
    settings (bench/bench_stepper.py --costs prints the estimate beside the measurement).
    """
    weights = network_weights(settings)
    update = UPDATE_SECONDS + 2 * 3 * settings.batch_size * weights * SECONDS_PER_MULTIPLY_ADD
    readout = ENTRY_SECONDS + (EVAL_SAMPLES + 400) * weights * SECONDS_PER_MULTIPLY_ADD
    return (settings.k_d + 1) * update + readout


def run_limit(settings: ToySettings) -> int:
    """The most iterations one Run press may do with `settings` (at least one).

    One press may take what RUN_LIMIT iterations of the default experiment take (~16 s on the
    2-core reference machine): bigger networks, batches or k get proportionally fewer
    iterations, so no press takes minutes of a shared server's CPU.
    """
    budget = RUN_LIMIT * iteration_seconds(ToySettings())
    return max(1, min(RUN_LIMIT, int(budget / iteration_seconds(settings))))


class RunTooLong(ToySettingsError):
    """A Run press asked for more work than one press may do (the message says the limit)."""
