"""Typed access to st.session_state: every per-session value has one declared key and type.

Pages never index st.session_state with strings; they use the `SessionValue`s declared next to
the widgets that own them (e.g. `playground.ui.stepper.STEPPER`). Declaring a key twice is an
import-time error, so a typo cannot silently create a second, empty piece of state.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
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


OWNER_COOKIE = "playground_owner"
"""The cookie that keeps a browser's jobs (and its per-student limits) across reloads."""
OWNER_COOKIE_DAYS = 30
_TOKEN = re.compile(r"[0-9a-f]{32}")


def owner_from(
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    session_token: str,
    environ: Mapping[str, str],
    trusted: bool,
) -> str:
    """Who owns a session's jobs, in the order a server can vouch for it.

    1. Behind a login proxy (PLAYGROUND_OWNER_HEADER set and the connection `trusted`, see
       `proxy_problem`): the user the proxy names, whatever browser they use.
    2. Otherwise the browser's private token, kept in the OWNER_COOKIE cookie: a reload, a new
       tab or a page switch is the same student with the same jobs and the same per-student
       limits. Clearing cookies makes a new student; the server-wide queue cap
       (PLAYGROUND_MAX_QUEUED_TOTAL) bounds what that can cost.
    3. A browser without the cookie yet: this session's token, which `remember_owner` stores in
       the cookie, so the next reload finds the same jobs.
    A cookie that is not 32 hex digits (hand-made) is ignored: tokens are 128 random bits, so
    one student cannot guess another's.
    """
    header = environ.get(OWNER_HEADER_ENV, "").strip()
    if header and trusted:
        user = headers.get(header)
        if user and user.strip():
            return f"user:{user.strip()}"
    cookie = cookies.get(OWNER_COOKIE, "")
    if isinstance(cookie, str) and _TOKEN.fullmatch(cookie):
        return f"browser:{cookie}"
    return f"browser:{session_token}"


def owner_id() -> str:
    """This session's owner id (`owner_from` for its connection)."""
    return owner_from(
        st.context.headers,
        st.context.cookies,
        _SESSION_OWNER.get(),
        os.environ,
        connection_problem() is None,
    )


_COOKIE_JS = r"""
export default function ({data}) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie =
    `${data.name}=${data.token}; Path=/; Max-Age=${data.max_age}; SameSite=Strict${secure}`;
}
"""
_cookie_setter = st.components.v2.component("gan-playground.owner_cookie", js=_COOKIE_JS)


def remember_owner() -> None:
    """Store this session's token in the browser's owner cookie unless it already holds one
    (the cookie a session sees is the one its page was opened with)."""
    cookie = st.context.cookies.get(OWNER_COOKIE, "")
    held = isinstance(cookie, str) and _TOKEN.fullmatch(cookie)
    if held or os.environ.get(OWNER_HEADER_ENV, "").strip():
        return
    _cookie_setter(
        data={
            "name": OWNER_COOKIE,
            "token": _SESSION_OWNER.get(),
            "max_age": OWNER_COOKIE_DAYS * 24 * 3600,
        },
        key="owner_cookie",
    )
