"""Batch normalization written out step by step, checked against torch.nn.BatchNorm2d, and what it
does to the activations of the course's DCGAN generator.

For a batch x of shape (B, C, H, W), each channel c is normalised over its n = B·H·W values:

    μ_c  = (1/n) Σ x                       the batch mean
    σ²_c = (1/n) Σ (x − μ_c)²              the batch variance (biased: divided by n)
    x̂    = (x − μ_c) / √(σ²_c + ε)         mean 0, variance ≈ 1
    y    = γ_c · x̂ + β_c                   a learned scale and shift give the layer its range back

Train mode also updates the running statistics (momentum m; torch keeps the *unbiased* variance):

    running_mean ← (1 − m)·running_mean + m·μ_c
    running_var  ← (1 − m)·running_var  + m·σ²_c·n/(n − 1)

and eval mode normalises with them instead of the batch's: y = γ (x − running_mean) /
√(running_var + ε) + β, so one sample's output no longer depends on the rest of its batch.

Why the DCGAN needs it (Radford et al., 2016): without it each layer multiplies the scale of its
input by about σ_w·√(fan-in/2) (a ReLU keeps half of the second moment), so through a stack of
layers the activations fade away or blow up geometrically; a generator whose activations faded
gives every noise vector the same grey image. Batch norm resets every layer to mean 0, variance 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import Tensor, nn

from playground.losses import nonsaturating_g_loss
from playground.models import Discriminator, weights_init
from playground.models.generator_variants import DCGAN_INIT_STD, generator_variant
from playground.settings import Range, check_fields


class BatchNormSettingsError(ValueError):
    """A batch-norm lesson setting out of its range (the message names it and the range)."""


# ---------------------------------------------------------------------------------------------
# The arithmetic


@dataclass(frozen=True)
class RunningStats:
    """A batch-norm layer's running mean and (unbiased) variance per channel."""

    mean: Tensor
    var: Tensor

    @classmethod
    def fresh(cls, channels: int, dtype: torch.dtype = torch.float64) -> RunningStats:
        """What a new layer starts from, as torch does: mean 0, variance 1."""
        return cls(torch.zeros(channels, dtype=dtype), torch.ones(channels, dtype=dtype))


@dataclass(frozen=True)
class TrainPass:
    """Every intermediate of one train-mode pass, named as the lesson writes them."""

    inputs: Tensor  # x (B, C, H, W)
    mean: Tensor  # μ (C,)
    var: Tensor  # σ², biased (C,)
    normalised: Tensor  # x̂ (B, C, H, W)
    outputs: Tensor  # y (B, C, H, W)
    running: RunningStats  # after this batch's update

    @property
    def count(self) -> int:
        """n = B·H·W: how many values each channel's statistics average."""
        return self.inputs.numel() // self.inputs.shape[1]


def per_channel(values: Tensor) -> Tensor:
    """(C,) -> (1, C, 1, 1), to broadcast one number per channel over (B, C, H, W)."""
    return values.view(1, -1, 1, 1)


def batch_norm_train(
    x: Tensor, weight: Tensor, bias: Tensor, running: RunningStats, momentum: float, eps: float
) -> TrainPass:
    """One train-mode pass: normalise with the batch's statistics, then update the running ones."""
    mean = x.mean(dim=(0, 2, 3))
    var = ((x - per_channel(mean)) ** 2).mean(dim=(0, 2, 3))
    normalised = (x - per_channel(mean)) / torch.sqrt(per_channel(var) + eps)
    outputs = per_channel(weight) * normalised + per_channel(bias)
    n = x.numel() // x.shape[1]
    updated = RunningStats(
        (1 - momentum) * running.mean + momentum * mean.detach(),
        (1 - momentum) * running.var + momentum * var.detach() * n / (n - 1),
    )
    return TrainPass(x, mean, var, normalised, outputs, updated)


def batch_norm_eval(
    x: Tensor, weight: Tensor, bias: Tensor, running: RunningStats, eps: float
) -> Tensor:
    """Eval mode: y = γ (x − running_mean) / √(running_var + ε) + β."""
    normalised = (x - per_channel(running.mean)) / torch.sqrt(per_channel(running.var) + eps)
    return per_channel(weight) * normalised + per_channel(bias)


# ---------------------------------------------------------------------------------------------
# The small tensor the student changes

DEMO_RANGES = {
    "batch_size": Range(2, 16),
    "channels": Range(1, 4),
    "height": Range(1, 4),
    "width": Range(1, 4),
    "scale": Range(0.1, 10.0),
    "shift": Range(-10.0, 10.0),
    "gamma": Range(0.0, 3.0),
    "beta": Range(-3.0, 3.0),
    "momentum": Range(0.0, 1.0, low_open=True),
    "eps": Range(1e-8, 1.0),
    "batches": Range(1, 200),
    "seed": Range(0, 2**31 - 1),
}


@dataclass(frozen=True)
class BatchNormDemo:
    """A small batch-norm layer fed `batches` batches of shape (batch_size, channels, height,
    width). Channel 0's inputs are scale·N(0, 1) + shift and its γ, β are gamma, beta; the other
    channels get N(0, 1) inputs and γ = 1, β = 0."""

    batch_size: int = 4
    channels: int = 2
    height: int = 2
    width: int = 2
    scale: float = 3.0
    shift: float = 5.0
    gamma: float = 1.0
    beta: float = 0.0
    momentum: float = 0.1
    eps: float = 1e-5
    batches: int = 5
    seed: int = 0

    def validate(self) -> BatchNormDemo:
        check_fields(self, DEMO_RANGES, {}, BatchNormSettingsError)
        return self

    def inputs(self) -> list[Tensor]:
        """The batches, in float64, drawn from a generator seeded with `seed`."""
        draw = torch.Generator().manual_seed(self.seed)
        shape = (self.batch_size, self.channels, self.height, self.width)
        batches = [
            torch.randn(shape, generator=draw, dtype=torch.float64) for _ in range(self.batches)
        ]
        for batch in batches:
            batch[:, 0] = batch[:, 0] * self.scale + self.shift
        return batches

    def affine(self) -> tuple[Tensor, Tensor]:
        """γ and β per channel."""
        weight = torch.ones(self.channels, dtype=torch.float64)
        bias = torch.zeros(self.channels, dtype=torch.float64)
        weight[0], bias[0] = self.gamma, self.beta
        return weight, bias


@dataclass(frozen=True)
class DemoRun:
    """The demo's numbers (numpy): the last batch's pass written out, eval mode on that batch,
    the running statistics after each batch, and the largest gaps to torch.nn.BatchNorm2d."""

    demo: BatchNormDemo
    inputs: np.ndarray  # x, last batch (B, C, H, W)
    mean: np.ndarray  # μ (C,)
    var: np.ndarray  # σ², biased (C,)
    normalised: np.ndarray  # x̂
    outputs: np.ndarray  # y, train mode
    eval_outputs: np.ndarray  # y, eval mode, same batch
    batch_means: np.ndarray  # μ of every batch (batches, C)
    batch_vars: np.ndarray  # unbiased σ² of every batch (batches, C)
    running_means: np.ndarray  # after 0, 1, ... batches (batches + 1, C)
    running_vars: np.ndarray
    gap_train: float  # max |ours − torch| over every train-mode output
    gap_running: float  # ... over the running statistics after every batch
    gap_eval: float  # ... over the eval-mode output

    @property
    def count(self) -> int:
        return int(self.inputs.size // self.inputs.shape[1])


def torch_reference(
    batches: list[Tensor], weight: Tensor, bias: Tensor, momentum: float, eps: float
) -> tuple[list[Tensor], list[RunningStats], Tensor]:
    """torch.nn.BatchNorm2d fed the same batches: its train-mode outputs, its running statistics
    after each batch, and its eval-mode output on the last batch."""
    layer = nn.BatchNorm2d(weight.numel(), eps=eps, momentum=momentum, dtype=batches[0].dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
        outputs, running = [], []
        for batch in batches:
            outputs.append(layer(batch))
            running.append(RunningStats(layer.running_mean.clone(), layer.running_var.clone()))
        layer.eval()
        return outputs, running, layer(batches[-1])


def _gap(ours: list[Tensor], theirs: list[Tensor]) -> float:
    return max(float((a - b).abs().max()) for a, b in zip(ours, theirs, strict=True))


def run_demo(demo: BatchNormDemo) -> DemoRun:
    """Feed the demo's batches through our batch norm and torch's, and keep every number."""
    demo.validate()
    batches, (weight, bias) = demo.inputs(), demo.affine()
    passes, running = [], RunningStats.fresh(demo.channels)
    for batch in batches:
        passes.append(batch_norm_train(batch, weight, bias, running, demo.momentum, demo.eps))
        running = passes[-1].running
    eval_outputs = batch_norm_eval(batches[-1], weight, bias, running, demo.eps)
    torch_outputs, torch_running, torch_eval = torch_reference(
        batches, weight, bias, demo.momentum, demo.eps
    )
    ours_running = [t for p in passes for t in (p.running.mean, p.running.var)]
    fresh = RunningStats.fresh(demo.channels)
    last, n = passes[-1], passes[-1].count
    return DemoRun(
        demo=demo,
        inputs=last.inputs.numpy(),
        mean=last.mean.numpy(),
        var=last.var.numpy(),
        normalised=last.normalised.numpy(),
        outputs=last.outputs.numpy(),
        eval_outputs=eval_outputs.numpy(),
        batch_means=torch.stack([p.mean for p in passes]).numpy(),
        batch_vars=torch.stack([p.var * n / (n - 1) for p in passes]).numpy(),
        running_means=torch.stack([fresh.mean, *(p.running.mean for p in passes)]).numpy(),
        running_vars=torch.stack([fresh.var, *(p.running.var for p in passes)]).numpy(),
        gap_train=_gap([p.outputs for p in passes], torch_outputs),
        gap_running=_gap(ours_running, [t for r in torch_running for t in (r.mean, r.var)]),
        gap_eval=_gap([eval_outputs], [torch_eval]),
    )


# ---------------------------------------------------------------------------------------------
# Inside the DCGAN generator, with and without batch norm

PROBE_RANGES = {
    "extra_layers": Range(0, 8),
    "init_std": Range(0.001, 0.2),
    "batch_size": Range(8, 128),
    "seed": Range(0, 2**31 - 1),
}
HISTOGRAM_VALUES = 3000
"""At most this many values of each layer are kept for its histogram."""


@dataclass(frozen=True)
class GeneratorProbe:
    """Which DCGAN generator the lesson looks inside: how many extra 64-channel 13x13 layers,
    the standard deviation of its initial convolution weights, and the noise batch."""

    extra_layers: int = 0
    init_std: float = DCGAN_INIT_STD
    batch_size: int = 16
    seed: int = 0

    def validate(self) -> GeneratorProbe:
        check_fields(self, PROBE_RANGES, {}, BatchNormSettingsError)
        return self


@dataclass(frozen=True)
class LayerReadout:
    """What each layer of one generator does to one batch of noise, at initialisation.

    `names[i]` is layer i's output: each block after its ReLU, the output convolution before the
    tanh, then the image. `grad_norms[i]` is |∂loss/∂W| of layer i's convolution for the
    non-saturating G loss against a freshly initialised course discriminator (the image layer
    has no weights: NaN). `sample_spread` is the standard deviation over the batch of each image
    pixel, averaged: 0 means every noise vector gives the same image.
    """

    names: tuple[str, ...]
    means: np.ndarray
    stds: np.ndarray
    values: tuple[np.ndarray, ...]
    grad_norms: np.ndarray
    sample_spread: float


def layer_gain(init_std: float, channels: int = 64, kernel: int = 3) -> float:
    """How much one extra layer without batch norm multiplies the scale of its ReLU activations,
    in the idealised closed form σ_w·√(fan-in / 2), fan-in = channels·kernel² (ReLU keeps half
    of the second moment; at the image border a kernel sees fewer inputs, so a bit less)."""
    return init_std * math.sqrt(channels * kernel**2 / 2)


def _layer_names(outputs: list[Tensor]) -> tuple[str, ...]:
    """ "layer i: C×H×W" for each block's output, then the output convolution and the image."""
    shapes = ["×".join(str(n) for n in o.shape[1:]) for o in outputs]
    blocks = [f"layer {i + 1}: {shape}" for i, shape in enumerate(shapes[:-2])]
    return (*blocks, f"output conv: {shapes[-2]}", "image (tanh)")


def probe_generator(probe: GeneratorProbe, batch_norm: bool) -> LayerReadout:
    """One forward and backward pass of the probed generator on one seeded noise batch."""
    probe.validate()
    generator = generator_variant(batch_norm, probe.extra_layers, probe.init_std, probe.seed)
    discriminator = Discriminator()
    discriminator.apply(
        partial(weights_init, generator=torch.Generator().manual_seed(probe.seed + 1))
    )
    discriminator.requires_grad_(False)  # only G's gradients are shown
    noise = torch.randn(
        probe.batch_size, generator.z_dim, generator=torch.Generator().manual_seed(probe.seed)
    )
    outputs, h = [], noise.view(probe.batch_size, -1, 1, 1)
    for layer in generator.net:
        h = layer(h)
        outputs.append(h)
    nonsaturating_g_loss(discriminator(h).reshape(-1)).backward()
    outputs = [o.detach() for o in outputs]
    convs = [m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    grads = [float(c.weight.grad.norm()) for c in convs] + [math.nan]
    kept = torch.Generator().manual_seed(probe.seed)
    return LayerReadout(
        names=_layer_names(outputs),
        means=np.array([float(o.mean()) for o in outputs]),
        stds=np.array([float(o.std()) for o in outputs]),
        values=tuple(_some_values(o, kept) for o in outputs),
        grad_norms=np.array(grads),
        sample_spread=float(outputs[-1].std(dim=0).mean()),
    )


def _some_values(activations: Tensor, draw: torch.Generator) -> np.ndarray:
    """At most HISTOGRAM_VALUES of a layer's values, drawn without replacement."""
    flat = activations.reshape(-1)
    if flat.numel() > HISTOGRAM_VALUES:
        flat = flat[torch.randperm(flat.numel(), generator=draw)[:HISTOGRAM_VALUES]]
    return flat.numpy().astype(np.float64)


__all__ = [
    "BatchNormDemo",
    "BatchNormSettingsError",
    "DemoRun",
    "GeneratorProbe",
    "LayerReadout",
    "RunningStats",
    "TrainPass",
    "batch_norm_eval",
    "batch_norm_train",
    "layer_gain",
    "per_channel",
    "probe_generator",
    "run_demo",
    "torch_reference",
]
