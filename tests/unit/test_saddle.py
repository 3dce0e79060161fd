"""The saddle-point lesson: every path of the x·y game against its closed-form update matrix, and
every fate the page states (spirals out, circles, converges) against that matrix's eigenvalues."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.figures import saddle as figures
from playground.saddle import (
    METHODS,
    ORDERS,
    Players,
    SaddleSettings,
    SaddleSettingsError,
    TurnByTurn,
    distances,
    fate,
    growth_per_step,
    orbit_invariant,
    spectral_radius,
    step,
    trajectory,
    update_matrix,
    value,
    verdict,
)

START = (0.7, -1.2)


def run(method: str, lr: float, steps: int = 40, lr_d: float = 0.8, gamma: float = 0.5):
    return SaddleSettings(method, lr, steps, *START, lr_d, gamma)


def largest_eigenvalue(players: Players, order: str) -> float:
    return float(np.abs(np.linalg.eigvals(update_matrix(players, order))).max())


@pytest.mark.parametrize("order", ORDERS)
def test_each_step_is_its_update_matrix(order: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        players = Players(*rng.uniform(0.01, 1.0, 2), rng.uniform(0.0, 1.0))
        z = rng.normal(size=2)
        assert np.allclose(step(*z, players, order), update_matrix(players, order) @ z)


@pytest.mark.parametrize("method", METHODS)
def test_every_trajectory_is_the_matrix_power_applied_to_the_start(method: str) -> None:
    settings = run(method, 0.3, steps=60)
    matrix = update_matrix(settings.players(), settings.order)
    expected = np.linalg.matrix_power(matrix, 60) @ np.array(START)
    assert np.allclose(trajectory(settings)[-1], expected, atol=1e-12)


def test_spectral_radius_is_the_largest_eigenvalue_modulus() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        matrix = rng.normal(size=(2, 2))
        assert spectral_radius(matrix) == pytest.approx(np.abs(np.linalg.eigvals(matrix)).max())


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_simultaneous_steps_spiral_out_by_sqrt_one_plus_lr_squared(lr: float) -> None:
    d = distances(trajectory(run("simultaneous", lr)))
    assert np.allclose(d[1:] / d[:-1], math.sqrt(1 + lr**2), rtol=1e-12)
    assert growth_per_step(run("simultaneous", lr)) == pytest.approx(math.sqrt(1 + lr**2))
    assert fate(growth_per_step(run("simultaneous", lr))) == "spirals out"


@pytest.mark.parametrize(("lr_g", "lr_d"), [(0.2, 0.8), (0.9, 0.05), (1.0, 1.0)])
def test_two_speeds_do_not_save_simultaneous_steps(lr_g: float, lr_d: float) -> None:
    rate = largest_eigenvalue(Players(lr_g, lr_d), "simultaneous")
    assert rate == pytest.approx(math.sqrt(1 + lr_g * lr_d)) and rate > 1


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_extragradient_spirals_in_by_its_closed_form(lr: float) -> None:
    d = distances(trajectory(run("extragradient", lr)))
    expected = math.sqrt((1 - lr**2) ** 2 + lr**2)
    assert np.allclose(d[1:] / d[:-1], expected, rtol=1e-12) and expected < 1
    assert fate(growth_per_step(run("extragradient", lr))) == "converges"


@pytest.mark.parametrize("lr", [0.05, 0.3, 1.0])
def test_alternating_steps_keep_their_invariant_and_circle(lr: float) -> None:
    points = trajectory(run("alternating", lr, steps=2000))
    invariant = orbit_invariant(points, lr, lr)
    assert np.allclose(invariant, points[0, 0] ** 2 + points[0, 1] ** 2 - lr * np.prod(START))
    assert np.allclose(invariant, invariant[0], rtol=1e-9)
    d = distances(points)
    assert d.min() > 0.2 and d.max() < 3.0, "neither converges nor escapes"
    assert largest_eigenvalue(Players(lr, lr), "alternating") == pytest.approx(1.0)
    assert fate(growth_per_step(run("alternating", lr))) == "circles"


@pytest.mark.parametrize(("lr", "lr_d"), [(0.2, 0.8), (0.9, 0.05), (0.05, 1.0), (1.0, 1.0)])
def test_two_time_scales_only_reshape_the_orbit_they_never_converge(lr: float, lr_d: float) -> None:
    settings = run("two time-scales", lr, steps=2000, lr_d=lr_d)
    points = trajectory(settings)
    invariant = orbit_invariant(points, lr, lr_d)
    assert np.allclose(invariant, invariant[0], rtol=1e-9), "a closed orbit"
    assert distances(points)[-200:].min() > 0.1, "still far from (0, 0) after 2,000 steps"
    matrix = update_matrix(settings.players(), settings.order)
    assert np.linalg.det(matrix) == pytest.approx(1.0)
    assert np.abs(np.linalg.eigvals(matrix)) == pytest.approx([1.0, 1.0])
    assert fate(growth_per_step(settings)) == "circles"


def test_two_time_scales_escape_once_the_product_of_steps_passes_four() -> None:
    assert largest_eigenvalue(Players(1.9, 2.0), "alternating") == pytest.approx(1.0)  # 3.8
    assert largest_eigenvalue(Players(2.1, 2.0), "alternating") > 1.0  # 4.2: real, one |λ| > 1


@pytest.mark.parametrize("gamma", [0.02, 0.5, 0.9])
@pytest.mark.parametrize("lr", [0.05, 0.3, 1.0])
def test_a_gradient_penalty_makes_alternating_steps_converge(lr: float, gamma: float) -> None:
    settings = run("gradient penalty", lr, steps=1, gamma=gamma)
    matrix = update_matrix(settings.players(), settings.order)
    assert np.linalg.det(matrix) == pytest.approx(1 - lr * gamma)
    rate = growth_per_step(settings)
    assert rate < 1 and fate(rate) == "converges"
    eigenvalues, eigenvectors = np.linalg.eig(matrix)
    if np.iscomplex(eigenvalues).all():  # a spiral: |λ| = √det exactly
        assert rate == pytest.approx(math.sqrt(1 - lr * gamma))
    d = distances(trajectory(run("gradient penalty", lr, steps=2000, gamma=gamma)))
    # |M^k z| <= cond(eigenvectors)·rate^k·|z|: the distance shrinks at least that fast
    bound = np.linalg.cond(eigenvectors) * d[0] * rate ** np.arange(d.size)
    assert np.all(d <= bound * (1 + 1e-9) + 1e-300) and d[-1] < 0.5 * d[0]  # 1e-300: underflow


@pytest.mark.parametrize(("lr", "gamma", "converges"), [(0.2, 0.3, True), (0.2, 0.1, False)])
def test_simultaneous_steps_converge_only_when_the_penalty_beats_g_step(
    lr: float, gamma: float, converges: bool
) -> None:
    players = Players(lr, lr, gamma)
    assert (largest_eigenvalue(players, "simultaneous") < 1) == converges
    points = [START]
    for _ in range(300):
        points.append(step(*points[-1], players, "simultaneous"))
    assert (distances(np.array(points))[-1] < distances(np.array(points))[0]) == converges


def test_the_stated_convergence_conditions_match_the_eigenvalues() -> None:
    """The module docstring's conditions, on a grid wider than the page's ranges."""
    for a in np.linspace(0.05, 2.5, 12):
        for b in np.linspace(0.05, 2.5, 12):
            for g in np.linspace(0.0, 2.0, 9):
                players = Players(a, b, g)
                alternating = 0 < b * g < 2 and a * b + 2 * b * g < 4
                assert (fate(largest_eigenvalue(players, "alternating")) == "converges") == (
                    alternating
                )
                simultaneous = g > a and b * (g - a) < 2 and 2 * b * g < 4 + a * b
                assert (fate(largest_eigenvalue(players, "simultaneous")) == "converges") == (
                    simultaneous
                )


def test_one_step_is_the_textbook_update() -> None:
    x, y, lr = 0.5, -2.0, 0.1
    players = Players(lr, lr)
    assert step(x, y, players, "simultaneous") == (x - lr * y, y + lr * x)
    x_new = x - lr * y
    assert step(x, y, players, "alternating") == (x_new, y + lr * x_new)
    # the gradient of f = x·y: the minimiser follows -df/dx = -y, the maximiser +df/dy = +x
    assert value(2.0, 3.0) == 6.0


def test_a_press_moves_one_player_only() -> None:
    players = Players(0.3, 0.4, 0.5)
    turns = TurnByTurn.start(1.0, 2.0).g_step(players)
    assert turns.point == pytest.approx((1.0 - 0.3 * 2.0, 2.0))
    turns = turns.d_step(players)
    x = 1.0 - 0.3 * 2.0
    assert turns.point == pytest.approx((x, 2.0 + 0.4 * (x - 0.5 * 2.0)))
    assert turns.steps == 2 and turns.movers == "GD" and turns.path().shape == (3, 2)
    assert turns.distance == pytest.approx(math.hypot(*turns.point))


def test_pressing_g_then_d_in_turn_is_the_alternating_method() -> None:
    players = Players(0.3, 0.3)
    turns = TurnByTurn.start(*START)
    for _ in range(50):
        turns = turns.g_step(players).d_step(players)
    expected = trajectory(run("alternating", 0.3, steps=50))
    assert np.allclose(turns.path()[::2], expected, atol=1e-12)


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(SaddleSettingsError, match="lr"):
        SaddleSettings(lr=2.0).validate()
    with pytest.raises(SaddleSettingsError, match="method must be one of"):
        SaddleSettings(method="adam").validate()
    with pytest.raises(SaddleSettingsError, match="gamma"):
        TurnByTurn.start(0.0, 1.0).d_step(Players(gamma=-1.0))
    with pytest.raises(SaddleSettingsError, match="x0"):
        TurnByTurn.start(float("nan"), 1.0)
    with pytest.raises(SaddleSettingsError, match="order must be one of"):
        update_matrix(Players(), "sideways")


def test_verdicts_and_figures_follow_the_numbers() -> None:
    assert "spiral away" in verdict(SaddleSettings("simultaneous"))
    assert "circle the" in verdict(SaddleSettings("alternating"))
    assert "circle the" in verdict(SaddleSettings("two time-scales"))
    assert "spiral into" in verdict(SaddleSettings("gradient penalty"))
    assert "spiral into" in verdict(SaddleSettings("extragradient"))
    paths = {m: trajectory(SaddleSettings(m, 0.2, 30)) for m in METHODS}
    landscape = figures.landscape_figure(paths)
    drawn = {trace.name: trace for trace in landscape.data}
    assert np.allclose(drawn["extragradient"].x, paths["extragradient"][:, 0])
    curves = figures.distance_figure({m: distances(p) for m, p in paths.items()})
    assert [trace.name for trace in curves.data] == list(METHODS)


def test_the_hand_played_figure_marks_who_moved() -> None:
    players = Players(0.5, 0.5)
    turns = TurnByTurn.start(2.0, 2.0).g_step(players).g_step(players).d_step(players)
    fig = figures.turns_figure(turns.path(), turns.movers)
    drawn = {trace.name: trace for trace in fig.data}
    assert np.allclose(drawn["G step (x moves)"].x, turns.path()[1:3, 0])
    assert np.allclose(drawn["D step (y moves)"].y, [turns.point[1]])
    assert tuple(drawn["now"].x) == (turns.point[0],)
    assert fig.layout.xaxis.range[1] >= 1.1 * np.abs(turns.path()).max() - 1e-12
    fresh = figures.turns_figure(TurnByTurn.start(1.0, 1.0).path(), "")
    assert len(fresh.data[2].x) == 0, "no moves yet"
