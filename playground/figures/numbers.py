"""Pictures of what FID and IS measure: the two feature clouds FID compares, and the two entropies
behind IS (how often each digit appears, how sure the classifier is of each image)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.figures.style import FAKE, GEN, OPTIMAL, REAL, base_layout
from playground.metrics.explained import FidParts, IsParts

ELLIPSE_POINTS = 73
SHOWN_POINTS = 400
"""The FID picture scatters at most this many generated images (the Gaussians use all)."""


def ellipse(center: np.ndarray, cov: np.ndarray, scale: float = 2.0) -> np.ndarray:
    """Points (ELLIPSE_POINTS, 2) on the `scale`-sigma contour of N(center, cov) in 2-D."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    angles = np.linspace(0, 2 * np.pi, ELLIPSE_POINTS)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return center + scale * (circle * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def fid_figure(parts: FidParts, title: str = "What FID compares") -> go.Figure:
    """The generated images' features and both Gaussians' 2-sigma ellipses, seen along the two
    directions in which the real digits' features vary most."""
    fig = go.Figure()
    shown = parts.fake_points[:SHOWN_POINTS]
    fig.add_scatter(
        x=shown[:, 0], y=shown[:, 1], mode="markers", name="generated images",
        marker=dict(color=FAKE, size=4, opacity=0.35),
    )  # fmt: skip
    for center, cov, name, color in (
        (parts.real_center, parts.real_cov, "real digits (2σ)", REAL),
        (parts.fake_center, parts.fake_cov, "generated (2σ)", FAKE),
    ):
        outline = ellipse(center, cov)
        fig.add_scatter(
            x=outline[:, 0], y=outline[:, 1], mode="lines", name=name, line=dict(color=color)
        )
        fig.add_scatter(
            x=[center[0]], y=[center[1]], mode="markers", showlegend=False,
            marker=dict(color=color, size=11, symbol="x"), hoverinfo="skip",
        )  # fmt: skip
    base_layout(fig, title, "main direction 1 of the real features", "main direction 2")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def is_figure(parts: IsParts, title: str = "What IS rewards") -> go.Figure:
    """Left: p(y), how often each digit is predicted, against the even 10 %. Right: how sure the
    classifier is of each image (the largest p(y|x))."""
    fig = make_subplots(
        rows=1, cols=2,
        subplot_titles=("how often each digit appears: p(y)", "how sure the classifier is"),
    )  # fmt: skip
    classes = len(parts.marginal)
    fig.add_bar(
        x=list(range(classes)), y=parts.marginal, name="p(y)", marker_color=GEN, row=1, col=1
    )
    fig.add_hline(y=1 / classes, line_dash="dot", line_color=OPTIMAL, row=1, col=1)
    fig.add_histogram(
        x=parts.confidence, xbins=dict(start=0.0, end=1.0001, size=0.05), name="max p(y|x)",
        marker_color=REAL, row=1, col=2,
    )  # fmt: skip
    base_layout(fig, title, "", "", height=320)
    fig.update_xaxes(title_text="digit", dtick=1, row=1, col=1)
    fig.update_xaxes(title_text="largest p(y|x) of an image", range=[0, 1], row=1, col=2)
    fig.update_yaxes(title_text="share of images", row=1, col=1)
    fig.update_yaxes(title_text="images", row=1, col=2)
    fig.update_layout(showlegend=False)
    return fig


__all__ = ["ellipse", "fid_figure", "is_figure"]
