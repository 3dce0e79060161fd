"""How crisp are the strokes? Sharpness measured on the pixels themselves, no network involved.

The variance of the Laplacian (Pech-Pacheco et al. 2000) is the classic focus measure:

    L(x)[i, j] = x[i-1, j] + x[i+1, j] + x[i, j-1] + x[i, j+1] - 4 x[i, j]

on the 26x26 interior of a 28x28 image with pixels in [0, 1], and sharpness(x) = Var_ij L(x)[i, j].
A step from paper to ink gives a large Laplacian on both sides of the edge; blur spreads the step
over several pixels and shrinks it, so the variance falls (a blurred edge of width w keeps about
1/w^2 of it). A flat image or a linear ramp scores 0; a 0/1 checkerboard scores 16 exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
"""The 4-neighbour discrete Laplacian."""


def laplacian(pixels: Tensor) -> Tensor:
    """The discrete Laplacian (n, H-2, W-2) of images (n, H, W) or (n, 1, H, W), valid interior."""
    images = pixels.reshape(pixels.shape[0], 1, *pixels.shape[-2:]).to(torch.float64)
    kernel = LAPLACIAN.to(images).view(1, 1, 3, 3)
    return F.conv2d(images, kernel).squeeze(1)


def laplacian_variance(pixels: Tensor) -> Tensor:
    """sharpness(x) = Var L(x) of each image (n,): pixels in [0, 1], (n, H, W) or (n, 1, H, W)."""
    return laplacian(pixels).flatten(1).var(dim=1, unbiased=False)


def sharpness(images: Tensor) -> float:
    """The mean Laplacian variance of images (n, 1, 28, 28) in [-1, 1] (the model range), on
    pixels rescaled to [0, 1]: real MNIST digits score highest, blur lowers it."""
    return laplacian_variance((images + 1) / 2).mean().item()
