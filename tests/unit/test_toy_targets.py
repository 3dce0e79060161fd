"""The 1-D page's real data beyond one Gaussian: each target's density, CDF, sampler and exact
generator map against torch's distributions and numerical integration; D* on the page's grid;
the slopes that explain a dropped mode; links that carry the target."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.distributions import Exponential, Normal, Uniform

from playground.losses import gaussian_pdf
from playground.toy import (
    TARGETS,
    ToyGAN,
    ToySettings,
    ToySettingsError,
    perfect_map,
    single_threaded,
    target_of,
)
from playground.toy.modes import exact_slope, gaps, mode_note, mode_report
from playground.toy.presets import STEPPER_PRESETS, TARGET_PRESETS
from playground.toy.targets import MODE_STDS

MEAN, STD = 4.0, 1.25


def torch_density(kind: str, x: np.ndarray, mean: float = MEAN, std: float = STD) -> np.ndarray:
    """The target's density written with torch.distributions, from the shapes in the docstring of
    playground.toy.targets (a reference independent of its code)."""
    t = torch.as_tensor(x, dtype=torch.float64)

    def f64(value: float) -> torch.Tensor:
        return torch.tensor(value, dtype=torch.float64)

    def normal(centre: float, width: float) -> torch.Tensor:
        return Normal(f64(centre), f64(width)).log_prob(t).exp()

    w = MODE_STDS.get(kind, 0.0) * std
    if kind == "gaussian":
        return normal(mean, std).numpy()
    if kind == "two_modes":
        a = math.sqrt(1 - MODE_STDS[kind] ** 2) * std
        return (0.5 * (normal(mean - a, w) + normal(mean + a, w))).numpy()
    if kind == "three_modes":
        b = math.sqrt(1.5 * (1 - MODE_STDS[kind] ** 2)) * std
        return (sum(normal(mean + c, w) for c in (-b, 0.0, b)) / 3).numpy()
    if kind == "uniform":
        half = math.sqrt(3) * std
        law = Uniform(f64(mean - half), f64(mean + half), validate_args=False)
        inside = (t >= mean - half) & (t < mean + half)
        return torch.where(inside, law.log_prob(t).exp(), 0.0).numpy()
    shifted = t - (mean - std)
    law = Exponential(f64(1 / std), validate_args=False)
    return torch.where(shifted >= 0, law.log_prob(shifted.clamp(min=0)).exp(), 0.0).numpy()


WIDE = np.linspace(-30.0, 40.0, 140_001)


@pytest.mark.parametrize("kind", TARGETS)
def test_each_targets_density_is_torchs_integrates_to_one_with_the_set_mean_and_std(
    kind: str,
) -> None:
    target = target_of(ToySettings(target=kind))
    p = target.pdf(WIDE)
    assert np.allclose(p, torch_density(kind, WIDE), rtol=1e-7, atol=1e-12)
    dx = WIDE[1] - WIDE[0]
    mass = np.sum(p) * dx
    mean = np.sum(p * WIDE) * dx
    std = math.sqrt(np.sum(p * (WIDE - mean) ** 2) * dx)
    assert mass == pytest.approx(1.0, abs=5e-4)  # a jump (uniform, exponential) costs O(dx)
    assert (mean, std) == (pytest.approx(MEAN, abs=2e-3), pytest.approx(STD, abs=2e-3))


@pytest.mark.parametrize("kind", TARGETS)
def test_each_targets_cdf_is_the_integral_of_its_density(kind: str) -> None:
    target = target_of(ToySettings(target=kind))
    p = target.pdf(WIDE)
    dx = WIDE[1] - WIDE[0]
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * dx)])
    assert np.max(np.abs(integral - target.cdf(WIDE))) < 1e-3


@pytest.mark.parametrize("kind", TARGETS)
def test_each_targets_sampler_matches_its_cdf(kind: str) -> None:
    """Kolmogorov-Smirnov: 20,000 draws stay within the 1 % critical distance 1.63 / √n."""
    settings = ToySettings(target=kind)
    target = target_of(settings)
    draws = target.sample(20_000, torch.Generator().manual_seed(11)).numpy()
    assert draws.shape == (20_000, 1)
    assert target.ks_distance(draws) < 1.63 / math.sqrt(20_000)
    # a sampler of the wrong law is caught by the same check
    wrong = replace(target, mean=MEAN + 0.1 * STD)
    assert wrong.ks_distance(draws) > 1.63 / math.sqrt(20_000)


def test_the_gaussian_target_draws_and_draws_the_density_as_before() -> None:
    """The Gaussian's batches and density are bit for bit what the 1-D page always used."""
    settings = ToySettings()
    target = target_of(settings)
    drawn = target.sample(128, torch.Generator().manual_seed(5))
    before = torch.randn(128, 1, generator=torch.Generator().manual_seed(5)) * STD + MEAN
    assert torch.equal(drawn, before)
    x = np.linspace(-3, 9, 201)
    assert np.array_equal(target.pdf(x), gaussian_pdf(x, MEAN, STD))


@pytest.mark.parametrize("noise", ["uniform", "gaussian"])
@pytest.mark.parametrize("kind", TARGETS)
def test_the_exact_map_pushes_the_noise_onto_the_target(kind: str, noise: str) -> None:
    """Quantile check: F_data(G*(z)) = F_z(z) at every z, and G*(z) for z drawn from the noise
    passes the KS test against the target; the map is increasing (decreasing when asked)."""
    settings = ToySettings(target=kind, noise=noise)
    target = target_of(settings)
    z = np.linspace(-0.98, 0.98, 99) if noise == "uniform" else np.linspace(-3.0, 3.0, 99)
    f_z = (z + 1) / 2 if noise == "uniform" else Normal(0.0, 1.0).cdf(torch.tensor(z)).numpy()
    x = perfect_map(settings, z)
    assert np.allclose(target.cdf(x), f_z, atol=1e-9)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(perfect_map(settings, z, False)) < 0)
    generator = torch.Generator().manual_seed(2)
    drawn = torch.rand(20_000, generator=generator) * 2 - 1
    if noise == "gaussian":
        drawn = torch.randn(20_000, generator=generator)
    pushed = perfect_map(settings, drawn.double().numpy())
    assert target.ks_distance(pushed) < 1.63 / math.sqrt(20_000)


@pytest.mark.parametrize("kind", TARGETS)
def test_d_star_on_the_page_is_the_closed_form_for_each_target(kind: str) -> None:
    gan = ToyGAN(ToySettings(target=kind, batch_size=32, seed=4))
    gan.run(3)
    r = gan.readout()
    p_data = torch_density(kind, r.x)
    assert np.allclose(r.p_data, p_data, rtol=1e-7, atol=1e-12)
    expected = np.where(p_data + r.p_g > 0, p_data / np.maximum(p_data + r.p_g, 1e-300), 0.5)
    assert np.allclose(r.d_star, expected, atol=1e-12)
    target = target_of(gan.settings)
    low, high = target.span()
    assert r.x[0] <= low and r.x[-1] >= high
    assert target.cdf(r.x[-1]) - target.cdf(r.x[0]) > 0.999, "the grid shows the whole target"


def test_the_exact_maps_slope_between_two_modes_is_the_closed_form_and_nearly_a_jump() -> None:
    """dx/dz = f_z / p_data: at the data's mean, between the two modes, with U(-1, 1) noise it is
    ½ / p_data(mean), and a finite difference of the map agrees."""
    settings = ToySettings(target="two_modes")
    target = target_of(settings)
    w = MODE_STDS["two_modes"] * STD
    a = math.sqrt(1 - MODE_STDS["two_modes"] ** 2) * STD
    p_mid = math.exp(-0.5 * (a / w) ** 2) / (w * math.sqrt(2 * math.pi))  # both modes, ½ each
    assert exact_slope(settings, MEAN) == pytest.approx(0.5 / p_mid, rel=1e-9)
    assert gaps(target)[0].middle == pytest.approx(MEAN)
    h = 1e-7
    finite = (perfect_map(settings, np.array([h])) - perfect_map(settings, np.array([-h]))) / (
        2 * h
    )
    assert finite[0] == pytest.approx(0.5 / p_mid, rel=1e-4)
    at_mode = exact_slope(settings, MEAN - a)
    assert exact_slope(settings, MEAN) / at_mode > 50, "between the modes the map nearly jumps"


def test_the_mode_report_counts_the_fakes_in_each_mode_and_names_a_dropped_one() -> None:
    gan = ToyGAN(ToySettings(target="two_modes"))
    readout = gan.readout()
    a = math.sqrt(1 - MODE_STDS["two_modes"] ** 2) * STD
    fakes = np.concatenate([np.full(90, MEAN - a), np.full(8, MEAN), np.full(2, MEAN + a)])
    report = mode_report(readout, fakes)
    assert report is not None
    assert np.allclose(report.shares, [0.9, 0.02]) and report.between == pytest.approx(0.08)
    assert report.dropped == (1,)
    note = mode_note(report)
    assert "left 90% (data 49%)" in note and "right 2% (data 49%)" in note
    assert "The right mode holds under 5% of the fakes" in note
    # G's steepest slope is measured on its map, and bounds its share between the modes
    slope = np.max(np.abs(np.diff(readout.map_fake) / np.diff(readout.map_noise)))
    assert report.g_slope == pytest.approx(slope)
    assert mode_report(ToyGAN(ToySettings(target="uniform")).readout(), fakes) is None


def test_a_link_carries_the_target_and_refuses_an_unknown_one() -> None:
    settings = ToySettings(target="exponential", seed=3)
    params = settings.to_params()
    assert params["target"] == "exponential"
    assert ToySettings.from_params(params) == settings
    assert "target" not in ToySettings().to_params(), "a Gaussian link is as before"
    with pytest.raises(ToySettingsError, match="target must be one of gaussian, two_modes"):
        ToySettings.from_params({"target": "cauchy"})


# -- what the presets' captions say (slow: 10 seeds each) --------------------------------------

LEARN_SEEDS = range(400, 410)
FAIL_SEEDS = range(300, 310)
"""Seeds no other test uses: each caption states the rate measured on them."""
LEARNED_JS = {"three_modes": 0.12}
"""The JS below which the fakes count as the data (0.1 unless named): a smooth G keeps about a
tenth of its fakes between three modes, which alone costs it about 0.09."""
STUCK_JS = 0.6
"""Above this JS the fakes and the data barely overlap (disjoint: log 2 = 0.693)."""


def trained(settings: ToySettings, steps: int) -> ToyGAN:
    gan = ToyGAN(settings)
    with single_threaded():
        gan.stepper.run(steps)  # the bare step API: no history entry per step
    return gan


def learned(gan: ToyGAN) -> bool:
    """The fakes' density is within JS 0.1 of the data's (LEARNED_JS for some targets), and
    every mode holds at least half its share of the fakes."""
    report = gan.modes()
    covered = report is None or bool(np.all(report.shares >= 0.5 * report.data_shares))
    return gan.readout().measures.js < LEARNED_JS.get(gan.settings.target, 0.1) and covered


def dropped(gan: ToyGAN) -> bool:
    """Some mode holds under 5 % of the fakes."""
    report = gan.modes()
    return report is not None and bool(report.dropped)


def stuck(gan: ToyGAN) -> bool:
    """The fakes sit away from the data: JS above STUCK_JS."""
    return gan.readout().measures.js > STUCK_JS


CLAIMS = {
    # preset key: (steps, seeds, what its caption says happens, on how many of the 10 seeds)
    "two_modes": (1500, LEARN_SEEDS, learned, 9),
    "two_modes_dropped": (600, FAIL_SEEDS, dropped, 10),
    "three_modes": (2000, LEARN_SEEDS, learned, 9),
    "three_modes_dropped": (600, FAIL_SEEDS, dropped, 10),
    "uniform": (500, LEARN_SEEDS, learned, 10),
    "uniform_stuck": (300, FAIL_SEEDS, stuck, 10),
    "exponential": (1500, LEARN_SEEDS, learned, 10),
    "exponential_stuck": (300, FAIL_SEEDS, stuck, 10),
}


def test_every_target_preset_has_a_measured_claim_its_caption_states() -> None:
    presets = {preset.key: preset for pair in TARGET_PRESETS.values() for preset in pair}
    assert set(CLAIMS) == set(presets)
    for key, (steps, _, _, count) in CLAIMS.items():
        shows = presets[key].shows
        assert (
            f"in {count} of 10 seeds we tried" in shows
            and f"after {steps:,} steps" in shows.lower()
        )


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("key", CLAIMS)
def test_each_target_preset_does_what_its_caption_says_on_its_seeds(key: str) -> None:
    """Learns the data, drops a mode (the two-mode preset: on most seeds) or stays stuck, on the
    share of 10 held-out seeds its caption states (at least 9 where it says 9 or 10)."""
    steps, seeds, happens, count = CLAIMS[key]
    preset = STEPPER_PRESETS[key]
    outcomes = {}
    for seed in seeds:
        gan = trained(replace(preset.settings, seed=seed), steps)
        outcomes[seed] = (happens(gan), round(gan.readout().measures.js, 3))
    seen = sum(ok for ok, _ in outcomes.values())
    assert seen >= 9 if count >= 9 else seen == count, outcomes
