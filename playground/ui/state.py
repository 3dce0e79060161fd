"""Typed access to st.session_state: every per-session value has one declared key and type.

Pages never index st.session_state with strings; they use the `SessionValue`s declared next to
the widgets that own them (e.g. `playground.ui.stepper.STEPPER`). Declaring a key twice is an
import-time error, so a typo cannot silently create a second, empty piece of state.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import uuid
from collections.abc import Callable, Mapping
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

PROXY_SECRET_ENV = "PLAYGROUND_PROXY_SECRET"
"""Name of the environment variable holding the secret the login proxy adds to every request."""
PROXY_SECRET_HEADER = "X-Playground-Proxy-Secret"
"""The request header in which the login proxy sends PLAYGROUND_PROXY_SECRET."""


def proxy_problem(
    headers: Mapping[str, str], peer_ip: str | None, environ: Mapping[str, str]
) -> str | None:
    """Why this connection may not use the app, or None when it may.

    With PLAYGROUND_OWNER_HEADER set, the owner header names the student, so anyone who can
    reach the port directly could claim to be anyone. A connection is trusted only when it
    carries the proxy's secret (PLAYGROUND_PROXY_SECRET, compared in constant time) or, with no
    secret configured, when it comes from this machine (a proxy on the same host). `peer_ip` is
    the connection's TCP peer (None for localhost, as Streamlit reports it).
    """
    if not environ.get(OWNER_HEADER_ENV, "").strip():
        return None
    secret = environ.get(PROXY_SECRET_ENV, "")
    if secret:
        given = headers.get(PROXY_SECRET_HEADER, "")
        if hmac.compare_digest(given.encode(), secret.encode()):
            return None
        return (
            "This course server only accepts connections through its login proxy. Open the "
            "course's own address instead of this one."
        )
    if peer_ip is None or _is_loopback(peer_ip):
        return None
    return (
        "This course server only accepts connections through its login proxy on the same "
        "machine. Open the course's own address instead of this one."
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def connection_problem() -> str | None:
    """`proxy_problem` for this browser session's connection."""
    return proxy_problem(st.context.headers, st.context.ip_address, os.environ)


def owner_id() -> str:
    """Who owns this session's jobs: a stable user id from the host's login header, if configured.

    Set PLAYGROUND_OWNER_HEADER (e.g. "X-Forwarded-User") when the course runs behind a login
    proxy that sets it (and PLAYGROUND_PROXY_SECRET, see `proxy_problem`); otherwise each
    browser session is its own owner. A connection that does not come through the proxy never
    gets a user's jobs.
    """
    header = os.environ.get(OWNER_HEADER_ENV, "").strip()
    if header and connection_problem() is None:
        user = st.context.headers.get(header)
        if user and user.strip():
            return f"user:{user.strip()}"
    return f"session:{_SESSION_OWNER.get()}"
