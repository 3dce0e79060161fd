"""Figures and tables of the batch-norm lesson: one channel's values through each step, the running
statistics batch after batch, and the DCGAN generator's activations and gradients layer by layer
with and without batch norm. Pure builders: arrays in, go.Figure or DataFrame out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout

WITH_BN, WITHOUT_BN = "with batch norm", "without batch norm"
VARIANT_COLOURS = {WITH_BN: REAL, WITHOUT_BN: FAKE}
RELU_OF_UNIT_NORMAL_STD = float(np.sqrt(0.5 - 1 / (2 * np.pi)))
"""std of ReLU(N(0, 1)): where every normalised block's activations sit (≈ 0.584)."""


def channel_table(values: np.ndarray, channel: int, places: int = 3) -> pd.DataFrame:
    """One channel of a (B, C, H, W) tensor as a table: a row per sample, a column per pixel."""
    b, _, h, w = values.shape
    columns = [f"({i}, {j})" for i in range(h) for j in range(w)]
    rows = np.round(values[:, channel].reshape(b, h * w), places)
    return pd.DataFrame(rows, columns=columns, index=[f"sample {i + 1}" for i in range(b)])


def stages_figure(inputs: np.ndarray, normalised: np.ndarray, outputs: np.ndarray) -> go.Figure:
    """One channel's values at each step: x, x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β, one row each."""
    stages = {"x (input)": inputs, "x̂ (normalised)": normalised, "y = γ·x̂ + β": outputs}
    colours = (OPTIMAL, DISC, GEN)
    fig = go.Figure()
    for (name, values), colour in zip(stages.items(), colours, strict=True):
        flat = np.ravel(values)
        fig.add_scatter(
            x=flat, y=[name] * flat.size, mode="markers", name=name,
            marker={"color": colour, "size": 10, "opacity": 0.7},
            hovertemplate="%{x:.3f}<extra>" + name + "</extra>",
        )  # fmt: skip
        fig.add_scatter(
            x=[flat.mean()], y=[name], mode="markers", showlegend=False,
            marker={"color": "black", "size": 16, "symbol": "line-ns-open"},
            hovertemplate="mean %{x:.3f}<extra></extra>",
        )  # fmt: skip
    base_layout(fig, "One channel, step by step (| marks the mean)", "value", "", height=300)
    fig.update_layout(showlegend=False, margin={"l": 130})
    fig.update_yaxes(autorange="reversed")
    return fig


def running_stats_figure(
    batch_means: np.ndarray,
    running_means: np.ndarray,
    batch_vars: np.ndarray,
    running_vars: np.ndarray,
    true_mean: float,
    true_var: float,
) -> go.Figure:
    """One channel's batch statistics and running statistics after each batch, beside the values
    the data were drawn with. Arrays: batch_* (batches,), running_* (batches + 1,)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("mean", "variance (unbiased)"))
    panels = ((batch_means, running_means, true_mean), (batch_vars, running_vars, true_var))
    for col, (batch, running, true) in enumerate(panels, start=1):
        first = col == 1
        fig.add_scatter(
            x=np.arange(1, batch.size + 1), y=batch, mode="markers", name="this batch's",
            marker={"color": OPTIMAL, "size": 7}, legendgroup="batch", showlegend=first,
            row=1, col=col,
        )  # fmt: skip
        fig.add_scatter(
            x=np.arange(running.size), y=running, mode="lines+markers", name="running",
            line={"color": DISC, "width": 2}, legendgroup="running", showlegend=first,
            row=1, col=col,
        )  # fmt: skip
        fig.add_hline(y=true, line={"color": GEN, "dash": "dash"}, row=1, col=col)
    fig.add_scatter(
        x=[None], y=[None], mode="lines", name="what the data were drawn with",
        line={"color": GEN, "dash": "dash"},
    )  # fmt: skip
    base_layout(fig, "Running statistics, batch after batch", "batches seen", "", height=380)
    fig.update_layout(margin={"t": 70, "b": 120}, legend={"yanchor": "top", "y": -0.35, "x": 0})
    fig.update_xaxes(title_text="batches seen")
    return fig


def layer_scale_figure(names: tuple[str, ...], stds: Mapping[str, np.ndarray]) -> go.Figure:
    """The standard deviation of each layer's activations, with and without batch norm, on a log
    axis (a constant factor per layer is a straight line)."""
    fig = go.Figure()
    for variant, values in stds.items():
        fig.add_scatter(
            x=list(names), y=np.maximum(values, 1e-12), mode="lines+markers", name=variant,
            line={"color": VARIANT_COLOURS.get(variant, OPTIMAL), "width": 2},
        )  # fmt: skip
    fig.add_hline(
        y=RELU_OF_UNIT_NORMAL_STD, line={"color": OPTIMAL, "dash": "dot"},
        annotation_text="std of ReLU(N(0, 1))", annotation_position="top left",
    )  # fmt: skip
    base_layout(fig, "How big the activations are, layer by layer", "", "std (log)", height=400)
    fig.update_yaxes(type="log")
    return fig


def activation_histogram_figure(values: Mapping[str, np.ndarray], layer: str) -> go.Figure:
    """The distribution of one layer's activations for each variant, on one shared axis."""
    fig = go.Figure()
    for variant, numbers in values.items():
        fig.add_histogram(
            x=numbers, name=variant, histnorm="probability", nbinsx=60, opacity=0.6,
            marker={"color": VARIANT_COLOURS.get(variant, OPTIMAL)},
        )  # fmt: skip
    fig.update_layout(barmode="overlay")
    base_layout(fig, f"Activations of {layer}", "activation", "share of values", height=360)
    return fig


def gradient_figure(names: tuple[str, ...], grad_norms: Mapping[str, np.ndarray]) -> go.Figure:
    """|∂loss/∂W| of each layer's convolution (the layers that have weights), log axis."""
    fig = go.Figure()
    for variant, norms in grad_norms.items():
        has_weights = np.isfinite(norms)
        fig.add_scatter(
            x=[n for n, kept in zip(names, has_weights, strict=True) if kept],
            y=np.maximum(norms[has_weights], 1e-12), mode="lines+markers", name=variant,
            line={"color": VARIANT_COLOURS.get(variant, OPTIMAL), "width": 2},
        )  # fmt: skip
    base_layout(
        fig, "The signal each layer's weights get from G's loss", "", "|∂loss/∂W| (log)", 360
    )
    fig.update_yaxes(type="log")
    return fig


def layer_table(
    names: tuple[str, ...], means: Mapping[str, np.ndarray], stds: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Each layer's mean and std for each variant, as text with 4 significant digits."""
    columns = {}
    for variant in means:
        columns[f"mean, {variant}"] = [f"{v:.4g}" for v in means[variant]]
        columns[f"std, {variant}"] = [f"{v:.4g}" for v in stds[variant]]
    return pd.DataFrame(columns, index=list(names))


__all__ = [
    "RELU_OF_UNIT_NORMAL_STD",
    "VARIANT_COLOURS",
    "WITHOUT_BN",
    "WITH_BN",
    "activation_histogram_figure",
    "channel_table",
    "gradient_figure",
    "layer_scale_figure",
    "layer_table",
    "running_stats_figure",
    "stages_figure",
]
