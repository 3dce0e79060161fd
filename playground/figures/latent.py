"""Pictures of the latent-space page: numbered sample grids with the chosen samples outlined, the
equation of pictures G(mean z_A) - G(mean z_B) + G(z) = G(z + s d), and a cGAN's styles drawn
as every digit.

Each picture is one image (figures.mnist.sample_grid, sent as one PNG) inside a plotly figure
that writes numbers, headings and operators over it, so a student can name a sample by its number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.utils import image_array_to_data_uri
from torch import Tensor

from playground.figures.mnist import GRID_PADDING, sample_grid
from playground.figures.style import DISC, GEN, REAL
from playground.latent import Arithmetic
from playground.models import NUM_CLASSES

SIDE = 28
"""A digit's side in pixels."""
ARITHMETIC_PER_ROW = 8
CONDITIONAL_PER_ROW = NUM_CLASSES
"""A cGAN's samples one row per ten, so each column is one digit."""
MARK_COLOURS = (GEN, REAL, DISC)
"""The outline colour of the first, second and third group of marked samples."""
NUMBER_COLOUR = "#ffd54f"
EQUATION_GAP = 20
"""Pixels between the pictures of the equation, room for its operators."""
OPERATORS = ("−", "+", "=")
ASSUMED_WIDTH = 640
"""The width a figure's height is computed for (a narrower screen shrinks the picture)."""
EQUATION_WIDTH = 480
"""The equation is drawn smaller: five rows of it at full width would fill a screen."""


def cell_origin(index: int, per_row: int, padding: int = GRID_PADDING) -> tuple[float, float]:
    """(x, y) of the top-left pixel edge of picture `index` in a sample_grid with `padding`."""
    row, col = divmod(index, per_row)
    step = SIDE + padding
    return padding + col * step - 0.5, padding + row * step - 0.5


def _image_figure(
    grid: np.ndarray, top: int = 10, left: int = 10, width: int = ASSUMED_WIDTH
) -> go.Figure:
    """A grayscale uint8 image as a figure with hidden axes, square pixels and no zoom, as
    tall as the image is when it is `width` pixels wide."""
    height, columns = grid.shape
    fig = go.Figure(go.Image(source=image_array_to_data_uri(grid), hoverinfo="skip"))
    fig.update_xaxes(visible=False, range=[-0.5, columns - 0.5])
    fig.update_yaxes(visible=False, range=[height - 0.5, -0.5], scaleanchor="x")
    scale = (width - left - 10) / grid.shape[1]
    fig.update_layout(
        height=round(height * scale) + top + 10,
        margin=dict(l=left, r=10, t=top, b=10),
        dragmode=False,
        template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
    )
    return fig


def numbered_grid(
    images: Tensor, per_row: int, marks: Mapping[str, Sequence[int]] | None = None
) -> go.Figure:
    """The digits tiled `per_row` to a row, each numbered in its top-left corner; the samples of
    each entry of `marks` (its name -> sample numbers) outlined in its own colour."""
    marks = dict(marks or {})
    if len(marks) > len(MARK_COLOURS):
        raise ValueError(f"at most {len(MARK_COLOURS)} groups can be marked, got {len(marks)}")
    fig = _image_figure(sample_grid(images, per_row), top=40 if marks else 10)
    fig.update_layout(showlegend=bool(marks))
    for index in range(len(images)):
        x, y = cell_origin(index, per_row)
        fig.add_annotation(
            x=x + 1,
            y=y + 1,
            text=str(index),
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(size=10, color=NUMBER_COLOUR),
        )
    for inset, ((name, chosen), colour) in enumerate(
        zip(marks.items(), MARK_COLOURS[: len(marks)], strict=True)
    ):
        _outline(fig, chosen, per_row, colour, inset * 1.5)
        fig.add_scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=name,
            marker=dict(symbol="square-open", size=12, color=colour, line_width=3),
        )
    return fig


def _outline(
    fig: go.Figure, chosen: Sequence[int], per_row: int, colour: str, inset: float
) -> None:
    """A rectangle of `colour` around each chosen picture, `inset` pixels inside its edge."""
    for index in chosen:
        x, y = cell_origin(index, per_row)
        fig.add_shape(
            type="rect",
            x0=x + inset,
            y0=y + inset,
            x1=x + SIDE - inset,
            y1=y + SIDE - inset,
            line=dict(color=colour, width=3),
        )


def equation_figure(result: Arithmetic, strength: float) -> go.Figure:
    """One row per target digit z: G(mean z_A) - G(mean z_B) + G(z) = G(z + s d), with
    d = mean z_A - mean z_B, as pictures with the operators between them."""
    rows = [
        torch.cat([result.picture_a, result.picture_b, target[None], moved[None]])
        for target, moved in zip(result.targets, result.results, strict=True)
    ]
    columns = len(OPERATORS) + 1
    grid = sample_grid(torch.cat(rows), columns, EQUATION_GAP)
    fig = _image_figure(grid, width=EQUATION_WIDTH)
    headings = (
        "mean of A<br>G(z̄<sub>A</sub>)",
        "mean of B<br>G(z̄<sub>B</sub>)",
        "digit<br>G(z)",
        f"result<br>G(z + {strength:g}·(z̄<sub>A</sub> − z̄<sub>B</sub>))",
    )
    for col, heading in enumerate(headings):
        x, y = cell_origin(col, columns, EQUATION_GAP)
        fig.add_annotation(
            x=x + SIDE / 2,
            y=y - 2,
            text=heading,
            showarrow=False,
            yanchor="bottom",
            font=dict(size=11, color="white"),  # in the black band above the first row
        )
    for row in range(len(rows)):
        for col, operator in enumerate(OPERATORS):
            x, y = cell_origin(row * columns + col, columns, EQUATION_GAP)
            fig.add_annotation(
                x=x + SIDE + EQUATION_GAP / 2,
                y=y + SIDE / 2,
                text=operator,
                showarrow=False,
                font=dict(size=22, color="white"),
            )
    return fig


def style_rows(images: Tensor, chosen: Sequence[int]) -> go.Figure:
    """A cGAN's chosen samples as every digit: row r is sample chosen[r]'s z under labels 0-9,
    numbered by sample on the left and by digit on top."""
    fig = _image_figure(sample_grid(images, NUM_CLASSES), top=30, left=40)
    for digit in range(NUM_CLASSES):
        x, y = cell_origin(digit, NUM_CLASSES)
        fig.add_annotation(
            x=x + SIDE / 2,
            y=y - 1,
            text=f"y = {digit}",
            showarrow=False,
            yanchor="bottom",
            font=dict(size=11),
        )
    for row, index in enumerate(chosen):
        x, y = cell_origin(row * NUM_CLASSES, NUM_CLASSES)
        fig.add_annotation(
            x=x - 1,
            y=y + SIDE / 2,
            text=f"#{index}",
            showarrow=False,
            xanchor="right",
            font=dict(size=11),
        )
    return fig
