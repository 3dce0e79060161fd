"""Pictures of the ablation comparison: a baseline run and an ablation of the same seed, their
loss curves on shared axes, and their metrics as a table of the course's columns.

Sample grids come from figures.mnist (`sample_grid`); the table from figures.compare
(`metrics_table`), so the numbers read exactly like every other MNIST result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.figures.compare import metrics_table
from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout
from playground.gan import HistoryPoint

RUN_DASHES = ("solid", "dot")
"""The baseline's lines are solid, the ablation's dotted (colour says which curve)."""
CURVES = (
    ("d_loss", "D loss", DISC, 1),
    ("g_loss", "G loss", GEN, 1),
    ("d_real", "D(x), real", REAL, 2),
    ("d_fake", "D(G(z)), fake", FAKE, 2),
)
"""Each curve: the history field, its name, its colour and its subplot."""


def loss_comparison(runs: Mapping[str, Sequence[HistoryPoint]]) -> go.Figure:
    """Two runs' D and G losses (left) and D's mean verdicts (right) against the generator step:
    one colour per curve, solid for the first run, dotted for the second."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("losses", "D's verdicts<br>mean probability real")
    )
    for (label, history), dash in zip(runs.items(), RUN_DASHES, strict=False):
        steps = [p.step for p in history]
        for field, name, colour, col in CURVES:
            fig.add_scatter(
                x=steps,
                y=[getattr(p, field) for p in history],
                name=f"{name} · {label}",
                line=dict(color=colour, dash=dash),
                row=1,
                col=col,
            )
    fig.add_hline(y=0.5, line_dash="dash", line_color=OPTIMAL, row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    base_layout(fig, "Training curves, side by side", "generator step", "", height=420)
    fig.update_xaxes(title_text="generator step")
    fig.update_layout(
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
        margin=dict(l=50, r=20, t=70, b=40),
    )
    return fig


def metrics_side_by_side(rows: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """The runs' metrics (FID, IS, digits covered, ...) as the MNIST pages write them."""
    return metrics_table(rows)


__all__ = ["loss_comparison", "metrics_side_by_side"]
