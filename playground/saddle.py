"""The GAN game's equilibrium as a saddle point, why plain gradient steps circle it, and what makes
them land on it.

The smallest game with GAN's shape is min_x max_y f(x, y) = x·y: the minimiser (G) moves x, the
maximiser (D) moves y. Its only equilibrium is (0, 0), a saddle point of f: a minimum along x
and a maximum along y at once. The gradient field (∂f/∂x, ∂f/∂y) = (y, x) turns around it, so
each player keeps chasing the other. A G step is x ← x − η_G·y, a D step y ← y + η_D·x; with a
gradient penalty on D (D maximises x·y − γ/2·y², the bilinear form of the Dirac-GAN of Mescheder
et al. 2018, "Which training methods for GANs do actually converge?") a D step is
y ← y + η_D·(x − γ·y). Every method is linear, z' = M z, so its fate is that of M's eigenvalues:

- simultaneous steps (both read the old point), M = [[1, −η], [η, 1]]: |λ| = √(1 + η²) > 1,
  they spiral outwards; giving the players different steps changes nothing, |λ| = √(1 + η_G η_D);
- alternating steps (G moves, then D answers the new x, as the "G step" / "D step" buttons do),
  M = [[1, −η_G], [η_D, 1 − η_G η_D]]: det M = 1 and, for η_G η_D < 4, both eigenvalues lie on
  the unit circle: the players go round a closed orbit for ever, on which
  x² + (η_G/η_D)·y² − η_G·x·y stays constant. **Two time-scales** (η_D ≠ η_G) change the orbit's
  shape, not its fate: it neither converges nor escapes;
- a gradient penalty on D damps the orbit: alternating steps get det M = 1 − η_D·γ < 1 and spiral
  in for every γ > 0 (while η_D·γ < 2 and η_G·η_D + 2·η_D·γ < 4); simultaneous steps need the
  penalty to beat their outward push: they converge when γ > η_G (and η_D·(γ − η_G) < 2,
  2·η_D·γ < 4 + η_G·η_D);
- extragradient (look one step ahead, then step with the gradient found there),
  M = I + V + V² for the one-step map V: |λ| = √(1 − η² + η⁴) < 1 for 0 < η < 1, it spirals in.

Each update here is the exact arithmetic of those formulas (the gradient of x·y is known in closed
form); tests check every trajectory against M and every stated fate against M's eigenvalues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from playground.settings import Range, check_fields

ORDERS = ("simultaneous", "alternating", "extragradient")
"""In which order the two players take their gradient steps."""

METHODS = ("simultaneous", "alternating", "two time-scales", "gradient penalty", "extragradient")
"""The recipes the lesson compares: an order, and whether D gets its own step size or a penalty."""

_METHOD_ORDER = {"two time-scales": "alternating", "gradient penalty": "alternating"}
FATES = ("spirals out", "circles", "converges")
"""What a linear method does to the distance from (0, 0): grows, stays bounded, shrinks."""


class SaddleSettingsError(ValueError):
    """A saddle-point setting out of its range (the message names it and the range)."""


SADDLE_RANGES = {
    "lr": Range(0.001, 1.0),
    "steps": Range(1, 2000),
    "x0": Range(-3.0, 3.0),
    "y0": Range(-3.0, 3.0),
    "lr_d": Range(0.001, 1.0),
    "gamma": Range(0.0, 1.0),
}
PLAYER_RANGES = {
    "lr_g": SADDLE_RANGES["lr"],
    "lr_d": SADDLE_RANGES["lr_d"],
    "gamma": SADDLE_RANGES["gamma"],
}
START_RANGES = {"x0": SADDLE_RANGES["x0"], "y0": SADDLE_RANGES["y0"]}


@dataclass(frozen=True)
class Players:
    """Each player's step size, and the gradient penalty on D's step (γ = 0: none)."""

    lr_g: float = 0.2
    lr_d: float = 0.2
    gamma: float = 0.0

    def validate(self) -> Players:
        check_fields(self, PLAYER_RANGES, {}, SaddleSettingsError)
        return self

    def g_move(self, x: float, y: float) -> float:
        """How far a G step moves x: −η_G·∂f/∂x = −η_G·y (G descends f)."""
        return -self.lr_g * y

    def d_move(self, x: float, y: float) -> float:
        """How far a D step moves y: η_D·∂/∂y (x·y − γ/2·y²) = η_D·(x − γ·y) (D ascends)."""
        return self.lr_d * (x - self.gamma * y)


@dataclass(frozen=True)
class SaddleSettings:
    """One run of the x·y game: the method, the step size η (G's, and D's unless the method is
    "two time-scales", which gives D the step lr_d), D's penalty γ under "gradient penalty",
    how many steps, and from where."""

    method: str = "simultaneous"
    lr: float = 0.1
    steps: int = 200
    x0: float = 1.0
    y0: float = 1.0
    lr_d: float = 0.8
    gamma: float = 0.5

    def validate(self) -> SaddleSettings:
        check_fields(self, SADDLE_RANGES, {"method": METHODS}, SaddleSettingsError)
        return self

    @property
    def order(self) -> str:
        return _METHOD_ORDER.get(self.method, self.method)

    def players(self) -> Players:
        """The step sizes and penalty this method plays with."""
        lr_d = self.lr_d if self.method == "two time-scales" else self.lr
        gamma = self.gamma if self.method == "gradient penalty" else 0.0
        return Players(self.lr, lr_d, gamma)


def value(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray | float:
    """f(x, y) = x·y: what the maximiser y gains and the minimiser x loses."""
    return x * y


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise SaddleSettingsError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")


def step(x: float, y: float, players: Players, order: str) -> tuple[float, float]:
    """One update of both players from (x, y), in `order`."""
    _check_order(order)
    if order == "alternating":  # the maximiser answers the minimiser's new x
        x_new = x + players.g_move(x, y)
        return x_new, y + players.d_move(x_new, y)
    x_next, y_next = x + players.g_move(x, y), y + players.d_move(x, y)  # both read (x, y)
    if order == "simultaneous":
        return x_next, y_next
    # extragradient: step from (x, y) with the gradient at the look-ahead point
    return x + players.g_move(x_next, y_next), y + players.d_move(x_next, y_next)


def update_matrix(players: Players, order: str) -> np.ndarray:
    """M with z' = M z for one update, in closed form (a = η_G, b = η_D, γ the penalty)."""
    _check_order(order)
    a, b, g = players.lr_g, players.lr_d, players.gamma
    if order == "simultaneous":
        return np.array([[1.0, -a], [b, 1.0 - b * g]])
    if order == "alternating":
        return np.array([[1.0, -a], [b, 1.0 - a * b - b * g]])
    # I + V + V² with V = [[0, −a], [b, −b·γ]]
    return np.array(
        [[1.0 - a * b, -a + a * b * g], [b - b * b * g, 1.0 - b * g - a * b + (b * g) ** 2]]
    )


def spectral_radius(matrix: np.ndarray) -> float:
    """max |λ| of a real 2×2 matrix from its trace and determinant:
    λ = tr/2 ± √(tr²/4 − det), and |λ| = √det when the pair is complex."""
    trace, det = float(np.trace(matrix)), float(np.linalg.det(matrix))
    discriminant = trace**2 / 4 - det
    if discriminant < 0:
        return math.sqrt(det)
    root = math.sqrt(discriminant)
    return max(abs(trace / 2 + root), abs(trace / 2 - root))


def growth_per_step(settings: SaddleSettings) -> float:
    """How much the distance to the equilibrium is multiplied by per step in the long run (the
    spectral radius of the update matrix): > 1 spirals out, 1 circles, < 1 converges."""
    return spectral_radius(update_matrix(settings.players(), settings.order))


def fate(rate: float, tolerance: float = 1e-9) -> str:
    """One of FATES for a spectral radius (1 ± rounding is a circle: det M = 1 holds exactly in
    the algebra, to ~1e-16 in floats)."""
    if rate > 1.0 + tolerance:
        return "spirals out"
    if rate < 1.0 - tolerance:
        return "converges"
    return "circles"


def trajectory(settings: SaddleSettings) -> np.ndarray:
    """The points (steps + 1, 2) the players visit, from (x0, y0)."""
    settings.validate()
    players, order = settings.players(), settings.order
    points = np.empty((settings.steps + 1, 2))
    x, y = settings.x0, settings.y0
    points[0] = x, y
    for i in range(1, settings.steps + 1):
        x, y = step(x, y, players, order)
        points[i] = x, y
    return points


def orbit_invariant(points: np.ndarray, lr_g: float, lr_d: float) -> np.ndarray:
    """x² + (η_G/η_D)·y² − η_G·x·y along a trajectory: constant for alternating steps without a
    penalty (they go round this ellipse, closed when η_G·η_D < 4)."""
    x, y = points[:, 0], points[:, 1]
    return x**2 + (lr_g / lr_d) * y**2 - lr_g * x * y


def distances(points: np.ndarray) -> np.ndarray:
    """Distance of each point to the equilibrium (0, 0)."""
    return np.hypot(points[:, 0], points[:, 1])


_FATE_WORDS = {
    "spirals out": "spiral away from the equilibrium",
    "circles": "circle the equilibrium for ever",
    "converges": "spiral into the equilibrium",
}


def verdict(settings: SaddleSettings) -> str:
    """One line: what the run did, from its numbers and the closed form."""
    d = distances(trajectory(settings))
    rate = growth_per_step(settings)
    return (
        f"{settings.method} steps {_FATE_WORDS[fate(rate)]}: distance {d[0]:.3f} → {d[-1]:.3f} "
        f"after {settings.steps} steps (× {rate:.4f} per step)"
    )


@dataclass(frozen=True)
class TurnByTurn:
    """The game stepped by hand, one player at a time: every point visited and who moved to it
    ("G" or "D"). Each press returns a new TurnByTurn; nothing is changed in place."""

    points: tuple[tuple[float, float], ...]
    movers: str = ""

    @classmethod
    def start(cls, x0: float, y0: float) -> TurnByTurn:
        """A fresh game at (x0, y0)."""
        check_fields(SimpleNamespace(x0=x0, y0=y0), START_RANGES, {}, SaddleSettingsError)
        return cls(((float(x0), float(y0)),))

    @property
    def point(self) -> tuple[float, float]:
        return self.points[-1]

    @property
    def steps(self) -> int:
        return len(self.movers)

    @property
    def distance(self) -> float:
        return math.hypot(*self.point)

    def g_step(self, players: Players) -> TurnByTurn:
        """G moves: x ← x − η_G·y; y stays."""
        x, y = self.point
        moved = (x + players.validate().g_move(x, y), y)
        return TurnByTurn((*self.points, moved), self.movers + "G")

    def d_step(self, players: Players) -> TurnByTurn:
        """D moves: y ← y + η_D·(x − γ·y); x stays."""
        x, y = self.point
        moved = (x, y + players.validate().d_move(x, y))
        return TurnByTurn((*self.points, moved), self.movers + "D")

    def path(self) -> np.ndarray:
        """The visited points as an array (steps + 1, 2)."""
        return np.array(self.points, dtype=float)


__all__ = [
    "FATES",
    "METHODS",
    "ORDERS",
    "Players",
    "SaddleSettings",
    "SaddleSettingsError",
    "TurnByTurn",
    "distances",
    "fate",
    "growth_per_step",
    "orbit_invariant",
    "spectral_radius",
    "step",
    "trajectory",
    "update_matrix",
    "value",
    "verdict",
]
