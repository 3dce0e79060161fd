"""Figures of the BCE page: the two BCE branches, generator-loss saturation, D*."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground import losses
from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout

_GRID = np.linspace(0.001, 0.999, 400)


def bce_curves(prediction: float, label: int) -> go.Figure:
    """-log(ŷ) (label 1) and -log(1-ŷ) (label 0) over ŷ, the current point marked."""
    fig = go.Figure()
    fig.add_scatter(
        x=_GRID, y=losses.bce_curve(_GRID, 1), name="label y = 1: −log(ŷ)", line_color=REAL
    )
    fig.add_scatter(
        x=_GRID, y=losses.bce_curve(_GRID, 0), name="label y = 0: −log(1 − ŷ)", line_color=FAKE
    )
    value = float(losses.bce_curve(np.array([prediction]), label)[0])
    fig.add_scatter(
        x=[prediction],
        y=[value],
        mode="markers+text",
        marker=dict(size=14, color=REAL if label == 1 else FAKE, line=dict(width=2, color="black")),
        text=[f"loss = {value:.3f}"],
        textposition="top center",
        name="your point",
    )
    fig.update_yaxes(range=[0, 7])
    return base_layout(fig, "Binary cross-entropy of one prediction", "prediction ŷ = D(x)", "loss")


def generator_loss_curves(d_fake: float) -> go.Figure:
    """The two generator losses and their gradient magnitudes w.r.t. D's logit, against D(G(z)).

    minimax: log(1 - D), |grad| = D (vanishes as D -> 0); non-saturating: -log D, |grad| = 1 - D.
    """
    d = np.logspace(-4, np.log10(0.999), 400)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("loss G minimises", "|∂ loss / ∂ logit|<br>the signal G gets"),
    )
    for kind, name, color in (
        ("minimax", "minimax: log(1 − D(G(z)))", FAKE),
        ("nonsaturating", "non-saturating: −log D(G(z))", GEN),
    ):
        fig.add_scatter(
            x=d, y=losses.g_loss_curve(d, kind), name=name, line_color=color, row=1, col=1
        )
        grad = np.abs(losses.g_loss_logit_gradient(d, kind))
        fig.add_scatter(x=d, y=grad, name=name, line_color=color, showlegend=False, row=1, col=2)
        fig.add_scatter(
            x=[d_fake],
            y=[abs(float(losses.g_loss_logit_gradient(np.array([d_fake]), kind)[0]))],
            mode="markers",
            marker=dict(size=12, color=color, line=dict(width=2, color="black")),
            showlegend=False,
            row=1,
            col=2,
        )
    fig.add_vline(x=d_fake, line_dash="dot", line_color=OPTIMAL)
    fig.update_xaxes(type="log", title_text="D(G(z)): how real D thinks the fake is")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="gradient magnitude", range=[0, 1.05], row=1, col=2)
    fig.update_layout(
        height=380,
        margin=dict(l=50, r=20, t=60, b=45),
        legend=dict(orientation="h", yanchor="bottom", y=1.08, x=0),
        template="plotly_white",
    )
    return fig


def optimal_discriminator_figure(
    x: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, d_star: np.ndarray
) -> go.Figure:
    """Two densities and the optimal discriminator D*(x) = p_data / (p_data + p_g)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=x, y=p_data, name="p_data(x)", line_color=REAL, fill="tozeroy", secondary_y=False
    )
    fig.add_scatter(x=x, y=p_g, name="p_g(x)", line_color=FAKE, fill="tozeroy", secondary_y=False)
    fig.add_scatter(x=x, y=d_star, name="D*(x)", line=dict(color=DISC, width=3), secondary_y=True)
    fig.add_scatter(
        x=[x[0], x[-1]],
        y=[0.5, 0.5],
        name="½",
        line=dict(color=OPTIMAL, dash="dash"),
        secondary_y=True,
    )
    base_layout(fig, "The best possible discriminator for fixed G", "x", "density")
    # after base_layout, which titles every y axis "density": the right one shows D*(x)
    fig.update_yaxes(title_text="D*(x)", range=[0, 1.02], secondary_y=True)
    return fig
