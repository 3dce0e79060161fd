"""The course's failure lessons: each failing preset beside the one-setting changes that fix it.

- Mode collapse on the ring of eight Gaussians: G learning ten times faster than D piles its
  samples onto one or two modes; a D as fast as G covers all eight.
- An overpowered discriminator in the 1-D world: the minimax generator loss log(1 - D(G(z))) is
  flat where D(G(z)) -> 0 (its gradient d/dlogit = -D(G(z)) vanishes) and G stops moving, while the
  non-saturating loss -log D(G(z)) keeps a gradient of 1 - D(G(z)) ~ 1 (Goodfellow et al., 2014,
  section 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from playground.failures.presets import FailureLesson, Preset
from playground.failures.ring import RingSettings, RingSettingsError
from playground.toy import ToySettings, ToySettingsError

_COLLAPSING_RING = RingSettings(lr_g=3e-3, lr_d=3e-4)
_OVERPOWERED_D = ToySettings(
    real_mean=7.0,
    real_std=1.0,
    optimizer="sgd",
    momentum=0.0,
    lr_d=0.05,
    lr_g=0.005,
    k_d=10,
    g_loss="minimax",
)

LESSONS: dict[str, FailureLesson] = {
    lesson.key: lesson
    for lesson in (
        FailureLesson(
            key="mode_collapse",
            title="Mode collapse",
            symptom=(
                "The data has eight modes, but G's samples pile onto one or two of them, and "
                "over time the pile hops from mode to mode instead of spreading out."
            ),
            cause=(
                "G learns ten times faster than D. Each G step moves *all* fakes towards "
                "whatever spot D currently rates most real; D is too slow to punish the pile "
                "before G has moved on, so G never has a reason to spread its samples."
            ),
            failure=Preset(
                "mode_collapse",
                "G outruns D (lr_g = 3e-3, lr_d = 3e-4)",
                _COLLAPSING_RING,
                iterations=2000,
            ),
            fixes=(
                Preset(
                    "mode_collapse_fast_d",
                    "D keeps up (lr_d = 3e-3)",
                    replace(_COLLAPSING_RING, lr_d=3e-3),
                    iterations=2000,
                    change="lr_d 3e-4 → 3e-3: D learns as fast as G",
                ),
            ),
        ),
        FailureLesson(
            key="vanishing_gradients",
            title="Overpowered discriminator, vanishing gradients",
            symptom=(
                "D quickly tells every fake from the data (D(x) → 1, D(G(z)) → 0, D's loss → "
                "0) and then G does not move at all: its samples stay where they started, far "
                "from N(7, 1), and G's gradient norm shrinks towards zero."
            ),
            cause=(
                "D gets ten updates at ten times G's learning rate, so it is nearly perfect. "
                "The minimax loss log(1 − D(G(z))) is flat where D(G(z)) ≈ 0: its gradient with "
                "respect to D's logit is −D(G(z)), so a confident D hands G almost no gradient, "
                "and plain SGD takes steps as small as that gradient. The non-saturating loss "
                "−log D(G(z)) has gradient −(1 − D(G(z))) ≈ −1 there: the better D is, the "
                "harder it pushes G."
            ),
            failure=Preset(
                "vanishing_gradients",
                "Minimax loss against a strong D",
                _OVERPOWERED_D,
                iterations=500,
            ),
            fixes=(
                Preset(
                    "vanishing_gradients_nonsaturating",
                    "Non-saturating loss",
                    replace(_OVERPOWERED_D, g_loss="nonsaturating"),
                    iterations=500,
                    change="g_loss minimax → non-saturating; D just as strong",
                ),
            ),
        ),
    )
}
"""The failure modes the page teaches, by key, in the page's order."""


def lesson_for_seed(key: str, seed: int) -> FailureLesson:
    """The lesson `key` from `seed`; raises ValueError with a clear message for bad input."""
    if key not in LESSONS:
        raise ValueError(f"unknown failure mode {key!r}; known: {', '.join(LESSONS)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, got {seed!r}")
    try:
        return LESSONS[key].with_seed(seed)
    except (RingSettingsError, ToySettingsError) as exc:
        raise ValueError(str(exc)) from None


def stepper_params(preset: Preset) -> Mapping[str, str]:
    """The 1-D stepper page's link parameters that open `preset` for stepping by hand."""
    if not isinstance(preset.settings, ToySettings):
        raise ValueError(f"{preset.title!r} is not a 1-D experiment")
    return preset.settings.to_params()
