"""Figures of the 2-D GAN: D's probability as a heatmap behind the real and fake samples, the
generator's manifold and the arrows on the fakes; the history charts (losses, D's outputs,
KL/JS, modes covered); and the canvas a student draws a distribution on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


Trace = dict[str, Any]

FAST_AXIS = {"automargin": False, "ticklabeloverflow": "allow", "nticks": 6}
"""Axes the browser lays out once (see playground.figures.toy: it redraws a chart per press)."""


def _figure(data: list[Trace], title: str, x_title: str, y_title: str, height: int,
            xaxis: dict | None = None, yaxis: dict | None = None) -> go.Figure:  # fmt: skip
    """A figure with the course's layout, assembled from plain dicts without plotly's
    per-property validation (it costs more than a press's whole budget; the tests rebuild
    each figure with validation)."""
    layout = {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 90, "autoexpand": False},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.14, "xanchor": "left", "x": 0},
        "xaxis": {"title": {"text": x_title}, **FAST_AXIS, **(xaxis or {})},
        "yaxis": {"title": {"text": y_title}, **FAST_AXIS, **(yaxis or {})},
    }
    return go.Figure(data=data, layout=layout, _validate=False)


def _scatter(x: np.ndarray, y: np.ndarray, name: str, mode: str, **style: Any) -> Trace:
    return {"type": "scatter", "mode": mode, "x": x, "y": y, "name": name, **style}


def _manifold_trace(manifold: np.ndarray) -> Trace:
    """The noise grid's lines after G, one trace with NaN gaps between lines."""
    gaps = np.full((manifold.shape[0], 1, 2), np.nan)
    lines = np.concatenate([manifold, gaps], axis=1).reshape(-1, 2)
    return _scatter(lines[:, 0], lines[:, 1], "G's manifold", "lines",
                    line={"color": GEN, "width": 1}, hoverinfo="skip")  # fmt: skip


def plane_figure(picture: Picture, manifold: bool = True, arrows: bool = True) -> go.Figure:
    """The 2-D picture: D(x) heatmap, real and fake samples, G's manifold, arrows on the fakes."""
    heatmap = {"type": "heatmap", "x": picture.grid, "y": picture.grid, "z": picture.d_grid,
               "zmin": 0.0, "zmax": 1.0, "colorscale": HEATMAP_SCALE, "name": "D(x)",
               "colorbar": {"title": {"text": "D(x)"}, "thickness": 12},
               "hovertemplate": "(%{x:.2f}, %{y:.2f})<br>D(x)=%{z:.3f}<extra></extra>"}  # fmt: skip
    data: list[Trace] = [heatmap]
    if manifold:
        data.append(_manifold_trace(picture.manifold))
    data.append(_scatter(picture.real[:, 0], picture.real[:, 1], "real", "markers",
                         marker={"color": REAL, "size": 5, "opacity": 0.7}))  # fmt: skip
    data.append(_scatter(picture.fake[:, 0], picture.fake[:, 1], "fake G(z)", "markers",
                         marker={"color": FAKE, "size": 5, "opacity": 0.8}))  # fmt: skip
    if arrows:
        x, y = _segments(picture.fake, arrow_ends(picture))
        data.append(_scatter(x, y, "next G step", "lines", line={"color": FAKE, "width": 1},
                             hoverinfo="skip"))  # fmt: skip
    span = [-picture.limit, picture.limit]
    return _figure(data, "D(x) behind the samples", "x₁", "x₂", 520,
                   xaxis={"range": span, "constrain": "domain"},
                   yaxis={"range": span, "scaleanchor": "x", "scaleratio": 1,
                          "constrain": "domain"})  # fmt: skip


def _lines(
    title: str, y_title: str, curves: Curves, series: Sequence[tuple[str, np.ndarray, str]],
    yaxis: dict | None = None,
) -> go.Figure:  # fmt: skip
    index = thinned_indices(len(curves.step), MAX_POINTS)
    step = curves.step[index]
    data = []
    for name, values, color in series:
        shown = values[index]
        keep = np.isfinite(shown)
        data.append(_scatter(step[keep], shown[keep], name, "lines", line={"color": color}))
    return _figure(data, title, "step", y_title, 300, yaxis=yaxis)


def _level(curves: Curves, y: float, name: str) -> tuple[str, np.ndarray, str]:
    """A reference level as a dashed-free grey series over the history's steps."""
    return (name, np.full(len(curves.step), y), OPTIMAL)


def loss_figure(curves: Curves) -> go.Figure:
    """D's and G's losses over the steps."""
    return _lines("Losses", "loss", curves,
                  [("D loss", curves.d_loss, DISC), ("G loss", curves.g_loss, GEN)])  # fmt: skip


def d_output_figure(curves: Curves) -> go.Figure:
    """Mean D(real) and D(fake) on the evaluation samples; ½ is the equilibrium."""
    series = [("D(real)", curves.d_real, REAL), ("D(fake)", curves.d_fake, FAKE),
              _level(curves, 0.5, "equilibrium ½")]  # fmt: skip
    return _lines("D(real) and D(fake)", "mean D(x)", curves, series, yaxis={"range": [0, 1]})


def divergence_figure(curves: Curves) -> go.Figure:
    """The histogram estimates of KL(p_data || p_g) and JS(p_data || p_g)."""
    series = [("KL", curves.kl, GEN), ("JS", curves.js, DISC),
              _level(curves, float(np.log(2)), "JS at most log 2")]  # fmt: skip
    return _lines("KL and JS (histogram estimate)", "nats", curves, series)


def coverage_figure(curves: Curves, modes: int) -> go.Figure:
    """Modes covered by the fakes over the steps, out of the data's `modes`."""
    return _lines("Modes covered", "modes", curves, [("covered", curves.covered, FAKE)],
                  yaxis={"range": [0, modes + 0.5]})  # fmt: skip


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
