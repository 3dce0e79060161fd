"""Pictures of the VAE vs GAN page: the same metrics side by side, how the digits spread over the
ten classes, how bright the strokes are (where a VAE's averaging shows up as grey), the measures
that see blur beside the classifier's, and the 2-D VAE's decoded grid and latent plane.

Sample grids and interpolation rows come from figures.mnist (`sample_grid`, `image_row`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from plotly.utils import image_array_to_data_uri

from playground.compare import MEASURES, DecodedGrid, Finding, PlaneCodes
from playground.compare import REAL as REAL_KEY
from playground.figures.mnist import sample_grid
from playground.figures.style import GEN, OPTIMAL, REAL, base_layout

REAL_ROW = "real test digits"
VAE_COLOUR = "#9467bd"
MODEL_COLOURS = {"VAE": VAE_COLOUR, "DCGAN": GEN, REAL_ROW: REAL}
"""One colour per row of the comparison, used by every picture on the page."""

COMPARED_METRICS = (
    ("fid", "FID<br>lower is better"),
    ("inception_score", "Inception Score<br>higher is better"),
    ("precision", "precision<br>samples look real"),
    ("recall", "recall<br>real digits it makes"),
)
"""Each metric and its chart title (two short lines: side by side on a phone they never overlap)."""
METRIC_COLUMNS = 2
STROKE_THRESHOLD = 0.1
"""Pixels brighter than this (on 0 = black .. 1 = white) count as part of a stroke."""
STROKE_BINS = 18
TABLE_COLUMNS = {
    "fid": ("FID ↓", "{:.1f}"),
    "inception_score": ("IS ↑", "{:.2f}"),
    "classes_covered": ("digits covered", "{:.0f}/10"),
    "largest_class_fraction": ("largest digit share", "{:.0%}"),
    "precision": ("precision ↑", "{:.2f}"),
    "recall": ("recall ↑", "{:.2f}"),
    "n": ("samples", "{:,}"),
    "epoch": ("kept epoch", "{}"),
}
"""Metric key -> (column title, how its values are written)."""


def _colour(name: str) -> str:
    return MODEL_COLOURS.get(name, OPTIMAL)


def metrics_bars(rows: Mapping[str, Mapping[str, float | None]]) -> go.Figure:
    """One small bar chart per metric (FID, IS, precision, recall), one bar per row name."""
    grid_rows = -(-len(COMPARED_METRICS) // METRIC_COLUMNS)
    fig = make_subplots(
        rows=grid_rows,
        cols=METRIC_COLUMNS,
        subplot_titles=[t for _, t in COMPARED_METRICS],
        vertical_spacing=0.28,
    )
    names = list(rows)
    for index, (key, _) in enumerate(COMPARED_METRICS):
        row, col = divmod(index, METRIC_COLUMNS)
        values = [rows[name].get(key) for name in names]
        fig.add_bar(
            x=names,
            y=[np.nan if v is None else v for v in values],
            marker_color=[_colour(name) for name in names],
            text=["" if v is None else f"{v:.2f}" for v in values],
            textposition="outside",
            showlegend=False,
            row=row + 1,
            col=col + 1,
        )
        top = max((v for v in values if v is not None), default=1.0)
        upper = 1.15 if key in ("precision", "recall") else 1.2 * top  # room for the labels
        fig.update_yaxes(range=[0, upper], row=row + 1, col=col + 1)
    base_layout(fig, "", "", "", height=300 * grid_rows)
    fig.update_annotations(font_size=12)
    fig.update_layout(margin=dict(l=40, r=20, t=60, b=40))
    return fig


def digit_shares(rows: Mapping[str, Sequence[float]]) -> go.Figure:
    """The share of samples the classifier reads as each digit 0-9, grouped bars per row name.

    A model that drops modes shows digits far below the dotted 10% line of balanced data.
    """
    fig = go.Figure()
    for name, shares in rows.items():
        fig.add_bar(x=list(range(10)), y=list(shares), name=name, marker_color=_colour(name))
    fig.add_hline(y=0.1, line_dash="dot", line_color=OPTIMAL)
    base_layout(fig, "Which digits come out?", "digit (as the classifier reads it)", "share")
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickmode="linear", dtick=1)
    fig.update_yaxes(tickformat=".0%")
    return fig


def stroke_histogram(images: Mapping[str, np.ndarray]) -> go.Figure:
    """How bright the stroke pixels are: share of pixels above STROKE_THRESHOLD per brightness bin.

    `images` holds arrays of pixel values in [0, 1] (any shape). Real ink is mostly near 1 (white
    on black); an average of many plausible digits puts grey where they disagree.
    """
    edges = np.linspace(STROKE_THRESHOLD, 1.0, STROKE_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for name, pixels in images.items():
        fig.add_scatter(
            x=centres,
            y=stroke_shares(pixels, edges),
            name=name,
            mode="lines+markers",
            line_color=_colour(name),
            line_shape="hvh",
        )
    base_layout(fig, "How bright are the strokes?", "pixel brightness (0 black, 1 white)", "share")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def stroke_shares(pixels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram of the pixels above edges[0] over `edges`, as shares summing to 1 (0s if none)."""
    values = np.asarray(pixels, dtype=np.float64).ravel()
    counts, _ = np.histogram(values[values > edges[0]], bins=edges)
    total = counts.sum()
    return counts / total if total else counts.astype(np.float64)


def grey_share(pixels: np.ndarray, low: float = 0.25, high: float = 0.75) -> float:
    """Share of stroke pixels (> STROKE_THRESHOLD) that are grey, between `low` and `high`."""
    values = np.asarray(pixels, dtype=np.float64).ravel()
    strokes = values[values > STROKE_THRESHOLD]
    if strokes.size == 0:
        return 0.0
    return float(((strokes > low) & (strokes < high)).mean())


def comparison_rows(
    metrics: Mapping[str, Mapping[str, Any]], real: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """{row name: metrics}: each model's kept-epoch metrics (by its name), then the real test
    digits (REAL_ROW). Models without metrics have no row."""
    rows = {name: dict(values) for name, values in metrics.items() if values}
    if real is not None:
        rows[REAL_ROW] = dict(real)
    return rows


def metrics_table(rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The rows as a table of text with the course's column names ("–" where a row has no value,
    e.g. the real digits have no training epoch)."""
    return pd.DataFrame(
        [
            {
                title: "–" if row.get(key) is None else form.format(row[key])
                for key, (title, form) in TABLE_COLUMNS.items()
            }
            for row in rows.values()
        ],
        index=list(rows),
    )


# ---------------------------------------------------------------------------------------------
# Measures that see blur


SCORE_ROWS = {"vae": "VAE", "dcgan": "DCGAN", REAL_KEY: REAL_ROW}
"""Row key of the recorded scores -> the row's name on the page."""
FAMILY_COLOURS = {"classifier": OPTIMAL, "new": VAE_COLOUR}


def _score_text(key: str, value: float) -> str:
    if key == "sharpness":
        return f"{value:.3f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def scores_table(rows: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """The old and new measures side by side: one row per model (and the real digits), one
    column per measure, with the direction that is better in its title."""
    columns = {m.key: f"{m.name} {'↓' if m.lower_is_better else '↑'}" for m in MEASURES}
    return pd.DataFrame(
        [
            {title: _score_text(key, float(rows[name][key])) for key, title in columns.items()}
            for name in SCORE_ROWS
            if name in rows
        ],
        index=[SCORE_ROWS[name] for name in SCORE_ROWS if name in rows],
    )


def verdict_bars(found: Sequence[Finding], level: float) -> go.Figure:
    """How many times worse each measure scores the VAE than the DCGAN (VAE / DCGAN for a
    distance, DCGAN / VAE for sharpness): above the band, the measure sees what students see."""
    names = [f.measure.name for f in found]
    fig = go.Figure(
        go.Bar(
            x=[f.ratio for f in found],
            y=names,
            orientation="h",
            marker_color=[FAMILY_COLOURS[f.measure.family] for f in found],
            text=[f"{f.ratio:.2f}×" for f in found],
            textposition="outside",
            showlegend=False,
        )
    )
    fig.add_vrect(x0=1 / level, x1=level, fillcolor=OPTIMAL, opacity=0.15, line_width=0)
    fig.add_vline(x=1, line_dash="dot", line_color=OPTIMAL)
    base_layout(
        fig,
        "How many times worse is the VAE?",
        "VAE vs DCGAN (1 = level; grey band: about level)",
        "",
    )
    fig.update_xaxes(range=[0, 1.25 * max([level, *(f.ratio for f in found)])])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(margin=dict(l=20, r=20, t=60, b=45))
    return fig


# ---------------------------------------------------------------------------------------------
# The 2-D VAE


def grid_tick_positions(side: int) -> list[float]:
    """The pixel x (or y) of each tile's centre in a side x side mosaic without padding."""
    return [28 * k + 13.5 for k in range(side)]


def latent_grid_figure(grid: DecodedGrid) -> go.Figure:
    """The decoded grid as one mosaic, each tile labelled on the axes by its z_1 (columns) and
    z_2 (rows, highest on top) so the picture reads like the latent plane beside it."""
    side = len(grid.axis)
    mosaic = sample_grid(grid.images, per_row=side, padding=0)
    ticks = grid_tick_positions(side)
    labels = [f"{v:.1f}" for v in grid.axis.tolist()]
    fig = go.Figure(go.Image(source=image_array_to_data_uri(mosaic), hoverinfo="skip"))
    base_layout(fig, "decode(z) over a grid of z", "z₁", "z₂", height=520)
    fig.update_xaxes(tickvals=ticks, ticktext=labels, range=[-0.5, mosaic.shape[1] - 0.5])
    fig.update_yaxes(
        tickvals=ticks,
        ticktext=labels[::-1],
        range=[mosaic.shape[0] - 0.5, -0.5],
        scaleanchor="x",
    )
    fig.update_layout(dragmode=False)
    return fig


def latent_scatter(codes: PlaneCodes, grid: DecodedGrid) -> go.Figure:
    """Each test digit's code mu(x) in the plane, coloured by its label, with the grid's points
    (grey crosses) where the decoded grid beside it was drawn."""
    fig = go.Figure()
    xy = codes.codes.numpy()
    labels = codes.labels.numpy()
    for digit in range(10):
        chosen = labels == digit
        fig.add_scattergl(
            x=xy[chosen, 0], y=xy[chosen, 1], mode="markers", name=str(digit), marker_size=4
        )
    fig.add_scattergl(
        x=grid.codes[:, 0].tolist(),
        y=grid.codes[:, 1].tolist(),
        mode="markers",
        name="grid",
        marker=dict(symbol="x-thin", size=5, color=OPTIMAL, line_width=1),
    )
    base_layout(fig, "Test digits' codes μ(x), by label", "z₁", "z₂", height=520)
    fig.update_yaxes(scaleanchor="x")
    return fig
