"""Pictures of the latent-space page: numbered sample grids with the chosen samples outlined, the
equation of pictures G(mean z_A) - G(mean z_B) + G(z) = G(z + s d), a cGAN's styles drawn as
every digit, and an autoencoder's and a VAE's paths between two digits with their measures.

Each picture is one image (figures.mnist.sample_grid, sent as one PNG) inside a plotly figure
that writes numbers, headings and operators over it, so a student can name a sample by its number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from plotly.utils import image_array_to_data_uri
from torch import Tensor

from playground.autoencoding import DecodedPoints, PathStatistics
from playground.figures.compare import VAE_COLOUR
from playground.figures.mnist import GRID_PADDING, sample_grid
from playground.figures.style import DISC, GEN, OPTIMAL, REAL, base_layout
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


def labelled_rows(
    images: Tensor,
    column_titles: Sequence[str],
    row_titles: Sequence[str],
    marked_columns: Sequence[int] = (),
    left: int = 40,
) -> go.Figure:
    """Images in rows of len(column_titles), each column titled on top and each row on the
    left; the pictures of `marked_columns` outlined in every row."""
    per_row = len(column_titles)
    fig = _image_figure(sample_grid(images, per_row), top=30, left=left)
    for col, title in enumerate(column_titles):
        x, y = cell_origin(col, per_row)
        fig.add_annotation(
            x=x + SIDE / 2,
            y=y - 1,
            text=title,
            showarrow=False,
            yanchor="bottom",
            font=dict(size=11),
        )
    for row, title in enumerate(row_titles):
        x, y = cell_origin(row * per_row, per_row)
        fig.add_annotation(
            x=x - 1,
            y=y + SIDE / 2,
            text=title,
            showarrow=False,
            xanchor="right",
            font=dict(size=11),
        )
        _outline(fig, [row * per_row + col for col in marked_columns], per_row, DISC, 0.0)
    return fig


def style_rows(images: Tensor, chosen: Sequence[int]) -> go.Figure:
    """A cGAN's chosen samples as every digit: row r is sample chosen[r]'s z under labels 0-9,
    numbered by sample on the left and by digit on top."""
    digits = [f"y = {digit}" for digit in range(NUM_CLASSES)]
    return labelled_rows(images, digits, [f"#{index}" for index in chosen])


# ---------------------------------------------------------------------------------------------
# Autoencoder vs VAE


MODEL_COLOURS = {"autoencoder": "#8c564b", "VAE": VAE_COLOUR}
"""One colour per model in the charts of the autoencoder-vs-VAE section."""
ROW_TITLE_SPACE = 110
"""Pixels left of the pictures for a model's name."""


def prior_rows(rows: Mapping[str, Tensor], per_row: int = 8) -> go.Figure:
    """Each model's decoded prior samples in rows of `per_row`, the model named on its first row."""
    titles = []
    for label, images in rows.items():
        titles += [label] + [""] * (-(-len(images) // per_row) - 1)
    images = torch.cat(list(rows.values()))
    return labelled_rows(images, [""] * per_row, titles, left=ROW_TITLE_SPACE)


def path_rows(rows: Mapping[str, Tensor], t: Sequence[float]) -> go.Figure:
    """Each model's decoded path (one row per model, one picture per t), the two encoded digits
    (t = 0 and t = 1) outlined."""
    ends = [i for i, value in enumerate(t) if abs(value) < 1e-6 or abs(value - 1) < 1e-6]
    titles = [f"{value:g}" if i % 2 == 0 else "" for i, value in enumerate(_rounded(t))]
    titles[0] = f"t = {titles[0]}"
    images = torch.cat(list(rows.values()))
    return labelled_rows(images, titles, list(rows), marked_columns=ends, left=ROW_TITLE_SPACE)


def _rounded(values: Sequence[float]) -> list[float]:
    return [round(float(v), 2) + 0.0 for v in values]  # + 0.0: never "-0"


def _outside_bands(fig: go.Figure, t: Sequence[float], columns: int) -> None:
    """Grey bands over t < 0 and t > 1, beyond the two encoded digits, on every subplot."""
    low, high = float(min(t)), float(max(t))
    for col in range(1, columns + 1):
        for x0, x1 in ((low, 0.0), (1.0, high)):
            if x1 > x0:
                fig.add_vrect(
                    x0=x0, x1=x1, fillcolor=OPTIMAL, opacity=0.12, line_width=0, row=1, col=col
                )


def path_measures(
    t: Sequence[float],
    paths: Mapping[str, DecodedPoints],
    statistics: Mapping[str, PathStatistics],
) -> go.Figure:
    """Left: the realism score of each model's decoded points along this path (1 = the edge of
    the real digits' manifold). Right: over many paths, the share of points on it. Grey: beyond
    the encoded digits."""
    this_path = {
        name: p.reading.realism.tolist() for name, p in paths.items() if p.reading is not None
    }
    many_paths = {name: s.on_manifold.tolist() for name, s in statistics.items()}
    pairs = max((s.pairs for s in statistics.values()), default=0)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("this path:<br>realism score", f"{pairs} paths:<br>share on the manifold"),
    )
    for col, series in ((1, this_path), (2, many_paths)):
        for name, values in series.items():
            fig.add_scatter(
                x=_rounded(t),
                y=list(values),
                name=name,
                mode="lines+markers",
                line_color=MODEL_COLOURS.get(name, OPTIMAL),
                showlegend=col == 1,
                row=1,
                col=col,
            )
    fig.add_hline(y=1.0, line_dash="dot", line_color=OPTIMAL, row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", row=1, col=2)
    _outside_bands(fig, t, 2)
    base_layout(fig, "", "t (0, 1: the two digits)", "", height=360)
    # Below the plots: on top, the legend would sit on the two subplot titles.
    fig.update_layout(
        legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0),
        margin=dict(l=40, r=20, t=60, b=40),
    )
    return fig
