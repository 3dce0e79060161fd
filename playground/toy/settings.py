"""The settings of a 1-D GAN experiment: what a page's form, a lesson link and a preset carry,
checked by the one field check (`playground.settings`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from playground.losses import G_LOSSES
from playground.settings import check_fields, field_problems, join_problems, shown
from playground.tricks import NETWORK_TRICKS, TRICK_CHOICES, TRICK_FLAGS, TRICK_RANGES, Tricks

NOISE_KINDS = ("uniform", "gaussian")
TARGETS = ("gaussian", "two_modes", "three_modes", "uniform", "exponential")
"""The data distributions (`playground.toy.targets`); real_mean and real_std are their mean and std."""
OPTIMIZERS = ("adam", "sgd")


class ToySettingsError(ValueError):
    """A 1-D GAN setting outside its allowed range (the message names the field and the range)."""


SETTING_RANGES: dict[str, tuple[float, float]] = {
    "real_mean": (-10.0, 10.0),
    "real_std": (0.1, 5.0),
    "noise_dim": (1, 8),
    "g_hidden": (2, 128),
    "d_hidden": (2, 128),
    "lr_d": (1e-5, 1.0),
    "lr_g": (1e-5, 1.0),
    "momentum": (0.0, 0.99),
    "beta1": (0.0, 0.999),
    "beta2": (0.0, 0.9999),
    "batch_size": (1, 1024),
    "k_d": (1, 20),
    "seed": (0, 2**31 - 1),
    **TRICK_RANGES,
}
"""Inclusive bounds of every numeric setting (the settings form uses the same numbers)."""

SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "target": TARGETS,
    "noise": NOISE_KINDS,
    "optimizer": OPTIMIZERS,
    "g_loss": G_LOSSES,
    **TRICK_CHOICES,
}
SETTING_FLAGS: tuple[str, ...] = TRICK_FLAGS
"""The on/off settings (a link writes them True or False)."""

REBUILD_FIELDS = (
    "target",
    "real_mean",
    "real_std",
    "noise",
    "noise_dim",
    "g_hidden",
    "d_hidden",
    "optimizer",
    "seed",
    *NETWORK_TRICKS,
)
"""Settings that need new networks, optimizers or data: changing one means starting over."""


@dataclass(frozen=True)
class ToySettings:
    """Everything that defines a 1-D GAN experiment (a URL carries exactly these fields)."""

    real_mean: float = 4.0
    real_std: float = 1.25
    # The data's shape (playground.toy.targets), with mean real_mean and std real_std.
    target: str = "gaussian"
    noise: str = "uniform"  # "uniform": U(-1, 1)^d, "gaussian": N(0, I_d)
    noise_dim: int = 1
    g_hidden: int = 16  # width of G's two hidden layers
    d_hidden: int = 32  # width of D's two hidden layers
    optimizer: str = "adam"
    # D learns 10x faster than G (two time-scale updates): G follows a nearly optimal D and the
    # fakes settle on N(4, 1.25²) within 1,000 steps (mean within 0.2, std within 0.15, on 10
    # of 10 seeds; tests/unit/test_toy.py). Equal, slow rates give the circling game instead
    # (`playground.toy.presets.CIRCLING`).
    lr_d: float = 1e-2
    lr_g: float = 1e-3
    momentum: float = 0.0  # SGD only
    beta1: float = 0.5  # Adam only
    beta2: float = 0.999  # Adam only
    batch_size: int = 128
    g_loss: str = "nonsaturating"
    k_d: int = 1  # D updates per G update in "k D + 1 G" and "Run N steps"
    seed: int = 0
    # Training tricks (playground.tricks), all off; wgan-gp's n_critic is k_d.
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    instance_noise_steps: int = 1000
    objective: str = "gan"
    gp_weight: float = 10.0
    minibatch_std: bool = False
    spectral_norm: bool = False

    def validate(self) -> ToySettings:
        """Return self, or raise ToySettingsError naming every bad field and its allowed range."""
        check_fields(self, SETTING_RANGES, SETTING_CHOICES, ToySettingsError, SETTING_FLAGS)
        return self

    @property
    def tricks(self) -> Tricks:
        """The training tricks these settings switch on, for the step API."""
        return Tricks.of(self)

    def to_params(self) -> dict[str, str]:
        """URL query parameters: the seed and every field that differs from the default."""
        default = ToySettings()
        return {
            f.name: _format(getattr(self, f.name))
            for f in fields(self)
            if f.name == "seed" or getattr(self, f.name) != getattr(default, f.name)
        }

    @classmethod
    def from_params(cls, params: Mapping[str, str | Sequence[str]]) -> ToySettings:
        """Settings from URL query parameters (missing fields take their defaults), validated.

        A parameter may come with all the values the link gave it: one is used, two or more are
        refused (a link must not depend on which copy wins). Every problem is named at once.
        """
        types = {f.name: type(getattr(cls(), f.name)) for f in fields(cls)}
        problems = [
            f"unknown setting {shown(name)} (known: {', '.join(types)})"
            for name in params
            if name not in types
        ]
        values: dict[str, object] = {}
        for name, given in params.items():
            if name not in types:
                continue
            texts = [given] if isinstance(given, str) else list(given)
            if len(texts) != 1:
                problems.append(f"{name} is given {len(texts)} times; give it once")
                continue
            try:
                values[name] = _parse(name, texts[0], types[name])
            except ToySettingsError as exc:
                problems.append(str(exc))
        settings = cls(**values)
        problems += field_problems(settings, SETTING_RANGES, SETTING_CHOICES, SETTING_FLAGS)
        if problems:
            raise ToySettingsError(join_problems(problems))
        return settings

    def rebuild_fields(self, other: ToySettings) -> tuple[str, ...]:
        """The settings that differ from `other` and need new networks (empty: change in place)."""
        return tuple(name for name in REBUILD_FIELDS if getattr(self, name) != getattr(other, name))


def _format(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


FLAG_WORDS = {"true": True, "false": False}


def _parse(name: str, text: str, kind: type) -> object:
    if kind is bool:  # bool("False") is True: a switch is read by its word
        if text.lower() not in FLAG_WORDS:
            raise ToySettingsError(f"{name} must be True or False, got {shown(text)}")
        return FLAG_WORDS[text.lower()]
    try:
        return kind(text)
    except ValueError:  # also a number too long to convert (Python refuses > 4,300 digits)
        expected = {int: "a whole number", float: "a number"}.get(kind, "text")
        raise ToySettingsError(f"{name} must be {expected}, got {shown(text)}") from None
