"""Import the heavy libraries once per server process, in the background, as soon as anyone
opens the app.

torch and torchvision take ~2-4 s to import on a small server. Home needs neither, so while a
student reads it, this thread imports what the other pages need; their first render then costs
only their own work. A page other than Home opened before the thread is done waits for it (Home.py joins it).
"""

from __future__ import annotations

import importlib
import threading

import streamlit as st

HEAVY_MODULES = (
    "torch",
    "torchvision.utils",
    "playground.ui.stepper",
    "playground.figures.toy",
    "playground.ui.jobs",
)


def _import_heavy_modules() -> None:
    for name in HEAVY_MODULES:
        importlib.import_module(name)


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Start the background import (once per process; later calls return the same thread)."""
    thread = threading.Thread(target=_import_heavy_modules, name="playground-warm-up", daemon=True)
    thread.start()
    return thread
