"""The 2-D GAN world (what GAN Lab shows): data in the plane, a preset shape or drawn points;
noise of one or two dimensions; G and D with their layers, neurons and activation; every update
through `playground.gan.GANStepper`. The ring of the failure lessons is one of its worlds.

    settings  PlaneSettings: the experiment (what a link carries), checked by playground.settings
    data      the preset shapes and drawn points as samplers; their modes and modes covered
    world     the batch source, the two networks, their optimizers, the stepper
"""

from playground.plane.data import (
    MODE_KINDS,
    Coverage,
    mode_centers,
    mode_coverage,
    sample_noise,
    sample_real,
)
from playground.plane.settings import (
    ACTIVATIONS,
    DATA_KINDS,
    MAX_DRAWN,
    NOISE_KINDS,
    OPTIMIZERS,
    PLANE_CHOICES,
    PLANE_FLAGS,
    PLANE_RANGES,
    REBUILD_FIELDS,
    PlaneSettings,
    PlaneSettingsError,
    read_drawn,
    written_drawn,
)
from playground.plane.world import PlaneSource, build_stepper

__all__ = [
    "ACTIVATIONS",
    "DATA_KINDS",
    "MAX_DRAWN",
    "MODE_KINDS",
    "NOISE_KINDS",
    "OPTIMIZERS",
    "PLANE_CHOICES",
    "PLANE_FLAGS",
    "PLANE_RANGES",
    "REBUILD_FIELDS",
    "Coverage",
    "PlaneSettings",
    "PlaneSettingsError",
    "PlaneSource",
    "build_stepper",
    "mode_centers",
    "mode_coverage",
    "read_drawn",
    "sample_noise",
    "sample_real",
    "written_drawn",
]
