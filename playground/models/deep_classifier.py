"""A deeper MNIST classifier whose features see blur: the second feature network of the metrics.

The metric classifier (`classifier.py`) reads a digit in two strided convolutions, 28 -> 14 -> 7:
its features say *which* digit an image is and barely notice whether the strokes are crisp, so a
blurry VAE digit and a sharp GAN digit of the same kind land close together. This network keeps
full resolution for its first layer and looks through five 3x3 convolutions with batch norm
before its 128-d penultimate layer: small receptive fields at 28x28 respond to edge steepness, and
that reaches the features FID and KID compare.
"""

from __future__ import annotations

from torch import Tensor, nn

from playground.models.classifier import FEATURE_DIM


def _conv(channels_in: int, channels_out: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    ]


class DeepDigitClassifier(nn.Module):
    """Images (B, 1, 28, 28) in [-1, 1] -> class logits (B, 10); `features` gives the 128-d layer.

    28x28 (32) -> 14x14 (32, 64) -> 7x7 (64, 96) -> linear 128: about 8 M multiply-adds a digit.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            *_conv(1, 32, 1),  # 28x28
            *_conv(32, 32, 2),  # 28 -> 14
            *_conv(32, 64, 1),  # 14x14
            *_conv(64, 64, 2),  # 14 -> 7
            *_conv(64, 96, 1),  # 7x7
            nn.Flatten(),
            nn.Linear(96 * 7 * 7, FEATURE_DIM),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURE_DIM, 10))

    def features(self, images: Tensor) -> Tensor:
        """(B, 1, 28, 28) -> (B, 128): the layer whose statistics deep FID and KID compare."""
        return self.trunk(images)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.trunk(images))
