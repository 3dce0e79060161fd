"""Typed access to st.session_state: every per-session value has one declared key and type.

Pages never index st.session_state with strings; they use the `SessionValue`s declared next to
the widgets that own them (e.g. `playground.ui.stepper.STEPPER`). Declaring a key twice is an
import-time error, so a typo cannot silently create a second, empty piece of state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

import streamlit as st

T = TypeVar("T")

_DECLARED: set[str] = set()

OWNER_HEADER_ENV = "PLAYGROUND_OWNER_HEADER"
"""Name of the environment variable naming a request header that carries a stable user id."""


class SessionValue(Generic[T]):
    """One typed value in this browser session's state, created on first use by `factory`."""

    def __init__(self, key: str, factory: Callable[[], T]) -> None:
        if key in _DECLARED:
            raise RuntimeError(f"session key {key!r} is declared twice")
        _DECLARED.add(key)
        self.key = key
        self._factory = factory

    def get(self) -> T:
        if self.key not in st.session_state:
            st.session_state[self.key] = self._factory()
        return st.session_state[self.key]

    def set(self, value: T) -> None:
        st.session_state[self.key] = value

    def reset(self) -> T:
        """Replace the value with a fresh one from the factory and return it."""
        value = self._factory()
        st.session_state[self.key] = value
        return value

    def exists(self) -> bool:
        return self.key in st.session_state


_SESSION_OWNER: SessionValue[str] = SessionValue("owner.session_id", lambda: uuid.uuid4().hex)


def owner_id() -> str:
    """Who owns this session's jobs: a stable user id from the host's login header, if configured.

    Set PLAYGROUND_OWNER_HEADER (e.g. "X-Forwarded-User") when the course runs behind a login
    proxy; otherwise each browser session is its own owner.
    """
    header = os.environ.get(OWNER_HEADER_ENV, "").strip()
    if header:
        user = st.context.headers.get(header)
        if user:
            return f"user:{user.strip()}"
    return f"session:{_SESSION_OWNER.get()}"
