"""Pictures of the MNIST GAN page: loss curves, sample grids, a latent interpolation row.

Sample grids are images (uint8 numpy arrays built with torchvision's make_grid), not plotly
figures: the page sends one PNG per refresh, which is far lighter than a heatmap per digit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas  # noqa: F401  (see below)
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import Tensor
from torchvision.utils import make_grid

from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout
from playground.jobs import HistoryPoint

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


def to_unit_images(images: Tensor | np.ndarray) -> Tensor:
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
        raise ValueError(
            f"expected images (n, 28, 28) or (n, 1, 28, 28), got {tuple(tensor.shape)}"
        )
    return tensor.clamp(0.0, 1.0)


def sample_grid(images: Tensor | np.ndarray, per_row: int = 10) -> np.ndarray:
    """Digits tiled `per_row` to a row with a 2 px dark border: one grayscale uint8 image."""
    grid = make_grid(to_unit_images(images), nrow=per_row, padding=GRID_PADDING, pad_value=0.0)
    return (grid[0] * 255).round().to(torch.uint8).numpy()


def image_row(images: Tensor | np.ndarray) -> np.ndarray:
    """All images side by side in one row (used for latent interpolations)."""
    return sample_grid(images, per_row=len(images))


def interpolation_noise(start: Tensor, end: Tensor, steps: int) -> Tensor:
    """Noise vectors on the straight line z_t = (1 - t) z_start + t z_end, t = 0 .. 1 (steps)."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    if start.shape != end.shape or start.dim() != 1:
        raise ValueError(
            f"start and end must be two noise vectors of one shape, got {start.shape}, {end.shape}"
        )
    t = torch.linspace(0.0, 1.0, steps, dtype=start.dtype).unsqueeze(1)
    return (1 - t) * start + t * end
