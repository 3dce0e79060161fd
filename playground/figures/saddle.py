"""Figures of the saddle-point lesson: the x·y game's landscape with each method's path, the game
stepped by hand one player at a time, and how far each path is from the equilibrium step by step.
Pure builders: arrays in, go.Figure out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout

PENALTY = "#9467bd"
METHOD_COLOURS = {
    "simultaneous": FAKE,
    "alternating": DISC,
    "two time-scales": REAL,
    "gradient penalty": PENALTY,
    "extragradient": GEN,
}
PLAYER_COLOURS = {"G": GEN, "D": DISC}
MOVER_NAMES = {"G": "G step (x moves)", "D": "D step (y moves)"}


def _value_surface(extent: float) -> go.Figure:
    """A figure holding f(x, y) = x·y as filled contours over [−extent, extent]²."""
    grid = np.linspace(-extent, extent, 81)
    return go.Figure(
        go.Contour(
            x=grid, y=grid, z=np.outer(grid, grid), colorscale="RdBu", reversescale=True,
            contours={"coloring": "heatmap"}, opacity=0.55, showscale=False,
            name="f(x, y) = x·y", hovertemplate="x %{x:.2f}, y %{y:.2f}: f %{z:.2f}<extra></extra>",
        )
    )  # fmt: skip


def _finish_game_axes(fig: go.Figure, title: str, extent: float) -> go.Figure:
    """The equilibrium's cross, the players' axis titles and a square view of the game."""
    fig.add_scatter(
        x=[0.0], y=[0.0], mode="markers", name="equilibrium (0, 0)",
        marker={"color": "black", "size": 12, "symbol": "x"},
    )  # fmt: skip
    base_layout(fig, title, "x (the minimiser, like G)", "y (the maximiser, like D)", height=480)
    fig.update_layout(margin={"t": 100})  # room for a legend of two rows under the title
    fig.update_xaxes(range=[-extent, extent])
    fig.update_yaxes(range=[-extent, extent], scaleanchor="x")
    return fig


def landscape_figure(paths: Mapping[str, np.ndarray], extent: float = 3.0) -> go.Figure:
    """f(x, y) = x·y as filled contours, the equilibrium (0, 0), and each method's path."""
    fig = _value_surface(extent)
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
    return _finish_game_axes(fig, "min over x, max over y of x·y", extent)


def turns_figure(points: np.ndarray, movers: str, extent: float = 3.0) -> go.Figure:
    """The game stepped by hand: the path on f(x, y) = x·y, each point coloured by the player
    who moved to it, the start ringed and the current point large. The view grows to keep the
    whole path in sight."""
    extent = max(extent, 1.1 * float(np.abs(points).max()))
    fig = _value_surface(extent)
    fig.add_scatter(
        x=points[:, 0], y=points[:, 1], mode="lines", name="path",
        line={"color": OPTIMAL, "width": 1.5}, hoverinfo="skip",
    )  # fmt: skip
    moved = np.array(list(movers))
    for player, colour in PLAYER_COLOURS.items():
        chosen = points[1:][moved == player] if movers else np.empty((0, 2))
        fig.add_scatter(
            x=chosen[:, 0], y=chosen[:, 1], mode="markers", name=MOVER_NAMES[player],
            marker={"color": colour, "size": 7},
        )  # fmt: skip
    fig.add_scatter(
        x=[points[0, 0]], y=[points[0, 1]], mode="markers", name="start",
        marker={"color": "black", "size": 10, "symbol": "circle-open"},
    )  # fmt: skip
    fig.add_scatter(
        x=[points[-1, 0]], y=[points[-1, 1]], mode="markers", name="now",
        marker={"color": PLAYER_COLOURS.get(movers[-1:], "black"), "size": 15,
                "line": {"color": "black", "width": 2}},
    )  # fmt: skip
    return _finish_game_axes(fig, "Your moves on f(x, y) = x·y", extent)


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


__all__ = [
    "METHOD_COLOURS",
    "PLAYER_COLOURS",
    "distance_figure",
    "landscape_figure",
    "turns_figure",
]
