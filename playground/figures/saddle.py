"""Figures of the saddle-point lesson: the x·y game's landscape with the players' paths, and how
far each path is from the equilibrium step by step. Pure builders: arrays in, go.Figure out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, base_layout

METHOD_COLOURS = {"simultaneous": FAKE, "alternating": DISC, "extragradient": GEN}


def landscape_figure(paths: Mapping[str, np.ndarray], extent: float = 3.0) -> go.Figure:
    """f(x, y) = x·y as filled contours, the equilibrium (0, 0), and each method's path."""
    grid = np.linspace(-extent, extent, 81)
    fig = go.Figure(
        go.Contour(
            x=grid, y=grid, z=np.outer(grid, grid), colorscale="RdBu", reversescale=True,
            contours={"coloring": "heatmap"}, opacity=0.55, showscale=False,
            name="f(x, y) = x·y", hovertemplate="x %{x:.2f}, y %{y:.2f}: f %{z:.2f}<extra></extra>",
        )
    )  # fmt: skip
    for method, points in paths.items():
        shown = np.clip(points, -extent, extent)  # a path that leaves the picture stops at its edge
        fig.add_scatter(
            x=shown[:, 0], y=shown[:, 1], mode="lines+markers", name=method,
            line={"color": METHOD_COLOURS.get(method, OPTIMAL), "width": 2},
            marker={"size": 3},
        )  # fmt: skip
    first = next(iter(paths.values()), np.zeros((1, 2)))
    fig.add_scatter(
        x=[first[0, 0]], y=[first[0, 1]], mode="markers", name="start",
        marker={"color": "black", "size": 10, "symbol": "circle-open"},
    )  # fmt: skip
    fig.add_scatter(
        x=[0.0], y=[0.0], mode="markers", name="equilibrium (0, 0)",
        marker={"color": "black", "size": 12, "symbol": "x"},
    )  # fmt: skip
    base_layout(
        fig,
        "min over x, max over y of x·y",
        "x (the minimiser, like G)",
        "y (the maximiser, like D)",
        height=460,
    )
    fig.update_xaxes(range=[-extent, extent])
    fig.update_yaxes(range=[-extent, extent], scaleanchor="x")
    return fig


def distance_figure(distances: Mapping[str, np.ndarray]) -> go.Figure:
    """Distance to the equilibrium per step, on a log axis (a spiral is a straight line)."""
    fig = go.Figure()
    for method, d in distances.items():
        fig.add_scatter(
            x=np.arange(d.size), y=np.maximum(d, 1e-12), mode="lines", name=method,
            line={"color": METHOD_COLOURS.get(method, OPTIMAL), "width": 2},
        )  # fmt: skip
    base_layout(fig, "How far from the equilibrium", "step", "distance to (0, 0)", height=360)
    fig.update_yaxes(type="log")
    return fig


__all__ = ["METHOD_COLOURS", "distance_figure", "landscape_figure"]
