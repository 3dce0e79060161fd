"""Pixel ranges: every conversion between the three forms a digit takes in the course, in one place.

- stored: uint8 (N, 28, 28) in 0..255, as MNIST ships and as job samples are kept;
- model: float32 (N, 1, 28, 28) in [-1, 1], what G's tanh emits and what D and the classifier
  read: x = p / 127.5 - 1;
- shown: float (N, 1, 28, 28) in [0, 1], what an image grid draws: (x + 1) / 2, or p / 255.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


class ImageError(ValueError):
    """Images of the wrong type, shape or range; the message says what was expected."""


def uint8_to_model(images: Tensor) -> Tensor:
    """uint8 (N, 28, 28) or (N, 1, 28, 28) -> float32 (N, 1, 28, 28) in [-1, 1]: p / 127.5 - 1."""
    if images.dtype != torch.uint8:
        raise TypeError(f"uint8_to_model expects uint8 images, got {images.dtype}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] != 1:
        raise ImageError(
            f"expected images (N, 28, 28) or (N, 1, 28, 28), got {tuple(images.shape)}"
        )
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def model_to_uint8(images: Tensor) -> np.ndarray:
    """(n, 1, 28, 28) in [-1, 1] -> read-only uint8 (n, 28, 28): round((x + 1) * 127.5)."""
    pixels = ((images.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    array = pixels.reshape(pixels.shape[0], *pixels.shape[-2:]).numpy().copy()
    array.setflags(write=False)
    return array


def to_shown(images: Tensor | np.ndarray) -> Tensor:
    """uint8 (n, 28, 28) or float (n, 1, 28, 28) in [-1, 1] -> float (n, 1, 28, 28) in [0, 1]."""
    # A copy: snapshots hand out read-only arrays, which torch must not wrap in place.
    tensor = torch.from_numpy(images.copy()) if isinstance(images, np.ndarray) else images
    if tensor.dtype == torch.uint8:
        tensor = tensor.float() / 255.0
    else:
        tensor = (tensor.detach().float().cpu() + 1.0) / 2.0
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.dim() != 4 or tensor.shape[1] != 1:
        raise ImageError(
            f"expected images (n, 28, 28) or (n, 1, 28, 28), got {tuple(tensor.shape)}"
        )
    return tensor.clamp(0.0, 1.0)


def checked_model_images(images: object, error: type[ValueError] = ImageError) -> Tensor:
    """uint8 (N, 28, 28) or float (N, 1, 28, 28) in [-1, 1] -> float32 (N, 1, 28, 28) in [-1, 1];
    anything else raises `error` (the caller's kind of problem) saying what was expected."""
    if not isinstance(images, Tensor):
        raise error(f"images must be a tensor, got {type(images).__name__}")
    if images.dtype == torch.uint8:
        try:
            return uint8_to_model(images)
        except ValueError as exc:
            raise error(str(exc)) from exc
    if (
        not images.is_floating_point()
        or images.dim() != 4
        or tuple(images.shape[1:]) != (1, 28, 28)
    ):
        raise error(
            f"images must be uint8 (N, 28, 28) or float (N, 1, 28, 28), got "
            f"{images.dtype} {tuple(images.shape)}"
        )
    if not torch.isfinite(images).all() or images.abs().max() > 1.0 + 1e-6:
        raise error("float images must be finite and lie in [-1, 1]")
    return images.to(torch.float32)


__all__ = ["ImageError", "checked_model_images", "model_to_uint8", "to_shown", "uint8_to_model"]
