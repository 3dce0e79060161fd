"""Figures of the 1-D GAN (any target): densities with the fakes and their arrows, D(x) against D*(x),
the map z -> x, and the histories of the losses, of D's outputs and of KL/JS.

Pure builders: a `Readout` or `Curves` in, a go.Figure out. The page rebuilds all six after every
press, so they are assembled from plain dicts without plotly's per-property validation (which
costs 4-15 ms a figure); tests/unit/test_toy_figures.py rebuilds each one *with* validation.
`overlay_figure` draws several runs' losses and JS on one chart (the page's pinned runs).
The colours are the course's (`style`); the legend sits under the axis because it wraps; the
plotly template is left to st.plotly_chart's theme.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from playground.figures.style import DISC, FAKE, GEN, OPTIMAL, REAL
from playground.history import thinned_indices
from playground.losses import LOG4
from playground.toy import Curves, Readout

ARROW_SHARE = 0.12
"""The longest gradient arrow covers at most this share of the x range (shorter: true size)."""

MAX_HISTORY_POINTS = 1500
"""History curves are thinned to about this many points so long runs stay quick to draw."""

Trace = dict[str, Any]

FAST_AXIS = {"automargin": False, "ticklabeloverflow": "allow", "nticks": 6}
"""Axes that the browser lays out once: plotly redraws a whole chart on each press, and margins
that grow to fit their labels, many ticks and clipped tick labels cost it most of that time
(bench/bench_press_browser.py)."""


def _figure(
    data: list[Trace], title: str, x_title: str, y_title: str, height: int = 400, **axes: Any
) -> go.Figure:
    """A figure with the course's layout; `axes` holds extra xaxis/yaxis settings."""
    layout = {
        "title": {"text": title},
        "height": height,
        # legends of up to four entries wrap: below the axis they never cover the title
        "margin": {"l": 50, "r": 20, "t": 40, "b": 100, "autoexpand": False},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0},
        "xaxis": {"title": {"text": x_title}, **FAST_AXIS, **axes.get("xaxis", {})},
        "yaxis": {"title": {"text": y_title}, **FAST_AXIS, **axes.get("yaxis", {})},
    }
    return go.Figure(data=data, layout=layout, _validate=False)


def _curve(x: np.ndarray, y: np.ndarray, name: str, color: str, **style: Any) -> Trace:
    line = {"color": color, **style.pop("line", {})}
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "line": line, **style}


def _points(x: np.ndarray, y: np.ndarray, name: str, color: str, size: int = 6) -> Trace:
    return {
        "type": "scatter",
        "mode": "markers",
        "x": x,
        "y": y,
        "name": name,
        "marker": {"color": color, "size": size},
    }


def _level(x0: float, x1: float, y: float, name: str, color: str, dash: str = "dash") -> Trace:
    """A horizontal reference line as a two-point trace, so it gets a legend entry."""
    return _curve(
        np.array([x0, x1]), np.array([y, y]), name, color, line={"dash": dash, "width": 1.5}
    )


# -- the current state ---------------------------------------------------------------------------


def arrow_scale(push: np.ndarray, x_range: float) -> float:
    """x units drawn per unit of gradient: 1 (true size) unless the longest arrow would exceed
    ARROW_SHARE of the x range."""
    longest = float(np.max(np.abs(push))) if push.size else 0.0
    if not math.isfinite(longest) or longest == 0.0:
        return 1.0
    return min(1.0, ARROW_SHARE * x_range / longest)


def fake_rows(count: int, peak: float) -> np.ndarray:
    """Fixed heights below the x axis for the shown fakes (one row each, so they never jump)."""
    return -peak * (0.08 + 0.4 * np.linspace(0.0, 1.0, count))


def gradient_arrows(readout: Readout) -> tuple[np.ndarray, np.ndarray, float]:
    """Where each shown fake's arrow starts and ends: from x~ to x~ - scale * dloss/dx~."""
    push = -readout.fake_grad
    scale = arrow_scale(push, float(readout.x[-1] - readout.x[0]))
    return readout.fake, readout.fake + scale * push, scale


def densities_figure(readout: Readout) -> go.Figure:
    """p_data and the KDE of p_g, and the shown fakes as points with arrows -dloss/dx~ (where the
    next G step pushes each of them)."""
    r = readout
    peak = float(r.p_data.max())
    rows = fake_rows(r.fake.size, peak)
    start, end, scale = gradient_arrows(r)
    gaps = np.full(r.fake.size, np.nan)
    arrows = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": np.column_stack([start, end, gaps]).ravel(),
        "y": np.column_stack([rows, rows, gaps]).ravel(),
        "name": "−∂loss/∂x̃: where G moves each fake",
        # The scale changes with every press: in the legend it would redraw the whole chart.
        "hovertemplate": f"arrow drawn at ×{scale:.2g} of −∂loss/∂x̃<extra></extra>",
        "line": {"color": GEN, "width": 1.5},
        # an arrow head at each end point, turned along its segment
        "marker": {
            "symbol": "arrow",
            "angleref": "previous",
            "size": np.tile([0.0, 9.0, 0.0], r.fake.size),
            "color": GEN,
        },
    }
    data = [
        _curve(r.x, r.p_data, "p_data(x): real", REAL, fill="tozeroy"),
        _curve(r.x, r.p_g, "p_g(x): generated (KDE)", FAKE, fill="tozeroy"),
        arrows,
        _points(start, rows, "fakes G(z)", FAKE),
    ]
    # Axes fixed by p_data: nothing rescales between presses (a collapsed p_g is cut at the top).
    axes = {"xaxis": {"range": [r.x[0], r.x[-1]]}, "yaxis": {"range": [-0.55 * peak, 2.2 * peak]}}
    return _figure(data, "Real and generated densities", "x", "density", **axes)


def discriminator_figure(readout: Readout) -> go.Figure:
    """D(x) as learned, D*(x) = p_data / (p_data + p_g) for the current G, and the ½ line."""
    r = readout
    data = [
        _curve(r.x, r.d_x, "D(x): learned", DISC, line={"width": 3}),
        _curve(r.x, r.d_star, "D*(x) = p_data / (p_data + p_g)", OPTIMAL, line={"dash": "dash"}),
        _level(r.x[0], r.x[-1], 0.5, "½: D cannot tell", OPTIMAL, dash="dot"),
        _points(r.fake, r.fake_d, "D at the fakes", FAKE),
    ]
    return _figure(
        data, "The discriminator and the best one for this G", "x", "D(x) = P(real)",
        xaxis={"range": [r.x[0], r.x[-1]]}, yaxis={"range": [-0.02, 1.02]},
    )  # fmt: skip


EXACT_MAP_NAMES = {"gaussian": "an exact G: x = μ + σ·Φ⁻¹(F(z))"}
"""The exact map's legend entry by target (the others: the data's quantile of F(z))."""


def generator_map_figure(readout: Readout) -> go.Figure:
    """The generator's map z -> x, the band real_mean ± real_std, and (1-D noise) one exact map."""
    r = readout
    s = r.settings
    z0, z1 = float(r.map_noise[0]), float(r.map_noise[-1])
    low, high = s.real_mean - s.real_std, s.real_mean + s.real_std
    band = {
        "type": "scatter", "mode": "none", "fill": "toself", "fillcolor": "rgba(31,119,180,0.15)",
        "x": [z0, z1, z1, z0], "y": [low, low, high, high], "name": "data mean ± std",
    }  # fmt: skip
    if s.noise_dim == 1:
        exact = EXACT_MAP_NAMES.get(s.target, "an exact G: x = F_data⁻¹(F(z))")
        data = [
            band,
            _curve(r.map_noise, r.map_fake, "G(z)", GEN, line={"width": 3}),
            _curve(r.map_noise, r.map_perfect, exact, OPTIMAL, line={"dash": "dash"}),
        ]
        shown = np.concatenate([r.map_fake, r.map_perfect, [low, high]])
        axes = {"xaxis": {"range": [z0, z1]}, "yaxis": {"range": stable_range(shown)}}
        return _figure(data, "The generator's map z → x", "noise z", "x = G(z)", **axes)
    data = [band, _points(r.map_noise, r.map_fake, "G(z) against z₁", GEN, size=5)]
    axes = {"yaxis": {"range": stable_range(np.concatenate([r.map_fake, [low, high]]))}}
    return _figure(
        data, "The generator's map z → x", "first noise coordinate z₁", "x = G(z)", **axes
    )


# -- histories -----------------------------------------------------------------------------------


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= value (value > 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= value * (1 - 1e-12))


def stable_range(values: np.ndarray, pad: float = 0.05) -> list[float]:
    """An axis range holding `values`, rounded outward to a tick-sized grid: it stays the same
    while new values move a little, so the chart is not laid out again on every press."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [0.0, 1.0]
    low, high = float(finite.min()), float(finite.max())
    grid = nice_ceiling(max(high - low, 1e-9) / 4)
    return [math.floor(low / grid - pad) * grid, math.ceil(high / grid + pad) * grid]


def thinned(curves: Curves) -> np.ndarray:
    """Indices of at most ~MAX_HISTORY_POINTS steps, always keeping the latest."""
    return thinned_indices(curves.step.size, MAX_HISTORY_POINTS)


def _span(step: np.ndarray) -> tuple[float, float]:
    """From the first step to a round number past the last one (the x axis grows in jumps)."""
    return (float(step[0]), nice_ceiling(max(float(step[-1]), 1.0))) if step.size else (0.0, 1.0)


def _measured(step: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The steps where a value was measured (a D step has no G loss and vice versa)."""
    keep = np.isfinite(values)
    return step[keep], values[keep]


def g_loss_at_equilibrium(g_loss: str) -> float:
    """The generator's loss when D = ½: -log ½ = log 2 (non-saturating), log ½ (minimax)."""
    return math.log(2.0) if g_loss == "nonsaturating" else -math.log(2.0)


def loss_history_figure(curves: Curves, g_loss: str) -> go.Figure:
    """D loss and G loss per step, with their values at equilibrium (D = ½ everywhere)."""
    i = thinned(curves)
    step = curves.step[i]
    x0, x1 = _span(step)
    data = [
        _curve(*_measured(step, curves.d_loss[i]), "D loss", DISC),
        _curve(*_measured(step, curves.g_loss[i]), f"G loss ({g_loss})", GEN),
        _level(x0, x1, LOG4, "log 4: D loss when D = ½", DISC),
        _level(x0, x1, g_loss_at_equilibrium(g_loss), "G loss when D = ½", GEN),
    ]
    shown = np.concatenate(
        [curves.d_loss[i], curves.g_loss[i], [LOG4, g_loss_at_equilibrium(g_loss)]]
    )
    return _figure(
        data, "Losses", "step", "loss",
        xaxis={"range": [x0, x1]}, yaxis={"range": stable_range(shown)},
    )  # fmt: skip


def d_output_history_figure(curves: Curves) -> go.Figure:
    """Mean D(real) and mean D(fake) per step (on the evaluation samples), with the ½ line."""
    i = thinned(curves)
    step = curves.step[i]
    x0, x1 = _span(step)
    data = [
        _curve(step, curves.d_real[i], "mean D(real)", REAL),
        _curve(step, curves.d_fake[i], "mean D(fake)", FAKE),
        _level(x0, x1, 0.5, "½: equilibrium", OPTIMAL),
    ]
    return _figure(
        data, "What D says about real and fake", "step", "mean D",
        xaxis={"range": [x0, x1]}, yaxis={"range": [-0.02, 1.02]},
    )  # fmt: skip


DIVERGENCE_FLOOR = 1e-5
"""A log axis cannot show 0: smaller divergences are drawn at this floor."""


def divergence_history_figure(curves: Curves) -> go.Figure:
    """KL(p_data || p_g) and JS(p_data || p_g) per step on a log axis; JS is at most log 2."""
    i = thinned(curves)
    x0, x1 = _span(curves.step[i])
    # KL and JS move only when G moves: drawn as steps through the points where they changed,
    # the chart is the same after a D step (and the browser need not draw it again).
    i = i[np.r_[True, np.diff(curves.kl[i]) != 0] | np.r_[True, np.diff(curves.js[i]) != 0]]
    step = curves.step[i]
    kl = np.maximum(curves.kl[i], DIVERGENCE_FLOOR)
    js = np.maximum(curves.js[i], DIVERGENCE_FLOOR)
    data = [
        _curve(step, kl, "KL(p_data ‖ p_g)", GEN, line={"shape": "hv"}),
        _curve(step, js, "JS(p_data ‖ p_g)", DISC, line={"shape": "hv"}),
        _level(x0, x1, math.log(2.0), "log 2: JS of disjoint densities", OPTIMAL),
    ]
    # whole decades (log10 units): the range changes only when a curve crosses a power of 10
    shown = np.log10(np.concatenate([kl, js, [math.log(2.0)]]))
    decades = [math.floor(np.nanmin(shown)), math.ceil(np.nanmax(shown))]
    return _figure(
        data,
        "How far p_g is from p_data (both 0 when equal)",
        "step",
        "divergence",
        xaxis={"range": [x0, x1]},
        yaxis={"type": "log", "dtick": 1, "range": decades},
    )


def all_figures(readout: Readout, curves: Curves) -> dict[str, go.Figure]:
    """Every figure of the page by chart key, in page order (the benchmark builds exactly these)."""
    return {
        "toy_densities": densities_figure(readout),
        "toy_discriminator": discriminator_figure(readout),
        "toy_map": generator_map_figure(readout),
        "toy_losses": loss_history_figure(curves, readout.settings.g_loss),
        "toy_d_outputs": d_output_history_figure(curves),
        "toy_divergences": divergence_history_figure(curves),
    }


RUN_COLORS = ("#31333f", REAL, GEN, "#9467bd")
"""The runs of the overlay: this run first, then each pinned one."""


def overlay_figure(runs: Sequence[tuple[str, Curves]]) -> go.Figure:
    """The loss and JS curves of several runs on one chart (this run first, then the pinned
    ones): D loss (solid) and G loss (dotted) above, JS(p_data ‖ p_g) on a log axis below."""
    data: list[Trace] = []
    last_step = 1.0
    for (name, curves), color in zip(runs, RUN_COLORS, strict=False):
        i = thinned(curves)
        step = curves.step[i]
        last_step = max(last_step, float(step[-1]) if step.size else 1.0)
        js = np.maximum(curves.js[i], DIVERGENCE_FLOOR)
        data += [
            _curve(*_measured(step, curves.d_loss[i]), f"{name}: D loss", color, legendgroup=name),
            _curve(*_measured(step, curves.g_loss[i]), f"{name}: G loss", color,
                   legendgroup=name, line={"dash": "dot"}),
            _curve(step, js, f"{name}: JS", color, legendgroup=name, yaxis="y2", showlegend=False),
        ]  # fmt: skip
    x1 = nice_ceiling(last_step)
    layout = {
        "title": {"text": "Runs compared: losses (above) and JS (below)"},
        "height": 560,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 120, "autoexpand": False},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        "xaxis": {"title": {"text": "step"}, "range": [0, x1], **FAST_AXIS},
        "yaxis": {"title": {"text": "loss"}, "domain": [0.5, 1.0], **FAST_AXIS},
        "yaxis2": {"title": {"text": "JS"}, "domain": [0.0, 0.4], "type": "log", "anchor": "x",
                   **FAST_AXIS},
    }  # fmt: skip
    return go.Figure(data=data, layout=layout, _validate=False)
