"""Pictures of the VAE vs GAN page: the same metrics side by side, how the digits spread over the
ten classes, and how bright the strokes are (where a VAE's averaging shows up as grey).

Sample grids and interpolation rows come from figures.mnist (`sample_grid`, `image_row`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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
