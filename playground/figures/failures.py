"""Figures of the failure modes: the ring of modes with G's samples, one number's history for a
failing run and its fixes, and the modes each training trick covers over many seeds. (The 1-D
runs reuse `figures.toy.densities_figure` for each frame.)

Pure builders: `Trace`s in, a go.Figure out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from playground.failures import QUALITY_STDS, RingSettings, Trace, TrickResult, mode_coverage
from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL, base_layout

RUN_COLOURS = (FAKE, DISC, GEN)
"""The failing run in the fakes' red, its fixes in the discriminator's green, then orange."""


def run_colour(index: int) -> str:
    """Colour of the `index`-th run of a lesson (0 = the failure)."""
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def ring_figure(trace: Trace, frame: int) -> go.Figure:
    """The data's modes (circles of radius 3 std around each centre) and G's samples at `frame`."""
    settings = trace.preset.settings
    if not isinstance(settings, RingSettings):
        raise ValueError("ring_figure draws ring runs only")
    shown = trace.frames[frame]
    samples = shown.samples if shown.samples is not None else np.empty((0, 2))
    coverage = mode_coverage(samples, settings)
    reach = QUALITY_STDS * settings.mode_std
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=trace.centers[:, 0],
            y=trace.centers[:, 1],
            mode="markers+text",
            name="data modes",
            marker=dict(color=REAL, size=9, symbol="x"),
            text=[str(k + 1) for k in range(len(trace.centers))],  # the quiz's mode numbers
            textposition="top right",
            textfont=dict(color=REAL),
        )
    )
    for cx, cy in trace.centers:
        fig.add_shape(
            type="circle",
            x0=cx - reach,
            y0=cy - reach,
            x1=cx + reach,
            y1=cy + reach,
            line=dict(color=REAL, width=1),
            fillcolor="rgba(31, 119, 180, 0.15)",
        )
    fig.add_trace(
        go.Scattergl(
            x=samples[:, 0],
            y=samples[:, 1],
            mode="markers",
            name="G(z), fixed z",
            marker=dict(color=FAKE, size=4, opacity=0.5),
        )
    )
    limit = settings.radius + 1.5
    title = f"iteration {shown.iteration}: {coverage.covered} of {settings.modes} modes covered"
    base_layout(fig, title, "x₁", "x₂", height=380)
    fig.update_xaxes(range=[-limit, limit])
    fig.update_yaxes(range=[-limit, limit], scaleanchor="x", scaleratio=1)
    return fig


def history_figure(
    traces: Sequence[Trace],
    name: str,
    title: str,
    y_title: str,
    *,
    reference: float | None = None,
    reference_name: str = "",
    log_y: bool = False,
    at_iteration: int | None = None,
) -> go.Figure:
    """`name` over training iterations, one line per run; an optional level line (the data's
    value) and a marker at the iteration currently shown."""
    fig = go.Figure()
    for index, trace in enumerate(traces):
        values = trace.series(name)
        measured = np.isfinite(values)
        fig.add_trace(
            go.Scatter(
                x=trace.iterations[measured],
                y=values[measured],
                mode="lines+markers",
                name=trace.preset.title,
                line=dict(color=run_colour(index)),
                marker=dict(size=4),
            )
        )
    if reference is not None:
        fig.add_hline(
            y=reference,
            line=dict(color=OPTIMAL, dash="dash"),
            annotation_text=reference_name,
            annotation_position="top left",
        )
    if at_iteration is not None:
        fig.add_vline(x=at_iteration, line=dict(color=OPTIMAL, dash="dot"))
    base_layout(fig, title, "training iteration (k D updates + 1 G update)", y_title, height=340)
    if log_y:
        fig.update_yaxes(type="log", exponentformat="power")
    return fig


def tricks_figure(results: Sequence[TrickResult], modes: int = 8) -> go.Figure:
    """Modes covered by each trick's runs: one dot per seed, a bar at their mean, and the level
    of all modes; the baseline (the first result) in the fakes' red."""
    fig = go.Figure()
    titles = [r.preset.title for r in results]
    fig.add_trace(
        go.Bar(
            x=titles,
            y=[r.mean_modes for r in results],
            name="mean over the seeds",
            marker=dict(color=[FAKE] + [DISC] * (len(results) - 1), opacity=0.45),
            text=[f"{r.mean_modes:.1f}" for r in results],
            textposition="outside",
        )
    )
    seeds_x = [r.preset.title for r in results for _ in r.modes]
    seeds_y = [m for r in results for m in r.modes]
    labels = [f"seed {seed}" for r in results for seed in r.seeds]
    fig.add_trace(
        go.Scatter(
            x=seeds_x,
            y=seeds_y,
            mode="markers",
            name="one seed",
            text=labels,
            hovertemplate="%{x}, %{text}: %{y:.1f} modes<extra></extra>",
            marker=dict(color=REAL, size=7, opacity=0.7),
        )
    )
    fig.add_hline(
        y=modes,
        line=dict(color=OPTIMAL, dash="dash"),
        annotation_text="all modes",
        annotation_position="top left",
    )
    base_layout(fig, "Modes of the ring covered, by trick", "", "modes covered", height=380)
    fig.update_yaxes(range=[0, modes + 1.2])
    return fig
