"""AppTest helpers: drive a page of the real app (Home.py's navigation) without a browser."""

from __future__ import annotations

from collections.abc import Callable

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


@pytest.fixture
def app() -> Callable[..., AppTest]:
    return open_page
