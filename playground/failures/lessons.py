"""The course's failure lessons: each failing preset beside the one-setting changes that fix it.

- Mode collapse on the ring of eight Gaussians: G learning ten times faster than D piles its
  samples onto one mode; a D that also sees the spread of each batch (minibatch standard
  deviation, Karras et al. 2018) makes the pile easy to punish, and G spreads over all eight.
- An overpowered discriminator in the 1-D world: the minimax generator loss log(1 - D(G(z))) is
  flat where D(G(z)) -> 0 (its gradient d/dlogit = -D(G(z)) vanishes) and G stops moving, while the
  non-saturating loss -log D(G(z)) keeps a gradient of 1 - D(G(z)) ~ 1 (Goodfellow et al., 2014,
  section 3).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from playground.failures.presets import FailureLesson, Preset, Robustness, held, run_preset
from playground.failures.ring import RingSettings, RingSettingsError
from playground.toy import ToySettings, ToySettingsError

HELD_OUT_SEEDS = tuple(range(2000, 2010))
"""Seeds that no test, no shipped run and no tuning of the presets used: each lesson's stated
rates (`FailureLesson.measured`) are measured on them, by `robustness` in a slow test."""


_COLLAPSING_RING = RingSettings(lr_g=1e-3, lr_d=1e-4)
_RING_ITERATIONS = 4000
"""Long enough for the fix to reach every mode on held-out seeds (at 2,000 iterations it left
one or two modes starved on 3 of 10 tuning seeds)."""
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
                "The data has eight modes, but G's samples pile onto one of them (or a spot "
                "between them), and over time the pile hops from place to place instead of "
                "spreading out."
            ),
            cause=(
                "G learns ten times faster than D. Each G step moves *all* fakes towards "
                "whatever spot D currently rates most real; D, slow and judging one sample at a "
                "time, cannot punish the pile before G has moved on, so G never has a reason to "
                "spread its samples. Let D see each batch as a whole (the spread of its samples, "
                "*minibatch standard deviation*) and a pile of fakes, all alike, is easy to tell "
                "from the data, however slow D is: G only gains by spreading out."
            ),
            failure=Preset(
                "mode_collapse",
                "G outruns D (lr_g = 1e-3, lr_d = 1e-4)",
                _COLLAPSING_RING,
                iterations=_RING_ITERATIONS,
            ),
            fixes=(
                Preset(
                    "mode_collapse_minibatch_std",
                    "D sees the batch's spread (minibatch std)",
                    replace(_COLLAPSING_RING, minibatch_std=True),
                    iterations=_RING_ITERATIONS,
                    change="minibatch_std off → on: D also sees how spread out each batch is",
                ),
            ),
            # Seeds 2000-2009: 0.4-0.8 modes covered without the fix, 7.4-8.0 with it.
            measured=Robustness(HELD_OUT_SEEDS, failed=10, fixed=10),
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
            # Seeds 2000-2009: the fakes' last mean -0.3-0.4 with minimax, 7.0-7.2 (data: 7).
            measured=Robustness(HELD_OUT_SEEDS, failed=10, fixed=10),
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


def robustness(
    key: str,
    seeds: tuple[int, ...] = HELD_OUT_SEEDS,
    on_seed: Callable[[int, tuple[bool, bool]], None] | None = None,
    jobs: int = 1,
) -> Robustness:
    """Run every preset of lesson `key` from each of `seeds`: in how many the failing preset
    failed as taught, and in how many every fix worked. `on_seed(seed, (failed, fixed))` hears
    of each seed as it is done. With jobs > 1 the seeds go to that many worker processes (each
    run on one thread, so the verdicts are those of jobs = 1)."""
    if jobs > 1:
        context = multiprocessing.get_context("spawn")  # no forked torch state
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(held_on_seed, [key] * len(seeds), seeds))
    else:
        results = (held_on_seed(key, seed) for seed in seeds)
    failed = fixed = 0
    for seed, result in zip(seeds, results, strict=True):
        failed, fixed = failed + result[0], fixed + result[1]
        if on_seed is not None:
            on_seed(seed, result)
    return Robustness(tuple(seeds), failed, fixed)


def held_on_seed(key: str, seed: int) -> tuple[bool, bool]:
    """(the failing preset failed as taught, every fix worked) for lesson `key` from `seed`."""
    lesson = lesson_for_seed(key, seed)
    return held(lesson, [run_preset(preset) for preset in lesson.presets])


def stepper_params(preset: Preset) -> Mapping[str, str]:
    """The 1-D stepper page's link parameters that open `preset` for stepping by hand."""
    if not isinstance(preset.settings, ToySettings):
        raise ValueError(f"{preset.title!r} is not a 1-D experiment")
    return preset.settings.to_params()
