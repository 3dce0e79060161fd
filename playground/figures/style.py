"""The course's colours and the layout every figure shares."""

from __future__ import annotations

import plotly.graph_objects as go

REAL = "#1f77b4"  # real data, label 1
FAKE = "#d62728"  # generated data, label 0
DISC = "#2ca02c"  # the discriminator's output
OPTIMAL = "#7f7f7f"  # closed-form optimum / reference lines
GEN = "#ff7f0e"  # the generator's map / second loss


def base_layout(
    fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 360
) -> go.Figure:
    """Apply the shared look: title, axis titles, compact margins, legend on top."""
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=50, r=20, t=60, b=45),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        template="plotly_white",
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig
