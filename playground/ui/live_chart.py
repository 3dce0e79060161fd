"""A plotly chart that a button press or a slider redraws in place.

`st.plotly_chart` gives a chart a new identity whenever its figure changes, so the browser
throws the chart away and builds it again from nothing on every press: on the 1-D page that was
most of what a student waited for (bench/bench_press_browser.py). `live_chart` shows the same
figure through a small Streamlit component keyed by the chart's name: the browser keeps the
chart and hands each new figure to `Plotly.react`, which redraws what changed.

plotly.js comes from the plotly package itself (its bundled plotly.min.js), served by Streamlit's
static file serving from playground/static/ (a test keeps that copy identical to the installed
package's). The look follows the course's light theme.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import to_typed_array_spec
from plotly.io.json import to_json_plotly

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
PLOTLY_JS = STATIC_DIR / "plotly.min.js"
"""The copy of the plotly package's plotly.min.js that the browser loads (app/static/...)."""

_JS = r"""
const TEMPLATE = {
  layout: {
    font: {family: '"Source Sans Pro", "Source Sans 3", sans-serif', size: 13, color: "#31333f"},
    title: {font: {size: 16}},
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    colorway: ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"],
    xaxis: {gridcolor: "#e6eaf1", zerolinecolor: "#d5dae5", linecolor: "#d5dae5"},
    yaxis: {gridcolor: "#e6eaf1", zerolinecolor: "#d5dae5", linecolor: "#d5dae5"},
    hoverlabel: {font: {family: '"Source Sans Pro", sans-serif'}},
  },
};
const CONFIG = {responsive: true, displaylogo: false};
let plotly = null;

function loadPlotly() {
  // One copy of plotly.js for every chart of the page, loaded once.
  if (!plotly) {
    plotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL("app/static/plotly.min.js", document.baseURI).href;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("plotly.js could not be loaded"));
      document.head.appendChild(script);
    });
  }
  return plotly;
}

export default function ({parentElement, data}) {
  let chart = parentElement.querySelector(".live-chart");
  if (!chart) {
    chart = document.createElement("div");
    chart.className = "live-chart";
    parentElement.appendChild(chart);
  }
  const figure = JSON.parse(data.figure);
  chart.style.height = `${figure.layout.height || 400}px`;
  loadPlotly().then((Plotly) => {
    figure.layout.template = TEMPLATE;
    Plotly.react(chart, figure.data, figure.layout, CONFIG);
  });
  return () => window.Plotly && window.Plotly.purge(chart);
}
"""

_component = st.components.v2.component("gan-playground.live_chart", js=_JS, isolate_styles=False)


def figure_json(figure: go.Figure) -> str:
    """The figure as plotly.js reads it, without plotly.py's default template (the chart
    brings its own look; the template would add ~8 KB to every redraw).

    The same JSON as `figure.to_plotly_json()` gives (a test holds them equal), in half the
    time: plotly deep-copies every trace before encoding its arrays, which was the largest
    share of a press's server time; here the arrays are encoded straight from the figure's
    validated data into new containers, and the figure is left as it was.
    """
    data, layout = getattr(figure, "_data", None), getattr(figure, "_layout", None)
    if not isinstance(data, list) or not isinstance(layout, dict):
        spec = figure.to_plotly_json()  # a plotly that keeps its figure elsewhere
        spec["layout"].pop("template", None)
        return to_json_plotly(spec)
    layout = {key: value for key, value in layout.items() if key != "template"}
    return to_json_plotly({"data": _encoded(data), "layout": _encoded(layout)})


def _encoded(value: Any) -> Any:
    """`value` with every numeric array as plotly.js's typed-array spec (base64), copied."""
    if isinstance(value, dict):
        return {key: _encoded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encoded(item) for item in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return to_typed_array_spec(value)
    return value


def live_chart(figure: go.Figure, key: str) -> None:
    """Show `figure` in a chart named `key` that later calls with the same key redraw in place."""
    _component(data={"figure": figure_json(figure)}, key=key)
