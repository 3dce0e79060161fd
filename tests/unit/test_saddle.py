"""The saddle-point lesson: every path of the x·y game against its closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.figures import saddle as figures
from playground.saddle import (
    METHODS,
    SaddleSettings,
    SaddleSettingsError,
    alternating_invariant,
    distances,
    growth_per_step,
    step,
    trajectory,
    value,
    verdict,
)


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_simultaneous_steps_spiral_out_by_sqrt_one_plus_lr_squared(lr: float) -> None:
    d = distances(trajectory(SaddleSettings("simultaneous", lr, 40, 0.7, -1.2)))
    assert np.allclose(d[1:] / d[:-1], math.sqrt(1 + lr**2), rtol=1e-12)
    assert growth_per_step(lr, "simultaneous") == pytest.approx(math.sqrt(1 + lr**2))


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_extragradient_spirals_in_by_its_closed_form(lr: float) -> None:
    d = distances(trajectory(SaddleSettings("extragradient", lr, 40, 0.7, -1.2)))
    expected = math.sqrt((1 - lr**2) ** 2 + lr**2)
    assert np.allclose(d[1:] / d[:-1], expected, rtol=1e-12) and expected < 1


@pytest.mark.parametrize("lr", [0.05, 0.3, 1.0])
def test_alternating_steps_keep_their_invariant_and_circle(lr: float) -> None:
    points = trajectory(SaddleSettings("alternating", lr, 2000, 0.7, -1.2))
    invariant = alternating_invariant(points, lr)
    assert np.allclose(invariant, invariant[0], rtol=1e-9)
    d = distances(points)
    assert d.min() > 0.2 and d.max() < 3.0, "neither converges nor escapes"
    matrix = np.array([[1.0, -lr], [lr, 1.0 - lr**2]])
    assert np.allclose(np.abs(np.linalg.eigvals(matrix)), growth_per_step(lr, "alternating"))


def test_one_step_is_the_textbook_update() -> None:
    x, y, lr = 0.5, -2.0, 0.1
    assert step(x, y, lr, "simultaneous") == (x - lr * y, y + lr * x)
    x_new = x - lr * y
    assert step(x, y, lr, "alternating") == (x_new, y + lr * x_new)
    # the gradient of f = x·y: the minimiser follows -df/dx = -y, the maximiser +df/dy = +x
    assert value(2.0, 3.0) == 6.0


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(SaddleSettingsError, match="lr"):
        SaddleSettings(lr=2.0).validate()
    with pytest.raises(SaddleSettingsError, match="method must be one of"):
        SaddleSettings(method="adam").validate()


def test_verdicts_and_figures_follow_the_numbers() -> None:
    assert "spiral away" in verdict(SaddleSettings("simultaneous"))
    assert "circle the" in verdict(SaddleSettings("alternating"))
    assert "spiral into" in verdict(SaddleSettings("extragradient"))
    paths = {m: trajectory(SaddleSettings(m, 0.2, 30)) for m in METHODS}
    landscape = figures.landscape_figure(paths)
    drawn = {trace.name: trace for trace in landscape.data}
    assert np.allclose(drawn["extragradient"].x, paths["extragradient"][:, 0])
    curves = figures.distance_figure({m: distances(p) for m, p in paths.items()})
    assert [trace.name for trace in curves.data] == list(METHODS)
