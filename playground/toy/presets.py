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

# -- real data beyond one Gaussian: settings that learn it, and a preset where G fails ---------
# Each caption's rate is measured on 10 seeds no other test uses (tests/unit/test_toy_targets.py
# checks it): "learned" means JS below 0.1 (0.12 for three modes) with every mode holding at
# least half its share of the fakes; "dropped", a mode holding under 5 % of them.

STUCK = {"g_loss": "minimax", "lr_d": 0.05}
"""The minimax loss against a D learning 50x faster than G: D is sure at once, G gets no signal."""

TARGET_PRESETS: dict[str, tuple[StepperPreset, StepperPreset]] = {
    "two_modes": (
        StepperPreset(
            key="two_modes",
            title="Two modes, learned",
            settings=ToySettings(target="two_modes", g_hidden=32, lr_g=2e-3),
            shows=(
                "Two separated modes (½ N(4 ∓ 1.19, 0.375²)). A G of width 32 learning at 2e-3 "
                "covers both: after 1,500 steps JS 0.040 to 0.081, each mode holding at least half "
                "its share of the fakes, in 9 of 10 seeds we tried. At this fast rate G keeps "
                "swinging: by step 2,000 JS is back above 0.1 on half of them. Its map z → x "
                "must climb steeply between the modes."
            ),
        ),
        StepperPreset(
            key="two_modes_dropped",
            title="Two modes, one dropped",
            settings=ToySettings(target="two_modes", g_hidden=4),
            shows=(
                "The same two modes with a G only 4 units wide: too smooth to climb between the "
                "modes, it puts every fake on the left one, nearest where it starts. After 600 "
                "steps the right mode holds under 5 % of the fakes in 10 of 10 seeds we tried."
            ),
        ),
    ),
    "three_modes": (
        StepperPreset(
            key="three_modes",
            title="Three modes, learned",
            settings=ToySettings(
                target="three_modes", g_hidden=32, d_hidden=64, lr_d=5e-3, lr_g=2e-3
            ),
            shows=(
                "Three separated modes (⅓ each at 4 - 1.47, 4, 4 + 1.47, std 0.25). A G of width "
                "32 against a D of width 64, learning at 2e-3 and 5e-3, reaches all three: after "
                "2,000 steps JS 0.077 to 0.116, each mode holding at least half its share, in "
                "9 of 10 seeds we tried. Two steep climbs leave about a tenth of the "
                "fakes between the modes, which alone costs about 0.09 of JS."
            ),
        ),
        StepperPreset(
            key="three_modes_dropped",
            title="Three modes, one dropped",
            settings=ToySettings(target="three_modes", g_hidden=4),
            shows=(
                "The three modes with a G only 4 units wide: too smooth to climb between them, "
                "it piles the fakes on the left mode. After 600 steps at least one mode holds "
                "under 5 % of the fakes in 10 of 10 seeds we tried (on one of them G then "
                "escapes to all three by step 1,000)."
            ),
        ),
    ),
    "uniform": (
        StepperPreset(
            key="uniform",
            title="Uniform, learned",
            settings=ToySettings(target="uniform"),
            shows=(
                "Uniform data on 4 ± 2.17 (std 1.25): the defaults flatten the fakes onto it, "
                "JS 0.017 to 0.031 after 500 steps in 10 of 10 seeds we tried (1,000 exact "
                "draws from the data score about 0.022). For uniform noise the exact map is a "
                "straight line."
            ),
        ),
        StepperPreset(
            key="uniform_stuck",
            title="Uniform, G stuck",
            settings=ToySettings(target="uniform", **STUCK),
            shows=(
                "The minimax loss log(1 - D(G(z))) with D learning 50× faster than G: D rejects "
                "the fakes near 0 at once, where that loss is flat, so G hardly moves. After 300 "
                "steps the fakes still sit near 0 (mean -0.3 to 0.6, std at most 0.17 against "
                "the data's 1.25; JS 0.69, the most there is) in 10 of 10 seeds we tried."
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
                "The defaults learn it: JS 0.053 to 0.080 after 1,500 steps in 10 of 10 seeds "
                "we tried (1,000 exact draws score about 0.03); the sharp edge and the tail are "
                "the slowest parts."
            ),
        ),
        StepperPreset(
            key="exponential_stuck",
            title="Exponential, G stuck",
            settings=ToySettings(target="exponential", **STUCK),
            shows=(
                "The minimax loss log(1 - D(G(z))) with D learning 50× faster than G: D rejects "
                "the fakes near 0 at once, where that loss is flat, so G never reaches the "
                "edge, let alone the tail. After 300 steps the fakes still sit near 0 (mean "
                "-0.3 to 0.6, std at most 0.16; JS 0.69) in 10 of 10 seeds we tried."
            ),
        ),
    ),
}
"""For each target beyond the Gaussian: (settings that learn it, a preset where G fails: drops a
mode, or stays stuck off the data)."""

STEPPER_PRESETS: dict[str, StepperPreset] = {
    preset.key: preset
    for preset in (CIRCLING, *(p for pair in TARGET_PRESETS.values() for p in pair))
}
"""The stepper's own named experiments, by key (the failure-modes page has its own)."""
