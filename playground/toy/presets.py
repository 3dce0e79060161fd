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

# -- real data beyond one Gaussian: settings that learn it, and a preset that drops a mode ------

LEARNS_MODES = {"g_hidden": 32, "lr_g": 2e-3}
"""A wider G, learning twice as fast as the defaults: steep enough to jump between modes."""

TARGET_PRESETS: dict[str, tuple[StepperPreset, StepperPreset]] = {
    "two_modes": (
        StepperPreset(
            key="two_modes",
            title="Two modes, learned",
            settings=ToySettings(target="two_modes", **LEARNS_MODES),
            shows=(
                "Two separated modes (½ N(4 ∓ 1.19, 0.375²)). A G of width 32 learning at 2e-3 "
                "covers both within 2,000 steps (JS 0.03 to 0.07, each mode 0.46 to 0.54 of the "
                "fakes on the 4 seeds we measured); its map z → x must climb steeply between them."
            ),
        ),
        StepperPreset(
            key="two_modes_dropped",
            title="Two modes, one dropped",
            settings=ToySettings(target="two_modes", g_hidden=4),
            shows=(
                "The same two modes with a G only 4 units wide: too smooth to climb between the "
                "modes, it puts every fake on one of them. After 1,000 steps one mode held no "
                "fake on each seed we measured (the default G of width 16 drops one on some seeds "
                "and spreads fakes into the gap on others)."
            ),
        ),
    ),
    "three_modes": (
        StepperPreset(
            key="three_modes",
            title="Three modes, learned",
            settings=ToySettings(target="three_modes", **LEARNS_MODES),
            shows=(
                "Three separated modes (⅓ each at 4 - 1.47, 4, 4 + 1.47, std 0.25). The wider, "
                "faster G of the two-mode lesson reaches all three within 2,000 steps, the middle "
                "one thinnest: three modes need two steep climbs."
            ),
        ),
        StepperPreset(
            key="three_modes_dropped",
            title="Three modes, one dropped",
            settings=ToySettings(target="three_modes", g_hidden=4),
            shows=(
                "The three modes with a G only 4 units wide: too smooth to climb between them, "
                "it puts every fake on one mode and drops the other two (after 1,000 steps on "
                "each of the 3 seeds we measured)."
            ),
        ),
    ),
    "uniform": (
        StepperPreset(
            key="uniform",
            title="Uniform, learned",
            settings=ToySettings(target="uniform"),
            shows=(
                "Uniform data on 4 ± 2.17 (std 1.25): the defaults flatten the fakes onto it "
                "(JS 0.017 to 0.025 after 2,000 steps on the 3 seeds we measured); for uniform "
                "noise the exact map is a straight line."
            ),
        ),
        StepperPreset(
            key="uniform_collapsed",
            title="Uniform, collapsed",
            settings=ToySettings(target="uniform", lr_d=1e-3, lr_g=1e-2),
            shows=(
                "G learning 10× faster than D: on some seeds the fakes pile onto part of the "
                "interval and leave the rest empty (1 of the 3 seeds we measured, JS 0.42 after "
                "1,000 steps); on others G still flattens them."
            ),
        ),
    ),
    "exponential": (
        StepperPreset(
            key="exponential",
            title="Exponential, learned",
            settings=ToySettings(target="exponential"),
            shows=(
                "Skewed data: 2.75 + Exp(mean 1.25), a sharp left edge and a long right tail. "
                "The defaults learn it (JS 0.066 to 0.079 after 2,000 steps on the 3 seeds we "
                "measured); the sharp edge and the tail are the slowest parts."
            ),
        ),
        StepperPreset(
            key="exponential_collapsed",
            title="Exponential, collapsed",
            settings=ToySettings(target="exponential", lr_d=1e-3, lr_g=1e-2),
            shows=(
                "G learning 10× faster than D: the fakes miss the sharp edge and the tail by "
                "more than with the defaults (JS 0.05 to 0.19 after 1,000 steps on the 3 seeds "
                "we measured, against 0.08 to 0.11 for the defaults)."
            ),
        ),
    ),
}
"""For each target beyond the Gaussian: (settings that learn it, a preset that drops a mode)."""

STEPPER_PRESETS: dict[str, StepperPreset] = {
    preset.key: preset
    for preset in (CIRCLING, *(p for pair in TARGET_PRESETS.values() for p in pair))
}
"""The stepper's own named experiments, by key (the failure-modes page has its own)."""
