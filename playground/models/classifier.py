"""The small MNIST classifier behind the metrics (its 128-d features stand in for Inception's)."""

from __future__ import annotations

from torch import Tensor, nn

FEATURE_DIM = 128


class DigitClassifier(nn.Module):
    """Images (B, 1, 28, 28) in [-1, 1] -> class logits (B, 10); `features` gives the 128-d layer."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 14 -> 7
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(64 * 7 * 7, FEATURE_DIM),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURE_DIM, 10))

    def features(self, images: Tensor) -> Tensor:
        return self.trunk(images)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.trunk(images))
