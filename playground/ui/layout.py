"""Shared page furniture: the page header and the one place where expected errors are shown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from playground.checkpoints import CheckpointError


@contextmanager
def errors_shown(
    expected: tuple[type[Exception], ...] = (ValueError, CheckpointError),
) -> Iterator[None]:
    """Show an expected problem (bad setting, bad file) as a clear message instead of a traceback.

    Settings and upload errors are ValueError subclasses with messages written for students; any
    other exception is a bug and is left to propagate.
    """
    try:
        yield
    except expected as exc:
        st.error(str(exc), icon=":material/error:")


def decimal(value: float | None, places: int = 4, signed: bool = False) -> str:
    """`value` with `places` decimals as a person writes it: "—" when unknown, and never
    "-0.0000" (a loss or a divergence that rounds to zero is shown as 0); `signed` puts a "+"
    before a number that is not negative (a difference)."""
    if value is None:
        return "—"
    text = f"{value:.{places}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return f"+{text}" if signed and not text.startswith("-") else text


def page_header(title: str, lesson: str) -> None:
    """Title and the one-paragraph lesson that opens each page."""
    st.title(title)
    st.markdown(lesson)
