"""The GAN game's equilibrium as a saddle point, and why plain gradient steps can circle it.

The smallest game with GAN's shape is min_x max_y f(x, y) = x·y: the minimiser (G) moves x, the
maximiser (D) moves y. Its only equilibrium is (0, 0), a saddle point of f: a minimum along x
and a maximum along y at once. The gradient field (∂f/∂x, ∂f/∂y) = (y, x) turns around it, so
each player keeps chasing the other. With step size η:

- simultaneous steps  x' = x − η y,  y' = y + η x        spiral outwards: |z'| = √(1 + η²)|z|;
- alternating steps   x' = x − η y,  y' = y + η x'       (D reacts to the new G, as the course's
  "D step" / "G step" buttons do) circle for ever: x² + y² − η x y stays constant;
- extragradient       look ahead one step, then step with the gradient found there: spirals in,
  |z'| = √(1 − η² + η⁴)|z| < |z| for 0 < η < 1.

(The simultaneous and extragradient steps are a scaled rotation, so those factors are exact for
every point; the alternating step's matrix has determinant 1 and its eigenvalues lie on the unit
circle for η ≤ 2.)

Each update here is the exact arithmetic of those formulas (no autograd needed: the gradient of
x·y is known in closed form); tests check every trajectory against the closed forms above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from playground.settings import Range, check_fields

METHODS = ("simultaneous", "alternating", "extragradient")
"""How the two players take their gradient steps."""


class SaddleSettingsError(ValueError):
    """A saddle-point setting out of its range (the message names it and the range)."""


SADDLE_RANGES = {
    "lr": Range(0.001, 1.0),
    "steps": Range(1, 2000),
    "x0": Range(-3.0, 3.0),
    "y0": Range(-3.0, 3.0),
}


@dataclass(frozen=True)
class SaddleSettings:
    """One run of the x·y game: how the players step, how far, for how long, and from where."""

    method: str = "simultaneous"
    lr: float = 0.1
    steps: int = 200
    x0: float = 1.0
    y0: float = 1.0

    def validate(self) -> SaddleSettings:
        check_fields(self, SADDLE_RANGES, {"method": METHODS}, SaddleSettingsError)
        return self


def value(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray | float:
    """f(x, y) = x·y: what the maximiser y gains and the minimiser x loses."""
    return x * y


def step(x: float, y: float, lr: float, method: str) -> tuple[float, float]:
    """One update of both players from (x, y)."""
    if method == "simultaneous":  # both read the same old point
        return x - lr * y, y + lr * x
    if method == "alternating":  # the maximiser reacts to the minimiser's new x
        x_new = x - lr * y
        return x_new, y + lr * x_new
    if method == "extragradient":  # step with the gradient at a look-ahead point
        x_look, y_look = x - lr * y, y + lr * x
        return x - lr * y_look, y + lr * x_look
    raise SaddleSettingsError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def trajectory(settings: SaddleSettings) -> np.ndarray:
    """The points (steps + 1, 2) the players visit, from (x0, y0)."""
    settings.validate()
    points = np.empty((settings.steps + 1, 2))
    x, y = settings.x0, settings.y0
    points[0] = x, y
    for i in range(1, settings.steps + 1):
        x, y = step(x, y, settings.lr, settings.method)
        points[i] = x, y
    return points


def growth_per_step(lr: float, method: str) -> float:
    """How much the distance to the equilibrium is multiplied by in one step (the spectral
    radius of the step's linear map): > 1 spirals out, 1 circles, < 1 spirals in."""
    if method == "simultaneous":
        return math.sqrt(1.0 + lr**2)
    if method == "alternating":  # det = 1 and |trace| = |2 - lr^2| <= 2: eigenvalues on the circle
        return 1.0 if lr <= 2.0 else float("nan")
    if method == "extragradient":
        return math.sqrt((1.0 - lr**2) ** 2 + lr**2)
    raise SaddleSettingsError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def alternating_invariant(points: np.ndarray, lr: float) -> np.ndarray:
    """x² + y² − η x y along a trajectory: constant for alternating steps (they circle)."""
    x, y = points[:, 0], points[:, 1]
    return x**2 + y**2 - lr * x * y


def distances(points: np.ndarray) -> np.ndarray:
    """Distance of each point to the equilibrium (0, 0)."""
    return np.hypot(points[:, 0], points[:, 1])


def verdict(settings: SaddleSettings) -> str:
    """One line: what the run did, from its numbers and the closed form."""
    d = distances(trajectory(settings))
    rate = growth_per_step(settings.lr, settings.method)
    if rate > 1.0 + 1e-12:
        what = "spiral away from the equilibrium"
    elif rate < 1.0 - 1e-12:
        what = "spiral into the equilibrium"
    else:
        what = "circle the equilibrium for ever"
    return (
        f"{settings.method} steps {what}: distance {d[0]:.3f} → {d[-1]:.3f} after "
        f"{settings.steps} steps (× {rate:.4f} per step)"
    )


__all__ = [
    "METHODS",
    "SaddleSettings",
    "SaddleSettingsError",
    "alternating_invariant",
    "distances",
    "growth_per_step",
    "step",
    "trajectory",
    "value",
    "verdict",
]
