"""The step API shared by every GAN in the course: one D update, one G update, nothing hidden.

The 1-D stepper, the failure-mode presets, the MNIST jobs and the benchmarks all drive a
`GANStepper`. Its two updates read like the textbook loop:

(1) Update D: maximise log D(x) + log(1 - D(G(z)))   -- `d_step()`, fakes detached from G
(2) Update G: minimise the generator loss on D(G(z)) -- `g_step()`, D's weights untouched

Randomness comes only from the `BatchSource` (which owns a `torch.Generator`), so a seed and a
sequence of presses give the same numbers, and `snapshot()` / `restore()` rewind exactly.

Training tricks (`playground.tricks.Tricks`, all off by default) are switches on the same two
updates: label smoothing and the WGAN-GP critic change the losses, instance noise what D sees.
The tricks that draw random numbers draw them from the source's own generator (`rng`), so a
snapshot of the source captures them too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from playground.losses import (
    GAN_LOSSES,
    LEAST_SQUARES,
    DiscriminatorLoss,
    discriminator_loss,
    discriminator_probability,
    generator_loss,
    gradient_penalty,
    least_squares_d_loss,
    wasserstein_critic_loss,
    wasserstein_g_loss,
)
from playground.tricks import Tricks

Batch = tuple[Tensor, Tensor | None]
"""Samples and their class labels (None for an unconditional GAN)."""


class BatchSource(Protocol):
    """Where a GAN's mini-batches come from: real samples and generator inputs.

    A source owns its random state; `state_dict()` must capture it so that a rewind or a resumed
    job draws exactly the batches it would have drawn.
    """

    def real(self) -> Batch: ...

    def noise(self) -> Batch: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class StepRecord:
    """What one update did, as plain numbers (None where the update did not measure it).

    d_real / d_fake are batch means of D's *probability* D(x) and D(G(z)), measured before the
    update's optimizer step (for a WGAN critic, the sigmoid of its score; for a least-squares D,
    its raw output clamped to [0, 1]). Losses are the values
    that were back-propagated (a critic's d_loss includes the gradient penalty, which is
    d_loss - d_loss_real - d_loss_fake).
    """

    kind: str  # "d", "g" or "dg" (k D updates then one G update)
    d_steps: int
    g_steps: int
    d_loss: float | None = None
    d_loss_real: float | None = None
    d_loss_fake: float | None = None
    g_loss: float | None = None
    d_real: float | None = None
    d_fake: float | None = None
    d_grad_norm: float | None = None
    g_grad_norm: float | None = None

    def is_finite(self) -> bool:
        """False when any measured number is NaN or infinite (a diverged run)."""
        values = [v for v in self.losses().values() if v is not None]
        return all(v == v and abs(v) != float("inf") for v in values)

    def losses(self) -> dict[str, float | None]:
        """The measured numbers by name (for tables, CSV and history)."""
        return {
            "d_loss": self.d_loss,
            "d_loss_real": self.d_loss_real,
            "d_loss_fake": self.d_loss_fake,
            "g_loss": self.g_loss,
            "d_real": self.d_real,
            "d_fake": self.d_fake,
            "d_grad_norm": self.d_grad_norm,
            "g_grad_norm": self.g_grad_norm,
        }


@dataclass(frozen=True)
class HistoryPoint:
    """One point of a run's loss history: the losses and D's mean outputs of the last iteration
    of a stretch of training, at generator step `step`, `seconds` of training into the run."""

    step: int
    epoch: float
    seconds: float
    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float

    @classmethod
    def from_record(
        cls, record: StepRecord, step: int, epoch: float, seconds: float
    ) -> HistoryPoint:
        """The point of `record` (NaN for a number the record did not measure)."""

        def number(value: float | None) -> float:
            return float("nan") if value is None else float(value)

        return cls(
            step=step,
            epoch=epoch,
            seconds=seconds,
            d_loss=number(record.d_loss),
            g_loss=number(record.g_loss),
            d_real=number(record.d_real),
            d_fake=number(record.d_fake),
        )


D_STATS = ("d_loss", "d_loss_real", "d_loss_fake", "d_real", "d_fake", "d_grad_norm")
"""The numbers one D update returns (`GANStepper.d_update`), in order."""
G_STATS = ("g_loss", "d_fake", "g_grad_norm")
"""The numbers one G update returns (`GANStepper.g_update`), in order."""


def _named(names: tuple[str, ...], values: list[float]) -> dict[str, float]:
    if len(values) != len(names):
        raise ValueError(f"expected {len(names)} numbers ({', '.join(names)}), got {len(values)}")
    return dict(zip(names, values, strict=True))


@dataclass(frozen=True)
class Snapshot:
    """Everything needed to put a stepper back exactly where it was."""

    generator: dict[str, Tensor]
    discriminator: dict[str, Tensor]
    g_opt: dict[str, Any]
    d_opt: dict[str, Any]
    source: dict[str, Any]
    d_steps: int
    g_steps: int

    @property
    def nbytes(self) -> int:
        """Bytes held by the snapshot's tensors (what a kept history entry costs in memory)."""
        parts = (self.generator, self.discriminator, self.g_opt, self.d_opt, self.source)
        return sum(_tensor_bytes(part) for part in parts)


def _tensor_bytes(state: Any) -> int:
    if isinstance(state, Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(_tensor_bytes(value) for value in state.values())
    if isinstance(state, list | tuple):
        return sum(_tensor_bytes(value) for value in state)
    return 0


def _cloned(state: Any) -> Any:
    """A deep copy of a (nested) state dict whose tensors share no storage with the original.

    Tensors are cloned directly: `copy.deepcopy` takes ~7x longer on a 1-D stepper's state,
    and a snapshot is taken on every press (bench/bench_stepper.py)."""
    if isinstance(state, Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return type(state)((key, _cloned(value)) for key, value in state.items())
    if isinstance(state, list):
        return [_cloned(value) for value in state]
    if isinstance(state, tuple):
        return tuple(_cloned(value) for value in state)
    return copy.deepcopy(state)


@contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """`module` in eval mode inside the block, its modes restored after: a read-out (a figure,
    a number) must not move what training moves, such as spectral norm's power iteration or the
    minibatch-std layer's remembered spread."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Temporarily stop gradients into `module`'s parameters (D during the G update)."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def grad_norm(module: nn.Module) -> Tensor:
    """L2 norm of all of `module`'s parameter gradients, as one 0-d tensor (no sync)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads)


class GANStepper:
    """Alternating D and G updates on one generator/discriminator pair.

    `generator(noise[, labels])` returns samples; `discriminator(samples[, labels])` returns
    *logits* of shape (batch,) or (batch, 1): the sigmoid lives inside the losses.

    `tricks` switch training tricks on (the network ones, minibatch std and spectral norm, are
    built into D by the caller); `rng` is the generator the noisy tricks draw from: pass the
    source's own, so that its state_dict() holds their draws too.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        g_opt: torch.optim.Optimizer,
        d_opt: torch.optim.Optimizer,
        source: BatchSource,
        g_loss: str = "nonsaturating",
        tricks: Tricks | None = None,
        rng: torch.Generator | None = None,
    ) -> None:
        if g_loss not in GAN_LOSSES:
            raise ValueError(f"g_loss must be one of {GAN_LOSSES}, got {g_loss!r}")
        self.rng = rng
        self.tricks = self._checked(tricks or Tricks())
        self.generator = generator
        self.discriminator = discriminator
        self.g_opt = g_opt
        self.d_opt = d_opt
        self.source = source
        self.g_loss = g_loss
        self.d_steps = 0
        self.g_steps = 0
        self._kept_fake: Batch | None = None

    # -- the two updates -------------------------------------------------------------------

    def generate(self, noise: Tensor, labels: Tensor | None) -> Tensor:
        """G(z) or G(z, y)."""
        return self.generator(noise) if labels is None else self.generator(noise, labels)

    def discriminate(self, samples: Tensor, labels: Tensor | None) -> Tensor:
        """D's logits for `samples`, flattened to shape (batch,)."""
        logits = (
            self.discriminator(samples) if labels is None else self.discriminator(samples, labels)
        )
        return logits.reshape(-1)

    def d_update(self, keep_fake: bool = False) -> Tensor:
        """(1) One D update; returns [loss, loss_real, loss_fake, D(x), D(G(z)), grad norm].

        D sees the fakes detached from G. With keep_fake, G's forward pass keeps its graph and the
        fakes are handed to the next g_update(), as the textbook loop does: one batch of fakes
        per iteration, one G forward pass saved.
        """
        real, real_labels = self.source.real()
        noise, fake_labels = self.source.noise()
        with torch.set_grad_enabled(keep_fake):
            fake = self.generate(noise, fake_labels)
        self._kept_fake = (fake, fake_labels) if keep_fake else None
        loss, real_logits, fake_logits = self.d_loss(
            self.seen(real), real_labels, self.seen(fake.detach()), fake_labels
        )
        self.d_opt.zero_grad(set_to_none=True)
        loss.total.backward()
        norm = grad_norm(self.discriminator)
        self.d_opt.step()
        self.d_steps += 1
        d_real = self.probability(real_logits.detach()).mean()
        d_fake = self.probability(fake_logits.detach()).mean()
        parts = [loss.total, loss.real, loss.fake, d_real, d_fake, norm]
        return torch.stack([p.detach().float().reshape(()).to(real.device) for p in parts])

    def g_update(self) -> Tensor:
        """(2) One G update; returns [loss, D(G(z)), grad norm]. D's weights do not move.

        Uses the fakes kept by the preceding d_update(keep_fake=True), else fresh noise.
        """
        kept, self._kept_fake = self._kept_fake, None
        if kept is None:
            noise, labels = self.source.noise()
            fake = self.generate(noise, labels)
        else:
            fake, labels = kept
        with frozen(self.discriminator):
            fake_logits = self.discriminate(self.seen(fake), labels)
            if self.tricks.objective == "wgan-gp":
                loss = wasserstein_g_loss(fake_logits)
            else:
                loss = generator_loss(fake_logits, self.g_loss)
            self.g_opt.zero_grad(set_to_none=True)
            loss.backward()
        norm = grad_norm(self.generator)
        self.g_opt.step()
        self.g_steps += 1
        d_fake = self.probability(fake_logits.detach()).mean()
        parts = [loss, d_fake, norm]
        return torch.stack([p.detach().float().reshape(()).to(fake.device) for p in parts])

    def d_loss(
        self, real: Tensor, real_labels: Tensor | None, fake: Tensor, fake_labels: Tensor | None
    ) -> tuple[DiscriminatorLoss, Tensor, Tensor]:
        """D's loss on the samples it sees, and its logits for the real and the fake ones.

        gan: BCE with real target 1 - label_smoothing (least squares towards the same targets
        when g_loss is "least-squares", LSGAN); wgan-gp: the critic's loss plus
        gp_weight x the gradient penalty on random interpolates (real labels for a cGAN's).
        The fakes go through D last, so a minibatch-std layer remembers their spread.
        """
        real_logits = self.discriminate(real, real_labels)
        if self.tricks.objective != "wgan-gp":
            fake_logits = self.discriminate(fake, fake_labels)
            real_label = 1.0 - self.tricks.label_smoothing
            d_loss = least_squares_d_loss if self.g_loss == LEAST_SQUARES else discriminator_loss
            return (
                d_loss(real_logits, fake_logits, real_label),
                real_logits,
                fake_logits,
            )
        mix_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
        mix = torch.rand(mix_shape, generator=self.rng, device=real.device, dtype=real.dtype)
        penalty = gradient_penalty(lambda x: self.discriminate(x, real_labels), real, fake, mix)
        fake_logits = self.discriminate(fake, fake_labels)
        critic = wasserstein_critic_loss(real_logits, fake_logits)
        total = critic.total + self.tricks.gp_weight * penalty
        return DiscriminatorLoss(total, critic.real, critic.fake), real_logits, fake_logits

    def probability(self, outputs: Tensor) -> Tensor:
        """D's outputs as probabilities "real": the sigmoid of a logit or of a critic's score;
        a least-squares D's raw output, clamped to [0, 1]."""
        least_squares = self.g_loss == LEAST_SQUARES and self.tricks.objective == "gan"
        return discriminator_probability(outputs, LEAST_SQUARES if least_squares else "logit")

    def seen(self, samples: Tensor) -> Tensor:
        """What D sees of `samples`: x + sigma_t eps with instance noise (sigma_t annealed over
        the training iterations done so far), else x itself."""
        std = self.tricks.noise_std(self.g_steps)
        if std == 0.0:
            return samples
        eps = torch.randn(
            samples.shape, generator=self.rng, device=samples.device, dtype=samples.dtype
        )
        return samples + std * eps

    def _checked(self, tricks: Tricks) -> Tricks:
        tricks.validate()
        if tricks.draws_noise and self.rng is None:
            raise ValueError(
                "instance noise and the gradient penalty draw random numbers: "
                "pass rng (the batch source's generator)"
            )
        return tricks

    def iteration(self, k_d: int = 1) -> Tensor:
        """One training iteration, no sync: k_d D updates, then one G update on the last D
        update's fakes. Returns the last D update's 6 numbers followed by the G update's 3."""
        for _ in range(k_d - 1):
            self.d_update()
        d_stats = self.d_update(keep_fake=True)
        return torch.cat([d_stats, self.g_update()])

    # -- the public step API ---------------------------------------------------------------

    def d_step(self) -> StepRecord:
        """Exactly one discriminator update on one mini-batch of real and fake samples."""
        return self.d_record(self.d_update())

    def g_step(self) -> StepRecord:
        """Exactly one generator update."""
        return self.g_record(self.g_update())

    def step(self, k_d: int = 1) -> StepRecord:
        """One training iteration: k_d discriminator updates, then one generator update on the
        fakes of the last D update (one batch of fakes per iteration, as in the textbook loop)."""
        return self.run(1, k_d)

    def run(self, iterations: int, k_d: int = 1) -> StepRecord:
        """`iterations` calls of step(k_d), reading numbers back only once, at the end.

        The returned record describes the last iteration. This is how a background job trains
        fast: no host-device sync inside the loop.
        """
        if iterations < 1 or k_d < 1:
            raise ValueError("iterations and k_d must be at least 1")
        stats = None
        for _ in range(iterations):
            stats = self.iteration(k_d)
        assert stats is not None
        return self.iteration_record(stats)

    # -- records from stats tensors ----------------------------------------------------------

    def d_record(self, stats: Tensor) -> StepRecord:
        """The record of one d_update() from the D_STATS it returned (one host sync)."""
        return StepRecord("d", self.d_steps, self.g_steps, **_named(D_STATS, stats.tolist()))

    def g_record(self, stats: Tensor) -> StepRecord:
        """The record of one g_update() from the G_STATS it returned (one host sync)."""
        return StepRecord("g", self.d_steps, self.g_steps, **_named(G_STATS, stats.tolist()))

    def iteration_record(self, stats: Tensor) -> StepRecord:
        """The "dg" record of one iteration() from the stats it returned: the last D update's
        numbers (its D(G(z)) included) with the G update's loss and gradient norm."""
        values = stats.tolist()
        d_stats = _named(D_STATS, values[: len(D_STATS)])
        g_stats = _named(G_STATS, values[len(D_STATS) :])
        return StepRecord(
            "dg",
            self.d_steps,
            self.g_steps,
            **d_stats,
            g_loss=g_stats["g_loss"],
            g_grad_norm=g_stats["g_grad_norm"],
        )

    def advance(self, iterations: int, k_d: int) -> None:
        """Count `iterations` iterations of k_d D updates and one G update that ran outside this
        stepper's own loop (a replayed CUDA graph of its d_update / g_update)."""
        self.d_steps += iterations * k_d
        self.g_steps += iterations

    # -- hyper-parameters ----------------------------------------------------------------------

    def retune(
        self,
        lr_d: float,
        lr_g: float,
        betas: tuple[float, float] | None = None,
        momentum: float | None = None,
        g_loss: str | None = None,
        tricks: Tricks | None = None,
    ) -> None:
        """Change the learning rates (and Adam's betas or SGD's momentum, G's loss and the
        update tricks) in place: the optimizers keep their state (moments, step counts), so
        training continues smoothly. (Tricks built into D need new networks, not this.)"""
        if g_loss is not None and g_loss not in GAN_LOSSES:
            raise ValueError(f"g_loss must be one of {GAN_LOSSES}, got {g_loss!r}")
        if tricks is not None:
            self.tricks = self._checked(tricks)
        for optimizer, lr in ((self.d_opt, lr_d), (self.g_opt, lr_g)):
            for group in optimizer.param_groups:
                group["lr"] = lr
                if betas is not None:
                    group["betas"] = betas
                if momentum is not None:
                    group["momentum"] = momentum
        if g_loss is not None:
            self.g_loss = g_loss

    def retune_to(self, settings: Any) -> None:
        """`retune` from a world's settings (lr_d, lr_g, optimizer, beta1, beta2, momentum,
        g_loss and the tricks): Adam's betas or SGD's momentum, whichever the optimizer uses."""
        adam = settings.optimizer == "adam"
        self.retune(
            settings.lr_d,
            settings.lr_g,
            betas=(settings.beta1, settings.beta2) if adam else None,
            momentum=None if adam else settings.momentum,
            g_loss=settings.g_loss,
            tricks=settings.tricks,
        )

    # -- rewind ----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """A deep copy of networks, optimizer states, the batch source's RNG and the counters."""
        return Snapshot(
            generator=_cloned(self.generator.state_dict()),
            discriminator=_cloned(self.discriminator.state_dict()),
            g_opt=_cloned(self.g_opt.state_dict()),
            d_opt=_cloned(self.d_opt.state_dict()),
            source=_cloned(self.source.state_dict()),
            d_steps=self.d_steps,
            g_steps=self.g_steps,
        )

    def restore(self, snapshot: Snapshot) -> None:
        """Put the stepper back exactly at `snapshot` (the snapshot itself stays unchanged)."""
        self.generator.load_state_dict(snapshot.generator)
        self.discriminator.load_state_dict(snapshot.discriminator)
        self.g_opt.load_state_dict(_cloned(snapshot.g_opt))
        self.d_opt.load_state_dict(_cloned(snapshot.d_opt))
        self.source.load_state_dict(_cloned(snapshot.source))
        self.d_steps = snapshot.d_steps
        self.g_steps = snapshot.g_steps
        self._kept_fake = None
