"""Who may open the instructor's page.

The page exists only when the server names its instructors: PLAYGROUND_INSTRUCTOR_TOKEN (a
secret the instructor types once per browser session, compared in constant time) and/or
PLAYGROUND_INSTRUCTORS (user names the login proxy's owner header may carry). Without either it
is not registered at all; with one it is hidden from everybody else's navigation and its address
answers with a refusal. Light on imports: Home registers the page on every run.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Mapping

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from playground.ui.state import OWNER_HEADER_ENV, SessionValue, connection_problem

TOKEN_ENV = "PLAYGROUND_INSTRUCTOR_TOKEN"
NAMES_ENV = "PLAYGROUND_INSTRUCTORS"
MIN_TOKEN = 16
"""Characters a token needs: shorter ones could be guessed, so the page refuses to use them."""
MAX_TRIES = 5
LOCKOUT_S = 60.0
REFUSED = "This page is for the course's instructor."

_SIGNED_IN: SessionValue[bool] = SessionValue("instructor.signed_in", lambda: False)
_FAILURES: SessionValue[list[float]] = SessionValue("instructor.failures", list)


def instructor_names(environ: Mapping[str, str]) -> frozenset[str]:
    return frozenset(n.strip() for n in environ.get(NAMES_ENV, "").split(",") if n.strip())


def configured(environ: Mapping[str, str]) -> bool:
    """True when the server names an instructor (a token or user names)."""
    return bool(environ.get(TOKEN_ENV, "").strip() or instructor_names(environ))


def token_matches(given: str, environ: Mapping[str, str]) -> bool:
    """The instructor's token, compared in constant time; a missing or short token never matches."""
    secret = environ.get(TOKEN_ENV, "").strip()
    if len(secret) < MIN_TOKEN or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.strip().encode(), secret.encode())


def named_instructor(headers: Mapping[str, str], environ: Mapping[str, str], trusted: bool) -> bool:
    """True when the login proxy (a `trusted` connection) names a listed instructor."""
    header = environ.get(OWNER_HEADER_ENV, "").strip()
    user = (headers.get(header) or "").strip() if header and trusted else ""
    return bool(user) and user in instructor_names(environ)


def is_instructor() -> bool:
    """This browser session belongs to an instructor (signed in, or named by the proxy)."""
    trusted = connection_problem() is None
    return _SIGNED_IN.get() or named_instructor(st.context.headers, os.environ, trusted)


def instructor_page() -> StreamlitPage | None:
    """The page for st.navigation: None when no instructor is configured; hidden from the
    navigation of everybody but the instructor."""
    if not configured(os.environ):
        return None
    visibility = "visible" if is_instructor() else "hidden"
    return st.Page(
        "../pages/instructor.py",
        title="Instructor",
        icon=":material/school:",
        url_path="instructor",
        visibility=visibility,
    )


def admitted() -> bool:
    """True for the instructor; anybody else gets the refusal (and, with a token, a sign-in)."""
    if is_instructor():
        return True
    st.error(REFUSED, icon=":material/block:")
    secret = os.environ.get(TOKEN_ENV, "").strip()
    if not secret:
        st.caption("Instructors sign in through the course's login.")
        return False
    if len(secret) < MIN_TOKEN:
        st.warning(
            f"The server's {TOKEN_ENV} is shorter than {MIN_TOKEN} characters, so it is not used."
        )
        return False
    with st.form("instructor_sign_in"):
        given = st.text_input("instructor token", type="password")
        if st.form_submit_button("Sign in"):
            _sign_in(given)
    return False


def _sign_in(given: str) -> None:
    now = time.monotonic()
    recent = [t for t in _FAILURES.get() if now - t < LOCKOUT_S]
    if len(recent) >= MAX_TRIES:
        st.error(f"Too many wrong tokens: wait {LOCKOUT_S:g} s before trying again.")
        return
    if token_matches(given, os.environ):
        _SIGNED_IN.set(True)
        _FAILURES.set([])
        st.rerun()  # the navigation now lists the page
    _FAILURES.set([*recent, now])
    st.error("That is not the instructor token.")
