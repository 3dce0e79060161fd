"""The 2-D world: LSGAN against its closed forms, D against the optimal D*, the arrows against
autograd's closed forms, drawn data, determinism, rewind and links, the picture."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from playground.figures.plane import arrow_ends, plane_figure
from playground.gan import GANStepper
from playground.losses import (
    least_squares_d_loss,
    least_squares_g_loss,
    optimal_discriminator,
)
from playground.plane import PlaneSettings, PlaneSettingsError, mode_centers, sample_real
from playground.plane.drawing import candidate_points, drawn_points
from playground.plane.links import experiment_params, read_link, replay
from playground.plane.readout import COARSE, fake_arrows
from playground.plane.stepper import PlaneGAN
from playground.plane.world import PlaneSource

torch.set_num_threads(1)


# -- LSGAN ---------------------------------------------------------------------------------------


def test_least_squares_losses_are_their_closed_forms() -> None:
    real = torch.tensor([0.3, 1.7, -0.2])
    fake = torch.tensor([0.9, -1.1])
    d = least_squares_d_loss(real, fake)
    assert d.real.item() == pytest.approx(0.5 * np.mean((np.array([0.3, 1.7, -0.2]) - 1) ** 2))
    assert d.fake.item() == pytest.approx(0.5 * np.mean(np.array([0.9, -1.1]) ** 2))
    assert d.total.item() == pytest.approx(d.real.item() + d.fake.item())
    smoothed = least_squares_d_loss(real, fake, real_target=0.9)
    assert smoothed.real.item() == pytest.approx(0.5 * np.mean((real.numpy() - 0.9) ** 2))
    assert least_squares_g_loss(fake).item() == pytest.approx(
        0.5 * np.mean((fake.numpy() - 1) ** 2)
    )


@pytest.mark.parametrize(("p_data", "p_g"), [(0.7, 0.2), (0.1, 0.4), (0.5, 0.5)])
def test_the_least_squares_d_is_best_at_p_data_over_p_data_plus_p_g(p_data, p_g) -> None:
    """At one point x: p_data/2 (D - 1)^2 + p_g/2 D^2 is least at D* = p_data / (p_data + p_g)."""
    d = torch.tensor(0.0, requires_grad=True)
    optimizer = torch.optim.SGD([d], lr=0.5)
    for _ in range(200):
        optimizer.zero_grad()
        (p_data * 0.5 * (d - 1) ** 2 + p_g * 0.5 * d**2).backward()
        optimizer.step()
    assert d.item() == pytest.approx(optimal_discriminator(p_data, p_g), abs=1e-6)


def test_the_stepper_trains_d_on_the_least_squares_loss_of_its_batch() -> None:
    settings = PlaneSettings(g_loss="least-squares", seed=3)
    gan = PlaneGAN(settings)
    before = gan.stepper.snapshot()
    source = PlaneSource(settings, torch.Generator())
    source.load_state_dict(before.source)
    real, _ = source.real()
    noise, _ = source.noise()
    with torch.no_grad():
        fake = gan.stepper.generator(noise)
        expected = least_squares_d_loss(
            gan.stepper.discriminator(real).reshape(-1), gan.stepper.discriminator(fake).reshape(-1)
        )
    record = gan.d_step()
    assert record.d_loss == pytest.approx(expected.total.item(), rel=1e-5)
    with pytest.raises(ValueError, match="least-squares"):
        GANStepper(nn.Linear(2, 2), nn.Linear(2, 1), None, None, None, g_loss="squares")  # type: ignore[arg-type]


# -- D against D* --------------------------------------------------------------------------------


def _gaussian_2d(points: np.ndarray, center: np.ndarray, std: float) -> np.ndarray:
    squared = np.sum((points - center) ** 2, axis=1)
    return np.exp(-0.5 * squared / std**2) / (2 * math.pi * std**2)


def test_d_trained_against_a_frozen_g_approaches_the_optimal_discriminator() -> None:
    """G frozen as the identity on N(0, I) noise (p_g = N(0, I)); the data two hills. After D
    steps alone D(x) is near D*(x) = p_data / (p_data + p_g) wherever the densities have mass;
    p_data and p_g are also estimated from samples by histogram, and agree."""
    settings = PlaneSettings(data="two-hills", lr_d=3e-3, batch_size=256, seed=11)
    gan = PlaneGAN(settings)
    identity = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        identity.weight.copy_(torch.eye(2))
    identity.requires_grad_(False)
    gan.stepper.generator = identity
    for _ in range(700):
        gan.stepper.d_step()
    gan._version += 1  # the stepper was driven directly
    picture = gan.picture(COARSE)
    gx, gy = np.meshgrid(picture.grid, picture.grid)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    p_data = sum(0.5 * _gaussian_2d(points, c, settings.radius / 4) for c in mode_centers(settings))
    p_g = _gaussian_2d(points, np.zeros(2), 1.0)
    d_star = optimal_discriminator(p_data, p_g)
    mass = (p_data + p_g) > 0.05
    error = np.abs(picture.d_grid.ravel() - d_star)[mass]
    assert error.mean() < 0.08, error.mean()
    # The same D* from samples: histograms of real and fake samples on the picture's cells.
    real = sample_real(settings, 200_000, torch.Generator().manual_seed(0)).numpy()
    fake = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(1)).numpy()
    edges = np.append(picture.grid - (picture.grid[1] - picture.grid[0]) / 2, picture.limit)
    h_real = np.histogram2d(real[:, 1], real[:, 0], bins=(edges, edges))[0]
    h_fake = np.histogram2d(fake[:, 1], fake[:, 0], bins=(edges, edges))[0]
    counted = (h_real + h_fake).ravel() >= 400
    estimate = optimal_discriminator(h_real.ravel(), h_fake.ravel())
    assert np.abs(picture.d_grid.ravel() - estimate)[counted].mean() < 0.08


# -- arrows --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("g_loss", "objective", "push"),
    [
        ("nonsaturating", "gan", lambda logit: 1 - torch.sigmoid(logit)),  # -d softplus(-l)/dl
        ("minimax", "gan", torch.sigmoid),  # -d(-softplus(l))/dl
        ("least-squares", "gan", lambda score: 1 - score),  # -d(1/2 (l - 1)^2)/dl
        ("nonsaturating", "wgan-gp", torch.ones_like),  # -d(-f)/df
    ],
)
def test_arrows_are_minus_the_gradient_of_each_fakes_own_loss(g_loss, objective, push) -> None:
    """For a linear D(x) = w.x + b every arrow is push(l) w: autograd against the closed form."""
    d = nn.Linear(2, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[0.8, -1.5]]))
        d.bias.fill_(0.3)
    fake = torch.tensor([[0.5, 1.0], [-2.0, 0.25], [1.5, -1.0]])
    arrows = fake_arrows(d, fake, g_loss, objective)
    logits = d(fake).detach().reshape(-1)
    expected = push(logits)[:, None] * d.weight.detach()
    torch.testing.assert_close(arrows, expected)
    assert all(p.grad is None for p in d.parameters())  # D is untouched


def test_the_picture_draws_the_heatmap_the_manifold_and_the_arrows() -> None:
    gan = PlaneGAN(PlaneSettings(noise_dim=2))
    picture = gan.picture()
    fig = plane_figure(picture)
    heatmap, manifold, real, fake, arrows = fig.data
    np.testing.assert_allclose(np.array(heatmap.z), picture.d_grid)
    assert picture.manifold.shape == (2 * COARSE.lines, COARSE.points, 2)
    assert np.isnan(np.array(manifold.x, dtype=float)).sum() == 2 * COARSE.lines
    ends = arrow_ends(picture)
    direction = (ends - picture.fake) / np.linalg.norm(ends - picture.fake, axis=1, keepdims=True)
    expected = picture.arrows / np.linalg.norm(picture.arrows, axis=1, keepdims=True)
    np.testing.assert_allclose(direction, expected, atol=1e-9)
    one_d = PlaneGAN(PlaneSettings(noise_dim=1, noise="uniform")).picture()
    assert one_d.manifold.shape == (1, COARSE.points, 2)  # 1-D noise: one curve


# -- drawn data ----------------------------------------------------------------------------------


def test_drawn_points_round_trip_into_the_data_source_and_a_link() -> None:
    selection = [{"x": 1.0, "y": -2.5}, {"x": 1.0, "y": -2.5}, {"x": -3.25, "y": 0.5}, {"x": 9}]
    drawn = drawn_points(selection)
    assert drawn == ((1.0, -2.5), (-3.25, 0.5))  # rounded, each once, the odd one dropped
    settings = PlaneSettings(data="drawn", drawn=drawn, mode_std=0.05)
    assert PlaneSettings.from_params(settings.to_params()) == settings
    samples = sample_real(settings, 4000, torch.Generator().manual_seed(0)).numpy()
    distance = np.linalg.norm(samples[:, None] - np.array(drawn)[None], axis=2)
    assert distance.min(axis=1).max() < 5 * 0.05  # every sample sits on a drawn point
    shares = np.bincount(distance.argmin(axis=1)) / len(samples)
    np.testing.assert_allclose(shares, [0.5, 0.5], atol=0.03)
    assert len(candidate_points()) == 41 * 41


def test_bad_settings_are_refused_with_the_field_and_its_range() -> None:
    with pytest.raises(PlaneSettingsError, match=r"noise_dim must be a whole number in \[1, 2\]"):
        PlaneSettings(noise_dim=3).validate()
    with pytest.raises(PlaneSettingsError, match="draw at least 2 points"):
        PlaneSettings(data="drawn").validate()
    with pytest.raises(PlaneSettingsError, match="lr_g must be a number"):
        PlaneSettings.from_params({"lr_g": "fast"})
    with pytest.raises(PlaneSettingsError, match="drawn must be points"):
        PlaneSettings.from_params({"drawn": "1_2~x"})
    with pytest.raises(PlaneSettingsError, match="needs new networks"):
        PlaneGAN(PlaneSettings()).apply(PlaneSettings(g_layers=3))


# -- determinism, rewind, links ------------------------------------------------------------------


def _presses(gan: PlaneGAN) -> None:
    gan.d_step()
    gan.g_step()
    gan.step(2)
    gan.apply(replace(gan.settings, lr_g=2e-3, g_loss="least-squares"))
    gan.run(5)


def test_same_seed_and_presses_give_the_same_numbers_and_rewind_restores_a_step() -> None:
    first, second = PlaneGAN(PlaneSettings(seed=5)), PlaneGAN(PlaneSettings(seed=5))
    _presses(first)
    _presses(second)
    np.testing.assert_array_equal(first.picture().d_grid, second.picture().d_grid)
    np.testing.assert_array_equal(first.picture().manifold, second.picture().manifold)
    at_three = first.entries[3]
    first.rewind(3)
    assert first.current.measures == at_three.measures
    first.run(1)  # the press that made step 4, again from step 3: the same numbers
    assert first.current.measures == second.entries[4].measures
    assert first.current.step == 4 and first.rewind_steps()[-1] == 4  # the future is dropped


def test_a_link_reopens_the_same_step_with_the_same_numbers() -> None:
    gan = PlaneGAN(PlaneSettings(data="spiral", noise_dim=1, seed=9))
    _presses(gan)
    params, note = experiment_params(gan)
    assert note == "" and params["presses"] == "d,g,s2,lr_g-0.002,g_loss-least-squares,5r"
    opened = read_link({name: [value] for name, value in params.items()})
    assert opened.problems == ()
    again = PlaneGAN(opened.settings)
    replay(again, opened.presses, opened.final)
    assert again.settings == gan.settings and again.current.step == gan.current.step
    np.testing.assert_array_equal(again.picture().d_grid, gan.picture().d_grid)
    bad = read_link({"presses": ["3x"], "seed": ["9"]})
    assert "cannot be replayed" in bad.problems[0] and bad.presses == ()


def test_every_figure_passes_plotlys_validation() -> None:
    """The page builds its figures without plotly's validation (for speed): each one, rebuilt
    with it, is a valid figure."""
    import plotly.graph_objects as go

    from playground.figures import plane as figures

    gan = PlaneGAN(PlaneSettings(data="grid"))
    gan.run(3)
    curves = gan.curves()
    built = [
        plane_figure(gan.picture()),
        figures.loss_figure(curves),
        figures.d_output_figure(curves),
        figures.divergence_figure(curves),
        figures.coverage_figure(curves, 9),
    ]
    for figure in built:
        go.Figure(figure.to_dict())  # raises on any invalid property
    assert len(built[3].data[0].x) == 4  # steps 0..3
