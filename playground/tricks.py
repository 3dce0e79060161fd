"""Training tricks as switches: the settings every GAN of the course shares, all off by default.

Each trick is one field, carried flat by every world's settings dataclass (the 1-D stepper's
`ToySettings`, the ring's `RingSettings`, the MNIST jobs' `TrainSettings`) and checked by the one
field check through the tables below. `Tricks.of(settings)` gathers them for the step API.

Two act on the updates (`playground.gan.GANStepper`):
- one-sided label smoothing: D's target for real samples is 1 - s, the fakes' stays 0
  (Salimans et al. 2016, "Improved techniques for training GANs", section 3.4);
- instance noise: D sees real and fake samples through x + sigma_t * eps, eps ~ N(0, I), with
  sigma_t = sigma_0 (1 - t / T) annealed to 0 over T training iterations (Sønderby et al. 2017,
  Arjovsky & Bottou 2017): the two distributions overlap, so D cannot be perfect early on;
- objective "wgan-gp": D becomes a critic f with loss E[f(G(z))] - E[f(x)] + lambda GP, G minimises
  -E[f(G(z))] (Gulrajani et al. 2017); n_critic is the settings' k_d (the paper uses 5). The
  critic has no BCE targets and G no choice of loss: label smoothing and g_loss do not apply.

Two change D itself (`playground.models.tricks`), so they need new networks:
- minibatch standard deviation: D sees each sample beside the spread of its whole batch, so a
  collapsed batch is easy to spot (Karras et al. 2018, section 3);
- spectral normalisation: every weight W of D is divided by its largest singular value, so D is
  1-Lipschitz per layer (Miyato et al. 2018).

Two time-scales (Heusel et al. 2017) need no switch: D's and G's learning rates (lr_d, lr_g) are
already apart in every world's settings; `two_time_scales` names the choice.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from playground.settings import check_fields

OBJECTIVES = ("gan", "wgan-gp")
"""gan: D's BCE and the settings' G loss; wgan-gp: a critic with a gradient penalty."""

TRICK_RANGES: dict[str, tuple[float, float]] = {
    "label_smoothing": (0.0, 0.5),
    "instance_noise": (0.0, 10.0),
    "instance_noise_steps": (1, 1_000_000),
    "gp_weight": (0.0, 100.0),
}
"""Inclusive bounds of the numeric tricks (a settings form uses the same numbers)."""
TRICK_CHOICES: dict[str, tuple[str, ...]] = {"objective": OBJECTIVES}
TRICK_FLAGS: tuple[str, ...] = ("minibatch_std", "spectral_norm")
NETWORK_TRICKS: tuple[str, ...] = TRICK_FLAGS
"""The tricks that change D's layers: switching one needs new networks."""


class TricksError(ValueError):
    """A trick set outside its range (the message names the field and the range)."""


@dataclass(frozen=True)
class Tricks:
    """The training tricks of one run; every default is "off"."""

    label_smoothing: float = 0.0  # D's target for real samples is 1 - label_smoothing
    instance_noise: float = 0.0  # std of the noise added to D's inputs at iteration 0
    instance_noise_steps: int = 1000  # iterations over which that std falls linearly to 0
    objective: str = "gan"
    gp_weight: float = 10.0  # lambda of the gradient penalty (wgan-gp only)
    minibatch_std: bool = False
    spectral_norm: bool = False

    def validate(self) -> Tricks:
        """Return self, or raise TricksError naming every bad field."""
        check_fields(self, TRICK_RANGES, TRICK_CHOICES, TricksError, TRICK_FLAGS)
        return self

    @classmethod
    def of(cls, settings: Any) -> Tricks:
        """The tricks carried by a settings dataclass with the same field names."""
        return cls(**{name: getattr(settings, name) for name in TRICK_FIELDS})

    @property
    def draws_noise(self) -> bool:
        """Whether the updates draw random numbers of their own (instance noise, the
        gradient penalty's interpolation weights)."""
        return self.instance_noise > 0 or self.objective == "wgan-gp"

    def noise_std(self, iteration: int) -> float:
        """sigma_t = sigma_0 max(0, 1 - t / T): the instance noise after t training iterations."""
        return self.instance_noise * max(0.0, 1.0 - iteration / self.instance_noise_steps)


TRICK_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Tricks))
"""The trick fields, in the order the forms show them."""


def two_time_scales(lr_g: float, ratio: float = 4.0) -> dict[str, float]:
    """The two time-scale update rule as learning rates: D learns `ratio` times faster than G
    (Heusel et al. 2017 prove convergence to a local Nash equilibrium when D's step is the
    larger one). Spread into a settings `replace(...)`."""
    return {"lr_g": lr_g, "lr_d": lr_g * ratio}


__all__ = [
    "NETWORK_TRICKS",
    "OBJECTIVES",
    "TRICK_CHOICES",
    "TRICK_FIELDS",
    "TRICK_FLAGS",
    "TRICK_RANGES",
    "Tricks",
    "TricksError",
    "two_time_scales",
]
