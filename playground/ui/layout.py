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


def page_header(title: str, lesson: str) -> None:
    """Title and the one-paragraph lesson that opens each page."""
    st.title(title)
    st.markdown(lesson)
