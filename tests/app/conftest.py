"""AppTest helpers: drive a page of the real app (Home.py's navigation) without a browser."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

ENTRY = ROOT / "playground" / "Home.py"


def open_page(page: str | None = None, timeout: float = 60) -> AppTest:
    """Run the app, switch to `page` (a file in pages/, e.g. "bce_loss.py") and run it."""
    at = AppTest.from_file(str(ENTRY), default_timeout=timeout)
    at.run()
    if page is not None:
        at.switch_page(f"../pages/{page}")
        at.run()
    return at


def open_link(page: str, params: dict[str, str], timeout: float = 60) -> AppTest:
    """`page` (a file in pages/) opened from a link carrying `params` in its query string."""
    at = AppTest.from_file(str(ENTRY), default_timeout=timeout)
    at.query_params.update(params)
    at.run()
    at.switch_page(f"../pages/{page}")
    at.run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """The page's st.metric values by label."""
    return {m.label: m.value for m in at.metric}


def press(at: AppTest, key: str) -> AppTest:
    """Click the button `key` and rerun; the page must not raise."""
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def live_charts(at: AppTest) -> list[dict[str, Any]]:
    """The figures of the page's live charts (playground.ui.live_chart), in page order, as
    plotly.js receives them."""
    shown = (json.loads(e.proto.json) for e in at.get("bidi_component"))
    return [json.loads(data["figure"]) for data in shown if "figure" in data]


def numbers(array: Any) -> np.ndarray:
    """An array of a shipped figure: a plain list, or plotly's base64 typed array."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array, dtype=float)


@pytest.fixture
def app() -> Callable[..., AppTest]:
    return open_page
