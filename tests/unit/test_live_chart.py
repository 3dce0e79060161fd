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
