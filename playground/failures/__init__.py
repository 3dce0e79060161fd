"""How GAN training fails, each failure reproducible from a preset, with its fix run beside it.

Two toy worlds, both trained through the one step API (`playground.gan.GANStepper`): a 2-D ring
of Gaussian modes (mode collapse) and the 1-D Gaussian GAN of the stepper page (an overpowered
discriminator whose minimax generator loss gives G no gradient).

    ring     RingSettings, RingGAN, mode_coverage: the ring of modes
    presets  Preset, run_preset -> Trace of frames, FailureLesson, verdict
    lessons  LESSONS: the course's failing presets beside their one-setting fixes
    traces   the shipped runs of the default seed: save, load, match against the presets
    tricks   the collapsing ring beside each training trick over many seeds: the tricks table
    cli      `python -m playground.failures ship` rebuilds the shipped runs, `... tricks` the
             shipped tricks table

The public names are re-exported here: `from playground.failures import LESSONS, run_preset`.
"""

from playground.failures.cli import ship, ship_tricks
from playground.failures.lessons import (
    HELD_OUT_SEEDS,
    LESSONS,
    lesson_for_seed,
    robustness,
    stepper_params,
)
from playground.failures.presets import (
    DEFAULT_FRAMES,
    FailureLesson,
    Frame,
    FrameDone,
    Preset,
    Robustness,
    Trace,
    World,
    frame_iterations,
    held,
    outcome,
    run_preset,
    verdict,
)
from playground.failures.ring import (
    COVERED_SHARE,
    QUALITY_STDS,
    RING_CHOICES,
    RING_RANGES,
    Coverage,
    RingGAN,
    RingSettings,
    RingSettingsError,
    RingSource,
    mode_centers,
    mode_coverage,
)
from playground.failures.traces import (
    SHIPPED_SEED,
    SHIPPED_TRACES,
    TRACES_KIND,
    load_traces,
    preset_record,
    read_only,
    save_traces,
    shipped_traces,
)
from playground.failures.tricks import (
    BASELINE,
    SHIPPED_TRICKS,
    TRICK_PRESETS,
    TRICKS_SEEDS,
    TrickResult,
    load_tricks_table,
    measure_tricks,
    save_tricks_table,
    shipped_tricks_table,
    table_iterations,
)

__all__ = [
    "BASELINE",
    "SHIPPED_TRICKS",
    "TRICKS_SEEDS",
    "TRICK_PRESETS",
    "TrickResult",
    "load_tricks_table",
    "measure_tricks",
    "save_tricks_table",
    "ship_tricks",
    "shipped_tricks_table",
    "table_iterations",
    "COVERED_SHARE",
    "DEFAULT_FRAMES",
    "HELD_OUT_SEEDS",
    "LESSONS",
    "QUALITY_STDS",
    "RING_CHOICES",
    "RING_RANGES",
    "SHIPPED_SEED",
    "SHIPPED_TRACES",
    "TRACES_KIND",
    "Coverage",
    "FailureLesson",
    "Frame",
    "FrameDone",
    "Preset",
    "Robustness",
    "RingGAN",
    "RingSettings",
    "RingSettingsError",
    "RingSource",
    "Trace",
    "World",
    "frame_iterations",
    "held",
    "lesson_for_seed",
    "load_traces",
    "mode_centers",
    "mode_coverage",
    "outcome",
    "preset_record",
    "read_only",
    "robustness",
    "run_preset",
    "save_traces",
    "ship",
    "shipped_traces",
    "stepper_params",
    "verdict",
]
