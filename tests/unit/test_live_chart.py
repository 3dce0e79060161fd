"""The chart a press redraws in place: the figure it ships, and the plotly.js it loads."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go

from playground.ui import live_chart


def test_the_served_plotly_js_is_the_installed_plotly_packages_own() -> None:
    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(live_chart.PLOTLY_JS) == digest(bundled), (
        "playground/static/plotly.min.js must be the installed plotly's: copy "
        f"{bundled} there after changing the plotly version"
    )


def test_the_figure_sent_is_the_figure_without_plotlys_default_template() -> None:
    x = np.linspace(0.0, 1.0, 5)
    figure = go.Figure(go.Scatter(x=x, y=x**2, name="curve"), layout={"height": 300})
    sent = json.loads(live_chart.figure_json(figure))
    assert "template" not in sent["layout"] and sent["layout"]["height"] == 300
    assert sent["data"][0]["name"] == "curve" and sent["data"][0]["type"] == "scatter"
    y = sent["data"][0]["y"]
    decoded = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    assert np.array_equal(decoded, x**2), "numbers reach the browser exactly"


def plotlys_own(figure: go.Figure) -> dict:
    spec = figure.to_plotly_json()
    spec["layout"].pop("template", None)
    return json.loads(json.dumps(spec, cls=plotly.utils.PlotlyJSONEncoder))


def test_the_fast_encoding_equals_plotlys_own_for_every_stepper_figure_and_leaves_them_intact() -> (
    None
):
    from playground.figures.toy import all_figures
    from playground.toy import ToyGAN, ToySettings

    gan = ToyGAN(ToySettings(seed=11, noise_dim=2))
    for _ in range(40):
        gan.d_step()
        gan.g_step()
    figures = all_figures(gan.readout(), gan.curves())
    assert len(figures) == 6
    for name, figure in figures.items():
        before = figure.to_plotly_json()
        assert json.loads(live_chart.figure_json(figure)) == plotlys_own(figure), name
        after = figure.to_plotly_json()
        assert json.dumps(before, cls=plotly.utils.PlotlyJSONEncoder) == json.dumps(
            after, cls=plotly.utils.PlotlyJSONEncoder
        ), f"{name} was changed by encoding it"


def test_the_fast_encoding_keeps_every_kind_of_value() -> None:
    figure = go.Figure(
        [
            go.Scatter(x=np.arange(4), y=np.array([1.5, np.nan, -2.0, 3.0], dtype=np.float32)),
            go.Heatmap(z=np.eye(3, dtype=np.uint8), text=[["a", "b", "c"]] * 3),
            go.Bar(x=["one", "two"], y=(1, 2), marker={"color": ["#111111", "#222222"]}),
        ],
        layout={"shapes": [{"type": "line", "x0": 0, "x1": 1, "y0": 0, "y1": 1}], "height": 250},
    )
    assert json.loads(live_chart.figure_json(figure)) == plotlys_own(figure)
