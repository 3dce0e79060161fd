"""Named 1-D experiments the stepper page offers beside its defaults (a button or a link opens
one): each shows one behaviour of the game on purpose."""

from __future__ import annotations

from dataclasses import dataclass

from playground.toy.settings import ToySettings


@dataclass(frozen=True)
class StepperPreset:
    """A named 1-D experiment: what it shows, in words, and its settings."""

    key: str
    title: str
    settings: ToySettings
    shows: str


CIRCLING = StepperPreset(
    key="circling",
    title="The slow, circling game",
    settings=ToySettings(lr_d=5e-4, lr_g=5e-4),
    shows=(
        "D and G learn at the same slow rate (5e-4), so G outruns what D can tell it: around step "
        "300 the fakes' pile overshoots the data to a mean near 6, then swings back below 4, and "
        "after 1,000 steps their spread is still swinging (std 0.8 to 1.8 on the 10 seeds we "
        "tried, where the defaults have settled on 1.25)."
    ),
)

STEPPER_PRESETS: dict[str, StepperPreset] = {preset.key: preset for preset in (CIRCLING,)}
"""The stepper's own named experiments, by key (the failure-modes page has its own)."""
