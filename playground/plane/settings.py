"""The settings of a 2-D GAN experiment: the data (a preset shape or points a student drew), the
noise, both networks, the optimizer and the losses, checked by the one field check
(`playground.settings`), and written to / read from a link's query parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from playground.losses import GAN_LOSSES
from playground.settings import field_problems, join_problems, shown
from playground.tricks import NETWORK_TRICKS, TRICK_CHOICES, TRICK_FLAGS, TRICK_RANGES, Tricks

DATA_KINDS = ("ring", "two-hills", "line", "clusters", "spiral", "grid", "drawn")
"""The data a 2-D GAN can learn: six preset shapes and the points a student drew."""
NOISE_KINDS = ("uniform", "gaussian")
OPTIMIZERS = ("adam", "sgd")
ACTIVATIONS = ("relu", "leaky-relu", "tanh", "elu")
MAX_DRAWN = 400
"""The most points a drawn distribution may hold (a link carries them all)."""
DRAWN_LIMIT = 5.0
"""Drawn points lie in [-5, 5]^2, where the pictures look."""


class PlaneSettingsError(ValueError):
    """A 2-D GAN setting outside its allowed range (the message names the field and the range)."""


PLANE_RANGES: dict[str, tuple[float, float]] = {
    "modes": (2, 16),
    "radius": (0.5, 4.0),
    "mode_std": (0.01, 1.0),
    "noise_dim": (1, 2),
    "g_layers": (1, 4),
    "g_neurons": (2, 128),
    "d_layers": (1, 4),
    "d_neurons": (2, 128),
    "lr_d": (1e-5, 0.1),
    "lr_g": (1e-5, 0.1),
    "momentum": (0.0, 0.99),
    "beta1": (0.0, 0.999),
    "beta2": (0.0, 0.9999),
    "batch_size": (8, 512),
    "k_d": (1, 20),
    "seed": (0, 2**31 - 1),
    **TRICK_RANGES,
}
"""Inclusive bounds of every numeric setting (the settings form uses the same numbers)."""
PLANE_CHOICES: dict[str, tuple[str, ...]] = {
    "data": DATA_KINDS,
    "noise": NOISE_KINDS,
    "activation": ACTIVATIONS,
    "optimizer": OPTIMIZERS,
    "g_loss": GAN_LOSSES,
    **TRICK_CHOICES,
}
PLANE_FLAGS: tuple[str, ...] = TRICK_FLAGS

REBUILD_FIELDS = (
    "data",
    "modes",
    "radius",
    "mode_std",
    "drawn",
    "noise",
    "noise_dim",
    "g_layers",
    "g_neurons",
    "d_layers",
    "d_neurons",
    "activation",
    "optimizer",
    "batch_size",
    "seed",
    *NETWORK_TRICKS,
)
"""Settings that need new networks, optimizers or data: changing one means starting over."""

Point = tuple[float, float]


@dataclass(frozen=True)
class PlaneSettings:
    """Everything that defines a 2-D GAN experiment (a link carries exactly these fields)."""

    data: str = "ring"
    modes: int = 8  # the ring's number of Gaussians
    radius: float = 2.0  # the data's size: the ring's radius, half the grid's or line's width
    mode_std: float = 0.1  # the spread of each mode (and the jitter of drawn points)
    drawn: tuple[Point, ...] = ()  # the points a student drew (data = "drawn")
    noise: str = "gaussian"  # "uniform": U(-1, 1)^d, "gaussian": N(0, I_d)
    noise_dim: int = 2
    g_layers: int = 2  # hidden layers of G
    g_neurons: int = 64  # neurons in each hidden layer of G
    d_layers: int = 2
    d_neurons: int = 64
    activation: str = "relu"
    optimizer: str = "adam"
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    momentum: float = 0.0  # SGD only
    beta1: float = 0.5  # Adam only
    beta2: float = 0.999  # Adam only
    batch_size: int = 128
    g_loss: str = "nonsaturating"  # "least-squares": LSGAN, for D and G both
    k_d: int = 1  # D updates per G update in "k D + 1 G" and "Run N"
    seed: int = 0
    # Training tricks (playground.tricks), all off; wgan-gp's n_critic is k_d.
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    instance_noise_steps: int = 1000
    objective: str = "gan"
    gp_weight: float = 10.0
    minibatch_std: bool = False
    spectral_norm: bool = False

    def validate(self) -> PlaneSettings:
        """Return self, or raise PlaneSettingsError naming every bad field and its range."""
        problems = field_problems(self, PLANE_RANGES, PLANE_CHOICES, PLANE_FLAGS)
        problems += drawn_problems(self.drawn, self.data == "drawn")
        if problems:
            raise PlaneSettingsError(join_problems(problems))
        return self

    @property
    def tricks(self) -> Tricks:
        """The training tricks these settings switch on, for the step API."""
        return Tricks.of(self)

    def rebuild_fields(self, other: PlaneSettings) -> tuple[str, ...]:
        """The settings that differ from `other` and need new networks (empty: change in place)."""
        return tuple(name for name in REBUILD_FIELDS if getattr(self, name) != getattr(other, name))

    def to_params(self) -> dict[str, str]:
        """URL query parameters: the seed and every field that differs from the default."""
        default = PlaneSettings()
        return {
            f.name: written_value(getattr(self, f.name))
            for f in fields(self)
            if f.name == "seed" or getattr(self, f.name) != getattr(default, f.name)
        }

    @classmethod
    def from_params(cls, params: Mapping[str, str | Sequence[str]]) -> PlaneSettings:
        """Settings from URL query parameters (missing fields take their defaults), validated;
        every problem named at once, a parameter given twice refused."""
        types = {f.name: type(getattr(cls(), f.name)) for f in fields(cls)}
        problems = [
            f"unknown setting {shown(name)} (known: {', '.join(types)})"
            for name in params
            if name not in types
        ]
        values: dict[str, object] = {}
        for name, given in params.items():
            texts = [given] if isinstance(given, str) else list(given)
            if name not in types:
                continue
            if len(texts) != 1:
                problems.append(f"{name} is given {len(texts)} times; give it once")
                continue
            try:
                values[name] = parsed_value(name, texts[0], types[name])
            except PlaneSettingsError as exc:
                problems.append(str(exc))
        if problems:
            raise PlaneSettingsError(join_problems(problems))
        return cls(**values).validate()


def drawn_problems(drawn: object, required: bool) -> list[str]:
    """What is wrong with a drawn point set: at most MAX_DRAWN finite points in [-5, 5]^2, and
    at least 2 when the data are drawn."""
    if not isinstance(drawn, tuple) or not all(_is_point(p) for p in drawn):
        return ["drawn must be a list of (x, y) points"]
    if len(drawn) > MAX_DRAWN:
        return [f"drawn holds {len(drawn)} points; at most {MAX_DRAWN}"]
    if any(abs(c) > DRAWN_LIMIT for p in drawn for c in p):
        return [f"every drawn point must lie in [-{DRAWN_LIMIT:g}, {DRAWN_LIMIT:g}]²"]
    if required and len(drawn) < 2:
        return ["draw at least 2 points (data = drawn), or pick a preset shape"]
    return []


def _is_point(point: object) -> bool:
    return (
        isinstance(point, tuple)
        and len(point) == 2
        and all(isinstance(c, float) and math.isfinite(c) for c in point)
    )


def written_drawn(points: Sequence[Point]) -> str:
    """Drawn points as a link writes them: x_y pairs to two decimals, joined by "~"."""
    return "~".join(f"{x:.2f}_{y:.2f}" for x, y in points)


def read_drawn(text: str) -> tuple[Point, ...]:
    """Drawn points from a link's "x_y~x_y" text (PlaneSettingsError if it is not that)."""
    if not text:
        return ()
    pairs = text.split("~")
    if len(pairs) > MAX_DRAWN:
        raise PlaneSettingsError(f"drawn holds {len(pairs)} points; at most {MAX_DRAWN}")
    try:
        points = tuple(_point(pair) for pair in pairs)
    except ValueError:
        raise PlaneSettingsError(
            f"drawn must be points written x_y joined by ~, got {shown(text)}"
        ) from None
    return points


def _point(pair: str) -> Point:
    x, y = pair.split("_")
    return (round(float(x), 2), round(float(y), 2))


def written_value(value: object) -> str:
    """One setting as a link writes it."""
    if isinstance(value, tuple):
        return written_drawn(value)
    return repr(value) if isinstance(value, float) else str(value)


FLAG_WORDS = {"true": True, "false": False}


def parsed_value(name: str, text: str, kind: type) -> object:
    """One setting read from a link's text, by the type of its default."""
    if kind is tuple:
        return read_drawn(text)
    if kind is bool:  # bool("False") is True: a switch is read by its word
        if text.lower() not in FLAG_WORDS:
            raise PlaneSettingsError(f"{name} must be True or False, got {shown(text)}")
        return FLAG_WORDS[text.lower()]
    try:
        return kind(text)
    except ValueError:  # also a number too long to convert (Python refuses > 4,300 digits)
        expected = {int: "a whole number", float: "a number"}.get(kind, "text")
        raise PlaneSettingsError(f"{name} must be {expected}, got {shown(text)}") from None


__all__ = [
    "ACTIVATIONS",
    "DATA_KINDS",
    "MAX_DRAWN",
    "NOISE_KINDS",
    "OPTIMIZERS",
    "PLANE_CHOICES",
    "PLANE_FLAGS",
    "PLANE_RANGES",
    "REBUILD_FIELDS",
    "PlaneSettings",
    "PlaneSettingsError",
    "read_drawn",
    "written_drawn",
]
