"""Figures of the 2-D GAN: D's probability as a heatmap behind the real and fake samples, the
generator's manifold and the arrows on the fakes; the history charts (losses, D's outputs,
KL/JS, modes covered); and the canvas a student draws a distribution on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout
from playground.history import thinned_indices
from playground.plane.readout import Picture
from playground.plane.stepper import Curves

HEATMAP_SCALE = [[0.0, "#f4e4f7"], [0.5, "#ffffff"], [1.0, "#dcefdc"]]
"""D's probability: pale purple where D says fake, white at 1/2, pale green where it says real."""
MAX_POINTS = 400
"""History charts send at most this many points per curve."""


def _segments(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of line segments start -> end in one trace, separated by NaN gaps."""
    gap = np.full(len(starts), np.nan)
    x = np.stack([starts[:, 0], ends[:, 0], gap], axis=1).ravel()
    y = np.stack([starts[:, 1], ends[:, 1], gap], axis=1).ravel()
    return x, y


def arrow_ends(picture: Picture) -> np.ndarray:
    """Where the arrows end: each fake plus its push, scaled so the longest is a tenth of the
    picture's width (the direction and relative length are the maths; the scale is drawing)."""
    longest = float(np.nanmax(np.linalg.norm(picture.arrows, axis=1), initial=0.0))
    scale = 0.2 * picture.limit / longest if longest > 0 else 0.0
    return picture.fake + scale * picture.arrows


def _manifold_trace(manifold: np.ndarray) -> go.Scatter:
    """The noise grid's lines after G, one trace with NaN gaps between lines."""
    gaps = np.full((manifold.shape[0], 1, 2), np.nan)
    lines = np.concatenate([manifold, gaps], axis=1).reshape(-1, 2)
    return go.Scatter(x=lines[:, 0], y=lines[:, 1], mode="lines", name="G's manifold",
                      line=dict(color=GEN, width=1), hoverinfo="skip")  # fmt: skip


def plane_figure(picture: Picture, manifold: bool = True, arrows: bool = True) -> go.Figure:
    """The 2-D picture: D(x) heatmap, real and fake samples, G's manifold, arrows on the fakes."""
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=picture.grid, y=picture.grid, z=picture.d_grid, zmin=0.0,
                             zmax=1.0, colorscale=HEATMAP_SCALE, name="D(x)",
                             colorbar=dict(title="D(x)", thickness=12),
                             hovertemplate="x=(%{x:.2f}, %{y:.2f})<br>D(x)=%{z:.3f}<extra></extra>"))  # fmt: skip
    if manifold:
        fig.add_trace(_manifold_trace(picture.manifold))
    fig.add_trace(go.Scatter(x=picture.real[:, 0], y=picture.real[:, 1], mode="markers",
                             name="real", marker=dict(color=REAL, size=5, opacity=0.7)))  # fmt: skip
    fig.add_trace(go.Scatter(x=picture.fake[:, 0], y=picture.fake[:, 1], mode="markers",
                             name="fake G(z)", marker=dict(color=FAKE, size=5, opacity=0.8)))  # fmt: skip
    if arrows:
        x, y = _segments(picture.fake, arrow_ends(picture))
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="next G step",
                                 line=dict(color=FAKE, width=1), hoverinfo="skip"))  # fmt: skip
    span = [-picture.limit, picture.limit]
    base_layout(fig, "D(x) behind the samples", "x₁", "x₂", height=480)
    fig.update_xaxes(range=span, constrain="domain")
    fig.update_yaxes(range=span, scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def _history(curves: Curves) -> tuple[np.ndarray, np.ndarray]:
    index = thinned_indices(len(curves.step), MAX_POINTS)
    return index, curves.step[index]


def _lines(
    title: str, y_title: str, curves: Curves, series: Sequence[tuple[str, np.ndarray, str]]
) -> go.Figure:
    index, step = _history(curves)
    fig = go.Figure()
    for name, values, color in series:
        shown = values[index]
        keep = np.isfinite(shown)
        fig.add_trace(go.Scatter(x=step[keep], y=shown[keep], mode="lines", name=name,
                                 line=dict(color=color)))  # fmt: skip
    return base_layout(fig, title, "step", y_title, height=300)


def loss_figure(curves: Curves) -> go.Figure:
    """D's and G's losses over the steps."""
    return _lines("Losses", "loss", curves,
                  [("D loss", curves.d_loss, DISC), ("G loss", curves.g_loss, GEN)])  # fmt: skip


def d_output_figure(curves: Curves) -> go.Figure:
    """Mean D(real) and D(fake) on the evaluation samples; ½ is the equilibrium."""
    fig = _lines("D(real) and D(fake)", "mean D(x)", curves,
                 [("D(real)", curves.d_real, REAL), ("D(fake)", curves.d_fake, FAKE)])  # fmt: skip
    fig.add_hline(y=0.5, line=dict(color=OPTIMAL, dash="dash"))
    fig.update_yaxes(range=[0, 1])
    return fig


def divergence_figure(curves: Curves) -> go.Figure:
    """The histogram estimates of KL(p_data || p_g) and JS(p_data || p_g)."""
    fig = _lines("KL and JS (histogram estimate)", "nats", curves,
                 [("KL", curves.kl, GEN), ("JS", curves.js, DISC)])  # fmt: skip
    fig.add_hline(y=float(np.log(2)), line=dict(color=OPTIMAL, dash="dot"),
                  annotation_text="JS max log 2")  # fmt: skip
    return fig


def coverage_figure(curves: Curves, modes: int) -> go.Figure:
    """Modes covered by the fakes over the steps, out of the data's `modes`."""
    fig = _lines("Modes covered", "modes", curves, [("covered", curves.covered, FAKE)])
    fig.update_yaxes(range=[0, modes + 0.5])
    return fig


def drawing_figure(candidates: np.ndarray, drawn: np.ndarray, limit: float) -> go.Figure:
    """The canvas: faint candidate points to select (click, box or lasso), the drawn ones bold."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=candidates[:, 0], y=candidates[:, 1], mode="markers",
                             name="candidates", marker=dict(color="#bbbbbb", size=5, opacity=0.35),
                             hovertemplate="(%{x:.2f}, %{y:.2f})<extra></extra>"))  # fmt: skip
    if len(drawn):
        fig.add_trace(go.Scatter(x=drawn[:, 0], y=drawn[:, 1], mode="markers", name="drawn",
                                 marker=dict(color=REAL, size=7), hoverinfo="skip"))  # fmt: skip
    base_layout(fig, "Draw the data: select points (box or lasso)", "x₁", "x₂", height=420)
    fig.update_xaxes(range=[-limit, limit], constrain="domain")
    fig.update_yaxes(range=[-limit, limit], scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(dragmode="lasso")
    return fig


__all__ = [
    "arrow_ends",
    "coverage_figure",
    "d_output_figure",
    "divergence_figure",
    "drawing_figure",
    "loss_figure",
    "plane_figure",
]
