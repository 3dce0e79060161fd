"""Pictures of the MNIST pages: loss curves, sample grids, a latent interpolation row, reconstructions.

Sample grids are images (uint8 numpy arrays built with torchvision's make_grid), not plotly
figures: the page sends one PNG per refresh, which is far lighter than a heatmap per digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas  # noqa: F401  (see below)
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import Tensor
from torchvision.utils import make_grid

from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout
from playground.gan import HistoryPoint
from playground.pixels import to_shown
from playground.shipped import Samples

GRID_PADDING = 2

# plotly imports pandas lazily while it validates a figure. A job panel redraws from a fragment
# while another script thread may be importing pandas for the first time; plotly then finds a
# half-initialised module ("partially initialized module 'pandas'"). Imported above, up front.


def loss_curves(history: Sequence[HistoryPoint], title: str = "Training curves") -> go.Figure:
    """D and G losses (left) and D's mean outputs D(x), D(G(z)) (right) against the step."""
    steps = [p.step for p in history]
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("losses", "D's verdicts<br>mean probability real")
    )
    fig.add_scatter(
        x=steps, y=[p.d_loss for p in history], name="D loss", line_color=DISC, row=1, col=1
    )
    fig.add_scatter(
        x=steps, y=[p.g_loss for p in history], name="G loss", line_color=GEN, row=1, col=1
    )
    fig.add_scatter(
        x=steps, y=[p.d_real for p in history], name="D(x), real", line_color=REAL, row=1, col=2
    )
    fig.add_scatter(
        x=steps, y=[p.d_fake for p in history], name="D(G(z)), fake", line_color=FAKE, row=1, col=2
    )
    fig.add_hline(y=0.5, line_dash="dot", line_color=OPTIMAL, row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    base_layout(fig, title, "generator step", "", height=360)
    fig.update_xaxes(title_text="generator step")
    # Below the plots: on top, the legend would sit on the two subplot titles.
    fig.update_layout(
        legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0),
        margin=dict(l=50, r=20, t=70, b=40),
    )
    return fig


def sample_grid(
    images: Tensor | np.ndarray, per_row: int = 10, padding: int = GRID_PADDING
) -> np.ndarray:
    """Digits tiled `per_row` to a row with a `padding` px dark border: one grayscale uint8 image."""
    grid = make_grid(to_shown(images), nrow=per_row, padding=padding, pad_value=0.0)
    return (grid[0] * 255).round().to(torch.uint8).numpy()


def image_row(images: Tensor | np.ndarray) -> np.ndarray:
    """All images side by side in one row (used for latent interpolations)."""
    return sample_grid(images, per_row=len(images))


def reconstruction_grid(real_and_rebuilt: Tensor) -> np.ndarray:
    """Two rows: the first half of the images (real digits) above the second (what a model
    rebuilt of each)."""
    return sample_grid(real_and_rebuilt, per_row=len(real_and_rebuilt) // 2)


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare
class SamplePictures:
    """What a page shows of a model's samples: the grid (8 to a row), the latent interpolation
    row, and the samples' pixels in [0, 1] (n, 1, 28, 28) for the stroke histogram."""

    grid: np.ndarray
    interpolation: np.ndarray
    pixels: np.ndarray


def sample_pictures(samples: Samples) -> SamplePictures:
    """The pictures of one `shipped.sample_digits` draw."""
    return SamplePictures(
        grid=sample_grid(samples.images, 8),
        interpolation=image_row(samples.interpolation),
        pixels=to_shown(samples.images).numpy(),
    )
