"""The 1-D Gaussian GAN: toy data, two tiny MLPs and `ToyGAN`, a stepper a student drives by hand.

Real data x ~ N(real_mean, real_std^2); noise z ~ U(-1, 1)^d (as in the classic 50-line GAN) or
N(0, I_d). G maps z to one number, D maps one number to a *logit*. Every update goes through
`playground.gan.GANStepper`; `ToyGAN` adds what a live lesson needs on top of it:

- a history with one entry per update (losses, KL/JS, a snapshot), bounded and thinned, so any
  earlier step can be restored exactly (parameters, optimizer state, batch RNG, counters);
- hyper-parameter changes in place (the optimizers keep their state), and a clear list of the
  changes that need new networks;
- read-outs on a fixed grid for the figures: p_data(x), a KDE of p_g(x) from fixed evaluation
  noise, D(x), D*(x) = p_data / (p_data + p_g), the map z -> x, and dloss/dx for each shown fake.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from functools import partial
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from playground.gan import GANStepper, Snapshot, StepRecord, frozen
from playground.history import halve_older
from playground.losses import (
    G_LOSSES,
    LOG4,
    gaussian_pdf,
    generator_loss,
    js_divergence,
    kl_divergence,
    optimal_discriminator,
)
from playground.seeds import TOY_BATCHES, TOY_EVALUATION, TOY_INIT, stream_seed
from playground.settings import check_fields, field_problems, join_problems, shown

NOISE_KINDS = ("uniform", "gaussian")
OPTIMIZERS = ("adam", "sgd")

# -- settings ------------------------------------------------------------------------------------


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
}
"""Inclusive bounds of every numeric setting (the settings form uses the same numbers)."""

SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "noise": NOISE_KINDS,
    "optimizer": OPTIMIZERS,
    "g_loss": G_LOSSES,
}

REBUILD_FIELDS = (
    "real_mean",
    "real_std",
    "noise",
    "noise_dim",
    "g_hidden",
    "d_hidden",
    "optimizer",
    "seed",
)
"""Settings that need new networks, optimizers or data: changing one means starting over."""


@dataclass(frozen=True)
class ToySettings:
    """Everything that defines a 1-D GAN experiment (a URL carries exactly these fields)."""

    real_mean: float = 4.0
    real_std: float = 1.25
    noise: str = "uniform"  # "uniform": U(-1, 1)^d, "gaussian": N(0, I_d)
    noise_dim: int = 1
    g_hidden: int = 16  # width of G's two hidden layers
    d_hidden: int = 32  # width of D's two hidden layers
    optimizer: str = "adam"
    # D learns 8x faster than G (two time-scale updates): G then follows a nearly optimal D and
    # the default run settles on N(4, 1.25²) instead of circling it.
    lr_d: float = 2e-3
    lr_g: float = 2.5e-4
    momentum: float = 0.0  # SGD only
    beta1: float = 0.5  # Adam only
    beta2: float = 0.999  # Adam only
    batch_size: int = 128
    g_loss: str = "nonsaturating"
    k_d: int = 1  # D updates per G update in "k D + 1 G" and "Run N steps"
    seed: int = 0

    def validate(self) -> ToySettings:
        """Return self, or raise ToySettingsError naming every bad field and its allowed range."""
        check_fields(self, SETTING_RANGES, SETTING_CHOICES, ToySettingsError)
        return self

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
        problems += field_problems(settings, SETTING_RANGES, SETTING_CHOICES)
        if problems:
            raise ToySettingsError(join_problems(problems))
        return settings

    def rebuild_fields(self, other: ToySettings) -> tuple[str, ...]:
        """The settings that differ from `other` and need new networks (empty: change in place)."""
        return tuple(name for name in REBUILD_FIELDS if getattr(self, name) != getattr(other, name))


def _format(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _parse(name: str, text: str, kind: type) -> object:
    try:
        return kind(text)
    except ValueError:  # also a number too long to convert (Python refuses > 4,300 digits)
        expected = {int: "a whole number", float: "a number"}.get(kind, "text")
        raise ToySettingsError(f"{name} must be {expected}, got {shown(text)}") from None


# -- data and networks --------------------------------------------------------------------------


def sample_noise(kind: str, count: int, dim: int, generator: torch.Generator) -> Tensor:
    """z of shape (count, dim): U(-1, 1) or N(0, 1) in each coordinate."""
    if kind == "uniform":
        return torch.rand(count, dim, generator=generator) * 2.0 - 1.0
    return torch.randn(count, dim, generator=generator)


class ToySource:
    """The BatchSource of the 1-D GAN: real x ~ N(mean, std^2) and noise z, from one RNG."""

    def __init__(self, settings: ToySettings, generator: torch.Generator) -> None:
        self.settings = settings
        self.generator = generator

    def real(self) -> tuple[Tensor, None]:
        s = self.settings
        x = torch.randn(s.batch_size, 1, generator=self.generator) * s.real_std + s.real_mean
        return x, None

    def noise(self) -> tuple[Tensor, None]:
        s = self.settings
        return sample_noise(s.noise, s.batch_size, s.noise_dim, self.generator), None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["rng"])


def seeded_linear(fan_in: int, fan_out: int, generator: torch.Generator) -> nn.Linear:
    """nn.Linear with PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) init, drawn from
    `generator` instead of the global RNG."""
    layer = torch.nn.utils.skip_init(nn.Linear, fan_in, fan_out)
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def make_generator(settings: ToySettings, generator: torch.Generator) -> nn.Sequential:
    """G: z (batch, noise_dim) -> x (batch, 1); smooth (ELU) so the map z -> x is a curve."""
    h = settings.g_hidden
    return nn.Sequential(
        seeded_linear(settings.noise_dim, h, generator), nn.ELU(),
        seeded_linear(h, h, generator), nn.ELU(),
        seeded_linear(h, 1, generator),
    )  # fmt: skip


def make_discriminator(settings: ToySettings, generator: torch.Generator) -> nn.Sequential:
    """D: x (batch, 1) -> logit (batch, 1). No sigmoid: the losses take logits."""
    h = settings.d_hidden
    return nn.Sequential(
        seeded_linear(1, h, generator), nn.LeakyReLU(0.2),
        seeded_linear(h, h, generator), nn.LeakyReLU(0.2),
        seeded_linear(h, 1, generator),
    )  # fmt: skip


def make_optimizer(settings: ToySettings, params: Any, lr: float) -> torch.optim.Optimizer:
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(settings.beta1, settings.beta2))
    return torch.optim.SGD(params, lr=lr, momentum=settings.momentum)


_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_saved = 1


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one thread inside the block (restored when the last user leaves).

    The toy's matrices are 64 x 32: handing them to a second BLAS thread costs far more than the
    maths, and on a loaded 2-core machine a 2-thread 64x32 matmul can take milliseconds.
    """
    global _threads_users, _threads_saved
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)


# -- read-outs (pure) ---------------------------------------------------------------------------


def make_grid(settings: ToySettings, points: int = 201) -> np.ndarray:
    """The x grid of every curve: the data +- 4 std and the origin, where G starts."""
    low = min(settings.real_mean - 4.0 * settings.real_std, -3.0)
    high = max(settings.real_mean + 4.0 * settings.real_std, 3.0)
    return np.linspace(low, high, points)


def silverman_bandwidth(samples: np.ndarray) -> float:
    """Silverman's rule of thumb h = 0.9 min(std, IQR / 1.34) n^(-1/5)."""
    q75, q25 = np.percentile(samples, [75, 25])
    spread = min(float(samples.std()), float(q75 - q25) / 1.34) or float(samples.std())
    return 0.9 * spread * samples.size**-0.2


def kde(samples: np.ndarray, x: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density estimate p(x) = 1/n sum_i N(x; s_i, h^2) on the uniform grid x.

    Binned: each sample is split linearly between its two nearest grid points (the grid padded
    by 4h so nearby outside samples count), then the counts are convolved with the kernel; this
    is O(n + grid) instead of O(n * grid) and differs from the exact sum by O((dx / h)^2).
    h defaults to Silverman's rule, floored at two grid steps so a collapsed generator still gives
    a narrow bump. Non-finite samples are dropped.
    """
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return np.zeros_like(x, dtype=np.float64)
    dx = float(x[1] - x[0])
    h = max(silverman_bandwidth(s), 2.0 * dx) if bandwidth is None else bandwidth
    pad = math.ceil(4.0 * h / dx)
    size = x.size + 2 * pad
    position = (s - (x[0] - pad * dx)) / dx
    position = position[(position >= 0) & (position < size - 1)]
    left = np.floor(position).astype(np.int64)
    right_share = position - left
    counts = np.bincount(left, 1.0 - right_share, size) + np.bincount(left + 1, right_share, size)
    offsets = np.arange(-pad, pad + 1) * dx
    kernel = np.exp(-0.5 * (offsets / h) ** 2) / (h * math.sqrt(2.0 * math.pi))
    density = np.convolve(counts, kernel, mode="same") / s.size
    return density[pad : pad + x.size]


def divergences(p_data: np.ndarray, p_g: np.ndarray, dx: float) -> tuple[float, float]:
    """(KL(p_data || p_g), JS(p_data || p_g)) of two densities sampled on one grid."""
    return kl_divergence(p_data, p_g, dx), js_divergence(p_data, p_g, dx)


def fake_gradients(discriminator: nn.Module, fake: Tensor, g_loss: str) -> Tensor:
    """dl/dx~ for each fake x~, l its own generator loss: a G step moves x~ along -dl/dx~.

    non-saturating l = softplus(-D_logit(x~)), minimax l = -softplus(D_logit(x~)).
    """
    x = fake.detach().reshape(-1, 1).clone().requires_grad_(True)
    with frozen(discriminator):
        logits = discriminator(x).reshape(-1)
        # generator_loss is a batch mean; times n it is the sum of each fake's own loss.
        total = generator_loss(logits, g_loss) * logits.numel()
        (grad,) = torch.autograd.grad(total, x)
    return grad.reshape(-1)


def perfect_map(settings: ToySettings, noise: np.ndarray, increasing: bool = True) -> np.ndarray:
    """One exact generator for noise_dim = 1: x = mean + std * Phi^-1(F_z(z)) (inverse-CDF map)."""
    u = (noise + 1.0) / 2.0 if settings.noise == "uniform" else _normal_cdf(noise)
    u = u if increasing else 1.0 - u
    u = np.clip(u, 1e-6, 1.0 - 1e-6)
    inv = np.array([NormalDist().inv_cdf(float(p)) for p in u])
    return settings.real_mean + settings.real_std * inv


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(z) / math.sqrt(2.0)))


@dataclass(frozen=True)
class Measures:
    """The numbers one history entry keeps, measured on the fixed evaluation samples.

    d_real = integral p_data(x) D(x) dx, d_fake = mean D(G(z)) over the evaluation noise,
    push = mean -dl/dx~ over the shown fakes (> 0: G pushes the fakes right).
    """

    kl: float
    js: float
    fake_mean: float
    fake_std: float
    d_real: float
    d_fake: float
    push: float


@dataclass(frozen=True)
class Readout:
    """Everything the figures draw for the current state, as numpy arrays on one grid."""

    x: np.ndarray
    p_data: np.ndarray
    p_g: np.ndarray
    d_x: np.ndarray  # D(x) = sigmoid(logit)
    d_star: np.ndarray  # p_data / (p_data + p_g)
    fake: np.ndarray  # the shown fakes G(z_i)
    fake_d: np.ndarray  # D(G(z_i))
    fake_grad: np.ndarray  # dl/dx~ at each shown fake
    map_noise: np.ndarray  # z (first coordinate) of the map z -> x
    map_fake: np.ndarray  # G(z)
    map_perfect: np.ndarray  # an exact map for noise_dim = 1 (empty otherwise)
    measures: Measures
    settings: ToySettings


@dataclass(frozen=True)
class Curves:
    """History of the numbers up to the current step (NaN where a step did not measure one)."""

    step: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    kl: np.ndarray
    js: np.ndarray


@dataclass(frozen=True)
class Entry:
    """One step of the history: what the press did and the state right after it."""

    step: int  # 0 = the freshly built GAN, then one per update call
    label: str  # "start", "d", "g" or "dg"
    record: StepRecord | None
    measures: Measures
    snapshot: Snapshot | None  # None once thinned away: this step can no longer be restored


@dataclass(frozen=True)
class Press:
    """The last button press: its label and the history steps it went from and to."""

    label: str
    before: Entry
    after: Entry
    count: int = 1


# -- the stepper --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLimits:
    """How much history a ToyGAN keeps: every snapshot of the last `recent` steps, at most
    `older` snapshots before them, at most `entries` entries (thinned by halving), and never more
    than `snapshot_bytes` of snapshots.

    A snapshot of the default networks is ~45 kB (400 of them: ~18 MB); one of the widest
    networks with Adam is ~0.9 MB, so there the byte budget keeps fewer, not more memory.
    """

    recent: int = 300
    older: int = 100
    entries: int = 5000
    snapshot_bytes: int = 24 * 2**20

    def for_snapshot(self, nbytes: int) -> HistoryLimits:
        """These limits with `recent` and `older` cut so that their snapshots fit the byte budget
        (three quarters recent, a quarter older; at least a few of each)."""
        fit = max(8, self.snapshot_bytes // max(nbytes, 1))
        recent = min(self.recent, max(4, fit * 3 // 4))
        older = min(self.older, max(4, fit - recent))
        return replace(self, recent=recent, older=older)


# -- the cost of a press ------------------------------------------------------------------------

UPDATE_SECONDS = 1.5e-3
"""The fixed cost of one update (Python, autograd, the optimizer step) on the 2-core reference
machine; measured with tiny networks, where the maths is negligible."""

ENTRY_SECONDS = 4.5e-3
"""The fixed cost of one history entry: the read-out (KDE, D*, KL/JS, arrows) and the snapshot."""

SECONDS_PER_MULTIPLY_ADD = 2.3e-11
"""One multiply-add of the networks' maths, fitted to batch 1024 with 128-wide networks."""

RUN_LIMIT = 2000
"""The most iterations one "Run N steps" press may ask for, whatever the settings."""


def network_weights(settings: ToySettings) -> int:
    """Multiply-adds of one sample through G and D (their weight counts)."""
    g, d = settings.g_hidden, settings.d_hidden
    return settings.noise_dim * g + g * g + g + d + d * d + d


def iteration_seconds(settings: ToySettings) -> float:
    """Estimated time of one "k D + 1 G" iteration with its history entry on the reference
    machine: k_d + 1 updates, each a forward and backward pass (~3x the forward) over a batch of
    real and fake samples, plus the read-out on the evaluation samples, the grid and the map.

    The constants come from timing ToyGAN.run at the default, the smallest and the largest
    settings (bench/bench_stepper.py --costs prints the estimate beside the measurement).
    """
    weights = network_weights(settings)
    update = UPDATE_SECONDS + 2 * 3 * settings.batch_size * weights * SECONDS_PER_MULTIPLY_ADD
    readout = ENTRY_SECONDS + (ToyGAN.EVAL_SAMPLES + 400) * weights * SECONDS_PER_MULTIPLY_ADD
    return (settings.k_d + 1) * update + readout


def run_limit(settings: ToySettings) -> int:
    """The most iterations one Run press may do with `settings` (at least one).

    One press may take what RUN_LIMIT iterations of the default experiment take (~16 s on the
    2-core reference machine): bigger networks, batches or k get proportionally fewer
    iterations, so no press takes minutes of a shared server's CPU.
    """
    budget = RUN_LIMIT * iteration_seconds(ToySettings())
    return max(1, min(RUN_LIMIT, int(budget / iteration_seconds(settings))))


class RunTooLong(ToySettingsError):
    """A Run press asked for more work than one press may do (the message says the limit)."""


ProgressCallback = Callable[[int, int], bool | None]
"""on_progress(done, total) between iterations of a run; returning False stops the run."""


class ToyGAN:
    """A 1-D GAN driven one update at a time, with a rewindable history and figure read-outs."""

    EVAL_SAMPLES: ClassVar[int] = 1000
    SHOWN_FAKES: ClassVar[int] = 48

    def __init__(self, settings: ToySettings, limits: HistoryLimits | None = None) -> None:
        self.settings = settings.validate()
        self.limits = limits or HistoryLimits()
        init = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_INIT))
        generator = make_generator(settings, init)
        discriminator = make_discriminator(settings, init)
        self.source = ToySource(
            settings, torch.Generator().manual_seed(stream_seed(settings.seed, TOY_BATCHES))
        )
        self.stepper = GANStepper(
            generator,
            discriminator,
            g_opt=make_optimizer(settings, generator.parameters(), settings.lr_g),
            d_opt=make_optimizer(settings, discriminator.parameters(), settings.lr_d),
            source=self.source,
            g_loss=settings.g_loss,
        )
        evaluation = torch.Generator().manual_seed(stream_seed(settings.seed, TOY_EVALUATION))
        # Fixed evaluation noise: the density and the shown fakes move only when G moves.
        self.eval_noise = sample_noise(
            settings.noise, self.EVAL_SAMPLES, settings.noise_dim, evaluation
        )
        self.grid = make_grid(settings)
        self._grid_t = torch.tensor(self.grid, dtype=torch.float32).reshape(-1, 1)
        self.p_data = gaussian_pdf(self.grid, settings.real_mean, settings.real_std)
        self._map_noise = self._map_inputs()
        if settings.noise_dim == 1:  # the exact maps never change: compute them once
            z = self._map_noise[:, 0].double().numpy()
            self._perfect = {up: perfect_map(settings, z, up) for up in (True, False)}
        self._version = 0
        self._readout: tuple[tuple[int, int, int], Readout] | None = None
        # Two script threads of one browser session can reach this object at once (a press
        # while a Run is still going): every method that reads or drives the networks holds
        # this lock, so one thread at a time touches them (torch's in-place optimizer updates
        # under a concurrent backward pass corrupt autograd and can crash the process).
        self._lock = threading.RLock()
        with single_threaded():
            start = Entry(0, "start", None, self.readout().measures, self.stepper.snapshot())
        self.entries: list[Entry] = [start]
        self.cursor = 0
        self.last_press: Press | None = None

    @property
    def generator(self) -> nn.Module:
        return self.stepper.generator

    @property
    def discriminator(self) -> nn.Module:
        return self.stepper.discriminator

    @property
    def d_steps(self) -> int:
        return self.stepper.d_steps

    @property
    def g_steps(self) -> int:
        return self.stepper.g_steps

    @property
    def current(self) -> Entry:
        return self.entries[self.cursor]

    # -- presses ----------------------------------------------------------------------------

    def d_step(self) -> StepRecord:
        """Exactly one D update on one mini-batch of real and fake samples."""
        return self._press("d", 1, self.stepper.d_step)

    def g_step(self) -> StepRecord:
        """Exactly one G update."""
        return self._press("g", 1, self.stepper.g_step)

    def step(self, k_d: int | None = None) -> StepRecord:
        """k_d D updates then one G update (k_d from the settings by default)."""
        k = self.settings.k_d if k_d is None else k_d
        return self._press("dg", 1, lambda: self.stepper.step(k))

    def run(
        self,
        iterations: int,
        k_d: int | None = None,
        on_progress: ProgressCallback | None = None,
        resume_from_step: int | None = None,
        keep_going: Callable[[], bool] | None = None,
    ) -> StepRecord | None:
        """`iterations` times step(k_d), each iteration one history entry, as one press.

        Refused (RunTooLong) beyond `run_limit`. The lock is held one iteration at a time, so a
        press from another thread waits at most one iteration. `on_progress(done, total)` is
        called after each iteration, without the lock; returning False stops the run.
        `keep_going()` is asked under the lock before each iteration: once another thread has
        made it False, `run_count` read by that thread is final.

        `resume_from_step` continues the run press that started at that history step, if it is
        still the last press, up to `iterations` in all: a run carried on by another thread
        (a rerun of the page) never does more than asked, even while the first thread is
        finishing its last iteration. Returns the last update's record (None if none ran).
        """
        k = self.settings.k_d if k_d is None else k_d
        self._check_run(iterations, k)
        update = partial(self.stepper.step, k)
        with self._lock:
            last = self.last_press
            resumed = (
                last is not None and last.label == "run" and last.before.step == resume_from_step
            )
            before = last.before if resumed and last is not None else self.current
        record: StepRecord | None = None
        while True:
            with self._lock, single_threaded():
                done = self._run_progress(before)
                if done is None or done >= iterations or (keep_going and not keep_going()):
                    break
                record = self._updates("run", 1, update, before, done)
            if on_progress is not None and on_progress(done + 1, iterations) is False:
                break
        return record

    def _check_run(self, iterations: int, k: int) -> None:
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ToySettingsError(
                f"N must be a whole number of at least 1, got {shown(iterations)}"
            )
        limit = run_limit(replace(self.settings, k_d=k))
        if iterations > limit:
            raise RunTooLong(
                f"Run {iterations} steps is more work than one press may do with these settings "
                f"(k = {k}, batch {self.settings.batch_size}, widths {self.settings.g_hidden}/"
                f"{self.settings.d_hidden}): at most {limit} steps"
            )

    def run_count(self, start_step: int) -> int:
        """Iterations done so far by the run press that started at history step `start_step`
        (0 if the last press is not that run)."""
        with self._lock:
            last = self.last_press
            if last is not None and last.label == "run" and last.before.step == start_step:
                return last.count
            return 0

    def _run_progress(self, before: Entry) -> int | None:
        """Iterations done so far by the run press that started at `before` (by any thread),
        or None when another press has replaced it since."""
        last = self.last_press
        if last is not None and last.label == "run" and last.before is before:
            return last.count
        return 0 if self.current is before else None

    def _press(self, label: str, count: int, update: Callable[[], StepRecord]) -> StepRecord:
        with self._lock, single_threaded():
            return self._updates(label, count, update)

    def _updates(
        self,
        label: str,
        count: int,
        update: Callable[[], StepRecord],
        before: Entry | None = None,
        done: int = 0,
    ) -> StepRecord:
        """`count` updates, one history entry each. A run continues the press that started at
        `before` after `done` iterations (so "last press" spans the whole run)."""
        last = self.last_press
        if before is None or (done and (last is None or last.before is not before)):
            before, done = self.current, 0  # another press came in between: a new press
        # A press after a rewind replaces the future that was rewound past.
        del self.entries[self.cursor + 1 :]
        for _ in range(count):
            record = update()
            self._changed()
            entry_label = "dg" if label == "run" else label
            entry = Entry(
                self.entries[-1].step + 1,
                entry_label,
                record,
                self.readout().measures,
                self.stepper.snapshot(),
            )
            self.entries.append(entry)
            self._thin()
        self.cursor = len(self.entries) - 1
        self.last_press = Press(label, before, self.current, done + count)
        return record

    def _thin(self) -> None:
        """Keep the history bounded: recent snapshots all, older ones halved, entries halved.

        The snapshot counts come from the newest snapshot's size (it grows once the optimizer
        holds its moments), so the byte budget holds at any network width."""
        newest = self.entries[-1].snapshot
        limits = self.limits.for_snapshot(newest.nbytes) if newest else self.limits
        older = self.entries[: max(0, len(self.entries) - limits.recent)]
        with_snapshot = [i for i, e in enumerate(older) if e.snapshot is not None and i > 0]
        if len(with_snapshot) > limits.older:
            for i in with_snapshot[1::2]:
                self.entries[i] = replace(self.entries[i], snapshot=None)
        if len(self.entries) > limits.entries:
            self.entries[:] = halve_older(self.entries, limits.recent)  # keeps the start (index 0)

    # -- rewind -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Networks, optimizer states, batch RNG and counters, deep-copied."""
        with self._lock:
            return self.stepper.snapshot()

    def restore(self, snapshot: Snapshot) -> None:
        """Put the networks, optimizers, RNG and counters back at `snapshot`; the current
        hyper-parameters (learning rates, betas, loss) stay those of the settings."""
        with self._lock:
            self.stepper.restore(snapshot)
            self._apply_hyperparameters()
            self._changed()

    def rewind_steps(self) -> list[int]:
        """The steps that can be restored (the future after a rewind included, until a press)."""
        with self._lock:
            return [e.step for e in self.entries if e.snapshot is not None]

    def rewind(self, step: int) -> None:
        """Go back (or forward again) to history step `step`; the next press drops later steps."""
        with self._lock:
            for position, entry in enumerate(self.entries):
                if entry.step == step and entry.snapshot is not None:
                    self.restore(entry.snapshot)
                    self.cursor = position
                    self.last_press = None
                    return
            raise ValueError(
                f"step {step} cannot be restored; restorable: {self.rewind_steps()[-5:]}"
            )

    # -- settings ---------------------------------------------------------------------------

    def apply(self, settings: ToySettings) -> None:
        """Change hyper-parameters in place: the optimizers keep their moments and step counts.

        Raises ToySettingsError if `settings` changes a field that needs new networks.
        """
        with self._lock:
            settings.validate()
            rebuild = self.settings.rebuild_fields(settings)
            if rebuild:
                raise ToySettingsError(
                    f"changing {', '.join(rebuild)} needs new networks: reset to apply it"
                )
            self.settings = settings
            self.source.settings = settings
            self._apply_hyperparameters()
            self._changed()

    def _apply_hyperparameters(self) -> None:
        s = self.settings
        adam = s.optimizer == "adam"
        self.stepper.retune(
            s.lr_d,
            s.lr_g,
            betas=(s.beta1, s.beta2) if adam else None,
            momentum=None if adam else s.momentum,
            g_loss=s.g_loss,
        )

    # -- read-outs --------------------------------------------------------------------------

    def _changed(self) -> None:
        self._version += 1

    def _map_inputs(self) -> Tensor:
        if self.settings.noise_dim == 1:
            # Inside the noise's support: the exact map x = mu + sigma Phi^-1(F(z)) is infinite
            # at z = ±1 for uniform noise; ±0.99 already reaches ±2.6 std.
            low, high = (-0.99, 0.99) if self.settings.noise == "uniform" else (-3.0, 3.0)
            return torch.linspace(low, high, 101).reshape(-1, 1)
        order = torch.argsort(self.eval_noise[:200, 0])
        return self.eval_noise[:200][order]

    def readout(self) -> Readout:
        """The current state on the grid (cached until the next change)."""
        with self._lock:
            # The counters are part of the key, so driving `self.stepper` directly is seen too.
            key = (self._version, self.d_steps, self.g_steps)
            if self._readout is not None and self._readout[0] == key:
                return self._readout[1]
            with single_threaded():
                readout = self._compute_readout()
            self._readout = (key, readout)
            return readout

    def _compute_readout(self) -> Readout:
        with torch.no_grad():
            fake_all = self.generator(self.eval_noise).reshape(-1)
            d_x = torch.sigmoid(self.discriminator(self._grid_t)).reshape(-1).double().numpy()
            d_fake_all = torch.sigmoid(self.discriminator(fake_all.reshape(-1, 1))).reshape(-1)
            map_fake = self.generator(self._map_noise).reshape(-1).double().numpy()
        shown = fake_all[: self.SHOWN_FAKES]
        grad = fake_gradients(self.discriminator, shown, self.settings.g_loss).double().numpy()
        fakes = fake_all.double().numpy()
        p_g = kde(fakes, self.grid)
        dx = float(self.grid[1] - self.grid[0])
        kl, js = divergences(self.p_data, p_g, dx)
        map_noise = self._map_noise[:, 0].double().numpy()
        if self.settings.noise_dim == 1:  # the exact map that runs the same way as G's
            map_perfect = self._perfect[bool(map_fake[-1] >= map_fake[0])]
        else:
            map_perfect = np.empty(0)
        measures = Measures(
            kl=kl,
            js=js,
            fake_mean=float(fakes.mean()),
            fake_std=float(fakes.std()),
            d_real=float(np.sum(self.p_data * d_x) * dx),
            d_fake=float(d_fake_all.mean()),
            push=float(-grad.mean()),
        )
        return Readout(
            x=self.grid,
            p_data=self.p_data,
            p_g=p_g,
            d_x=d_x,
            d_star=optimal_discriminator(self.p_data, p_g),
            fake=shown.double().numpy(),
            fake_d=d_fake_all[: self.SHOWN_FAKES].double().numpy(),
            fake_grad=grad,
            map_noise=map_noise,
            map_fake=map_fake,
            map_perfect=map_perfect,
            measures=measures,
            settings=self.settings,
        )

    def curves(self) -> Curves:
        """Losses, D outputs and KL/JS of every kept step up to the current one."""
        with self._lock:
            entries = self.entries[: self.cursor + 1]
        nan = float("nan")

        def column(read: Callable[[Entry], float | None]) -> np.ndarray:
            values = [read(e) for e in entries]
            return np.array([nan if v is None else v for v in values], dtype=np.float64)

        return Curves(
            step=np.array([e.step for e in entries]),
            d_loss=column(lambda e: e.record.d_loss if e.record else None),
            g_loss=column(lambda e: e.record.g_loss if e.record else None),
            d_real=column(lambda e: e.measures.d_real),
            d_fake=column(lambda e: e.measures.d_fake),
            kl=column(lambda e: e.measures.kl),
            js=column(lambda e: e.measures.js),
        )

    def last_losses(self) -> dict[str, float | None]:
        """The latest D loss, G loss, D(real) and D(fake) at or before the current step."""
        with self._lock:
            entries = self.entries[: self.cursor + 1]
        latest: dict[str, float | None] = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"))
        for entry in reversed(entries):
            if entry.record is None or all(v is not None for v in latest.values()):
                break
            for name, value in entry.record.losses().items():
                if name in latest and latest[name] is None:
                    latest[name] = value
        return latest

    def diverged(self) -> bool:
        """True when the last update produced a NaN or infinite number."""
        with self._lock:
            record = self.current.record
            return record is not None and not (
                record.is_finite() and math.isfinite(self.current.measures.fake_mean)
            )

    def explain(self) -> str:
        """One line saying what the last press did, built from its numbers."""
        with self._lock:
            if self.last_press is None:
                return (
                    f"At step {self.current.step}: {self.d_steps} D and {self.g_steps} G updates "
                    "so far."
                )
            return explain_press(self.last_press, self.settings)


# -- explanations (pure) ------------------------------------------------------------------------


def explain_press(press: Press, settings: ToySettings) -> str:
    """One line, from the numbers, of what a press did (what D saw / how far the fakes moved)."""
    before, after = press.before.measures, press.after.measures
    record = press.after.record
    assert record is not None
    if press.label == "d":
        return _explain_d(record, before, after, settings)
    if press.label == "g":
        return _explain_g(record, before, after, settings)
    what = (
        f"{settings.k_d} D + 1 G"
        if press.count == 1
        else f"{press.count} × ({settings.k_d} D + 1 G)"
    )
    return (
        f"{what}: D loss {record.d_loss:.3f} (log 4 = {LOG4:.3f} at equilibrium), G loss {record.g_loss:.3f}; "
        f"fake mean {before.fake_mean:.2f} → {after.fake_mean:.2f} and std {before.fake_std:.2f} → "
        f"{after.fake_std:.2f} (data: mean {settings.real_mean:g}, std {settings.real_std:g}); "
        f"JS {before.js:.3f} → {after.js:.3f}."
    )


def _explain_d(record: StepRecord, before: Measures, after: Measures, settings: ToySettings) -> str:
    gap_before, gap_after = before.d_real - before.d_fake, after.d_real - after.d_fake
    verdict = "better" if gap_after > gap_before else "worse"
    return (
        f"D step {record.d_steps}: D saw {settings.batch_size} real and {settings.batch_size} fake "
        f"samples and rated them {record.d_real:.3f} and {record.d_fake:.3f} on average "
        f"(loss {record.d_loss:.3f}; log 4 = {LOG4:.3f} when it cannot tell). After the update, "
        f"mean D(real) {before.d_real:.3f} → {after.d_real:.3f} and mean D(fake) "
        f"{before.d_fake:.3f} → {after.d_fake:.3f}: D got {verdict} at telling them apart."
    )


def _explain_g(record: StepRecord, before: Measures, after: Measures, settings: ToySettings) -> str:
    moved = after.fake_mean - before.fake_mean
    toward = abs(after.fake_mean - settings.real_mean) < abs(before.fake_mean - settings.real_mean)
    side = "right" if before.push > 0 else "left"
    weak = ""
    if settings.g_loss == "minimax" and record.d_fake is not None and record.d_fake < 0.1:
        weak = f" (minimax loss: its gradient is D(G(z)) ≈ {record.d_fake:.3f}, almost no signal)"
    return (
        f"G step {record.g_steps}: the fakes' mean moved {before.fake_mean:.3f} → {after.fake_mean:.3f} "
        f"({moved:+.3f}, {'toward' if toward else 'away from'} the data mean {settings.real_mean:g}) "
        f"{_why_it_moved(moved, before, after, side)}{weak}; "
        f"mean D(fake) {before.d_fake:.3f} → {after.d_fake:.3f}, G loss {record.g_loss:.3f}."
    )


def _why_it_moved(moved: float, before: Measures, after: Measures, side: str) -> str:
    """Tie the fakes' movement to the arrows, honestly when the two disagree.

    G moves its weights, not each sample, so the fakes follow the arrows only on the whole: the
    mean can step against the average arrow while the spread does what the arrows ask.
    """
    arrows = f"the arrows −∂loss/∂x̃ pointed {side} on average ({before.push:+.3f})"
    if moved * before.push >= 0:
        return f"because {arrows}"
    return (
        f"although {arrows}: G changes its weights, not each sample, and this step mostly "
        f"reshaped the fakes (std {before.fake_std:.3f} → {after.fake_std:.3f})"
    )


__all__ = [
    "NOISE_KINDS",
    "OPTIMIZERS",
    "REBUILD_FIELDS",
    "RUN_LIMIT",
    "SETTING_CHOICES",
    "SETTING_RANGES",
    "Curves",
    "Entry",
    "HistoryLimits",
    "Measures",
    "ProgressCallback",
    "Press",
    "Readout",
    "RunTooLong",
    "ToyGAN",
    "ToySettings",
    "ToySettingsError",
    "ToySource",
    "divergences",
    "explain_press",
    "fake_gradients",
    "iteration_seconds",
    "kde",
    "make_discriminator",
    "make_generator",
    "make_grid",
    "perfect_map",
    "run_limit",
    "sample_noise",
    "silverman_bandwidth",
    "single_threaded",
]
