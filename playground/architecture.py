"""The DCGAN opened up: every layer of a generator or discriminator with the shape of the tensor
it outputs, its parameter count, and the DCGAN rule (Radford et al., 2015) it follows.

The layers are read from the real networks the MNIST jobs train (`playground.train.build_models`)
by running one batch through them with forward hooks, so the picture cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from playground.train import TrainSettings, build_models

RULES = {
    ("G", "ConvTranspose2d"): "fractionally-strided convolutions upsample: no pooling, no fully "
    "connected hidden layers",
    ("D", "Conv2d"): "strided convolutions downsample instead of pooling",
    ("G", "BatchNorm2d"): "batch normalization after each layer but the output",
    ("D", "BatchNorm2d"): "batch normalization after each layer but the input",
    ("G", "ReLU"): "ReLU inside the generator",
    ("G", "Tanh"): "tanh at the generator's output: pixels in [-1, 1], like the data",
    ("D", "LeakyReLU"): "LeakyReLU (slope 0.2) in the discriminator: gradients also for x < 0",
}
"""The DCGAN rule each kind of layer follows, per network ("G" or "D")."""
FIRST_D_NORM = (
    "the paper leaves D's input layer without batch norm; this course's D normalises it too"
)


@dataclass(frozen=True)
class Layer:
    """One layer as a student reads it."""

    name: str  # what it computes, e.g. "ConvTranspose2d 256→128, kernel 4, stride 1"
    kind: str  # the torch module's class name
    shape: tuple[int, ...]  # the tensor it outputs, without the batch dimension
    parameters: int
    rule: str | None


def network_layers(settings: TrainSettings) -> dict[str, list[Layer]]:
    """G's and D's layers, in order, for the networks `settings` trains (z comes first in G)."""
    generator, discriminator = build_models(settings)
    batch = 2
    noise = torch.zeros(batch, settings.z_dim)
    labels = torch.zeros(batch, dtype=torch.long)
    conditional = settings.model == "cgan"
    g_inputs = (noise, labels) if conditional else (noise,)
    images = torch.zeros(batch, 1, 28, 28)
    d_inputs = (images, labels) if conditional else (images,)
    g_in = Layer("noise z", "input", (settings.z_dim,), 0, None)
    d_in = Layer("image x", "input", (1, 28, 28), 0, None)
    if conditional:
        g_in = Layer("noise z + one-hot label y", "input", (settings.z_dim + 10,), 0,
                     "the label joins the noise: G(z, y)")  # fmt: skip
        d_in = Layer("image x + 10 label planes", "input", (11, 28, 28), 0,
                     "the label joins the image as constant channels: D(x, y)")  # fmt: skip
    d_layers = [d_in, *_traced("D", discriminator, d_inputs)]
    first_norm = next((i for i, layer in enumerate(d_layers) if layer.kind == "BatchNorm2d"), None)
    if first_norm is not None:  # the paper leaves D's input layer unnormalised; this D does not
        d_layers[first_norm] = replace(d_layers[first_norm], rule=FIRST_D_NORM)
    return {"G": [g_in, *_traced("G", generator, g_inputs)], "D": d_layers}


def _traced(network: str, model: nn.Module, inputs: tuple[Tensor, ...]) -> list[Layer]:
    """Run `inputs` through `model` in eval mode, recording each leaf module's output."""
    layers: list[Layer] = []

    def record(module: nn.Module, _inputs: tuple, output: Tensor) -> None:
        kind = type(module).__name__
        parameters = sum(p.numel() for p in module.parameters(recurse=False))
        layers.append(
            Layer(_describe(module), kind, tuple(output.shape[1:]), parameters,
                  RULES.get((network, kind)))
        )  # fmt: skip

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*inputs)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return layers


def _describe(module: nn.Module) -> str:
    kind = type(module).__name__
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        (k, _), (s, _) = module.kernel_size, module.stride
        return f"{kind} {module.in_channels}→{module.out_channels}, kernel {k}, stride {s}"
    if isinstance(module, nn.BatchNorm2d):
        return f"{kind} ({module.num_features} channels)"
    if isinstance(module, nn.LeakyReLU):
        return f"{kind} (slope {module.negative_slope:g})"
    return kind


def shape_text(shape: tuple[int, ...]) -> str:
    """(256, 3, 3) -> "256×3×3"."""
    return "×".join(str(n) for n in shape)


__all__ = ["RULES", "Layer", "network_layers", "shape_text"]
